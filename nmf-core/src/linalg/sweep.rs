//! Coordinate sweeps of the Frobenius block problem: the inner loop of HALS and of
//! scikit-learn's coordinate descent.
//!
//! For a block V (k×c) with `UtM` (k×c) and `UtU` (k×k, symmetric), component by component in
//! `order`:
//!
//! ```text
//! g       = −UtM[t,j] + Σ_r UtU[t,r]·V[r,j]        (r in increasing order)
//! V[t,j] ← max(0, V[t,j] − g / UtU[t,t])          (skipped when UtU[t,t] = 0)
//! ```
//!
//! A column of V only reads itself, so columns are independent. [`SweepPanel`] holds V and UtM
//! in groups of L neighbouring columns, interleaved (row r of a group is one contiguous run of L
//! values), so that the k-term sums of L columns advance side by side in SIMD vectors, with
//! enough independent additions in flight to hide their latency. Groups run in parallel in fixed
//! chunks. Each column's arithmetic is the same operations in the same order whatever the
//! grouping and the thread count, so the iterates are the same bits for every thread count.
//! Padding lanes of the last group hold V = UtM = 0, which a sweep leaves at 0.

use faer::{MatMut, MatRef, Par};

use super::bisect_reduce;
use crate::NmfFloat;

/// Columns per parallel task (a multiple of every group width): fixed, so the partial sums of
/// the statistics do not depend on the thread count.
const COLS_PER_TASK: usize = 256;

/// What one sweep did, summed over the block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepStats<F> {
    /// `‖V_after − V_before‖²_F`.
    pub change: F,
    /// Σ |projected gradient| before each coordinate's update (scikit-learn's violation).
    pub violation: F,
}

impl<F: NmfFloat> SweepStats<F> {
    fn zero() -> Self {
        Self {
            change: F::zero(),
            violation: F::zero(),
        }
    }

    fn add(self, other: Self) -> Self {
        Self {
            change: self.change + other.change,
            violation: self.violation + other.violation,
        }
    }
}

/// A block V (k×c) and its UtM in the interleaved layout of the sweeps: load, sweep as often as
/// needed, store. Sized once; `load`, `sweep` and `store` allocate nothing.
#[derive(Debug, Clone)]
pub struct SweepPanel<F> {
    k: usize,
    c: usize,
    v: Vec<F>,
    m: Vec<F>,
}

impl<F: NmfFloat> SweepPanel<F> {
    /// A panel for blocks of k×c.
    pub fn new(k: usize, c: usize) -> Self {
        let len = c.div_ceil(lanes::<F>()) * k * lanes::<F>();
        Self {
            k,
            c,
            v: vec![F::zero(); len],
            m: vec![F::zero(); len],
        }
    }

    /// Copies V and UtM (both k×c, any strides: pass `W.transpose()` for the W block) in.
    ///
    /// # Panics
    /// If a shape is not k×c.
    #[track_caller]
    pub fn load(&mut self, v: MatRef<'_, F>, utm: MatRef<'_, F>) {
        let (k, c, l) = (self.k, self.c, lanes::<F>());
        assert!(v.nrows() == k && v.ncols() == c && utm.nrows() == k && utm.ncols() == c);
        for (dst, src) in [(&mut self.v, v), (&mut self.m, utm)] {
            for (g, group) in dst.chunks_exact_mut(k * l).enumerate() {
                let (j0, width) = (g * l, l.min(c - g * l));
                for (r, row) in group.chunks_exact_mut(l).enumerate() {
                    for (lane, x) in row.iter_mut().enumerate() {
                        *x = if lane < width { src[(r, j0 + lane)] } else { F::zero() };
                    }
                }
            }
        }
    }

    /// Copies V back out (k×c, any strides: pass `W.transpose_mut()` for the W block).
    ///
    /// # Panics
    /// If the shape is not k×c.
    #[track_caller]
    pub fn store(&self, mut v: MatMut<'_, F>) {
        let (k, c, l) = (self.k, self.c, lanes::<F>());
        assert!(v.nrows() == k && v.ncols() == c);
        for (g, group) in self.v.chunks_exact(k * l).enumerate() {
            let (j0, width) = (g * l, l.min(c - g * l));
            for (r, row) in group.chunks_exact(l).enumerate() {
                for (lane, x) in row[..width].iter().enumerate() {
                    v[(r, j0 + lane)] = *x;
                }
            }
        }
    }

    /// One coordinate sweep with `utu` (k×k), components visited in `order` (a permutation of
    /// `0..k`), parallel over fixed chunks of column groups with `par`.
    ///
    /// # Panics
    /// If `utu` is not k×k with unit row stride, or `order` has an entry ≥ k.
    #[track_caller]
    pub fn sweep(&mut self, utu: MatRef<'_, F>, order: &[usize], par: Par) -> SweepStats<F> {
        let k = self.k;
        assert!(utu.nrows() == k && utu.ncols() == k && utu.row_stride() == 1);
        assert!(order.iter().all(|&t| t < k));
        if k == 0 || self.c == 0 {
            return SweepStats::zero();
        }
        let group = k * lanes::<F>();
        let groups = self.v.len() / group;
        let m = &self.m;
        bisect_reduce(
            par,
            (0, groups),
            COLS_PER_TASK / lanes::<F>(),
            &mut self.v[..],
            &|v: &mut [F], lo, mid| v.split_at_mut((mid - lo) * group),
            // Inlined into the leaf's runtime dispatch (see bisect_reduce): AVX2 + FMA code
            // where the CPU has it; the operations and their order do not change.
            #[inline(always)]
            |lo, hi, v: &mut [F]| {
                let m = &m[lo * group..hi * group];
                if lanes::<F>() == 64 {
                    sweep_groups::<F, 64>(v, m, utu, order)
                } else {
                    sweep_groups::<F, 16>(v, m, utu, order)
                }
            },
            &SweepStats::add,
        )
    }
}

/// Columns per interleaved group: 16 for f64 (four AVX2 vectors of sums in flight), 64 for
/// f32 (eight); measured fastest on AVX2/AVX-512 machines (32 for f64 spills registers).
const fn lanes<F>() -> usize {
    if std::mem::size_of::<F>() <= 4 {
        64
    } else {
        16
    }
}

/// The sweep over consecutive groups of L interleaved columns (`v`, `m`: k·L values each).
#[inline(always)]
fn sweep_groups<F: NmfFloat, const L: usize>(
    v: &mut [F],
    m: &[F],
    utu: MatRef<'_, F>,
    order: &[usize],
) -> SweepStats<F> {
    let zero = F::zero();
    let k = utu.nrows();
    let mut change = [zero; L];
    let mut violation = [zero; L];
    for (x, mg) in v.chunks_exact_mut(k * L).zip(m.chunks_exact(k * L)) {
        for &t in order {
            // UtU is symmetric: its column t is its row t, contiguous.
            let ut = &utu.col(t).try_as_col_major().expect("unit row stride").as_slice()[..k];
            let mut g = [zero; L];
            for (gl, ml) in g.iter_mut().zip(&mg[t * L..(t + 1) * L]) {
                *gl = -*ml;
            }
            for (xr, &u) in x.chunks_exact(L).zip(ut) {
                for l in 0..L {
                    g[l] += u * xr[l];
                }
            }
            let xt = &mut x[t * L..(t + 1) * L];
            for l in 0..L {
                let pg = if xt[l] == zero { g[l].min(zero) } else { g[l] };
                violation[l] += pg.abs();
            }
            // A zero diagonal means the partner's component is zero: the coordinate does not
            // enter the objective and keeps its value.
            let d = ut[t];
            // (A division, not a product with 1/d: 1/d overflows for a subnormal d.)
            if d > zero {
                for l in 0..L {
                    let old = xt[l];
                    let new = (old - g[l] / d).max(zero);
                    xt[l] = new;
                    change[l] += (new - old) * (new - old);
                }
            }
        }
    }
    let mut stats = SweepStats::zero();
    for l in 0..L {
        stats.change += change[l];
        stats.violation += violation[l];
    }
    stats
}
