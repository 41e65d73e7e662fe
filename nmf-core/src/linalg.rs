//! Every linear-algebra call of nmf-rs, in one place: dense products (faer GEMM), the sparse
//! products that keep sparse X sparse, and the small dense factorizations (QR, SVD).
//!
//! Kernels take views and write into caller-owned outputs; they never allocate unless the doc
//! says so. A dimension mismatch in a kernel is a programmer error and panics.

use faer::linalg::matmul::matmul;
use faer::prelude::ReborrowMut;
use faer::{Accum, Mat, MatMut, MatRef, Par};

use crate::data::{CscRef, Matrix};
use crate::error::{NmfError, Result};
use crate::NmfFloat;

/// `dst ← beta·dst + alpha·lhs·rhs` with `beta` = 0 (`Replace`) or 1 (`Add`).
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn gemm<F: NmfFloat>(dst: MatMut<'_, F>, accum: Accum, lhs: MatRef<'_, F>, rhs: MatRef<'_, F>, alpha: F, par: Par) {
    matmul(dst, accum, lhs, rhs, alpha, par);
}

/// `out (m×l) ← X·B` for `B` (n×l).
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn x_times<F: NmfFloat>(x: &Matrix<F>, b: MatRef<'_, F>, out: MatMut<'_, F>, par: Par) {
    match x {
        Matrix::Dense(d) => gemm(out, Accum::Replace, d.as_ref(), b, F::one(), par),
        Matrix::Sparse(s) => csc_times(s.as_ref(), b, out),
    }
}

/// `out (n×l) ← Xᵀ·A` for `A` (m×l).
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn xt_times<F: NmfFloat>(x: &Matrix<F>, a: MatRef<'_, F>, out: MatMut<'_, F>, par: Par) {
    match x {
        Matrix::Dense(d) => gemm(out, Accum::Replace, d.transpose(), a, F::one(), par),
        Matrix::Sparse(s) => csc_t_times(s.as_ref(), a, out),
    }
}

/// `out (m×l) ← S·B` for sparse `S` (m×n) and dense `B` (n×l).
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn csc_times<F: NmfFloat>(s: CscRef<'_, F>, b: MatRef<'_, F>, mut out: MatMut<'_, F>) {
    assert!(b.nrows() == s.ncols && out.nrows() == s.nrows && out.ncols() == b.ncols());
    out.fill(F::zero());
    // One output column at a time: contiguous writes, the pattern re-read l times.
    for c in 0..b.ncols() {
        let mut o = out.rb_mut().col_mut(c);
        for j in 0..s.ncols {
            let bj = b[(j, c)];
            if bj == F::zero() {
                continue;
            }
            for t in s.col_ptr[j]..s.col_ptr[j + 1] {
                o[s.row_idx[t]] += s.values[t] * bj;
            }
        }
    }
}

/// `out (n×l) ← Sᵀ·A` for sparse `S` (m×n) and dense `A` (m×l).
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn csc_t_times<F: NmfFloat>(s: CscRef<'_, F>, a: MatRef<'_, F>, mut out: MatMut<'_, F>) {
    assert!(a.nrows() == s.nrows && out.nrows() == s.ncols && out.ncols() == a.ncols());
    for c in 0..a.ncols() {
        let ac = a.col(c);
        for j in 0..s.ncols {
            let mut acc = F::zero();
            for t in s.col_ptr[j]..s.col_ptr[j + 1] {
                acc += s.values[t] * ac[s.row_idx[t]];
            }
            out[(j, c)] = acc;
        }
    }
}

/// `out[t] ← (W·H)[i, j]` at every stored entry `t = (i, j)` of the pattern: O(nnz·k).
///
/// `wt` is Wᵀ (k×m), so that a row of W is contiguous.
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn wh_at_pattern<F: NmfFloat>(pattern: CscRef<'_, F>, wt: MatRef<'_, F>, h: MatRef<'_, F>, out: &mut [F]) {
    let k = wt.nrows();
    assert!(wt.ncols() == pattern.nrows && h.nrows() == k && h.ncols() == pattern.ncols);
    assert!(out.len() == pattern.row_idx.len());
    for j in 0..pattern.ncols {
        let hj = h.col(j);
        let range = pattern.col_ptr[j]..pattern.col_ptr[j + 1];
        for (o, &i) in out[range.clone()].iter_mut().zip(&pattern.row_idx[range]) {
            let wi = wt.col(i);
            let mut acc = F::zero();
            for l in 0..k {
                acc += wi[l] * hj[l];
            }
            *o = acc;
        }
    }
}

/// Copies the columns `j0..j0+c` of X into a dense m×c buffer (sparse X is scattered; the
/// buffer is the only dense storage, O(m·c)).
///
/// # Panics
/// If the buffer's shape does not agree.
#[track_caller]
pub fn copy_columns<F: NmfFloat>(x: &Matrix<F>, j0: usize, mut out: MatMut<'_, F>) {
    let c = out.ncols();
    assert!(out.nrows() == x.nrows() && j0 + c <= x.ncols());
    match x {
        Matrix::Dense(d) => out.copy_from(d.as_ref().subcols(j0, c)),
        Matrix::Sparse(s) => {
            out.fill(F::zero());
            for jj in 0..c {
                let j = j0 + jj;
                for t in s.col_ptr()[j]..s.col_ptr()[j + 1] {
                    out[(s.row_idx()[t], jj)] = s.values()[t];
                }
            }
        }
    }
}

/// Column sums of a matrix into `out` (length = columns).
pub fn col_sums<F: NmfFloat>(a: MatRef<'_, F>, out: &mut [F]) {
    for (j, o) in out.iter_mut().enumerate() {
        let mut s = F::zero();
        for v in a.col(j).iter() {
            s += *v;
        }
        *o = s;
    }
}

/// Row sums of a matrix into `out` (length = rows).
pub fn row_sums<F: NmfFloat>(a: MatRef<'_, F>, out: &mut [F]) {
    out.fill(F::zero());
    for j in 0..a.ncols() {
        for (o, v) in out.iter_mut().zip(a.col(j).iter()) {
            *o += *v;
        }
    }
}

/// `⟨A, B⟩ = Σ a_ij b_ij`.
pub fn dot<F: NmfFloat>(a: MatRef<'_, F>, b: MatRef<'_, F>) -> F {
    assert!(a.nrows() == b.nrows() && a.ncols() == b.ncols());
    let mut s = F::zero();
    for j in 0..a.ncols() {
        for (x, y) in a.col(j).iter().zip(b.col(j).iter()) {
            s += *x * *y;
        }
    }
    s
}

/// Thin QR: the orthonormal factor Q (m×min(m, l)) of A (m×l). Allocates.
pub fn thin_q<F: NmfFloat>(a: MatRef<'_, F>) -> Mat<F> {
    a.qr().compute_thin_Q()
}

/// Thin SVD `A = U·diag(s)·Vᵀ`, singular values in non-increasing order. Allocates.
///
/// # Errors
/// [`NmfError::Linalg`] if the SVD does not converge.
pub fn thin_svd<F: NmfFloat>(a: MatRef<'_, F>) -> Result<(Mat<F>, Vec<F>, Mat<F>)> {
    let svd = a
        .thin_svd()
        .map_err(|e| NmfError::Linalg(format!("SVD failed: {e:?}")))?;
    let s: Vec<F> = svd.S().column_vector().iter().copied().collect();
    Ok((svd.U().to_owned(), s, svd.V().to_owned()))
}

/// The parallelism to use for `threads` threads (0 = all cores, 1 = sequential).
pub fn par_for_threads(threads: usize) -> Par {
    if threads == 1 {
        Par::Seq
    } else {
        Par::rayon(threads)
    }
}
