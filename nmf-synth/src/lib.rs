//! # nmf-synth
//!
//! Seeded generative simulators of planted NMF structure, for tests and benchmarks that must
//! know the truth.
//!
//! [`simulate`] draws counts from the model of planted gene modules: K sparse modules,
//! each a probability vector over a block of features (W columns sum to 1; neighbouring
//! blocks may overlap); per-sample module proportions (Dirichlet, or one dominant module);
//! per-sample library sizes (lognormal around a depth); then `X ~ Poisson(W_true · H_true)`
//! with `H_true[:, j] = proportions_j · library_j`, or negative-binomial counts (gamma–Poisson
//! with dispersion φ: variance `λ + φλ²`).
//!
//! [`simulate_pair`] draws a target / background pair for contrastive NMF: shared modules
//! active in both, target-enriched modules active only in a labelled subgroup of the target
//! samples.
//!
//! With the `proptest` feature, [`strategies`] exports proptest strategies that generate
//! whole planted problems for other crates' property tests.
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
//!
//! A contrastive pair: 3 shared and 2 target-enriched modules.
//!
//! ```
//! use nmf_synth::{simulate_pair, PairSpec, PlantedSpec};
//!
//! let spec = PairSpec::new(PlantedSpec::new(300, 100, 5).dispersion(0.1), 80, 2);
//! let pair = simulate_pair::<f64>(&spec, 7).unwrap();
//! assert_eq!(pair.enriched, vec![3, 4]);
//! assert_eq!((pair.x.nrows(), pair.y.nrows()), (300, 300));
//! assert!((0..80).all(|j| pair.h_background_true[(3, j)] == 0.0));
//! assert_eq!(pair.enriched_labels.iter().filter(|e| e.is_some()).count(), 50);
//! ```

#![warn(missing_docs)]

mod pair;
mod planted;
#[cfg(feature = "proptest")]
pub mod strategies;

pub use pair::{simulate_pair, PairSpec, PlantedPair};
pub use planted::{simulate, Planted, PlantedSpec, SynthError, Usage};
