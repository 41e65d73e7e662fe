//! The simulator's output honours its generative model.

use nmf_synth::{simulate, PlantedSpec, SynthError, Usage};

#[test]
fn output_follows_the_model() {
    let spec = PlantedSpec::new(300, 400, 5).depth(2000.0).usage(Usage::Dirichlet(0.5));
    let p = simulate::<f64>(&spec, 4).unwrap();
    assert_eq!((p.x.nrows(), p.x.ncols()), (300, 400));
    // Modules are probability vectors on disjoint blocks of features.
    for l in 0..5 {
        let col: Vec<f64> = (0..300).map(|i| p.w_true[(i, l)]).collect();
        assert!((col.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let support: Vec<usize> = (0..300).filter(|&i| col[i] > 0.0).collect();
        assert_eq!(support.len(), 300 / 7);
        assert!(support.iter().all(|&i| i / (300 / 7) == l));
    }
    // H columns sum to the library sizes; labels are their argmax.
    for j in 0..400 {
        let s: f64 = (0..5).map(|l| p.h_true[(l, j)]).sum();
        assert!((s - p.library_sizes[j]).abs() < 1e-9 * s);
        let arg = (0..5).fold(0, |b, l| if p.h_true[(l, j)] > p.h_true[(b, j)] { l } else { b });
        assert_eq!(arg, p.labels[j]);
    }
    // Counts: total close to the expected total (Poisson: relative sd ~ 1/sqrt(total)).
    let total: f64 = p.x.values().iter().sum();
    let expected: f64 = p.library_sizes.iter().sum();
    assert!(((total - expected) / expected).abs() < 0.01, "{total} vs {expected}");
    // Library sizes are lognormal around the depth: their median is near it.
    let mut libs = p.library_sizes.clone();
    libs.sort_by(f64::total_cmp);
    let median = libs[200];
    assert!((median / 2000.0 - 1.0).abs() < 0.1, "median library {median}");
    assert!(p.x.values().iter().all(|v| *v >= 1.0 && v.fract() == 0.0));
}

#[test]
fn dominant_usage_puts_the_weight_on_the_label() {
    let p = simulate::<f32>(&PlantedSpec::new(100, 50, 4), 9).unwrap();
    for j in 0..50 {
        let share = p.h_true[(p.labels[j], j)] / p.library_sizes[j];
        assert!((share - 0.85).abs() < 1e-5, "{share}");
    }
    assert_eq!(p.data_dense().unwrap().stats().nnz, p.x.nnz());
}

#[test]
fn seeded_and_deterministic() {
    let spec = PlantedSpec::new(80, 30, 3).background(0.1);
    assert_eq!(simulate::<f64>(&spec, 1).unwrap(), simulate::<f64>(&spec, 1).unwrap());
    assert_ne!(
        simulate::<f64>(&spec, 1).unwrap().x,
        simulate::<f64>(&spec, 2).unwrap().x
    );
}

#[test]
fn bad_parameters_are_named() {
    let bad = |spec: PlantedSpec, name: &str| match simulate::<f64>(&spec, 0) {
        Err(SynthError::BadParam { name: n, .. }) => assert!(n.contains(name), "{n}"),
        other => panic!("{other:?}"),
    };
    bad(PlantedSpec::new(10, 10, 0), "modules");
    bad(PlantedSpec::new(0, 10, 2), "features");
    bad(PlantedSpec::new(10, 10, 2).module_fraction(0.9), "module_fraction");
    bad(PlantedSpec::new(10, 10, 2).depth(-1.0), "depth");
    bad(PlantedSpec::new(10, 10, 2).background(1.0), "background");
    bad(PlantedSpec::new(10, 10, 2).usage(Usage::Dirichlet(0.0)), "dirichlet");
    bad(PlantedSpec::new(10, 10, 2).library_sigma(f64::NAN), "library_sigma");
}

#[test]
fn unmodelled_background_adds_mass_outside_the_modules() {
    let base = PlantedSpec::new(300, 400, 4).depth(2000.0);
    // The default stream is untouched by the new option.
    let plain = simulate::<f64>(&base, 3).unwrap();
    assert!(plain.unmodelled_profile.is_none());
    assert_eq!(plain, simulate::<f64>(&base.clone().unmodelled(0.0), 3).unwrap());
    let p = simulate::<f64>(&base.unmodelled(0.3), 3).unwrap();
    let profile = p.unmodelled_profile.as_ref().unwrap();
    assert!((profile.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    // The modules carry 70% of each library; the profile the rest, on every feature.
    let mut module_mass = 0.0;
    for j in 0..400 {
        let s: f64 = (0..4).map(|l| p.h_true[(l, j)]).sum();
        assert!((s - 0.7 * p.library_sizes[j]).abs() < 1e-9 * s);
        module_mass += s;
    }
    let total: f64 = p.x.values().iter().sum();
    let expected: f64 = p.library_sizes.iter().sum();
    assert!(((total - expected) / expected).abs() < 0.01, "{total} vs {expected}");
    assert!(module_mass < 0.72 * total);
    // Features outside every module now carry counts.
    let outside = 4 * (300 / 6)..300;
    let t = &p.x;
    let counts_outside: f64 = (0..400)
        .flat_map(|j| (t.col_ptr()[j]..t.col_ptr()[j + 1]).map(move |q| (j, q)))
        .filter(|&(_, q)| outside.contains(&t.row_idx()[q]))
        .map(|(_, q)| t.values()[q])
        .sum();
    assert!(counts_outside > 0.05 * total, "{counts_outside}");
    assert!(matches!(
        simulate::<f64>(&PlantedSpec::new(30, 10, 2).unmodelled(1.0), 0),
        Err(nmf_synth::SynthError::BadParam { name: "unmodelled", .. })
    ));
}
