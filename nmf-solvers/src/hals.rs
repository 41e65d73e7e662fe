//! Accelerated hierarchical alternating least squares (HALS; Cichocki & Phan 2009, with the
//! inner repetitions of Gillis & Glineur 2012) for the Frobenius loss.
//!
//! Each iteration updates H, then W. For one block V (k×c: V = H with c = n, or V = Wᵀ with
//! c = m) the normal-equation pieces are formed **once** by [`block_products`]:
//! `UtM = WᵀX − l1` and `UtU = WᵀW + l2·I` for H, `UtM = HXᵀ − l1` and `UtU = HHᵀ + l2·I` for
//! Wᵀ. Then up to ρ inner sweeps of exact rank-one updates run on them:
//!
//! ```text
//! for l in 0..k:   V[l,:] ← max(0, V[l,:] + (UtM[l,:] − UtU[l,:]·V) / UtU[l,l])
//! ```
//!
//! Each row update is the exact minimiser of the (penalised) block objective in that row, so
//! every sweep is non-increasing. The sweeps stop early once they stop paying,
//! `‖ΔV⁽ˢ⁾‖_F ≤ δ·‖ΔV⁽¹⁾‖_F`, and never exceed
//!
//! ```text
//! ρ_H = ⌊1 + α·(K_X + m·k) / (n·(k+1))⌋,   ρ_W = ⌊1 + α·(K_X + n·k) / (m·(k+1))⌋,
//! ```
//!
//! the number of sweeps that cost about α times the products (K_X = nnz(X) for sparse X,
//! m·n for dense X). Defaults α = 0.5, δ = 0.1 (Gillis's `HALSacc`); α = 0 gives one sweep
//! per block, which with [`Hals::initial_scaling`] off is scikit-learn's `solver='cd'` sweep
//! for sweep (see [`Cd`](crate::Cd)) as long as no row dies.
//!
//! The sweeps run in nmf-core's [`SweepPanel`] (the kernel [`Cd`](crate::Cd) uses too): columns
//! of V in parallel over fixed chunks, interleaved for SIMD, the same bits for every thread
//! count. A row left all zero is revived (below) after the block's sweeps.
//!
//! ## Columns that die
//! If a whole row of V is zero after a sweep (a component lost from H, or a column of W),
//! it is set to `t = ε_mach·max(V)` (2.2·10⁻¹⁶·max(V) in f64, Gillis's 1e-16·max(V)), so that
//! the other factor's next update can revive the component instead of freezing it (a zero
//! row of H makes the column of W un-updatable and vice versa). This is the only
//! non-monotone step: it raises the objective by at most `t·Σⱼ gⱼ + ½·t²·c·UtU[l,l]` with
//! `g ≥ 0` the row's gradient, a change of order ε_mach relative to the objective.
//!
//! The partner's update is scale-equivariant, so it answers a row of size t with a column of
//! size 1/t. Once the partner block has been updated, a revived component is therefore
//! rebalanced, `w_l ← c·w_l`, `h_l ← h_l/c` with `c = √(‖h_l‖/‖w_l‖)`: W H is unchanged, and
//! the rescaling is applied only if it does not raise the penalties (always, without
//! penalties). [`Hals::revive`] turns both off.
//!
//! ## Initial scaling
//! [`init`](Solver::init) multiplies W by the optimal scalar for the current H (Gillis):
//! `s = (⟨X Hᵀ, W⟩ − l1_W·ΣW) / (⟨HHᵀ, WᵀW⟩ + l2_W·‖W‖²)` (the penalty terms vanish without a
//! penalty on W), when s is positive and finite. Only W is scaled (H keeps its scale); with a
//! mask, X's missing entries are imputed by the current W H, which makes it an MM step. The
//! history's iteration 0 is recorded after it. [`Hals::initial_scaling`] turns it off.
//!
//! ## Extrapolation
//! [`Hals::with_extrapolation`] moves each fresh block along its last change before the
//! partner block is solved, undoing any step that does not lower the objective (Ang & Gillis
//! 2019; see [`extrapolate`](crate::extrapolate)). On noisy counts, where plain HALS creeps,
//! it reaches a given error in several times fewer iterations (pbmc3k: 8 instead of 104).
//! Fully observed X only.
//!
//! ## Requirements
//! Frobenius loss only (any other loss is [`NmfError::UnsupportedLoss`]); penalties must be
//! elastic nets ([`Constraint::elastic_net`]), folded into the normal equations. Dense,
//! sparse and masked X (masks by the imputation of [`block_products`]: an MM step, still
//! monotone for the masked objective).
//!
//! ## Cost
//! Per iteration: the products of [`block_products`] (O(K_X·k + (m+n)·k²), parallel as the
//! problem's `par` says) plus O((ρ_H·n + ρ_W·m)·k²) for the sweeps (parallel as well). `next_iter`
//! does not allocate: buffers are sized in `init`. With a mask, the imputed m×n copy of X is
//! allocated on the first iteration.
//!
//! ## References
//! Cichocki & Phan, "Fast local algorithms for large scale nonnegative matrix and tensor
//! factorizations", IEICE Trans. Fundamentals E92-A(3), 2009.
//! Gillis & Glineur, "Accelerated multiplicative updates and hierarchical ALS algorithms for
//! nonnegative matrix factorization", Neural Computation 24(4), 2012 (`HALSacc.m`).
//!
//! ```
//! use nmf_core::{faer::Mat, Data, Frobenius, Init, NmfParams};
//! use nmf_solvers::Hals;
//!
//! let x = Mat::from_fn(30, 20, |i, j| if (i < 15) == (j < 10) { 4.0 + ((i * j) % 3) as f64 } else { 0.2 });
//! let data = Data::dense(x).unwrap();
//! let params = NmfParams::new(2).init(Init::Random).seed(7).max_iter(100).tol(0.0).check().unwrap();
//! let fit = params.fit(&data, Frobenius, Hals::new()).unwrap();
//! let obj = fit.history.objectives();
//! assert!(obj.windows(2).all(|p| p[1] <= p[0] * (1.0 + 1e-12)));
//! assert!(fit.evaluation.relative_error < 0.15);
//! ```

use faer::prelude::{Reborrow, ReborrowMut};
use faer::{Mat, MatMut, MatRef, Par};

use crate::extrapolate::{check_no_mask, Extrapolation, Extrapolator};
use nmf_core::{
    block_products, linalg, linalg::SweepPanel, Block, Constraint, Data, GramWorkspace, IterInfo, Loss, Matrix,
    NmfError, NmfFloat, NmfParamsError, NmfProblem, NmfState, Result, Solver,
};

/// Accelerated HALS. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Hals<F: NmfFloat> {
    alpha: F,
    delta: F,
    scaling: bool,
    revive: bool,
    extrapolation: Option<Extrapolation<F>>,
    ws: Option<Workspace<F>>,
}

#[derive(Debug, Clone)]
struct Workspace<F> {
    gram: GramWorkspace<F>,
    pen_h: (F, F),
    pen_w: (F, F),
    utm_h: Mat<F>,
    utm_w: Mat<F>,
    utu: Mat<F>,
    panel_h: SweepPanel<F>,
    panel_w: SweepPanel<F>,
    alive: Vec<bool>,
    order: Vec<usize>,
    // Components revived in the H block (rows of H) or the W block (columns of W), waiting
    // for the partner block's update to be rebalanced.
    revived_h: Vec<bool>,
    revived_w: Vec<bool>,
    sweeps_h: usize,
    sweeps_w: usize,
    ex: Option<Extrapolator<F>>,
}

impl<F: NmfFloat> Default for Hals<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: NmfFloat> Hals<F> {
    /// Accelerated HALS with α = 0.5, δ = 0.1, initial scaling and the revival floor on.
    pub fn new() -> Self {
        Self {
            alpha: F::lit(0.5),
            delta: F::lit(0.1),
            scaling: true,
            revive: true,
            extrapolation: None,
            ws: None,
        }
    }

    /// Extrapolates the blocks between steps with `schedule` (Ang & Gillis 2019; see
    /// [`extrapolate`](crate::extrapolate)); [`Extrapolation::for_inexact_blocks`] is their
    /// choice for HALS. Fully observed X only.
    pub fn with_extrapolation(mut self, schedule: Extrapolation<F>) -> Self {
        self.extrapolation = Some(schedule);
        self
    }

    /// Extrapolated steps undone so far (0 without extrapolation).
    pub fn restarts(&self) -> usize {
        self.ws.as_ref().and_then(|w| w.ex.as_ref()).map_or(0, |e| e.restarts())
    }

    /// α of the inner-sweep budget ρ = ⌊1 + α·(cost of the products)/(cost of a sweep)⌋;
    /// 0 gives one sweep per block (plain HALS).
    ///
    /// # Errors
    /// [`NmfParamsError::SolverParam`] if negative or not finite.
    pub fn with_alpha(mut self, alpha: F) -> Result<Self> {
        if !alpha.is_finite() || alpha < F::zero() {
            return Err(param_error("alpha", alpha, "finite and >= 0"));
        }
        self.alpha = alpha;
        Ok(self)
    }

    /// δ of the early stop of the inner sweeps (`‖ΔV⁽ˢ⁾‖ ≤ δ‖ΔV⁽¹⁾‖`); 0 always runs the
    /// whole budget.
    ///
    /// # Errors
    /// [`NmfParamsError::SolverParam`] if outside [0, 1] or not finite.
    pub fn with_delta(mut self, delta: F) -> Result<Self> {
        if !delta.is_finite() || delta < F::zero() || delta > F::one() {
            return Err(param_error("delta", delta, "in [0, 1]"));
        }
        self.delta = delta;
        Ok(self)
    }

    /// Gillis's optimal scaling of W in `init` (on by default).
    pub fn initial_scaling(mut self, on: bool) -> Self {
        self.scaling = on;
        self
    }

    /// Sets rows of V that became all zero to `ε_mach·max(V)` (on by default).
    pub fn revive(mut self, on: bool) -> Self {
        self.revive = on;
        self
    }

    /// The inner-sweep budgets (ρ_H, ρ_W) this solver uses on `data` at `rank`.
    pub fn inner_sweeps(&self, data: &Data<F>, rank: usize) -> (usize, usize) {
        let (m, n, kx) = (data.nrows(), data.ncols(), product_cost(data));
        let alpha = self.alpha.to_f64_lossy();
        (inner_budget(alpha, kx, m, n, rank), inner_budget(alpha, kx, n, m, rank))
    }
}

pub(crate) fn param_error<F: NmfFloat>(name: &'static str, value: F, expected: &'static str) -> NmfError {
    NmfParamsError::SolverParam {
        name,
        value: value.to_f64_lossy(),
        expected,
    }
    .into()
}

/// Cost of one product with X: nnz for sparse X, m·n for dense (and masked) X.
pub(crate) fn product_cost<F: NmfFloat>(data: &Data<F>) -> usize {
    match data.matrix() {
        Matrix::Sparse(s) => s.nnz(),
        Matrix::Dense(_) => data.nrows() * data.ncols(),
    }
}

/// ⌊1 + α·(K_X + rows·k)/(cols·(k+1))⌋ for a block V of k×cols whose other factor has
/// `rows` rows.
fn inner_budget(alpha: f64, kx: usize, rows: usize, cols: usize, k: usize) -> usize {
    let ratio = (kx as f64 + (rows * k) as f64) / ((cols * (k + 1)) as f64).max(1.0);
    let rho = (1.0 + alpha * ratio).floor();
    if rho.is_finite() && rho >= 1.0 {
        rho.min(u32::MAX as f64) as usize
    } else {
        1
    }
}

/// How many sweeps a block may take, and what to do with dead rows.
#[derive(Clone, Copy)]
struct Sweeps<F> {
    max: usize,
    delta: F,
    revive: bool,
}

/// Up to `rule.max` HALS sweeps (in component order) on the block V (k×c: H, or Wᵀ as a view
/// of W) with the fixed `utm` (k×c) and `utu` (k×k), run in `panel`. Rows left all zero are
/// revived by the floor and flagged in `revived`; `alive` and `order` are scratch of length k.
#[allow(clippy::too_many_arguments)]
fn hals_sweeps<F: NmfFloat>(
    mut v: MatMut<'_, F>,
    panel: &mut SweepPanel<F>,
    (utm, utu): (&Mat<F>, &Mat<F>),
    rule: Sweeps<F>,
    par: Par,
    (alive, revived): (&mut [bool], &mut [bool]),
    order: &[usize],
) {
    let zero = F::zero();
    panel.load(v.rb(), utm.as_ref());
    let mut first = zero;
    for done in 1..=rule.max {
        let change = panel.sweep(utu.as_ref(), order, par).change;
        if done == 1 {
            first = change;
        }
        if change == zero || (done > 1 && change <= rule.delta * rule.delta * first) {
            break;
        }
    }
    panel.store(v.rb_mut());
    // A row that is zero after the sweeps is the block's exact minimiser in that row; it is
    // revived only so that the partner block can bring the component back.
    if rule.revive && mark_alive(v.rb(), alive) && revive_rows(v, alive) {
        for (r, a) in revived.iter_mut().zip(alive.iter()) {
            *r |= !a;
        }
    }
}

/// Flags the rows of V with a positive entry; true if some row has none.
fn mark_alive<F: NmfFloat>(v: MatRef<'_, F>, alive: &mut [bool]) -> bool {
    alive.fill(false);
    for j in 0..v.ncols() {
        for (a, x) in alive.iter_mut().zip(v.col(j).iter()) {
            *a |= *x > F::zero();
        }
    }
    alive.iter().any(|a| !a)
}

/// Sets the rows of V not flagged alive to ε_mach·max(V); false if V is all zero.
fn revive_rows<F: NmfFloat>(mut v: MatMut<'_, F>, alive: &[bool]) -> bool {
    let mut vmax = F::zero();
    for j in 0..v.ncols() {
        for x in v.rb().col(j).iter() {
            vmax = vmax.max(*x);
        }
    }
    let tiny = F::epsilon() * vmax;
    if tiny <= F::zero() {
        return false;
    }
    for j in 0..v.ncols() {
        for (l, a) in alive.iter().enumerate() {
            if !a {
                v[(l, j)] = tiny;
            }
        }
    }
    true
}

/// Rebalances the components flagged in `revived` (and clears the flags): `w_l ← c·w_l`,
/// `h_l ← h_l/c` with `c = √(‖h_l‖/‖w_l‖)`, which leaves W H unchanged, applied only if the
/// elastic-net penalties do not rise.
fn rebalance<F: NmfFloat>(
    state: &mut NmfState<F>,
    revived: &mut [bool],
    (l1_w, l2_w): (F, F),
    (l1_h, l2_h): (F, F),
    mut ex: Option<&mut Extrapolator<F>>,
) {
    let half = F::lit(0.5);
    for (l, flag) in revived.iter_mut().enumerate() {
        if !*flag {
            continue;
        }
        *flag = false;
        let (mut sw, mut qw, mut sh, mut qh) = (F::zero(), F::zero(), F::zero(), F::zero());
        for v in state.w.col_as_slice(l) {
            sw += *v;
            qw += *v * *v;
        }
        for j in 0..state.h.ncols() {
            let v = state.h[(l, j)];
            sh += v;
            qh += v * v;
        }
        if !(qw > F::zero() && qh > F::zero()) {
            continue;
        }
        let c = (qh / qw).sqrt().sqrt();
        if !(c.is_finite() && c > F::zero()) {
            continue;
        }
        let before = l1_w * sw + half * l2_w * qw + l1_h * sh + half * l2_h * qh;
        let after = l1_w * sw * c + half * l2_w * qw * c * c + l1_h * sh / c + half * l2_h * qh / (c * c);
        if after > before {
            continue;
        }
        for v in state.w.col_as_slice_mut(l) {
            *v *= c;
        }
        for j in 0..state.h.ncols() {
            state.h[(l, j)] /= c;
        }
        if let Some(ex) = ex.as_deref_mut() {
            ex.rescale(l, c);
        }
    }
}

impl<'a, F, L, CW, CH> Solver<F, NmfProblem<'a, F, L, CW, CH>> for Hals<F>
where
    F: NmfFloat,
    L: Loss<F>,
    CW: Constraint<F>,
    CH: Constraint<F>,
{
    fn name(&self) -> String {
        "hals".into()
    }

    fn init(&mut self, problem: &NmfProblem<'a, F, L, CW, CH>, state: &mut NmfState<F>) -> Result<()> {
        let (pen_h, pen_w) = crate::block::frobenius_elastic_net("hals", problem)?;
        let data = problem.data();
        let par = problem.par();
        let (m, k, n) = (state.w.nrows(), state.w.ncols(), state.h.ncols());
        let (sweeps_h, sweeps_w) = self.inner_sweeps(data, k);
        if self.extrapolation.is_some() {
            check_no_mask("hals", data)?;
        }
        let mut ws = Workspace {
            gram: GramWorkspace::new(par),
            pen_h,
            pen_w,
            utm_h: Mat::zeros(k, n),
            utm_w: Mat::zeros(k, m),
            utu: Mat::zeros(k, k),
            panel_h: SweepPanel::new(k, n),
            panel_w: SweepPanel::new(k, m),
            alive: vec![true; k],
            order: (0..k).collect(),
            revived_h: vec![false; k],
            revived_w: vec![false; k],
            sweeps_h,
            sweeps_w,
            ex: None,
        };
        if self.scaling {
            let (w, h) = (state.w.as_ref(), state.h.as_ref());
            // ⟨X, WH⟩ = ⟨H Xᵀ, Wᵀ⟩ and ‖WH‖² = ⟨HHᵀ, WᵀW⟩.
            block_products(
                Block::W,
                data,
                w,
                h,
                (F::zero(), F::zero()),
                ws.utm_w.as_mut(),
                ws.utu.as_mut(),
                &mut ws.gram,
            );
            let mut wtw = Mat::zeros(k, k);
            linalg::gemm(wtw.as_mut(), faer::Accum::Replace, w.transpose(), w, F::one(), par);
            let (l1, l2) = pen_w;
            let (mut sum_w, mut sq_w) = (F::zero(), F::zero());
            for col in w.col_iter() {
                for v in col.iter() {
                    sum_w += *v;
                    sq_w += *v * *v;
                }
            }
            let num = linalg::dot(ws.utm_w.as_ref(), w.transpose()) - l1 * sum_w;
            let den = linalg::dot(ws.utu.as_ref(), wtw.as_ref()) + l2 * sq_w;
            let s = num / den;
            if s > F::zero() && s.is_finite() {
                for j in 0..k {
                    for v in state.w.col_as_slice_mut(j) {
                        *v *= s;
                    }
                }
            }
        }
        ws.ex = self.extrapolation.map(|e| Extrapolator::new(e, state));
        self.ws = Some(ws);
        Ok(())
    }

    fn next_iter(&mut self, problem: &NmfProblem<'a, F, L, CW, CH>, state: &mut NmfState<F>) -> Result<IterInfo<F>> {
        let (delta, revive) = (self.delta, self.revive);
        let rule = |max| Sweeps { max, delta, revive };
        let ws = self
            .ws
            .as_mut()
            .ok_or_else(|| NmfError::Unsupported("Hals::next_iter called before init".into()))?;
        let data = problem.data();
        if let Some(ex) = ws.ex.as_mut() {
            ex.begin(state);
        }
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
        if let Some(ex) = ws.ex.as_mut() {
            ex.start(state, (ws.utm_h.as_ref(), ws.utu.as_ref()), ws.pen_w);
        }
        let par = ws.gram.par();
        hals_sweeps(
            state.h.as_mut(),
            &mut ws.panel_h,
            (&ws.utm_h, &ws.utu),
            rule(ws.sweeps_h),
            par,
            (&mut ws.alive, &mut ws.revived_h),
            &ws.order,
        );
        if let Some(ex) = ws.ex.as_mut() {
            ex.after_h(state);
        }
        rebalance(state, &mut ws.revived_w, ws.pen_w, ws.pen_h, ws.ex.as_mut());
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
        hals_sweeps(
            state.w.as_mut().transpose_mut(),
            &mut ws.panel_w,
            (&ws.utm_w, &ws.utu),
            rule(ws.sweeps_w),
            par,
            (&mut ws.alive, &mut ws.revived_w),
            &ws.order,
        );
        // The objective is read off the W step's products, so before the rebalancing (which
        // leaves W H alone and does not raise the penalties).
        if let Some(ex) = ws.ex.as_mut() {
            ex.end(state, (ws.utm_w.as_ref(), ws.utu.as_ref()), ws.pen_h);
        }
        rebalance(state, &mut ws.revived_h, ws.pen_w, ws.pen_h, ws.ex.as_mut());
        Ok(IterInfo::none())
    }
}
