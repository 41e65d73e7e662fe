//! Held-out error estimators of the rank: masked ("speckled") cross-validation (SPEC §6.4)
//! and Owen & Perry bi-cross-validation (SPEC §6.3).

use faer::{Mat, MatRef, Par};
use nmf_core::loss::beta_elem;
use nmf_core::{CscMatrix, Data, Loss, Mask, Matrix, NmfError, NmfFloat, NmfProblem, Solver};
use nmf_solvers::transform;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::Result;
use crate::fitter::Fitter;

/// A dense copy of X (missing entries as stored, i.e. 0).
pub(crate) fn dense_copy<F: NmfFloat>(data: &Data<F>) -> Mat<F> {
    match data.matrix() {
        Matrix::Dense(x) => x.clone(),
        Matrix::Sparse(s) => s.to_dense(),
    }
}

/// The entries held out by one masked-CV repeat: `count = max(1, round(fraction · observed))`
/// entries drawn uniformly without replacement among the observed ones (zeros and nonzeros
/// alike), by a partial Fisher–Yates shuffle seeded with `seed`. Returns the fitting mask
/// (observed and not held out) and the held-out (row, column) pairs in column-major order.
pub fn holdout<F: NmfFloat>(data: &Data<F>, fraction: f64, seed: u64) -> (Mask, Vec<(usize, usize)>) {
    let (m, n) = (data.nrows(), data.ncols());
    let mut observed: Vec<usize> = (0..m * n)
        .filter(|&t| data.mask().is_none_or(|mk| mk.is_observed(t % m, t / m)))
        .collect();
    let count = ((fraction * observed.len() as f64).round() as usize).clamp(1, observed.len());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for a in 0..count {
        let b = rng.random_range(a..observed.len());
        observed.swap(a, b);
    }
    let mut held: Vec<usize> = observed[..count].to_vec();
    held.sort_unstable();
    let mut flags = vec![false; m * n];
    for &t in &observed[count..] {
        flags[t] = true;
    }
    let mask = Mask::from_col_major(m, n, flags).expect("m·n flags");
    (mask, held.into_iter().map(|t| (t % m, t / m)).collect())
}

/// Mean β-divergence d_β(x | (WH)_ij) over the given entries of X: the loss that was fitted
/// (so ½·MSE for Frobenius, the mean Poisson deviance / 2 for KL), with WH floored at the
/// smallest positive number where the divergence needs it.
pub fn heldout_error<F: NmfFloat>(
    x: MatRef<'_, F>,
    w: MatRef<'_, F>,
    h: MatRef<'_, F>,
    entries: &[(usize, usize)],
    beta: F,
) -> f64 {
    let floor = F::min_positive_value();
    let k = w.ncols();
    let total: f64 = entries
        .iter()
        .map(|&(i, j)| {
            let y = (0..k).fold(F::zero(), |s, l| s + w[(i, l)] * h[(l, j)]);
            beta_elem(beta, x[(i, j)], y.max(floor)).to_f64_lossy()
        })
        .sum();
    total / entries.len().max(1) as f64
}

/// One masked-CV repeat at one rank: fit on the kept entries, score the held-out ones.
pub(crate) fn masked_cv_repeat<F, L, M, S>(
    fitter: &Fitter<'_, F, L, M>,
    x: MatRef<'_, F>,
    data: &Data<F>,
    rank: usize,
    fraction: f64,
    mask_seed: u64,
    fit_seed: u64,
) -> Result<f64>
where
    F: NmfFloat,
    L: Loss<F>,
    M: Fn() -> S + Sync,
    S: for<'b> Solver<F, NmfProblem<'b, F, L>>,
{
    let (mask, held) = holdout(data, fraction, mask_seed);
    let masked = Data::dense_masked(x.to_owned(), mask)?;
    let fit = fitter.fit(&masked, rank, fit_seed)?;
    Ok(heldout_error(
        x,
        fit.state.w.as_ref(),
        fit.state.h.as_ref(),
        &held,
        fitter.loss.beta(),
    ))
}

/// The rows (or columns) of one bi-cross-validation permutation, split into `groups`
/// nearly equal groups, each sorted.
pub(crate) fn split(len: usize, groups: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let mut perm: Vec<usize> = (0..len).collect();
    perm.shuffle(rng);
    (0..groups)
        .map(|g| {
            let mut part = perm[g * len / groups..(g + 1) * len / groups].to_vec();
            part.sort_unstable();
            part
        })
        .collect()
}

/// X[rows, cols] in X's storage kind; `rows` and `cols` sorted.
pub fn sub_matrix<F: NmfFloat>(x: &Matrix<F>, rows: &[usize], cols: &[usize]) -> Matrix<F> {
    match x {
        Matrix::Dense(d) => Matrix::Dense(Mat::from_fn(rows.len(), cols.len(), |a, b| d[(rows[a], cols[b])])),
        Matrix::Sparse(s) => {
            let mut pos = vec![usize::MAX; s.nrows()];
            for (a, &i) in rows.iter().enumerate() {
                pos[i] = a;
            }
            let mut col_ptr = Vec::with_capacity(cols.len() + 1);
            col_ptr.push(0);
            let (mut row_idx, mut values) = (Vec::new(), Vec::new());
            for &j in cols {
                for t in s.col_ptr()[j]..s.col_ptr()[j + 1] {
                    let a = pos[s.row_idx()[t]];
                    if a != usize::MAX {
                        row_idx.push(a);
                        values.push(s.values()[t]);
                    }
                }
                col_ptr.push(row_idx.len());
            }
            Matrix::Sparse(
                CscMatrix::try_from_parts(rows.len(), cols.len(), col_ptr, row_idx, values)
                    .expect("a sorted selection of a valid CSC matrix is valid"),
            )
        }
    }
}

/// NNLS coefficients of the columns of `x` on `basis`; all zero when `x` is all zero.
fn nnls_or_zero<F: NmfFloat>(x: Matrix<F>, basis: MatRef<'_, F>) -> Result<Mat<F>> {
    let n = x.ncols();
    match Data::new(x, None) {
        Ok(d) => Ok(transform(&d, basis, (F::zero(), F::zero()), Par::Seq)?),
        Err(NmfError::AllZero) => Ok(Mat::zeros(basis.ncols(), n)),
        Err(e) => Err(e.into()),
    }
}

/// Squared error ‖A − W_A H_A‖²_F summed over every held-out block of one (h × l)
/// bi-cross-validation split (Owen & Perry 2009): D = X[Iᶜ, Jᶜ] ≈ W_D H_D by the rank-k
/// fit, W_A = NNLS of B = X[I, Jᶜ] on H_D, H_A = NNLS of C = X[Iᶜ, J] on W_D. `None` when
/// k exceeds the size of some D.
pub(crate) fn bcv_split<F, L, M, S>(
    fitter: &Fitter<'_, F, L, M>,
    data: &Data<F>,
    rank: usize,
    row_groups: &[Vec<usize>],
    col_groups: &[Vec<usize>],
    fit_seed: u64,
) -> Result<Option<f64>>
where
    F: NmfFloat,
    L: Loss<F>,
    M: Fn() -> S + Sync,
    S: for<'b> Solver<F, NmfProblem<'b, F, L>>,
{
    let (m, n) = (data.nrows(), data.ncols());
    let complement = |part: &[usize], len: usize| -> Vec<usize> {
        let mut inside = vec![false; len];
        part.iter().for_each(|&i| inside[i] = true);
        (0..len).filter(|&i| !inside[i]).collect()
    };
    let x = data.matrix();
    let mut total = 0.0;
    for rows in row_groups {
        let rows_c = complement(rows, m);
        for cols in col_groups {
            let cols_c = complement(cols, n);
            if rank > rows_c.len().min(cols_c.len()) {
                return Ok(None);
            }
            let d = Data::new(sub_matrix(x, &rows_c, &cols_c), None)?;
            let fit = fitter.fit(&d, rank, fit_seed)?;
            let (w_d, h_d) = (fit.state.w.as_ref(), fit.state.h.as_ref());
            // W_Aᵀ solves Bᵀ ≈ H_Dᵀ W_Aᵀ column by column.
            let w_a_t = nnls_or_zero(sub_matrix(x, rows, &cols_c).transpose(), h_d.transpose())?;
            let h_a = nnls_or_zero(sub_matrix(x, &rows_c, cols), w_d)?;
            total += block_sq_error(&sub_matrix(x, rows, cols), w_a_t.as_ref(), h_a.as_ref());
        }
    }
    Ok(Some(total))
}

/// ‖A − Wᵀ_t H‖²_F for W given transposed (k × rows), without a dense copy of sparse A:
/// Σ_all ŷ² − 2 Σ_nz a ŷ + Σ_nz a², with Σ_all ŷ² = ⟨W Wᵀ, H Hᵀ⟩ over the k × k Grams.
/// Accumulated in f64.
fn block_sq_error<F: NmfFloat>(a: &Matrix<F>, w_t: MatRef<'_, F>, h: MatRef<'_, F>) -> f64 {
    let k = w_t.nrows();
    let f = |v: F| v.to_f64_lossy();
    let pred = |r: usize, b: usize| (0..k).fold(0.0, |s, l| s + f(w_t[(l, r)]) * f(h[(l, b)]));
    match a {
        Matrix::Dense(d) => {
            let mut s = 0.0;
            for b in 0..d.ncols() {
                for r in 0..d.nrows() {
                    let e = f(d[(r, b)]) - pred(r, b);
                    s += e * e;
                }
            }
            s
        }
        Matrix::Sparse(sp) => {
            let gram =
                |m: MatRef<'_, F>, l: usize, q: usize| (0..m.ncols()).fold(0.0, |s, c| s + f(m[(l, c)]) * f(m[(q, c)]));
            let mut pred_sq = 0.0;
            for l in 0..k {
                for q in 0..k {
                    pred_sq += gram(w_t, l, q) * gram(h, l, q);
                }
            }
            let mut cross = 0.0;
            for b in 0..sp.ncols() {
                for t in sp.col_ptr()[b]..sp.col_ptr()[b + 1] {
                    let v = f(sp.values()[t]);
                    cross += v * (v - 2.0 * pred(sp.row_idx()[t], b));
                }
            }
            (pred_sq + cross).max(0.0)
        }
    }
}
