//! The model-level parameter builder: set everything, validate once, then fit.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use faer::Par;

use crate::constraint::ElasticNet;
use crate::data::Data;
use crate::error::{NmfParamsError, Result};
use crate::executor::{Executor, Fit};
use crate::history::Observer;
use crate::init::{initialize, Init};
use crate::loss::Loss;
use crate::problem::{NmfProblem, NmfState};
use crate::solver::Solver;
use crate::stopping::StoppingRule;
use crate::NmfFloat;

/// The result of an NMF fit.
pub type NmfFit<F> = Fit<F, NmfState<F>>;

/// Unchecked parameters of an NMF fit. Setters are infallible; [`NmfParams::check`]
/// validates everything at once.
#[derive(Debug, Clone)]
pub struct NmfParams<F>(NmfValidParams<F>);

/// Validated parameters: the only way to fit.
#[derive(Debug, Clone)]
pub struct NmfValidParams<F> {
    rank: usize,
    init: Init<F>,
    seed: u64,
    stopping: StoppingRule<F>,
    l1_w: F,
    l2_w: F,
    l1_h: F,
    l2_h: F,
    threads: usize,
}

impl<F: NmfFloat> NmfParams<F> {
    /// Defaults: NNDSVDa initialisation, seed 0, the default [`StoppingRule`] (200 iterations,
    /// tol 1e-4 checked every 10), no penalties, all cores.
    pub fn new(rank: usize) -> Self {
        Self(NmfValidParams {
            rank,
            init: Init::NndsvdA,
            seed: 0,
            stopping: StoppingRule::default(),
            l1_w: F::zero(),
            l2_w: F::zero(),
            l1_h: F::zero(),
            l2_h: F::zero(),
            threads: 0,
        })
    }
    /// Initialisation.
    pub fn init(mut self, init: Init<F>) -> Self {
        self.0.init = init;
        self
    }
    /// Seed of every random choice.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
    /// The whole stopping rule.
    pub fn stopping(mut self, rule: StoppingRule<F>) -> Self {
        self.0.stopping = rule;
        self
    }
    /// Maximum iterations.
    pub fn max_iter(mut self, n: usize) -> Self {
        self.0.stopping.max_iter = n;
        self
    }
    /// Relative objective decrease tolerance (0 disables).
    pub fn tol(mut self, tol: F) -> Self {
        self.0.stopping.tol = tol;
        self
    }
    /// Iterations between convergence checks.
    pub fn check_every(mut self, n: usize) -> Self {
        self.0.stopping.check_every = n;
        self
    }
    /// Iterations between history rows (1 = every iteration).
    pub fn record_every(mut self, n: usize) -> Self {
        self.0.stopping.record_every = n;
        self
    }
    /// Relative KKT residual tolerance (0 disables).
    pub fn kkt_tol(mut self, tol: F) -> Self {
        self.0.stopping.kkt_tol = tol;
        self
    }
    /// Wall-clock limit.
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.0.stopping.time_limit = Some(limit);
        self
    }
    /// A flag that stops the fit when raised.
    pub fn cancel_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.0.stopping.cancel = Some(flag);
        self
    }
    /// L1 penalty weight on W.
    pub fn l1_w(mut self, a: F) -> Self {
        self.0.l1_w = a;
        self
    }
    /// L2 penalty weight on W.
    pub fn l2_w(mut self, a: F) -> Self {
        self.0.l2_w = a;
        self
    }
    /// L1 penalty weight on H.
    pub fn l1_h(mut self, a: F) -> Self {
        self.0.l1_h = a;
        self
    }
    /// L2 penalty weight on H.
    pub fn l2_h(mut self, a: F) -> Self {
        self.0.l2_h = a;
        self
    }
    /// Threads for the dense products (0 = all cores, 1 = sequential).
    pub fn threads(mut self, n: usize) -> Self {
        self.0.threads = n;
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    /// The first invalid parameter.
    pub fn check(self) -> Result<NmfValidParams<F>, NmfParamsError> {
        let p = self.0;
        if p.rank == 0 {
            return Err(NmfParamsError::RankZero);
        }
        p.stopping.check()?;
        ElasticNet::new(p.l1_w, p.l2_w).map_err(|e| rename(e, "l1_w", "l2_w"))?;
        ElasticNet::new(p.l1_h, p.l2_h).map_err(|e| rename(e, "l1_h", "l2_h"))?;
        Ok(p)
    }
}

fn rename(e: NmfParamsError, l1: &'static str, l2: &'static str) -> NmfParamsError {
    match e {
        NmfParamsError::BadPenalty { name, value } => NmfParamsError::BadPenalty {
            name: if name == "l1" { l1 } else { l2 },
            value,
        },
        other => other,
    }
}

impl<F: NmfFloat> NmfValidParams<F> {
    /// The rank.
    pub fn rank(&self) -> usize {
        self.rank
    }
    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// The initialisation.
    pub fn init(&self) -> &Init<F> {
        &self.init
    }
    /// The stopping rule.
    pub fn stopping(&self) -> &StoppingRule<F> {
        &self.stopping
    }
    /// The parallelism implied by `threads`.
    pub fn par(&self) -> Par {
        crate::linalg::par_for_threads(self.threads)
    }
    /// The penalty on W.
    pub fn penalty_w(&self) -> ElasticNet<F> {
        ElasticNet::new(self.l1_w, self.l2_w).expect("validated by check")
    }
    /// The penalty on H.
    pub fn penalty_h(&self) -> ElasticNet<F> {
        ElasticNet::new(self.l1_h, self.l2_h).expect("validated by check")
    }

    /// Fits X ≈ W H with `solver` on `loss`.
    ///
    /// # Errors
    /// Bad rank or initial factors, data unsuited to the loss, a solver that does not support
    /// the loss, or a non-finite objective.
    pub fn fit<L, S>(&self, data: &Data<F>, loss: L, solver: S) -> Result<NmfFit<F>>
    where
        L: Loss<F>,
        S: for<'a> Solver<F, NmfProblem<'a, F, L>>,
    {
        self.fit_observed(data, loss, solver, None)
    }

    /// As [`fit`](Self::fit), calling `observer` with every history row.
    ///
    /// # Errors
    /// As [`fit`](Self::fit).
    pub fn fit_observed<L, S>(
        &self,
        data: &Data<F>,
        loss: L,
        solver: S,
        observer: Option<&mut dyn Observer<F>>,
    ) -> Result<NmfFit<F>>
    where
        L: Loss<F>,
        S: for<'a> Solver<F, NmfProblem<'a, F, L>>,
    {
        let par = self.par();
        let (w, h) = initialize(data, self.rank, &self.init, self.seed, par)?;
        let problem = NmfProblem::new(data, loss, self.penalty_w(), self.penalty_h(), par)?;
        problem.check_state(w.as_ref(), h.as_ref())?;
        let mut exec = Executor::new(problem, solver, self.stopping.clone());
        if let Some(o) = observer {
            exec = exec.observe(o);
        }
        exec.run(NmfState { w, h })
    }
}
