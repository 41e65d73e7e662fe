//! Lin's alternating projected gradient: ANLS whose non-negative least-squares subproblems
//! are solved by projected gradient (Lin 2007, `nmf.m` / `nlssubprob.m`).
//!
//! Each iteration solves, approximately and in turn, the two convex block problems
//!
//! ```text
//! min_{W ≥ 0} ½‖X − W H‖² + pen_W(W)      then      min_{H ≥ 0} ½‖X − W H‖² + pen_H(H)
//! ```
//!
//! Both have the form `min_{V ≥ 0} ½⟨V, Q V⟩ − ⟨B, V⟩` for a k×c block V (H, or Wᵀ), with
//! `Q = WᵀW + l2·I`, `B = WᵀX − l1` (or `HHᵀ + l2·I`, `HXᵀ − l1`, from
//! [`block_products`](nmf_core::block_products)), gradient `G = Q V − B`. The subproblem
//! solver `nls_pg` iterates `V ← P₊[V − α G]` until `‖∇ᴾ‖_F < tol_block`, at most
//! [`max_inner_iter`](PgdAlt::with_max_inner_iter) times, with Lin's "improved" Armijo
//! search: α persists across the iterations of one call (reset to 1 at each call); if the
//! first trial satisfies the sufficient-decrease condition, exact for a quadratic,
//!
//! ```text
//! (1 − σ)⟨G, D⟩ + ½⟨D, Q D⟩ ≤ 0,      D = P₊[V − α G] − V,
//! ```
//!
//! α grows (α ← α/β) while it holds and the trial point still moves; otherwise α shrinks
//! (α ← α·β) until it holds, at most 20 trials per inner iteration.
//!
//! Block tolerances (Lin): `tol_W = tol_H = max(0.001, tol)·‖[∇_W f; ∇_H fᵀ]‖_F` at the
//! initial point; a block's tolerance shrinks tenfold whenever its subproblem returns after
//! a single iteration (it was already solved to that tolerance). The default `tol = 1e-4`
//! is the scikit-learn 0.17 default of its port of Lin's method (`ProjectedGradientNMF`);
//! Lin's code takes `tol` from the caller (his experiments use 1e-3 to 1e-9). Lin's outer
//! stopping rule, `‖∇ᴾf‖ < tol·‖∇f(W⁰, H⁰)‖`, belongs to the executor: use
//! `StoppingRule::kkt_tol` (relative to the initial *projected* gradient).
//!
//! Departures from Lin's code, all for robustness: when the growth phase runs out of trials
//! the last passing point is kept (Lin's code keeps none); a trial whose step is too small
//! to change any entry does not stop the growth phase; a subproblem also stops when even
//! such a step is the only one that passes, or when ‖∇ᴾ‖ is at the round-off level of
//! `Q V − B` (10·k·ε·(‖Q‖_F‖V‖_F + ‖B‖_F)), since the tolerances, which only shrink, would
//! otherwise end below what can be computed and every call would run
//! `max_inner_iter` iterations.
//!
//! ## Requirements
//! [`Frobenius`](nmf_core::Frobenius) only ([`NmfError::UnsupportedLoss`] otherwise).
//! Penalties: any constraint with [`Constraint::elastic_net`] (folded into Q and B);
//! others give [`NmfError::Unsupported`]. Sparse X and observation masks through
//! [`block_products`](nmf_core::block_products) (masks by imputation of the missing
//! entries with the current W H, an MM step).
//!
//! ## Guarantees
//! Each accepted inner step decreases the block's quadratic objective (exactly, not up to a
//! model), so the objective never rises (up to round-off). `IterInfo::backtracks` counts the
//! line-search trials of both subproblems; `IterInfo::converged` is set only when the
//! projected gradient is exactly zero at the iterate. [`PgdAlt::last_inner_iterations`] and
//! [`PgdAlt::block_tolerances`] expose the subproblem bookkeeping.
//!
//! ## References
//! C.-J. Lin, "Projected gradient methods for non-negative matrix factorization", Neural
//! Computation 19 (2007); code `nmf.m`, `nlssubprob.m` from the author's page.
//!
//! ```
//! use nmf_core::{faer::Mat, Data, Frobenius, Init, NmfParams};
//! use nmf_solvers::PgdAlt;
//!
//! let x = Mat::from_fn(20, 12, |i, j| if (i < 10) == (j < 6) { 5.0 + (i + j) as f64 % 3.0 } else { 0.5 });
//! let data = Data::dense(x).unwrap();
//! let params = NmfParams::new(2).init(Init::NndsvdA).seed(7).max_iter(100).check().unwrap();
//! let fit = params.fit(&data, Frobenius, PgdAlt::new()).unwrap();
//! let objectives = fit.history.objectives();
//! assert!(objectives.windows(2).all(|p| p[1] <= p[0] * (1.0 + 1e-12)));
//! assert!(fit.evaluation.relative_error < 0.2);
//! ```

use faer::{Accum, Mat, MatRef, Par};
use nmf_core::{
    block_products, linalg, Block, Constraint, GramWorkspace, IterInfo, Loss, NmfError, NmfFloat, NmfParamsError,
    NmfProblem, NmfState, Result, Solver,
};

/// Line-search trials per inner iteration (Lin's `for inner_iter = 1:20`).
const MAX_TRIALS: u32 = 20;

/// Lin's alternating projected gradient. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct PgdAlt<F: NmfFloat> {
    tol: F,
    sigma: F,
    beta: F,
    max_inner_iter: usize,
    ws: Option<Workspace<F>>,
}

impl<F: NmfFloat> Default for PgdAlt<F> {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Clone)]
struct Workspace<F> {
    gram: GramWorkspace<F>,
    pen_w: (F, F),
    pen_h: (F, F),
    tol_w: F,
    tol_h: F,
    last_iters: (usize, usize),
    /// Wᵀ (k×m), the W block as the subproblem sees it.
    wt: Mat<F>,
    utu: Mat<F>,
    utm_w: Mat<F>,
    utm_h: Mat<F>,
    bufs_w: NlsBufs<F>,
    bufs_h: NlsBufs<F>,
}

/// Buffers of one subproblem on a k×c block.
#[derive(Debug, Clone)]
struct NlsBufs<F> {
    grad: Mat<F>,
    next: Mat<F>,
    prev: Mat<F>,
    dir: Mat<F>,
    qd: Mat<F>,
}

impl<F: NmfFloat> NlsBufs<F> {
    fn new(k: usize, c: usize) -> Self {
        Self {
            grad: Mat::zeros(k, c),
            next: Mat::zeros(k, c),
            prev: Mat::zeros(k, c),
            dir: Mat::zeros(k, c),
            qd: Mat::zeros(k, c),
        }
    }
}

/// What one subproblem call did.
struct NlsOutcome<F> {
    /// Lin's `iter`: the iteration at which the tolerance test passed (1 = already solved).
    iters: usize,
    trials: u32,
    /// ‖∇ᴾ‖ at the starting point.
    initial_pg: F,
}

fn param_err(name: &'static str, value: f64, expected: &'static str) -> NmfError {
    NmfParamsError::SolverParam { name, value, expected }.into()
}

impl<F: NmfFloat> PgdAlt<F> {
    /// tol = 1e-4, σ = 0.01, β = 0.1, at most 1000 inner iterations (Lin's values).
    pub fn new() -> Self {
        Self {
            tol: F::lit(1e-4),
            sigma: F::lit(0.01),
            beta: F::lit(0.1),
            max_inner_iter: 1000,
            ws: None,
        }
    }
    /// Lin's outer `tol`: the block tolerances start at `max(0.001, tol)` times the initial
    /// gradient norm.
    ///
    /// # Errors
    /// [`NmfParamsError::SolverParam`] unless finite and ≥ 0.
    pub fn with_tol(mut self, tol: F) -> Result<Self> {
        if !(tol >= F::zero() && tol.is_finite()) {
            return Err(param_err("tol", tol.to_f64_lossy(), "finite and >= 0"));
        }
        self.tol = tol;
        Ok(self)
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
    /// The most iterations of one subproblem call.
    ///
    /// # Errors
    /// [`NmfParamsError::SolverParam`] if 0.
    pub fn with_max_inner_iter(mut self, n: usize) -> Result<Self> {
        if n == 0 {
            return Err(param_err("max_inner_iter", 0.0, "at least 1"));
        }
        self.max_inner_iter = n;
        Ok(self)
    }
    /// Inner iterations of the last (W, H) subproblem calls, as Lin counts them (1 = the
    /// block already met its tolerance); `(0, 0)` before the first iteration.
    pub fn last_inner_iterations(&self) -> (usize, usize) {
        self.ws.as_ref().map_or((0, 0), |ws| ws.last_iters)
    }
    /// The current block tolerances `(tol_W, tol_H)` (absolute); `None` before `init`.
    pub fn block_tolerances(&self) -> Option<(F, F)> {
        self.ws.as_ref().map(|ws| (ws.tol_w, ws.tol_h))
    }
}

/// `grad ← Q V − B`.
fn gradient<F: NmfFloat>(q: MatRef<'_, F>, v: MatRef<'_, F>, b: MatRef<'_, F>, grad: &mut Mat<F>, par: Par) {
    linalg::gemm(grad.as_mut(), Accum::Replace, q, v, F::one(), par);
    for j in 0..grad.ncols() {
        for (g, bv) in grad.col_mut(j).iter_mut().zip(b.col(j).iter()) {
            *g -= *bv;
        }
    }
}

/// ‖∇ᴾ‖ over the entries with V > 0 or G < 0 (Lin's `norm(grad(grad < 0 | H > 0))`).
fn proj_grad_norm<F: NmfFloat>(v: MatRef<'_, F>, g: MatRef<'_, F>) -> F {
    let mut s = F::zero();
    for j in 0..v.ncols() {
        for (vv, gv) in v.col(j).iter().zip(g.col(j).iter()) {
            if *vv > F::zero() || *gv < F::zero() {
                s += *gv * *gv;
            }
        }
    }
    s.sqrt()
}

fn same<F: NmfFloat>(a: &Mat<F>, b: &Mat<F>) -> bool {
    (0..a.ncols()).all(|j| a.col(j).iter().zip(b.col(j).iter()).all(|(x, y)| x == y))
}

/// Lin's `nlssubprob`: min_{V ≥ 0} ½⟨V, Q V⟩ − ⟨B, V⟩ from V, until ‖∇ᴾ‖ < tol.
#[allow(clippy::too_many_arguments)]
fn nls_pg<F: NmfFloat>(
    q: MatRef<'_, F>,
    b: MatRef<'_, F>,
    v: &mut Mat<F>,
    tol: F,
    max_iter: usize,
    (sigma, beta): (F, F),
    bufs: &mut NlsBufs<F>,
    par: Par,
) -> NlsOutcome<F> {
    let half = F::lit(0.5);
    let mut alpha = F::one();
    let mut out = NlsOutcome {
        iters: max_iter,
        trials: 0,
        initial_pg: F::zero(),
    };
    let mut noise = F::zero();
    for it in 1..=max_iter {
        gradient(q, v.as_ref(), b, &mut bufs.grad, par);
        let pg = proj_grad_norm(v.as_ref(), bufs.grad.as_ref());
        if it == 1 {
            out.initial_pg = pg;
            // G = Q V − B cannot be computed more accurately than about k·ε·(‖Q‖‖V‖ + ‖B‖):
            // below that, the tolerance cannot be met and the iterations would only churn.
            let fro = |a: MatRef<'_, F>| linalg::dot(a, a).sqrt();
            noise = F::lit(10.0) * F::from_count(q.nrows()) * F::epsilon() * (fro(q) * fro(v.as_ref()) + fro(b));
        }
        if pg < tol || pg <= noise {
            out.iters = it;
            break;
        }
        // Trial: next = P₊[V − α G], dir = next − V; returns (passes, moved).
        let trial = |alpha: F, bufs: &mut NlsBufs<F>, v: &Mat<F>| -> (bool, bool) {
            let (mut gd, mut moved) = (F::zero(), false);
            for j in 0..v.ncols() {
                for i in 0..v.nrows() {
                    let (x, g) = (v[(i, j)], bufs.grad[(i, j)]);
                    let nv = (x - alpha * g).max(F::zero());
                    let d = nv - x;
                    bufs.next[(i, j)] = nv;
                    bufs.dir[(i, j)] = d;
                    gd += g * d;
                    moved |= d != F::zero();
                }
            }
            if !moved {
                return (true, false);
            }
            linalg::gemm(bufs.qd.as_mut(), Accum::Replace, q, bufs.dir.as_ref(), F::one(), par);
            let dqd = linalg::dot(bufs.dir.as_ref(), bufs.qd.as_ref());
            ((F::one() - sigma) * gd + half * dqd <= F::zero(), true)
        };
        let mut shrinking = false;
        let mut have_prev = false;
        let mut stalled = false;
        for t in 0..MAX_TRIALS {
            out.trials += 1;
            let (ok, moved) = trial(alpha, bufs, v);
            if t == 0 {
                shrinking = !ok;
            }
            if shrinking {
                if ok {
                    if moved {
                        std::mem::swap(v, &mut bufs.next);
                    } else {
                        // Only a step too small to move V passes: numerically solved.
                        stalled = true;
                    }
                    break;
                }
                alpha *= beta;
            } else {
                if !ok {
                    break;
                }
                if moved {
                    if have_prev && same(&bufs.prev, &bufs.next) {
                        break;
                    }
                    std::mem::swap(&mut bufs.prev, &mut bufs.next);
                    have_prev = true;
                }
                alpha /= beta;
            }
        }
        if !shrinking && have_prev {
            std::mem::swap(v, &mut bufs.prev);
        }
        if stalled {
            out.iters = it;
            break;
        }
    }
    out
}

impl<'a, F, L, CW, CH> Solver<F, NmfProblem<'a, F, L, CW, CH>> for PgdAlt<F>
where
    F: NmfFloat,
    L: Loss<F>,
    CW: Constraint<F>,
    CH: Constraint<F>,
{
    fn name(&self) -> String {
        "pgd-alt".into()
    }

    fn init(&mut self, problem: &NmfProblem<'a, F, L, CW, CH>, state: &mut NmfState<F>) -> Result<()> {
        let (pen_h, pen_w) = crate::block::frobenius_elastic_net("pgd-alt", problem)?;
        let (m, k, n) = (state.w.nrows(), state.w.ncols(), state.h.ncols());
        let par = problem.par();
        let mut ws = Workspace {
            gram: GramWorkspace::new(par),
            pen_w,
            pen_h,
            tol_w: F::zero(),
            tol_h: F::zero(),
            last_iters: (0, 0),
            wt: Mat::zeros(k, m),
            utu: Mat::zeros(k, k),
            utm_w: Mat::zeros(k, m),
            utm_h: Mat::zeros(k, n),
            bufs_w: NlsBufs::new(k, m),
            bufs_h: NlsBufs::new(k, n),
        };
        // Lin's initgrad = ‖[∇_W f; ∇_H fᵀ]‖_F at the starting point (penalties included).
        let data = problem.data();
        let (w, h) = (state.w.as_ref(), state.h.as_ref());
        ws.wt.copy_from(w.transpose());
        block_products(
            Block::W,
            data,
            w,
            h,
            pen_w,
            ws.utm_w.as_mut(),
            ws.utu.as_mut(),
            &mut ws.gram,
        );
        gradient(
            ws.utu.as_ref(),
            ws.wt.as_ref(),
            ws.utm_w.as_ref(),
            &mut ws.bufs_w.grad,
            par,
        );
        block_products(
            Block::H,
            data,
            w,
            h,
            pen_h,
            ws.utm_h.as_mut(),
            ws.utu.as_mut(),
            &mut ws.gram,
        );
        gradient(ws.utu.as_ref(), h, ws.utm_h.as_ref(), &mut ws.bufs_h.grad, par);
        let sq = linalg::dot(ws.bufs_w.grad.as_ref(), ws.bufs_w.grad.as_ref())
            + linalg::dot(ws.bufs_h.grad.as_ref(), ws.bufs_h.grad.as_ref());
        let tol = self.tol.max(F::lit(0.001)) * sq.sqrt();
        ws.tol_w = tol;
        ws.tol_h = tol;
        self.ws = Some(ws);
        Ok(())
    }

    fn next_iter(&mut self, problem: &NmfProblem<'a, F, L, CW, CH>, state: &mut NmfState<F>) -> Result<IterInfo<F>> {
        let ws = self
            .ws
            .as_mut()
            .ok_or_else(|| NmfError::Unsupported("PgdAlt::next_iter called before init".into()))?;
        let (data, par) = (problem.data(), problem.par());
        let knobs = (self.sigma, self.beta);

        // W block: the H problem for Wᵀ.
        block_products(
            Block::W,
            data,
            state.w.as_ref(),
            state.h.as_ref(),
            ws.pen_w,
            ws.utm_w.as_mut(),
            ws.utu.as_mut(),
            &mut ws.gram,
        );
        ws.wt.copy_from(state.w.transpose());
        let out_w = nls_pg(
            ws.utu.as_ref(),
            ws.utm_w.as_ref(),
            &mut ws.wt,
            ws.tol_w,
            self.max_inner_iter,
            knobs,
            &mut ws.bufs_w,
            par,
        );
        state.w.copy_from(ws.wt.transpose());
        if out_w.iters == 1 {
            ws.tol_w *= F::lit(0.1);
        }

        // H block.
        block_products(
            Block::H,
            data,
            state.w.as_ref(),
            state.h.as_ref(),
            ws.pen_h,
            ws.utm_h.as_mut(),
            ws.utu.as_mut(),
            &mut ws.gram,
        );
        let out_h = nls_pg(
            ws.utu.as_ref(),
            ws.utm_h.as_ref(),
            &mut state.h,
            ws.tol_h,
            self.max_inner_iter,
            knobs,
            &mut ws.bufs_h,
            par,
        );
        if out_h.iters == 1 {
            ws.tol_h *= F::lit(0.1);
        }
        ws.last_iters = (out_w.iters, out_h.iters);

        let mut info = IterInfo::none();
        info.backtracks = out_w.trials + out_h.trials;
        // A zero projected gradient for W at the start means W did not move, so the H
        // gradient was taken at the same point: (W, H) is exactly stationary.
        info.converged = out_w.initial_pg == F::zero() && out_h.initial_pg == F::zero();
        Ok(info)
    }
}
