//! scikit-learn's coordinate descent (`NMF(solver='cd')`, `_fit_coordinate_descent` and
//! `_cdnmf_fast.pyx`; Cichocki & Phan 2009) for the Frobenius loss.
//!
//! scikit-learn factorizes X_sk = Xᵀ (samples × features) as W_sk H_sk, so its W_sk is our Hᵀ
//! and its H_sk our Wᵀ. It updates W_sk first, so one iteration here updates **H, then W**.
//! For a block V (k×c: V = H, or V = Wᵀ) with `UtM = WᵀX − l1`, `UtU = WᵀW + l2·I` (or the
//! W analogues, from [`block_products`]), one coordinate sweep is
//!
//! ```text
//! for t in components (in order, or a seeded permutation with `shuffle`):
//!   for i in 0..c:
//!     g  = −UtM[t,i] + Σ_r UtU[t,r]·V[r,i]
//!     pg = if V[t,i] == 0 { min(0, g) } else { g }      (projected gradient, before the update)
//!     violation += |pg|
//!     if UtU[t,t] ≠ 0:  V[t,i] ← max(V[t,i] − g/UtU[t,t], 0)
//! ```
//!
//! which is one plain HALS sweep ([`Hals`](crate::Hals) with α = 0, without its initial
//! scaling and revival floor), run by nmf-core's [`SweepPanel`](nmf_core::linalg::SweepPanel):
//! columns in parallel, the same bits for every thread count, and each column's iterates the
//! same bits as scikit-learn's component-major loop. Every coordinate step is an exact
//! minimisation, so the objective never rises.
//!
//! ## Stopping
//! `violation` is summed over both blocks of an iteration; the first iteration's is
//! `violation_init`. An iteration reports [`IterInfo::converged`] when
//! `violation / violation_init ≤ tol` ([`Cd::with_tol`], default 1e-4 as in scikit-learn), or
//! when `violation_init == 0`. The executor's own rules (max_iter, objective tolerance, KKT,
//! time) apply as well; set its `tol` to 0 to stop on scikit-learn's rule alone.
//!
//! ## Penalties
//! scikit-learn adds `l2` to the diagonal of UtU and subtracts `l1` from UtM, as
//! [`block_products`] does with the problem's elastic-net weights. Its `alpha_W`, `alpha_H`,
//! `l1_ratio` map to raw weights as documented on [`ElasticNet`](nmf_core::ElasticNet).
//!
//! ## Requirements
//! Frobenius loss only (anything else is [`NmfError::UnsupportedLoss`]); elastic-net
//! penalties; dense, sparse or masked X (masks by imputation with the current W H, an MM step).
//! The shuffled order uses a small internal generator (SplitMix64), so it does not reproduce
//! numpy's permutations; with `shuffle` off (the default, as in scikit-learn) the result
//! agrees with scikit-learn to round-off from the same start.
//!
//! ## References
//! Cichocki & Phan, "Fast local algorithms for large scale nonnegative matrix and tensor
//! factorizations", IEICE Trans. Fundamentals E92-A(3), 2009.
//! scikit-learn 1.9, `sklearn/decomposition/_nmf.py` (`_fit_coordinate_descent`,
//! `_update_coordinate_descent`) and `_cdnmf_fast.pyx`.
//!
//! ```
//! use nmf_core::{faer::Mat, Data, Frobenius, Init, NmfParams, StopReason};
//! use nmf_solvers::Cd;
//!
//! let x = Mat::from_fn(30, 20, |i, j| if (i < 15) == (j < 10) { 4.0 + ((i * j) % 3) as f64 } else { 0.2 });
//! let data = Data::dense(x).unwrap();
//! // Stop on scikit-learn's violation rule only.
//! let params = NmfParams::new(2).init(Init::NndsvdA).seed(7).max_iter(500).tol(0.0).check().unwrap();
//! let fit = params.fit(&data, Frobenius, Cd::new().with_tol(1e-4).unwrap()).unwrap();
//! assert_eq!(fit.stop_reason, StopReason::SolverConverged);
//! assert!(fit.evaluation.relative_error < 0.15);
//! ```

use faer::prelude::{Reborrow, ReborrowMut};
use faer::{Mat, MatMut, Par};
use nmf_core::{
    block_products, linalg::SweepPanel, Block, Constraint, GramWorkspace, IterInfo, Loss, NmfError, NmfFloat,
    NmfProblem, NmfState, Result, Solver,
};

use crate::block::frobenius_elastic_net;
use crate::hals::param_error;

/// scikit-learn's coordinate descent. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Cd<F: NmfFloat> {
    tol: F,
    shuffle: bool,
    seed: u64,
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
    perm: Vec<usize>,
    rng: u64,
    violation_init: Option<F>,
}

impl<F: NmfFloat> Default for Cd<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: NmfFloat> Cd<F> {
    /// Coordinate descent with scikit-learn's defaults: tol 1e-4, no shuffling.
    pub fn new() -> Self {
        Self {
            tol: F::lit(1e-4),
            shuffle: false,
            seed: 0,
            ws: None,
        }
    }

    /// The violation tolerance: converged when `violation / violation_init ≤ tol`
    /// (0: only when the violation is exactly 0).
    ///
    /// # Errors
    /// [`NmfParamsError::SolverParam`](nmf_core::NmfParamsError::SolverParam) if negative or
    /// not finite.
    pub fn with_tol(mut self, tol: F) -> Result<Self> {
        if !tol.is_finite() || tol < F::zero() {
            return Err(param_error("tol", tol, "finite and >= 0"));
        }
        self.tol = tol;
        Ok(self)
    }

    /// Visits the components in a fresh seeded random order in every block sweep
    /// (scikit-learn's `shuffle=True`; off by default).
    pub fn shuffle(mut self, on: bool) -> Self {
        self.shuffle = on;
        self
    }

    /// Seed of the shuffled order (restarted by every `init`).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny seeded generator for the permutations.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `perm` ← 0..k, then a Fisher–Yates shuffle when `rng` is given.
fn order(perm: &mut [usize], rng: Option<&mut u64>) {
    for (i, p) in perm.iter_mut().enumerate() {
        *p = i;
    }
    if let Some(state) = rng {
        for i in (1..perm.len()).rev() {
            let j = (splitmix64(state) % (i as u64 + 1)) as usize;
            perm.swap(i, j);
        }
    }
}

/// One coordinate sweep of the block V (k×c: H, or Wᵀ as a view of W) in the component order
/// `perm`; returns scikit-learn's violation.
fn sweep_once<F: NmfFloat>(
    mut v: MatMut<'_, F>,
    panel: &mut SweepPanel<F>,
    (utm, utu): (&Mat<F>, &Mat<F>),
    perm: &[usize],
    par: Par,
) -> F {
    panel.load(v.rb(), utm.as_ref());
    let violation = panel.sweep(utu.as_ref(), perm, par).violation;
    panel.store(v.rb_mut());
    violation
}

impl<'a, F, L, CW, CH> Solver<F, NmfProblem<'a, F, L, CW, CH>> for Cd<F>
where
    F: NmfFloat,
    L: Loss<F>,
    CW: Constraint<F>,
    CH: Constraint<F>,
{
    fn name(&self) -> String {
        "cd".into()
    }

    fn init(&mut self, problem: &NmfProblem<'a, F, L, CW, CH>, state: &mut NmfState<F>) -> Result<()> {
        let (pen_h, pen_w) = frobenius_elastic_net("cd", problem)?;
        let par = problem.par();
        let (m, k, n) = (state.w.nrows(), state.w.ncols(), state.h.ncols());
        self.ws = Some(Workspace {
            gram: GramWorkspace::new(par),
            pen_h,
            pen_w,
            utm_h: Mat::zeros(k, n),
            utm_w: Mat::zeros(k, m),
            utu: Mat::zeros(k, k),
            panel_h: SweepPanel::new(k, n),
            panel_w: SweepPanel::new(k, m),
            perm: (0..k).collect(),
            rng: self.seed,
            violation_init: None,
        });
        Ok(())
    }

    fn next_iter(&mut self, problem: &NmfProblem<'a, F, L, CW, CH>, state: &mut NmfState<F>) -> Result<IterInfo<F>> {
        let (shuffle, tol) = (self.shuffle, self.tol);
        let ws = self
            .ws
            .as_mut()
            .ok_or_else(|| NmfError::Unsupported("Cd::next_iter called before init".into()))?;
        let data = problem.data();
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
        order(&mut ws.perm, shuffle.then_some(&mut ws.rng));
        let par = ws.gram.par();
        let mut violation = sweep_once(state.h.as_mut(), &mut ws.panel_h, (&ws.utm_h, &ws.utu), &ws.perm, par);
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
        order(&mut ws.perm, shuffle.then_some(&mut ws.rng));
        violation += sweep_once(
            state.w.as_mut().transpose_mut(),
            &mut ws.panel_w,
            (&ws.utm_w, &ws.utu),
            &ws.perm,
            par,
        );
        let init = *ws.violation_init.get_or_insert(violation);
        let mut info = IterInfo::none();
        info.converged = init == F::zero() || violation / init <= tol;
        Ok(info)
    }
}
