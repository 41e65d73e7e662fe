//! Interpreting and evaluating a bcNMF fit: the top features of each topic, a Welch t-test
//! of each topic's usage in target vs background (to rank topics by enrichment), and the
//! clustering evaluation of SPEC §1.9 (KMeans on H_Xᵀ, adjusted Rand index).
//!
//! ```
//! use nmf_core::faer::Mat;
//! use nmf_contrastive::topics::{cluster_ari, top_features, topic_enrichment};
//!
//! // Topic 0 is used by the first half of the target only; topic 1 everywhere.
//! let h_target = Mat::from_fn(2, 8, |k, j| if k == 0 { if j < 4 { 3.0 + 0.1 * j as f64 } else { 0.1 } } else { 1.0 + 0.05 * j as f64 });
//! let h_background = Mat::from_fn(2, 6, |k, j| if k == 0 { 0.1 + 0.01 * j as f64 } else { 1.1 - 0.02 * j as f64 });
//! let tests = topic_enrichment(h_target.as_ref(), h_background.as_ref(), false).unwrap();
//! assert!(tests[0].t > 0.0 && tests[0].mean_a > tests[0].mean_b);
//!
//! let w = Mat::from_fn(5, 2, |i, k| if k == 0 { i as f64 } else { 5.0 - i as f64 });
//! assert_eq!(top_features(w.as_ref(), 2).unwrap()[0].indices, vec![4, 3]);
//!
//! let groups = [0, 0, 0, 0, 1, 1, 1, 1];
//! let eval = cluster_ari(h_target.as_ref(), &groups, 2, 10, 42, true).unwrap();
//! assert_eq!(eval.ari, 1.0);
//! ```

use faer::{Mat, MatRef};
use nmf_core::cluster::{ClusterError, KMeansParams};
use nmf_core::metrics::adjusted_rand_index;
use nmf_core::NmfFloat;
use thiserror::Error;

/// What can go wrong in the interpretation helpers.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum TopicError {
    /// A t-test needs at least two samples per group (for a sample variance).
    #[error("group {group} has {n} samples: a Welch t-test needs at least 2 per group")]
    TooFewSamples {
        /// `"a"` / `"b"` (or `"target"` / `"background"`).
        group: &'static str,
        /// Samples given.
        n: usize,
    },
    /// A NaN or infinite value.
    #[error("non-finite value ({value}) in {what} at position {index} (0-based)")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// Position (flattened for matrices: column-major).
        index: usize,
        /// The value.
        value: f64,
    },
    /// Inputs whose sizes do not fit together.
    #[error("{what}: expected {expected}, got {got}")]
    ShapeMismatch {
        /// What was compared.
        what: &'static str,
        /// Expected size.
        expected: usize,
        /// Size given.
        got: usize,
    },
    /// The clustering failed (bad number of clusters, too few samples, ...).
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// Shorthand.
pub type Result<T, E = TopicError> = std::result::Result<T, E>;

/// The top features of one topic (column of W): indices into the features, by decreasing
/// weight, ties by increasing index.
#[derive(Debug, Clone, PartialEq)]
pub struct TopFeatures<F> {
    /// Feature (row of W) indices.
    pub indices: Vec<usize>,
    /// Their weights W[index, topic].
    pub weights: Vec<F>,
}

fn check_finite<F: NmfFloat>(a: MatRef<'_, F>, what: &'static str) -> Result<()> {
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            let v = a[(i, j)];
            if !v.is_finite() {
                return Err(TopicError::NonFinite {
                    what,
                    index: j * a.nrows() + i,
                    value: v.to_f64_lossy(),
                });
            }
        }
    }
    Ok(())
}

/// The `n` largest entries of each column of `w` (m features × k topics), one
/// [`TopFeatures`] per topic; `n` larger than m gives all m features. Rankings within a
/// column do not depend on its scale, so W need not be normalised.
///
/// # Errors
/// [`TopicError::NonFinite`] for a NaN or infinite weight.
pub fn top_features<F: NmfFloat>(w: MatRef<'_, F>, n: usize) -> Result<Vec<TopFeatures<F>>> {
    check_finite(w, "W")?;
    let n = n.min(w.nrows());
    let mut order: Vec<usize> = (0..w.nrows()).collect();
    Ok((0..w.ncols())
        .map(|k| {
            let col = w.col(k);
            // Stable sort by decreasing weight keeps the increasing index order among ties.
            order.sort_by(|&a, &b| col[b].partial_cmp(&col[a]).expect("finite weights"));
            let indices = order[..n].to_vec();
            order.sort_unstable();
            TopFeatures {
                weights: indices.iter().map(|&i| col[i]).collect(),
                indices,
            }
        })
        .collect())
}

/// The outcome of Welch's unequal-variance t-test of mean(a) = mean(b), two-sided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WelchTest {
    /// t = (mean_a − mean_b) / sqrt(var_a/n_a + var_b/n_b): positive when a is larger.
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value P(|T_df| ≥ |t|).
    pub p_value: f64,
    /// Mean of a.
    pub mean_a: f64,
    /// Mean of b.
    pub mean_b: f64,
    /// Sample variance of a (divisor n_a − 1).
    pub var_a: f64,
    /// Sample variance of b (divisor n_b − 1).
    pub var_b: f64,
}

/// Checks a sample and returns it as f64.
fn sample<F: NmfFloat>(x: &[F], group: &'static str) -> Result<Vec<f64>> {
    if x.len() < 2 {
        return Err(TopicError::TooFewSamples { group, n: x.len() });
    }
    if let Some((index, v)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(TopicError::NonFinite {
            what: group,
            index,
            value: v.to_f64_lossy(),
        });
    }
    Ok(x.iter().map(|v| v.to_f64_lossy()).collect())
}

/// Mean and sample variance of `x / scale`.
fn mean_var(x: &[f64], scale: f64) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().map(|v| v / scale).sum::<f64>() / n;
    let ss = x.iter().map(|v| (v / scale - mean).powi(2)).sum::<f64>();
    (mean, ss / (n - 1.0))
}

/// Welch's t-test (scipy's `ttest_ind(a, b, equal_var=False)`), computed in f64; the p-value
/// is the regularized incomplete beta I_{df/(df+t²)}(df/2, 1/2) (statrs), accurate also for
/// tiny p.
///
/// Convention when both samples are constant (var_a = var_b = 0, where the statistic is
/// 0/0 or x/0): equal means give t = 0, p = 1; different means give t = ±∞, p = 0; df is
/// then n_a + n_b − 2, the largest value the Welch formula can take. No field is ever NaN
/// (values near f64::MAX may give an infinite variance, never a NaN statistic).
///
/// # Errors
/// [`TopicError::TooFewSamples`] if a group has fewer than 2 values;
/// [`TopicError::NonFinite`] for a NaN or infinite value.
pub fn welch_t_test<F: NmfFloat>(a: &[F], b: &[F]) -> Result<WelchTest> {
    let (a, b) = (sample(a, "a")?, sample(b, "b")?);
    // t, df and p do not change when both samples are scaled by the same factor: work with
    // values in [-1, 1] so that no square overflows.
    let scale = a.iter().chain(&b).fold(0.0f64, |m, v| m.max(v.abs()));
    let scale = if scale > 0.0 { scale } else { 1.0 };
    let (mean_a, var_a) = mean_var(&a, scale);
    let (mean_b, var_b) = mean_var(&b, scale);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (sa, sb) = (var_a / na, var_b / nb);
    let se2 = sa + sb;
    let diff = mean_a - mean_b;
    let (t, df, p_value) = if se2 > 0.0 {
        let t = diff / se2.sqrt();
        // Written with the shares sa/se2, sb/se2 ∈ [0, 1] so that it cannot overflow:
        // df ∈ [min(n_a, n_b) − 1, n_a + n_b − 2].
        let (ra, rb) = (sa / se2, sb / se2);
        let df = 1.0 / (ra * ra / (na - 1.0) + rb * rb / (nb - 1.0));
        let x = df / (df + t * t);
        // Values lie in [-1, 1], so df is finite and > 0 and t is finite or ±∞ (se2
        // subnormal), which makes x ∈ [0, 1]: the only inputs the function rejects cannot occur.
        let p = statrs::function::beta::checked_beta_reg(df / 2.0, 0.5, x).expect("df > 0 and x in [0, 1]");
        (t, df, p.clamp(0.0, 1.0))
    } else if diff == 0.0 {
        (0.0, na + nb - 2.0, 1.0)
    } else {
        (diff.signum() * f64::INFINITY, na + nb - 2.0, 0.0)
    };
    Ok(WelchTest {
        t,
        df,
        p_value,
        mean_a: mean_a * scale,
        mean_b: mean_b * scale,
        var_a: var_a * scale * scale,
        var_b: var_b * scale * scale,
    })
}

/// Per-sample topic proportions: each column of `h` (k × n) divided by its sum (SPEC §1.7);
/// a column of zeros stays zero (as scikit-learn's `normalize(norm="l1")`).
pub fn topic_proportions<F: NmfFloat>(h: MatRef<'_, F>) -> Mat<F> {
    let mut out = h.to_owned();
    for j in 0..out.ncols() {
        let s = out.col(j).iter().fold(F::zero(), |a, &v| a + v);
        if s > F::zero() {
            for v in out.col_mut(j).iter_mut() {
                *v /= s;
            }
        }
    }
    out
}

/// One Welch t-test per topic of its usage in the target (`a`: row k of `h_target`, k × n_x)
/// against the background (`b`: row k of `h_background`, k × n_y): t > 0 and a small p mean
/// the topic is enriched in the target. With `normalise`, usages are per-sample topic
/// proportions ([`topic_proportions`]), which removes per-sample scale (library size).
///
/// # Errors
/// [`TopicError::ShapeMismatch`] if the two have different numbers of topics; as
/// [`welch_t_test`] (fewer than 2 samples, non-finite usages).
pub fn topic_enrichment<F: NmfFloat>(
    h_target: MatRef<'_, F>,
    h_background: MatRef<'_, F>,
    normalise: bool,
) -> Result<Vec<WelchTest>> {
    if h_background.nrows() != h_target.nrows() {
        return Err(TopicError::ShapeMismatch {
            what: "topics (rows) of the background coefficients",
            expected: h_target.nrows(),
            got: h_background.nrows(),
        });
    }
    check_finite(h_target, "target coefficients")?;
    check_finite(h_background, "background coefficients")?;
    let (ht, hb) = if normalise {
        (topic_proportions(h_target), topic_proportions(h_background))
    } else {
        (h_target.to_owned(), h_background.to_owned())
    };
    let mut a = Vec::with_capacity(ht.ncols());
    let mut b = Vec::with_capacity(hb.ncols());
    (0..ht.nrows())
        .map(|k| {
            a.clear();
            a.extend(ht.row(k).iter().copied());
            b.clear();
            b.extend(hb.row(k).iter().copied());
            welch_t_test(&a, &b).map_err(|e| match e {
                TopicError::TooFewSamples { group, n } => TopicError::TooFewSamples {
                    group: if group == "a" { "target" } else { "background" },
                    n,
                },
                other => other,
            })
        })
        .collect()
}

/// The clustering evaluation of a fit.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterAri {
    /// Adjusted Rand index between the given labels and the KMeans clusters.
    pub ari: f64,
    /// KMeans cluster of each target sample.
    pub clusters: Vec<usize>,
    /// KMeans inertia of the kept start.
    pub inertia: f64,
}

/// SPEC §1.9: KMeans (`n_clusters`, greedy k-means++, `n_init` starts from `seed`) on the
/// rows of H_Xᵀ (one point per target sample, its k topic usages), then the adjusted Rand
/// index against `labels`. With `row_normalise`, each sample's usages are first scaled to
/// sum 1 ([`topic_proportions`]; the notebooks' variant (a)). The reference uses
/// `n_init = 20`, `random_state = 42` on raw usages; our KMeans differs from scikit-learn's
/// in its random stream only, so results agree up to the choice of local optimum.
///
/// # Errors
/// [`TopicError::ShapeMismatch`] if `labels` does not have one entry per sample (column of
/// `h_target`); [`TopicError::NonFinite`]; [`TopicError::Cluster`] for `n_clusters` = 0 or
/// more than the samples, `n_init` = 0.
pub fn cluster_ari<F: NmfFloat>(
    h_target: MatRef<'_, F>,
    labels: &[usize],
    n_clusters: usize,
    n_init: usize,
    seed: u64,
    row_normalise: bool,
) -> Result<ClusterAri> {
    if labels.len() != h_target.ncols() {
        return Err(TopicError::ShapeMismatch {
            what: "labels (one per target sample)",
            expected: h_target.ncols(),
            got: labels.len(),
        });
    }
    check_finite(h_target, "target coefficients")?;
    let params = KMeansParams::new(n_clusters).n_init(n_init).seed(seed).check()?;
    let fit = if row_normalise {
        params.fit(topic_proportions(h_target).transpose())?
    } else {
        params.fit(h_target.transpose())?
    };
    let ari = adjusted_rand_index(labels, &fit.labels).expect("lengths checked above");
    Ok(ClusterAri {
        ari,
        inertia: fit.inertia.to_f64_lossy(),
        clusters: fit.labels,
    })
}
