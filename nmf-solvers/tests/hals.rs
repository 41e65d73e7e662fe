//! Accelerated HALS (`Hals`): the error bar set by scikit-learn's cd on pbmc_small, a slow
//! reference implementation, plain HALS = scikit-learn cd, monotone objective (f64 and f32),
//! planted recovery, masks, penalties, revival of dead components, knobs.

mod common;

use common::{pbmc_small, read_tsv, rel_diff, small_problem};
use nmf_core::faer::Mat;
use nmf_core::metrics::{adjusted_rand_index, argmax_labels, matched_cosine};
use nmf_core::{
    Data, ElasticNet, Frobenius, Init, KullbackLeibler, Mask, NmfError, NmfFit, NmfFloat, NmfParams, NmfParamsError,
    NmfProblem, NmfState, Solver,
};
use nmf_solvers::{Cd, Hals};
use nmf_synth::{simulate, Planted, PlantedSpec};
use proptest::prelude::*;

const FIX: &str = "nmf-solvers/tests/fixtures/sklearn";

fn params<F: NmfFloat>(k: usize, init: Init<F>, seed: u64, iters: usize, tol: F) -> NmfParams<F> {
    NmfParams::new(k)
        .init(init)
        .seed(seed)
        .max_iter(iters)
        .tol(tol)
        .threads(1)
}

fn fit<F: NmfFloat>(data: &Data<F>, p: NmfParams<F>, hals: Hals<F>) -> NmfFit<F> {
    p.check().unwrap().fit(data, Frobenius, hals).unwrap()
}

fn entries<F: NmfFloat>(a: &Mat<F>) -> impl Iterator<Item = F> + '_ {
    a.col_iter().flat_map(|c| c.iter().copied())
}

/// Objective non-increasing (relative `slack` for round-off), progress made, iterates feasible.
fn assert_monotone<F: NmfFloat>(fit: &NmfFit<F>, slack: f64, what: &str) {
    let obj: Vec<f64> = fit.history.objectives().iter().map(|v| v.to_f64_lossy()).collect();
    assert_eq!(obj.len(), fit.iterations + 1, "{what}: one row per iteration");
    for (i, p) in obj.windows(2).enumerate() {
        assert!(
            p[1] <= p[0] * (1.0 + slack),
            "{what}: objective rose at iteration {}: {} -> {} (relative {:e})",
            i + 1,
            p[0],
            p[1],
            (p[1] - p[0]) / p[0]
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

fn best_of_3<F: NmfFloat>(data: &Data<F>, k: usize) -> NmfFit<F> {
    (0..3)
        .map(|seed| {
            let init = if seed == 0 { Init::NndsvdA } else { Init::Random };
            fit(data, params(k, init, seed, 500, F::lit(1e-6)), Hals::new())
        })
        .min_by(|a, b| a.evaluation.objective.partial_cmp(&b.evaluation.objective).unwrap())
        .unwrap()
}

/// (mean cosine, min cosine, ARI) of a fit against the truth.
fn score<F: NmfFloat>(truth: &Planted<F>, fit: &NmfFit<F>) -> (f64, f64, f64) {
    let cos = matched_cosine(truth.w_true.as_ref(), fit.state.w.as_ref()).unwrap();
    let ari = adjusted_rand_index(&truth.labels, &argmax_labels(fit.state.h.as_ref())).unwrap();
    (cos.mean, cos.min, ari)
}

/// The bar: from NNDSVDa on pbmc_small (k = 3), HALS reaches a relative error no
/// worse than scikit-learn's cd at tol 1e-5 (round-off allowed).
#[test]
fn hals_from_nndsvda_reaches_sklearn_cd_error_on_pbmc_small() {
    let text = std::fs::read_to_string(common::repo_path(&format!("{FIX}/cd_reference.tsv"))).unwrap();
    let bar: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("relative_error_cd_nndsvda_tol1e-5\t"))
        .expect("reference line")
        .trim()
        .parse()
        .unwrap();
    for dense in [false, true] {
        let x = pbmc_small::<f64>();
        let data = if dense {
            Data::dense(x.to_dense())
        } else {
            Data::sparse(x)
        }
        .unwrap();
        let start = std::time::Instant::now();
        let f = fit(&data, params(3, Init::NndsvdA, 0, 5000, 1e-7), Hals::new());
        let secs = start.elapsed().as_secs_f64();
        let ours = f.evaluation.relative_error;
        println!(
            "dense={dense}: hals relative error {ours:.15} vs sklearn cd {bar:.15} ({:+.3e} relative), {} iterations, {:?}, {secs:.3} s",
            (ours - bar) / bar,
            f.iterations,
            f.stop_reason
        );
        assert!(f.converged(), "{:?}", f.stop_reason);
        assert!(ours <= bar * (1.0 + 1e-6), "hals {ours} vs sklearn cd {bar}");
        assert_monotone(&f, 1e-12, "nndsvda pbmc_small");
    }
}

#[test]
fn hals_recovers_planted_modules_in_the_easy_regime() {
    for seed in [1, 2] {
        let truth = planted::<f64>(seed);
        let data = truth.data_sparse().unwrap();
        let f = best_of_3(&data, 5);
        let (mean, min, ari) = score(&truth, &f);
        println!(
            "seed {seed}: mean cosine {mean:.4}, min cosine {min:.4}, ARI {ari:.4}, iterations {}",
            f.iterations
        );
        assert!(
            mean >= 0.95 && min >= 0.9 && ari >= 0.9,
            "seed {seed}: {mean} {min} {ari}"
        );
    }
    let truth = planted::<f32>(1);
    let f = best_of_3(&truth.data_sparse().unwrap(), 5);
    let (mean, min, ari) = score(&truth, &f);
    println!("f32 seed 1: mean cosine {mean:.4}, min cosine {min:.4}, ARI {ari:.4}");
    assert!(mean >= 0.95 && min >= 0.9 && ari >= 0.9, "f32: {mean} {min} {ari}");
}

/// The revival floor may raise the objective by ~ε_mach·objective; 1e-12 covers it and
/// round-off.
#[test]
fn objective_never_rises_f64() {
    let pbmc = Data::sparse(pbmc_small::<f64>()).unwrap();
    let pl = planted::<f64>(3).data_sparse().unwrap();
    for (name, data, long) in [("pbmc_small", &pbmc, 150), ("planted", &pl, 60)] {
        // (name, solver, iterations): α = 3 with δ = 0 runs ~100 sweeps per block on planted.
        for (what, hals, iters) in [
            ("default", Hals::new(), long),
            ("alpha=0", Hals::new().with_alpha(0.0).unwrap(), long),
            (
                "alpha=3 delta=0",
                Hals::new().with_alpha(3.0).unwrap().with_delta(0.0).unwrap(),
                20,
            ),
            ("no scaling", Hals::new().initial_scaling(false), long),
        ] {
            for init in [Init::NndsvdA, Init::Random, Init::Nndsvd] {
                let f = fit(data, params(4, init.clone(), 1, iters, 0.0), hals.clone());
                assert_monotone(&f, 1e-12, &format!("{name} {what} {init:?}"));
            }
        }
        let pen = params(4, Init::NndsvdA, 1, long, 0.0)
            .l1_h(2.0)
            .l2_h(1.0)
            .l1_w(0.5)
            .l2_w(3.0);
        assert_monotone(&fit(data, pen, Hals::new()), 1e-12, &format!("{name} penalised"));
    }
}

#[test]
fn objective_never_rises_f32() {
    let pbmc = Data::sparse(pbmc_small::<f32>()).unwrap();
    let pl = planted::<f32>(3).data_sparse().unwrap();
    for (name, data) in [("pbmc_small", &pbmc), ("planted", &pl)] {
        for init in [Init::NndsvdA, Init::Random] {
            // Sparse Frobenius is evaluated as ½(‖X‖² − 2⟨X, WH⟩ + ⟨WᵀW, HHᵀ⟩): in f32 its
            // round-off is about 1e-5 of the value.
            let f = fit(data, params(4, init.clone(), 1, 100, 0.0), Hals::new());
            assert_monotone(&f, 1e-4, &format!("f32 {name} {init:?}"));
        }
    }
    let d64 = Data::sparse(pbmc_small::<f64>()).unwrap();
    let a = fit(&d64, params(3, Init::NndsvdA, 0, 50, 0.0), Hals::new())
        .evaluation
        .objective;
    let b = fit(&pbmc, params(3, Init::NndsvdA, 0, 50, 0.0), Hals::new())
        .evaluation
        .objective as f64;
    assert!(((a - b) / a).abs() < 1e-3, "f64 {a} vs f32 {b}");
}

/// A mask by a hash of (i, j): `per_mille`‰ of the entries missing.
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
    assert!(missing > m * n / 60 && missing < m * n / 40, "{missing} missing");
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
    let p = || params(5, Init::NndsvdA, 0, 200, 1e-6);
    let (fa, fb) = (fit(&a, p(), Hals::new()), fit(&b, p(), Hals::new()));
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
        let p = params(3, Init::NndsvdA, 0, 300, 0.0).l1_h(l1).l2_w(1.0);
        let f = fit(&data, p, Hals::new());
        assert_monotone(&f, 1e-12, &format!("l1_h = {l1}"));
        // Rows revived by the floor hold ε_mach·max(H): count them as zero.
        let hmax = entries(&f.state.h).fold(0.0, f64::max);
        let zeros = entries(&f.state.h).filter(|v| *v <= 1e-12 * hmax).count();
        let frac = zeros as f64 / (f.state.h.nrows() * f.state.h.ncols()) as f64;
        println!("l1_h = {l1}: fraction of zeros in H {frac:.3}");
        fracs.push(frac);
    }
    assert!(fracs.windows(2).all(|p| p[1] > p[0]), "fractions of zeros {fracs:?}");
}

/// Without revival a component whose W column and H row are both zero stays dead; with it,
/// the component comes back and the fit improves.
#[test]
fn dead_components_are_revived() {
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let (mut w, mut h) = nmf_core::initialize(&data, 3, &Init::NndsvdA, 0, nmf_core::faer::Par::Seq).unwrap();
    w.as_mut().col_mut(2).fill(0.0);
    h.as_mut().row_mut(2).fill(0.0);
    let p = || {
        params(
            3,
            Init::Custom {
                w: w.clone(),
                h: h.clone(),
            },
            0,
            200,
            0.0,
        )
    };
    let dead = fit(&data, p(), Hals::new().revive(false));
    let alive = fit(&data, p(), Hals::new());
    assert!(dead.state.h.row(2).iter().all(|v| *v == 0.0));
    assert!(dead.state.w.col(2).iter().all(|v| *v == 0.0));
    // The revived component's size in W H (‖w_l‖·‖h_l‖) against the others', and its balance.
    let norm = |it: &mut dyn Iterator<Item = f64>| it.map(|v| v * v).sum::<f64>().sqrt();
    let size = |l: usize| {
        let (w, h) = (&alive.state.w, &alive.state.h);
        (norm(&mut w.col(l).iter().copied()), norm(&mut h.row(l).iter().copied()))
    };
    let (w2, h2) = size(2);
    let (w0, h0) = size(0);
    println!(
        "dead component: objective {:.6e} without revival, {:.6e} with; revived |w|={w2:.3e} |h|={h2:.3e}, first |w|·|h|={:.3e}",
        dead.evaluation.objective,
        alive.evaluation.objective,
        w0 * h0
    );
    assert!(
        w2 * h2 > 1e-3 * w0 * h0,
        "component not revived: {} vs {}",
        w2 * h2,
        w0 * h0
    );
    assert!(
        (1e-6..1e6).contains(&(w2 / h2)),
        "revived component unbalanced: {w2} vs {h2}"
    );
    assert!(alive.evaluation.objective < 0.99 * dead.evaluation.objective);
    assert_monotone(&alive, 1e-12, "revived");
}

#[test]
fn initial_scaling_lowers_the_starting_objective() {
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    for (l1, l2) in [(0.0, 0.0), (1.0, 2.0)] {
        for init in [Init::Random, Init::NndsvdA] {
            let p = || params(3, init.clone(), 4, 1, 0.0).l1_w(l1).l2_w(l2);
            let on = fit(&data, p(), Hals::new()).history.rows()[0].objective;
            let off = fit(&data, p(), Hals::new().initial_scaling(false)).history.rows()[0].objective;
            println!("{init:?} l1_w={l1} l2_w={l2}: start objective {off:.6e} unscaled, {on:.6e} scaled");
            assert!(on <= off * (1.0 + 1e-14), "{on} > {off}");
        }
    }
    // The scale is optimal: perturbing it either way does not help.
    let (w, h) = nmf_core::initialize(&data, 3, &Init::<f64>::Random, 4, nmf_core::faer::Par::Seq).unwrap();
    let mut state = NmfState { w, h };
    let mut problem = NmfProblem::new(
        &data,
        Frobenius,
        ElasticNet::none(),
        ElasticNet::none(),
        nmf_core::faer::Par::Seq,
    )
    .unwrap();
    let mut hals = Hals::new();
    hals.init(&problem, &mut state).unwrap();
    use nmf_core::Problem;
    let best = problem.evaluate(&state).unwrap().objective;
    for s in [0.999, 1.001] {
        let w = Mat::from_fn(state.w.nrows(), 3, |i, l| state.w[(i, l)] * s);
        let scaled = NmfState { w, h: state.h.clone() };
        assert!(problem.evaluate(&scaled).unwrap().objective >= best);
    }
}

/// A literal, slow HALS (triple loops, no shared kernels): initial scaling, the inner-sweep
/// budget, the δ early stop and the row-by-row order. The solver agrees with it to round-off.
/// `kx` is the cost of a product with X: nnz for sparse X, m·n for dense X.
fn slow_hals(
    x: &Mat<f64>,
    (mut w, mut h): (Mat<f64>, Mat<f64>),
    iters: usize,
    (alpha, delta): (f64, f64),
    kx: usize,
) -> (Mat<f64>, Mat<f64>) {
    let (m, n, k) = (x.nrows(), x.ncols(), w.ncols());
    let prod_wh =
        |w: &Mat<f64>, h: &Mat<f64>| Mat::from_fn(m, n, |i, j| (0..k).map(|l| w[(i, l)] * h[(l, j)]).sum::<f64>());
    let wh = prod_wh(&w, &h);
    let num: f64 = (0..m)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| x[(i, j)] * wh[(i, j)])
        .sum();
    let den: f64 = (0..m)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| wh[(i, j)] * wh[(i, j)])
        .sum();
    w = Mat::from_fn(m, k, |i, l| w[(i, l)] * num / den);
    let budget =
        |rows: usize, cols: usize| (1.0 + alpha * (kx + rows * k) as f64 / (cols * (k + 1)) as f64).floor() as usize;
    // V (k×c) ← HALS sweeps with utm (k×c), utu (k×k).
    let sweeps = |v: &mut Mat<f64>, utm: &Mat<f64>, utu: &Mat<f64>, max: usize| {
        let c = v.ncols();
        let mut first = 0.0;
        for s in 0..max {
            let mut change = 0.0;
            for l in 0..k {
                for j in 0..c {
                    let dot: f64 = (0..k).map(|r| utu[(l, r)] * v[(r, j)]).sum();
                    let new = (v[(l, j)] + (utm[(l, j)] - dot) / utu[(l, l)]).max(0.0);
                    change += (new - v[(l, j)]).powi(2);
                    v[(l, j)] = new;
                }
            }
            if s == 0 {
                first = change;
            } else if change <= delta * delta * first {
                break;
            }
        }
    };
    for _ in 0..iters {
        let utm = Mat::from_fn(k, n, |l, j| (0..m).map(|i| w[(i, l)] * x[(i, j)]).sum::<f64>());
        let utu = Mat::from_fn(k, k, |a, b| (0..m).map(|i| w[(i, a)] * w[(i, b)]).sum::<f64>());
        sweeps(&mut h, &utm, &utu, budget(m, n));
        let utm = Mat::from_fn(k, m, |l, i| (0..n).map(|j| h[(l, j)] * x[(i, j)]).sum::<f64>());
        let utu = Mat::from_fn(k, k, |a, b| (0..n).map(|j| h[(a, j)] * h[(b, j)]).sum::<f64>());
        let mut wt = w.transpose().to_owned();
        sweeps(&mut wt, &utm, &utu, budget(n, m));
        w = wt.transpose().to_owned();
    }
    (w, h)
}

#[test]
fn hals_matches_a_slow_reference() {
    let x = pbmc_small::<f64>();
    let xd = x.to_dense();
    let w0 = read_tsv(&format!("{FIX}/W0.tsv"));
    let h0 = read_tsv(&format!("{FIX}/H0.tsv"));
    for (alpha, delta) in [(0.5, 0.1), (0.0, 0.1), (2.0, 0.01)] {
        let hals = Hals::new().with_alpha(alpha).unwrap().with_delta(delta).unwrap();
        let budget = hals.inner_sweeps(&Data::sparse(x.clone()).unwrap(), 3);
        for dense in [true, false] {
            let kx = if dense { 230 * 80 } else { 4456 };
            let (ws, hs) = slow_hals(&xd, (w0.clone(), h0.clone()), 10, (alpha, delta), kx);
            let data = if dense {
                Data::dense(xd.clone())
            } else {
                Data::sparse(x.clone())
            }
            .unwrap();
            let p = params(
                3,
                Init::Custom {
                    w: w0.clone(),
                    h: h0.clone(),
                },
                0,
                10,
                0.0,
            );
            let f = fit(&data, p, hals.clone());
            let (dw, dh) = (rel_diff(&f.state.w, &ws), rel_diff(&f.state.h, &hs));
            println!("alpha {alpha} delta {delta} (budget {budget:?}) dense={dense}: W {dw:.2e}, H {dh:.2e}");
            assert!(dw < 1e-10 && dh < 1e-10, "alpha {alpha}: W {dw}, H {dh}");
        }
    }
    // pbmc_small: m = 230, n = 80, nnz = 4456, k = 3.
    let data = Data::sparse(x.clone()).unwrap();
    assert_eq!(
        Hals::new().inner_sweeps(&data, 3),
        (1 + (4456 + 230 * 3) / (2 * 80 * 4), 1 + (4456 + 80 * 3) / (2 * 230 * 4))
    );
    let dense = Data::dense(xd).unwrap();
    assert_eq!(
        Hals::new().inner_sweeps(&dense, 3).0,
        (1.0 + 0.5 * (230.0 * 80.0 + 690.0) / 320.0) as usize
    );
    assert_eq!(
        Hals::<f64>::new().with_alpha(0.0).unwrap().inner_sweeps(&dense, 3),
        (1, 1)
    );
}

/// HALS with α = 0 and no initial scaling is scikit-learn's cd, sweep for sweep.
#[test]
fn plain_hals_is_sklearn_cd() {
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let w0 = read_tsv(&format!("{FIX}/W0.tsv"));
    let h0 = read_tsv(&format!("{FIX}/H0.tsv"));
    let plain = || Hals::new().with_alpha(0.0).unwrap().initial_scaling(false);
    for (iters, suffix, tol) in [(1, "_1", 1e-12), (200, "", 1e-6)] {
        let p = || {
            params(
                3,
                Init::Custom {
                    w: w0.clone(),
                    h: h0.clone(),
                },
                0,
                iters,
                0.0,
            )
        };
        let f = fit(&data, p(), plain());
        let (dw, dh) = (
            rel_diff(&f.state.w, &read_tsv(&format!("{FIX}/W_cd{suffix}.tsv"))),
            rel_diff(&f.state.h, &read_tsv(&format!("{FIX}/H_cd{suffix}.tsv"))),
        );
        println!("plain HALS vs sklearn cd after {iters}: W {dw:.2e}, H {dh:.2e}");
        assert!(dw < tol && dh < tol);
        let c = p()
            .check()
            .unwrap()
            .fit(&data, Frobenius, Cd::new().with_tol(0.0).unwrap())
            .unwrap();
        assert!(rel_diff(&f.state.w, &c.state.w) < 1e-12 && rel_diff(&f.state.h, &c.state.h) < 1e-12);
    }
}

#[test]
fn dense_and_sparse_inputs_give_the_same_fit() {
    let truth = planted::<f64>(4);
    let (s, d) = (truth.data_sparse().unwrap(), truth.data_dense().unwrap());
    let p = || params(5, Init::NndsvdA, 0, 40, 0.0);
    let (a, b) = (fit(&s, p(), Hals::new()), fit(&d, p(), Hals::new()));
    let diff = rel_diff(&a.state.w, &b.state.w).max(rel_diff(&a.state.h, &b.state.h));
    // Dense X has a larger sweep budget (K_X = m·n), so compare with α = 0 for equality.
    println!("dense vs sparse (default α, different budgets): {diff:.2e}");
    let plain = || Hals::new().with_alpha(0.0).unwrap();
    let (a, b) = (fit(&s, p(), plain()), fit(&d, p(), plain()));
    let diff = rel_diff(&a.state.w, &b.state.w).max(rel_diff(&a.state.h, &b.state.h));
    assert!(diff < 1e-9, "dense vs sparse differ by {diff}");
}

#[test]
fn unsupported_loss_and_bad_knobs_are_errors() {
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let err = NmfParams::new(3)
        .check()
        .unwrap()
        .fit(&data, KullbackLeibler, Hals::new())
        .unwrap_err();
    match err {
        NmfError::UnsupportedLoss {
            solver,
            loss,
            supported,
        } => {
            assert_eq!((solver.as_str(), loss.as_str(), supported), ("hals", "kl", "frobenius"));
        }
        other => panic!("{other}"),
    }
    let knob = |r: Result<Hals<f64>, NmfError>, name: &str| match r {
        Err(NmfError::Params(NmfParamsError::SolverParam { name: n, .. })) => assert_eq!(n, name),
        other => panic!("{name}: {other:?}"),
    };
    knob(Hals::new().with_alpha(-0.1), "alpha");
    knob(Hals::new().with_alpha(f64::INFINITY), "alpha");
    knob(Hals::new().with_delta(-0.1), "delta");
    knob(Hals::new().with_delta(1.5), "delta");
    knob(Hals::new().with_delta(f64::NAN), "delta");
    assert!(Hals::<f64>::new()
        .with_alpha(0.0)
        .and_then(|h| h.with_delta(1.0))
        .is_ok());
    assert_eq!(
        Solver::<f64, NmfProblem<'_, f64, Frobenius>>::name(&Hals::<f64>::new()),
        "hals"
    );
    fn check<T: Send + Sync + Clone>() {}
    check::<Hals<f64>>();
    check::<Hals<f32>>();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn random_small_matrices_give_finite_monotone_fits(
        m in 2usize..12, n in 2usize..12, k_raw in 1usize..12, seed in 0u64..10_000,
        zero_row in any::<bool>(), zero_col in any::<bool>(), init_i in 0usize..4,
    ) {
        let k = 1 + (k_raw - 1) % m.min(n);
        let data = small_problem(m, n, seed, zero_row, zero_col);
        let init = [Init::Random, Init::Nndsvd, Init::NndsvdA, Init::NndsvdAr][init_i].clone();
        let f = fit(&data, params(k, init, seed, 30, 0.0), Hals::new());
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
