//! Every linear-algebra call of nmf-rs, in one place: dense products (faer GEMM), the sparse
//! products that keep sparse X sparse, the small dense factorizations (QR, SVD), and the
//! coordinate sweeps of the Frobenius ([`SweepPanel`]) and KL ([`KlPanel`]) block problems.
//!
//! Kernels take views and write into caller-owned outputs; they never allocate unless the doc
//! says so. A dimension mismatch in a kernel is a programmer error and panics.

use faer::linalg::matmul::matmul;
use faer::prelude::ReborrowMut;
use faer::traits::pulp::Arch;
use faer::{Accum, Mat, MatMut, MatRef, Par};

use crate::data::{CscRef, Matrix};
use crate::error::{NmfError, Result};
use crate::NmfFloat;

pub mod kl_sweep;
mod sweep;
pub use kl_sweep::{KlBlock, KlPanel, KlSweepStats};
pub use sweep::{SweepPanel, SweepStats};

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
        Matrix::Sparse(s) => csc_times_par(s.as_ref(), b, out, par),
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
        Matrix::Sparse(s) => csc_t_times_par(s.as_ref(), a, out, par),
    }
}

/// `out (k×n) ← Aᵀ·X` given `Aᵀ` (k×m): the layout the block solvers want (`WᵀX`, one column
/// of the result per sample).
///
/// Sparse X: each output column gathers contiguous columns of `Aᵀ`, O(nnz·k).
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn at_times_x<F: NmfFloat>(x: &Matrix<F>, at: MatRef<'_, F>, out: MatMut<'_, F>, par: Par) {
    match x {
        Matrix::Dense(d) => gemm(out, Accum::Replace, at, d.as_ref(), F::one(), par),
        Matrix::Sparse(s) => pattern_gather(s.as_ref(), at, None, out, par, |x, _| x),
    }
}

/// `out (k×m) ← B·Xᵀ` for `B` (k×n): the layout the block solvers want (`HXᵀ`, one column of
/// the result per feature).
///
/// Sparse X: each output column accumulates contiguous columns of B, O(nnz·k), through
/// `scratch` (up to 4·k·m values, grown on first use and reused; dense X leaves it alone).
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn b_times_xt<F: NmfFloat>(x: &Matrix<F>, b: MatRef<'_, F>, out: MatMut<'_, F>, par: Par, scratch: &mut Vec<F>) {
    match x {
        Matrix::Dense(d) => gemm(out, Accum::Replace, b, d.transpose(), F::one(), par),
        Matrix::Sparse(s) => pattern_scatter(s.as_ref(), None, b, out, par, scratch, |x, _| x),
    }
}

/// The KL numerator of the H step without forming W H: `out (k×n) ← Wᵀ·(X ⊘ max(W H, floor))`
/// over the nonzeros of sparse X, given `Wᵀ` (k×m). One fused pass, O(nnz·k).
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn wt_times_ratio<F: NmfFloat>(
    s: CscRef<'_, F>,
    wt: MatRef<'_, F>,
    h: MatRef<'_, F>,
    y_floor: F,
    out: MatMut<'_, F>,
    par: Par,
) {
    pattern_gather(s, wt, Some(h), out, par, move |x, y| x / y.max(y_floor));
}

/// The KL numerator of the W step without forming W H, transposed: `out (k×m) ← H·(X ⊘
/// max(W H, floor))ᵀ` over the nonzeros of sparse X, given `Wᵀ` (k×m). One fused pass,
/// O(nnz·k), through `scratch` as [`b_times_xt`].
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn h_times_ratio_t<F: NmfFloat>(
    s: CscRef<'_, F>,
    wt: MatRef<'_, F>,
    h: MatRef<'_, F>,
    y_floor: F,
    out: MatMut<'_, F>,
    par: Par,
    scratch: &mut Vec<F>,
) {
    pattern_scatter(s, Some(wt), h, out, par, scratch, move |x, y| x / y.max(y_floor));
}

/// Columns of a sparse matrix per parallel task. Every output entry is computed by one task
/// in one order, and the partial sums of reductions sit on leaves fixed by this constant (never
/// by the thread count), so results are the same bits for any number of threads, and equal to
/// the sequential result.
const COLS_PER_TASK: usize = 64;

/// Rows per task of the kernels that scatter into rows: one block per thread. Each task owns
/// its output rows and sums over the columns of S in increasing order, so the blocking does not
/// change a single bit; it costs two binary searches per column and block (cache misses into
/// the row indices), which is why there are not more blocks than threads.
fn rows_per_task(m: usize, par: Par) -> usize {
    m.div_ceil(par.degree().max(1)).max(1)
}

/// Runs `f` on the fixed leaves of a bisection of `lo..hi` (leaves of at most `grain`), in
/// parallel with `par`, splitting a payload alongside. The leaves depend only on the range and
/// the grain, so work split and results are the same for every thread count.
pub(crate) fn bisect<P: Send>(
    par: Par,
    range: (usize, usize),
    grain: usize,
    payload: P,
    split: &(impl Fn(P, usize, usize) -> (P, P) + Sync),
    f: impl Fn(usize, usize, P) + Sync,
) {
    bisect_reduce(par, range, grain, payload, split, f, &|(), ()| ());
}

/// Runs `leaf(lo, hi, part)` on the fixed leaves of a bisection of `lo..hi` (leaves of at most
/// `grain`), in parallel with `par`, splitting a payload alongside with `split(payload, lo,
/// mid)`, and combines the leaves' values in the fixed tree of the bisection. Leaves and tree
/// depend only on the range and the grain: the same work split and the same bits for every
/// thread count (and for `Par::Seq`).
///
/// Each leaf runs under pulp's runtime dispatch, compiled for the best instruction set the CPU
/// has (AVX2 + FMA where present) — but only what is inlined into it: pass the leaf as a
/// closure marked `#[inline(always)]` (and call only `#[inline(always)]` helpers from it), or
/// it is compiled for the baseline (SSE2). The operations and their order are the same either
/// way, so the results do not change.
pub fn bisect_reduce<P: Send, T: Send, L: Fn(usize, usize, P) -> T + Sync>(
    par: Par,
    range: (usize, usize),
    grain: usize,
    payload: P,
    split: &(impl Fn(P, usize, usize) -> (P, P) + Sync),
    leaf: L,
    combine: &(impl Fn(T, T) -> T + Sync),
) -> T {
    bisect_tree(par, range, grain.max(1), payload, split, &leaf, combine)
}

fn bisect_tree<P: Send, T: Send, L: Fn(usize, usize, P) -> T + Sync>(
    par: Par,
    (lo, hi): (usize, usize),
    grain: usize,
    payload: P,
    split: &(impl Fn(P, usize, usize) -> (P, P) + Sync),
    leaf: &L,
    combine: &(impl Fn(T, T) -> T + Sync),
) -> T {
    if hi - lo <= grain {
        clear_upper_simd_state();
        return Arch::new().dispatch(
            #[inline(always)]
            || leaf(lo, hi, payload),
        );
    }
    // Split at a multiple of the grain so the leaves do not depend on the recursion depth.
    let mid = lo + ((hi - lo) / 2).div_ceil(grain) * grain;
    let (left, right) = split(payload, lo, mid);
    let (a, b) = match par {
        Par::Seq => (
            bisect_tree(par, (lo, mid), grain, left, split, leaf, combine),
            bisect_tree(par, (mid, hi), grain, right, split, leaf, combine),
        ),
        Par::Rayon(_) => rayon::join(
            || bisect_tree(par, (lo, mid), grain, left, split, leaf, combine),
            || bisect_tree(par, (mid, hi), grain, right, split, leaf, combine),
        ),
    };
    combine(a, b)
}

/// Clears the upper halves of the vector registers of the calling thread (`vzeroupper`).
///
/// faer's GEMM kernels (AVX-512) can return with them dirty on Rayon's worker threads, and
/// legacy-SSE code that runs on such a thread afterwards pays a merge penalty on every vector
/// instruction: measured 2.5× slower sparse products on two threads (13.6 → 35 ms, 5 M nonzeros,
/// 20 columns) after one faer product or QR, for the rest of the process. One instruction per
/// leaf removes it; it changes no value.
#[inline(always)]
fn clear_upper_simd_state() {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX, checked just above; vzeroupper touches no memory.
        unsafe { std::arch::x86_64::_mm256_zeroupper() }
    }
}

/// A deterministic parallel reduction: `leaf(lo, hi)` on fixed leaves of `0..n` (at most
/// `grain` each), combined in a fixed tree, so the result is the same bits for every thread
/// count (and for `Par::Seq`).
pub fn par_reduce<T: Send>(
    par: Par,
    n: usize,
    grain: usize,
    leaf: impl Fn(usize, usize) -> T + Sync,
    combine: &(impl Fn(T, T) -> T + Sync),
) -> T {
    bisect_reduce(
        par,
        (0, n),
        grain,
        (),
        &|(), _, _| ((), ()),
        #[inline(always)]
        |lo, hi, ()| leaf(lo, hi),
        combine,
    )
}

#[inline(always)]
fn dot_slice<F: NmfFloat>(a: &[F], b: &[F]) -> F {
    let mut acc = F::zero();
    for (x, y) in a.iter().zip(b) {
        acc += *x * *y;
    }
    acc
}

#[inline(always)]
fn axpy_slice<F: NmfFloat>(alpha: F, x: &[F], y: &mut [F]) {
    for (o, v) in y.iter_mut().zip(x) {
        *o += alpha * *v;
    }
}

/// Column `j` of a matrix with unit row stride, as a slice.
#[inline(always)]
fn col<'a, F: NmfFloat>(a: MatRef<'a, F>, j: usize) -> &'a [F] {
    a.col(j).try_as_col_major().expect("unit row stride").as_slice()
}

/// `out[:, j] ← Σ_{t in col j} g(x_t, y_t)·at[:, i_t]` (k×n), with `y_t = at[:, i_t]·b[:, j]`
/// when `b` is given (else 0). Parallel over fixed column chunks.
#[track_caller]
fn pattern_gather<F: NmfFloat>(
    s: CscRef<'_, F>,
    at: MatRef<'_, F>,
    b: Option<MatRef<'_, F>>,
    out: MatMut<'_, F>,
    par: Par,
    g: impl Fn(F, F) -> F + Sync,
) {
    let k = at.nrows();
    assert!(at.ncols() == s.nrows && out.nrows() == k && out.ncols() == s.ncols);
    assert!(b.is_none_or(|b| b.nrows() == k && b.ncols() == s.ncols));
    assert!(at.row_stride() == 1 && out.row_stride() == 1 && b.is_none_or(|b| b.row_stride() == 1));
    bisect(
        par,
        (0, s.ncols),
        COLS_PER_TASK,
        out,
        &|o: MatMut<'_, F>, lo, mid| o.split_at_col_mut(mid - lo),
        #[inline(always)]
        |lo, hi, mut o: MatMut<'_, F>| {
            for j in lo..hi {
                let oj = o
                    .rb_mut()
                    .col_mut(j - lo)
                    .try_as_col_major_mut()
                    .expect("unit row stride")
                    .as_slice_mut();
                oj.fill(F::zero());
                let bj = b.map(|b| col(b, j));
                for t in s.col_ptr[j]..s.col_ptr[j + 1] {
                    let ai = col(at, s.row_idx[t]);
                    let y = bj.map_or(F::zero(), |bj| dot_slice(ai, bj));
                    axpy_slice(g(s.values[t], y), ai, oj);
                }
            }
        },
    );
}

/// Most leaves of the scatter kernels: the columns of S split into at most this many fixed
/// ranges, each summed into its own k×m accumulator, then the accumulators added in leaf order.
const SCATTER_LEAVES: usize = 4;

/// `out[:, i] ← Σ_{j: (i,j) stored} g(x_ij, y_ij)·b[:, j]` (k×m), with `y_ij = at[:, i]·b[:, j]`
/// when `at` is given (else 0).
///
/// The columns of S are split into up to [`SCATTER_LEAVES`] fixed ranges (by n and nnz/m only:
/// 1, 2 or 4 leaves, at least 8 nonzeros per row and leaf), each scattered
/// into a private k×m accumulator in `scratch` (grown on first use, the only allocation), in
/// parallel; then each output column adds the leaves in order. The split never depends on the
/// thread count, so neither do the bits. Measured 1.6× faster than row blocks sequentially (no
/// binary searches per column and block) and 2× faster again on two threads (4000×13000, 5 M
/// nonzeros, k = 10).
#[track_caller]
fn pattern_scatter<F: NmfFloat>(
    s: CscRef<'_, F>,
    at: Option<MatRef<'_, F>>,
    b: MatRef<'_, F>,
    mut out: MatMut<'_, F>,
    par: Par,
    scratch: &mut Vec<F>,
    g: impl Fn(F, F) -> F + Sync,
) {
    let (k, m, n) = (b.nrows(), s.nrows, s.ncols);
    assert!(b.ncols() == n && out.nrows() == k && out.ncols() == m);
    assert!(at.is_none_or(|a| a.nrows() == k && a.ncols() == m));
    assert!(b.row_stride() == 1 && out.row_stride() == 1 && at.is_none_or(|a| a.row_stride() == 1));
    if n == 0 || k == 0 {
        out.fill(F::zero());
        return;
    }
    // Fewer leaves on very sparse X, where zeroing and adding the k×m accumulators (O(leaves·k·m))
    // would rival the scatter itself (O(nnz·k)). Depends on the data only, never on threads.
    let nnz = s.col_ptr[n];
    // A power of two, so that two threads get equal shares.
    let wanted = (nnz / (8 * m.max(1))).clamp(1, SCATTER_LEAVES);
    let grain = n.div_ceil(1 << wanted.ilog2());
    let leaves = n.div_ceil(grain);
    let size = k * m;
    if scratch.len() < leaves * size {
        scratch.resize(leaves * size, F::zero());
    }
    let acc = &mut scratch[..leaves * size];
    bisect(
        par,
        (0, n),
        grain,
        acc,
        // lo and mid are multiples of the grain: (mid − lo)/grain whole leaves go left.
        &|a: &mut [F], lo, mid| a.split_at_mut((mid - lo) / grain * size),
        #[inline(always)]
        |lo, hi, buf: &mut [F]| {
            buf.fill(F::zero());
            for j in lo..hi {
                let bj = col(b, j);
                for t in s.col_ptr[j]..s.col_ptr[j + 1] {
                    let i = s.row_idx[t];
                    let y = at.map_or(F::zero(), |a| dot_slice(col(a, i), bj));
                    axpy_slice(g(s.values[t], y), bj, &mut buf[i * k..(i + 1) * k]);
                }
            }
        },
    );
    let acc = &scratch[..leaves * size];
    bisect(
        par,
        (0, m),
        COLS_PER_TASK * 16,
        out,
        &|o: MatMut<'_, F>, lo, mid| o.split_at_col_mut(mid - lo),
        #[inline(always)]
        |lo, hi, mut o: MatMut<'_, F>| {
            for i in lo..hi {
                let oi = o
                    .rb_mut()
                    .col_mut(i - lo)
                    .try_as_col_major_mut()
                    .expect("unit row stride")
                    .as_slice_mut();
                oi.copy_from_slice(&acc[i * k..(i + 1) * k]);
                for leaf in 1..leaves {
                    let part = &acc[leaf * size + i * k..leaf * size + (i + 1) * k];
                    for (o, p) in oi.iter_mut().zip(part) {
                        *o += *p;
                    }
                }
            }
        },
    );
}

/// `out (m×l) ← S·B` for sparse `S` (m×n) and dense `B` (n×l), sequential.
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn csc_times<F: NmfFloat>(s: CscRef<'_, F>, b: MatRef<'_, F>, out: MatMut<'_, F>) {
    csc_times_par(s, b, out, Par::Seq);
}

/// `out (m×l) ← S·B` for sparse `S` (m×n) and dense `B` (n×l), parallel over fixed blocks of
/// rows (the same bits for every thread count).
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn csc_times_par<F: NmfFloat>(s: CscRef<'_, F>, b: MatRef<'_, F>, out: MatMut<'_, F>, par: Par) {
    assert!(b.nrows() == s.ncols && out.nrows() == s.nrows && out.ncols() == b.ncols());
    let l = b.ncols();
    bisect(
        par,
        (0, s.nrows),
        rows_per_task(s.nrows, par),
        out,
        &|o: MatMut<'_, F>, lo, mid| o.split_at_row_mut(mid - lo),
        #[inline(always)]
        |lo, hi, mut o: MatMut<'_, F>| {
            o.fill(F::zero());
            for j in 0..s.ncols {
                let rows = &s.row_idx[s.col_ptr[j]..s.col_ptr[j + 1]];
                let start = s.col_ptr[j] + rows.partition_point(|&i| i < lo);
                let end = s.col_ptr[j] + rows.partition_point(|&i| i < hi);
                if start == end {
                    continue;
                }
                for c in 0..l {
                    let bj = b[(j, c)];
                    let mut oc = o.rb_mut().col_mut(c);
                    for t in start..end {
                        oc[s.row_idx[t] - lo] += s.values[t] * bj;
                    }
                }
            }
        },
    );
}

/// `out (n×l) ← Sᵀ·A` for sparse `S` (m×n) and dense `A` (m×l), sequential.
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn csc_t_times<F: NmfFloat>(s: CscRef<'_, F>, a: MatRef<'_, F>, out: MatMut<'_, F>) {
    csc_t_times_par(s, a, out, Par::Seq);
}

/// `out (n×l) ← Sᵀ·A` for sparse `S` (m×n) and dense `A` (m×l), parallel over fixed chunks of
/// columns of S (the same bits for every thread count).
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn csc_t_times_par<F: NmfFloat>(s: CscRef<'_, F>, a: MatRef<'_, F>, out: MatMut<'_, F>, par: Par) {
    assert!(a.nrows() == s.nrows && out.nrows() == s.ncols && out.ncols() == a.ncols());
    let l = a.ncols();
    bisect(
        par,
        (0, s.ncols),
        COLS_PER_TASK,
        out,
        &|o: MatMut<'_, F>, lo, mid| o.split_at_row_mut(mid - lo),
        #[inline(always)]
        |lo, hi, mut o: MatMut<'_, F>| {
            for c in 0..l {
                let ac = a.col(c);
                for j in lo..hi {
                    let mut acc = F::zero();
                    for t in s.col_ptr[j]..s.col_ptr[j + 1] {
                        acc += s.values[t] * ac[s.row_idx[t]];
                    }
                    o[(j - lo, c)] = acc;
                }
            }
        },
    );
}

/// `out[t] ← (W·H)[i, j]` at every stored entry `t = (i, j)` of the pattern: O(nnz·k).
///
/// `wt` is Wᵀ (k×m), so that a row of W is contiguous.
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn wh_at_pattern<F: NmfFloat>(pattern: CscRef<'_, F>, wt: MatRef<'_, F>, h: MatRef<'_, F>, out: &mut [F]) {
    wh_at_pattern_par(pattern, wt, h, out, Par::Seq);
}

/// [`wh_at_pattern`], parallel over fixed column chunks.
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn wh_at_pattern_par<F: NmfFloat>(
    pattern: CscRef<'_, F>,
    wt: MatRef<'_, F>,
    h: MatRef<'_, F>,
    out: &mut [F],
    par: Par,
) {
    let k = wt.nrows();
    assert!(wt.ncols() == pattern.nrows && h.nrows() == k && h.ncols() == pattern.ncols);
    assert!(out.len() == pattern.row_idx.len());
    let cp = pattern.col_ptr;
    bisect(
        par,
        (0, pattern.ncols),
        COLS_PER_TASK,
        out,
        &|o: &mut [F], lo, mid| o.split_at_mut(cp[mid] - cp[lo]),
        #[inline(always)]
        |lo, hi, o: &mut [F]| {
            for j in lo..hi {
                let hj = h.col(j);
                let range = cp[j]..cp[j + 1];
                let base = cp[lo];
                for (t, &i) in range.clone().zip(&pattern.row_idx[range]) {
                    let wi = wt.col(i);
                    let mut acc = F::zero();
                    for l in 0..k {
                        acc += wi[l] * hj[l];
                    }
                    o[t - base] = acc;
                }
            }
        },
    );
}

/// `(Σ_t f(x_t, y_t), Σ_t g(x_t, y_t))` with `y_t = (W·H)_t` over the stored entries of sparse
/// X, in one pass and without storing W H; a deterministic parallel sum (fixed column chunks,
/// fixed combination tree). `wt` is Wᵀ (k×m). Pass `|_, _| 0` as `g` for a single sum.
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn pattern_sums<F: NmfFloat>(
    s: CscRef<'_, F>,
    wt: MatRef<'_, F>,
    h: MatRef<'_, F>,
    par: Par,
    f: impl Fn(F, F) -> F + Sync,
    g: impl Fn(F, F) -> F + Sync,
) -> (F, F) {
    let k = wt.nrows();
    assert!(wt.ncols() == s.nrows && h.nrows() == k && h.ncols() == s.ncols);
    assert!(wt.row_stride() == 1 && h.row_stride() == 1);
    par_reduce(
        par,
        s.ncols,
        COLS_PER_TASK,
        #[inline(always)]
        |lo, hi| {
            let (mut a, mut b) = (F::zero(), F::zero());
            for j in lo..hi {
                let hj = col(h, j);
                for t in s.col_ptr[j]..s.col_ptr[j + 1] {
                    let (x, y) = (s.values[t], dot_slice(col(wt, s.row_idx[t]), hj));
                    a += f(x, y);
                    b += g(x, y);
                }
            }
            (a, b)
        },
        &|(a1, b1), (a2, b2)| (a1 + a2, b1 + b2),
    )
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
