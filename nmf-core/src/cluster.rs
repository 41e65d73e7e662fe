//! Clustering of points given as the rows of a matrix: k-means (k-means++ seeding, several
//! seeded starts, Lloyd iterations) and the silhouette coefficient.
//!
//! Used for the bcNMF evaluation protocol (KMeans on the rows of H_Xᵀ, SPEC §1.9) and for
//! cNMF consensus (KMeans on the stacked replicate spectra, its silhouette as the stability
//! measure, SPEC §6.2).
//!
//! ```
//! use faer::Mat;
//! use nmf_core::cluster::{silhouette_score, KMeansParams};
//!
//! // Two well-separated groups of three points in the plane.
//! let pts = Mat::from_fn(6, 2, |i, j| if i < 3 { (i + j) as f64 * 0.1 } else { 10.0 + (i + j) as f64 * 0.1 });
//! let fit = KMeansParams::new(2).n_init(4).seed(7).check().unwrap().fit(pts.as_ref()).unwrap();
//! assert_eq!(fit.labels[0], fit.labels[2]);
//! assert_ne!(fit.labels[0], fit.labels[3]);
//! assert!(silhouette_score(pts.as_ref(), &fit.labels).unwrap() > 0.9);
//! ```

use faer::{Mat, MatRef};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use thiserror::Error;

use crate::NmfFloat;

/// What can go wrong when clustering.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// A parameter out of its range.
    #[error("k-means parameter {name} = {value} is out of range: {expected}")]
    BadParam {
        /// The parameter.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range, in words.
        expected: &'static str,
    },
    /// No points, or points with no coordinates.
    #[error("no data to cluster: {points} points x {dims} dimensions")]
    EmptyInput {
        /// Number of points (rows).
        points: usize,
        /// Number of dimensions (columns).
        dims: usize,
    },
    /// More clusters than points.
    #[error("cannot form {k} clusters from {points} points")]
    TooFewPoints {
        /// Clusters asked for.
        k: usize,
        /// Points given.
        points: usize,
    },
    /// A NaN or infinite coordinate.
    #[error("non-finite coordinate ({value}) of point {point}, dimension {dim} (0-based)")]
    NonFinite {
        /// Point (row, 0-based).
        point: usize,
        /// Dimension (column, 0-based).
        dim: usize,
        /// The value.
        value: f64,
    },
    /// The labels do not match the points.
    #[error("{labels} labels given for {points} points")]
    LabelCountMismatch {
        /// Number of points.
        points: usize,
        /// Number of labels.
        labels: usize,
    },
    /// The silhouette is defined for 2 ≤ distinct labels ≤ points − 1 (as in scikit-learn).
    #[error("the silhouette needs between 2 and points - 1 = {max} distinct labels, got {distinct}")]
    SilhouetteLabelCount {
        /// Distinct labels given.
        distinct: usize,
        /// points − 1.
        max: usize,
    },
}

/// Shorthand.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;

/// k-means parameters, a builder validated once by [`KMeansParams::check`].
///
/// Defaults (scikit-learn's): `n_init` 10, `max_iter` 300, `tol` 1e-4, seed 0, greedy
/// k-means++ with 2 + ⌊ln k⌋ local trials.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams {
    k: usize,
    n_init: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    local_trials: Option<usize>,
}

/// Validated [`KMeansParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansValidParams(KMeansParams);

impl KMeansParams {
    /// Parameters for `k` clusters.
    pub fn new(k: usize) -> Self {
        Self {
            k,
            n_init: 10,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            local_trials: None,
        }
    }
    /// Number of seeded starts; the one with the lowest inertia is kept. Start `r` uses
    /// `ChaCha8Rng::seed_from_u64(seed + r)`, so start `r` of a fit equals the single start
    /// of a fit with `n_init(1).seed(seed + r)`.
    pub fn n_init(mut self, n: usize) -> Self {
        self.n_init = n;
        self
    }
    /// Maximum number of Lloyd iterations (centre updates) per start.
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = n;
        self
    }
    /// A start stops when the total squared centre shift is at most `tol` times the mean
    /// per-dimension variance of the points (scikit-learn's scale-free rule), or when no
    /// label changes. 0 = only the latter.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }
    /// Base seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Candidates tried per k-means++ step, keeping the one that lowers the potential most
    /// (`None` = 2 + ⌊ln k⌋ as in scikit-learn; `Some(1)` = classic k-means++).
    pub fn local_trials(mut self, n: Option<usize>) -> Self {
        self.local_trials = n;
        self
    }

    /// Validates the parameters (data-independent checks).
    ///
    /// # Errors
    /// [`ClusterError::BadParam`] for k = 0, n_init = 0, max_iter = 0, local_trials = 0, or a
    /// negative or non-finite tolerance.
    pub fn check(self) -> Result<KMeansValidParams> {
        let bad = |name, value: f64, expected| Err(ClusterError::BadParam { name, value, expected });
        if self.k == 0 {
            return bad("k", 0.0, "at least 1");
        }
        if self.n_init == 0 {
            return bad("n_init", 0.0, "at least 1");
        }
        if self.max_iter == 0 {
            return bad("max_iter", 0.0, "at least 1");
        }
        if !self.tol.is_finite() || self.tol < 0.0 {
            return bad("tol", self.tol, "finite and >= 0");
        }
        if self.local_trials == Some(0) {
            return bad("local_trials", 0.0, "at least 1");
        }
        Ok(KMeansValidParams(self))
    }
}

/// The outcome of [`KMeansValidParams::fit`]: the start with the lowest inertia.
#[derive(Debug, Clone)]
pub struct KMeansFit<F> {
    /// Cluster of each point, in `0..k`, consistent with `centers` (nearest centre; ties go
    /// to the lower index).
    pub labels: Vec<usize>,
    /// Centres, one per row (k × dims).
    pub centers: Mat<F>,
    /// Sum of squared distances of the points to their centres.
    pub inertia: F,
    /// Lloyd iterations (centre updates) of the kept start.
    pub n_iter: usize,
    /// Whether the kept start met the stopping rule before `max_iter`.
    pub converged: bool,
    /// Index of the kept start.
    pub best_start: usize,
    /// Final inertia of every start.
    pub start_inertias: Vec<F>,
    /// Inertia of the kept start after the seeding and after each Lloyd iteration
    /// (`n_iter + 1` values, never increasing).
    pub inertia_trace: Vec<F>,
}

/// Checks points (rows) for emptiness and non-finite values.
fn check_points<F: NmfFloat>(points: MatRef<'_, F>) -> Result<()> {
    let (n, d) = (points.nrows(), points.ncols());
    if n == 0 || d == 0 {
        return Err(ClusterError::EmptyInput { points: n, dims: d });
    }
    for j in 0..d {
        for i in 0..n {
            let v = points[(i, j)];
            if !v.is_finite() {
                return Err(ClusterError::NonFinite {
                    point: i,
                    dim: j,
                    value: v.to_f64_lossy(),
                });
            }
        }
    }
    Ok(())
}

#[inline]
fn sq_dist<F: NmfFloat>(a: &[F], b: &[F]) -> F {
    a.iter().zip(b).fold(F::zero(), |s, (&x, &y)| {
        let t = x - y;
        s + t * t
    })
}

/// Buffers of one fit, sized once and reused by every start and iteration.
struct Workspace<F> {
    /// Points, row-major (n × d), so each point is a contiguous slice.
    x: Vec<F>,
    n: usize,
    d: usize,
    k: usize,
    centers: Vec<F>,
    sums: Vec<F>,
    counts: Vec<usize>,
    labels: Vec<usize>,
    /// Squared distance of each point to its centre.
    dist: Vec<F>,
    /// k-means++: squared distance to the nearest chosen centre, and a trial's version.
    closest: Vec<F>,
    trial: Vec<F>,
    trace: Vec<F>,
}

impl<F: NmfFloat> Workspace<F> {
    fn new(points: MatRef<'_, F>, k: usize) -> Self {
        let (n, d) = (points.nrows(), points.ncols());
        let mut x = Vec::with_capacity(n * d);
        for i in 0..n {
            x.extend((0..d).map(|j| points[(i, j)]));
        }
        Self {
            x,
            n,
            d,
            k,
            centers: vec![F::zero(); k * d],
            sums: vec![F::zero(); k * d],
            counts: vec![0; k],
            labels: vec![0; n],
            dist: vec![F::zero(); n],
            closest: vec![F::zero(); n],
            trial: vec![F::zero(); n],
            trace: Vec::new(),
        }
    }

    fn point(&self, i: usize) -> &[F] {
        &self.x[i * self.d..(i + 1) * self.d]
    }

    /// Greedy k-means++ (Arthur & Vassilvitskii 2007; scikit-learn's local trials): the first
    /// centre uniformly, each next one drawn with probability ∝ D² `trials` times, keeping
    /// the draw that lowers the potential Σ D² most.
    fn seed_plus_plus(&mut self, rng: &mut ChaCha8Rng, trials: usize) {
        let (n, d) = (self.n, self.d);
        let first = rng.random_range(0..n);
        self.centers[..d].copy_from_slice(&self.x[first * d..(first + 1) * d]);
        for i in 0..n {
            self.closest[i] = sq_dist(self.point(i), &self.x[first * d..(first + 1) * d]);
        }
        for c in 1..self.k {
            let pot: f64 = self.closest.iter().map(|v| v.to_f64_lossy()).sum();
            let mut best: Option<(usize, F)> = None;
            for _ in 0..trials {
                let cand = if pot > 0.0 {
                    let r = rng.random::<f64>() * pot;
                    let mut acc = 0.0;
                    // Rounding can leave r beyond the last partial sum: fall back to the last
                    // point with positive weight.
                    let mut pick = None;
                    for (i, v) in self.closest.iter().enumerate() {
                        let w = v.to_f64_lossy();
                        if w > 0.0 {
                            acc += w;
                            pick = Some(i);
                            if acc > r {
                                break;
                            }
                        }
                    }
                    pick.unwrap_or(0)
                } else {
                    // Every point coincides with a chosen centre: any point will do.
                    rng.random_range(0..n)
                };
                let mut trial_pot = F::zero();
                for i in 0..n {
                    let dd = sq_dist(&self.x[i * d..(i + 1) * d], &self.x[cand * d..(cand + 1) * d]);
                    let v = dd.min(self.closest[i]);
                    self.trial[i] = v;
                    trial_pot += v;
                }
                if best.is_none_or(|(_, p)| trial_pot < p) {
                    best = Some((cand, trial_pot));
                    // Keep the best trial's distances in `closest`'s partner buffer.
                    std::mem::swap(&mut self.trial, &mut self.dist);
                }
            }
            let (cand, _) = best.expect("trials >= 1");
            std::mem::swap(&mut self.closest, &mut self.dist);
            self.centers[c * d..(c + 1) * d].copy_from_slice(&self.x[cand * d..(cand + 1) * d]);
        }
    }

    /// Nearest-centre assignment (ties to the lower index); returns (inertia, labels changed).
    fn assign(&mut self) -> (F, usize) {
        let (d, k) = (self.d, self.k);
        let mut inertia = F::zero();
        let mut changed = 0;
        for i in 0..self.n {
            let p = &self.x[i * d..(i + 1) * d];
            let mut best = (0, sq_dist(p, &self.centers[..d]));
            for c in 1..k {
                let dd = sq_dist(p, &self.centers[c * d..(c + 1) * d]);
                if dd < best.1 {
                    best = (c, dd);
                }
            }
            if self.labels[i] != best.0 {
                changed += 1;
                self.labels[i] = best.0;
            }
            self.dist[i] = best.1;
            inertia += best.1;
        }
        (inertia, changed)
    }

    /// Centres ← cluster means; an empty cluster takes the point farthest from its centre
    /// among clusters with more than one point (ties to the lower index), which can only
    /// lower the inertia. Returns the total squared centre shift.
    fn update_centers(&mut self) -> F {
        let (d, k) = (self.d, self.k);
        self.sums.fill(F::zero());
        self.counts.fill(0);
        for i in 0..self.n {
            let c = self.labels[i];
            self.counts[c] += 1;
            for (s, &v) in self.sums[c * d..(c + 1) * d]
                .iter_mut()
                .zip(&self.x[i * d..(i + 1) * d])
            {
                *s += v;
            }
        }
        for c in 0..k {
            if self.counts[c] > 0 {
                continue;
            }
            // k ≤ n and cluster c is empty, so some cluster has at least two points.
            let mut far: Option<usize> = None;
            for i in 0..self.n {
                if self.counts[self.labels[i]] > 1 && far.is_none_or(|f| self.dist[i] > self.dist[f]) {
                    far = Some(i);
                }
            }
            let i = far.expect("a cluster with two or more points exists");
            let old = self.labels[i];
            self.counts[old] -= 1;
            for (s, &v) in self.sums[old * d..(old + 1) * d]
                .iter_mut()
                .zip(&self.x[i * d..(i + 1) * d])
            {
                *s -= v;
            }
            self.sums[c * d..(c + 1) * d].copy_from_slice(&self.x[i * d..(i + 1) * d]);
            self.counts[c] = 1;
            self.labels[i] = c;
            self.dist[i] = F::zero();
        }
        let mut shift = F::zero();
        for c in 0..k {
            let cnt = F::from_count(self.counts[c]);
            for j in 0..d {
                let new = self.sums[c * d + j] / cnt;
                let t = new - self.centers[c * d + j];
                shift += t * t;
                self.centers[c * d + j] = new;
            }
        }
        shift
    }
}

impl KMeansValidParams {
    /// The parameters.
    pub fn params(&self) -> &KMeansParams {
        &self.0
    }

    /// Clusters the rows of `points` (points × dims).
    ///
    /// # Errors
    /// [`ClusterError::EmptyInput`], [`ClusterError::TooFewPoints`] (k > points),
    /// [`ClusterError::NonFinite`].
    pub fn fit<F: NmfFloat>(&self, points: MatRef<'_, F>) -> Result<KMeansFit<F>> {
        let p = &self.0;
        check_points(points)?;
        let (n, d) = (points.nrows(), points.ncols());
        if p.k > n {
            return Err(ClusterError::TooFewPoints { k: p.k, points: n });
        }
        let trials = p.local_trials.unwrap_or(2 + (p.k as f64).ln().floor() as usize);
        let tol_abs = F::lit(p.tol) * mean_variance(points);
        let mut ws = Workspace::new(points, p.k);
        let mut best: Option<KMeansFit<F>> = None;
        let mut start_inertias = Vec::with_capacity(p.n_init);
        for r in 0..p.n_init {
            let mut rng = ChaCha8Rng::seed_from_u64(p.seed.wrapping_add(r as u64));
            ws.seed_plus_plus(&mut rng, trials);
            ws.trace.clear();
            let (mut inertia, _) = ws.assign();
            ws.trace.push(inertia);
            let (mut n_iter, mut converged) = (0, false);
            while n_iter < p.max_iter {
                let shift = ws.update_centers();
                n_iter += 1;
                let (new_inertia, changed) = ws.assign();
                inertia = new_inertia;
                ws.trace.push(inertia);
                if changed == 0 || shift <= tol_abs {
                    converged = true;
                    break;
                }
            }
            start_inertias.push(inertia);
            if best.as_ref().is_none_or(|b| inertia < b.inertia) {
                best = Some(KMeansFit {
                    labels: ws.labels.clone(),
                    centers: Mat::from_fn(p.k, d, |c, j| ws.centers[c * d + j]),
                    inertia,
                    n_iter,
                    converged,
                    best_start: r,
                    start_inertias: Vec::new(),
                    inertia_trace: ws.trace.clone(),
                });
            }
        }
        let mut fit = best.expect("n_init >= 1");
        fit.start_inertias = start_inertias;
        Ok(fit)
    }
}

/// Mean over dimensions of the population variance of each dimension.
fn mean_variance<F: NmfFloat>(points: MatRef<'_, F>) -> F {
    let (n, d) = (points.nrows(), points.ncols());
    let nf = F::from_count(n);
    let mut total = F::zero();
    for j in 0..d {
        let mean = points.col(j).iter().fold(F::zero(), |s, &v| s + v) / nf;
        total += points
            .col(j)
            .iter()
            .fold(F::zero(), |s, &v| s + (v - mean) * (v - mean))
            / nf;
    }
    total / F::from_count(d)
}

/// Silhouette coefficient of each point (Rousseeuw 1987), Euclidean:
/// s(i) = (b(i) − a(i)) / max(a(i), b(i)), with a(i) the mean distance to the other points of
/// its cluster and b(i) the smallest mean distance to another cluster; s(i) = 0 for a point
/// alone in its cluster, and 0 when a(i) = b(i) = 0 (scikit-learn's conventions). Labels are
/// any integers (not necessarily contiguous). O(points² · dims) time, O(points · clusters)
/// memory.
///
/// # Errors
/// [`ClusterError::LabelCountMismatch`], [`ClusterError::EmptyInput`],
/// [`ClusterError::NonFinite`], [`ClusterError::SilhouetteLabelCount`] unless
/// 2 ≤ distinct labels ≤ points − 1.
pub fn silhouette_samples<F: NmfFloat>(points: MatRef<'_, F>, labels: &[usize]) -> Result<Vec<F>> {
    let n = points.nrows();
    if labels.len() != n {
        return Err(ClusterError::LabelCountMismatch {
            points: n,
            labels: labels.len(),
        });
    }
    check_points(points)?;
    let mut distinct: Vec<usize> = labels.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let nl = distinct.len();
    if nl < 2 || nl + 1 > n {
        return Err(ClusterError::SilhouetteLabelCount {
            distinct: nl,
            max: n.saturating_sub(1),
        });
    }
    let idx: Vec<usize> = labels
        .iter()
        .map(|l| distinct.binary_search(l).expect("label is in the sorted distinct list"))
        .collect();
    let mut sizes = vec![0usize; nl];
    for &c in &idx {
        sizes[c] += 1;
    }
    let ws = Workspace::new(points, 1);
    // sums[i * nl + c] = Σ distances from point i to the points of cluster c.
    let mut sums = vec![F::zero(); n * nl];
    for i in 0..n {
        for j in i + 1..n {
            let dij = sq_dist(ws.point(i), ws.point(j)).sqrt();
            sums[i * nl + idx[j]] += dij;
            sums[j * nl + idx[i]] += dij;
        }
    }
    let out = (0..n)
        .map(|i| {
            let own = idx[i];
            if sizes[own] == 1 {
                return F::zero();
            }
            let a = sums[i * nl + own] / F::from_count(sizes[own] - 1);
            let b = (0..nl)
                .filter(|&c| c != own)
                .map(|c| sums[i * nl + c] / F::from_count(sizes[c]))
                .fold(F::infinity(), F::min);
            let den = a.max(b);
            if den > F::zero() {
                (b - a) / den
            } else {
                F::zero()
            }
        })
        .collect();
    Ok(out)
}

/// Mean silhouette coefficient over all points (scikit-learn's `silhouette_score`): the
/// stability measure of cNMF's choice of k (SPEC §6.2). See [`silhouette_samples`].
///
/// # Errors
/// As [`silhouette_samples`].
pub fn silhouette_score<F: NmfFloat>(points: MatRef<'_, F>, labels: &[usize]) -> Result<F> {
    let s = silhouette_samples(points, labels)?;
    let n = F::from_count(s.len());
    Ok(s.into_iter().fold(F::zero(), |a, v| a + v) / n)
}
