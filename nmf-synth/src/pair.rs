//! Target / background pairs for contrastive NMF (bcNMF, SPEC §1).

use faer::Mat;
use nmf_core::{CscMatrix, Data, NmfFloat};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};

use crate::planted::{argmax, draw_counts, draw_modules, draw_proportions, PlantedSpec, SynthError};

/// A target / background pair to simulate. Build with [`PairSpec::new`] and the setters.
///
/// `target` describes the modules, the features, the target samples and the count model
/// (depth, σ, dispersion, overlap, background weight), exactly as for [`crate::simulate`].
/// Of its `modules` modules the last `enriched` are **target-enriched**; the others are
/// **shared**:
///
/// * every sample (target and background) draws proportions over the shared modules from
///   `target.usage`;
/// * a subgroup of `round(enriched_fraction · target samples)` target samples, chosen at
///   random, carries one enriched module each (assigned in turn, so the groups have equal
///   sizes to within one): the sample's proportions become
///   `(1 − enriched_weight) · shared + enriched_weight · onehot(enriched module)`;
/// * background samples never use the enriched modules.
///
/// Both matrices have the same features in the same order, and the same library-size and
/// count model.
#[derive(Debug, Clone, PartialEq)]
pub struct PairSpec {
    /// Features, modules, target samples and the count model.
    pub target: PlantedSpec,
    /// Background samples.
    pub background_samples: usize,
    /// Target-enriched modules (the last ones of `target.modules`); at most `modules − 1`.
    pub enriched: usize,
    /// Fraction of target samples that carry an enriched module (default 0.5).
    pub enriched_fraction: f64,
    /// Share of a carrier's library on its enriched module (default 0.5).
    pub enriched_weight: f64,
}

impl PairSpec {
    /// A pair with `background_samples` background samples and `enriched` target-enriched
    /// modules; defaults: half of the target samples carry an enriched module, on half of
    /// their library.
    pub fn new(target: PlantedSpec, background_samples: usize, enriched: usize) -> Self {
        Self {
            target,
            background_samples,
            enriched,
            enriched_fraction: 0.5,
            enriched_weight: 0.5,
        }
    }
    /// Fraction of target samples that carry an enriched module.
    pub fn enriched_fraction(mut self, f: f64) -> Self {
        self.enriched_fraction = f;
        self
    }
    /// Share of a carrier's library on its enriched module.
    pub fn enriched_weight(mut self, w: f64) -> Self {
        self.enriched_weight = w;
        self
    }
    /// Shared modules: `target.modules − enriched`.
    pub fn shared(&self) -> usize {
        self.target.modules.saturating_sub(self.enriched)
    }
}

/// A simulated target / background pair with its truth.
#[derive(Debug, Clone, PartialEq)]
pub struct PlantedPair<F> {
    /// Target counts, features × target samples.
    pub x: CscMatrix<F>,
    /// Background counts, features × background samples (same features, same order).
    pub y: CscMatrix<F>,
    /// True modules (m×K, columns summing to 1): shared first, then the enriched ones.
    pub w_true: Mat<F>,
    /// True target rates (K×n_t): E[X] = W_true·H_target_true.
    pub h_target_true: Mat<F>,
    /// True background rates (K×n_b), zero on the enriched rows: E[Y] = W_true·H_background_true.
    pub h_background_true: Mat<F>,
    /// Indices (columns of `w_true`) of the target-enriched modules.
    pub enriched: Vec<usize>,
    /// Dominant module (over all K) of each target sample.
    pub target_labels: Vec<usize>,
    /// Dominant (shared) module of each background sample.
    pub background_labels: Vec<usize>,
    /// The enriched module (column of `w_true`) each target sample carries, if any.
    pub enriched_labels: Vec<Option<usize>>,
    /// Library size of each target sample.
    pub target_library_sizes: Vec<F>,
    /// Library size of each background sample.
    pub background_library_sizes: Vec<F>,
}

impl<F: NmfFloat> PlantedPair<F> {
    /// The target subgroups as cluster labels (0 = no enriched module, `1 + e` = the `e`-th
    /// enriched module), e.g. for the adjusted Rand index of a contrastive fit.
    pub fn subgroup_labels(&self) -> Vec<usize> {
        self.enriched_labels
            .iter()
            .map(|e| e.map_or(0, |l| 1 + self.enriched.iter().position(|&x| x == l).unwrap_or(0)))
            .collect()
    }
    /// X (target) as validated data, sparse or dense.
    ///
    /// # Errors
    /// If nmf-core rejects X (e.g. all zero).
    pub fn target_data(&self, dense: bool) -> Result<Data<F>, SynthError> {
        as_data(&self.x, dense)
    }
    /// Y (background) as validated data, sparse or dense.
    ///
    /// # Errors
    /// If nmf-core rejects Y (e.g. all zero).
    pub fn background_data(&self, dense: bool) -> Result<Data<F>, SynthError> {
        as_data(&self.y, dense)
    }
}

fn as_data<F: NmfFloat>(x: &CscMatrix<F>, dense: bool) -> Result<Data<F>, SynthError> {
    Ok(if dense {
        Data::dense(x.to_dense())?
    } else {
        Data::sparse(x.clone())?
    })
}

/// Draws a target / background pair (see [`PairSpec`]); the same `seed` gives the same
/// output on every run.
///
/// # Errors
/// [`SynthError::BadParam`] for parameters out of range (including no shared module, or no
/// background sample).
pub fn simulate_pair<F: NmfFloat>(spec: &PairSpec, seed: u64) -> Result<PlantedPair<F>, SynthError> {
    let t = &spec.target;
    let layout = t.check()?;
    let bad = |name, value: f64, expected| Err(SynthError::BadParam { name, value, expected });
    if spec.background_samples == 0 {
        return bad("background_samples", 0.0, "at least 1");
    }
    if spec.enriched >= t.modules {
        return bad(
            "enriched",
            spec.enriched as f64,
            "fewer than the modules (at least one shared module)",
        );
    }
    if !(0.0..=1.0).contains(&spec.enriched_fraction) {
        return bad("enriched_fraction", spec.enriched_fraction, "in [0, 1]");
    }
    if !(spec.enriched_weight > 0.0 && spec.enriched_weight <= 1.0) {
        return bad("enriched_weight", spec.enriched_weight, "in (0, 1]");
    }
    let (m, nt, nb, k) = (t.features, t.samples, spec.background_samples, t.modules);
    let (ks, ke) = (k - spec.enriched, spec.enriched);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w = draw_modules(t, layout, &mut rng);

    // Which target samples carry which enriched module.
    let mut enriched_labels = vec![None; nt];
    if ke > 0 {
        let carriers = (spec.enriched_fraction * nt as f64).round() as usize;
        let mut order: Vec<usize> = (0..nt).collect();
        order.shuffle(&mut rng);
        for (c, &j) in order[..carriers.min(nt)].iter().enumerate() {
            enriched_labels[j] = Some(ks + c % ke);
        }
    }

    let lib = LogNormal::new(t.depth.ln(), t.library_sigma).expect("validated sigma");
    let mut draw_h = |n: usize, carried: &[Option<usize>]| {
        let mut h = vec![0.0f64; k * n];
        let (mut labels, mut libs) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for j in 0..n {
            let p = &mut h[j * k..(j + 1) * k];
            draw_proportions(t.usage, &mut p[..ks], &mut rng);
            if let Some(e) = carried.get(j).copied().flatten() {
                p[..ks].iter_mut().for_each(|v| *v *= 1.0 - spec.enriched_weight);
                p[e] = spec.enriched_weight;
            }
            labels.push(argmax(p));
            let size = lib.sample(&mut rng);
            libs.push(size);
            p.iter_mut().for_each(|v| *v *= size);
        }
        (h, labels, libs)
    };
    let (ht, target_labels, tlibs) = draw_h(nt, &enriched_labels);
    let (hb, background_labels, blibs) = draw_h(nb, &[]);
    let x = draw_counts((m, nt, k), &w, &ht, t.dispersion, &mut rng)?;
    let y = draw_counts((m, nb, k), &w, &hb, t.dispersion, &mut rng)?;
    let mat = |h: &[f64], n: usize| Mat::from_fn(k, n, |l, j| F::lit(h[j * k + l]));
    Ok(PlantedPair {
        x,
        y,
        w_true: Mat::from_fn(m, k, |i, l| F::lit(w[l * m + i])),
        h_target_true: mat(&ht, nt),
        h_background_true: mat(&hb, nb),
        enriched: (ks..k).collect(),
        target_labels,
        background_labels,
        enriched_labels,
        target_library_sizes: tlibs.into_iter().map(F::lit).collect(),
        background_library_sizes: blibs.into_iter().map(F::lit).collect(),
    })
}
