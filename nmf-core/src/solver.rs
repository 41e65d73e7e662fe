//! The solver trait: one iteration on a state. The loop lives in the
//! [`Executor`](crate::Executor).

use crate::error::Result;
use crate::problem::Problem;
use crate::NmfFloat;

/// What a solver reports about one iteration, beyond the state it changed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct IterInfo<F> {
    /// Step size taken (gradient methods).
    pub step: Option<F>,
    /// Backtracking steps taken (line searches).
    pub backtracks: u32,
    /// Primal residual (ADMM).
    pub primal_residual: Option<F>,
    /// Dual residual (ADMM).
    pub dual_residual: Option<F>,
    /// The solver's own convergence test passed (e.g. a violation criterion).
    pub converged: bool,
}

impl<F> IterInfo<F> {
    /// Nothing to report.
    pub fn none() -> Self {
        Self {
            step: None,
            backtracks: 0,
            primal_residual: None,
            dual_residual: None,
            converged: false,
        }
    }
}

/// An NMF algorithm, as a small struct holding its knobs and its workspace.
///
/// `init` sizes buffers once; `next_iter` performs one iteration in place and must not
/// allocate. Termination, timing, history and observers belong to the executor.
pub trait Solver<F: NmfFloat, P: Problem<F>> {
    /// Name, as written in summaries (`mu`, `hals`, ...).
    fn name(&self) -> String;

    /// Prepares for a run on `problem` from `state` (sizes workspaces, checks the loss).
    ///
    /// # Errors
    /// Solver-specific, e.g. an unsupported loss.
    fn init(&mut self, problem: &P, state: &mut P::State) -> Result<()> {
        let _ = (problem, state);
        Ok(())
    }

    /// One iteration.
    ///
    /// # Errors
    /// Solver-specific internal failures (never "not converged").
    fn next_iter(&mut self, problem: &P, state: &mut P::State) -> Result<IterInfo<F>>;
}
