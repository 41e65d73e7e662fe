//! Errors of rank selection.

use nmf_core::{ClusterError, NmfError};
use thiserror::Error;

/// Everything rank selection and consensus factors can fail with.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum SelectError {
    /// A fit, the data or an NNLS refit failed in nmf-core / nmf-solvers.
    #[error(transparent)]
    Core(#[from] NmfError),
    /// k-means or the silhouette failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The list of ranks is empty.
    #[error("no ranks to try: give at least one rank")]
    NoRanks,
    /// A rank of 0 was asked for.
    #[error("rank 0 is not a rank: ranks start at 1")]
    RankZero,
    /// The ranks must be given in strictly increasing order (no duplicates).
    #[error("ranks must be strictly increasing, but {previous} is followed by {next}")]
    RanksNotIncreasing {
        /// The earlier rank.
        previous: usize,
        /// The rank after it.
        next: usize,
    },
    /// A rank larger than min(features, samples).
    #[error("rank {rank} is larger than min(features, samples) = min({rows}, {cols})")]
    RankTooLarge {
        /// The rank asked for.
        rank: usize,
        /// Features (rows of X).
        rows: usize,
        /// Samples (columns of X).
        cols: usize,
    },
    /// A parameter out of its range.
    #[error("rank-selection parameter {name} = {value} is out of range: {expected}")]
    BadParam {
        /// The parameter.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range, in words.
        expected: &'static str,
    },
    /// The initialisation must differ between restarts: custom factors would make every
    /// restart identical.
    #[error("restarts need a seeded initialisation (random or nndsvd*), not custom factors")]
    CustomInit,
    /// The spectra of the restarts do not hold enough points for the consensus.
    #[error("the density filter kept {kept} of {total} spectra, fewer than the {k} clusters asked for: raise the density threshold")]
    DensityFilterTooStrict {
        /// Spectra kept.
        kept: usize,
        /// Spectra in all.
        total: usize,
        /// Clusters (the rank).
        k: usize,
    },
    /// Masked cross-validation works on a dense copy of X; this one is too large for it.
    #[error("masked cross-validation needs a dense {rows}x{cols} copy of X ({entries} entries), above the limit of {limit}: disable it (cv repeats 0) or raise the limit")]
    TooLargeForCv {
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
        /// rows × cols.
        entries: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The thread pool could not be built.
    #[error("cannot start the thread pool: {0}")]
    ThreadPool(String),
}

/// Result alias of nmf-select.
pub type Result<T, E = SelectError> = std::result::Result<T, E>;

impl From<nmf_core::NmfParamsError> for SelectError {
    fn from(e: nmf_core::NmfParamsError) -> Self {
        SelectError::Core(e.into())
    }
}
