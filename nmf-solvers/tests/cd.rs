//! scikit-learn coordinate descent (`Cd`): agreement with scikit-learn 1.9.1 on pbmc_small
//! (fixtures in tests/fixtures/sklearn/ and tests/fixtures/hals_cd/), monotone objective,
//! planted recovery, masks, penalties, shuffling, knobs.

mod common;

use common::{pbmc_small, read_tsv, rel_diff, small_problem};
use nmf_core::faer::Mat;
use nmf_core::metrics::{adjusted_rand_index, argmax_labels, matched_cosine};
use nmf_core::{
    Data, Frobenius, Init, KullbackLeibler, Mask, NmfError, NmfFit, NmfFloat, NmfParams, NmfParamsError, NmfProblem,
    Solver, StopReason,
};
use nmf_solvers::Cd;
use nmf_synth::{simulate, Planted, PlantedSpec};
use proptest::prelude::*;

const FIX: &str = "nmf-solvers/tests/fixtures/sklearn";
const OWN: &str = "nmf-solvers/tests/fixtures/hals_cd";

/// `name<TAB>value` from a reference file.
fn reference(file: &str, name: &str) -> f64 {
    let text = std::fs::read_to_string(common::repo_path(file)).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}\t")))
        .unwrap_or_else(|| panic!("{name} in {file}"))
        .trim()
        .parse()
        .unwrap()
}

fn pbmc(dense: bool) -> Data<f64> {
    let x = pbmc_small::<f64>();
    if dense {
        Data::dense(x.to_dense())
    } else {
        Data::sparse(x)
    }
    .unwrap()
}

fn fixture_params(iters: usize) -> NmfParams<f64> {
    let w0 = read_tsv(&format!("{FIX}/W0.tsv"));
    let h0 = read_tsv(&format!("{FIX}/H0.tsv"));
    NmfParams::new(3)
        .init(Init::Custom { w: w0, h: h0 })
        .max_iter(iters)
        .tol(0.0)
        .threads(1)
}

fn from_fixture_start(data: &Data<f64>, iters: usize, cd: Cd<f64>) -> NmfFit<f64> {
    fixture_params(iters).check().unwrap().fit(data, Frobenius, cd).unwrap()
}

fn check(fit: &NmfFit<f64>, w_file: &str, h_file: &str, tol: f64, what: &str) -> (f64, f64) {
    let ws: Mat<f64> = read_tsv(w_file);
    let hs: Mat<f64> = read_tsv(h_file);
    let (dw, dh) = (rel_diff(&fit.state.w, &ws), rel_diff(&fit.state.h, &hs));
    println!("{what}: rel diff W {dw:.3e}, H {dh:.3e}");
    assert!(dw < tol && dh < tol, "{what}: W {dw:e}, H {dh:e}");
    (dw, dh)
}

#[test]
fn cd_matches_sklearn_after_1_and_200_iterations() {
    for dense in [true, false] {
        let data = pbmc(dense);
        let cd = || Cd::new().with_tol(0.0).unwrap();
        let f1 = from_fixture_start(&data, 1, cd());
        assert_eq!(f1.iterations, 1);
        check(
            &f1,
            &format!("{FIX}/W_cd_1.tsv"),
            &format!("{FIX}/H_cd_1.tsv"),
            1e-12,
            &format!("dense={dense} 1"),
        );
        let f200 = from_fixture_start(&data, 200, cd());
        assert_eq!(f200.iterations, 200);
        check(
            &f200,
            &format!("{FIX}/W_cd.tsv"),
            &format!("{FIX}/H_cd.tsv"),
            1e-6,
            &format!("dense={dense} 200"),
        );
    }
}

/// Penalties as scikit-learn applies them (alpha_W = 0.01, alpha_H = 'same', l1_ratio = 0.5,
/// mapped to raw weights in tests/fixtures/hals_cd/reference.tsv), 100 iterations.
#[test]
fn penalised_cd_matches_sklearn() {
    let r = |n: &str| reference(&format!("{OWN}/reference.tsv"), n);
    for dense in [true, false] {
        let p = fixture_params(100)
            .l1_h(r("l1_h"))
            .l2_h(r("l2_h"))
            .l1_w(r("l1_w"))
            .l2_w(r("l2_w"));
        let f = p
            .check()
            .unwrap()
            .fit(&pbmc(dense), Frobenius, Cd::new().with_tol(0.0).unwrap())
            .unwrap();
        assert_eq!(f.iterations, 100);
        check(
            &f,
            &format!("{OWN}/W_cd_pen.tsv"),
            &format!("{OWN}/H_cd_pen.tsv"),
            1e-6,
            &format!("penalised dense={dense}"),
        );
        assert_monotone(&f, 1e-12, "penalised");
    }
}

/// scikit-learn's own stopping rule (tol = 1e-4 on the violation ratio): same iteration count
/// and the same factors.
#[test]
fn cd_stops_where_sklearn_stops() {
    let iters = reference(&format!("{OWN}/reference.tsv"), "iterations_cd_custom_tol1e-4") as usize;
    for dense in [true, false] {
        let f = from_fixture_start(&pbmc(dense), 10_000, Cd::new());
        println!(
            "dense={dense}: stopped after {} iterations ({:?}), sklearn {iters}",
            f.iterations, f.stop_reason
        );
        assert_eq!(f.stop_reason, StopReason::SolverConverged);
        assert_eq!(f.iterations, iters);
        check(
            &f,
            &format!("{OWN}/W_cd_tol.tsv"),
            &format!("{OWN}/H_cd_tol.tsv"),
            1e-9,
            &format!("tol=1e-4 dense={dense}"),
        );
    }
}

fn fit<F: NmfFloat>(data: &Data<F>, k: usize, init: Init<F>, seed: u64, iters: usize, cd: Cd<F>) -> NmfFit<F> {
    NmfParams::new(k)
        .init(init)
        .seed(seed)
        .max_iter(iters)
        .tol(F::zero())
        .threads(1)
        .check()
        .unwrap()
        .fit(data, Frobenius, cd)
        .unwrap()
}

fn entries<F: NmfFloat>(a: &Mat<F>) -> impl Iterator<Item = F> + '_ {
    a.col_iter().flat_map(|c| c.iter().copied())
}

fn assert_monotone<F: NmfFloat>(fit: &NmfFit<F>, slack: f64, what: &str) {
    let obj: Vec<f64> = fit.history.objectives().iter().map(|v| v.to_f64_lossy()).collect();
    assert_eq!(obj.len(), fit.iterations + 1, "{what}: one row per iteration");
    for (i, p) in obj.windows(2).enumerate() {
        assert!(
            p[1] <= p[0] * (1.0 + slack),
            "{what}: objective rose at iteration {}: {} -> {}",
            i + 1,
            p[0],
            p[1]
        );
    }
    assert!(obj[obj.len() - 1] < obj[0], "{what}: no progress");
    for v in entries(&fit.state.w).chain(entries(&fit.state.h)) {
        assert!(v >= F::zero() && v.is_finite(), "{what}: infeasible entry {v}");
    }
}

fn planted<F: NmfFloat>(seed: u64) -> Planted<F> {
    simulate::<F>(&PlantedSpec::new(500, 300, 5).depth(1000.0), seed).unwrap()
}

fn score<F: NmfFloat>(truth: &Planted<F>, fit: &NmfFit<F>) -> (f64, f64, f64) {
    let cos = matched_cosine(truth.w_true.as_ref(), fit.state.w.as_ref()).unwrap();
    let ari = adjusted_rand_index(&truth.labels, &argmax_labels(fit.state.h.as_ref())).unwrap();
    (cos.mean, cos.min, ari)
}

/// Best of 3 restarts by objective, each stopped by scikit-learn's rule (tol 1e-4).
fn best_of_3<F: NmfFloat>(data: &Data<F>, k: usize) -> NmfFit<F> {
    (0..3)
        .map(|seed| {
            let init = if seed == 0 { Init::NndsvdA } else { Init::Random };
            fit(data, k, init, seed, 2000, Cd::new().with_tol(F::lit(1e-4)).unwrap())
        })
        .min_by(|a, b| a.evaluation.objective.partial_cmp(&b.evaluation.objective).unwrap())
        .unwrap()
}

#[test]
fn cd_recovers_planted_modules_in_the_easy_regime() {
    for seed in [1, 2] {
        let truth = planted::<f64>(seed);
        let f = best_of_3(&truth.data_sparse().unwrap(), 5);
        let (mean, min, ari) = score(&truth, &f);
        println!(
            "seed {seed}: mean cosine {mean:.4}, min cosine {min:.4}, ARI {ari:.4}, iterations {} ({:?})",
            f.iterations, f.stop_reason
        );
        assert!(
            mean >= 0.95 && min >= 0.9 && ari >= 0.9,
            "seed {seed}: {mean} {min} {ari}"
        );
    }
    let truth = planted::<f32>(1);
    let f = best_of_3(&truth.data_sparse().unwrap(), 5);
    let (mean, min, ari) = score(&truth, &f);
    println!(
        "f32 seed 1: mean cosine {mean:.4}, min cosine {min:.4}, ARI {ari:.4}, iterations {}",
        f.iterations
    );
    assert!(mean >= 0.95 && min >= 0.9 && ari >= 0.9, "f32: {mean} {min} {ari}");
}

#[test]
fn objective_never_rises_f64() {
    let pbmc = Data::sparse(pbmc_small::<f64>()).unwrap();
    let pl = planted::<f64>(3).data_sparse().unwrap();
    for (name, data, long) in [("pbmc_small", &pbmc, 150), ("planted", &pl, 60)] {
        for init in [Init::NndsvdA, Init::Random, Init::Nndsvd] {
            for (what, cd) in [("plain", Cd::new()), ("shuffled", Cd::new().shuffle(true).seed(5))] {
                let f = fit(data, 4, init.clone(), 1, long, cd.with_tol(0.0).unwrap());
                assert_monotone(&f, 1e-12, &format!("{name} {what} {init:?}"));
            }
        }
        let pen = NmfParams::new(4)
            .max_iter(150)
            .tol(0.0)
            .l1_h(2.0)
            .l2_h(1.0)
            .l1_w(0.5)
            .l2_w(3.0);
        let f = pen
            .check()
            .unwrap()
            .fit(data, Frobenius, Cd::new().with_tol(0.0).unwrap())
            .unwrap();
        assert_monotone(&f, 1e-12, &format!("{name} penalised"));
    }
}

#[test]
fn objective_never_rises_f32() {
    let pbmc = Data::sparse(pbmc_small::<f32>()).unwrap();
    let pl = planted::<f32>(3).data_sparse().unwrap();
    for (name, data) in [("pbmc_small", &pbmc), ("planted", &pl)] {
        for init in [Init::NndsvdA, Init::Random] {
            // Sparse Frobenius in f32 is evaluated with round-off ~1e-5 of the value.
            let f = fit(data, 4, init.clone(), 1, 100, Cd::new().with_tol(0.0).unwrap());
            assert_monotone(&f, 1e-4, &format!("f32 {name} {init:?}"));
        }
    }
    let d64 = Data::sparse(pbmc_small::<f64>()).unwrap();
    let a = fit(&d64, 3, Init::NndsvdA, 0, 50, Cd::new()).evaluation.objective;
    let b = fit(&pbmc, 3, Init::NndsvdA, 0, 50, Cd::new()).evaluation.objective as f64;
    assert!(((a - b) / a).abs() < 1e-3, "f64 {a} vs f32 {b}");
}

fn hash_mask(m: usize, n: usize, per_mille: u64) -> Mask {
    Mask::from_fn(m, n, |i, j| {
        let mut z = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (j as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        z = (z ^ (z >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        (z ^ (z >> 29)) % 1000 >= per_mille
    })
}

#[test]
fn masked_fit_never_reads_masked_entries_and_recovers_modules() {
    let truth = planted::<f64>(1);
    let x = truth.x.to_dense();
    let (m, n) = (x.nrows(), x.ncols());
    let mask = hash_mask(m, n, 20);
    let missing = m * n - mask.count_observed();
    let (mut nan, mut junk) = (x.clone(), x.clone());
    for j in 0..n {
        for i in 0..m {
            if !mask.is_observed(i, j) {
                nan[(i, j)] = f64::NAN;
                junk[(i, j)] = 1e6 + (i * j) as f64;
            }
        }
    }
    let a = Data::dense_masked(nan, mask.clone()).unwrap();
    let b = Data::dense_masked(junk, mask).unwrap();
    let run = |d: &Data<f64>| fit(d, 5, Init::NndsvdA, 0, 1000, Cd::new().with_tol(1e-4).unwrap());
    let (fa, fb) = (run(&a), run(&b));
    assert_eq!(fa.state.w, fb.state.w);
    assert_eq!(fa.state.h, fb.state.h);
    assert_monotone(&fa, 1e-12, "masked");
    let (mean, min, ari) = score(&truth, &fa);
    println!(
        "masked ({missing} missing): mean cosine {mean:.4}, min {min:.4}, ARI {ari:.4}, {} iterations",
        fa.iterations
    );
    assert!(min >= 0.9 && mean >= 0.95, "masked: {mean} {min}");
}

#[test]
fn l1_on_h_makes_h_sparser() {
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let mut fracs = vec![];
    // A fixed L2 on W closes the scale gauge: with a penalty on H alone, the fit could shrink
    // H and grow W, and the L1 weight would lose its grip.
    for l1 in [0.0, 20.0, 100.0, 1000.0] {
        let p = NmfParams::new(3).max_iter(300).tol(0.0).l1_h(l1).l2_w(1.0);
        let f = p
            .check()
            .unwrap()
            .fit(&data, Frobenius, Cd::new().with_tol(0.0).unwrap())
            .unwrap();
        assert_monotone(&f, 1e-12, &format!("l1_h = {l1}"));
        let zeros = entries(&f.state.h).filter(|v| *v == 0.0).count();
        let frac = zeros as f64 / (f.state.h.nrows() * f.state.h.ncols()) as f64;
        println!("l1_h = {l1}: fraction of exact zeros in H {frac:.3}");
        fracs.push(frac);
    }
    assert!(fracs.windows(2).all(|p| p[1] > p[0]), "fractions of zeros {fracs:?}");
}

#[test]
fn shuffling_is_seeded() {
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let run = |cd: Cd<f64>| fit(&data, 4, Init::NndsvdA, 0, 60, cd.with_tol(0.0).unwrap());
    let (a, b) = (
        run(Cd::new().shuffle(true).seed(1)),
        run(Cd::new().shuffle(true).seed(1)),
    );
    assert_eq!(a.state.w, b.state.w);
    assert_eq!(a.state.h, b.state.h);
    let c = run(Cd::new().shuffle(true).seed(2));
    assert_ne!(a.state.w, c.state.w);
    let plain = run(Cd::new());
    assert_ne!(a.state.w, plain.state.w);
    // Same quality as the fixed order.
    let (oa, op) = (a.evaluation.objective, plain.evaluation.objective);
    println!("shuffled objective {oa:.6e}, fixed order {op:.6e}");
    assert!((oa - op).abs() / op < 0.02);
}

#[test]
fn unsupported_loss_and_bad_knobs_are_errors() {
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let err = NmfParams::new(3)
        .check()
        .unwrap()
        .fit(&data, KullbackLeibler, Cd::new())
        .unwrap_err();
    match err {
        NmfError::UnsupportedLoss {
            solver,
            loss,
            supported,
        } => {
            assert_eq!((solver.as_str(), loss.as_str(), supported), ("cd", "kl", "frobenius"));
        }
        other => panic!("{other}"),
    }
    for bad in [-1e-4, f64::NAN, f64::INFINITY] {
        match Cd::new().with_tol(bad) {
            Err(NmfError::Params(NmfParamsError::SolverParam { name, .. })) => assert_eq!(name, "tol"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert!(Cd::<f64>::new().with_tol(0.0).is_ok());
    assert_eq!(
        Solver::<f64, NmfProblem<'_, f64, Frobenius>>::name(&Cd::<f64>::new()),
        "cd"
    );
    fn check<T: Send + Sync + Clone>() {}
    check::<Cd<f64>>();
    check::<Cd<f32>>();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn random_small_matrices_give_finite_monotone_fits(
        m in 2usize..12, n in 2usize..12, k_raw in 1usize..12, seed in 0u64..10_000,
        zero_row in any::<bool>(), zero_col in any::<bool>(), init_i in 0usize..4, shuffle in any::<bool>(),
    ) {
        let k = 1 + (k_raw - 1) % m.min(n);
        let data = small_problem(m, n, seed, zero_row, zero_col);
        let init = [Init::Random, Init::Nndsvd, Init::NndsvdA, Init::NndsvdAr][init_i].clone();
        let f = fit(&data, k, init, seed, 30, Cd::new().shuffle(shuffle).seed(seed));
        prop_assert!(f.evaluation.objective.is_finite());
        for v in entries(&f.state.w).chain(entries(&f.state.h)) {
            prop_assert!(v.is_finite() && v >= 0.0);
        }
        let obj = f.history.objectives();
        for p in obj.windows(2) {
            prop_assert!(p[1] <= p[0] * (1.0 + 1e-12) + 1e-12, "{} -> {}", p[0], p[1]);
        }
    }
}
