//! The matrix-free KKT operators (SPEC §3.4, §3.6) as faer [`LinOp`]/[`BiLinOp`]s.
//!
//! A KKT system stacks the unknowns of several matrices (primal and dual) into one vector.
//! Each operator here knows its layout and implements one application on contiguous slices;
//! [`stacked_linop!`] turns that into faer's `LinOp` (A) and `BiLinOp` (Aᵀ) for any number of
//! right-hand-side columns, so [`gmres`](crate::gmres) and faer's own solvers run on it.

use nmf_core::faer::dyn_stack::{MemStack, StackReq};
use nmf_core::faer::{Accum, Mat, MatMut, MatRef, Par};
use nmf_core::linalg::gemm;
use nmf_core::NmfFloat;

/// How the complementarity rows `λ ⊙ dv + v ⊙ dλ` of a KKT system are scaled.
///
/// Scaling rows does not change the primal part of the solution of `A z = r` (those rows
/// have a zero right-hand side), nor the primal part of the adjoint solution that feeds the
/// VJP. It changes the conditioning a Krylov solver sees, by orders of magnitude.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KktScaling {
    /// Each row divided by `λ + v`: active rows become `dv = 0`, free rows `dλ = 0`.
    #[default]
    Normalized,
    /// The plain derivative `λ ⊙ dv + v ⊙ dλ` (jaxopt's `make_kkt_optimality_fun`).
    Raw,
}

/// One application `y = A x` (or `Aᵀ x`) on contiguous stacked vectors.
pub(crate) trait StackedApply<F: NmfFloat> {
    /// Length of the stacked vector.
    fn dim(&self) -> usize;
    /// Scratch one application needs (beyond the two stacked vectors).
    fn one_scratch(&self) -> StackReq;
    /// `y ← A x` (`transpose = false`) or `y ← Aᵀ x`.
    fn apply_one(&self, x: &[F], y: &mut [F], transpose: bool, stack: &mut MemStack);
}

/// Implements faer's `LinOp` and `BiLinOp` for a type with a [`StackedApply`] impl.
macro_rules! stacked_linop {
    ($ty:ident) => {
        impl<F: NmfFloat> nmf_core::faer::matrix_free::LinOp<F> for $ty<'_, F> {
            fn apply_scratch(
                &self,
                _rhs_ncols: usize,
                _par: nmf_core::faer::Par,
            ) -> nmf_core::faer::dyn_stack::StackReq {
                let n = $crate::kkt::StackedApply::<F>::dim(self);
                nmf_core::faer::dyn_stack::StackReq::all_of(&[
                    nmf_core::faer::dyn_stack::StackReq::new::<F>(n),
                    nmf_core::faer::dyn_stack::StackReq::new::<F>(n),
                    $crate::kkt::StackedApply::<F>::one_scratch(self),
                ])
            }
            fn nrows(&self) -> usize {
                $crate::kkt::StackedApply::<F>::dim(self)
            }
            fn ncols(&self) -> usize {
                $crate::kkt::StackedApply::<F>::dim(self)
            }
            fn apply(
                &self,
                out: nmf_core::faer::MatMut<'_, F>,
                rhs: nmf_core::faer::MatRef<'_, F>,
                _par: nmf_core::faer::Par,
                stack: &mut nmf_core::faer::dyn_stack::MemStack,
            ) {
                $crate::kkt::apply_cols(self, out, rhs, false, stack);
            }
            fn conj_apply(
                &self,
                out: nmf_core::faer::MatMut<'_, F>,
                rhs: nmf_core::faer::MatRef<'_, F>,
                _par: nmf_core::faer::Par,
                stack: &mut nmf_core::faer::dyn_stack::MemStack,
            ) {
                $crate::kkt::apply_cols(self, out, rhs, false, stack);
            }
        }
        impl<F: NmfFloat> nmf_core::faer::matrix_free::BiLinOp<F> for $ty<'_, F> {
            fn transpose_apply_scratch(
                &self,
                rhs_ncols: usize,
                par: nmf_core::faer::Par,
            ) -> nmf_core::faer::dyn_stack::StackReq {
                nmf_core::faer::matrix_free::LinOp::<F>::apply_scratch(self, rhs_ncols, par)
            }
            fn transpose_apply(
                &self,
                out: nmf_core::faer::MatMut<'_, F>,
                rhs: nmf_core::faer::MatRef<'_, F>,
                _par: nmf_core::faer::Par,
                stack: &mut nmf_core::faer::dyn_stack::MemStack,
            ) {
                $crate::kkt::apply_cols(self, out, rhs, true, stack);
            }
            fn adjoint_apply(
                &self,
                out: nmf_core::faer::MatMut<'_, F>,
                rhs: nmf_core::faer::MatRef<'_, F>,
                _par: nmf_core::faer::Par,
                stack: &mut nmf_core::faer::dyn_stack::MemStack,
            ) {
                $crate::kkt::apply_cols(self, out, rhs, true, stack);
            }
        }
    };
}
pub(crate) use stacked_linop;

/// Applies a stacked operator column by column through contiguous scratch copies.
#[track_caller]
pub(crate) fn apply_cols<F: NmfFloat, Op: StackedApply<F>>(
    op: &Op,
    mut out: MatMut<'_, F>,
    rhs: MatRef<'_, F>,
    transpose: bool,
    stack: &mut MemStack,
) {
    let n = op.dim();
    assert!(rhs.nrows() == n && out.nrows() == n && out.ncols() == rhs.ncols());
    for c in 0..rhs.ncols() {
        let (mut x, stack) = stack.make_with::<F>(n, |_| F::zero());
        let (mut y, stack) = stack.make_with::<F>(n, |_| F::zero());
        for (d, s) in x.iter_mut().zip(rhs.col(c).iter()) {
            *d = *s;
        }
        op.apply_one(&x, &mut y, transpose, stack);
        for (d, s) in out.as_mut().col_mut(c).iter_mut().zip(y.iter()) {
            *d = *s;
        }
    }
}

/// A k×n view of `len = k·n` entries of a stacked vector.
pub(crate) fn view<F>(s: &[F], nrows: usize, ncols: usize) -> MatRef<'_, F> {
    MatRef::from_column_major_slice(s, nrows, ncols)
}

/// A mutable k×n view.
pub(crate) fn view_mut<F>(s: &mut [F], nrows: usize, ncols: usize) -> MatMut<'_, F> {
    MatMut::from_column_major_slice_mut(s, nrows, ncols)
}

/// The NNLS KKT Jacobian with respect to `(dH, dΛ)` (each k×n, stacked column-major):
///
/// ```text
/// A (dH, dΛ)   = ( Q dH − dΛ ,  a ⊙ dH + b ⊙ dΛ )
/// Aᵀ (u1, u2)  = ( Q u1 + a ⊙ u2 ,  −u1 + b ⊙ u2 )
/// ```
///
/// with `Q = WᵀW + l2·I` and `(a, b)` the complementarity weights of the [`KktScaling`]
/// (`(Λ, H)` raw). Built by [`NnlsBlock::kkt_operator`](crate::NnlsBlock::kkt_operator).
#[derive(Debug, Clone)]
pub struct NnlsKkt<'a, F: NmfFloat> {
    pub(crate) q: MatRef<'a, F>,
    pub(crate) a: Mat<F>,
    pub(crate) b: Mat<F>,
}

impl<F: NmfFloat> StackedApply<F> for NnlsKkt<'_, F> {
    fn dim(&self) -> usize {
        2 * self.a.nrows() * self.a.ncols()
    }
    fn one_scratch(&self) -> StackReq {
        StackReq::EMPTY
    }
    fn apply_one(&self, x: &[F], y: &mut [F], transpose: bool, _stack: &mut MemStack) {
        let (k, n) = (self.a.nrows(), self.a.ncols());
        let kn = k * n;
        let (x1, x2) = x.split_at(kn);
        let (y1, y2) = y.split_at_mut(kn);
        gemm(
            view_mut(y1, k, n),
            Accum::Replace,
            self.q,
            view(x1, k, n),
            F::one(),
            Par::Seq,
        );
        let (a, b) = (self.a.as_ref(), self.b.as_ref());
        for j in 0..n {
            for i in 0..k {
                let t = j * k + i;
                if transpose {
                    y1[t] += a[(i, j)] * x2[t];
                    y2[t] = b[(i, j)] * x2[t] - x1[t];
                } else {
                    y1[t] -= x2[t];
                    y2[t] = a[(i, j)] * x1[t] + b[(i, j)] * x2[t];
                }
            }
        }
    }
}

stacked_linop!(NnlsKkt);
