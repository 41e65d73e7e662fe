//! Cyclic coordinate descent for the KL (Poisson) loss with safeguarded Newton steps
//! (Hsieh & Dhillon 2011, §5).
//!
//! One iteration updates H, then W (the MU order). Each coordinate of a block moves along its
//! one-variable KL function by up to `newton` Newton steps, each one pass over the coordinate's
//! column of X (its stored entries, for sparse X) with `y = W·h_j` kept up to date, never W H
//! as a whole. A Newton step that would overshoot the minimiser from above is checked against
//! the chord bound and replaced by the multiplicative (MM) step where it could have raised the
//! objective, so the objective never rises (the rule is in [`nmf_core::linalg::kl_sweep`]).
//! Unlike MU, entries can reach exactly 0 and revive.
//!
//! Per block and iteration this costs k passes over the stored entries of each column to form
//! y (and, for sparse X, k more to gather the partner's rows), then one or two passes per
//! component with a division per entry: about 3·k·m·n (4·k·nnz) element operations, at most
//! 2·k divisions per entry, against MU's four products and one division per entry. The
//! division-bound passes run in AVX (f64) or SSE (f32) registers. It pays because it needs
//! far fewer iterations (second order, Gauss–Seidel within each column): to scikit-learn
//! `mu`'s final KL on dense 5000×1000 (k = 10) 14 iterations instead of 200 (0.65–0.72 s against
//! KL-MU's 2.6–2.8 s), on pbmc3k 35 instead of 130 (0.30–0.33 s against 0.54–0.59 s); on a
//! planted 5 M-nonzero count matrix 19 against 20 (MU is faster there). The start is first
//! scaled to Σ W H = Σ X ([`KlCd::rescale_init`]).
//!
//! ## Requirements
//! KL loss ([`KullbackLeibler`](nmf_core::KullbackLeibler) or β = 1) only; elastic-net
//! penalties (folded into the one-variable functions); dense or sparse X without a mask (a
//! mask is [`NmfError::Unsupported`]: use [`Mu`](crate::Mu)). The W block reads X by rows, so
//! `init` keeps a transposed copy of X: memory is twice the input (the MU path stays within
//! the input plus O((m+n)·k)).
//!
//! ## References
//! Hsieh & Dhillon, "Fast coordinate descent methods with variable selection for non-negative
//! matrix factorization", KDD 2011.
//!
//! ```
//! use nmf_core::{faer::Mat, Data, Init, KullbackLeibler, NmfParams};
//! use nmf_solvers::{KlCd, Mu};
//!
//! let x = Mat::from_fn(40, 30, |i, j| if (i < 20) == (j < 15) { 6.0 + ((i * j) % 4) as f64 } else { 1.0 });
//! let data = Data::dense(x).unwrap();
//! let params = NmfParams::new(2).init(Init::NndsvdA).seed(3).max_iter(10).tol(0.0).check().unwrap();
//! let cd = params.fit(&data, KullbackLeibler, KlCd::new()).unwrap();
//! let mu = params.fit(&data, KullbackLeibler, Mu::new()).unwrap();
//! // Ten iterations of coordinate descent get further than ten of MU, monotonically.
//! let objectives = cd.history.objectives();
//! assert!(objectives.windows(2).all(|p| p[1] <= p[0] * (1.0 + 1e-12)));
//! assert!(cd.evaluation.objective < mu.evaluation.objective);
//! ```

use faer::{Mat, MatMut, MatRef, Par};
use nmf_core::linalg::{self, KlBlock, KlPanel, KlSweepStats};
use nmf_core::{Constraint, IterInfo, Loss, Matrix, NmfError, NmfFloat, NmfProblem, NmfState, Result, Solver};

use crate::block::elastic_net_for;
use crate::hals::param_error;

/// Coordinate descent for KL. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct KlCd<F: NmfFloat> {
    newton: usize,
    newton_tol: F,
    rescale: bool,
    ws: Option<Workspace<F>>,
    last: Option<(KlSweepStats<F>, KlSweepStats<F>)>,
}

#[derive(Debug, Clone)]
struct Workspace<F: NmfFloat> {
    xt: Matrix<F>,
    panel_h: KlPanel<F>,
    panel_w: KlPanel<F>,
    ht: Mat<F>,
    wt: Mat<F>,
    linear: Vec<F>,
}

impl<F: NmfFloat> Default for KlCd<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: NmfFloat> KlCd<F> {
    /// Coordinate descent with at most 2 Newton evaluations per coordinate and sweep, stopping
    /// early at 10 % relative change.
    pub fn new() -> Self {
        Self {
            newton: 2,
            newton_tol: F::lit(0.1),
            rescale: true,
            ws: None,
            last: None,
        }
    }

    /// At most `newton` evaluations (passes over the coordinate's column) per coordinate and
    /// sweep. 1 takes one Newton step from below and, from above, the larger of the Newton and
    /// MM points (no evaluation is left to check an overshoot).
    ///
    /// # Errors
    /// [`NmfParamsError::SolverParam`](nmf_core::NmfParamsError::SolverParam) if 0 or above 50.
    pub fn with_newton_steps(mut self, newton: usize) -> Result<Self> {
        if !(1..=50).contains(&newton) {
            return Err(param_error("newton", F::lit(newton as f64), "an integer in 1..=50"));
        }
        self.newton = newton;
        Ok(self)
    }

    /// Whether [`init`](Solver::init) scales H so that Σ W H = Σ X, the KL-optimal scalar
    /// multiple of the start (default on; skipped with penalties, whose optimum it is not).
    /// A coordinate sweep moves one entry at a time and starts badly from a start that is
    /// far off in scale, which MU's first step corrects jointly.
    pub fn rescale_init(mut self, on: bool) -> Self {
        self.rescale = on;
        self
    }

    /// A coordinate stops its Newton steps early once a step (one that needs no descent check)
    /// moved it by at most this fraction of its new value (default 0.1; 0 uses every allowed
    /// evaluation). Measured to sklearn mu-KL's final KL: 0.1 was 7–15 % faster than 0.01 on
    /// dense 5000×1000, pbmc3k and a planted 5 M-nonzero matrix.
    ///
    /// # Errors
    /// [`NmfParamsError::SolverParam`](nmf_core::NmfParamsError::SolverParam) if negative or
    /// not finite.
    pub fn with_newton_tol(mut self, tol: F) -> Result<Self> {
        if !tol.is_finite() || tol < F::zero() {
            return Err(param_error("newton_tol", tol, "finite and >= 0"));
        }
        self.newton_tol = tol;
        Ok(self)
    }

    /// What the last iteration's sweeps did: (H block, W block).
    pub fn last_sweeps(&self) -> Option<(KlSweepStats<F>, KlSweepStats<F>)> {
        self.last
    }
}

/// One sweep over the block `g` (k×c) against `factor` (p×k) and `data` (p×c): the linear
/// terms are the factor's column sums plus the L1 weight.
fn sweep_block<F: NmfFloat>(
    panel: &mut KlPanel<F>,
    linear: &mut [F],
    data: &Matrix<F>,
    factor: MatRef<'_, F>,
    g: MatMut<'_, F>,
    (l1, l2): (F, F),
    (newton, newton_tol, par): (usize, F, Par),
) -> KlSweepStats<F> {
    linalg::col_sums(factor, linear);
    for lin in linear.iter_mut() {
        *lin += l1;
    }
    let block = KlBlock {
        data,
        factor,
        linear,
        l2,
        y_floor: F::epsilon(),
        newton_tol,
    };
    panel.sweep(block, g, newton, par)
}

/// `H ← s·H` with `s = ΣX / ΣWH`: the KL-optimal scalar multiple of W H (ΣWH is the product
/// of W's column sums and H's row sums).
fn rescale_to_total<F: NmfFloat>(data: &nmf_core::Data<F>, state: &mut NmfState<F>) {
    let k = state.w.ncols();
    let (mut w_sums, mut h_sums) = (vec![F::zero(); k], vec![F::zero(); k]);
    linalg::col_sums(state.w.as_ref(), &mut w_sums);
    linalg::row_sums(state.h.as_ref(), &mut h_sums);
    let total_wh = w_sums.iter().zip(&h_sums).fold(F::zero(), |t, (a, b)| t + *a * *b);
    let s = data.stats().sum / total_wh;
    if s.is_finite() && s > F::zero() {
        for j in 0..state.h.ncols() {
            for v in state.h.col_mut(j).iter_mut() {
                *v *= s;
            }
        }
    }
}

impl<'a, F, L, CW, CH> Solver<F, NmfProblem<'a, F, L, CW, CH>> for KlCd<F>
where
    F: NmfFloat,
    L: Loss<F>,
    CW: Constraint<F>,
    CH: Constraint<F>,
{
    fn name(&self) -> String {
        "cd-kl".into()
    }

    fn init(&mut self, problem: &NmfProblem<'a, F, L, CW, CH>, state: &mut NmfState<F>) -> Result<()> {
        elastic_net_for("cd-kl", problem, (F::one(), "kl"))?;
        let data = problem.data();
        if data.mask().is_some() {
            return Err(NmfError::Unsupported(
                "cd-kl does not take an observation mask (mu does)".into(),
            ));
        }
        let (m, k, n) = (state.w.nrows(), state.w.ncols(), state.h.ncols());
        if self.rescale && problem.penalty_w().is_plain() && problem.penalty_h().is_plain() {
            rescale_to_total(data, state);
        }
        let xt = data.matrix().transpose();
        self.ws = Some(Workspace {
            panel_h: KlPanel::new(data.matrix(), k),
            panel_w: KlPanel::new(&xt, k),
            xt,
            ht: Mat::zeros(n, k),
            wt: Mat::zeros(k, m),
            linear: vec![F::zero(); k],
        });
        self.last = None;
        Ok(())
    }

    fn next_iter(&mut self, problem: &NmfProblem<'a, F, L, CW, CH>, state: &mut NmfState<F>) -> Result<IterInfo<F>> {
        let ws = self
            .ws
            .as_mut()
            .ok_or_else(|| NmfError::Unsupported("KlCd::next_iter called before init".into()))?;
        let par: Par = problem.par();
        let (pen_h, pen_w) = elastic_net_for("cd-kl", problem, (F::one(), "kl"))?;

        let settings = (self.newton, self.newton_tol, par);
        // H block: columns of X against W.
        let x = problem.data().matrix();
        let (w, h) = (state.w.as_ref(), state.h.as_mut());
        let sh = sweep_block(&mut ws.panel_h, &mut ws.linear, x, w, h, pen_h, settings);

        // W block: columns of Xᵀ against Hᵀ, solving for Wᵀ.
        ws.ht.copy_from(state.h.transpose());
        ws.wt.copy_from(state.w.transpose());
        let (ht, wt) = (ws.ht.as_ref(), ws.wt.as_mut());
        let sw = sweep_block(&mut ws.panel_w, &mut ws.linear, &ws.xt, ht, wt, pen_w, settings);
        state.w.copy_from(ws.wt.transpose());
        self.last = Some((sh, sw));
        Ok(IterInfo::none())
    }
}
