//! # nmf-select
//!
//! Choosing the rank of an NMF and deciding whether to trust its factors (SPEC §6), in one
//! place:
//!
//! * **Consensus clustering** (Brunet et al. 2004): R seeded restarts per rank, the
//!   consensus matrix C̄ of argmax-H co-membership ([`ConsensusMatrix`]), its **cophenetic
//!   correlation** (average linkage on 1 − C̄, [`cophenetic_correlation`]) and the
//!   **dispersion** coefficient of Kim & Park (2007).
//! * **Masked ("speckled") cross-validation** as in RcppML: a seeded fraction of the entries
//!   (zeros and nonzeros alike) held out, the fit made with them masked, the held-out error
//!   reported as mean ± sd over repeats. The solvers take masks on dense data only, so this
//!   fits a dense copy of sparse input (refused above [`RankParams::cv_max_entries`]).
//! * **Bi-cross-validation** (Owen & Perry 2009): held-out blocks predicted from NNLS on the
//!   factors of the held-in block.
//! * **Restart stability**: mean Hungarian-matched cosine between the W of every pair of
//!   restarts ([`pairwise_stability`]).
//! * **cNMF consensus factors** (Kotliar et al. 2019): pooled normalised spectra, density
//!   filter, k-means, medians, NNLS refit of H ([`consensus_factors`], [`consensus_fit`]),
//!   with the silhouette of the spectra's clustering as stability.
//! * A **suggested rank** and the rule that chose it ([`RankRule`], [`Suggestion`]).
//!
//! ## Determinism
//! Every fit runs single-threaded; fits run in parallel on a rayon pool, so results do not
//! depend on the thread count. Restart r at rank k uses seed `seed + k·1000 + r`
//! ([`restart_seed`]); masked-CV repeat q uses `seed + 2⁴⁰ + q` for both its mask and its fit
//! at every rank ([`CV_SEED`]), bi-cross-validation repeat q `seed + 2⁴¹ + q` ([`BCV_SEED`]).
//!
//! ## Memory
//! A consensus matrix holds n(n−1)/2 counters per rank. Above
//! [`RankParams::max_consensus_samples`] samples (default 2000) the consensus, cophenetic
//! correlation and dispersion are computed on a seeded subsample of that many samples (the
//! fits still use every sample), and [`RankReport`] says so.
//!
//! ```
//! use nmf_core::{faer::Mat, Data, Frobenius};
//! use nmf_select::RankParams;
//! use nmf_solvers::Hals;
//!
//! // Two blocks of features used by two groups of samples: rank 2.
//! let x = Mat::from_fn(30, 20, |i, j| if (i < 15) == (j < 10) { 4.0 + ((i * 7 + j * 3) % 5) as f64 * 0.1 } else { 0.1 });
//! let data = Data::dense(x).unwrap();
//! let report = RankParams::new([1, 2, 3])
//!     .restarts(4)
//!     .max_iter(200)
//!     .seed(1)
//!     .threads(2)
//!     .check()
//!     .unwrap()
//!     .run(&data, Frobenius, Hals::new)
//!     .unwrap();
//! let k2 = &report.rows[1];
//! // Every restart splits the samples the same way at k = 2: a crisp consensus.
//! assert!(k2.cophenetic.unwrap() > 0.99 && k2.dispersion > 0.99);
//! assert!(k2.stability.unwrap() > 0.99);
//! assert_eq!(report.suggestion.rank, 2);
//! ```

#![warn(missing_docs)]

pub mod cnmf;
pub mod consensus;
pub mod consensus_fit;
pub mod cv;
pub mod error;
mod fitter;
pub mod select;

pub use cnmf::{consensus_factors, spectra_silhouette, ConsensusFactors, ConsensusParams};
pub use consensus::{average_linkage_cophenetic, condensed_index, cophenetic_correlation, ConsensusMatrix};
pub use consensus_fit::{consensus_fit, ConsensusFitParams, ConsensusRun};
pub use error::{Result, SelectError};
pub use fitter::FitSettings;
pub use select::{
    pairwise_stability, restart_seed, suggest, FitDone, FitKind, RankParams, RankReport, RankRow, RankRule,
    RankValidParams, Suggestion, BCV_SEED, CV_SEED, MAX_RESTARTS, SUBSAMPLE_SEED,
};
