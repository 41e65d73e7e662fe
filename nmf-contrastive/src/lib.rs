//! # nmf-contrastive
//!
//! Background-contrastive NMF (bcNMF; Li, Yang & Li, arXiv:2602.22387): a target X (m×n_x)
//! and a matched background Y (m×n_y) with the same features share a basis W,
//!
//! ```text
//! min over W, H_X ≥ 0 of  D(X | W H_X) − α · min over H_Y ≥ 0 of D(Y | W H_Y)
//! ```
//!
//! so that topics the background also expresses are suppressed and target-enriched topics
//! surface. D is squared error (log-normalised data) or Poisson / generalized KL (counts).
//!
//! * [`ContrastiveProblem`]: the data, loss and α; an [`nmf_core::Problem`] whose objective is
//!   J = D_X − α D_Y (**not monotone by design**: the H_Y step raises it).
//! * [`ContrastiveMu`]: the MM updates (SPEC §1.3–1.5), an [`nmf_core::Solver`], so the
//!   [`nmf_core::Executor`] drives it and records its history.
//! * [`ContrastiveMinibatch`]: the same updates by epochs over batches of samples (SPEC §1.6),
//!   memory O(m·batch) for the products W·H; an epoch equals one full-batch iteration.
//! * [`ContrastiveParams`]: a builder whose `check()` gives a `fit` with seeded multi-start.
//! * [`ContrastiveFit::trace`]: per recorded iteration, the history row plus D_X, D_Y and the
//!   count of collapsed features ([`count_collapsed`]); [`ContrastiveFit::trace_tsv`] writes
//!   it. The problem records these at every evaluation ([`ContrastiveProblem::records`]).
//! * Poisson collapse (SPEC §1.12): Poisson bcNMF is unbounded below. The default W floor
//!   keeps J finite but does not stop the runaway; the collapse guard
//!   ([`ContrastiveParams::collapse_guard`], on by default for Poisson) stops a run whose J
//!   falls while D_X rises, with [`ContrastiveStopReason::CollapseGuard`]. Paper-compatible
//!   mode has neither.
//! * [`transform()`]: coefficients of new target samples with W fixed (exact NNLS for squared
//!   error, monotone multiplicative updates for Poisson).
//!
//! ```
//! use nmf_core::{faer::Mat, Data};
//! use nmf_contrastive::{ContrastiveLoss, ContrastiveParams};
//!
//! let x = Data::dense(Mat::from_fn(8, 12, |i, j| ((i * 7 + j * 3) % 5) as f64 + 0.5)).unwrap();
//! let y = Data::dense(Mat::from_fn(8, 10, |i, j| ((i * 3 + j) % 4) as f64 + 0.5)).unwrap();
//! let fit = ContrastiveParams::new(2, 1.0)
//!     .loss(ContrastiveLoss::SquaredError)
//!     .max_iter(50)
//!     .check()
//!     .unwrap()
//!     .fit(&x, &y)
//!     .unwrap();
//! assert_eq!(fit.w.ncols(), 2);
//! assert_eq!(fit.h_target.ncols(), 12);
//! // One trace row per history row, with both data-fit terms.
//! assert_eq!(fit.trace.len(), fit.history.rows().len());
//! let last = fit.trace.last().unwrap();
//! assert!((last.objective - (last.d_target - 1.0 * last.d_background)).abs() < 1e-9);
//! ```

#![warn(missing_docs)]

pub mod error;
pub mod fit;
pub mod minibatch;
pub mod problem;
pub mod solver;
pub mod sweep;
pub mod topics;
pub mod transform;

pub use error::{check_feature_names, ContrastiveError, Result};
pub use fit::{
    uniform_init, ContrastiveFit, ContrastiveParams, ContrastiveStopReason, ContrastiveTraceRow,
    ContrastiveValidParams, DEFAULT_POISSON_W_FLOOR, POISSON_COLLAPSE_GUARD, TRACE_TSV_HEADER,
};
pub use minibatch::ContrastiveMinibatch;
pub use problem::{
    AsContrastiveProblem, ContrastiveLoss, ContrastiveProblem, ContrastiveRecord, ContrastiveState, ContrastiveTerms,
};
pub use solver::{count_collapsed, ContrastiveMu, EpsilonMode, COLLAPSE_RELATIVE};
pub use sweep::{alpha_sweep, holdout_split, AlphaResult, HeldOut, SweepParams};
pub use topics::{
    cluster_ari, top_features, topic_enrichment, topic_proportions, welch_t_test, ClusterAri, TopFeatures, TopicError,
    WelchTest,
};
pub use transform::{transform, TransformParams, Transformed};
