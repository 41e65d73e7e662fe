//! The planted-module simulator: Poisson or negative-binomial counts from sparse modules.

use std::ops::Range;

use faer::Mat;
use nmf_core::{CscMatrix, Data, NmfError, NmfFloat};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, LogNormal, Poisson};
use thiserror::Error;

/// Errors of nmf-synth.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum SynthError {
    /// A parameter out of range.
    #[error("invalid simulation parameter {name} = {value}: {expected}")]
    BadParam {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: f64,
        /// The allowed range, in words.
        expected: &'static str,
    },
    /// The generated matrix was rejected by nmf-core (e.g. all zero at a tiny depth).
    #[error(transparent)]
    Core(#[from] NmfError),
}

/// How each sample's module proportions are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Usage {
    /// Dirichlet(α, …, α) proportions; the dominant module is the argmax.
    Dirichlet(f64),
    /// One module, drawn uniformly, gets `weight`; the rest share `1 − weight` equally
    /// (SPEC §7.3: `0.8·onehot + 0.2/K` is `weight = 0.8 + 0.2/K`).
    Dominant(f64),
}

/// What to simulate. Build with [`PlantedSpec::new`] and the setters.
///
/// Module `l` sits on the features [`PlantedSpec::module_features`]`(l)`: a block of
/// `⌊module_fraction·features⌋` consecutive features that shares its last
/// `⌊overlap·block⌋` features with module `l + 1` (disjoint blocks for `overlap = 0`).
#[derive(Debug, Clone, PartialEq)]
pub struct PlantedSpec {
    /// Features (m).
    pub features: usize,
    /// Samples (n).
    pub samples: usize,
    /// Planted modules (K).
    pub modules: usize,
    /// Fraction of the features that carry each module.
    pub module_fraction: f64,
    /// Expected counts per sample (the lognormal's median).
    pub depth: f64,
    /// σ of log library size.
    pub library_sigma: f64,
    /// Per-sample proportions.
    pub usage: Usage,
    /// Weight of a uniform background profile mixed into every module (0 = none).
    pub background: f64,
    /// Negative-binomial dispersion φ (0 = Poisson): each count is Poisson with a rate drawn
    /// from Gamma(shape 1/φ, scale φλ), so its variance is `λ + φλ²`.
    pub dispersion: f64,
    /// Fraction in [0, 1) of each module's features shared with the next module.
    pub overlap: f64,
    /// Share in [0, 1) of every sample's library drawn from an unmodelled background profile
    /// (gamma(2, 1) weights over all features) that is not one of the K modules and is not in
    /// `W_true`: the hard regime of SPEC §7.3, where every learned module absorbs part of it.
    pub unmodelled: f64,
}

/// The feature layout of validated modules: block length and stride.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub(crate) per: usize,
    pub(crate) step: usize,
}

impl PlantedSpec {
    /// `features × samples` counts from `modules` modules; defaults: each module on
    /// `1/(modules+2)` of the features, disjoint, depth 1000, σ 0.3, dominant usage
    /// `0.8 + 0.2/K`, no background, Poisson counts (the easy regime of SPEC §7.3).
    pub fn new(features: usize, samples: usize, modules: usize) -> Self {
        Self {
            features,
            samples,
            modules,
            module_fraction: 1.0 / (modules as f64 + 2.0),
            depth: 1000.0,
            library_sigma: 0.3,
            usage: Usage::Dominant(0.8 + 0.2 / modules.max(1) as f64),
            background: 0.0,
            dispersion: 0.0,
            overlap: 0.0,
            unmodelled: 0.0,
        }
    }
    /// Share of each library drawn from an unmodelled background profile.
    pub fn unmodelled(mut self, share: f64) -> Self {
        self.unmodelled = share;
        self
    }
    /// Expected counts per sample.
    pub fn depth(mut self, depth: f64) -> Self {
        self.depth = depth;
        self
    }
    /// Usage model.
    pub fn usage(mut self, usage: Usage) -> Self {
        self.usage = usage;
        self
    }
    /// Fraction of features per module.
    pub fn module_fraction(mut self, f: f64) -> Self {
        self.module_fraction = f;
        self
    }
    /// Background weight.
    pub fn background(mut self, b: f64) -> Self {
        self.background = b;
        self
    }
    /// σ of log library size.
    pub fn library_sigma(mut self, s: f64) -> Self {
        self.library_sigma = s;
        self
    }
    /// Negative-binomial dispersion φ (0 = Poisson).
    pub fn dispersion(mut self, phi: f64) -> Self {
        self.dispersion = phi;
        self
    }
    /// Fraction of each module's features shared with the next module.
    pub fn overlap(mut self, f: f64) -> Self {
        self.overlap = f;
        self
    }

    fn layout(&self) -> Layout {
        let per = (self.module_fraction * self.features as f64).floor().max(0.0) as usize;
        let shared = (self.overlap.clamp(0.0, 1.0) * per as f64).floor() as usize;
        Layout {
            per,
            step: per.saturating_sub(shared),
        }
    }

    /// The features carrying module `l` (for a spec that [`simulate`] accepts): `per`
    /// consecutive features starting at `l·(per − shared)`, with
    /// `per = ⌊module_fraction·features⌋` and `shared = ⌊overlap·per⌋` features in common with
    /// module `l + 1`.
    pub fn module_features(&self, l: usize) -> Range<usize> {
        let Layout { per, step } = self.layout();
        l * step..l * step + per
    }

    pub(crate) fn check(&self) -> Result<Layout, SynthError> {
        let bad = |name, value: f64, expected| Err(SynthError::BadParam { name, value, expected });
        if self.modules == 0 {
            return bad("modules", 0.0, "at least 1");
        }
        if self.features == 0 || self.samples == 0 {
            return bad("features/samples", 0.0, "at least 1 each");
        }
        if !(0.0..1.0).contains(&self.overlap) {
            return bad("overlap", self.overlap, "in [0, 1)");
        }
        let layout = self.layout();
        let span = layout.per + (self.modules - 1) * layout.step;
        if self.module_fraction.is_nan() || self.module_fraction <= 0.0 || layout.per == 0 || span > self.features {
            return bad(
                "module_fraction",
                self.module_fraction,
                "each module needs >= 1 feature and the modules must fit side by side",
            );
        }
        if !(self.depth > 0.0 && self.depth.is_finite()) {
            return bad("depth", self.depth, "positive and finite");
        }
        if !(self.library_sigma >= 0.0 && self.library_sigma.is_finite()) {
            return bad("library_sigma", self.library_sigma, "finite and >= 0");
        }
        if !(0.0..1.0).contains(&self.unmodelled) {
            return bad("unmodelled", self.unmodelled, "in [0, 1)");
        }
        if !(0.0..1.0).contains(&self.background) {
            return bad("background", self.background, "in [0, 1)");
        }
        if !(self.dispersion >= 0.0 && self.dispersion.is_finite()) {
            return bad("dispersion", self.dispersion, "finite and >= 0 (0 = Poisson)");
        }
        match self.usage {
            Usage::Dirichlet(a) if !(a > 0.0 && a.is_finite()) => bad("dirichlet alpha", a, "positive"),
            Usage::Dominant(w) if !(0.0..=1.0).contains(&w) => bad("dominant weight", w, "in [0, 1]"),
            _ => Ok(layout),
        }
    }
}

/// A simulated data set with its truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Planted<F> {
    /// Counts, features × samples, sparse.
    pub x: CscMatrix<F>,
    /// True modules (m×K), columns summing to 1.
    pub w_true: Mat<F>,
    /// True rates (K×n): proportions times library size, so E[X] = W_true·H_true.
    pub h_true: Mat<F>,
    /// Dominant module of each sample.
    pub labels: Vec<usize>,
    /// Library size (expected total count) of each sample.
    pub library_sizes: Vec<F>,
    /// The unmodelled background profile (sums to 1), when `unmodelled > 0`: then
    /// E[X] = W_true·H_true + profile·(unmodelled · library size)ᵀ.
    pub unmodelled_profile: Option<Vec<F>>,
}

impl<F: NmfFloat> Planted<F> {
    /// X as validated sparse data.
    ///
    /// # Errors
    /// If nmf-core rejects X (e.g. all zero).
    pub fn data_sparse(&self) -> Result<Data<F>, SynthError> {
        Ok(Data::sparse(self.x.clone())?)
    }
    /// X as validated dense data.
    ///
    /// # Errors
    /// If nmf-core rejects X (e.g. all zero).
    pub fn data_dense(&self) -> Result<Data<F>, SynthError> {
        Ok(Data::dense(self.x.to_dense())?)
    }
}

/// Module profiles (m×K, column-major), each a probability vector on its block of features,
/// with gamma(2, 1) weights, mixed with the uniform background.
pub(crate) fn draw_modules<R: Rng>(spec: &PlantedSpec, layout: Layout, rng: &mut R) -> Vec<f64> {
    let (m, k) = (spec.features, spec.modules);
    let shape2 = Gamma::new(2.0, 1.0).expect("valid gamma");
    let mut w = vec![0.0f64; m * k];
    for l in 0..k {
        let col = &mut w[l * m..(l + 1) * m];
        let start = l * layout.step;
        for v in &mut col[start..start + layout.per] {
            *v = shape2.sample(rng);
        }
        let s: f64 = col.iter().sum();
        for v in col.iter_mut() {
            *v = (1.0 - spec.background) * *v / s + spec.background / m as f64;
        }
    }
    w
}

/// Fills `p` with one sample's proportions (summing to 1).
pub(crate) fn draw_proportions<R: Rng>(usage: Usage, p: &mut [f64], rng: &mut R) {
    let k = p.len();
    match usage {
        Usage::Dirichlet(alpha) => {
            let g = Gamma::new(alpha, 1.0).expect("validated alpha");
            for v in p.iter_mut() {
                *v = g.sample(rng);
            }
            let s: f64 = p.iter().sum();
            if s > 0.0 {
                p.iter_mut().for_each(|v| *v /= s);
            } else {
                // Every gamma draw underflowed (tiny α): one module takes all.
                p[rng.random_range(0..k)] = 1.0;
            }
        }
        Usage::Dominant(wt) => {
            let rest = if k > 1 { (1.0 - wt) / (k - 1) as f64 } else { 0.0 };
            p.iter_mut().for_each(|v| *v = rest);
            p[rng.random_range(0..k)] = if k > 1 { wt } else { 1.0 };
        }
    }
}

/// The index of the largest entry (the first on ties).
pub(crate) fn argmax(p: &[f64]) -> usize {
    (0..p.len()).fold(0, |b, l| if p[l] > p[b] { l } else { b })
}

/// Counts `X[i, j] ~ Poisson(λ_ij)` (φ = 0) or negative binomial via gamma–Poisson (φ > 0),
/// `λ = W·H`, with `w` m×k and `h` k×n column-major; written straight into CSC.
pub(crate) fn draw_counts<F: NmfFloat, R: Rng>(
    (m, n, k): (usize, usize, usize),
    w: &[f64],
    h: &[f64],
    dispersion: f64,
    rng: &mut R,
) -> Result<CscMatrix<F>, SynthError> {
    let mut col_ptr = vec![0usize];
    let mut row_idx = Vec::new();
    let mut values = Vec::new();
    for j in 0..n {
        for i in 0..m {
            let mean: f64 = (0..k).map(|l| w[l * m + i] * h[j * k + l]).sum();
            if mean <= 0.0 {
                continue;
            }
            let rate = if dispersion > 0.0 {
                Gamma::new(1.0 / dispersion, dispersion * mean)
                    .expect("positive finite shape and scale")
                    .sample(rng)
            } else {
                mean
            };
            if rate > 0.0 && rate.is_finite() {
                let c: f64 = Poisson::new(rate).expect("positive finite rate").sample(rng);
                if c > 0.0 {
                    row_idx.push(i);
                    values.push(F::lit(c));
                }
            }
        }
        col_ptr.push(row_idx.len());
    }
    Ok(CscMatrix::try_from_parts(m, n, col_ptr, row_idx, values)?)
}

/// Draws a planted data set; the same `seed` gives the same output on every run.
///
/// The model: modules `W_true` (m×K, columns summing to 1, see [`PlantedSpec`]); per-sample
/// proportions from [`Usage`]; library sizes `LogNormal(ln depth, σ)`; `H_true[:, j]` =
/// proportions × library size; counts Poisson(`W_true·H_true`), or negative binomial with
/// dispersion φ (mean λ, variance `λ + φλ²`).
///
/// # Errors
/// [`SynthError::BadParam`] for parameters out of range.
pub fn simulate<F: NmfFloat>(spec: &PlantedSpec, seed: u64) -> Result<Planted<F>, SynthError> {
    let layout = spec.check()?;
    let (m, n, k) = (spec.features, spec.samples, spec.modules);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w = draw_modules(spec, layout, &mut rng);
    // Drawn only when asked for, so the default stream is unchanged.
    let profile: Option<Vec<f64>> = (spec.unmodelled > 0.0).then(|| {
        let g = Gamma::new(2.0, 1.0).expect("valid gamma");
        let raw: Vec<f64> = (0..m).map(|_| g.sample(&mut rng)).collect();
        let total: f64 = raw.iter().sum();
        raw.into_iter().map(|v| v / total).collect()
    });
    let module_share = 1.0 - spec.unmodelled;

    // Usages and library sizes.
    let lib = LogNormal::new(spec.depth.ln(), spec.library_sigma).expect("validated sigma");
    let mut h = vec![0.0f64; k * n];
    let mut labels = Vec::with_capacity(n);
    let mut libs = Vec::with_capacity(n);
    for j in 0..n {
        let p = &mut h[j * k..(j + 1) * k];
        draw_proportions(spec.usage, p, &mut rng);
        labels.push(argmax(p));
        let size = lib.sample(&mut rng);
        libs.push(size);
        p.iter_mut().for_each(|v| *v *= size * module_share);
    }

    let x = match &profile {
        None => draw_counts((m, n, k), &w, &h, spec.dispersion, &mut rng)?,
        Some(b) => {
            // The profile is one more column of rates, with weight u·library in every sample.
            let mut w_aug = w.clone();
            w_aug.extend_from_slice(b);
            let mut h_aug = Vec::with_capacity((k + 1) * n);
            for j in 0..n {
                h_aug.extend_from_slice(&h[j * k..(j + 1) * k]);
                h_aug.push(spec.unmodelled * libs[j]);
            }
            draw_counts((m, n, k + 1), &w_aug, &h_aug, spec.dispersion, &mut rng)?
        }
    };
    Ok(Planted {
        x,
        w_true: Mat::from_fn(m, k, |i, l| F::lit(w[l * m + i])),
        h_true: Mat::from_fn(k, n, |l, j| F::lit(h[j * k + l])),
        labels,
        library_sizes: libs.into_iter().map(F::lit).collect(),
        unmodelled_profile: profile.map(|b| b.into_iter().map(F::lit).collect()),
    })
}
