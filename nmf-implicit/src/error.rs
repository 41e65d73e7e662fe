//! The one error type of nmf-implicit.

use nmf_core::NmfError;
use thiserror::Error;

/// Everything that can stop a forward solve or a derivative. Numerical trouble is always
/// named, with the numbers that show it; no routine returns NaN instead.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ImplicitError {
    /// An error of the forward solvers or of input validation in nmf-core.
    #[error(transparent)]
    Core(#[from] NmfError),
    /// A NaN or infinite input entry.
    #[error("{what} has a non-finite entry ({value}) at ({row}, {col})")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// Row.
        row: usize,
        /// Column.
        col: usize,
        /// The value.
        value: f64,
    },
    /// A knob out of its range.
    #[error("parameter {name} = {value} is out of range: {expected}")]
    InvalidParam {
        /// The knob.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range, in words.
        expected: &'static str,
    },
    /// The point to differentiate at is not a KKT point to the tolerance asked: the active set
    /// cannot be trusted. Polish the solution first.
    #[error(
        "the solution is not optimal enough to differentiate: relative KKT residual {residual:e} > tolerance {tol:e} (polish it first)"
    )]
    NotOptimal {
        /// Relative projected-gradient norm found.
        residual: f64,
        /// The tolerance.
        tol: f64,
    },
    /// The reduced Hessian on the free set of a column is singular (e.g. two identical free
    /// columns of W): the solution is not locally unique, so it has no derivative.
    #[error(
        "the reduced Gram matrix of column {column} ({free} free entries) is singular (smallest squared Cholesky pivot {min_pivot:e} relative to its largest diagonal entry): the solution is not unique there"
    )]
    SingularReducedHessian {
        /// A column of H using that free set.
        column: usize,
        /// Size of the free set.
        free: usize,
        /// Smallest squared pivot over the largest diagonal entry.
        min_pivot: f64,
    },
    /// A component of the full factorization vanished: its scale gauge cannot be fixed.
    #[error("component {component} of W is identically zero: the scale gauge cannot be fixed")]
    DeadComponent {
        /// The component.
        component: usize,
    },
    /// The Krylov solver stopped at its iteration cap before reaching its tolerance.
    #[error(
        "Krylov solver did not converge: {iterations} iterations, residual {abs_residual:e} (relative {rel_residual:e}, tolerance {tol:e})"
    )]
    KrylovNoConvergence {
        /// Operator applications made.
        iterations: usize,
        /// ‖b − A x‖ at the end.
        abs_residual: f64,
        /// ‖b − A x‖ / ‖b‖ at the end.
        rel_residual: f64,
        /// The relative tolerance asked for.
        tol: f64,
    },
    /// The linear system is (numerically) singular.
    #[error(
        "the linear system is singular: {detail} (after {iterations} iterations, relative residual {rel_residual:e})"
    )]
    SingularSystem {
        /// What showed it.
        detail: String,
        /// Iterations made (0 for a direct solve).
        iterations: usize,
        /// Relative residual when it was detected.
        rel_residual: f64,
    },
}

/// Result alias of nmf-implicit.
pub type Result<T, E = ImplicitError> = std::result::Result<T, E>;
