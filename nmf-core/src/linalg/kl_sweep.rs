//! Coordinate descent on the KL (Poisson) block problem with safeguarded Newton steps: the
//! inner loop of [`KlCd`](../../nmf_solvers/kl_cd/index.html) (Hsieh & Dhillon 2011, §5).
//!
//! For a block G (k×c) with the partner F (p×k) fixed and data A (p×c), the objective splits
//! over the columns of G:
//!
//! ```text
//! f(g_j) = Σ_i [ y_i − a_ij log y_i ] + l1·Σ_r g_rj + ½ l2·Σ_r g_rj²,     y = F g_j
//! ```
//!
//! (only the stored entries of a sparse column enter the log term; Σ_i y_i = Σ_r s_r g_rj with
//! `s_r` the column sums of F). Component by component, one coordinate v = g_rj is moved along
//! the one-variable function, whose derivative
//!
//! ```text
//! f'(v) = s_r + l1 + l2·v − Σ_i a_i F_ir / y_i          (concave and increasing in v)
//! f''(v) = l2 + Σ_i a_i F_ir² / y_i²
//! ```
//!
//! Because f' is concave and increasing, a Newton step from the left of the minimiser v* stays
//! left of it and lowers f; from the right it lands left of v* and may overshoot (for
//! `v − a log v` from v = 2v*, exactly onto 0). The multiplicative (MM) step
//! `v·(Σ a F / y)/(s_r + l1 + l2·v)` lowers f (a Jensen majoriser). From the right, a Newton
//! point at or above the MM point lies between it and v, so by convexity f does not rise there
//! either; a Newton point below it is kept only when f provably did not rise: when
//! `f'(v_new) + f'(v) ≥ 0` (f' concave lies above its chord, so
//! `f(v) − f(v_new) ≥ (v − v_new)(f'(v) + f'(v_new))/2`), checked at the next evaluation, and
//! otherwise the MM point is taken. The last step of a coordinate is never an unchecked
//! overshoot. Every coordinate therefore ends no higher than it started: the sweep is
//! monotone, and unlike MU it can set entries to 0 and revive them.
//!
//! Each evaluation is one pass over the column (its stored entries, for sparse data; F's rows
//! there are gathered once per column) that first applies the previous step to y, then sums the
//! two ratios: one division per entry, in AVX registers for f64 and SSE registers for f32 (the
//! same bits as the portable loop, which serves other CPUs). A coordinate stops early once a step that needs no
//! check moved it by at most `newton_tol` of its value. Columns run in parallel in fixed chunks
//! with the same operations in the same order, so the result is the same bits for every thread
//! count.
//!
//! Hsieh & Dhillon, "Fast coordinate descent methods with variable selection for non-negative
//! matrix factorization", KDD 2011.

use faer::prelude::ReborrowMut;
use std::sync::Mutex;

use faer::{MatMut, MatRef, Par};

use super::bisect_reduce;
use crate::data::Matrix;
use crate::NmfFloat;

/// Columns per parallel task: fixed, so the statistics' partial sums do not depend on the
/// thread count.
const COLS_PER_TASK: usize = 32;

/// Independent accumulators of the ratio sums: one AVX register of f64 (fixed, so the bits do
/// not depend on the CPU).
const LANES: usize = 4;

/// What one KL sweep did, summed over the block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KlSweepStats<F> {
    /// `‖G_after − G_before‖²_F`.
    pub change: F,
    /// Σ |projected gradient| at each coordinate's first evaluation (the KKT violation the
    /// sweep saw).
    pub violation: F,
    /// Newton points that failed the descent check and were replaced by the MM point.
    pub fallbacks: usize,
}

impl<F: NmfFloat> KlSweepStats<F> {
    fn zero() -> Self {
        Self {
            change: F::zero(),
            violation: F::zero(),
            fallbacks: 0,
        }
    }

    fn add(self, other: Self) -> Self {
        Self {
            change: self.change + other.change,
            violation: self.violation + other.violation,
            fallbacks: self.fallbacks + other.fallbacks,
        }
    }
}

/// Scratch for the KL sweeps of one block shape: one column of y (and, for sparse data, of the
/// partner's gathered rows) per worker thread. Sized once;
/// [`KlPanel::sweep`] allocates nothing.
#[derive(Debug)]
pub struct KlPanel<F> {
    // One scratch column per worker thread, taken by the running leaf (a leaf never waits on
    // another, so a lock is free or soon free). A leaf rewrites all it reads, so which buffer
    // it gets does not change a bit; per thread rather than per leaf, because a sparse column
    // needs (k + 1)·nnz of scratch and long rows are common (highly expressed genes).
    slots: Vec<Mutex<Vec<F>>>,
    stride: usize,
    c: usize,
}

/// The KL block problem's fixed parts for one sweep.
#[derive(Debug, Clone, Copy)]
pub struct KlBlock<'a, F> {
    /// The data A (p×c), dense or sparse.
    pub data: &'a Matrix<F>,
    /// The fixed factor F (p×k), unit row stride.
    pub factor: MatRef<'a, F>,
    /// `s_r + l1`: F's column sums plus the L1 weight (k).
    pub linear: &'a [F],
    /// The L2 weight.
    pub l2: F,
    /// A coordinate stops early after a step that needs no check and moved it by at most this
    /// fraction of its new value (0: use every allowed evaluation).
    pub newton_tol: F,
    /// Lower bound on y where it divides (the machine epsilon: y = 0 at a nonzero a_ij means an
    /// infinite objective, which the descent check then refuses).
    pub y_floor: F,
}

impl<F: Clone + Default> Clone for KlPanel<F> {
    /// A panel of the same shape (scratch contents are never carried between sweeps).
    fn clone(&self) -> Self {
        Self {
            slots: (0..self.slots.len())
                .map(|_| Mutex::new(vec![F::default(); self.stride]))
                .collect(),
            stride: self.stride,
            c: self.c,
        }
    }
}

impl<F: NmfFloat> KlPanel<F> {
    /// Scratch for sweeps of a rank-k block over the columns of `data` (p×c).
    pub fn new(data: &Matrix<F>, k: usize) -> Self {
        let c = data.ncols();
        let stride = match data {
            // y only: F's columns are read in place.
            Matrix::Dense(a) => a.nrows(),
            // y and F's rows at the column's pattern, gathered once per column, so that every
            // pass reads contiguous memory as in the dense case.
            Matrix::Sparse(s) => {
                let cp = s.col_ptr();
                (0..c).map(|j| cp[j + 1] - cp[j]).max().unwrap_or(0) * (k + 1)
            }
        };
        Self {
            slots: (0..rayon::current_num_threads().max(1))
                .map(|_| Mutex::new(vec![F::zero(); stride]))
                .collect(),
            stride,
            c,
        }
    }

    /// One sweep over the columns of `g` (k×c, unit row stride): components in increasing
    /// order, at most `newton` evaluations per coordinate (≥ 1).
    ///
    /// # Panics
    /// If the shapes do not agree with the panel's data, or `newton` is 0.
    #[track_caller]
    pub fn sweep(&mut self, block: KlBlock<'_, F>, g: MatMut<'_, F>, newton: usize, par: Par) -> KlSweepStats<F> {
        let (p, k) = (block.factor.nrows(), block.factor.ncols());
        assert!(newton >= 1);
        assert!(block.data.nrows() == p && block.data.ncols() == self.c && self.c == g.ncols());
        assert!(g.nrows() == k && block.linear.len() == k && g.row_stride() == 1);
        assert!(block.factor.row_stride() == 1);
        if k == 0 || self.c == 0 {
            return KlSweepStats::zero();
        }
        if let Matrix::Sparse(_) = block.data {
            assert!(self.stride % (k + 1) == 0, "panel sized for another rank");
        }
        let (stride, slots) = (self.stride, &self.slots);
        let f = block.factor;
        let fcol = move |r: usize| f.col(r).try_as_col_major().expect("unit row stride").as_slice();
        bisect_reduce(
            par,
            (0, self.c),
            COLS_PER_TASK,
            g,
            &|g: MatMut<'_, F>, lo, mid| g.split_at_col_mut(mid - lo),
            // Inlined into the leaf's runtime dispatch (see bisect_reduce).
            #[inline(always)]
            |lo, hi, mut g: MatMut<'_, F>| {
                let slot = &slots[rayon::current_thread_index().unwrap_or(0) % slots.len()];
                // A poisoned lock only means another leaf panicked; the buffer is rewritten.
                let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
                let y = &mut guard[..stride];
                let mut stats = KlSweepStats::zero();
                for j in lo..hi {
                    let gj = g
                        .rb_mut()
                        .col_mut(j - lo)
                        .try_as_col_major_mut()
                        .expect("unit row stride")
                        .as_slice_mut();
                    let s = match block.data {
                        Matrix::Dense(a) => {
                            let col = a.col(j).try_as_col_major().expect("unit row stride").as_slice();
                            sweep_column(&block, col, &mut y[..p], &fcol, gj, newton)
                        }
                        Matrix::Sparse(a) => {
                            let a = a.as_ref();
                            let range = a.col_ptr[j]..a.col_ptr[j + 1];
                            let len = range.len();
                            let (yj, fg) = y[..len * (k + 1)].split_at_mut(len);
                            for (r, fgr) in fg.chunks_exact_mut(len.max(1)).enumerate() {
                                let fr = fcol(r);
                                for (o, &i) in fgr.iter_mut().zip(&a.row_idx[range.clone()]) {
                                    *o = fr[i];
                                }
                            }
                            let fg = &*fg;
                            let gathered = |r: usize| &fg[r * len..(r + 1) * len];
                            sweep_column(&block, &a.values[range], yj, &gathered, gj, newton)
                        }
                    };
                    stats = stats.add(s);
                }
                stats
            },
            &KlSweepStats::add,
        )
    }
}

/// `y += step·prev`, then `(Σ a·cur / y, Σ a·cur² / y²)` over one column (all slices of the
/// column's length), in `LANES` interleaved sums (element t goes to lane t mod 4), and whether
/// y is at or below the floor at some nonzero entry (where the floored ratios say nothing).
#[inline(always)]
fn pass<F: NmfFloat>(a: &[F], y: &mut [F], (prev, step): (&[F], F), cur: &[F], y_floor: F) -> (F, F, bool) {
    let zero = F::zero();
    let n = a.len();
    let (y, prev, cur) = (&mut y[..n], &prev[..n], &cur[..n]);
    let mut sums = ([zero; LANES], [zero; LANES]);
    let mut low = false;
    let full = n - n % LANES;
    let (af, yf, pf, cf) = (&a[..full], &mut y[..full], &prev[..full], &cur[..full]);
    let args = (af, yf, (pf, step), cf, y_floor, (&mut sums.0, &mut sums.1), &mut low);
    if let Some(args) = simd_chunks(args) {
        portable_chunks(args);
    }
    for t in full..n {
        let l = t - full;
        one(
            a[t],
            &mut y[t],
            prev[t],
            step,
            cur[t],
            y_floor,
            (&mut sums.0[l], &mut sums.1[l], &mut low),
        );
    }
    let (mut sn, mut sh) = (zero, zero);
    for l in 0..LANES {
        sn += sums.0[l];
        sh += sums.1[l];
    }
    (sn, sh, low)
}

/// One element of [`pass`].
#[inline(always)]
fn one<F: NmfFloat>(a: F, y: &mut F, p: F, step: F, c: F, floor: F, (neg, hs, low): (&mut F, &mut F, &mut bool)) {
    let v = *y + step * p;
    *y = v;
    *low |= (a > F::zero()) & (v <= floor);
    // v where v > floor, else floor (y is never NaN).
    let inv = F::one() / if v > floor { v } else { floor };
    let q = a * inv * c;
    *neg += q;
    *hs += q * c * inv;
}

/// The whole chunks of [`pass`], element by element (LLVM does not vectorize the division).
#[inline(always)]
fn portable_chunks<F: NmfFloat>(args: ChunkArgs<'_, F>) {
    let (a, y, (prev, step), cur, y_floor, (neg, hs), low) = args;
    let chunks = a
        .chunks_exact(LANES)
        .zip(y.chunks_exact_mut(LANES))
        .zip(prev.chunks_exact(LANES).zip(cur.chunks_exact(LANES)));
    for ((a4, y4), (p4, c4)) in chunks {
        for l in 0..LANES {
            one(
                a4[l],
                &mut y4[l],
                p4[l],
                step,
                c4[l],
                y_floor,
                (&mut neg[l], &mut hs[l], &mut *low),
            );
        }
    }
}

/// The whole chunks of [`pass`] in AVX registers for f64 and SSE registers for f32 (LLVM
/// leaves the division and the floor scalar): lane l takes the same elements, the same
/// operations in the same order, no FMA, so the bits equal the portable loop's. Hands the
/// arguments back where it does not apply.
#[inline(always)]
fn simd_chunks<F: NmfFloat>(args: ChunkArgs<'_, F>) -> Option<ChunkArgs<'_, F>> {
    #[cfg(target_arch = "x86_64")]
    {
        // The kernels read and write whole registers: every slice as long as `a`, a multiple
        // of four (what the SAFETY comments below rely on).
        let n = args.0.len();
        assert!(n % LANES == 0 && args.1.len() == n && (args.2).0.len() == n && args.3.len() == n);
        use std::any::TypeId;
        if TypeId::of::<F>() == TypeId::of::<f64>() && std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: F is f64 (checked), the CPU has AVX (checked), the lengths are checked.
            unsafe { run_as::<F, f64>(avx_f64, args) };
            return None;
        }
        if TypeId::of::<F>() == TypeId::of::<f32>() {
            // SAFETY: F is f32 (checked), SSE is part of x86_64, the lengths are checked.
            unsafe { run_as::<F, f32>(sse_f32, args) };
            return None;
        }
    }
    Some(args)
}

/// A SIMD loop of [`pass`] on concrete floats (from [`simd_kernel`]).
#[cfg(target_arch = "x86_64")]
type SimdKernel<T> = unsafe fn(&[T], &mut [T], (&[T], T), &[T], T, (&mut [T; LANES], &mut [T; LANES]), &mut bool);

/// The arguments of the chunk loops: data, y, (previous column, its step), current column,
/// floor of y, lane sums, whether y was at the floor at a nonzero entry.
type ChunkArgs<'a, F> = (
    &'a [F],
    &'a mut [F],
    (&'a [F], F),
    &'a [F],
    F,
    (&'a mut [F; LANES], &'a mut [F; LANES]),
    &'a mut bool,
);

/// Runs `kernel` on the arguments reinterpreted as `T`.
///
/// # Safety
/// `F` must be `T`, and the CPU must have the features `kernel` is compiled for.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn run_as<F: Copy + 'static, T: Copy + 'static>(kernel: SimdKernel<T>, args: ChunkArgs<'_, F>) {
    debug_assert!(std::any::TypeId::of::<F>() == std::any::TypeId::of::<T>());
    let (a, y, (prev, step), cur, y_floor, (neg, hs), low) = args;
    // The same type under two names: same size, alignment and bits.
    let cast = |s: &[F]| std::slice::from_raw_parts(s.as_ptr().cast::<T>(), s.len());
    let y = std::slice::from_raw_parts_mut(y.as_mut_ptr().cast::<T>(), y.len());
    let neg = &mut *(neg as *mut [F; LANES]).cast::<[T; LANES]>();
    let hs = &mut *(hs as *mut [F; LANES]).cast::<[T; LANES]>();
    let scalar = |v: &F| std::mem::transmute_copy::<F, T>(v);
    kernel(
        cast(a),
        y,
        (cast(prev), scalar(&step)),
        cast(cur),
        scalar(&y_floor),
        (neg, hs),
        low,
    );
}

/// The SIMD loop of [`pass`] for one register type, named by its intrinsics: the same
/// operations in the same order as [`one`], lane by lane.
macro_rules! simd_kernel {
    ($name:ident, $t:ty, $feature:literal, $set1:ident, $load:ident, $store:ident, $add:ident, $mul:ident, $div:ident, $max:ident,
     $gt:expr, $le:expr, $and:ident, $or:ident, $movemask:ident) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        unsafe fn $name(
            a: &[$t],
            y: &mut [$t],
            (prev, step): (&[$t], $t),
            cur: &[$t],
            y_floor: $t,
            (neg, hs): (&mut [$t; LANES], &mut [$t; LANES]),
            low: &mut bool,
        ) {
            use std::arch::x86_64::*;
            let (step, floor, one, zero) = ($set1(step), $set1(y_floor), $set1(1.0), $set1(0.0));
            let mut lows = $set1(0.0);
            let mut sn = $load(neg.as_ptr());
            let mut sh = $load(hs.as_ptr());
            for t in (0..a.len()).step_by(LANES) {
                let yv = $add($load(y.as_ptr().add(t)), $mul(step, $load(prev.as_ptr().add(t))));
                $store(y.as_mut_ptr().add(t), yv);
                let av = $load(a.as_ptr().add(t));
                lows = $or(lows, $and(($gt)(av, zero), ($le)(yv, floor)));
                // max(v, floor) is v where v > floor, else floor: the portable loop's choice.
                let inv = $div(one, $max(yv, floor));
                let c = $load(cur.as_ptr().add(t));
                let q = $mul($mul(av, inv), c);
                sn = $add(sn, q);
                sh = $add(sh, $mul($mul(q, c), inv));
            }
            $store(neg.as_mut_ptr(), sn);
            $store(hs.as_mut_ptr(), sh);
            *low |= $movemask(lows) != 0;
        }
    };
}

simd_kernel!(
    avx_f64,
    f64,
    "avx",
    _mm256_set1_pd,
    _mm256_loadu_pd,
    _mm256_storeu_pd,
    _mm256_add_pd,
    _mm256_mul_pd,
    _mm256_div_pd,
    _mm256_max_pd,
    _mm256_cmp_pd::<_CMP_GT_OQ>,
    _mm256_cmp_pd::<_CMP_LE_OQ>,
    _mm256_and_pd,
    _mm256_or_pd,
    _mm256_movemask_pd
);
simd_kernel!(
    sse_f32,
    f32,
    "sse",
    _mm_set1_ps,
    _mm_loadu_ps,
    _mm_storeu_ps,
    _mm_add_ps,
    _mm_mul_ps,
    _mm_div_ps,
    _mm_max_ps,
    _mm_cmpgt_ps,
    _mm_cmple_ps,
    _mm_and_ps,
    _mm_or_ps,
    _mm_movemask_ps
);

/// The coordinate sweep of one column: y ← F g on the column's entries, then every component
/// in turn. `fcol(r)` is F's column r at those entries.
#[inline(always)]
fn sweep_column<'f, F: NmfFloat>(
    block: &KlBlock<'_, F>,
    a: &[F],
    y: &mut [F],
    fcol: &impl Fn(usize) -> &'f [F],
    g: &mut [F],
    newton: usize,
) -> KlSweepStats<F> {
    let zero = F::zero();
    y.fill(zero);
    for (r, &gr) in g.iter().enumerate() {
        if gr != zero {
            for (yt, &f) in y.iter_mut().zip(fcol(r)) {
                *yt += gr * f;
            }
        }
    }
    let mut stats = KlSweepStats::zero();
    // The step not yet applied to y: (component, amount).
    let mut pending = (0, zero);
    for (r, (gr, &lin)) in g.iter_mut().zip(block.linear).enumerate() {
        let cur = fcol(r);
        let l2 = block.l2;
        let v0 = *gr;
        let mut v = v0;
        // An unchecked Newton overshoot: the derivative and MM point where it started.
        let mut anchor: Option<(F, F)> = None;
        for it in 0..newton {
            // (A zero pending step adds exactly 0 to y.)
            let (neg, hs, floored) = pass(a, y, (fcol(pending.0), pending.1), cur, block.y_floor);
            pending.1 = zero;
            let pos = lin + l2 * v;
            let grad = pos - neg;
            if it == 0 {
                stats.violation += if v == zero { grad.min(zero).abs() } else { grad.abs() };
            }
            let mut next = v;
            if let Some((grad0, mm)) = anchor.take() {
                // Where y fell to the floor at a nonzero entry, the floored derivative says
                // nothing (the true objective may be infinite): that fails the check too.
                if grad + grad0 < zero || floored {
                    // f may have risen: back to the MM point of the anchor.
                    stats.fallbacks += 1;
                    next = mm;
                }
            }
            if next == v {
                if grad < zero {
                    // From the left: the Newton point stays left of the minimiser, f falls.
                    // (The curvature is positive here unless it underflowed; then stay.)
                    let hess = hs + l2;
                    let newton_pt = v - grad / hess;
                    if hess > zero && newton_pt.is_finite() {
                        next = newton_pt;
                    }
                } else if grad > zero && v > zero {
                    // pos > neg ≥ 0 here, so the MM point is well defined.
                    let mm = v * (neg / pos);
                    let hess = hs + l2;
                    let newton_pt = if hess > zero { (v - grad / hess).max(zero) } else { zero };
                    if newton_pt >= mm {
                        next = newton_pt;
                    } else if it + 1 < newton {
                        next = newton_pt;
                        anchor = Some((grad, mm));
                    } else {
                        next = mm;
                    }
                }
            }
            if next == v {
                break;
            }
            pending = (r, next - v);
            let settled = anchor.is_none() && (next - v).abs() <= block.newton_tol * next;
            v = next;
            if settled {
                break;
            }
        }
        *gr = v;
        stats.change += (v - v0) * (v - v0);
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::CscMatrix;
    use faer::Mat;

    /// A small deterministic generator in [0, 1).
    fn uniform(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64) / ((1u64 << 53) as f64)
        }
    }

    /// f(G) = Σ_j Σ_i [y_ij − a_ij log y_ij] + l1 ΣG + ½ l2 ‖G‖², y = F G, the log term over
    /// the stored entries only (all entries for dense A).
    fn objective(a: &Matrix<f64>, f: &Mat<f64>, g: &Mat<f64>, (l1, l2): (f64, f64)) -> f64 {
        let y = f * g;
        let mut total = 0.0;
        for j in 0..g.ncols() {
            for i in 0..f.nrows() {
                total += y[(i, j)];
            }
            for r in 0..g.nrows() {
                total += l1 * g[(r, j)] + 0.5 * l2 * g[(r, j)] * g[(r, j)];
            }
        }
        let mut log_term = |i: usize, j: usize, v: f64| {
            if v > 0.0 {
                total -= v * y[(i, j)].ln();
            }
        };
        match a {
            Matrix::Dense(d) => (0..d.ncols()).for_each(|j| (0..d.nrows()).for_each(|i| log_term(i, j, d[(i, j)]))),
            Matrix::Sparse(s) => {
                let s = s.as_ref();
                for j in 0..s.ncols {
                    for t in s.col_ptr[j]..s.col_ptr[j + 1] {
                        log_term(s.row_idx[t], j, s.values[t]);
                    }
                }
            }
        }
        total
    }

    fn sweep(
        a: &Matrix<f64>,
        f: &Mat<f64>,
        g: &mut Mat<f64>,
        pen: (f64, f64),
        newton: usize,
        tol: f64,
    ) -> KlSweepStats<f64> {
        let linear: Vec<f64> = (0..f.ncols()).map(|r| f.col(r).iter().sum::<f64>() + pen.0).collect();
        let block = KlBlock {
            data: a,
            factor: f.as_ref(),
            linear: &linear,
            l2: pen.1,
            newton_tol: tol,
            y_floor: f64::EPSILON,
        };
        KlPanel::new(a, f.ncols()).sweep(block, g.as_mut(), newton, Par::Seq)
    }

    /// For k = 1 the minimiser is h* = Σa / ΣF for every column. From 2h*, Newton lands exactly
    /// on 0 (y = 0 where a > 0): the check refuses it and the MM point, h* itself, is taken.
    #[test]
    fn one_component_overshoot_is_refused_and_the_minimiser_reached() {
        let f = Mat::from_fn(6, 1, |_, _| 0.5);
        let a = Matrix::Dense(Mat::from_fn(6, 3, |i, j| 1.0 + (i + 2 * j) as f64));
        let star: Vec<f64> = (0..3)
            .map(|j| (0..6).map(|i| 1.0 + (i + 2 * j) as f64).sum::<f64>() / 3.0)
            .collect();
        let mut g = Mat::from_fn(1, 3, |_, j| 2.0 * star[j]);
        let stats = sweep(&a, &f, &mut g, (0.0, 0.0), 3, 0.0);
        assert_eq!(stats.fallbacks, 3, "every Newton overshoot onto 0 must be refused");
        for j in 0..3 {
            assert!(
                (g[(0, j)] - star[j]).abs() <= 1e-12 * star[j],
                "{} vs {}",
                g[(0, j)],
                star[j]
            );
        }
        // From below, Newton steps rise towards the minimiser without passing it.
        let mut g = Mat::from_fn(1, 3, |_, j| star[j] / 3.0);
        sweep(&a, &f, &mut g, (0.0, 0.0), 1, 0.0);
        for j in 0..3 {
            assert!(g[(0, j)] > star[j] / 3.0 && g[(0, j)] <= star[j] * (1.0 + 1e-12));
        }
        sweep(&a, &f, &mut g, (0.0, 0.0), 40, 0.0);
        for j in 0..3 {
            assert!((g[(0, j)] - star[j]).abs() <= 1e-10 * star[j]);
        }
    }

    /// With a large L1 weight in f32 the floored derivative at 0 (a·F/ε ≈ 8.4e6) no longer
    /// fails the chord check (7e6·1.5 > 8.4e6), but y = 0 at a nonzero entry is an infinite
    /// objective: the overshoot onto 0 must still be refused. (The minimiser, 1/7e6, stays
    /// above the floor.)
    #[test]
    fn an_overshoot_onto_an_infinite_objective_is_refused_even_when_the_floor_hides_it() {
        let f = Mat::<f32>::from_fn(1, 1, |_, _| 1.0);
        let a = Matrix::Dense(Mat::<f32>::from_fn(1, 1, |_, _| 1.0));
        let l1 = 7.0e6f32 - 1.0;
        let star = 1.0 / (1.0 + l1);
        let mut g = Mat::<f32>::from_fn(1, 1, |_, _| 2.0 * star);
        let linear = [1.0 + l1];
        let block = KlBlock {
            data: &a,
            factor: f.as_ref(),
            linear: &linear,
            l2: 0.0,
            newton_tol: 0.0,
            y_floor: f32::EPSILON,
        };
        let stats = KlPanel::new(&a, 1).sweep(block, g.as_mut(), 3, Par::Seq);
        assert_eq!(stats.fallbacks, 1);
        assert!((g[(0, 0)] - star).abs() <= 1e-5 * star, "{} vs {star}", g[(0, 0)]);
    }

    /// Every sweep lowers the block objective (dense and sparse, penalised or not, any number
    /// of Newton evaluations), keeps G ≥ 0, and with many evaluations meets the KKT conditions
    /// of each coordinate.
    #[test]
    fn sweeps_are_monotone_and_reach_coordinate_minima() {
        let (p, c, k) = (37, 23, 4);
        let mut u = uniform(5);
        let f = Mat::from_fn(p, k, |_, _| if u() < 0.2 { 0.0 } else { u() });
        let dense = Mat::from_fn(p, c, |_, _| if u() < 0.5 { 0.0 } else { (10.0 * u()).floor() });
        let sparse = Matrix::Sparse(CscMatrix::from_dense(dense.as_ref()));
        for a in [Matrix::Dense(dense.clone()), sparse] {
            for pen in [(0.0, 0.0), (0.3, 0.5)] {
                for (newton, tol) in [(1, 0.0), (2, 0.01), (4, 0.0), (20, 0.0)] {
                    let mut g = Mat::from_fn(k, c, |_, _| 3.0 * u());
                    let mut before = objective(&a, &f, &g, pen);
                    for _ in 0..6 {
                        sweep(&a, &f, &mut g, pen, newton, tol);
                        let after = objective(&a, &f, &g, pen);
                        assert!(after <= before + 1e-12 * before.abs(), "rose: {before} -> {after}");
                        assert!((0..c).all(|j| (0..k).all(|r| g[(r, j)] >= 0.0)));
                        before = after;
                    }
                }
            }
        }
        // Converged coordinates: gradient ≥ 0 at zeros, ≈ 0 at positive entries.
        let a = Matrix::Dense(dense);
        let mut g = Mat::from_fn(k, c, |_, _| u());
        for _ in 0..300 {
            sweep(&a, &f, &mut g, (0.0, 0.0), 20, 0.0);
        }
        let y = &f * &g;
        for j in 0..c {
            for r in 0..k {
                let grad: f64 = (0..p)
                    .map(|i| {
                        let x = if let Matrix::Dense(d) = &a {
                            d[(i, j)]
                        } else {
                            unreachable!()
                        };
                        f[(i, r)] * (1.0 - if x > 0.0 { x / y[(i, j)] } else { 0.0 })
                    })
                    .sum();
                if g[(r, j)] > 0.0 {
                    assert!(grad.abs() < 1e-6, "column {j}, component {r}: gradient {grad}");
                } else {
                    assert!(grad > -1e-6, "column {j}, component {r}: zero with gradient {grad}");
                }
            }
        }
    }

    /// The SIMD paths and the portable loop give the same bits, f64 and f32.
    #[test]
    fn simd_and_portable_passes_agree_bit_for_bit() {
        // Whether the SIMD path ran (and agreed).
        fn agree<F: NmfFloat>() -> bool {
            let mut u = uniform(9);
            let mut v = |scale: f64| F::lit(scale * u());
            let n = 4 * 51;
            let a: Vec<F> = (0..n).map(|i| if i % 3 == 0 { F::zero() } else { v(20.0) }).collect();
            let prev: Vec<F> = (0..n).map(|_| v(1.0)).collect();
            let cur: Vec<F> = (0..n).map(|_| v(1.0)).collect();
            let y0: Vec<F> = (0..n).map(|i| if i % 17 == 0 { F::zero() } else { v(1.0) }).collect();
            let (mut y1, mut y2) = (y0.clone(), y0);
            let init = ([F::lit(0.5); LANES], [F::lit(0.25); LANES]);
            let (mut s1, mut s2) = (init, init);
            let step = F::lit(-0.3);
            let (mut l1, mut l2) = (false, false);
            portable_chunks((
                &a,
                &mut y1,
                (&prev, step),
                &cur,
                F::epsilon(),
                (&mut s1.0, &mut s1.1),
                &mut l1,
            ));
            // y falls to the floor at a nonzero entry (i = 17): the flag must say so.
            assert!(l1);
            let ran = simd_chunks((
                &a,
                &mut y2,
                (&prev, step),
                &cur,
                F::epsilon(),
                (&mut s2.0, &mut s2.1),
                &mut l2,
            ))
            .is_none();
            if ran {
                assert_eq!(y1, y2);
                assert_eq!(s1, s2);
                assert_eq!(l1, l2);
            }
            ran
        }
        let (f64_ran, f32_ran) = (agree::<f64>(), agree::<f32>());
        // On x86_64 the comparison must really happen: SSE is always there, AVX where detected.
        #[cfg(target_arch = "x86_64")]
        {
            assert!(f32_ran);
            assert_eq!(f64_ran, std::arch::is_x86_feature_detected!("avx"));
        }
        let _ = (f64_ran, f32_ran);
    }
}
