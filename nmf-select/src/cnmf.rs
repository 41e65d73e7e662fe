//! cNMF-style consensus factors (Kotliar et al. 2019; SPEC §6.2): pool the W columns
//! ("spectra") of many restarts, drop the outliers by local density, cluster the rest with
//! k-means, take each cluster's median as a consensus spectrum, and refit H by exact NNLS.

use faer::{Accum, Mat, MatRef, Par};
use nmf_core::{linalg, silhouette_score, Data, KMeansParams, NmfFloat};
use nmf_solvers::transform;

use crate::error::{Result, SelectError};

/// Knobs of [`consensus_factors`], with cNMF's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsensusParams {
    /// Spectra whose local density is at least this are dropped before clustering (cNMF
    /// default 0.5; 2 or more keeps every spectrum, since unit vectors are at most 2 apart).
    pub density_threshold: f64,
    /// Neighbours used for the density, as a fraction of the number of restarts
    /// (L = ⌊fraction · R⌋, at least 1; cNMF default 0.30).
    pub local_neighborhood: f64,
    /// k-means starts (cNMF: 10).
    pub kmeans_n_init: usize,
    /// k-means seed (cNMF: 1).
    pub kmeans_seed: u64,
}

impl Default for ConsensusParams {
    fn default() -> Self {
        Self {
            density_threshold: 0.5,
            local_neighborhood: 0.30,
            kmeans_n_init: 10,
            kmeans_seed: 1,
        }
    }
}

impl ConsensusParams {
    /// Checks the ranges.
    ///
    /// # Errors
    /// [`SelectError::BadParam`] for a non-positive or non-finite threshold, a neighbourhood
    /// fraction outside (0, 1], or zero k-means starts.
    pub fn check(&self) -> Result<()> {
        let bad = |name, value: f64, expected| Err(SelectError::BadParam { name, value, expected });
        if !(self.density_threshold > 0.0 && self.density_threshold.is_finite()) {
            return bad("density_threshold", self.density_threshold, "finite and > 0");
        }
        if !(self.local_neighborhood > 0.0 && self.local_neighborhood <= 1.0) {
            return bad("local_neighborhood", self.local_neighborhood, "in (0, 1]");
        }
        if self.kmeans_n_init == 0 {
            return bad("kmeans_n_init", 0.0, "at least 1");
        }
        Ok(())
    }
}

/// The consensus of several restarts at one rank.
#[derive(Debug, Clone)]
pub struct ConsensusFactors<F> {
    /// Consensus spectra, m×k, each column summing to 1 (cluster medians of the
    /// L2-normalised spectra, renormalised).
    pub w: Mat<F>,
    /// Usages, k×n: exact NNLS of X on `w` (Frobenius, whatever loss the restarts used).
    pub h: Mat<F>,
    /// Silhouette (Euclidean) of the k-means clustering of *all* spectra, before density
    /// filtering: cNMF's stability measure. `None` when undefined (k = 1, or one restart).
    pub silhouette: Option<f64>,
    /// Local density of every spectrum, restart-major (spectrum l of restart r at r·k + l).
    pub density: Vec<f64>,
    /// Spectra kept by the density filter.
    pub kept: usize,
    /// Spectra in all (restarts × k).
    pub total: usize,
}

/// L2-normalised columns of every W, stacked as rows (R·k × m). Zero columns stay zero.
fn stack_spectra<F: NmfFloat>(ws: &[MatRef<'_, F>]) -> Mat<F> {
    let m = ws[0].nrows();
    let k = ws[0].ncols();
    let mut pts = Mat::<F>::zeros(ws.len() * k, m);
    for (r, w) in ws.iter().enumerate() {
        for l in 0..k {
            let col = w.col(l);
            let norm = col.iter().fold(F::zero(), |s, &v| s + v * v).sqrt();
            if norm > F::zero() {
                for i in 0..m {
                    pts[(r * k + l, i)] = col[i] / norm;
                }
            }
        }
    }
    pts
}

/// cNMF's local density: for each spectrum, the sum of its L + 1 smallest Euclidean
/// distances to all spectra (itself included, at 0), divided by L.
fn local_density<F: NmfFloat>(pts: MatRef<'_, F>, neighbours: usize, par: Par) -> Vec<f64> {
    let p = pts.nrows();
    let mut gram = Mat::<F>::zeros(p, p);
    linalg::gemm(gram.as_mut(), Accum::Replace, pts, pts.transpose(), F::one(), par);
    let sq: Vec<f64> = (0..p).map(|a| gram[(a, a)].to_f64_lossy()).collect();
    let take = (neighbours + 1).min(p);
    let mut row = vec![0.0f64; p];
    (0..p)
        .map(|a| {
            for (b, d) in row.iter_mut().enumerate() {
                *d = if a == b {
                    0.0
                } else {
                    (sq[a] + sq[b] - 2.0 * gram[(a, b)].to_f64_lossy()).max(0.0).sqrt()
                };
            }
            row.select_nth_unstable_by(take - 1, f64::total_cmp);
            row[..take].iter().sum::<f64>() / neighbours as f64
        })
        .collect()
}

/// Consensus factors from the W (m×k) of several restarts at the same rank (SPEC §6.2):
/// stack the L2-normalised columns, drop those with local density ≥ the threshold, k-means
/// the rest into k clusters, take per-cluster medians renormalised to sum 1, and refit H by
/// NNLS ([`nmf_solvers::transform`]). The silhouette of the k-means clustering of all
/// spectra (no filtering) is the stability.
///
/// # Errors
/// [`SelectError::BadParam`] for no restarts or factors of different shapes, or bad
/// `params`; [`SelectError::DensityFilterTooStrict`]; clustering or NNLS failures.
pub fn consensus_factors<F: NmfFloat>(
    data: &Data<F>,
    ws: &[MatRef<'_, F>],
    params: &ConsensusParams,
    par: Par,
) -> Result<ConsensusFactors<F>> {
    params.check()?;
    let k = check_shapes(ws, Some(data.nrows()))?;
    let m = data.nrows();
    let pts = stack_spectra(ws);
    let total = pts.nrows();
    let neighbours = ((params.local_neighborhood * ws.len() as f64).floor() as usize).max(1);
    let density = local_density(pts.as_ref(), neighbours, par);
    let keep: Vec<usize> = (0..total).filter(|&a| density[a] < params.density_threshold).collect();
    if keep.len() < k {
        return Err(SelectError::DensityFilterTooStrict {
            kept: keep.len(),
            total,
            k,
        });
    }
    let (all_labels, silhouette) = cluster_all(pts.as_ref(), k, params)?;
    let labels = if keep.len() == total {
        all_labels
    } else {
        let kept_pts = Mat::from_fn(keep.len(), m, |a, i| pts[(keep[a], i)]);
        cluster_all(kept_pts.as_ref(), k, params)?.0
    };
    let mut w = Mat::<F>::zeros(m, k);
    let mut values: Vec<F> = Vec::with_capacity(keep.len());
    for c in 0..k {
        let members: Vec<usize> = keep
            .iter()
            .zip(&labels)
            .filter(|(_, &l)| l == c)
            .map(|(&a, _)| a)
            .collect();
        for i in 0..m {
            values.clear();
            values.extend(members.iter().map(|&a| pts[(a, i)]));
            w[(i, c)] = median(&mut values);
        }
        let sum = w.col(c).iter().fold(F::zero(), |s, &v| s + v);
        if sum > F::zero() {
            w.col_mut(c).iter_mut().for_each(|v| *v /= sum);
        }
    }
    let h = transform(data, w.as_ref(), (F::zero(), F::zero()), par)?;
    Ok(ConsensusFactors {
        w,
        h,
        silhouette,
        density,
        kept: keep.len(),
        total,
    })
}

/// k-means of all spectra (rows of `pts`) and its silhouette (`None` when undefined: k = 1
/// or no more spectra than clusters).
fn cluster_all<F: NmfFloat>(
    pts: MatRef<'_, F>,
    k: usize,
    params: &ConsensusParams,
) -> Result<(Vec<usize>, Option<f64>)> {
    let fit = KMeansParams::new(k)
        .n_init(params.kmeans_n_init)
        .seed(params.kmeans_seed)
        .check()?
        .fit(pts)?;
    let silhouette = if k >= 2 && pts.nrows() > k {
        Some(silhouette_score(pts, &fit.labels)?.to_f64_lossy())
    } else {
        None
    };
    Ok((fit.labels, silhouette))
}

/// cNMF's stability of one rank: the silhouette of the k-means clustering (k = the rank) of
/// the L2-normalised W columns of all restarts, with no density filtering (SPEC §6.2.7).
/// `None` when undefined (k = 1, or a single restart).
///
/// # Errors
/// [`SelectError::BadParam`] for no factors or factors of different shapes; clustering
/// failures (non-finite factors).
pub fn spectra_silhouette<F: NmfFloat>(ws: &[MatRef<'_, F>], params: &ConsensusParams) -> Result<Option<f64>> {
    params.check()?;
    let k = check_shapes(ws, None)?;
    if ws.len() < 2 {
        return Ok(None);
    }
    let pts = stack_spectra(ws);
    Ok(cluster_all(pts.as_ref(), k, params)?.1)
}

/// Checks that the factors share one shape (with `m` rows if given); returns k.
fn check_shapes<F: NmfFloat>(ws: &[MatRef<'_, F>], m: Option<usize>) -> Result<usize> {
    let Some(first) = ws.first() else {
        return Err(SelectError::BadParam {
            name: "restarts",
            value: 0.0,
            expected: "at least 1 factor matrix",
        });
    };
    let (rows, k) = (first.nrows(), first.ncols());
    if k == 0 || ws.iter().any(|w| w.nrows() != rows || w.ncols() != k) || m.is_some_and(|m| m != rows) {
        return Err(SelectError::BadParam {
            name: "factor shapes",
            value: k as f64,
            expected: "every W with one row per feature of X and the same k >= 1 columns",
        });
    }
    Ok(k)
}

/// Median (mean of the two middle values for an even count); 0 for no values.
fn median<F: NmfFloat>(v: &mut [F]) -> F {
    let n = v.len();
    if n == 0 {
        return F::zero();
    }
    let cmp = |a: &F, b: &F| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal);
    v.sort_unstable_by(cmp);
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / F::lit(2.0)
    }
}
