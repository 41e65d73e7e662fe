//! proptest strategies that generate whole planted problems (behind the `proptest` feature),
//! so that every crate's property tests share one generator (STYLE R12).
//!
//! ```
//! use nmf_synth::strategies::easy_planted_strategy;
//! use proptest::strategy::{Strategy, ValueTree};
//! use proptest::test_runner::TestRunner;
//!
//! let mut runner = TestRunner::deterministic();
//! let (spec, seed) = easy_planted_strategy().new_tree(&mut runner).unwrap().current();
//! let planted = nmf_synth::simulate::<f64>(&spec, seed).unwrap();
//! assert!(spec.features >= 40 * spec.modules && spec.samples >= 30 * spec.modules);
//! assert_eq!(planted.x.nrows(), spec.features);
//! ```

use std::ops::RangeInclusive;

use proptest::prelude::*;

use crate::{simulate, simulate_pair, PairSpec, Planted, PlantedPair, PlantedSpec, Usage};

/// The ranges a planted problem is drawn from.
#[derive(Debug, Clone, PartialEq)]
pub struct PlantedRanges {
    /// Modules K.
    pub modules: RangeInclusive<usize>,
    /// Features per module: `features = K · this`.
    pub features_per_module: RangeInclusive<usize>,
    /// Samples per module: `samples = K · this`.
    pub samples_per_module: RangeInclusive<usize>,
    /// Share of a module's `features / K` slot that carries it: `module_fraction = this / K`.
    pub module_share: RangeInclusive<f64>,
    /// Expected counts per sample.
    pub depth: RangeInclusive<f64>,
    /// Overlap between neighbouring modules; the lower end is drawn half of the time
    /// (disjoint modules when it is 0).
    pub overlap: RangeInclusive<f64>,
    /// Negative-binomial dispersion (0..=0 for Poisson).
    pub dispersion: RangeInclusive<f64>,
    /// `None`: dominant usages (`0.8 + 0.2/K`); `Some(range)`: Dirichlet(α) usages.
    pub dirichlet: Option<RangeInclusive<f64>>,
}

impl PlantedRanges {
    /// The easy regime of SPEC §7.3: K in 2..=4, 40–60 features and 30–40 samples per module,
    /// each module on half to all of its slot, depth 500–2000, disjoint or ≤ 10% overlap,
    /// Poisson counts, dominant usages. Small enough for all solvers in a quick property test.
    pub fn easy() -> Self {
        Self {
            modules: 2..=4,
            features_per_module: 40..=60,
            samples_per_module: 30..=40,
            module_share: 0.5..=1.0,
            depth: 500.0..=2000.0,
            overlap: 0.0..=0.1,
            dispersion: 0.0..=0.0,
            dirichlet: None,
        }
    }
    /// A wider regime, including the hard cases of SPEC §7.3 (low depth, 50% overlap,
    /// overdispersion, mixed usages): K in 1..=6, 10–60 features and 5–40 samples per
    /// module, depth 20–5000, overlap 0–0.5, dispersion 0–0.5, Dirichlet(0.2–2) usages.
    pub fn general() -> Self {
        Self {
            modules: 1..=6,
            features_per_module: 10..=60,
            samples_per_module: 5..=40,
            module_share: 0.3..=1.0,
            depth: 20.0..=5000.0,
            overlap: 0.0..=0.5,
            dispersion: 0.0..=0.5,
            dirichlet: Some(0.2..=2.0),
        }
    }
}

/// Uniform on `r`; with `favour_low`, the lower end half of the time.
fn range_f64(r: &RangeInclusive<f64>, favour_low: bool) -> BoxedStrategy<f64> {
    let (lo, hi) = (*r.start(), *r.end());
    if hi > lo && favour_low {
        prop_oneof![Just(lo), lo..=hi].boxed()
    } else if hi > lo {
        (lo..=hi).boxed()
    } else {
        Just(lo).boxed()
    }
}

/// Planted problems `(spec, seed)` drawn from `ranges`; every spec is accepted by
/// [`simulate`].
pub fn planted_strategy(ranges: PlantedRanges) -> impl Strategy<Value = (PlantedSpec, u64)> {
    let usage = match ranges.dirichlet.clone() {
        None => Just(None).boxed(),
        Some(r) => (r.start().max(1e-3)..=r.end().max(1e-3)).prop_map(Some).boxed(),
    };
    (
        ranges.modules.clone(),
        ranges.features_per_module.clone(),
        ranges.samples_per_module.clone(),
        ranges.module_share.clone(),
        range_f64(&ranges.depth, false),
        range_f64(&ranges.overlap, true),
        range_f64(&ranges.dispersion, false),
        usage,
        0u64..1_000_000,
    )
        .prop_map(|(k, fpm, spm, share, depth, overlap, dispersion, alpha, seed)| {
            let k = k.max(1);
            let (m, n) = (k * fpm.max(1), k * spm.max(1));
            // Whole features per module, at least one, never wider than its slot.
            let per = ((share * fpm as f64).floor() as usize).clamp(1, fpm.max(1));
            let mut spec = PlantedSpec::new(m, n, k)
                .module_fraction((per as f64 + 0.5) / m as f64)
                .depth(depth)
                .overlap(overlap.clamp(0.0, 0.99))
                .dispersion(dispersion.max(0.0));
            if let Some(a) = alpha {
                spec = spec.usage(Usage::Dirichlet(a));
            }
            (spec, seed)
        })
}

/// [`planted_strategy`] over [`PlantedRanges::easy`].
pub fn easy_planted_strategy() -> impl Strategy<Value = (PlantedSpec, u64)> {
    planted_strategy(PlantedRanges::easy())
}

/// A planted problem together with its simulated data (f64).
#[derive(Debug, Clone)]
pub struct PlantedCase {
    /// What was simulated.
    pub spec: PlantedSpec,
    /// The seed.
    pub seed: u64,
    /// The data and its truth.
    pub planted: Planted<f64>,
}

/// Simulated planted problems drawn from `ranges` (shrinks through the spec).
pub fn instance_strategy(ranges: PlantedRanges) -> impl Strategy<Value = PlantedCase> {
    planted_strategy(ranges).prop_map(|(spec, seed)| {
        let planted = simulate::<f64>(&spec, seed).expect("generated specs are valid");
        PlantedCase { spec, seed, planted }
    })
}

/// Target / background pairs `(spec, seed)`: a planted problem from `ranges` (with at least
/// two modules) of which 1..=⌊K/2⌋ modules are target-enriched, and as many background
/// samples as target samples, ± half.
pub fn pair_strategy(ranges: PlantedRanges) -> impl Strategy<Value = (PairSpec, u64)> {
    let ranges = PlantedRanges {
        modules: (*ranges.modules.start()).max(2)..=(*ranges.modules.end()).max(2),
        ..ranges
    };
    (planted_strategy(ranges), 0.5f64..=1.5, 0.0f64..=1.0).prop_map(|((spec, seed), nb, e)| {
        let k = spec.modules;
        let enriched = 1 + ((e * (k / 2) as f64) as usize).min(k / 2 - 1);
        let nb = ((nb * spec.samples as f64).round() as usize).max(1);
        (PairSpec::new(spec, nb, enriched), seed)
    })
}

/// A pair problem together with its simulated data (f64).
#[derive(Debug, Clone)]
pub struct PairCase {
    /// What was simulated.
    pub spec: PairSpec,
    /// The seed.
    pub seed: u64,
    /// The data and its truth.
    pub pair: PlantedPair<f64>,
}

/// Simulated target / background pairs drawn from `ranges`.
pub fn pair_instance_strategy(ranges: PlantedRanges) -> impl Strategy<Value = PairCase> {
    pair_strategy(ranges).prop_map(|(spec, seed)| {
        let pair = simulate_pair::<f64>(&spec, seed).expect("generated specs are valid");
        PairCase { spec, seed, pair }
    })
}
