//! Errors of bcNMF.

use nmf_core::NmfError;
use thiserror::Error;

/// Everything that can go wrong when setting up or fitting bcNMF.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ContrastiveError {
    /// An error of the NMF core (bad data, rank too large, invalid stopping rule, ...).
    #[error(transparent)]
    Core(#[from] NmfError),
    /// Target and background do not have the same number of features (rows).
    #[error("target has {target} features (rows) but background has {background}: they must share the features")]
    FeatureCountMismatch {
        /// Rows of the target X.
        target: usize,
        /// Rows of the background Y.
        background: usize,
    },
    /// Feature names given for both inputs differ (first differing position).
    #[error("feature {index} is named {target:?} in the target but {background:?} in the background: the features must be the same, in the same order")]
    FeatureNameMismatch {
        /// 0-based position of the first difference.
        index: usize,
        /// The target's name there.
        target: String,
        /// The background's name there.
        background: String,
    },
    /// The contrastive weight must be finite and ≥ 0.
    #[error("alpha must be finite and >= 0, got {0}")]
    BadAlpha(f64),
    /// The damping exponent must lie in (0, 1].
    #[error("damping must be in (0, 1], got {0}")]
    BadDamping(f64),
    /// A basis W and new samples given to [`crate::transform()`] do not share the features.
    #[error("the basis W has {basis} features (rows) but the new samples have {data}: transform needs the features W was fitted on, in the same order")]
    BasisFeatureMismatch {
        /// Rows of W.
        basis: usize,
        /// Rows of the new samples.
        data: usize,
    },
    /// A matrix of coefficients does not have one row per topic of W.
    #[error("{what} has {got} rows but W has rank {rank}")]
    RankMismatch {
        /// The matrix (`"initial H"`).
        what: &'static str,
        /// Columns of W.
        rank: usize,
        /// Rows given.
        got: usize,
    },
    /// Another parameter out of range.
    #[error("parameter {name} = {value} is out of range: {expected}")]
    BadParam {
        /// The parameter.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range, in words.
        expected: &'static str,
    },
}

/// Shorthand.
pub type Result<T, E = ContrastiveError> = std::result::Result<T, E>;

/// Checks that two lists of feature names are the same, in the same order.
///
/// # Errors
/// [`ContrastiveError::FeatureCountMismatch`] or [`ContrastiveError::FeatureNameMismatch`].
pub fn check_feature_names<S: AsRef<str>>(target: &[S], background: &[S]) -> Result<()> {
    if target.len() != background.len() {
        return Err(ContrastiveError::FeatureCountMismatch {
            target: target.len(),
            background: background.len(),
        });
    }
    for (index, (a, b)) in target.iter().zip(background).enumerate() {
        if a.as_ref() != b.as_ref() {
            return Err(ContrastiveError::FeatureNameMismatch {
                index,
                target: a.as_ref().to_owned(),
                background: b.as_ref().to_owned(),
            });
        }
    }
    Ok(())
}
