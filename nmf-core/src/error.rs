//! Errors of nmf-core: one enum for bad parameters, one for everything a fit can meet.

use thiserror::Error;

/// A parameter that is invalid whatever the data (checked once, by `NmfParams::check`).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum NmfParamsError {
    /// The rank must be at least 1.
    #[error("rank must be at least 1, got 0")]
    RankZero,
    /// The maximum number of iterations must be at least 1.
    #[error("max_iter must be at least 1, got 0")]
    MaxIterZero,
    /// A tolerance must be finite and non-negative.
    #[error("{name} must be finite and >= 0, got {value}")]
    BadTolerance {
        /// Which tolerance.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A penalty weight must be finite and non-negative.
    #[error("penalty {name} must be finite and >= 0, got {value}")]
    BadPenalty {
        /// Which penalty (`l1_w`, `l2_h`, ...).
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// The objective is checked every `check_every` iterations; 0 is meaningless.
    #[error("check_every must be at least 1, got 0")]
    CheckEveryZero,
    /// A time limit must be positive and finite.
    #[error("time limit must be positive and finite, got {0} seconds")]
    BadTimeLimit(f64),
    /// A solver knob out of its range.
    #[error("solver parameter {name} = {value} is out of range: {expected}")]
    SolverParam {
        /// The knob.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range, in words.
        expected: &'static str,
    },
    /// A loss parameter out of its range.
    #[error("loss parameter out of range: {0}")]
    BadLoss(String),
}

/// Everything that can go wrong in a fit. Convergence is never an error: see
/// [`StopReason`](crate::StopReason).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum NmfError {
    /// Invalid parameters.
    #[error(transparent)]
    Params(#[from] NmfParamsError),
    /// The input has no rows or no columns.
    #[error("input is empty: {rows} rows x {cols} columns")]
    EmptyInput {
        /// Number of rows.
        rows: usize,
        /// Number of columns.
        cols: usize,
    },
    /// A negative entry: NMF needs X >= 0.
    #[error("negative entry {value} at row {row}, column {col} (0-based): NMF needs X >= 0")]
    NegativeEntry {
        /// Row (0-based).
        row: usize,
        /// Column (0-based).
        col: usize,
        /// The value.
        value: f64,
    },
    /// A NaN or infinite entry.
    #[error(
        "non-finite entry ({value}) at row {row}, column {col} (0-based); use an observation mask for missing values"
    )]
    NonFiniteEntry {
        /// Row (0-based).
        row: usize,
        /// Column (0-based).
        col: usize,
        /// The value.
        value: f64,
    },
    /// An index (of a sample, feature, ...) past the end.
    #[error("{what} index {index} is out of range: there are {len}")]
    IndexOutOfRange {
        /// What was indexed.
        what: &'static str,
        /// The index given (0-based).
        index: usize,
        /// How many there are.
        len: usize,
    },
    /// Every observed entry is zero: there is nothing to factorize.
    #[error("every observed entry of the input is zero: nothing to factorize")]
    AllZero,
    /// The rank exceeds min(m, n).
    #[error("rank {rank} is larger than min(rows, columns) = min({rows}, {cols})")]
    RankTooLarge {
        /// The rank asked for.
        rank: usize,
        /// Rows of X.
        rows: usize,
        /// Columns of X.
        cols: usize,
    },
    /// A matrix (initial factor, mask, ...) has the wrong shape.
    #[error("{what} has shape {got_rows}x{got_cols}, expected {expected_rows}x{expected_cols}")]
    ShapeMismatch {
        /// Which matrix.
        what: &'static str,
        /// Expected rows.
        expected_rows: usize,
        /// Expected columns.
        expected_cols: usize,
        /// Rows given.
        got_rows: usize,
        /// Columns given.
        got_cols: usize,
    },
    /// A sparse matrix whose structure is inconsistent.
    #[error("invalid sparse matrix: {0}")]
    InvalidSparse(String),
    /// An initial factor that is negative or not finite.
    #[error("initial {factor} has an invalid entry {value} at ({row}, {col}): factors must be finite and >= 0")]
    InvalidInit {
        /// `"W"` or `"H"`.
        factor: &'static str,
        /// Row.
        row: usize,
        /// Column.
        col: usize,
        /// The value.
        value: f64,
    },
    /// The data do not suit the loss (e.g. zeros with the Itakura–Saito divergence).
    #[error("the data do not suit the {loss} loss: {reason}")]
    DataUnsuitedToLoss {
        /// Loss name.
        loss: String,
        /// Why.
        reason: String,
    },
    /// A solver asked to minimise a loss it does not implement.
    #[error("solver {solver} does not support the {loss} loss (supported: {supported})")]
    UnsupportedLoss {
        /// The solver.
        solver: String,
        /// The loss asked for.
        loss: String,
        /// What it supports.
        supported: &'static str,
    },
    /// The combination asked for is not supported (named, never a silent fallback).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The objective became NaN or infinite during the fit.
    #[error("objective became non-finite ({value}) at iteration {iteration}")]
    NonFiniteObjective {
        /// Iteration.
        iteration: usize,
        /// The value.
        value: f64,
    },
    /// A dense linear-algebra routine failed.
    #[error("linear algebra failure: {0}")]
    Linalg(String),
    /// Clustering (k-means, silhouette) failed.
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
}

/// Result alias of nmf-core.
pub type Result<T, E = NmfError> = std::result::Result<T, E>;
