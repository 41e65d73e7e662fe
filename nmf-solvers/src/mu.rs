//! Multiplicative updates (Lee & Seung 2001; Févotte & Idier 2011) for any β-divergence.
//!
//! Each iteration updates H, then W (scikit-learn's order):
//!
//! ```text
//! H ← H ⊙ [ Wᵀ(X ⊙ (WH)^{β−2}) ⊘ (Wᵀ(WH)^{β−1} + ∇pen(H)) ]^{γ(β)}
//! W ← W ⊙ [ (X ⊙ (WH)^{β−2})Hᵀ ⊘ ((WH)^{β−1}Hᵀ + ∇pen(W)) ]^{γ(β)}
//! ```
//!
//! with γ(β) = 1/(2−β) for β < 1, 1 for 1 ≤ β ≤ 2, 1/(β−1) for β > 2, which makes every
//! step a majorization–minimization step: the objective never rises (up to round-off). β = 2
//! is Frobenius (Gram form, never forms W H), β = 1 is KL/Poisson (ratios only at the
//! nonzeros of sparse X).
//!
//! ## Requirements
//! Any [`Loss`] of the β family; penalties through [`Constraint::add_grad`] (which must be
//! non-negative on the orthant, as [`ElasticNet`](nmf_core::ElasticNet) is).
//!
//! ## ε safeguards
//! [`Epsilon::Safe`] (default) floors W H at the machine epsilon where a negative power is
//! taken and never divides by zero. [`Epsilon::Sklearn`] reproduces scikit-learn 1.9's
//! `solver='mu'` conventions exactly (float32 eps clamps, zero-sum handling, post-step
//! zeroing), so results agree with it to round-off from the same start.
//!
//! ## Poisson form
//! [`Mu::simplex_w`] renormalises W's columns to sum to 1 after each W step and moves the
//! scale into H (objective-neutral): W's columns are then distributions over features and H
//! holds counts, whose column sums approach the samples' library sizes under KL.
//!
//! ## References
//! Lee & Seung, "Algorithms for non-negative matrix factorization", NIPS 2001.
//! Févotte & Idier, "Algorithms for NMF with the β-divergence", Neural Computation 2011.

use faer::Mat;
use nmf_core::loss::mu_exponent;
use nmf_core::{
    normalize_w_to_simplex, Block, Constraint, Data, IterInfo, Loss, LossWorkspace, NmfError, NmfFloat, NmfProblem,
    NmfState, Result, Solver,
};

/// How the updates guard against division by zero and zero-power singularities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Epsilon {
    /// W H floored at the machine epsilon of the scalar type where a negative power of it is
    /// taken; denominators floored at the smallest positive normal number.
    #[default]
    Safe,
    /// scikit-learn 1.9 `solver='mu'`: W H < float32 eps clamped (β < 2), zero denominators
    /// set to float32 eps, a zero row sum of H in the KL W-step set to 1, and after each step
    /// entries below float64 eps zeroed (H for β < 1, W for β ≤ 1).
    Sklearn,
}

/// Multiplicative updates. See the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct Mu<F: NmfFloat> {
    epsilon: Epsilon,
    simplex_w: bool,
    floor: F,
    ws: Option<Workspace<F>>,
}

#[derive(Debug, Clone)]
struct Workspace<F> {
    loss: LossWorkspace<F>,
    neg_h: Mat<F>,
    pos_h: Mat<F>,
    neg_w: Mat<F>,
    pos_w: Mat<F>,
}

impl<F: NmfFloat> Mu<F> {
    /// Multiplicative updates with the default safeguards.
    pub fn new() -> Self {
        Self {
            epsilon: Epsilon::Safe,
            simplex_w: false,
            floor: F::zero(),
            ws: None,
        }
    }
    /// Chooses the ε conventions.
    pub fn epsilon(mut self, epsilon: Epsilon) -> Self {
        self.epsilon = epsilon;
        self
    }
    /// Poisson form: W's columns on the simplex after every W step, scale moved into H.
    pub fn simplex_w(mut self, on: bool) -> Self {
        self.simplex_w = on;
        self
    }
    /// A lower bound applied to every entry after each step, so that entries can revive
    /// (0 = off, the default).
    ///
    /// # Errors
    /// [`NmfParamsError::SolverParam`](nmf_core::NmfParamsError::SolverParam) if negative or
    /// not finite.
    pub fn with_floor(mut self, floor: F) -> Result<Self> {
        if !floor.is_finite() || floor < F::zero() {
            return Err(nmf_core::NmfParamsError::SolverParam {
                name: "floor",
                value: floor.to_f64_lossy(),
                expected: "finite and >= 0",
            }
            .into());
        }
        self.floor = floor;
        Ok(self)
    }

    fn y_floor(&self) -> F {
        match self.epsilon {
            Epsilon::Safe => F::epsilon(),
            Epsilon::Sklearn => F::lit(f32::EPSILON as f64),
        }
    }
}

/// The knobs shared by both half-steps of one iteration.
struct StepRule<F> {
    gamma: F,
    epsilon: Epsilon,
    y_floor: F,
    floor: F,
}

/// One multiplicative half-step on `block`: `F ← F ⊙ (neg ⊘ (pos + ∇pen))^γ`, with the
/// denominator guarded as the ε convention says, entries below `zero_below` set to 0 and
/// everything raised to the floor. `zero_sum_to_one` is sklearn's KL W-step rule for zero
/// row sums of H.
#[allow(clippy::too_many_arguments)]
fn half_step<F: NmfFloat, L: Loss<F>, C: Constraint<F>>(
    block: Block,
    loss: &L,
    data: &Data<F>,
    penalty: &C,
    state: &mut NmfState<F>,
    (neg, pos): (&mut Mat<F>, &mut Mat<F>),
    lws: &mut LossWorkspace<F>,
    rule: &StepRule<F>,
    zero_sum_to_one: bool,
    zero_below: F,
) {
    let (w, h) = (state.w.as_ref(), state.h.as_ref());
    loss.grad_parts(block, data, w, h, rule.y_floor, neg.as_mut(), pos.as_mut(), lws);
    let factor = match block {
        Block::W => &mut state.w,
        Block::H => &mut state.h,
    };
    penalty.add_grad(factor.as_ref(), pos.as_mut());
    let den_floor = F::min_positive_value();
    let f32_eps = F::lit(f32::EPSILON as f64);
    for j in 0..factor.ncols() {
        for i in 0..factor.nrows() {
            let mut d = pos[(i, j)];
            match rule.epsilon {
                Epsilon::Safe => d = d.max(den_floor),
                Epsilon::Sklearn => {
                    if d == F::zero() {
                        d = if zero_sum_to_one { F::one() } else { f32_eps };
                    }
                }
            }
            let mut r = neg[(i, j)] / d;
            if rule.gamma != F::one() {
                r = r.powf(rule.gamma);
            }
            let mut v = factor[(i, j)] * r;
            if v < zero_below {
                v = F::zero();
            }
            factor[(i, j)] = v.max(rule.floor);
        }
    }
}

impl<'a, F, L, CW, CH> Solver<F, NmfProblem<'a, F, L, CW, CH>> for Mu<F>
where
    F: NmfFloat,
    L: Loss<F>,
    CW: Constraint<F>,
    CH: Constraint<F>,
{
    fn name(&self) -> String {
        "mu".into()
    }

    fn init(&mut self, problem: &NmfProblem<'a, F, L, CW, CH>, state: &mut NmfState<F>) -> Result<()> {
        let (m, k, n) = (state.w.nrows(), state.w.ncols(), state.h.ncols());
        if self.simplex_w {
            let penalized = !problem.penalty_w().is_plain() || !problem.penalty_h().is_plain();
            if penalized {
                return Err(NmfError::Unsupported(
                    "the simplex (Poisson) form of W with penalties: renormalising would change the penalised objective"
                        .into(),
                ));
            }
        }
        if self.simplex_w {
            // Start in the gauge the iterations keep, so the recorded KKT residuals compare.
            normalize_w_to_simplex(state.w.as_mut(), state.h.as_mut());
        }
        self.ws = Some(Workspace {
            loss: LossWorkspace::new(problem.par()),
            neg_h: Mat::zeros(k, n),
            pos_h: Mat::zeros(k, n),
            neg_w: Mat::zeros(m, k),
            pos_w: Mat::zeros(m, k),
        });
        Ok(())
    }

    fn next_iter(&mut self, problem: &NmfProblem<'a, F, L, CW, CH>, state: &mut NmfState<F>) -> Result<IterInfo<F>> {
        let rule = StepRule {
            gamma: mu_exponent(problem.loss().beta()),
            epsilon: self.epsilon,
            y_floor: self.y_floor(),
            floor: self.floor,
        };
        let ws = self
            .ws
            .as_mut()
            .ok_or_else(|| NmfError::Unsupported("Mu::next_iter called before init".into()))?;
        let (loss, data) = (problem.loss(), problem.data());
        let beta = loss.beta();
        let sk = rule.epsilon == Epsilon::Sklearn;
        let f64_eps = F::lit(f64::EPSILON);
        let zero_h = if sk && beta < F::one() { f64_eps } else { F::zero() };
        let zero_w = if sk && beta <= F::one() { f64_eps } else { F::zero() };
        let kl_sums = beta == F::one() && data.mask().is_none();
        let h_bufs = (&mut ws.neg_h, &mut ws.pos_h);
        half_step(
            Block::H,
            loss,
            data,
            problem.penalty_h(),
            state,
            h_bufs,
            &mut ws.loss,
            &rule,
            false,
            zero_h,
        );
        let w_bufs = (&mut ws.neg_w, &mut ws.pos_w);
        half_step(
            Block::W,
            loss,
            data,
            problem.penalty_w(),
            state,
            w_bufs,
            &mut ws.loss,
            &rule,
            kl_sums,
            zero_w,
        );
        if self.simplex_w {
            normalize_w_to_simplex(state.w.as_mut(), state.h.as_mut());
        }
        Ok(IterInfo::none())
    }
}
