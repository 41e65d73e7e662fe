//! The `nmf` command line, as a library so that its pieces are tested directly.
//!
//! The binary's contract (subcommands, flags, output files, exit codes) is in
//! `shared/design/CONTRACT.md`; this crate implements `nmf fit`, `nmf transform`, `nmf simulate`, `nmf compare` and `nmf contrast`.

pub mod cli;
pub mod compare;
pub mod consensus;
pub mod contrast;
pub mod error;
pub mod fit;
pub mod input;
pub mod output;
pub mod progress;
pub mod rank;
pub mod simulate;
pub mod transform;

pub use error::CliError;
