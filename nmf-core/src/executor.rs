//! The executor owns the loop: stopping rule, timing, history, observers.

use std::time::Instant;

use crate::error::{NmfError, Result};
use crate::history::{History, HistoryRow, Observer};
use crate::problem::{Evaluation, Problem};
use crate::solver::Solver;
use crate::stopping::{StopReason, StoppingRule};
use crate::NmfFloat;

/// The outcome of a run: the final state, how and why it stopped, and its history.
#[derive(Debug, Clone)]
pub struct Fit<F, S> {
    /// The final iterate.
    pub state: S,
    /// Every recorded row, the initial point first and the final iterate last.
    pub history: History<F>,
    /// Why the run stopped.
    pub stop_reason: StopReason,
    /// Iterations performed.
    pub iterations: usize,
    /// Wall-clock seconds of the run (initialisation excluded).
    pub seconds: f64,
    /// Scores of the final iterate.
    pub evaluation: Evaluation<F>,
    /// Final projected-gradient norm relative to the initial one.
    pub kkt_residual: F,
}

impl<F, S> Fit<F, S> {
    /// Whether the run converged (rather than running out of iterations or time).
    pub fn converged(&self) -> bool {
        self.stop_reason.converged()
    }
}

/// Runs a [`Solver`] on a [`Problem`] under a [`StoppingRule`].
pub struct Executor<'o, F: NmfFloat, P: Problem<F>, S: Solver<F, P>> {
    problem: P,
    solver: S,
    rule: StoppingRule<F>,
    observers: Vec<&'o mut dyn Observer<F>>,
}

impl<'o, F: NmfFloat, P: Problem<F>, S: Solver<F, P>> Executor<'o, F, P, S> {
    /// An executor.
    pub fn new(problem: P, solver: S, rule: StoppingRule<F>) -> Self {
        Self {
            problem,
            solver,
            rule,
            observers: Vec::new(),
        }
    }

    /// Adds an observer, called with every recorded row.
    pub fn observe(mut self, observer: &'o mut dyn Observer<F>) -> Self {
        self.observers.push(observer);
        self
    }

    /// Runs from `state` until the stopping rule says stop.
    ///
    /// # Errors
    /// An invalid stopping rule, a solver failure, or a non-finite objective.
    pub fn run(mut self, mut state: P::State) -> Result<Fit<F, P::State>> {
        self.rule.check()?;
        let start = Instant::now();
        self.solver.init(&self.problem, &mut state)?;
        let mut history = History::new();
        let first = self.problem.evaluate(&state)?;
        check_finite(0, &first)?;
        let kkt0 = first.kkt_norm;
        let max_iter = self.rule.max_iter;
        let rel_kkt = |e: &Evaluation<F>| {
            if kkt0 > F::zero() {
                e.kkt_norm / kkt0
            } else {
                F::zero()
            }
        };
        let record =
            |history: &mut History<F>, it: usize, e: &Evaluation<F>, obs: &mut Vec<&'o mut dyn Observer<F>>| {
                let row = HistoryRow {
                    iteration: it,
                    seconds: start.elapsed().as_secs_f64(),
                    objective: e.objective,
                    relative_error: e.relative_error,
                    kkt_residual: rel_kkt(e),
                };
                history.push(row);
                for o in obs.iter_mut() {
                    o.observe(&row, max_iter);
                }
            };
        record(&mut history, 0, &first, &mut self.observers);
        let obj0 = first.objective.abs();
        let mut prev_check = first.objective;
        let mut last = first;
        let mut last_recorded = 0;
        let mut it = 0;
        let reason = loop {
            if it >= self.rule.max_iter {
                break StopReason::MaxIterations;
            }
            if self.rule.cancelled() {
                break StopReason::Cancelled;
            }
            if self.rule.time_limit.is_some_and(|t| start.elapsed() >= t) {
                break StopReason::TimeLimit;
            }
            let info = self.solver.next_iter(&self.problem, &mut state)?;
            it += 1;
            let check = it % self.rule.check_every == 0;
            if info.converged || check || it % self.rule.record_every == 0 || it == self.rule.max_iter {
                last = self.problem.evaluate(&state)?;
                check_finite(it, &last)?;
                record(&mut history, it, &last, &mut self.observers);
                last_recorded = it;
            }
            if info.converged {
                break StopReason::SolverConverged;
            }
            if check {
                if self.rule.kkt_tol > F::zero() && rel_kkt(&last) <= self.rule.kkt_tol {
                    break StopReason::KktConverged;
                }
                if self.rule.tol > F::zero() && obj0 > F::zero() && (prev_check - last.objective) / obj0 < self.rule.tol
                {
                    break StopReason::ObjectiveConverged;
                }
                prev_check = last.objective;
            }
        };
        if last_recorded != it {
            last = self.problem.evaluate(&state)?;
            check_finite(it, &last)?;
            record(&mut history, it, &last, &mut self.observers);
        }
        Ok(Fit {
            state,
            history,
            stop_reason: reason,
            iterations: it,
            seconds: start.elapsed().as_secs_f64(),
            evaluation: last,
            kkt_residual: rel_kkt(&last),
        })
    }
}

fn check_finite<F: NmfFloat>(iteration: usize, e: &Evaluation<F>) -> Result<()> {
    if !e.objective.is_finite() {
        return Err(NmfError::NonFiniteObjective {
            iteration,
            value: e.objective.to_f64_lossy(),
        });
    }
    Ok(())
}
