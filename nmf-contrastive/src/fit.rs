//! The `fit` entry point: parameters, seeded multi-start, result.

use faer::{Mat, Par};
use nmf_core::{Data, Executor, History, NmfFloat, Observer, StopReason, StoppingRule};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{ContrastiveError, Result};
use crate::minibatch::ContrastiveMinibatch;
use crate::problem::{check_alpha, ContrastiveLoss, ContrastiveProblem, ContrastiveRecord, ContrastiveState};
use crate::solver::{check_damping, ContrastiveMu, EpsilonMode};

/// Parameters of a bcNMF fit, a builder validated once by [`ContrastiveParams::check`].
///
/// Defaults: squared error, damping from the loss (1 SSE, 0.5 Poisson), 1 start, seed 0,
/// `max_iter` 200, `tol` 1e-4 checked every 10 iterations (relative change of D_X **and** of
/// D_Y, SPEC §1.7), safe ε, no W floor for squared error and a floor of 1e-10 for Poisson,
/// no column normalisation, full batch, no collapse guard (collapsed features are counted and
/// reported; [`ContrastiveParams::collapse_guard`] with [`POISSON_COLLAPSE_GUARD`] stops such
/// runs instead). [`ContrastiveParams::paper_compatible`] switches to the reference code's
/// behaviour: a fixed number of iterations, the reference ε, no floor, no guard.
#[derive(Debug, Clone, PartialEq)]
pub struct ContrastiveParams<F> {
    rank: usize,
    alpha: F,
    loss: ContrastiveLoss,
    damping: Option<F>,
    n_starts: usize,
    seed: u64,
    max_iter: usize,
    tol: F,
    check_every: usize,
    paper_compatible: bool,
    w_floor: Option<F>,
    normalize_columns: bool,
    batch_size: Option<usize>,
    collapse_guard: Option<F>,
    par: Par,
}

/// Validated [`ContrastiveParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct ContrastiveValidParams<F>(ContrastiveParams<F>);

/// Default floor on W for Poisson outside paper-compatible mode (SPEC §1.12).
pub const DEFAULT_POISSON_W_FLOOR: f64 = 1e-10;

/// A collapse-guard threshold for Poisson ([`ContrastiveMu::collapse_guard`]): stop when J
/// falls while D_X rises by more than 5 % between checks. On the planted α = 2 pair the
/// runaway raises D_X by 25–190 % per check; healthy fits (α ≤ 0.5, and squared error) lower
/// it after the first check.
///
/// Not on by default: on that same pair the collapsed run still separates the target's
/// subgroups (ARI 1.0) while the guarded run stops at iteration 10 with ARI ≈ 0. Collapse is
/// the objective doing what it says (features the background explains better are dropped), so
/// the default reports it (`collapsed_features` in the trace and the fit) and lets users
/// choose to stop on it.
pub const POISSON_COLLAPSE_GUARD: f64 = 0.05;

impl<F: NmfFloat> ContrastiveParams<F> {
    /// Parameters for rank `k` and contrastive weight `alpha`.
    pub fn new(rank: usize, alpha: F) -> Self {
        Self {
            rank,
            alpha,
            loss: ContrastiveLoss::SquaredError,
            damping: None,
            n_starts: 1,
            seed: 0,
            max_iter: 200,
            tol: F::lit(1e-4),
            check_every: 10,
            paper_compatible: false,
            w_floor: None,
            normalize_columns: false,
            batch_size: None,
            collapse_guard: None,
            par: Par::Seq,
        }
    }
    /// The loss these parameters fit.
    pub fn loss_kind(&self) -> ContrastiveLoss {
        self.loss
    }
    /// The contrastive weight α (as given to [`ContrastiveParams::new`]).
    pub fn alpha(mut self, alpha: F) -> Self {
        self.alpha = alpha;
        self
    }
    /// The loss.
    pub fn loss(mut self, loss: ContrastiveLoss) -> Self {
        self.loss = loss;
        self
    }
    /// Damping exponent in (0, 1].
    pub fn damping(mut self, gamma: F) -> Self {
        self.damping = Some(gamma);
        self
    }
    /// Number of seeded starts (start `s` uses seed `seed + s`); the best final score is kept.
    pub fn n_starts(mut self, n: usize) -> Self {
        self.n_starts = n;
        self
    }
    /// Base seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Maximum (in paper-compatible mode: exact) number of iterations.
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = n;
        self
    }
    /// Tolerance on the relative changes of D_X and D_Y between checks (0 = fixed iterations).
    pub fn tol(mut self, tol: F) -> Self {
        self.tol = tol;
        self
    }
    /// Iterations between convergence checks.
    pub fn check_every(mut self, n: usize) -> Self {
        self.check_every = n;
        self
    }
    /// Paper-compatible mode: fixed iterations (tol ignored), U[0,1) init, reference ε, no
    /// floor, no collapse guard.
    pub fn paper_compatible(mut self, on: bool) -> Self {
        self.paper_compatible = on;
        self
    }
    /// Floor on W (overrides the loss default; ignored in paper-compatible mode).
    pub fn w_floor(mut self, floor: F) -> Self {
        self.w_floor = Some(floor);
        self
    }
    /// Objective-neutral column normalisation of W after every iteration.
    pub fn normalize_columns(mut self, on: bool) -> Self {
        self.normalize_columns = on;
        self
    }
    /// Minibatch training (SPEC §1.6): `Some(b)` forms the products W·H `b` samples at a
    /// time ([`ContrastiveMinibatch`]; memory O(m·b) for them), `None` (default) uses the
    /// full-batch [`ContrastiveMu`]. Each epoch equals one full-batch iteration up to
    /// round-off, so the result does not depend on `b`; the batch permutations of start `s`
    /// are seeded with `seed + s`.
    pub fn batch_size(mut self, batch: Option<usize>) -> Self {
        self.batch_size = batch;
        self
    }
    /// The collapse guard threshold ([`ContrastiveMu::collapse_guard`]; 0 = off, the default;
    /// [`POISSON_COLLAPSE_GUARD`] is a tested choice for Poisson). Ignored in
    /// paper-compatible mode. A run it stops reports
    /// [`ContrastiveStopReason::CollapseGuard`].
    pub fn collapse_guard(mut self, threshold: F) -> Self {
        self.collapse_guard = Some(threshold);
        self
    }
    /// Threads for the dense products (1 = sequential).
    pub fn threads(mut self, n: usize) -> Self {
        self.par = if n <= 1 { Par::Seq } else { Par::rayon(n) };
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    /// [`ContrastiveError::BadAlpha`], [`ContrastiveError::BadDamping`],
    /// [`ContrastiveError::BadParam`], or a core parameter error (rank 0, max_iter 0).
    pub fn check(self) -> Result<ContrastiveValidParams<F>> {
        if self.rank == 0 {
            return Err(nmf_core::NmfError::from(nmf_core::NmfParamsError::RankZero).into());
        }
        if self.max_iter == 0 {
            return Err(nmf_core::NmfError::from(nmf_core::NmfParamsError::MaxIterZero).into());
        }
        check_alpha(self.alpha)?;
        if let Some(g) = self.damping {
            check_damping(g)?;
        }
        let bad = |name, value: f64, expected| Err(ContrastiveError::BadParam { name, value, expected });
        if self.n_starts == 0 {
            return bad("n_starts", 0.0, "at least 1");
        }
        if self.check_every == 0 {
            return bad("check_every", 0.0, "at least 1");
        }
        if !self.tol.is_finite() || self.tol < F::zero() {
            return bad("tol", self.tol.to_f64_lossy(), "finite and >= 0");
        }
        if let Some(g) = self.collapse_guard {
            if !g.is_finite() || g < F::zero() {
                return bad("collapse_guard", g.to_f64_lossy(), "finite and >= 0");
            }
        }
        if self.batch_size == Some(0) {
            return bad("batch_size", 0.0, "at least 1");
        }
        if let Some(f) = self.w_floor {
            if !f.is_finite() || f < F::zero() {
                return bad("w_floor", f.to_f64_lossy(), "finite and >= 0");
            }
        }
        Ok(ContrastiveValidParams(self))
    }
}

/// Why a bcNMF run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContrastiveStopReason {
    /// A reason of the core executor (iteration budget, time limit, the solver's
    /// convergence test on D_X and D_Y: [`StopReason::SolverConverged`], ...).
    Executor(StopReason),
    /// The collapse guard stopped the run: J fell faster than the guard allows between two
    /// checks, the signature of the Poisson runaway (SPEC §1.2, §1.12). Not convergence: the
    /// factors are those of the last iterate, and the trace shows the fall.
    CollapseGuard,
}

impl ContrastiveStopReason {
    /// Whether this counts as convergence (never for the collapse guard).
    pub fn converged(self) -> bool {
        match self {
            ContrastiveStopReason::Executor(r) => r.converged(),
            ContrastiveStopReason::CollapseGuard => false,
        }
    }
    /// The snake-case name written in summaries: the core names, and `collapse_guard`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContrastiveStopReason::Executor(r) => r.as_str(),
            ContrastiveStopReason::CollapseGuard => "collapse_guard",
        }
    }
}

impl std::fmt::Display for ContrastiveStopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One recorded iterate of a bcNMF run: the core history row and the contrastive terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContrastiveTraceRow<F> {
    /// Iteration (0 = the initial point).
    pub iteration: usize,
    /// Seconds since the run started.
    pub seconds: f64,
    /// J = D_X − α D_Y (not monotone by design).
    pub objective: F,
    /// ‖X − W H_X‖_F / ‖X‖_F.
    pub relative_error: F,
    /// Projected-gradient norm relative to the initial point's
    /// ([`ContrastiveProblem`]'s substitute KKT residual).
    pub kkt_residual: F,
    /// D(X | W H_X).
    pub d_target: F,
    /// D(Y | W H_Y).
    pub d_background: F,
    /// Rows of W counted as collapsed ([`crate::count_collapsed`]).
    pub collapsed_features: usize,
}

/// The header of [`ContrastiveFit::trace_tsv`].
pub const TRACE_TSV_HEADER: &str =
    "iteration\tseconds\tobjective\trelative_error\tkkt_residual\td_target\td_background\tcollapsed_features";

/// The outcome of [`ContrastiveValidParams::fit`]: the best start's factors and history, and
/// every start's score.
#[derive(Debug, Clone)]
pub struct ContrastiveFit<F> {
    /// Shared basis W (m×k).
    pub w: Mat<F>,
    /// Target coefficients H_X (k×n_x).
    pub h_target: Mat<F>,
    /// Background coefficients H_Y (k×n_y).
    pub h_background: Mat<F>,
    /// History of the best start (objective column = J, which is not monotone).
    pub history: History<F>,
    /// The same rows with D_X, D_Y and the collapse count (SPEC §1.12).
    pub trace: Vec<ContrastiveTraceRow<F>>,
    /// Why the best start stopped.
    pub stop_reason: ContrastiveStopReason,
    /// Iterations of the best start.
    pub iterations: usize,
    /// Final D(X | W H_X) of the best start.
    pub d_target: F,
    /// Final D(Y | W H_Y) of the best start.
    pub d_background: F,
    /// Final J of the best start.
    pub objective: F,
    /// Collapsed rows of W at the end of the best start (SPEC §1.12).
    pub collapsed_features: usize,
    /// Final logged score of every start ([`ContrastiveProblem::score`]; larger is better).
    pub scores: Vec<F>,
    /// Index of the start kept.
    pub best_start: usize,
    /// The final W of every start, in start order (for [`ContrastiveFit::stability`]).
    pub start_bases: Vec<Mat<F>>,
}

impl<F: NmfFloat> ContrastiveFit<F> {
    /// Topic stability across starts: the mean, over every pair of starts, of the mean
    /// Hungarian-matched cosine between their W columns (1 = every start found the same
    /// topics). `None` with a single start.
    ///
    /// # Errors
    /// A non-finite W (the matching fails).
    pub fn stability(&self) -> Result<Option<f64>> {
        let b = &self.start_bases;
        let mut sum = 0.0;
        let mut pairs = 0usize;
        for i in 0..b.len() {
            for j in i + 1..b.len() {
                sum += nmf_core::metrics::matched_cosine(b[i].as_ref(), b[j].as_ref())?.mean;
                pairs += 1;
            }
        }
        Ok((pairs > 0).then(|| sum / pairs as f64))
    }

    /// The trace as tab-separated text: [`TRACE_TSV_HEADER`], then one line per row.
    pub fn trace_tsv(&self) -> String {
        let mut s = String::from(TRACE_TSV_HEADER);
        s.push('\n');
        for r in &self.trace {
            s.push_str(&format!(
                "{}\t{:.6}\t{:e}\t{:e}\t{:e}\t{:e}\t{:e}\t{}\n",
                r.iteration,
                r.seconds,
                r.objective.to_f64_lossy(),
                r.relative_error.to_f64_lossy(),
                r.kkt_residual.to_f64_lossy(),
                r.d_target.to_f64_lossy(),
                r.d_background.to_f64_lossy(),
                r.collapsed_features
            ));
        }
        s
    }
}

/// i.i.d. U[0,1) initial values for W (m×k), H_X (k×n_x), H_Y (k×n_y), in that order, from
/// `ChaCha8Rng::seed_from_u64(seed)`, each filled column by column.
pub fn uniform_init<F: NmfFloat>(m: usize, k: usize, nx: usize, ny: usize, seed: u64) -> ContrastiveState<F> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fill = |r: usize, c: usize| {
        let mut a = Mat::zeros(r, c);
        for j in 0..c {
            for i in 0..r {
                a[(i, j)] = F::lit(rng.random::<f64>());
            }
        }
        a
    };
    let w = fill(m, k);
    let h_target = fill(k, nx);
    let h_background = fill(k, ny);
    ContrastiveState {
        w,
        h_target,
        h_background,
    }
}

impl<F: NmfFloat> ContrastiveValidParams<F> {
    /// The parameters.
    pub fn params(&self) -> &ContrastiveParams<F> {
        &self.0
    }

    /// The full-batch solver these parameters describe (wrapped by [`ContrastiveMinibatch`]
    /// when a batch size is set).
    ///
    /// # Errors
    /// Never for validated parameters.
    pub fn solver(&self) -> Result<ContrastiveMu<F>> {
        let p = &self.0;
        let mut s = ContrastiveMu::new().normalize_columns(p.normalize_columns);
        if let Some(g) = p.damping {
            s = s.damping(g)?;
        }
        if p.paper_compatible {
            s = s.epsilon(EpsilonMode::Reference);
        } else {
            let floor = p.w_floor.unwrap_or(match p.loss {
                ContrastiveLoss::SquaredError => F::zero(),
                ContrastiveLoss::Poisson => F::lit(DEFAULT_POISSON_W_FLOOR),
            });
            let guard = p.collapse_guard.unwrap_or(F::zero());
            s = s
                .w_floor(floor)?
                .stopping(p.tol, p.check_every)?
                .collapse_guard(guard)?;
        }
        Ok(s)
    }

    /// Fits bcNMF to target `x` and background `y` (same features, same order).
    ///
    /// # Errors
    /// Feature mismatch, rank larger than min(m, n_x), data errors, a non-finite objective.
    pub fn fit(&self, x: &Data<F>, y: &Data<F>) -> Result<ContrastiveFit<F>> {
        self.fit_observed(x, y, None)
    }

    /// [`ContrastiveValidParams::fit`], with `observer` shown every recorded row of every
    /// start (a progress bar, a log).
    ///
    /// # Errors
    /// As [`ContrastiveValidParams::fit`].
    pub fn fit_observed(
        &self,
        x: &Data<F>,
        y: &Data<F>,
        mut observer: Option<&mut dyn Observer<F>>,
    ) -> Result<ContrastiveFit<F>> {
        let p = &self.0;
        x.check_rank(p.rank)?;
        let mut problem = ContrastiveProblem::new(x, y, p.alpha, p.loss, p.par)?;
        let (m, nx, ny) = (x.nrows(), x.ncols(), y.ncols());
        let rule = StoppingRule {
            max_iter: p.max_iter,
            // J is not monotone: the executor's objective test is off, the solver decides.
            tol: F::zero(),
            check_every: p.check_every,
            ..StoppingRule::default()
        };
        let mut best: Option<(F, Run<F>, usize)> = None;
        let mut scores = Vec::with_capacity(p.n_starts);
        let mut start_bases = Vec::with_capacity(p.n_starts);
        for s in 0..p.n_starts {
            let seed = p.seed.wrapping_add(s as u64);
            let state = uniform_init(m, p.rank, nx, ny, seed);
            let mut prob = ContrastiveProblem::new(x, y, p.alpha, p.loss, p.par)?;
            // Borrowed problem and solver: the problem's records become the trace, the
            // solver says whether its collapse guard fired.
            let (fit, guard) = match p.batch_size {
                None => {
                    let mut solver = self.solver()?;
                    let fit =
                        observed(Executor::new(&mut prob, &mut solver, rule.clone()), &mut observer).run(state)?;
                    (fit, solver.collapse_guard_tripped())
                }
                Some(b) => {
                    let mut solver = ContrastiveMinibatch::new(self.solver()?, b, seed)?;
                    let fit =
                        observed(Executor::new(&mut prob, &mut solver, rule.clone()), &mut observer).run(state)?;
                    (fit, solver.settings().collapse_guard_tripped())
                }
            };
            let trace = zip_trace(&fit.history, &prob.take_records());
            let score = problem.score(&fit.state);
            scores.push(score);
            start_bases.push(fit.state.w.clone());
            let better = best.as_ref().is_none_or(|(b, _, _)| score > *b || b.is_nan());
            if better {
                best = Some((score, Run { fit, trace, guard }, s));
            }
        }
        let (_, Run { fit, trace, guard }, best_start) = best.expect("n_starts >= 1");
        let terms = problem.terms(&fit.state);
        Ok(ContrastiveFit {
            objective: terms.d_target - p.alpha * terms.d_background,
            d_target: terms.d_target,
            d_background: terms.d_background,
            collapsed_features: problem.collapsed_features(fit.state.w.as_ref()),
            history: fit.history,
            trace,
            stop_reason: if guard {
                ContrastiveStopReason::CollapseGuard
            } else {
                ContrastiveStopReason::Executor(fit.stop_reason)
            },
            iterations: fit.iterations,
            scores,
            best_start,
            start_bases,
            w: fit.state.w,
            h_target: fit.state.h_target,
            h_background: fit.state.h_background,
        })
    }
}

/// Attaches the caller's observer, if any, to one start's executor.
fn observed<'o, F, P, S>(
    exec: Executor<'o, F, P, S>,
    observer: &'o mut Option<&mut dyn Observer<F>>,
) -> Executor<'o, F, P, S>
where
    F: NmfFloat,
    P: nmf_core::Problem<F>,
    S: nmf_core::Solver<F, P>,
{
    match observer {
        Some(o) => exec.observe(&mut **o),
        None => exec,
    }
}

struct Run<F> {
    fit: nmf_core::Fit<F, ContrastiveState<F>>,
    trace: Vec<ContrastiveTraceRow<F>>,
    guard: bool,
}

/// Pairs the executor's history rows with the problem's records: one evaluation per row.
fn zip_trace<F: NmfFloat>(history: &History<F>, records: &[ContrastiveRecord<F>]) -> Vec<ContrastiveTraceRow<F>> {
    debug_assert_eq!(history.rows().len(), records.len());
    history
        .rows()
        .iter()
        .zip(records)
        .map(|(h, r)| ContrastiveTraceRow {
            iteration: h.iteration,
            seconds: h.seconds,
            objective: h.objective,
            relative_error: h.relative_error,
            kkt_residual: h.kkt_residual,
            d_target: r.d_target,
            d_background: r.d_background,
            collapsed_features: r.collapsed_features,
        })
        .collect()
}
