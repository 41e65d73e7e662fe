//! The exported proptest strategies generate valid problems in their stated ranges.
#![cfg(feature = "proptest")]

use nmf_synth::strategies::{
    easy_planted_strategy, instance_strategy, pair_instance_strategy, planted_strategy, PlantedRanges,
};
use nmf_synth::{simulate, Usage};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn easy_problems_are_in_the_easy_regime((spec, seed) in easy_planted_strategy()) {
        let k = spec.modules;
        prop_assert!((2..=6).contains(&k));
        prop_assert!(spec.features >= 40 * k && spec.samples >= 30 * k);
        prop_assert!(spec.depth >= 500.0 && spec.overlap <= 0.1 && spec.dispersion == 0.0);
        prop_assert!(matches!(spec.usage, Usage::Dominant(_)));
        let p = simulate::<f64>(&spec, seed).unwrap();
        prop_assert!(p.data_sparse().is_ok());
    }

    #[test]
    fn general_problems_simulate(case in instance_strategy(PlantedRanges::general())) {
        prop_assert_eq!(case.planted.x.nrows(), case.spec.features);
        prop_assert_eq!(case.planted.h_true.ncols(), case.spec.samples);
        let support = case.spec.module_features(case.spec.modules - 1);
        prop_assert!(support.end <= case.spec.features);
    }

    #[test]
    fn pairs_simulate(case in pair_instance_strategy(PlantedRanges::general())) {
        let k = case.spec.target.modules;
        prop_assert!(case.spec.enriched >= 1 && case.spec.enriched < k);
        for &e in &case.pair.enriched {
            prop_assert!((0..case.spec.background_samples).all(|j| case.pair.h_background_true[(e, j)] == 0.0));
        }
    }

    #[test]
    fn custom_ranges_are_respected((spec, _) in planted_strategy(PlantedRanges { modules: 3..=3, dispersion: 0.2..=0.4, ..PlantedRanges::easy() })) {
        prop_assert_eq!(spec.modules, 3);
        prop_assert!((0.2..=0.4).contains(&spec.dispersion));
    }
}
