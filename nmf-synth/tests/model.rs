//! The count model's moments, determinism, overlapping supports and pair structure.

use nmf_synth::{simulate, simulate_pair, PairSpec, PlantedSpec, SynthError, Usage};

/// Per-feature sample mean and variance over many samples of one fixed rate vector (one
/// module, σ = 0): z-scores of the mean against λ and of the variance against λ + φλ²,
/// with standard errors from the sample's own fourth central moment.
fn moment_z_scores(phi: f64) -> (f64, f64, f64, f64) {
    let (m, n) = (20, 6000);
    let spec = PlantedSpec::new(m, n, 1)
        .module_fraction(1.0)
        .library_sigma(0.0)
        .usage(Usage::Dominant(1.0))
        .depth(200.0)
        .dispersion(phi);
    let p = simulate::<f64>(&spec, 42).unwrap();
    let x = p.x.to_dense();
    let (mut max_zm, mut max_zv, mut ratio, mut fano) = (0.0f64, 0.0f64, 0.0, 0.0);
    for i in 0..m {
        let lambda = p.w_true[(i, 0)] * p.h_true[(0, 0)];
        assert!((0..n).all(|j| p.h_true[(0, j)] == p.h_true[(0, 0)]));
        let xs: Vec<f64> = (0..n).map(|j| x[(i, j)]).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let m4 = xs.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / n as f64;
        let model_var = lambda + phi * lambda * lambda;
        let zm = (mean - lambda) / (model_var / n as f64).sqrt();
        let zv = (var - model_var) / ((m4 - var * var) / n as f64).sqrt();
        max_zm = max_zm.max(zm.abs());
        max_zv = max_zv.max(zv.abs());
        ratio += var / model_var / m as f64;
        fano += var / mean / m as f64;
    }
    println!(
        "phi {phi}: max |z| of means {max_zm:.2}, of variances {max_zv:.2}, mean var/model {ratio:.4}, mean var/mean {fano:.3}"
    );
    (max_zm, max_zv, ratio, fano)
}

#[test]
fn poisson_variance_equals_the_mean() {
    let (zm, zv, ratio, fano) = moment_z_scores(0.0);
    assert!(zm < 4.5 && zv < 4.5, "{zm} {zv}");
    assert!(
        (ratio - 1.0).abs() < 0.03 && (fano - 1.0).abs() < 0.03,
        "{ratio} {fano}"
    );
}

#[test]
fn negative_binomial_variance_is_mean_plus_phi_mean_squared() {
    for phi in [0.1, 0.5, 2.0] {
        let (zm, zv, ratio, fano) = moment_z_scores(phi);
        assert!(zm < 4.5 && zv < 4.5, "phi {phi}: {zm} {zv}");
        assert!((ratio - 1.0).abs() < 0.06, "phi {phi}: {ratio}");
        // Really overdispersed: λ ≈ 10 here, so var/mean ≈ 1 + 10φ, far from Poisson's 1.
        assert!(fano > 1.0 + 5.0 * phi, "phi {phi}: var/mean {fano}");
    }
}

#[test]
fn same_seed_same_data_and_the_default_stream_is_pinned() {
    let spec = PlantedSpec::new(120, 50, 3).dispersion(0.3).overlap(0.25);
    assert_eq!(simulate::<f64>(&spec, 5).unwrap(), simulate::<f64>(&spec, 5).unwrap());
    assert_ne!(
        simulate::<f64>(&spec, 5).unwrap().x,
        simulate::<f64>(&spec, 6).unwrap().x
    );
    let pair = PairSpec::new(spec, 40, 1);
    assert_eq!(
        simulate_pair::<f64>(&pair, 5).unwrap(),
        simulate_pair::<f64>(&pair, 5).unwrap()
    );
    assert_ne!(
        simulate_pair::<f64>(&pair, 5).unwrap().y,
        simulate_pair::<f64>(&pair, 6).unwrap().y
    );
    // Poisson specs draw the same random stream as before dispersion and overlap existed.
    let p = simulate::<f64>(&PlantedSpec::new(300, 100, 5), 3).unwrap();
    assert_eq!((p.x.nnz(), p.x.values().iter().sum::<f64>()), (13101, 100455.0));
}

#[test]
fn overlap_shares_the_stated_number_of_features_with_the_next_module() {
    for (overlap, shared) in [(0.0, 0), (0.25, 10), (0.5, 20), (0.9, 36)] {
        let spec = PlantedSpec::new(400, 30, 4).module_fraction(0.1).overlap(overlap);
        let p = simulate::<f64>(&spec, 1).unwrap();
        let support = |l: usize| -> Vec<usize> { (0..400).filter(|&i| p.w_true[(i, l)] > 0.0).collect() };
        for l in 0..4 {
            let s = support(l);
            assert_eq!(s.len(), 40);
            assert_eq!(s, spec.module_features(l).collect::<Vec<_>>());
            let col_sum: f64 = (0..400).map(|i| p.w_true[(i, l)]).sum();
            assert!((col_sum - 1.0).abs() < 1e-12);
            if l + 1 < 4 {
                let next = support(l + 1);
                let common = s.iter().filter(|i| next.contains(i)).count();
                assert_eq!(common, shared, "overlap {overlap}");
                // Only neighbours overlap (for overlap ≤ 0.5).
                if l + 2 < 4 && overlap <= 0.5 {
                    let after = support(l + 2);
                    assert!(s.iter().all(|i| !after.contains(i)));
                }
            }
        }
    }
    // Overlap lets more modules fit in the same features.
    let tight = PlantedSpec::new(100, 10, 4).module_fraction(0.3);
    assert!(matches!(
        simulate::<f64>(&tight, 0),
        Err(SynthError::BadParam {
            name: "module_fraction",
            ..
        })
    ));
    assert!(simulate::<f64>(&tight.overlap(0.5), 0).is_ok());
}

#[test]
fn pair_structure_follows_the_spec() {
    let spec = PairSpec::new(PlantedSpec::new(300, 120, 5).depth(800.0), 90, 2).enriched_fraction(0.6);
    let p = simulate_pair::<f64>(&spec, 3).unwrap();
    assert_eq!((p.x.nrows(), p.x.ncols()), (300, 120));
    assert_eq!((p.y.nrows(), p.y.ncols()), (300, 90));
    assert_eq!((p.w_true.nrows(), p.w_true.ncols()), (300, 5));
    assert_eq!(p.enriched, vec![3, 4]);
    // Enriched modules are zero in the background; shared modules are used there.
    for j in 0..90 {
        assert!(p.enriched.iter().all(|&e| p.h_background_true[(e, j)] == 0.0));
        let s: f64 = (0..5).map(|l| p.h_background_true[(l, j)]).sum();
        assert!((s - p.background_library_sizes[j]).abs() < 1e-9 * s);
        assert!(p.background_labels[j] < 3);
    }
    // 60% of the target carries one enriched module each, in near-equal groups.
    let carriers: Vec<usize> = (0..120).filter(|&j| p.enriched_labels[j].is_some()).collect();
    assert_eq!(carriers.len(), 72);
    let group = |e| p.enriched_labels.iter().filter(|&&l| l == Some(e)).count();
    assert_eq!((group(3), group(4)), (36, 36));
    for j in 0..120 {
        let lib = p.target_library_sizes[j];
        match p.enriched_labels[j] {
            Some(e) => {
                assert!((p.h_target_true[(e, j)] / lib - 0.5).abs() < 1e-9);
                let other = if e == 3 { 4 } else { 3 };
                assert_eq!(p.h_target_true[(other, j)], 0.0);
            }
            None => assert!(p.enriched.iter().all(|&e| p.h_target_true[(e, j)] == 0.0)),
        }
    }
    let sub = p.subgroup_labels();
    assert_eq!(sub.iter().filter(|&&s| s == 0).count(), 48);
    // Same features, same order: one W for both; the enriched features are (almost) silent in Y
    // and loud in the carriers of X.
    let feats = spec.target.module_features(3);
    let yd = p.y.to_dense();
    let xd = p.x.to_dense();
    let y_enriched: f64 = feats.clone().map(|i| (0..90).map(|j| yd[(i, j)]).sum::<f64>()).sum();
    let x_enriched: f64 = feats.map(|i| carriers.iter().map(|&j| xd[(i, j)]).sum::<f64>()).sum();
    assert_eq!(y_enriched, 0.0);
    assert!(x_enriched > 1000.0, "{x_enriched}");
    assert_eq!(p.target_data(true).unwrap().stats().nnz, p.x.nnz());
    assert!(p.background_data(false).unwrap().is_sparse());
}

#[test]
fn bad_pair_and_count_parameters_are_named() {
    let bad = |r: Result<_, SynthError>, name: &str| match r {
        Err(SynthError::BadParam { name: n, .. }) => assert!(n.contains(name), "{n}"),
        Ok(_) => panic!("accepted, expected {name}"),
        Err(e) => panic!("{e:?}"),
    };
    let base = PlantedSpec::new(100, 20, 3);
    bad(
        simulate_pair::<f64>(&PairSpec::new(base.clone(), 10, 3), 0).map(|_| ()),
        "enriched",
    );
    bad(
        simulate_pair::<f64>(&PairSpec::new(base.clone(), 0, 1), 0).map(|_| ()),
        "background_samples",
    );
    bad(
        simulate_pair::<f64>(&PairSpec::new(base.clone(), 10, 1).enriched_fraction(1.5), 0).map(|_| ()),
        "enriched_fraction",
    );
    bad(
        simulate_pair::<f64>(&PairSpec::new(base.clone(), 10, 1).enriched_weight(0.0), 0).map(|_| ()),
        "enriched_weight",
    );
    bad(
        simulate::<f64>(&base.clone().dispersion(-1.0), 0).map(|_| ()),
        "dispersion",
    );
    bad(simulate::<f64>(&base.clone().overlap(1.0), 0).map(|_| ()), "overlap");
}
