//! One stopping rule for every solver, and the reason a run stopped.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::error::NmfParamsError;
use crate::NmfFloat;

/// Why a run stopped. Reaching `max_iter` is a normal outcome, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The iteration budget was spent.
    MaxIterations,
    /// The relative decrease of the objective between two checks fell below `tol`.
    ObjectiveConverged,
    /// The projected-gradient norm, relative to the initial one, fell below `kkt_tol`.
    KktConverged,
    /// The solver's own criterion was met.
    SolverConverged,
    /// The time limit was reached.
    TimeLimit,
    /// The cancellation flag was raised.
    Cancelled,
}

impl StopReason {
    /// Whether this counts as convergence.
    pub fn converged(self) -> bool {
        matches!(
            self,
            StopReason::ObjectiveConverged | StopReason::KktConverged | StopReason::SolverConverged
        )
    }
    /// The snake-case name written in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::MaxIterations => "max_iterations",
            StopReason::ObjectiveConverged => "objective_converged",
            StopReason::KktConverged => "kkt_converged",
            StopReason::SolverConverged => "solver_converged",
            StopReason::TimeLimit => "time_limit",
            StopReason::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When to stop (SPEC §4.9), the same for every solver.
///
/// Every `check_every` iterations: stop if `(obj_prev_check − obj) / |obj_initial| < tol`
/// (set `tol = 0` to disable), or if `kkt / kkt_initial ≤ kkt_tol` (0 disables). Always stop
/// at `max_iter`, at `time_limit`, or when the cancellation flag is raised. The objective and
/// KKT residual are evaluated and recorded every `record_every` iterations and at every check.
#[derive(Debug, Clone)]
pub struct StoppingRule<F> {
    /// Maximum number of iterations.
    pub max_iter: usize,
    /// Relative objective decrease between checks below which the run has converged.
    pub tol: F,
    /// Iterations between checks.
    pub check_every: usize,
    /// Relative projected-gradient norm at or below which the run has converged (0 = off).
    pub kkt_tol: F,
    /// Wall-clock limit.
    pub time_limit: Option<Duration>,
    /// Iterations between history rows (1 = every iteration).
    pub record_every: usize,
    /// Raise to stop the run at the next iteration boundary.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl<F: NmfFloat> Default for StoppingRule<F> {
    fn default() -> Self {
        Self {
            max_iter: 200,
            tol: F::lit(1e-4),
            check_every: 10,
            kkt_tol: F::zero(),
            time_limit: None,
            record_every: 1,
            cancel: None,
        }
    }
}

impl<F: NmfFloat> StoppingRule<F> {
    /// Validates the rule.
    ///
    /// # Errors
    /// One [`NmfParamsError`] naming the first bad field.
    pub fn check(&self) -> Result<(), NmfParamsError> {
        if self.max_iter == 0 {
            return Err(NmfParamsError::MaxIterZero);
        }
        if self.check_every == 0 || self.record_every == 0 {
            return Err(NmfParamsError::CheckEveryZero);
        }
        for (name, v) in [("tol", self.tol), ("kkt_tol", self.kkt_tol)] {
            if !v.is_finite() || v < F::zero() {
                return Err(NmfParamsError::BadTolerance {
                    name,
                    value: v.to_f64_lossy(),
                });
            }
        }
        if let Some(t) = self.time_limit {
            if t.is_zero() {
                return Err(NmfParamsError::BadTimeLimit(0.0));
            }
        }
        Ok(())
    }

    pub(crate) fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed))
    }
}
