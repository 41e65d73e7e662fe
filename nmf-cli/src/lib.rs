//! The `nmf` command line, as a library so that its pieces are tested directly.

pub mod input;
