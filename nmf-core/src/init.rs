//! Initial factors: scikit-learn-style random, NNDSVD and its variants, or user-supplied.
//!
//! All are seeded and deterministic: the same seed gives the same factors on every run and
//! platform (ChaCha8 stream; the SVD is a seeded randomized SVD that works on sparse X
//! through products only).

use faer::{Mat, MatMut, MatRef, Par};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::data::{Data, Matrix};
use crate::error::{NmfError, Result};
use crate::linalg;
use crate::NmfFloat;

/// How to choose the initial W and H.
#[derive(Debug, Clone, PartialEq)]
pub enum Init<F> {
    /// `sqrt(mean(X)/k)·|N(0, 1)|` entrywise (scikit-learn's `random`).
    Random,
    /// Non-negative double SVD (Boutsidis & Gallopoulos 2008); keeps exact zeros, which
    /// multiplicative updates can never leave.
    Nndsvd,
    /// NNDSVD with zeros filled by mean(X) (scikit-learn's default; best with MU).
    NndsvdA,
    /// NNDSVD with zeros filled by small random values `mean(X)·|N(0,1)|/100`.
    NndsvdAr,
    /// User-supplied factors (validated: shapes, finite, ≥ 0).
    Custom {
        /// m×k.
        w: Mat<F>,
        /// k×n.
        h: Mat<F>,
    },
}

impl<F> Init<F> {
    /// The name written in summaries.
    pub fn name(&self) -> &'static str {
        match self {
            Init::Random => "random",
            Init::Nndsvd => "nndsvd",
            Init::NndsvdA => "nndsvda",
            Init::NndsvdAr => "nndsvdar",
            Init::Custom { .. } => "custom",
        }
    }
}

/// Computes the initial (W, H) for `data` at `rank`.
///
/// # Errors
/// A bad rank ([`NmfError::RankTooLarge`]); for `Custom`, [`NmfError::ShapeMismatch`] or
/// [`NmfError::InvalidInit`]; an SVD failure ([`NmfError::Linalg`]).
pub fn initialize<F: NmfFloat>(
    data: &Data<F>,
    rank: usize,
    init: &Init<F>,
    seed: u64,
    par: Par,
) -> Result<(Mat<F>, Mat<F>)> {
    data.check_rank(rank)?;
    let (m, n) = (data.nrows(), data.ncols());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = move || -> F { F::lit(StandardNormal.sample(&mut rng)) };
    match init {
        Init::Random => {
            let avg = (data.mean() / F::from_count(rank)).sqrt();
            let w = Mat::from_fn(m, rank, |_, _| avg * normal().abs());
            let h = Mat::from_fn(rank, n, |_, _| avg * normal().abs());
            Ok((w, h))
        }
        Init::Nndsvd | Init::NndsvdA | Init::NndsvdAr => {
            let (u, s, v) = randomized_svd(data, rank, &mut normal, par)?;
            let (mut w, mut h) = nndsvd_from_svd(u.as_ref(), &s, v.as_ref());
            let avg = data.mean();
            let mut fill = |x: &mut F| {
                if *x == F::zero() {
                    *x = match init {
                        Init::NndsvdA => avg,
                        _ => avg * normal().abs() / F::lit(100.0),
                    };
                }
            };
            if !matches!(init, Init::Nndsvd) {
                for j in 0..rank {
                    w.as_mut().col_mut(j).iter_mut().for_each(&mut fill);
                }
                for j in 0..n {
                    h.as_mut().col_mut(j).iter_mut().for_each(&mut fill);
                }
            }
            Ok((w, h))
        }
        Init::Custom { w, h } => {
            check_custom("W", w.as_ref(), m, rank)?;
            check_custom("H", h.as_ref(), rank, n)?;
            Ok((w.clone(), h.clone()))
        }
    }
}

fn check_custom<F: NmfFloat>(factor: &'static str, a: MatRef<'_, F>, r: usize, c: usize) -> Result<()> {
    if a.nrows() != r || a.ncols() != c {
        return Err(NmfError::ShapeMismatch {
            what: if factor == "W" { "initial W" } else { "initial H" },
            expected_rows: r,
            expected_cols: c,
            got_rows: a.nrows(),
            got_cols: a.ncols(),
        });
    }
    for j in 0..c {
        for i in 0..r {
            let v = a[(i, j)];
            if !v.is_finite() || v < F::zero() {
                return Err(NmfError::InvalidInit {
                    factor,
                    row: i,
                    col: j,
                    value: v.to_f64_lossy(),
                });
            }
        }
    }
    Ok(())
}

/// Rank-`k` truncated SVD of X by a seeded randomized range finder (Halko, Martinsson &
/// Tropp 2011) with QR-orthonormalised power iterations: only products with X and Xᵀ, so
/// sparse X stays sparse. Returns U (m×k), the singular values, and V (n×k).
///
/// With `k + 10 ≥ min(m, n)` the sketch spans X's whole range and the SVD is exact.
///
/// # Errors
/// [`NmfError::Linalg`] if the small SVD fails.
pub fn randomized_svd<F: NmfFloat>(
    data: &Data<F>,
    k: usize,
    normal: &mut impl FnMut() -> F,
    par: Par,
) -> Result<(Mat<F>, Vec<F>, Mat<F>)> {
    let (m, n) = (data.nrows(), data.ncols());
    let x = data.matrix();
    let l = (k + 10).min(m.min(n));
    let power_iters = if (k as f64) < 0.1 * (m.min(n) as f64) { 7 } else { 4 };
    let omega = Mat::from_fn(n, l, |_, _| normal());
    let mut y = Mat::<F>::zeros(m, l);
    let mut z = Mat::<F>::zeros(n, l);
    let mut scratch = Products::new(x, m, n, l);
    scratch.x_times(x, omega.as_ref(), y.as_mut(), par);
    let mut q = linalg::thin_q(y.as_ref());
    for _ in 0..power_iters {
        scratch.xt_times(x, q.as_ref(), z.as_mut(), par);
        let qz = linalg::thin_q(z.as_ref());
        scratch.x_times(x, qz.as_ref(), y.as_mut(), par);
        q = linalg::thin_q(y.as_ref());
    }
    // B = Qᵀ X = (Xᵀ Q)ᵀ, l×n.
    scratch.xt_times(x, q.as_ref(), z.as_mut(), par);
    let b = z.transpose().to_owned();
    let (ub, s, v) = linalg::thin_svd(b.as_ref())?;
    let mut u = Mat::<F>::zeros(m, ub.ncols());
    linalg::gemm(u.as_mut(), faer::Accum::Replace, q.as_ref(), ub.as_ref(), F::one(), par);
    Ok((
        u.as_ref().subcols(0, k).to_owned(),
        s[..k].to_vec(),
        v.as_ref().subcols(0, k).to_owned(),
    ))
}

/// X·B and Xᵀ·A for the range finder. Sparse X goes through the kernels the solvers use
/// (`b_times_xt`, `at_times_x`: contiguous k-vectors per nonzero, several times faster than
/// the column-major `x_times`/`xt_times` at these widths) on transposed copies; the sums run
/// in the same order, so the result is the same bits. Dense X uses GEMM directly.
struct Products<F> {
    /// (l×n, l×m) transposed buffers, empty for dense X.
    t_n: Mat<F>,
    t_m: Mat<F>,
    scatter: Vec<F>,
}

impl<F: NmfFloat> Products<F> {
    fn new(x: &Matrix<F>, m: usize, n: usize, l: usize) -> Self {
        let (rows_n, rows_m) = if matches!(x, Matrix::Sparse(_)) { (n, m) } else { (0, 0) };
        Self {
            t_n: Mat::zeros(l, rows_n),
            t_m: Mat::zeros(l, rows_m),
            scatter: Vec::new(),
        }
    }

    /// `out (m×l) ← X·B` for B (n×l).
    fn x_times(&mut self, x: &Matrix<F>, b: MatRef<'_, F>, mut out: MatMut<'_, F>, par: Par) {
        if let Matrix::Sparse(_) = x {
            self.t_n.copy_from(b.transpose());
            linalg::b_times_xt(x, self.t_n.as_ref(), self.t_m.as_mut(), par, &mut self.scatter);
            out.copy_from(self.t_m.transpose());
        } else {
            linalg::x_times(x, b, out, par);
        }
    }

    /// `out (n×l) ← Xᵀ·A` for A (m×l).
    fn xt_times(&mut self, x: &Matrix<F>, a: MatRef<'_, F>, mut out: MatMut<'_, F>, par: Par) {
        if let Matrix::Sparse(_) = x {
            self.t_m.copy_from(a.transpose());
            linalg::at_times_x(x, self.t_m.as_ref(), self.t_n.as_mut(), par);
            out.copy_from(self.t_n.transpose());
        } else {
            linalg::xt_times(x, a, out, par);
        }
    }
}

/// NNDSVD (SPEC §5.1) from a truncated SVD, with guards for zero parts: a pair whose
/// dominant signed part vanishes leaves its column of W and row of H at zero.
pub fn nndsvd_from_svd<F: NmfFloat>(u: MatRef<'_, F>, s: &[F], v: MatRef<'_, F>) -> (Mat<F>, Mat<F>) {
    let (m, n, k) = (u.nrows(), v.nrows(), s.len());
    let mut w = Mat::<F>::zeros(m, k);
    let mut h = Mat::<F>::zeros(k, n);
    let norm = |it: &mut dyn Iterator<Item = F>| it.fold(F::zero(), |a, x| a + x * x).sqrt();
    for j in 0..k {
        let (x, y) = (u.col(j), v.col(j));
        if j == 0 {
            let sq = s[0].max(F::zero()).sqrt();
            for i in 0..m {
                w[(i, 0)] = sq * x[i].abs();
            }
            for i in 0..n {
                h[(0, i)] = sq * y[i].abs();
            }
            continue;
        }
        let xp = norm(&mut x.iter().map(|a| a.max(F::zero())));
        let xn = norm(&mut x.iter().map(|a| (-*a).max(F::zero())));
        let yp = norm(&mut y.iter().map(|a| a.max(F::zero())));
        let yn = norm(&mut y.iter().map(|a| (-*a).max(F::zero())));
        let (mp, mn) = (xp * yp, xn * yn);
        let (sign, sigma, nx, ny) = if mp > mn {
            (F::one(), mp, xp, yp)
        } else {
            (-F::one(), mn, xn, yn)
        };
        // Both signed parts vanish (or are NaN): leave this pair at zero.
        if sigma.partial_cmp(&F::zero()) != Some(std::cmp::Ordering::Greater) {
            continue;
        }
        let lbd = (s[j].max(F::zero()) * sigma).sqrt();
        for i in 0..m {
            w[(i, j)] = lbd * (sign * x[i]).max(F::zero()) / nx;
        }
        for i in 0..n {
            h[(j, i)] = lbd * (sign * y[i]).max(F::zero()) / ny;
        }
    }
    let thr = F::lit(1e-6);
    for j in 0..k {
        for i in 0..m {
            if w[(i, j)] < thr {
                w[(i, j)] = F::zero();
            }
        }
        for i in 0..n {
            if h[(j, i)] < thr {
                h[(j, i)] = F::zero();
            }
        }
    }
    (w, h)
}
