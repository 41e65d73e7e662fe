//! Active-set identification under tolerances (SPEC §3.5).
//!
//! Every entry of a non-negative variable `v` with dual (KKT multiplier) `λ = ∇f` is
//!
//! * **free** if `v > τ_v·max|v|` (it moves with the data);
//! * **active** if not free and `λ > τ_λ·max|λ|` (pinned at 0 by a strictly positive dual);
//! * **degenerate** otherwise (`v ≈ 0` and `λ ≈ 0`): the map is not differentiable there.
//!   Degenerate entries are treated as active (`dv = 0`), which is a valid one-sided
//!   (generalised) Jacobian, and are counted so the caller can see how many there were.

use nmf_core::faer::{Mat, MatRef};
use nmf_core::NmfFloat;

use crate::error::{ImplicitError, Result};

/// Tolerances of the active-set identification. All are relative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActiveSetTol<F> {
    /// `τ_v`: an entry is free if it exceeds `τ_v` times the largest entry of its factor.
    pub value_rel: F,
    /// `τ_λ`: a non-free entry is active if its dual exceeds `τ_λ` times the largest dual.
    pub dual_rel: F,
    /// The largest relative projected-gradient norm accepted as a KKT point; larger is
    /// [`ImplicitError::NotOptimal`].
    pub kkt: F,
}

impl<F: NmfFloat> Default for ActiveSetTol<F> {
    /// `τ_v = τ_λ = 1000·ε` and `kkt = √ε` (f64: 2.2e-13 and 1.5e-8; f32: 1.2e-4 and 3.5e-4).
    fn default() -> Self {
        let eps = F::epsilon();
        Self {
            value_rel: F::lit(1e3) * eps,
            dual_rel: F::lit(1e3) * eps,
            kkt: eps.sqrt(),
        }
    }
}

impl<F: NmfFloat> ActiveSetTol<F> {
    /// Checks every tolerance is finite and ≥ 0.
    ///
    /// # Errors
    /// [`ImplicitError::InvalidParam`] naming the bad one.
    pub fn check(&self) -> Result<()> {
        for (name, v) in [
            ("value_rel", self.value_rel),
            ("dual_rel", self.dual_rel),
            ("kkt", self.kkt),
        ] {
            if !v.is_finite() || v < F::zero() {
                return Err(ImplicitError::InvalidParam {
                    name,
                    value: v.to_f64_lossy(),
                    expected: "finite and >= 0",
                });
            }
        }
        Ok(())
    }
}

/// The state of one entry of a non-negative variable at the solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryState {
    /// Positive: differentiated through.
    Free,
    /// Zero with a strictly positive dual: its derivative is 0.
    Active,
    /// Zero with a zero dual (not differentiable): treated as active.
    Degenerate,
}

/// Counts of entry states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActiveSetCounts {
    /// Free entries.
    pub free: usize,
    /// Active entries.
    pub active: usize,
    /// Degenerate entries (counted, and treated as active).
    pub degenerate: usize,
}

/// The classified active set of one factor (column-major, like the factor).
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveSet {
    nrows: usize,
    states: Vec<EntryState>,
    counts: ActiveSetCounts,
}

impl ActiveSet {
    /// Classifies every entry of `v` given its dual `dual` (same shape).
    pub(crate) fn classify<F: NmfFloat>(v: MatRef<'_, F>, dual: MatRef<'_, F>, tol: &ActiveSetTol<F>) -> Self {
        let max_abs = |a: MatRef<'_, F>| {
            let mut s = F::zero();
            for j in 0..a.ncols() {
                for x in a.col(j).iter() {
                    s = s.max(x.abs());
                }
            }
            s
        };
        let (vs, ds) = (max_abs(v) * tol.value_rel, max_abs(dual) * tol.dual_rel);
        let mut counts = ActiveSetCounts::default();
        let mut states = Vec::with_capacity(v.nrows() * v.ncols());
        for j in 0..v.ncols() {
            for i in 0..v.nrows() {
                let s = if v[(i, j)] > vs {
                    counts.free += 1;
                    EntryState::Free
                } else if dual[(i, j)] > ds {
                    counts.active += 1;
                    EntryState::Active
                } else {
                    counts.degenerate += 1;
                    EntryState::Degenerate
                };
                states.push(s);
            }
        }
        Self {
            nrows: v.nrows(),
            states,
            counts,
        }
    }

    /// The state of entry `(i, j)`.
    ///
    /// # Panics
    /// If `(i, j)` is out of range.
    pub fn state(&self, i: usize, j: usize) -> EntryState {
        assert!(i < self.nrows);
        self.states[j * self.nrows + i]
    }

    /// Whether entry `(i, j)` is free.
    pub fn is_free(&self, i: usize, j: usize) -> bool {
        self.state(i, j) == EntryState::Free
    }

    /// The counts of each state.
    pub fn counts(&self) -> ActiveSetCounts {
        self.counts
    }

    /// The free pattern of column `j` (one `bool` per row).
    pub(crate) fn free_col(&self, j: usize) -> impl Iterator<Item = bool> + '_ {
        self.states[j * self.nrows..(j + 1) * self.nrows]
            .iter()
            .map(|s| *s == EntryState::Free)
    }

    /// Per-entry weights `(a, b)` of the complementarity row `a·dv + b·dλ` of the KKT system.
    ///
    /// `Raw` keeps `(λ, v)` (the derivative of `λ ⊙ v`); `Normalized` divides the row by
    /// `(λ + v)/s`, which turns it into `s·dv = 0` (active) or `s·dλ = 0` (free) and leaves
    /// the primal solution unchanged (a left diagonal scaling). `s` is the scale of the
    /// matching Hessian block (its mean diagonal), so the pinned rows do not make the operator
    /// strongly non-normal. Degenerate entries always get `(s, 0)`: the active convention.
    pub(crate) fn complementarity_weights<F: NmfFloat>(
        &self,
        v: MatRef<'_, F>,
        dual: MatRef<'_, F>,
        scaling: crate::KktScaling,
        s: F,
    ) -> (Mat<F>, Mat<F>) {
        let (r, c) = (v.nrows(), v.ncols());
        let mut a = Mat::zeros(r, c);
        let mut b = Mat::zeros(r, c);
        for j in 0..c {
            for i in 0..r {
                let (wa, wb) = match (self.state(i, j), scaling) {
                    (EntryState::Degenerate, _) => (s, F::zero()),
                    (EntryState::Free, crate::KktScaling::Normalized) => (F::zero(), s),
                    (EntryState::Active, crate::KktScaling::Normalized) => (s, F::zero()),
                    // Exact complementarity at the classified point: λ = 0 on free entries,
                    // v = 0 on active ones.
                    (EntryState::Free, crate::KktScaling::Raw) => (F::zero(), v[(i, j)]),
                    (EntryState::Active, crate::KktScaling::Raw) => (dual[(i, j)], F::zero()),
                };
                a[(i, j)] = wa;
                b[(i, j)] = wb;
            }
        }
        (a, b)
    }
}

/// The mean diagonal of a square matrix (1 if it is not positive and finite): the scale of
/// the pinned rows of a KKT system.
pub(crate) fn mean_diag<F: NmfFloat>(q: MatRef<'_, F>) -> F {
    let k = q.nrows();
    let t = (0..k).fold(F::zero(), |s, l| s + q[(l, l)]);
    let s = if k > 0 { t / F::from_count(k) } else { F::one() };
    if s > F::zero() && s.is_finite() {
        s
    } else {
        F::one()
    }
}

/// The largest projected-gradient entry `|λ|` (free) or `max(−λ, 0)` (not free), for the
/// KKT check.
pub(crate) fn projected_gradient_max<F: NmfFloat>(v: MatRef<'_, F>, dual: MatRef<'_, F>) -> F {
    let mut s = F::zero();
    for j in 0..v.ncols() {
        for i in 0..v.nrows() {
            let l = dual[(i, j)];
            let pg = if v[(i, j)] > F::zero() {
                l.abs()
            } else {
                (-l).max(F::zero())
            };
            s = s.max(pg);
        }
    }
    s
}
