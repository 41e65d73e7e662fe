//! Metrics: reconstruction error, KL divergence, KKT residual, module recovery (matched
//! cosine via the Hungarian algorithm) and cluster agreement (adjusted Rand index).

use faer::MatRef;

use crate::data::Data;
use crate::error::{NmfError, Result};
use crate::loss::{beta_value, LossWorkspace};
use crate::NmfFloat;

/// ‖X − W H‖_F / ‖X‖_F over observed entries (no m×n temporary for sparse X).
pub fn relative_error<F: NmfFloat>(data: &Data<F>, w: MatRef<'_, F>, h: MatRef<'_, F>, par: faer::Par) -> F {
    let mut ws = LossWorkspace::new(par);
    let half_sq = beta_value(F::lit(2.0), data, w, h, &mut ws);
    (F::lit(2.0) * half_sq).max(F::zero()).sqrt() / data.norm()
}

/// Generalized KL divergence Σ x log(x/y) − x + y over observed entries, with 0·log 0 = 0
/// (O(nnz·k) for sparse X).
pub fn kl_divergence<F: NmfFloat>(data: &Data<F>, w: MatRef<'_, F>, h: MatRef<'_, F>, par: faer::Par) -> F {
    let mut ws = LossWorkspace::new(par);
    beta_value(F::one(), data, w, h, &mut ws)
}

/// ‖P(∇)‖² for one factor, where P keeps the gradient g = pos − neg on positive entries and
/// only its negative part min(g, 0) on zero entries (the KKT conditions of F ≥ 0).
pub fn projected_gradient_sq_norm<F: NmfFloat>(factor: MatRef<'_, F>, pos: MatRef<'_, F>, neg: MatRef<'_, F>) -> F {
    let mut s = F::zero();
    for j in 0..factor.ncols() {
        for i in 0..factor.nrows() {
            let g = pos[(i, j)] - neg[(i, j)];
            let p = if factor[(i, j)] > F::zero() {
                g
            } else {
                g.min(F::zero())
            };
            s += p * p;
        }
    }
    s
}

/// Matching of estimated to true factors by cosine similarity.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchedCosine {
    /// Mean cosine over matched pairs.
    pub mean: f64,
    /// Smallest cosine over matched pairs.
    pub min: f64,
    /// `(true column, estimated column, cosine)` for each matched pair.
    pub pairs: Vec<(usize, usize, f64)>,
}

/// Matches the columns of `truth` (m×K_t) to those of `estimate` (m×K_e) so that the sum of
/// cosines is largest (Hungarian algorithm), and reports the matched cosines. With
/// K_e ≠ K_t, min(K_t, K_e) pairs are matched.
///
/// # Errors
/// [`NmfError::ShapeMismatch`] if the row counts differ; [`NmfError::Linalg`] if the
/// assignment fails (non-finite input).
pub fn matched_cosine<F: NmfFloat>(truth: MatRef<'_, F>, estimate: MatRef<'_, F>) -> Result<MatchedCosine> {
    if truth.nrows() != estimate.nrows() {
        return Err(NmfError::ShapeMismatch {
            what: "estimated factor",
            expected_rows: truth.nrows(),
            expected_cols: estimate.ncols(),
            got_rows: estimate.nrows(),
            got_cols: estimate.ncols(),
        });
    }
    let (kt, ke) = (truth.ncols(), estimate.ncols());
    let col_norm = |a: MatRef<'_, F>, j: usize| a.col(j).iter().fold(0.0, |s, v| s + v.to_f64_lossy().powi(2)).sqrt();
    let nt: Vec<f64> = (0..kt).map(|j| col_norm(truth, j)).collect();
    let ne: Vec<f64> = (0..ke).map(|j| col_norm(estimate, j)).collect();
    let mut cos = vec![0.0; kt * ke];
    for a in 0..kt {
        for b in 0..ke {
            let d: f64 = truth
                .col(a)
                .iter()
                .zip(estimate.col(b).iter())
                .map(|(x, y)| x.to_f64_lossy() * y.to_f64_lossy())
                .sum();
            let den = nt[a] * ne[b];
            cos[a * ke + b] = if den > 0.0 { d / den } else { 0.0 };
        }
    }
    let (rows, cols) =
        lsap::solve(kt, ke, &cos, true).map_err(|e| NmfError::Linalg(format!("assignment failed: {e:?}")))?;
    let pairs: Vec<(usize, usize, f64)> = rows.iter().zip(&cols).map(|(&a, &b)| (a, b, cos[a * ke + b])).collect();
    let mean = pairs.iter().map(|p| p.2).sum::<f64>() / pairs.len().max(1) as f64;
    let min = pairs.iter().map(|p| p.2).fold(f64::INFINITY, f64::min);
    Ok(MatchedCosine { mean, min, pairs })
}

/// The index of the largest entry of each column of H (k×n): the dominant factor per sample.
pub fn argmax_labels<F: NmfFloat>(h: MatRef<'_, F>) -> Vec<usize> {
    (0..h.ncols())
        .map(|j| {
            let mut best = 0;
            for l in 1..h.nrows() {
                if h[(l, j)] > h[(best, j)] {
                    best = l;
                }
            }
            best
        })
        .collect()
}

/// Adjusted Rand index between two labelings of the same samples (Hubert & Arabie 1985):
/// 1 for identical partitions (up to renaming), about 0 for chance.
///
/// # Errors
/// [`NmfError::ShapeMismatch`] if the labelings differ in length.
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> Result<f64> {
    if a.len() != b.len() {
        return Err(NmfError::ShapeMismatch {
            what: "labels",
            expected_rows: a.len(),
            expected_cols: 1,
            got_rows: b.len(),
            got_cols: 1,
        });
    }
    let n = a.len();
    if n < 2 {
        return Ok(1.0);
    }
    let ka = a.iter().max().map_or(0, |m| m + 1);
    let kb = b.iter().max().map_or(0, |m| m + 1);
    let mut table = vec![0u64; ka * kb];
    for (&x, &y) in a.iter().zip(b) {
        table[x * kb + y] += 1;
    }
    let c2 = |x: u64| (x * x.saturating_sub(1)) as f64 / 2.0;
    let sum_ij: f64 = table.iter().map(|&v| c2(v)).sum();
    let sum_a: f64 = (0..ka).map(|i| c2((0..kb).map(|j| table[i * kb + j]).sum())).sum();
    let sum_b: f64 = (0..kb).map(|j| c2((0..ka).map(|i| table[i * kb + j]).sum())).sum();
    let expected = sum_a * sum_b / c2(n as u64);
    let max = (sum_a + sum_b) / 2.0;
    if max == expected {
        // Both partitions trivial (one cluster each, or all singletons): identical.
        return Ok(1.0);
    }
    Ok((sum_ij - expected) / (max - expected))
}
