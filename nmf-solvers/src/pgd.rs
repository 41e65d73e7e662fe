//! Projected gradient on all variables at once (Lin 2007, §4), with an Armijo line search.
//!
//! With x = (W, H) and f(x) = D(X | W H) + pen_W(W) + pen_H(H), each iteration takes
//!
//! ```text
//! x⁺ = P₊[x − α ∇f(x)]        (P₊ = max(·, 0) entrywise)
//! ```
//!
//! with α chosen by Lin's search: start from the previous iteration's α; if the sufficient
//! decrease condition
//!
//! ```text
//! f(x⁺) − f(x) ≤ σ ⟨∇f(x), x⁺ − x⟩
//! ```
//!
//! holds, grow α ← α/β while it keeps holding (and x⁺ keeps changing); otherwise shrink
//! α ← α·β until it holds. f is not quadratic in (W, H) jointly, so every trial evaluates
//! the objective (Frobenius: O(nnz·k) on sparse X through ½(‖X‖² − 2⟨X, WH⟩ + ⟨WᵀW, HHᵀ⟩);
//! KL: O(nnz·k) on sparse X).
//!
//! Two safeguards (SPEC §4.4, pitfall): [`init`](Solver::init) rescales the starting point
//! by the optimal scalar, `s = argmin_s D(X | s·W H)` (Frobenius: ⟨X, WH⟩/‖WH‖²; KL:
//! ΣX/ΣWH), W ← √s·W, H ← √s·H; and a trial that zeroes a whole factor (W = 0 or H = 0, a
//! stationary point that recovers nothing) is rejected. With KL, a trial with (W H)_ij = 0
//! where X_ij > 0 has an infinite objective and is rejected too.
//!
//! ## Requirements
//! [`Frobenius`](nmf_core::Frobenius) or [`KullbackLeibler`](nmf_core::KullbackLeibler)
//! (any other β: [`NmfError::UnsupportedLoss`]). Penalties through
//! [`Constraint::penalty`] and [`Constraint::add_grad`]: any constraint whose penalty is
//! differentiable on the non-negative orthant with that gradient, as
//! [`ElasticNet`](nmf_core::ElasticNet) is. Observation masks and sparse X through the loss
//! kernels.
//!
//! ## Guarantees
//! The objective never rises: a step is taken only when the sufficient-decrease condition
//! holds, and ⟨∇f, x⁺ − x⟩ ≤ 0 for every projected step; the objective compared is the one
//! the executor records. `IterInfo::step` is the α taken (0 when no trial passed),
//! `IterInfo::backtracks` the number of trial points evaluated. `IterInfo::converged` is
//! set when the projected gradient is exactly zero, or when even a step too small to change
//! any entry of (W, H) is the only one that does not raise the objective (numerical
//! stationarity).
//!
//! ## References
//! C.-J. Lin, "Projected gradient methods for non-negative matrix factorization", Neural
//! Computation 19 (2007), §4 (all-variables variant). N. Gillis, "The why and how of
//! nonnegative matrix factorization" (2014) for the optimal initial scaling.
//!
//! ```
//! use nmf_core::{faer::Mat, Data, Frobenius, Init, NmfParams};
//! use nmf_solvers::Pgd;
//!
//! let x = Mat::from_fn(20, 12, |i, j| if (i < 10) == (j < 6) { 5.0 + (i + j) as f64 % 3.0 } else { 0.5 });
//! let data = Data::dense(x).unwrap();
//! let params = NmfParams::new(2).init(Init::NndsvdA).seed(7).max_iter(300).check().unwrap();
//! let fit = params.fit(&data, Frobenius, Pgd::new()).unwrap();
//! let objectives = fit.history.objectives();
//! assert!(objectives.windows(2).all(|p| p[1] <= p[0]));
//! assert!(fit.evaluation.relative_error < 0.2);
//! ```

use faer::{Accum, Mat, MatMut, MatRef};
use nmf_core::{
    linalg, Block, Constraint, Data, IterInfo, Loss, LossWorkspace, Matrix, NmfError, NmfFloat, NmfParamsError,
    NmfProblem, NmfState, Result, Solver,
};

/// Projected gradient on (W, H) jointly with Lin's Armijo search. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Pgd<F: NmfFloat> {
    sigma: F,
    beta: F,
    initial_step: F,
    max_trials: u32,
    rescale: bool,
    alpha: F,
    ws: Option<Workspace<F>>,
}

impl<F: NmfFloat> Default for Pgd<F> {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Clone)]
struct Workspace<F> {
    loss: LossWorkspace<F>,
    /// Objective at the current iterate (the executor never changes the state in between).
    f: F,
    kl: bool,
    /// KL: the current iterate has (W H)_ij > 0 wherever X_ij > 0 (checked trials keep it).
    kl_positive: bool,
    neg_w: Mat<F>,
    grad_w: Mat<F>,
    neg_h: Mat<F>,
    grad_h: Mat<F>,
    trial_w: Mat<F>,
    trial_h: Mat<F>,
    best_w: Mat<F>,
    best_h: Mat<F>,
    /// KL positivity check: Wᵀ (k×m) and W H at the nonzeros (sparse) or on a block of
    /// columns (dense).
    wt: Mat<F>,
    vals: Vec<F>,
    chunk: Mat<F>,
}

fn param_err(name: &'static str, value: f64, expected: &'static str) -> NmfError {
    NmfParamsError::SolverParam { name, value, expected }.into()
}

impl<F: NmfFloat> Pgd<F> {
    /// σ = 0.01, β = 0.1, initial α = 1, at most 64 trials per iteration, initial rescaling on.
    pub fn new() -> Self {
        Self {
            sigma: F::lit(0.01),
            beta: F::lit(0.1),
            initial_step: F::one(),
            max_trials: 64,
            rescale: true,
            alpha: F::one(),
            ws: None,
        }
    }
    /// σ of the sufficient-decrease condition.
    ///
    /// # Errors
    /// [`NmfParamsError::SolverParam`] unless 0 < σ < 1.
    pub fn with_sigma(mut self, sigma: F) -> Result<Self> {
        if !(sigma > F::zero() && sigma < F::one()) {
            return Err(param_err("sigma", sigma.to_f64_lossy(), "in (0, 1)"));
        }
        self.sigma = sigma;
        Ok(self)
    }
    /// β, the factor by which α shrinks (and 1/β by which it grows).
    ///
    /// # Errors
    /// [`NmfParamsError::SolverParam`] unless 0 < β < 1.
    pub fn with_beta(mut self, beta: F) -> Result<Self> {
        if !(beta > F::zero() && beta < F::one()) {
            return Err(param_err("beta", beta.to_f64_lossy(), "in (0, 1)"));
        }
        self.beta = beta;
        Ok(self)
    }
    /// The step α the first search starts from.
    ///
    /// # Errors
    /// [`NmfParamsError::SolverParam`] unless finite and > 0.
    pub fn with_initial_step(mut self, alpha: F) -> Result<Self> {
        if !(alpha > F::zero() && alpha.is_finite()) {
            return Err(param_err("initial_step", alpha.to_f64_lossy(), "finite and > 0"));
        }
        self.initial_step = alpha;
        Ok(self)
    }
    /// The most trial points evaluated in one iteration; when they are spent without
    /// success, the iteration takes no step and the next one resumes from the smallest α.
    ///
    /// # Errors
    /// [`NmfParamsError::SolverParam`] if 0.
    pub fn with_max_trials(mut self, n: u32) -> Result<Self> {
        if n == 0 {
            return Err(param_err("max_trials", 0.0, "at least 1"));
        }
        self.max_trials = n;
        Ok(self)
    }
    /// Whether [`init`](Solver::init) rescales (W, H) by the optimal scalar (default on).
    pub fn rescale_init(mut self, on: bool) -> Self {
        self.rescale = on;
        self
    }
}

/// What one projected step did to a factor.
struct StepStats<F> {
    /// ⟨g, out − x⟩.
    gd: F,
    /// Some entry changed.
    changed: bool,
    /// Every entry of out is zero.
    all_zero: bool,
    /// Some positive entry of x became zero.
    support_shrank: bool,
}

/// `out ← P₊[x − α g]`.
fn project_step<F: NmfFloat>(x: MatRef<'_, F>, g: MatRef<'_, F>, alpha: F, mut out: MatMut<'_, F>) -> StepStats<F> {
    let (mut gd, mut changed, mut all_zero, mut shrank) = (F::zero(), false, true, false);
    for j in 0..x.ncols() {
        for i in 0..x.nrows() {
            let (xv, gv) = (x[(i, j)], g[(i, j)]);
            let v = (xv - alpha * gv).max(F::zero());
            out[(i, j)] = v;
            let d = v - xv;
            gd += gv * d;
            changed |= d != F::zero();
            all_zero &= v == F::zero();
            shrank |= v == F::zero() && xv > F::zero();
        }
    }
    StepStats {
        gd,
        changed,
        all_zero,
        support_shrank: shrank,
    }
}

fn same<F: NmfFloat>(a: &Mat<F>, b: &Mat<F>) -> bool {
    (0..a.ncols()).all(|j| a.col(j).iter().zip(b.col(j).iter()).all(|(x, y)| x == y))
}

/// ‖∇ᴾf‖² with ∇ = grad (already pos − neg + penalty gradient).
fn proj_grad_sq<F: NmfFloat>(x: MatRef<'_, F>, g: MatRef<'_, F>) -> F {
    let mut s = F::zero();
    for j in 0..x.ncols() {
        for i in 0..x.nrows() {
            let gv = g[(i, j)];
            if x[(i, j)] > F::zero() || gv < F::zero() {
                s += gv * gv;
            }
        }
    }
    s
}

/// Whether (W H)_ij > 0 at every observed X_ij > 0.
fn wh_positive_where_x_positive<F: NmfFloat>(
    data: &Data<F>,
    w: MatRef<'_, F>,
    h: MatRef<'_, F>,
    wt: &mut Mat<F>,
    vals: &mut Vec<F>,
    chunk: &mut Mat<F>,
    par: faer::Par,
) -> bool {
    match data.matrix() {
        Matrix::Sparse(s) => {
            // Every stored entry is > 0 (validated data, no stored zeros).
            wt.copy_from(w.transpose());
            vals.resize(s.nnz(), F::zero());
            linalg::wh_at_pattern(s.as_ref(), wt.as_ref(), h, vals);
            vals.iter().all(|v| *v > F::zero())
        }
        Matrix::Dense(x) => {
            let (m, n) = (x.nrows(), x.ncols());
            let cmax = chunk.ncols();
            let mask = data.mask();
            let mut j0 = 0;
            while j0 < n {
                let c = cmax.min(n - j0);
                let mut y = chunk.as_mut().subcols_mut(0, c);
                linalg::gemm(y.as_mut(), Accum::Replace, w, h.subcols(j0, c), F::one(), par);
                for jj in 0..c {
                    let j = j0 + jj;
                    for i in 0..m {
                        if mask.is_none_or(|mk| mk.is_observed(i, j))
                            && x[(i, j)] > F::zero()
                            && y[(i, jj)] <= F::zero()
                        {
                            return false;
                        }
                    }
                }
                j0 += c;
            }
            true
        }
    }
}

/// Data term plus penalties at (w, h).
fn objective<F: NmfFloat, L: Loss<F>, CW: Constraint<F>, CH: Constraint<F>>(
    problem: &NmfProblem<'_, F, L, CW, CH>,
    w: MatRef<'_, F>,
    h: MatRef<'_, F>,
    lws: &mut LossWorkspace<F>,
) -> F {
    problem.loss().value(problem.data(), w, h, lws) + problem.penalty_w().penalty(w) + problem.penalty_h().penalty(h)
}

/// The floor on W H where the KL gradient divides by it (as in the executor's KKT residual).
fn grad_floor<F: NmfFloat>() -> F {
    F::epsilon()
}

/// Evaluates the trial P₊[x − α∇f] into `trial_w`/`trial_h`: (passes the sufficient-decrease
/// test, moved any entry, objective there).
fn eval_trial<F: NmfFloat, L: Loss<F>, CW: Constraint<F>, CH: Constraint<F>>(
    problem: &NmfProblem<'_, F, L, CW, CH>,
    ws: &mut Workspace<F>,
    state: &NmfState<F>,
    alpha: F,
    sigma: F,
) -> (bool, bool, F) {
    let sw = project_step(state.w.as_ref(), ws.grad_w.as_ref(), alpha, ws.trial_w.as_mut());
    let sh = project_step(state.h.as_ref(), ws.grad_h.as_ref(), alpha, ws.trial_h.as_mut());
    let changed = sw.changed || sh.changed;
    if sw.all_zero || sh.all_zero {
        return (false, changed, F::infinity());
    }
    let (tw, th) = (ws.trial_w.as_ref(), ws.trial_h.as_ref());
    let f = objective(problem, tw, th, &mut ws.loss);
    let mut ok = f.is_finite() && f - ws.f <= sigma * (sw.gd + sh.gd);
    // With the supports of W and H kept, every product W_il·H_lj > 0 stays > 0, so W H stays
    // positive where it was: only a shrinking support needs the full check.
    if ok && ws.kl && ws.kl_positive && (sw.support_shrank || sh.support_shrank) {
        ok = wh_positive_where_x_positive(
            problem.data(),
            tw,
            th,
            &mut ws.wt,
            &mut ws.vals,
            &mut ws.chunk,
            problem.par(),
        );
    }
    (ok, changed, f)
}

impl<'a, F, L, CW, CH> Solver<F, NmfProblem<'a, F, L, CW, CH>> for Pgd<F>
where
    F: NmfFloat,
    L: Loss<F>,
    CW: Constraint<F>,
    CH: Constraint<F>,
{
    fn name(&self) -> String {
        "pgd".into()
    }

    fn init(&mut self, problem: &NmfProblem<'a, F, L, CW, CH>, state: &mut NmfState<F>) -> Result<()> {
        let loss = problem.loss();
        let beta = loss.beta();
        let kl = beta == F::one();
        if !(kl || beta == F::lit(2.0)) {
            return Err(NmfError::UnsupportedLoss {
                solver: "pgd".into(),
                loss: loss.name(),
                supported: "frobenius, kl",
            });
        }
        let data = problem.data();
        let (m, k, n) = (state.w.nrows(), state.w.ncols(), state.h.ncols());
        let par = problem.par();
        let chunk_cols = if data.is_sparse() || !kl {
            0
        } else {
            ((1usize << 18) / m.max(1)).clamp(1, n.max(1))
        };
        let mut ws = Workspace {
            loss: LossWorkspace::new(par),
            f: F::zero(),
            kl,
            kl_positive: false,
            neg_w: Mat::zeros(m, k),
            grad_w: Mat::zeros(m, k),
            neg_h: Mat::zeros(k, n),
            grad_h: Mat::zeros(k, n),
            trial_w: Mat::zeros(m, k),
            trial_h: Mat::zeros(k, n),
            best_w: Mat::zeros(m, k),
            best_h: Mat::zeros(k, n),
            wt: if kl && data.is_sparse() {
                Mat::zeros(k, m)
            } else {
                Mat::new()
            },
            vals: Vec::new(),
            chunk: Mat::zeros(if chunk_cols > 0 { m } else { 0 }, chunk_cols),
        };
        if self.rescale {
            // ⟨neg_H, H⟩ = ⟨X, WH⟩ (Frobenius) or ΣX (KL), ⟨pos_H, H⟩ = ‖WH‖² or ΣWH, over
            // observed entries: their ratio is the optimal scalar s of D(X | s·WH).
            let (w, h) = (state.w.as_ref(), state.h.as_ref());
            loss.grad_parts(
                Block::H,
                data,
                w,
                h,
                grad_floor(),
                ws.neg_h.as_mut(),
                ws.grad_h.as_mut(),
                &mut ws.loss,
            );
            let num = linalg::dot(ws.neg_h.as_ref(), h);
            let den = linalg::dot(ws.grad_h.as_ref(), h);
            let s = num / den;
            if s.is_finite() && s > F::zero() {
                let r = s.sqrt();
                for v in state.w.col_iter_mut().flat_map(|c| c.iter_mut()) {
                    *v *= r;
                }
                for v in state.h.col_iter_mut().flat_map(|c| c.iter_mut()) {
                    *v *= r;
                }
            }
        }
        let (w, h) = (state.w.as_ref(), state.h.as_ref());
        ws.f = objective(problem, w, h, &mut ws.loss);
        if kl {
            ws.kl_positive = wh_positive_where_x_positive(data, w, h, &mut ws.wt, &mut ws.vals, &mut ws.chunk, par);
        }
        self.alpha = self.initial_step;
        self.ws = Some(ws);
        Ok(())
    }

    fn next_iter(&mut self, problem: &NmfProblem<'a, F, L, CW, CH>, state: &mut NmfState<F>) -> Result<IterInfo<F>> {
        let ws = self
            .ws
            .as_mut()
            .ok_or_else(|| NmfError::Unsupported("Pgd::next_iter called before init".into()))?;
        let (loss, data) = (problem.loss(), problem.data());
        let mut info = IterInfo::none();

        // ∇f at the current point: pos − neg plus the penalty gradients.
        {
            let (w, h) = (state.w.as_ref(), state.h.as_ref());
            loss.grad_parts(
                Block::W,
                data,
                w,
                h,
                grad_floor(),
                ws.neg_w.as_mut(),
                ws.grad_w.as_mut(),
                &mut ws.loss,
            );
            loss.grad_parts(
                Block::H,
                data,
                w,
                h,
                grad_floor(),
                ws.neg_h.as_mut(),
                ws.grad_h.as_mut(),
                &mut ws.loss,
            );
            problem.penalty_w().add_grad(w, ws.grad_w.as_mut());
            problem.penalty_h().add_grad(h, ws.grad_h.as_mut());
            for (g, n) in [(&mut ws.grad_w, &ws.neg_w), (&mut ws.grad_h, &ws.neg_h)] {
                for j in 0..g.ncols() {
                    for (gv, nv) in g.col_mut(j).iter_mut().zip(n.col(j).iter()) {
                        *gv -= *nv;
                    }
                }
            }
            let pg = proj_grad_sq(w, ws.grad_w.as_ref()) + proj_grad_sq(h, ws.grad_h.as_ref());
            if pg == F::zero() {
                info.step = Some(F::zero());
                info.converged = true;
                return Ok(info);
            }
        }

        let (sigma, beta) = (self.sigma, self.beta);
        let mut alpha = self.alpha;
        let mut trials = 0u32;
        let trial = |alpha: F, ws: &mut Workspace<F>, trials: &mut u32| {
            *trials += 1;
            eval_trial(problem, ws, state, alpha, sigma)
        };

        let (ok, changed, f) = trial(alpha, ws, &mut trials);
        let mut accepted: Option<(F, F)> = None;
        if ok {
            // Grow while the condition holds and the trial point still moves.
            std::mem::swap(&mut ws.best_w, &mut ws.trial_w);
            std::mem::swap(&mut ws.best_h, &mut ws.trial_h);
            accepted = Some((alpha, f));
            let mut prev_changed = changed;
            while trials < self.max_trials {
                let next = alpha / beta;
                let (ok, changed, f) = trial(next, ws, &mut trials);
                if !ok || (prev_changed && same(&ws.trial_w, &ws.best_w) && same(&ws.trial_h, &ws.best_h)) {
                    break;
                }
                alpha = next;
                prev_changed = changed;
                std::mem::swap(&mut ws.best_w, &mut ws.trial_w);
                std::mem::swap(&mut ws.best_h, &mut ws.trial_h);
                accepted = Some((alpha, f));
            }
        } else if changed {
            // Shrink until the condition holds, or until the step no longer moves any entry.
            while trials < self.max_trials {
                alpha *= beta;
                let (ok, changed, f) = trial(alpha, ws, &mut trials);
                if !changed {
                    // Numerically stationary: every step that moves the point raises f.
                    info.converged = true;
                    break;
                }
                if ok {
                    std::mem::swap(&mut ws.best_w, &mut ws.trial_w);
                    std::mem::swap(&mut ws.best_h, &mut ws.trial_h);
                    accepted = Some((alpha, f));
                    break;
                }
            }
        } else {
            info.converged = true;
        }
        info.backtracks = trials;
        match accepted {
            Some((a, f)) => {
                std::mem::swap(&mut state.w, &mut ws.best_w);
                std::mem::swap(&mut state.h, &mut ws.best_h);
                ws.f = f;
                info.step = Some(a);
                info.converged = false;
            }
            None => info.step = Some(F::zero()),
        }
        self.alpha = alpha;
        Ok(info)
    }
}
