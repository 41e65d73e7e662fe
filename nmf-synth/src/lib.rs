//! # nmf-synth
//!
//! Seeded generative simulators of planted NMF structure, for tests and benchmarks that must
//! know the truth.
//!
//! [`simulate`] draws counts from the Poisson model of planted gene modules: K sparse modules,
//! each a probability vector over features (W columns sum to 1); per-sample module proportions
//! (Dirichlet, or one dominant module); per-sample library sizes (lognormal around a depth);
//! then `X ~ Poisson(W_true · H_true)` with `H_true[:, j] = proportions_j · library_j`.
//!
//! ```
//! use nmf_synth::{simulate, PlantedSpec};
//!
//! let spec = PlantedSpec::new(200, 60, 4).depth(500.0);
//! let a = simulate::<f64>(&spec, 1).unwrap();
//! let b = simulate::<f64>(&spec, 1).unwrap();
//! assert_eq!(a.x, b.x); // same seed, same counts
//! assert_eq!(a.labels.len(), 60);
//! let col_sum: f64 = (0..200).map(|i| a.w_true[(i, 0)]).sum();
//! assert!((col_sum - 1.0).abs() < 1e-12);
//! ```

#![warn(missing_docs)]

mod planted;

pub use planted::{simulate, Planted, PlantedSpec, SynthError, Usage};
