//! Brunet consensus clustering (SPEC §6.1): the consensus matrix of argmax-H co-membership,
//! its cophenetic correlation (average linkage on 1 − C̄) and the Kim & Park dispersion.
//!
//! Matrices over sample pairs are stored *condensed*: the strict upper triangle, row by row
//! (scipy's `pdist` order), entry (i, j) with i < j at [`condensed_index`].

use kodama::{linkage, Method};

/// Position of the pair (i, j), i < j < n, in a condensed matrix of n points.
#[inline]
pub fn condensed_index(n: usize, i: usize, j: usize) -> usize {
    debug_assert!(i < j && j < n);
    // Rows 0..i hold (n-1) + (n-2) + … + (n-i) entries.
    i * n - i * (i + 1) / 2 + (j - i - 1)
}

/// The consensus matrix C̄ = (1/R) Σ_r C^r of R clusterings of the same n samples, with
/// C^r_ij = 1 when run r puts i and j in the same cluster (Brunet et al. 2004).
#[derive(Debug, Clone, PartialEq)]
pub struct ConsensusMatrix {
    n: usize,
    runs: u32,
    /// Co-membership counts, condensed.
    together: Vec<u32>,
}

impl ConsensusMatrix {
    /// An empty consensus over `n` samples (O(n²) memory: n(n−1)/2 counters).
    pub fn new(n: usize) -> Self {
        Self {
            n,
            runs: 0,
            together: vec![0; n * n.saturating_sub(1) / 2],
        }
    }

    /// Adds one run's labels (one per sample; any integers).
    ///
    /// # Panics
    /// If `labels` does not hold one label per sample (a programming error).
    #[track_caller]
    pub fn add(&mut self, labels: &[usize]) {
        assert_eq!(labels.len(), self.n, "one label per sample");
        let mut t = 0;
        for i in 0..self.n {
            for j in i + 1..self.n {
                self.together[t] += u32::from(labels[i] == labels[j]);
                t += 1;
            }
        }
        self.runs += 1;
    }

    /// Samples.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Runs added.
    pub fn runs(&self) -> usize {
        self.runs as usize
    }

    /// C̄_ij (i ≠ j); 1 on the diagonal. 0 before any run is added.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        if i == j {
            return 1.0;
        }
        if self.runs == 0 {
            return 0.0;
        }
        let (a, b) = if i < j { (i, j) } else { (j, i) };
        f64::from(self.together[condensed_index(self.n, a, b)]) / f64::from(self.runs)
    }

    /// The condensed distances D = 1 − C̄.
    pub fn distances(&self) -> Vec<f64> {
        let r = f64::from(self.runs.max(1));
        self.together.iter().map(|&c| 1.0 - f64::from(c) / r).collect()
    }

    /// Dispersion coefficient (Kim & Park 2007): (1/n²) Σ_ij 4 (C̄_ij − ½)² over all ordered
    /// pairs, diagonal included; 1 for a perfectly crisp consensus (every C̄_ij ∈ {0, 1}).
    pub fn dispersion(&self) -> f64 {
        let n = self.n as f64;
        let r = f64::from(self.runs.max(1));
        let off: f64 = self
            .together
            .iter()
            .map(|&c| {
                let d = f64::from(c) / r - 0.5;
                4.0 * d * d
            })
            .sum();
        // The diagonal (C̄_ii = 1) contributes n; each unordered pair counts twice.
        (n + 2.0 * off) / (n * n)
    }

    /// Cophenetic correlation of the consensus: see [`cophenetic_correlation`].
    pub fn cophenetic(&self) -> Option<f64> {
        cophenetic_correlation(&self.distances(), self.n)
    }
}

/// Cophenetic distances of the average-linkage (UPGMA) dendrogram of a condensed distance
/// matrix over `n` points: entry (i, j) is the height at which i and j first share a
/// cluster. Built with kodama's `linkage(Method::Average)` (the fastcluster algorithms).
///
/// # Panics
/// If `distances` does not hold n(n−1)/2 entries (a programming error).
#[track_caller]
pub fn average_linkage_cophenetic(distances: &[f64], n: usize) -> Vec<f64> {
    assert_eq!(
        distances.len(),
        n * n.saturating_sub(1) / 2,
        "condensed matrix of n points"
    );
    let mut coph = vec![0.0; distances.len()];
    if n < 2 {
        return coph;
    }
    let mut work = distances.to_vec();
    let dendrogram = linkage(&mut work, n, Method::Average);
    // Members of every cluster label: points 0..n, then step s creates label n + s.
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    members.reserve(n - 1);
    for step in dendrogram.steps() {
        let (a, b) = (&members[step.cluster1], &members[step.cluster2]);
        for &i in a {
            for &j in b {
                let (lo, hi) = if i < j { (i, j) } else { (j, i) };
                coph[condensed_index(n, lo, hi)] = step.dissimilarity;
            }
        }
        let mut merged = std::mem::take(&mut members[step.cluster1]);
        merged.append(&mut members[step.cluster2]);
        members.push(merged);
    }
    coph
}

/// Cophenetic correlation ρ (SPEC §6.1): the Pearson correlation, over pairs i < j, between
/// the distances and the cophenetic distances of their average-linkage dendrogram.
///
/// `None` for fewer than 3 points (one pair has no correlation). When the distances are all
/// equal the dendrogram reproduces them exactly and ρ is taken as 1 (a perfectly stable
/// consensus, e.g. every run putting all samples together).
///
/// # Panics
/// If `distances` does not hold n(n−1)/2 entries (a programming error).
#[track_caller]
pub fn cophenetic_correlation(distances: &[f64], n: usize) -> Option<f64> {
    if n < 3 {
        return None;
    }
    let coph = average_linkage_cophenetic(distances, n);
    Some(pearson(distances, &coph).unwrap_or(1.0))
}

/// Pearson correlation; `None` when both sides have zero variance (then identical up to a
/// shift, as distances and their own cophenetic distances are), 0 when only one has.
fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let len = a.len() as f64;
    let ma = a.iter().sum::<f64>() / len;
    let mb = b.iter().sum::<f64>() / len;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    // Relative guard: round-off leaves tiny variances for constant inputs.
    let scale = a.iter().chain(b).fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    let tiny = 1e-24 * scale * scale * len;
    match (saa <= tiny, sbb <= tiny) {
        (true, true) => return None,
        (true, false) | (false, true) => return Some(0.0),
        (false, false) => {}
    }
    Some((sab / (saa * sbb).sqrt()).clamp(-1.0, 1.0))
}
