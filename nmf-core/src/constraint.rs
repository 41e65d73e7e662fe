//! What acts on one factor (penalties, feasibility) and the gauge fix that acts on both.

use std::fmt::Debug;

use faer::prelude::{Reborrow, ReborrowMut};
use faer::{MatMut, MatRef};

use crate::error::NmfParamsError;
use crate::NmfFloat;

/// A constraint or penalty on one factor F ≥ 0: its value, its smooth gradient on the
/// non-negative orthant, and its proximal step.
pub trait Constraint<F: NmfFloat>: Clone + Debug + Send + Sync + 'static {
    /// The penalty's value at `factor`.
    fn penalty(&self, factor: MatRef<'_, F>) -> F;
    /// Adds the penalty's gradient (on the non-negative orthant) to `grad`. Multiplicative
    /// updates add it to their denominator.
    fn add_grad(&self, factor: MatRef<'_, F>, grad: MatMut<'_, F>);
    /// The proximal step of `step`·penalty plus the indicator of F ≥ 0, in place.
    fn prox(&self, factor: MatMut<'_, F>, step: F);
    /// Whether this is plain non-negativity (no penalty term at all).
    fn is_plain(&self) -> bool {
        false
    }
    /// `(l1, l2)` when this constraint is an elastic net `l1·‖F‖₁ + ½·l2·‖F‖²` on F ≥ 0, which
    /// block solvers fold into their normal equations (`l2` on the Gram diagonal, `l1`
    /// subtracted from the right-hand side); `None` for anything else.
    fn elastic_net(&self) -> Option<(F, F)> {
        None
    }
    /// Whether `factor` is feasible (≥ −tol everywhere).
    fn is_feasible(&self, factor: MatRef<'_, F>, tol: F) -> bool {
        (0..factor.ncols()).all(|j| factor.col(j).iter().all(|v| *v >= -tol))
    }
}

/// Non-negativity with an elastic-net penalty `l1·‖F‖₁ + ½·l2·‖F‖²_F` (both weights ≥ 0;
/// zero weights give plain non-negativity).
///
/// The weights are raw: they multiply the penalty as written. scikit-learn's `alpha_W`,
/// `alpha_H` and `l1_ratio` map onto them through the orientation swap (sklearn's W is our
/// Hᵀ): on H, `l1 = m·alpha_W·l1_ratio` and `l2 = m·alpha_W·(1 − l1_ratio)`; on W,
/// `l1 = n·alpha_H·l1_ratio` and `l2 = n·alpha_H·(1 − l1_ratio)` (m features, n samples).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElasticNet<F> {
    l1: F,
    l2: F,
}

impl<F: NmfFloat> Default for ElasticNet<F> {
    fn default() -> Self {
        Self {
            l1: F::zero(),
            l2: F::zero(),
        }
    }
}

impl<F: NmfFloat> ElasticNet<F> {
    /// Plain non-negativity.
    pub fn none() -> Self {
        Self::default()
    }
    /// An elastic-net penalty.
    ///
    /// # Errors
    /// [`NmfParamsError::BadPenalty`] if a weight is negative or not finite.
    pub fn new(l1: F, l2: F) -> Result<Self, NmfParamsError> {
        for (name, v) in [("l1", l1), ("l2", l2)] {
            if !v.is_finite() || v < F::zero() {
                return Err(NmfParamsError::BadPenalty {
                    name,
                    value: v.to_f64_lossy(),
                });
            }
        }
        Ok(Self { l1, l2 })
    }
    /// The L1 weight.
    pub fn l1(&self) -> F {
        self.l1
    }
    /// The L2 weight.
    pub fn l2(&self) -> F {
        self.l2
    }
    /// Whether both weights are zero.
    pub fn is_zero(&self) -> bool {
        self.l1 == F::zero() && self.l2 == F::zero()
    }
}

impl<F: NmfFloat> Constraint<F> for ElasticNet<F> {
    fn is_plain(&self) -> bool {
        self.is_zero()
    }

    fn elastic_net(&self) -> Option<(F, F)> {
        Some((self.l1, self.l2))
    }

    fn penalty(&self, factor: MatRef<'_, F>) -> F {
        if self.is_zero() {
            return F::zero();
        }
        let (mut s1, mut s2) = (F::zero(), F::zero());
        for j in 0..factor.ncols() {
            for v in factor.col(j).iter() {
                s1 += v.abs();
                s2 += *v * *v;
            }
        }
        self.l1 * s1 + self.l2 * s2 / F::lit(2.0)
    }

    fn add_grad(&self, factor: MatRef<'_, F>, mut grad: MatMut<'_, F>) {
        if self.is_zero() {
            return;
        }
        for j in 0..factor.ncols() {
            for (g, v) in grad.rb_mut().col_mut(j).iter_mut().zip(factor.col(j).iter()) {
                *g += self.l1 + self.l2 * *v;
            }
        }
    }

    fn prox(&self, mut factor: MatMut<'_, F>, step: F) {
        let shrink = F::one() / (F::one() + step * self.l2);
        for j in 0..factor.ncols() {
            for v in factor.rb_mut().col_mut(j).iter_mut() {
                *v = ((*v - step * self.l1) * shrink).max(F::zero());
            }
        }
    }
}

/// Rescales W's columns to sum to 1 and moves each scale into the matching row of H, so W H
/// is unchanged (the scale gauge of NMF). A zero column of W is left as is.
///
/// With KL/Poisson this is the form of Lee & Seung's Poisson model: W's columns are
/// probability vectors over features and H holds counts (its column sums are the samples'
/// library sizes).
///
/// # Panics
/// If `w.ncols() != h.nrows()`.
pub fn normalize_w_to_simplex<F: NmfFloat>(mut w: MatMut<'_, F>, mut h: MatMut<'_, F>) {
    assert_eq!(w.ncols(), h.nrows());
    for l in 0..w.ncols() {
        let s = w.rb().col(l).iter().fold(F::zero(), |a, v| a + *v);
        if s > F::zero() && s.is_finite() {
            let inv = F::one() / s;
            for v in w.rb_mut().col_mut(l).iter_mut() {
                *v *= inv;
            }
            for j in 0..h.ncols() {
                h[(l, j)] *= s;
            }
        }
    }
}
