//! Data-fit terms D(X | W H) of the β-divergence family, and the pieces every update needs.
//!
//! A loss provides its value and the two non-negative parts of its gradient with respect to a
//! factor, `∇ = pos − neg`: multiplicative updates use them as the numerator (`neg`) and the
//! denominator (`pos`), gradient methods and the KKT residual use their difference.
//!
//! | type | β | D(x \| y) |
//! |---|---|---|
//! | [`Frobenius`] | 2 | ½(x − y)² |
//! | [`KullbackLeibler`] | 1 | x log(x/y) − x + y (generalized KL; Poisson negative log-likelihood up to a constant) |
//! | [`BetaDivergence`] | any | (x^β + (β−1) y^β − β x y^{β−1}) / (β(β−1)); β = 0 is Itakura–Saito |
//!
//! Fast paths, chosen inside the kernels: Frobenius uses the Gram form (Wᵀ X, WᵀW H) and never
//! forms W H; KL on sparse X evaluates W H only at the nonzeros (O(nnz·k)). Everything else
//! (other β, observation masks) streams over blocks of columns, so its only dense temporaries
//! are m × c blocks, never m × n.

use std::fmt::Debug;

use faer::prelude::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, MatMut, MatRef, Par};

use crate::data::{Data, Matrix};
use crate::error::{NmfError, NmfParamsError, Result};
use crate::linalg;
use crate::NmfFloat;

/// Which factor a gradient is taken with respect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// The m×k basis W.
    W,
    /// The k×n coefficients H.
    H,
}

/// A data-fit term D(X | W H), summed over observed entries.
///
/// Implementors state their β; the provided methods then dispatch to the shared kernels,
/// including the fast paths for β = 2 and β = 1. A loss outside the β family overrides them.
pub trait Loss<F: NmfFloat>: Clone + Debug + Send + Sync + 'static {
    /// β of the β-divergence.
    fn beta(&self) -> F;

    /// Short name (`frobenius`, `kl`, `is`, `beta=1.5`), as written in summaries.
    fn name(&self) -> String;

    /// Checks that the data suit this loss (β ≤ 0 needs strictly positive observed entries).
    ///
    /// # Errors
    /// [`NmfError::DataUnsuitedToLoss`].
    fn check_data(&self, data: &Data<F>) -> Result<()> {
        if self.beta() <= F::zero() && data.stats().nnz < data.stats().observed {
            return Err(NmfError::DataUnsuitedToLoss {
                loss: self.name(),
                reason: format!(
                    "beta <= 0 needs every observed entry > 0, but {} are zero",
                    data.stats().observed - data.stats().nnz
                ),
            });
        }
        Ok(())
    }

    /// D(X | W H) over observed entries. W H is floored at `F::min_positive_value()` where a
    /// logarithm or a negative power needs it.
    fn value(&self, data: &Data<F>, w: MatRef<'_, F>, h: MatRef<'_, F>, ws: &mut LossWorkspace<F>) -> F {
        beta_value(self.beta(), data, w, h, ws)
    }

    /// The parts of the gradient of D with respect to `block`: `∇ = pos − neg`, both ≥ 0.
    /// Where a negative power of W H is taken, W H is first floored at `y_floor`.
    ///
    /// # Panics
    /// If `neg` and `pos` do not have the shape of the block (k×n for H, m×k for W).
    #[allow(clippy::too_many_arguments)]
    fn grad_parts(
        &self,
        block: Block,
        data: &Data<F>,
        w: MatRef<'_, F>,
        h: MatRef<'_, F>,
        y_floor: F,
        neg: MatMut<'_, F>,
        pos: MatMut<'_, F>,
        ws: &mut LossWorkspace<F>,
    ) {
        beta_grad_parts(self.beta(), block, data, w, h, y_floor, neg, pos, ws);
    }
}

/// Marker for losses quadratic in each factor, which admit closed-form block updates
/// (HALS, ANLS, ADMM's normal equations).
pub trait Quadratic<F: NmfFloat>: Loss<F> {}

/// ½‖X − W H‖²_F.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Frobenius;

/// Generalized Kullback–Leibler divergence Σ x log(x/y) − x + y: the Poisson negative
/// log-likelihood of X given rates W H, up to a constant.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KullbackLeibler;

/// The β-divergence for any real β (β = 2: Frobenius, 1: KL, 0: Itakura–Saito).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BetaDivergence<F> {
    beta: F,
}

impl<F: NmfFloat> BetaDivergence<F> {
    /// The β-divergence with the given β.
    ///
    /// # Errors
    /// [`NmfParamsError::BadLoss`] if β is not finite.
    pub fn new(beta: F) -> Result<Self, NmfParamsError> {
        if !beta.is_finite() {
            return Err(NmfParamsError::BadLoss(format!("beta must be finite, got {beta}")));
        }
        Ok(Self { beta })
    }
    /// Itakura–Saito (β = 0).
    pub fn itakura_saito() -> Self {
        Self { beta: F::zero() }
    }
}

impl<F: NmfFloat> Loss<F> for Frobenius {
    fn beta(&self) -> F {
        F::lit(2.0)
    }
    fn name(&self) -> String {
        "frobenius".into()
    }
}
impl<F: NmfFloat> Quadratic<F> for Frobenius {}

impl<F: NmfFloat> Loss<F> for KullbackLeibler {
    fn beta(&self) -> F {
        F::one()
    }
    fn name(&self) -> String {
        "kl".into()
    }
}

impl<F: NmfFloat> Loss<F> for BetaDivergence<F> {
    fn beta(&self) -> F {
        self.beta
    }
    fn name(&self) -> String {
        if self.beta == F::lit(2.0) {
            "frobenius".into()
        } else if self.beta == F::one() {
            "kl".into()
        } else if self.beta == F::zero() {
            "is".into()
        } else {
            format!("beta={}", self.beta)
        }
    }
}

/// The γ(β) exponent that makes the β-divergence MU a majorization–minimization step
/// (Févotte & Idier 2011): monotone for every β.
pub fn mu_exponent<F: NmfFloat>(beta: F) -> F {
    if beta < F::one() {
        F::one() / (F::lit(2.0) - beta)
    } else if beta > F::lit(2.0) {
        F::one() / (beta - F::one())
    } else {
        F::one()
    }
}

/// The elementwise β-divergence d_β(x | y), with y > 0 (callers floor it).
#[inline(always)]
pub fn beta_elem<F: NmfFloat>(beta: F, x: F, y: F) -> F {
    let two = F::lit(2.0);
    if beta == two {
        let d = x - y;
        d * d / two
    } else if beta == F::one() {
        if x > F::zero() {
            x * (x / y).ln() - x + y
        } else {
            y
        }
    } else if beta == F::zero() {
        let r = x / y;
        r - r.ln() - F::one()
    } else {
        (x.powf(beta) + (beta - F::one()) * y.powf(beta) - beta * x * y.powf(beta - F::one()))
            / (beta * (beta - F::one()))
    }
}

/// Reusable buffers of the loss kernels, sized on first use and then reused: a solver keeps
/// one for its whole run, so the iteration loop does not allocate.
#[derive(Debug, Clone)]
pub struct LossWorkspace<F> {
    par: Par,
    wt: Mat<F>,
    chunk_x: Mat<F>,
    chunk_y: Mat<F>,
    chunk_a: Mat<F>,
    chunk_b: Mat<F>,
    tmp_t: Mat<F>,
    tmp_k: Mat<F>,
    gram: Mat<F>,
    gram2: Mat<F>,
    sums: Vec<F>,
    scatter: Vec<F>,
}

impl<F: NmfFloat> LossWorkspace<F> {
    /// An empty workspace whose dense products use `par`.
    pub fn new(par: Par) -> Self {
        Self {
            par,
            wt: Mat::new(),
            chunk_x: Mat::new(),
            chunk_y: Mat::new(),
            chunk_a: Mat::new(),
            chunk_b: Mat::new(),
            tmp_t: Mat::new(),
            tmp_k: Mat::new(),
            gram: Mat::new(),
            gram2: Mat::new(),
            sums: Vec::new(),
            scatter: Vec::new(),
        }
    }
    /// The parallelism of the dense products.
    pub fn par(&self) -> Par {
        self.par
    }
}

/// Resizes `m` to r×c only when its shape differs (no allocation on reuse).
pub(crate) fn ensure<F: NmfFloat>(m: &mut Mat<F>, r: usize, c: usize) {
    if m.nrows() != r || m.ncols() != c {
        *m = Mat::zeros(r, c);
    }
}

/// Columns per block for the streamed kernels: about 2¹⁸ entries per m×c block.
fn chunk_cols(m: usize, n: usize) -> usize {
    ((1usize << 18) / m.max(1)).clamp(1, n.max(1))
}

/// D_β(X | W H) over observed entries.
pub fn beta_value<F: NmfFloat>(
    beta: F,
    data: &Data<F>,
    w: MatRef<'_, F>,
    h: MatRef<'_, F>,
    ws: &mut LossWorkspace<F>,
) -> F {
    let floor = F::min_positive_value();
    if let (Matrix::Sparse(s), None) = (data.matrix(), data.mask()) {
        let par = ws.par;
        fill_wt(w, ws);
        if beta == F::lit(2.0) {
            // ½(‖X‖² − 2⟨X, WH⟩ + ⟨WᵀW, HHᵀ⟩): O(nnz·k + (m+n)k²), no m×n product.
            let (cross, _) = linalg::pattern_sums(s.as_ref(), ws.wt.as_ref(), h, par, |x, y| x * y, |_, _| F::zero());
            return frobenius_from_cross(data, w, h, cross, ws);
        }
        if beta == F::one() {
            // Σ_nz [x log(x/y) − x] + Σ_all y, with Σ_all y = Σ_l colsum(W)_l · rowsum(H)_l.
            let (acc, _) = linalg::pattern_sums(
                s.as_ref(),
                ws.wt.as_ref(),
                h,
                par,
                |x, y| x * (x / y.max(floor)).ln() - x,
                |_, _| F::zero(),
            );
            return acc + total_mass(w, h, ws);
        }
    }
    let mut total = F::zero();
    stream_blocks(data, w, h, ws, |_, xc, yc, obs, _| {
        let mut part = F::zero();
        for jj in 0..xc.ncols() {
            let mut colsum = F::zero();
            for i in 0..xc.nrows() {
                if obs.is_none_or(|o| o(i, jj)) {
                    colsum += beta_elem(beta, xc[(i, jj)], yc[(i, jj)].max(floor));
                }
            }
            part += colsum;
        }
        total += part;
    });
    total
}

/// The parts of ∇_block D_β: `∇ = pos − neg`.
#[allow(clippy::too_many_arguments)]
pub fn beta_grad_parts<F: NmfFloat>(
    beta: F,
    block: Block,
    data: &Data<F>,
    w: MatRef<'_, F>,
    h: MatRef<'_, F>,
    y_floor: F,
    mut neg: MatMut<'_, F>,
    mut pos: MatMut<'_, F>,
    ws: &mut LossWorkspace<F>,
) {
    let (m, k, n) = (w.nrows(), w.ncols(), h.ncols());
    match block {
        Block::H => assert!(neg.nrows() == k && neg.ncols() == n && pos.nrows() == k && pos.ncols() == n),
        Block::W => assert!(neg.nrows() == m && neg.ncols() == k && pos.nrows() == m && pos.ncols() == k),
    }
    let par = ws.par;
    let x = data.matrix();
    let unmasked = data.mask().is_none();
    if unmasked && beta == F::lit(2.0) {
        ensure(&mut ws.gram, k, k);
        match block {
            Block::H => {
                if x_is_sparse(x) {
                    fill_wt(w, ws);
                    with_unit_rows(neg, &mut ws.tmp_k, |out| {
                        linalg::at_times_x(x, ws.wt.as_ref(), out, par)
                    });
                } else {
                    linalg::at_times_x(x, w.transpose(), neg, par);
                }
                linalg::gemm(ws.gram.as_mut(), Accum::Replace, w.transpose(), w, F::one(), par);
                linalg::gemm(pos, Accum::Replace, ws.gram.as_ref(), h, F::one(), par);
            }
            Block::W => {
                if x_is_sparse(x) {
                    ensure(&mut ws.tmp_t, k, m);
                    linalg::b_times_xt(x, h, ws.tmp_t.as_mut(), par, &mut ws.scatter);
                    neg.copy_from(ws.tmp_t.transpose());
                } else {
                    linalg::x_times(x, h.transpose(), neg, par);
                }
                linalg::gemm(ws.gram.as_mut(), Accum::Replace, h, h.transpose(), F::one(), par);
                linalg::gemm(pos, Accum::Replace, w, ws.gram.as_ref(), F::one(), par);
            }
        }
        return;
    }
    if unmasked && beta == F::one() {
        if let Matrix::Sparse(s) = x {
            // Ratios X ⊘ WH only at the nonzeros, fused with the product: O(nnz·k), W H is
            // never stored.
            fill_wt(w, ws);
            match block {
                Block::H => with_unit_rows(neg, &mut ws.tmp_k, |out| {
                    linalg::wt_times_ratio(s.as_ref(), ws.wt.as_ref(), h, y_floor, out, par)
                }),
                Block::W => {
                    ensure(&mut ws.tmp_t, k, m);
                    linalg::h_times_ratio_t(
                        s.as_ref(),
                        ws.wt.as_ref(),
                        h,
                        y_floor,
                        ws.tmp_t.as_mut(),
                        par,
                        &mut ws.scatter,
                    );
                    neg.copy_from(ws.tmp_t.transpose());
                }
            }
            fill_kl_denominator(block, w, h, pos, ws);
            return;
        }
    }
    // Streamed over column blocks: A = X ⊙ Y^{β−2} and B = Y^{β−1} on observed entries,
    // then neg = Wᵀ A (or A Hᵀ) and pos = Wᵀ B (or B Hᵀ).
    let kl_shortcut = unmasked && beta == F::one();
    stream_blocks(data, w, h, ws, |j0, xc, yc, obs, bufs| {
        let (mut ac, mut bc) = bufs;
        let c = xc.ncols();
        match obs {
            None => fill_ratio_parts(beta, y_floor, xc, yc, (ac.rb_mut(), bc.rb_mut()), par),
            Some(o) => {
                for jj in 0..c {
                    for i in 0..xc.nrows() {
                        let (a, b) = if o(i, jj) {
                            ratio_parts(beta, y_floor, xc[(i, jj)], yc[(i, jj)])
                        } else {
                            (F::zero(), F::zero())
                        };
                        ac[(i, jj)] = a;
                        bc[(i, jj)] = b;
                    }
                }
            }
        }
        let (ac, bc) = (ac.rb(), bc.rb());
        match block {
            Block::H => {
                linalg::gemm(
                    neg.rb_mut().subcols_mut(j0, c),
                    Accum::Replace,
                    w.transpose(),
                    ac,
                    F::one(),
                    par,
                );
                if !kl_shortcut {
                    linalg::gemm(
                        pos.rb_mut().subcols_mut(j0, c),
                        Accum::Replace,
                        w.transpose(),
                        bc,
                        F::one(),
                        par,
                    );
                }
            }
            Block::W => {
                let acc = if j0 == 0 { Accum::Replace } else { Accum::Add };
                let hc = h.subcols(j0, c).transpose();
                linalg::gemm(neg.rb_mut(), acc, ac, hc, F::one(), par);
                if !kl_shortcut {
                    linalg::gemm(pos.rb_mut(), acc, bc, hc, F::one(), par);
                }
            }
        }
    });
    if kl_shortcut {
        fill_kl_denominator(block, w, h, pos, ws);
    }
}

/// `(x ⊙ y^{β−2}, y^{β−1})` of one entry, with the floors of the MU denominators: KL gives
/// `(x / max(y, floor), 1)`.
#[inline(always)]
fn ratio_parts<F: NmfFloat>(beta: F, y_floor: F, xv: F, yv: F) -> (F, F) {
    let two = F::lit(2.0);
    if beta == two {
        (xv, yv)
    } else if beta == F::one() {
        (xv / yv.max(y_floor), F::one())
    } else {
        let yf = yv.max(y_floor);
        let yb = if beta < F::one() { yf } else { yv };
        // x = 0 contributes nothing, even where y^{β−2} is huge.
        let a = if xv == F::zero() {
            F::zero()
        } else {
            xv * yf.powf(beta - two)
        };
        (a, yb.powf(beta - F::one()))
    }
}

/// [`ratio_parts`] over a fully observed block, in parallel over columns (each entry on its
/// own: the split changes no value). KL, the common case, has its own loop: one division per
/// entry, vectorised, and B (all ones) is not written.
fn fill_ratio_parts<F: NmfFloat>(
    beta: F,
    y_floor: F,
    xc: MatRef<'_, F>,
    yc: MatRef<'_, F>,
    bufs: (MatMut<'_, F>, MatMut<'_, F>),
    par: Par,
) {
    let (m, c) = (xc.nrows(), xc.ncols());
    let unit = |a: MatRef<'_, F>| a.row_stride() == 1;
    let contiguous = unit(xc) && unit(yc) && bufs.0.row_stride() == 1 && bufs.1.row_stride() == 1;
    let grain = (1usize << 14).div_ceil(m.max(1));
    linalg::bisect(
        if contiguous { par } else { Par::Seq },
        (0, c),
        grain,
        bufs,
        &|(a, b): (MatMut<'_, F>, MatMut<'_, F>), lo, mid| {
            let (a0, a1) = a.split_at_col_mut(mid - lo);
            let (b0, b1) = b.split_at_col_mut(mid - lo);
            ((a0, b0), (a1, b1))
        },
        #[inline(always)]
        |lo, hi, (mut a, mut b): (MatMut<'_, F>, MatMut<'_, F>)| {
            for j in lo..hi {
                let jj = j - lo;
                if contiguous && beta == F::one() {
                    let x = xc.col(j).try_as_col_major().expect("unit stride").as_slice();
                    let y = yc.col(j).try_as_col_major().expect("unit stride").as_slice();
                    let aj = a
                        .rb_mut()
                        .col_mut(jj)
                        .try_as_col_major_mut()
                        .expect("unit stride")
                        .as_slice_mut();
                    for ((o, xv), yv) in aj.iter_mut().zip(x).zip(y) {
                        *o = *xv / yv.max(y_floor);
                    }
                    continue;
                }
                for i in 0..m {
                    let (av, bv) = ratio_parts(beta, y_floor, xc[(i, j)], yc[(i, j)]);
                    a[(i, jj)] = av;
                    b[(i, jj)] = bv;
                }
            }
        },
    );
}

/// Σ_ij (W H)_ij = Σ_l colsum(W)_l · rowsum(H)_l.
fn total_mass<F: NmfFloat>(w: MatRef<'_, F>, h: MatRef<'_, F>, ws: &mut LossWorkspace<F>) -> F {
    let k = w.ncols();
    ws.sums.resize(2 * k, F::zero());
    let (cw, rh) = ws.sums.split_at_mut(k);
    linalg::col_sums(w, cw);
    linalg::row_sums(h, rh);
    cw.iter().zip(rh.iter()).fold(F::zero(), |a, (x, y)| a + *x * *y)
}

/// The KL denominator: Wᵀ1 (column sums of W, broadcast over samples) for H, 1Hᵀ (row sums of
/// H, broadcast over features) for W.
fn fill_kl_denominator<F: NmfFloat>(
    block: Block,
    w: MatRef<'_, F>,
    h: MatRef<'_, F>,
    mut pos: MatMut<'_, F>,
    ws: &mut LossWorkspace<F>,
) {
    let k = w.ncols();
    ws.sums.resize(k, F::zero());
    match block {
        Block::H => {
            linalg::col_sums(w, &mut ws.sums);
            for j in 0..pos.ncols() {
                for l in 0..k {
                    pos[(l, j)] = ws.sums[l];
                }
            }
        }
        Block::W => {
            linalg::row_sums(h, &mut ws.sums);
            for l in 0..k {
                pos.rb_mut().col_mut(l).fill(ws.sums[l]);
            }
        }
    }
}

/// Wᵀ (k×m) into the workspace: the sparse kernels read rows of W as contiguous columns.
fn fill_wt<F: NmfFloat>(w: MatRef<'_, F>, ws: &mut LossWorkspace<F>) {
    ensure(&mut ws.wt, w.ncols(), w.nrows());
    ws.wt.copy_from(w.transpose());
}

fn x_is_sparse<F>(x: &Matrix<F>) -> bool {
    matches!(x, Matrix::Sparse(_))
}

/// Runs `f` on `out` itself when its rows are contiguous (the usual case: a column-major
/// buffer), else on a scratch copy that is then written back.
fn with_unit_rows<F: NmfFloat>(mut out: MatMut<'_, F>, tmp: &mut Mat<F>, f: impl FnOnce(MatMut<'_, F>)) {
    if out.row_stride() == 1 {
        f(out);
    } else {
        ensure(tmp, out.nrows(), out.ncols());
        f(tmp.as_mut());
        out.copy_from(tmp.as_ref());
    }
}

/// ½‖X − WH‖² = ½(‖X‖² − 2⟨X, WH⟩ + ⟨WᵀW, HHᵀ⟩) given the cross term ⟨X, WH⟩.
fn frobenius_from_cross<F: NmfFloat>(
    data: &Data<F>,
    w: MatRef<'_, F>,
    h: MatRef<'_, F>,
    cross: F,
    ws: &mut LossWorkspace<F>,
) -> F {
    let k = w.ncols();
    ensure(&mut ws.gram, k, k);
    ensure(&mut ws.gram2, k, k);
    linalg::gemm(ws.gram.as_mut(), Accum::Replace, w.transpose(), w, F::one(), ws.par);
    linalg::gemm(ws.gram2.as_mut(), Accum::Replace, h, h.transpose(), F::one(), ws.par);
    let v =
        (data.stats().sq_norm - F::lit(2.0) * cross + linalg::dot(ws.gram.as_ref(), ws.gram2.as_ref())) / F::lit(2.0);
    v.max(F::zero())
}

/// The KL divergence and ½‖X − WH‖² of sparse, unmasked X in one pass over the nonzeros
/// (W H evaluated once per nonzero, never stored): what an evaluation of a KL fit needs.
///
/// # Panics
/// If X is not sparse, or the shapes do not agree.
pub fn sparse_kl_and_frobenius<F: NmfFloat>(
    data: &Data<F>,
    w: MatRef<'_, F>,
    h: MatRef<'_, F>,
    ws: &mut LossWorkspace<F>,
) -> (F, F) {
    let Matrix::Sparse(s) = data.matrix() else {
        panic!("sparse_kl_and_frobenius needs sparse X")
    };
    let floor = F::min_positive_value();
    fill_wt(w, ws);
    let par = ws.par;
    let (kl, cross) = linalg::pattern_sums(
        s.as_ref(),
        ws.wt.as_ref(),
        h,
        par,
        |x, y| x * (x / y.max(floor)).ln() - x,
        |x, y| x * y,
    );
    let kl = kl + total_mass(w, h, ws);
    (kl, frobenius_from_cross(data, w, h, cross, ws))
}

/// Is entry (i, jj) of the current block observed?
type ObsFn<'a> = &'a dyn Fn(usize, usize) -> bool;

/// Streams over blocks of columns: for each block `j0..j0+c`, calls `f(j0, Xc, Yc, observed,
/// (A, B))` with Xc the block of X (dense), Yc = W·H[:, block], and two scratch blocks A, B.
#[allow(clippy::type_complexity)]
fn stream_blocks<F: NmfFloat>(
    data: &Data<F>,
    w: MatRef<'_, F>,
    h: MatRef<'_, F>,
    ws: &mut LossWorkspace<F>,
    mut f: impl FnMut(usize, MatRef<'_, F>, MatRef<'_, F>, Option<ObsFn<'_>>, (MatMut<'_, F>, MatMut<'_, F>)),
) {
    let (m, n) = (w.nrows(), h.ncols());
    let cmax = chunk_cols(m, n);
    let LossWorkspace {
        par,
        chunk_x,
        chunk_y,
        chunk_a,
        chunk_b,
        ..
    } = ws;
    ensure(chunk_y, m, cmax);
    ensure(chunk_a, m, cmax);
    ensure(chunk_b, m, cmax);
    if data.is_sparse() {
        ensure(chunk_x, m, cmax);
    }
    let mask = data.mask();
    let mut j0 = 0;
    while j0 < n {
        let c = cmax.min(n - j0);
        linalg::gemm(
            chunk_y.as_mut().subcols_mut(0, c),
            Accum::Replace,
            w,
            h.subcols(j0, c),
            F::one(),
            *par,
        );
        let xc: MatRef<'_, F> = match data.matrix() {
            Matrix::Dense(d) => d.as_ref().subcols(j0, c),
            Matrix::Sparse(_) => {
                linalg::copy_columns(data.matrix(), j0, chunk_x.as_mut().subcols_mut(0, c));
                chunk_x.as_ref().subcols(0, c)
            }
        };
        let obs_closure = move |i: usize, jj: usize| mask.is_some_and(|mk| mk.is_observed(i, j0 + jj));
        let obs: Option<ObsFn<'_>> = if mask.is_some() { Some(&obs_closure) } else { None };
        f(
            j0,
            xc,
            chunk_y.as_ref().subcols(0, c),
            obs,
            (chunk_a.as_mut().subcols_mut(0, c), chunk_b.as_mut().subcols_mut(0, c)),
        );
        j0 += c;
    }
}
