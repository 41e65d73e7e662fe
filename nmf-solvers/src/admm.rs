//! AO-ADMM (Huang, Sidiropoulos & Liavas 2016) for Frobenius NMF: alternating optimisation
//! over H and W, each block problem solved inexactly by a few warm-started ADMM iterations.
//!
//! ## Algorithm
//! With W fixed, the H block is `min_{H ≥ 0} ½‖X − W H‖² + l1·ΣH + ½·l2·‖H‖²`, i.e.
//! `min_{H ≥ 0} ½⟨H, G H⟩ − ⟨F, H⟩` with `G = WᵀW + l2·I` (k×k) and `F = WᵀX − l1` (k×n),
//! both written by [`nmf_core::block_products`]. ADMM splits H into a least-squares
//! variable H̃ and the non-negative variable H (constraint H = H̃) with a *scaled* dual U
//! (k×n):
//!
//! ```text
//! ρ = trace(G)/k;   L = chol(G + ρI)                  (once per block update; G includes l2)
//! repeat t = 1..T_inner:
//!     H̃ = L⁻ᵀ L⁻¹ (F + ρ(H + U))                      (k×k triangular solves, all columns)
//!     H⁺ = max(0, H̃ − U)                              (prox of the non-negativity indicator)
//!     U  = U + H⁺ − H̃                                 (scaled dual ascent)
//!     r = ‖H⁺ − H̃‖_F,  s = ‖H⁺ − H‖_F,  H = H⁺
//!     stop if r ≤ ε‖H‖_F and s ≤ ε‖U‖_F
//! ```
//!
//! The W block is the same routine on Wᵀ (k×m) with `G = HHᵀ + l2·I`, `F = HXᵀ − l1` and its
//! own dual U_W (k×m). Each [`next_iter`](Solver::next_iter) updates H, then W. Both primal
//! variables and both duals are warm-started across outer iterations (the duals start at 0
//! in [`init`](Solver::init)); as in AO-ADMM and PLANC the scaled dual is carried over
//! unchanged when ρ changes from one outer iteration to the next. What is returned in the state is the non-negative split
//! variable, so inactive entries are exact zeros; H̃ is never returned.
//!
//! Defaults follow AO-ADMM and PLANC (SPEC §2.2): at most `T_inner = 5` inner iterations and
//! `ε = 1e-2` on the relative, unsquared residuals. Cholesky factorisation is done once per
//! block update with faer's in-place LLᵀ (explicit [`Par`](faer::Par), scratch allocated in
//! `init`), and reused by every inner iteration.
//!
//! [`IterInfo::primal_residual`] and [`IterInfo::dual_residual`] carry the relative
//! residuals `r/‖H‖` and `s/‖U‖` of the last inner iteration, the larger of the two blocks.
//! A ratio whose denominator is 0 is reported as 0 when its numerator is 0 too and as +∞
//! otherwise (a block whose KKT multipliers are all 0, e.g. an interior solution, has
//! U → 0, and `s/‖U‖` is then not informative). The solver never sets
//! [`IterInfo::converged`]: when to stop is the executor's [`StoppingRule`](nmf_core::StoppingRule).
//!
//! ## Requirements
//! * Loss: Frobenius only (β = 2). SPEC §2 gives ADMM for the least-squares block problem
//!   only; any other β-divergence, KL included, is refused by `init` with
//!   [`NmfError::UnsupportedLoss`].
//! * Penalties: any [`Constraint`] that is an elastic net
//!   ([`Constraint::elastic_net`]); anything else is [`NmfError::Unsupported`]. L2 sits on
//!   the diagonal of G. L1 is folded into F (`F = WᵀX − l1`): on the non-negative orthant the
//!   L1 penalty `l1·ΣH` is linear, so the block objective with it folded in is the same
//!   function on H ≥ 0, and ADMM converges to the same block solution (at H = H̃ ≥ 0 both
//!   read `l1·‖H‖₁`). This is exact, not an approximation of the prox of `l1‖·‖₁ + ι₊`.
//! * Masks: handled by [`nmf_core::block_products`] (missing entries imputed with the current
//!   W H before each block's products; the masked entries are never read).
//! * Sparse X is never densified.
//!
//! ## Guarantees
//! ADMM is **not monotone**: with only a few inner iterations a block update can raise the
//! objective slightly. At a fixed point of the outer iteration, H = H̃ solves each block's
//! KKT conditions with multiplier `Λ = ρU ≥ 0` (SPEC §2.3), so both residuals go to zero as
//! the iterates converge. A zero Gram matrix (W ≡ 0 without an L2 penalty) leaves the block
//! as it is when l1 = 0 (every H is optimal) and sets it to 0 when l1 > 0.
//!
//! ## References
//! K. Huang, N. D. Sidiropoulos, A. P. Liavas, "A flexible and efficient algorithmic
//! framework for constrained matrix and tensor factorization", IEEE Trans. Signal Processing
//! 64(19), 2016. S. Boyd et al., "Distributed optimization and statistical learning via the
//! alternating direction method of multipliers", Found. Trends ML 3(1), 2010.
//!
//! ## Example
//! ```
//! use nmf_core::{metrics::matched_cosine, Frobenius, Init, NmfParams};
//! use nmf_solvers::Admm;
//! use nmf_synth::{simulate, PlantedSpec};
//!
//! // Poisson counts from 3 planted gene modules (seeded).
//! let truth = simulate::<f64>(&PlantedSpec::new(120, 60, 3), 1).unwrap();
//! let data = truth.data_sparse().unwrap();
//! let params = NmfParams::new(3).init(Init::NndsvdA).seed(7).max_iter(300).tol(1e-6).check().unwrap();
//! let admm = Admm::new().with_max_inner(5).unwrap().with_inner_tol(1e-2).unwrap();
//! let fit = params.fit(&data, Frobenius, admm).unwrap();
//! let cos = matched_cosine(truth.w_true.as_ref(), fit.state.w.as_ref()).unwrap();
//! assert!(cos.min > 0.95);
//! // The factors are the non-negative split variables: feasible, with exact zeros.
//! assert!(fit.state.h.col_iter().all(|c| c.iter().all(|v| *v >= 0.0)));
//! assert!(fit.state.w.col_iter().any(|c| c.iter().any(|v| *v == 0.0)));
//! ```

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::cholesky::llt;
use faer::{Mat, MatMut, MatRef, Par};
use nmf_core::{
    block_products, Block, Constraint, GramWorkspace, IterInfo, Loss, NmfError, NmfFloat, NmfParamsError, NmfProblem,
    NmfState, Result, Solver,
};

/// Default maximum number of inner ADMM iterations per block (AO-ADMM, PLANC).
pub const DEFAULT_MAX_INNER: usize = 5;
/// Default tolerance on the relative inner residuals (AO-ADMM, PLANC).
pub const DEFAULT_INNER_TOL: f64 = 1e-2;

/// AO-ADMM for Frobenius NMF. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Admm<F: NmfFloat> {
    max_inner: usize,
    inner_tol: F,
    ws: Option<Workspace<F>>,
}

impl<F: NmfFloat> Default for Admm<F> {
    fn default() -> Self {
        Self::new()
    }
}

/// One block's ADMM variables, warm-started across outer iterations.
#[derive(Debug, Clone)]
struct BlockVars<F> {
    /// The right-hand side F (k×c).
    utm: Mat<F>,
    /// The scaled dual U (k×c).
    dual: Mat<F>,
    /// The least-squares variable H̃ (k×c).
    tilde: Mat<F>,
}

impl<F: NmfFloat> BlockVars<F> {
    fn new(k: usize, c: usize) -> Self {
        Self {
            utm: Mat::zeros(k, c),
            dual: Mat::zeros(k, c),
            tilde: Mat::zeros(k, c),
        }
    }
}

#[derive(Debug, Clone)]
struct Workspace<F> {
    par: Par,
    /// Products of the H block (and of the W block when X has a mask).
    gram: GramWorkspace<F>,
    /// Products of the W block without a mask. `block_products` sizes its scratch for one
    /// block at a time, so alternating blocks in one workspace would reallocate it at every
    /// block when m ≠ n; with a mask, one shared workspace keeps a single m×n imputed copy.
    gram_w: Option<GramWorkspace<F>>,
    /// G (k×k).
    utu: Mat<F>,
    /// Cholesky factor of G + ρI (lower triangle), k×k.
    chol: Mat<F>,
    h: BlockVars<F>,
    w: BlockVars<F>,
    /// Wᵀ (k×m): the W block's non-negative variable, contiguous for the column loops.
    wt: Mat<F>,
    /// Scratch of the in-place Cholesky.
    stack: Scratch,
}

/// The scratch memory of faer's in-place Cholesky, sized once in `init`.
struct Scratch {
    req: StackReq,
    buf: MemBuffer,
}

impl Scratch {
    fn new(req: StackReq) -> Self {
        Self {
            req,
            buf: MemBuffer::new(req),
        }
    }
}

impl Clone for Scratch {
    fn clone(&self) -> Self {
        Self::new(self.req)
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch").field("req", &self.req).finish()
    }
}

/// Relative residuals of one block's last inner iteration.
#[derive(Debug, Clone, Copy)]
struct Residuals<F> {
    primal: F,
    dual: F,
}

fn ratio<F: NmfFloat>(num: F, den: F) -> F {
    if num == F::zero() {
        F::zero()
    } else if den > F::zero() {
        num / den
    } else {
        F::infinity()
    }
}

impl<F: NmfFloat> Admm<F> {
    /// AO-ADMM with the defaults of the AO-ADMM paper and PLANC: at most
    /// [`DEFAULT_MAX_INNER`] = 5 inner iterations, inner tolerance [`DEFAULT_INNER_TOL`] = 1e-2.
    pub fn new() -> Self {
        Self {
            max_inner: DEFAULT_MAX_INNER,
            inner_tol: F::lit(DEFAULT_INNER_TOL),
            ws: None,
        }
    }

    /// The maximum number of inner ADMM iterations per block update (T_inner).
    ///
    /// # Errors
    /// [`NmfParamsError::SolverParam`] if 0.
    pub fn with_max_inner(mut self, max_inner: usize) -> Result<Self> {
        if max_inner == 0 {
            return Err(NmfParamsError::SolverParam {
                name: "max_inner",
                value: 0.0,
                expected: ">= 1",
            }
            .into());
        }
        self.max_inner = max_inner;
        Ok(self)
    }

    /// The tolerance ε of the inner stopping rule `‖H − H̃‖ ≤ ε‖H‖` and
    /// `‖H − H_prev‖ ≤ ε‖U‖` (0 runs every block for exactly `max_inner` iterations).
    ///
    /// # Errors
    /// [`NmfParamsError::SolverParam`] if negative or not finite.
    pub fn with_inner_tol(mut self, tol: F) -> Result<Self> {
        if !tol.is_finite() || tol < F::zero() {
            return Err(NmfParamsError::SolverParam {
                name: "inner_tol",
                value: tol.to_f64_lossy(),
                expected: "finite and >= 0",
            }
            .into());
        }
        self.inner_tol = tol;
        Ok(self)
    }

    /// The maximum number of inner iterations.
    pub fn max_inner(&self) -> usize {
        self.max_inner
    }

    /// The inner tolerance.
    pub fn inner_tol(&self) -> F {
        self.inner_tol
    }
}

/// Runs the inner ADMM on one block: `v` (k×c) is the non-negative variable (H or Wᵀ),
/// warm-started, and `vars.utm`, `utu` hold F and G. Returns the last relative residuals.
#[allow(clippy::too_many_arguments)]
fn admm_block<F: NmfFloat>(
    mut v: MatMut<'_, F>,
    vars: &mut BlockVars<F>,
    utu: MatRef<'_, F>,
    chol: &mut Mat<F>,
    l1: F,
    (max_inner, tol): (usize, F),
    par: Par,
    stack: &mut Scratch,
) -> Result<Residuals<F>> {
    let (k, c) = (v.nrows(), v.ncols());
    let mut trace = F::zero();
    for l in 0..k {
        trace += utu[(l, l)];
    }
    let rho = trace / F::from_count(k);
    if !rho.is_finite() {
        return Err(NmfError::Linalg(format!(
            "admm: the Gram matrix of a block is not finite (trace {trace})"
        )));
    }
    if rho <= F::zero() {
        // G = 0 (W ≡ 0, no L2): the block objective is l1·ΣV, minimised by V = 0 when
        // l1 > 0 and by every V when l1 = 0. The dual restarts from 0.
        if l1 > F::zero() {
            v.fill(F::zero());
        }
        vars.dual.fill(F::zero());
        return Ok(Residuals {
            primal: F::zero(),
            dual: F::zero(),
        });
    }
    chol.copy_from(utu);
    for l in 0..k {
        chol[(l, l)] += rho;
    }
    llt::factor::cholesky_in_place(
        chol.as_mut(),
        Default::default(),
        par,
        MemStack::new(&mut stack.buf),
        Default::default(),
    )
    .map_err(|e| NmfError::Linalg(format!("admm: Cholesky of G + rho*I failed ({e:?}), rho = {rho}")))?;
    let mut res = Residuals {
        primal: F::zero(),
        dual: F::zero(),
    };
    for _ in 0..max_inner {
        // H̃ = (G + ρI)⁻¹ (F + ρ(H + U)).
        for j in 0..c {
            for i in 0..k {
                vars.tilde[(i, j)] = vars.utm[(i, j)] + rho * (v[(i, j)] + vars.dual[(i, j)]);
            }
        }
        llt::solve::solve_in_place(chol.as_ref(), vars.tilde.as_mut(), par, MemStack::new(&mut stack.buf));
        let (mut r2, mut s2, mut h2, mut u2) = (F::zero(), F::zero(), F::zero(), F::zero());
        for j in 0..c {
            for i in 0..k {
                let t = vars.tilde[(i, j)];
                let u = vars.dual[(i, j)];
                let old = v[(i, j)];
                let new = (t - u).max(F::zero());
                let du = new - t;
                let nu = u + du;
                let dv = new - old;
                r2 += du * du;
                s2 += dv * dv;
                h2 += new * new;
                u2 += nu * nu;
                v[(i, j)] = new;
                vars.dual[(i, j)] = nu;
            }
        }
        let (r, s, hn, un) = (r2.sqrt(), s2.sqrt(), h2.sqrt(), u2.sqrt());
        res = Residuals {
            primal: ratio(r, hn),
            dual: ratio(s, un),
        };
        if r <= tol * hn && s <= tol * un {
            break;
        }
    }
    Ok(res)
}

impl<'a, F, L, CW, CH> Solver<F, NmfProblem<'a, F, L, CW, CH>> for Admm<F>
where
    F: NmfFloat,
    L: Loss<F>,
    CW: Constraint<F>,
    CH: Constraint<F>,
{
    fn name(&self) -> String {
        "admm".into()
    }

    fn init(&mut self, problem: &NmfProblem<'a, F, L, CW, CH>, state: &mut NmfState<F>) -> Result<()> {
        crate::block::frobenius_elastic_net("admm", problem)?;
        let (m, k, n) = (state.w.nrows(), state.w.ncols(), state.h.ncols());
        let par = problem.par();
        self.ws = Some(Workspace {
            par,
            gram: GramWorkspace::new(par),
            gram_w: problem.data().mask().is_none().then(|| GramWorkspace::new(par)),
            utu: Mat::zeros(k, k),
            chol: Mat::zeros(k, k),
            h: BlockVars::new(k, n),
            w: BlockVars::new(k, m),
            wt: Mat::zeros(k, m),
            stack: Scratch::new(llt::factor::cholesky_in_place_scratch::<F>(k, par, Default::default())),
        });
        Ok(())
    }

    fn next_iter(&mut self, problem: &NmfProblem<'a, F, L, CW, CH>, state: &mut NmfState<F>) -> Result<IterInfo<F>> {
        let knobs = (self.max_inner, self.inner_tol);
        let ws = self
            .ws
            .as_mut()
            .ok_or_else(|| NmfError::Unsupported("Admm::next_iter called before init".into()))?;
        let data = problem.data();
        let (pen_h, pen_w) = crate::block::frobenius_elastic_net("admm", problem)?;

        // H block: min_{H ≥ 0} ½⟨H, G H⟩ − ⟨F, H⟩ with G = WᵀW + l2, F = WᵀX − l1.
        block_products(
            Block::H,
            data,
            state.w.as_ref(),
            state.h.as_ref(),
            pen_h,
            ws.h.utm.as_mut(),
            ws.utu.as_mut(),
            &mut ws.gram,
        );
        let rh = admm_block(
            state.h.as_mut(),
            &mut ws.h,
            ws.utu.as_ref(),
            &mut ws.chol,
            pen_h.0,
            knobs,
            ws.par,
            &mut ws.stack,
        )?;

        // W block on Wᵀ (k×m): G = HHᵀ + l2, F = HXᵀ − l1.
        block_products(
            Block::W,
            data,
            state.w.as_ref(),
            state.h.as_ref(),
            pen_w,
            ws.w.utm.as_mut(),
            ws.utu.as_mut(),
            ws.gram_w.as_mut().unwrap_or(&mut ws.gram),
        );
        ws.wt.copy_from(state.w.transpose());
        let rw = admm_block(
            ws.wt.as_mut(),
            &mut ws.w,
            ws.utu.as_ref(),
            &mut ws.chol,
            pen_w.0,
            knobs,
            ws.par,
            &mut ws.stack,
        )?;
        state.w.copy_from(ws.wt.transpose());

        let mut info = IterInfo::none();
        info.primal_residual = Some(rh.primal.max(rw.primal));
        info.dual_residual = Some(rh.dual.max(rw.dual));
        Ok(info)
    }
}
