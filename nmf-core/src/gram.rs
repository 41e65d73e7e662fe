//! The normal-equation pieces of the Frobenius block problems, shared by every block solver
//! (HALS, ANLS, coordinate descent, ADMM, alternating projected gradient).
//!
//! With W fixed, `min_{H ≥ 0} ½‖X − W H‖² + l1·ΣH + ½·l2·‖H‖²` has gradient
//! `UtU·H − UtM` with `UtU = WᵀW + l2·I` (k×k) and `UtM = WᵀX − l1` (k×n). With H fixed, the
//! W problem is the same on the transpose: `UtU = HHᵀ + l2·I`, `UtM = HXᵀ − l1` (k×m), whose
//! solution is Wᵀ. So a block solver writes one routine for a k×c block V given (UtM, UtU)
//! and applies it to H and to Wᵀ.
//!
//! Missing entries (an observation mask) are handled by imputation: X's missing entries are
//! filled with the current (W H) before the products. The imputed objective majorizes the
//! masked one and touches it at the current iterate, so any step that does not raise the
//! imputed objective does not raise the masked one (an MM step). Masks exist only for dense X,
//! so the filled copy (m×n) is no larger than X itself; sparse X is never densified.

use faer::prelude::ReborrowMut;
use faer::{Accum, Mat, MatMut, MatRef, Par};

use crate::data::{Data, Matrix};
use crate::linalg;
use crate::loss::{ensure, Block};
use crate::NmfFloat;

/// Reusable buffers of [`block_products`].
#[derive(Debug, Clone)]
pub struct GramWorkspace<F> {
    par: Par,
    filled: Option<Matrix<F>>,
    // Wᵀ (k×m) for sparse X: the H-block product then gathers contiguous columns.
    wt: Mat<F>,
    // X·Hᵀ (m×k) for dense X, before its transposed copy into UtM.
    tmp: Mat<F>,
    // Leaf accumulators of the sparse H·Xᵀ.
    scatter: Vec<F>,
}

impl<F: NmfFloat> GramWorkspace<F> {
    /// An empty workspace whose products use `par`.
    pub fn new(par: Par) -> Self {
        Self {
            par,
            filled: None,
            wt: Mat::new(),
            tmp: Mat::new(),
            scatter: Vec::new(),
        }
    }
    /// The parallelism of the products.
    pub fn par(&self) -> Par {
        self.par
    }
}

/// X as the products should see it: X itself, or X with its missing entries set to (W H).
fn effective_x<'a, F: NmfFloat>(
    data: &'a Data<F>,
    w: MatRef<'_, F>,
    h: MatRef<'_, F>,
    filled: &'a mut Option<Matrix<F>>,
    par: Par,
) -> &'a Matrix<F> {
    let (Some(mask), Matrix::Dense(x)) = (data.mask(), data.matrix()) else {
        return data.matrix();
    };
    let (m, n) = (x.nrows(), x.ncols());
    if !matches!(filled, Some(Matrix::Dense(f)) if f.nrows() == m && f.ncols() == n) {
        *filled = Some(Matrix::Dense(Mat::zeros(m, n)));
    }
    let Some(Matrix::Dense(f)) = filled.as_mut() else {
        unreachable!("just set to a dense buffer")
    };
    linalg::gemm(f.as_mut(), Accum::Replace, w, h, F::one(), par);
    for j in 0..n {
        let obs = mask.col(j);
        for i in 0..m {
            if obs[i] {
                f[(i, j)] = x[(i, j)];
            }
        }
    }
    filled.as_ref().expect("filled above")
}

/// Writes the pieces of the `block` problem: for [`Block::H`], `utm = WᵀX − l1` (k×n) and
/// `utu = WᵀW + l2·I` (k×k); for [`Block::W`], `utm = HXᵀ − l1` (k×m) and `utu = HHᵀ + l2·I`.
///
/// # Panics
/// If `utm` or `utu` has the wrong shape.
#[allow(clippy::too_many_arguments)]
pub fn block_products<F: NmfFloat>(
    block: Block,
    data: &Data<F>,
    w: MatRef<'_, F>,
    h: MatRef<'_, F>,
    (l1, l2): (F, F),
    mut utm: MatMut<'_, F>,
    mut utu: MatMut<'_, F>,
    ws: &mut GramWorkspace<F>,
) {
    let (m, k, n) = (w.nrows(), w.ncols(), h.ncols());
    let par = ws.par;
    let cols = if block == Block::H { n } else { m };
    assert!(utm.nrows() == k && utm.ncols() == cols && utu.nrows() == k && utu.ncols() == k);
    if data.is_sparse() && block == Block::H {
        ensure(&mut ws.wt, k, m);
        ws.wt.copy_from(w.transpose());
    }
    let x = effective_x(data, w, h, &mut ws.filled, par);
    // The products are written in the k×cols layout of UtM directly: no transposed copy.
    match block {
        Block::H => {
            let at = if matches!(x, Matrix::Sparse(_)) {
                ws.wt.as_ref()
            } else {
                w.transpose()
            };
            linalg::at_times_x(x, at, utm.rb_mut(), par);
            linalg::gemm(utu.rb_mut(), Accum::Replace, w.transpose(), w, F::one(), par);
        }
        Block::W => {
            if let Matrix::Dense(d) = x {
                // faer's GEMM is faster writing X·Hᵀ (m×k) than H·Xᵀ (k×m) (measured 1.5× on
                // 5000×1000, k = 10), so the transposed copy, O(mk), pays.
                ensure(&mut ws.tmp, m, k);
                linalg::gemm(
                    ws.tmp.as_mut(),
                    Accum::Replace,
                    d.as_ref(),
                    h.transpose(),
                    F::one(),
                    par,
                );
                utm.copy_from(ws.tmp.transpose());
            } else {
                linalg::b_times_xt(x, h, utm.rb_mut(), par, &mut ws.scatter);
            }
            linalg::gemm(utu.rb_mut(), Accum::Replace, h, h.transpose(), F::one(), par);
        }
    }
    if l1 != F::zero() {
        for j in 0..cols {
            for v in utm.rb_mut().col_mut(j).iter_mut() {
                *v -= l1;
            }
        }
    }
    if l2 != F::zero() {
        for l in 0..k {
            utu[(l, l)] += l2;
        }
    }
}
