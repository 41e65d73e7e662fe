//! Non-negative least squares for many right-hand sides by block principal pivoting
//! (Kim & Park 2011), the inner solver of [`Anls`](crate::Anls) and of
//! [`transform`](crate::transform()).
//!
//! For a k×k symmetric positive (semi-)definite `Q` and a k×c matrix `B`, [`Bpp::solve`]
//! solves, column by column,
//!
//! ```text
//! min_{v ≥ 0}  ½ vᵀ Q v − vᵀ b          (b a column of B)
//! ```
//!
//! which is `min_{v ≥ 0} ½‖X − U v‖²` for `Q = UᵀU`, `b = Uᵀx`. The optimum is characterised
//! by the KKT conditions `v ≥ 0`, `y = Q v − b ≥ 0`, `v ⊙ y = 0`. Each column keeps a passive
//! set F (the entries allowed to be positive); with F fixed, `v_F = Q_FF⁻¹ b_F`, `v_G = 0`,
//! and `y = Q v − b`. An entry is infeasible if it is passive with `v < 0` or active with
//! `y < 0`. Following SPEC §4.7 (nonnegfac-python's `nnlsm_blockpivot`):
//!
//! ```text
//! init: F = {v > 0} (warm start);  solve;  p = p̄ = 3;  ninf = k + 1;  MAX_ITER = 5k
//! while some column has infeasible entries V (|V| = nbad):
//!     nbad < ninf   →  ninf = nbad, p = p̄, exchange all of V      (full exchange)
//!     p ≥ 1         →  p −= 1,              exchange all of V
//!     otherwise     →  exchange only the largest index in V        (backup rule, Murty)
//!     re-solve the columns that moved; zero |v| < 1e-12 and |y| < 1e-12
//! ```
//!
//! Columns that share a passive set share one Cholesky factorisation of `Q_FF` (the columns are
//! sorted by passive set, then each run is solved as one multi-right-hand-side triangular solve).
//!
//! ## Degenerate `Q`
//! A singular `Q_FF` (a zero or repeated column of U) is detected by a failed or numerically
//! singular Cholesky factorisation (a squared pivot below `|F|·ε·max diag(Q_FF)`). The
//! factorisation is then retried with a ridge `δ = 10·|F|·ε·max diag(Q_FF)` on the diagonal
//! (`tr(Q)/k` in place of the maximum if `Q_FF` is zero, 1 if Q is), multiplied by 100 on each
//! further failure (at most 5 retries), and [`NmfError::Linalg`] is returned if none works.
//! The ridge perturbs the solution at the level of round-off in `Q_FF`.
//! A non-finite solution (NaN or infinite entries in `Q` or `B`) is also reported as
//! [`NmfError::Linalg`]: the solver never writes NaN.
//!
//! ## Thresholds
//! As in the reference implementation, entries with `|v| < 1e-12` or `|y| < 1e-12` are set to
//! zero after each solve. These thresholds are absolute: data (and hence `Q`, `B`) scaled so
//! that genuine solution entries fall below 1e-12 should be rescaled first.
//!
//! ## Columns that do not converge
//! In exact arithmetic the backup rule makes the method finite. If round-off makes a column
//! cycle until `MAX_ITER` pivoting iterations (or the cap of [`Bpp::with_max_iter`]), the column takes the better (by the objective
//! above) of its projected iterate `max(v, 0)` and its warm start, so a warm-started solve
//! never raises the objective. [`BppInfo::not_converged`] counts such columns.
//!
//! ## Outputs
//! The solution overwrites the warm start; the dual `y = Q v − B` (the KKT multipliers, ≥ 0,
//! exactly zero on the passive set) is available from [`Bpp::dual`] and the passive sets
//! from [`Bpp::is_passive`], for active-set methods such as implicit differentiation.
//!
//! ## References
//! Kim & Park, "Fast nonnegative matrix factorization: an active-set-like method and
//! comparisons", SIAM J. Sci. Comput. 33(6), 2011. Júdice & Pires, "A block principal
//! pivoting algorithm for large-scale strictly monotone linear complementarity problems",
//! Computers & Operations Research 21(5), 1994. Source: `kimjingu/nonnegfac-python`, `nnls.py`.

use std::mem::MaybeUninit;

use faer::dyn_stack::MemStack;
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::linalg::triangular_solve::{solve_lower_triangular_in_place, solve_upper_triangular_in_place};
use faer::prelude::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, MatMut, MatRef, Par};
use nmf_core::linalg::bisect_reduce;
use nmf_core::{NmfError, NmfFloat, Result};

/// Full-exchange budget p̄ of each column (Kim & Park's default).
const P_BAR: u32 = 3;
/// Pivoting iterations allowed per variable (MAX_ITER = 5k).
const MAX_ITER_PER_VAR: usize = 5;
/// Ridge retries after a failed Cholesky factorisation.
const RIDGE_RETRIES: usize = 5;

/// What one [`Bpp::solve`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BppInfo {
    /// Pivoting iterations (0 when the warm start's passive sets were already optimal).
    pub iterations: usize,
    /// Columns that hit `MAX_ITER` = 5k pivoting iterations and took the fallback.
    pub not_converged: usize,
    /// Cholesky factorisations, ridge retries included.
    pub factorizations: usize,
    /// Factorisations that needed a ridge (singular `Q_FF`).
    pub ridged: usize,
    /// Single exchanges made by the backup rule.
    pub backup_exchanges: usize,
}

/// Columns per [`ParBpp`] chunk.
const CHUNK_COLS: usize = 256;

impl BppInfo {
    /// The info of two solves over disjoint columns: counts add, iterations are the larger.
    fn merge(self, other: Self) -> Self {
        Self {
            iterations: self.iterations.max(other.iterations),
            not_converged: self.not_converged + other.not_converged,
            factorizations: self.factorizations + other.factorizations,
            ridged: self.ridged + other.ridged,
            backup_exchanges: self.backup_exchanges + other.backup_exchanges,
        }
    }
}

/// [`Bpp`] over fixed chunks of 256 columns, solved in parallel. Every column is its own NNLS
/// problem and the chunks do not depend on the thread count, so neither do the results.
#[derive(Debug, Clone)]
pub struct ParBpp<F: NmfFloat> {
    chunks: Vec<Bpp<F>>,
}

impl<F: NmfFloat> ParBpp<F> {
    /// Workspaces for `k` variables and up to `max_cols` right-hand sides (grown, once, if a
    /// larger problem comes).
    pub fn new(k: usize, max_cols: usize) -> Self {
        let chunks = (0..max_cols.div_ceil(CHUNK_COLS))
            .map(|_| Bpp::new(k, CHUNK_COLS.min(max_cols)))
            .collect();
        Self { chunks }
    }

    /// [`Bpp::solve`] on the columns of `b` (k×c), chunk by chunk in parallel with `par`.
    ///
    /// # Errors
    /// As [`Bpp::solve`], for the first failing chunk in column order.
    ///
    /// # Panics
    /// If `q` is not k×k or `v` is not the shape of `b`.
    #[track_caller]
    pub fn solve(&mut self, q: MatRef<'_, F>, b: MatRef<'_, F>, v: MatMut<'_, F>, par: Par) -> Result<BppInfo> {
        assert!(
            v.nrows() == b.nrows() && v.ncols() == b.ncols(),
            "ParBpp::solve: v must be the shape of b"
        );
        let n = b.ncols().div_ceil(CHUNK_COLS);
        if self.chunks.len() < n {
            self.chunks.resize_with(n, Bpp::default);
        }
        if n == 0 {
            return Ok(BppInfo::default());
        }
        bisect_reduce(
            par,
            (0, n),
            1,
            (&mut self.chunks[..n], v),
            &|(bpps, v): (&mut [Bpp<F>], MatMut<'_, F>), lo, mid| {
                let (a, b) = bpps.split_at_mut(mid - lo);
                let (va, vb) = v.split_at_col_mut((mid - lo) * CHUNK_COLS);
                ((a, va), (b, vb))
            },
            |lo, _, (bpps, v): (&mut [Bpp<F>], MatMut<'_, F>)| {
                let cols = v.ncols();
                bpps[0].solve(q, b.subcols(lo * CHUNK_COLS, cols), v)
            },
            &|x: Result<BppInfo>, y: Result<BppInfo>| Ok(x?.merge(y?)),
        )
    }
}

/// Block principal pivoting NNLS for many right-hand sides. See the [module docs](self).
///
/// The struct is the workspace: sized for k variables and up to `max_cols` columns by
/// [`Bpp::new`], it grows (allocating once) if a larger problem comes, and is reused without
/// allocation otherwise.
///
/// ```
/// use nmf_core::faer::{mat, Mat};
/// use nmf_solvers::Bpp;
///
/// // Q = UᵀU, B = UᵀX for U = [[1, 0], [0, 1], [1, 1]] and two columns of X.
/// let q = mat![[2.0, 1.0], [1.0, 2.0]];
/// let b = mat![[3.0, -1.0], [3.0, 1.0]];
/// let mut v = Mat::<f64>::zeros(2, 2);
/// let mut bpp = Bpp::new(2, 2);
/// let info = bpp.solve(q.as_ref(), b.as_ref(), v.as_mut()).unwrap();
/// assert_eq!(info.not_converged, 0);
/// // Column 0 is interior: v = Q⁻¹b = (1, 1). Column 1 clips the first entry: v = (0, ½).
/// assert!((v[(0, 0)] - 1.0).abs() < 1e-14 && (v[(1, 0)] - 1.0).abs() < 1e-14);
/// assert_eq!(v[(0, 1)], 0.0);
/// assert!((v[(1, 1)] - 0.5).abs() < 1e-14);
/// // The dual y = Qv − b is ≥ 0 and vanishes where v > 0.
/// let y = bpp.dual();
/// assert!((y[(0, 1)] - 1.5).abs() < 1e-14 && y[(1, 1)] == 0.0);
/// ```
#[derive(Debug, Clone)]
pub struct Bpp<F: NmfFloat> {
    /// Pivoting iterations allowed (None: 5k).
    max_iter: Option<usize>,
    k: usize,
    cap: usize,
    cols_last: usize,
    /// Passive sets, column-major k×cap.
    passive: Vec<bool>,
    /// Infeasible entries of each column in the last check.
    nbad: Vec<usize>,
    p: Vec<u32>,
    ninf: Vec<usize>,
    /// Columns still being pivoted.
    cols: Vec<usize>,
    /// Indices of the current passive set.
    idx: Vec<usize>,
    /// Dual y = Q v − B (k×cap).
    y: Mat<F>,
    /// Warm start (k×cap), kept for the fallback of columns that do not converge.
    v0: Mat<F>,
    /// Right-hand sides gathered for one group (k×cap), solved in place.
    rhs: Mat<F>,
    /// Q y-product of one group (k×cap).
    qx: Mat<F>,
    /// Q_FF, factored in place (k×k).
    qff: Mat<F>,
    /// Q_{:,F} (k×k).
    qf: Mat<F>,
    /// Cholesky scratch.
    mem: Vec<MaybeUninit<u8>>,
}

impl<F: NmfFloat> Default for Bpp<F> {
    fn default() -> Self {
        Self::new(0, 0)
    }
}

impl<F: NmfFloat> Bpp<F> {
    /// A workspace for `k` variables and up to `max_cols` right-hand sides.
    pub fn new(k: usize, max_cols: usize) -> Self {
        let mut s = Self {
            max_iter: None,
            k: 0,
            cap: 0,
            cols_last: 0,
            passive: Vec::new(),
            nbad: Vec::new(),
            p: Vec::new(),
            ninf: Vec::new(),
            cols: Vec::new(),
            idx: Vec::new(),
            y: Mat::new(),
            v0: Mat::new(),
            rhs: Mat::new(),
            qx: Mat::new(),
            qff: Mat::new(),
            qf: Mat::new(),
            mem: Vec::new(),
        };
        s.reserve(k, max_cols);
        s
    }

    /// Caps the pivoting iterations of each solve (default `5k`, as in Kim & Park's code).
    /// Columns still infeasible at the cap take the fallback described in the
    /// [module docs](self).
    ///
    /// # Errors
    /// [`NmfParamsError::SolverParam`](nmf_core::NmfParamsError::SolverParam) if `n` is 0.
    pub fn with_max_iter(mut self, n: usize) -> Result<Self> {
        if n == 0 {
            return Err(nmf_core::NmfParamsError::SolverParam {
                name: "max_iter",
                value: 0.0,
                expected: "at least 1",
            }
            .into());
        }
        self.max_iter = Some(n);
        Ok(self)
    }

    /// Makes room for `k` variables and `c` columns (allocates only if larger than before).
    fn reserve(&mut self, k: usize, c: usize) {
        if k == self.k && c <= self.cap {
            return;
        }
        let cap = if k == self.k { c } else { c.max(self.cap) };
        self.k = k;
        self.cap = cap;
        self.passive = vec![false; k * cap];
        self.nbad = vec![0; cap];
        self.p = vec![P_BAR; cap];
        self.ninf = vec![0; cap];
        self.cols = Vec::with_capacity(cap);
        self.idx = Vec::with_capacity(k);
        self.y = Mat::zeros(k, cap);
        self.v0 = Mat::zeros(k, cap);
        self.rhs = Mat::zeros(k, cap);
        self.qx = Mat::zeros(k, cap);
        self.qff = Mat::zeros(k, k);
        self.qf = Mat::zeros(k, k);
        let req = cholesky_in_place_scratch::<F>(k, Par::Seq, Default::default());
        self.mem = vec![MaybeUninit::new(0u8); req.unaligned_bytes_required()];
        self.cols_last = 0;
    }

    /// The dual `y = Q v − B` of the last solve (k×c): ≥ 0, and exactly 0 on the passive set.
    pub fn dual(&self) -> MatRef<'_, F> {
        self.y.as_ref().subcols(0, self.cols_last)
    }

    /// Whether entry `(i, j)` was passive (free to be positive) in the last solve's final
    /// passive set. Passive entries can be 0 (degenerate), active entries always are.
    ///
    /// # Panics
    /// If `(i, j)` is outside the last solve's k×c.
    pub fn is_passive(&self, i: usize, j: usize) -> bool {
        assert!(i < self.k && j < self.cols_last);
        self.passive[j * self.k + i]
    }

    /// Solves `min_{V ≥ 0} ½ tr(Vᵀ Q V) − tr(Vᵀ B)` column by column, warm-started from (and
    /// overwriting) `v`: the initial passive sets are the positive entries of `v`, so a zero
    /// `v` is a cold start.
    ///
    /// `q` must be symmetric positive semi-definite (only its lower triangle and diagonal are
    /// read for factorisations; the whole matrix for the dual).
    ///
    /// # Errors
    /// [`NmfError::Linalg`] if `Q_FF` cannot be factored even with a ridge, or if the solution
    /// is not finite (non-finite `q` or `b`).
    ///
    /// # Panics
    /// If `q` is not k×k or `v` is not the shape of `b` (k×c).
    #[track_caller]
    pub fn solve(&mut self, q: MatRef<'_, F>, b: MatRef<'_, F>, mut v: MatMut<'_, F>) -> Result<BppInfo> {
        let (k, c) = (b.nrows(), b.ncols());
        assert!(
            q.nrows() == k && q.ncols() == k && v.nrows() == k && v.ncols() == c,
            "Bpp::solve: q must be k×k and v k×c for b k×c"
        );
        self.reserve(k, c);
        self.cols_last = c;
        let mut info = BppInfo::default();
        if k == 0 || c == 0 {
            return Ok(info);
        }
        let trace = (0..k).fold(F::zero(), |s, l| s + q[(l, l)]);
        let scale = if trace > F::zero() && trace.is_finite() {
            trace / F::from_count(k)
        } else {
            F::one()
        };
        for j in 0..c {
            for l in 0..k {
                let x = v[(l, j)];
                self.v0[(l, j)] = x;
                self.passive[j * k + l] = x > F::zero();
            }
        }
        self.cols.clear();
        self.cols.extend(0..c);
        self.solve_passive(q, b, v.rb_mut(), scale, &mut info)?;
        self.count_infeasible(v.rb());
        for j in 0..c {
            self.p[j] = P_BAR;
            self.ninf[j] = k + 1;
        }
        let max_iter = self.max_iter.unwrap_or(MAX_ITER_PER_VAR * k);
        let mut iter = 0;
        while !self.cols.is_empty() {
            if iter >= max_iter {
                info.not_converged = self.cols.len();
                self.fallback(q, b, v.rb_mut());
                break;
            }
            iter += 1;
            for t in 0..self.cols.len() {
                let j = self.cols[t];
                info.backup_exchanges += usize::from(self.exchange(j, v.rb()));
            }
            self.solve_passive(q, b, v.rb_mut(), scale, &mut info)?;
            self.count_infeasible(v.rb());
        }
        info.iterations = iter;
        // Exact complementarity: y is 0 on the passive set (v is 0 off it by construction),
        // except in the columns that took the fallback (nbad > 0).
        for j in 0..c {
            if self.nbad[j] > 0 {
                continue;
            }
            for l in 0..k {
                if self.passive[j * k + l] {
                    self.y[(l, j)] = F::zero();
                }
            }
        }
        Ok(info)
    }

    /// Counts the infeasible entries of every column in `cols` and keeps only those with some.
    fn count_infeasible(&mut self, v: MatRef<'_, F>) {
        let k = self.k;
        let Self {
            cols, nbad, passive, y, ..
        } = self;
        for &j in cols.iter() {
            let mut n = 0;
            for l in 0..k {
                let bad = if passive[j * k + l] {
                    v[(l, j)] < F::zero()
                } else {
                    y[(l, j)] < F::zero()
                };
                n += usize::from(bad);
            }
            nbad[j] = n;
        }
        cols.retain(|&j| nbad[j] > 0);
    }

    /// One exchange step on column `j`; returns whether the backup rule was used.
    fn exchange(&mut self, j: usize, v: MatRef<'_, F>) -> bool {
        let k = self.k;
        let nb = self.nbad[j];
        let full = if nb < self.ninf[j] {
            self.ninf[j] = nb;
            self.p[j] = P_BAR;
            true
        } else if self.p[j] >= 1 {
            self.p[j] -= 1;
            true
        } else {
            false
        };
        let pass = &mut self.passive[j * k..(j + 1) * k];
        let infeasible = |l: usize, pass: &[bool]| {
            if pass[l] {
                v[(l, j)] < F::zero()
            } else {
                self.y[(l, j)] < F::zero()
            }
        };
        if full {
            for l in 0..k {
                if infeasible(l, pass) {
                    pass[l] = !pass[l];
                }
            }
        } else if let Some(l) = (0..k).rev().find(|&l| infeasible(l, pass)) {
            pass[l] = !pass[l];
        }
        !full
    }

    /// Solves every column of `cols` on its passive set, writes `v` and `y = Q v − b` there.
    fn solve_passive(
        &mut self,
        q: MatRef<'_, F>,
        b: MatRef<'_, F>,
        mut v: MatMut<'_, F>,
        scale: F,
        info: &mut BppInfo,
    ) -> Result<()> {
        let k = self.k;
        let tiny = F::lit(1e-12);
        {
            let Self { cols, passive, .. } = self;
            cols.sort_unstable_by(|&a, &b| passive[a * k..(a + 1) * k].cmp(&passive[b * k..(b + 1) * k]));
        }
        let n = self.cols.len();
        let mut start = 0;
        while start < n {
            let j0 = self.cols[start];
            let mut end = start + 1;
            while end < n && self.same_set(j0, self.cols[end]) {
                end += 1;
            }
            let g = end - start;
            self.idx.clear();
            for l in 0..k {
                if self.passive[j0 * k + l] {
                    self.idx.push(l);
                }
            }
            let nf = self.idx.len();
            if nf == 0 {
                for t in start..end {
                    let j = self.cols[t];
                    v.rb_mut().col_mut(j).fill(F::zero());
                    for l in 0..k {
                        let yl = -b[(l, j)];
                        self.y[(l, j)] = if yl.abs() < tiny { F::zero() } else { yl };
                    }
                }
                start = end;
                continue;
            }
            self.factor(q, scale, info)?;
            // Gather b_F, solve L Lᵀ x = b_F in place, zero the tiny entries.
            for t in 0..g {
                let j = self.cols[start + t];
                for (a, &l) in self.idx.iter().enumerate() {
                    self.rhs[(a, t)] = b[(l, j)];
                }
            }
            {
                let l_fac = self.qff.as_ref().submatrix(0, 0, nf, nf);
                let mut rhs = self.rhs.as_mut().submatrix_mut(0, 0, nf, g);
                solve_lower_triangular_in_place(l_fac, rhs.rb_mut(), Par::Seq);
                solve_upper_triangular_in_place(l_fac.transpose(), rhs.rb_mut(), Par::Seq);
            }
            for t in 0..g {
                for a in 0..nf {
                    let x = self.rhs[(a, t)];
                    if !x.is_finite() {
                        return Err(NmfError::Linalg(
                            "NNLS (block principal pivoting): non-finite solution; Q or B has non-finite entries"
                                .into(),
                        ));
                    }
                    if x.abs() < tiny {
                        self.rhs[(a, t)] = F::zero();
                    }
                }
            }
            // y = Q_{:,F} x_F − b for the group.
            for (a, &l) in self.idx.iter().enumerate() {
                self.qf.as_mut().col_mut(a).copy_from(q.col(l));
            }
            nmf_core::linalg::gemm(
                self.qx.as_mut().submatrix_mut(0, 0, k, g),
                Accum::Replace,
                self.qf.as_ref().submatrix(0, 0, k, nf),
                self.rhs.as_ref().submatrix(0, 0, nf, g),
                F::one(),
                Par::Seq,
            );
            for t in 0..g {
                let j = self.cols[start + t];
                let mut col = v.rb_mut().col_mut(j);
                col.fill(F::zero());
                for (a, &l) in self.idx.iter().enumerate() {
                    col[l] = self.rhs[(a, t)];
                }
                for l in 0..k {
                    let yl = self.qx[(l, t)] - b[(l, j)];
                    self.y[(l, j)] = if yl.abs() < tiny { F::zero() } else { yl };
                }
            }
            start = end;
        }
        Ok(())
    }

    fn same_set(&self, a: usize, b: usize) -> bool {
        let k = self.k;
        self.passive[a * k..(a + 1) * k] == self.passive[b * k..(b + 1) * k]
    }

    /// Factors `Q_FF` (F = `idx`) into the lower triangle of `qff`, adding a ridge if needed.
    fn factor(&mut self, q: MatRef<'_, F>, scale: F, info: &mut BppInfo) -> Result<()> {
        let nf = self.idx.len();
        let eps = F::epsilon();
        let mut ridge = F::zero();
        for attempt in 0..=RIDGE_RETRIES {
            let mut max_diag = F::zero();
            for (b, &lb) in self.idx.iter().enumerate() {
                for (a, &la) in self.idx.iter().enumerate().skip(b) {
                    self.qff[(a, b)] = q[(la, lb)];
                }
                self.qff[(b, b)] += ridge;
                max_diag = max_diag.max(self.qff[(b, b)]);
            }
            info.factorizations += 1;
            if attempt > 0 {
                info.ridged += 1;
            }
            let stack = MemStack::new(&mut self.mem);
            let ok = cholesky_in_place(
                self.qff.as_mut().submatrix_mut(0, 0, nf, nf),
                Default::default(),
                Par::Seq,
                stack,
                Default::default(),
            )
            .is_ok();
            if ok {
                let pivot_floor = F::from_count(nf) * eps * max_diag;
                let min_pivot = (0..nf).fold(F::infinity(), |m, a| m.min(self.qff[(a, a)] * self.qff[(a, a)]));
                if min_pivot > pivot_floor && min_pivot.is_finite() {
                    return Ok(());
                }
            }
            ridge = if ridge == F::zero() {
                // Relative to the block's own scale (the whole Q's if the block is all zero).
                let base = if max_diag > F::zero() && max_diag.is_finite() {
                    max_diag
                } else {
                    scale
                };
                F::lit(10.0) * F::from_count(nf) * eps * base
            } else {
                ridge * F::lit(100.0)
            };
            if !ridge.is_finite() {
                break;
            }
        }
        Err(NmfError::Linalg(format!(
            "NNLS (block principal pivoting): the {nf}x{nf} passive block of the Gram matrix could not be factored, even with a ridge"
        )))
    }

    /// Columns that did not converge: the better of the projected iterate and the warm start.
    fn fallback(&mut self, q: MatRef<'_, F>, b: MatRef<'_, F>, mut v: MatMut<'_, F>) {
        let k = self.k;
        let half = F::lit(0.5);
        let objective = |x: &dyn Fn(usize) -> F, j: usize| {
            let mut f = F::zero();
            for i in 0..k {
                let xi = x(i);
                if xi == F::zero() {
                    continue;
                }
                let mut qx = F::zero();
                for l in 0..k {
                    qx += q[(i, l)] * x(l);
                }
                f += xi * (half * qx - b[(i, j)]);
            }
            f
        };
        for t in 0..self.cols.len() {
            let j = self.cols[t];
            for l in 0..k {
                let x = v[(l, j)].max(F::zero());
                v[(l, j)] = x;
            }
            let f_new = {
                let vr = v.rb();
                objective(&|l| vr[(l, j)], j)
            };
            let f_old = {
                let v0 = &self.v0;
                objective(&|l| v0[(l, j)].max(F::zero()), j)
            };
            if f_old < f_new || !f_new.is_finite() {
                for l in 0..k {
                    v[(l, j)] = self.v0[(l, j)].max(F::zero());
                }
            }
            for i in 0..k {
                let mut yi = -b[(i, j)];
                for l in 0..k {
                    yi += q[(i, l)] * v[(l, j)];
                }
                self.y[(i, j)] = yi;
                self.passive[j * k + i] = v[(i, j)] > F::zero();
            }
        }
    }
}
