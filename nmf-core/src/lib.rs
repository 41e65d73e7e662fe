//! # nmf-core
//!
//! The core of nmf-rs: non-negative matrix factorization X ≈ W H with X (m features ×
//! n samples) ≥ 0, W (m×k) ≥ 0 and H (k×n) ≥ 0.
//!
//! * [`Data`]: dense or sparse (CSC) X, validated once, with an optional observation [`Mask`].
//! * [`Loss`]: the data-fit term ([`Frobenius`], [`KullbackLeibler`], [`BetaDivergence`]) with
//!   the gradient parts every update needs.
//! * [`Constraint`]: what acts on one factor ([`ElasticNet`] penalties, non-negativity);
//!   [`normalize_w_to_simplex`] fixes the scale gauge.
//! * [`Problem`] / [`Solver`] / [`Executor`]: the problem scores iterates, a solver performs
//!   one iteration on a state, the executor owns the loop ([`StoppingRule`], [`History`],
//!   [`Observer`]) and reports a [`StopReason`]: convergence is a status, not an error.
//! * [`Init`]: random, NNDSVD, NNDSVDa, NNDSVDar (seeded randomized SVD) or custom factors.
//! * [`metrics`]: relative error, KL divergence, KKT residual, matched cosine (Hungarian),
//!   adjusted Rand index.
//! * [`cluster`]: k-means (greedy k-means++, seeded starts) and the silhouette coefficient.
//! * [`NmfParams`]: a builder validated once into [`NmfValidParams`], whose `fit` runs a solver.
//!
//! Solvers live in `nmf-solvers`. Every item is generic over `f32` and `f64` ([`NmfFloat`]).
//!
//! ```
//! use faer::Mat;
//! use nmf_core::{Data, metrics};
//!
//! let x = Mat::from_fn(6, 4, |i, j| ((i + 1) * (j + 2)) as f64);
//! let data = Data::dense(x).unwrap();
//! // A perfect rank-1 factorization of this outer product.
//! let w = Mat::from_fn(6, 1, |i, _| (i + 1) as f64);
//! let h = Mat::from_fn(1, 4, |_, j| (j + 2) as f64);
//! let err = metrics::relative_error(&data, w.as_ref(), h.as_ref(), faer::Par::Seq);
//! assert!(err < 1e-12);
//! assert!(matches!(Data::dense(Mat::<f64>::zeros(3, 3)), Err(nmf_core::NmfError::AllZero)));
//! ```

#![warn(missing_docs)]

pub mod cluster;
pub mod constraint;
pub mod data;
pub mod error;
pub mod executor;
pub mod gram;
pub mod history;
pub mod init;
pub mod linalg;
pub mod loss;
pub mod metrics;
pub mod params;
pub mod problem;
pub mod scalar;
pub mod solver;
pub mod stopping;

pub use cluster::{silhouette_samples, silhouette_score, ClusterError, KMeansFit, KMeansParams, KMeansValidParams};
pub use constraint::{normalize_w_to_simplex, Constraint, ElasticNet};
pub use data::{CscMatrix, CscRef, Data, DataStats, Mask, Matrix};
pub use error::{NmfError, NmfParamsError, Result};
pub use executor::{Executor, Fit};
pub use gram::{block_products, GramWorkspace};
pub use history::{History, HistoryRow, Observer};
pub use init::{initialize, Init};
pub use loss::{BetaDivergence, Block, Frobenius, KullbackLeibler, Loss, LossWorkspace, Quadratic};
pub use params::{NmfFit, NmfParams, NmfValidParams};
pub use problem::{Evaluation, NmfProblem, NmfState, Problem};
pub use scalar::NmfFloat;
pub use solver::{IterInfo, Solver};
pub use stopping::{StopReason, StoppingRule};

/// faer, re-exported so users build matrices with the same version.
pub use faer;
