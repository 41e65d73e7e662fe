//! AO-ADMM: planted recovery, residuals that go to zero (ADMM is not monotone, so no
//! monotone-objective test), MU-quality objectives, block optimality with tight inner
//! solves, masks, penalties, the unsupported-loss error, knobs, f32 and f64, and a proptest
//! over small random matrices.

mod common;

use std::time::Instant;

use common::pbmc_small;
use nmf_core::faer::{Accum, Mat, Par};
use nmf_core::linalg::gemm;
use nmf_core::metrics::{adjusted_rand_index, argmax_labels, matched_cosine};
use nmf_core::{
    initialize, BetaDivergence, Constraint, Data, ElasticNet, Frobenius, Init, KullbackLeibler, Loss, Mask, NmfError,
    NmfFit, NmfFloat, NmfParams, NmfParamsError, NmfProblem, NmfState, Problem, Solver,
};
use nmf_solvers::{Admm, Mu};
use nmf_synth::{simulate, Planted, PlantedSpec, Usage};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// Helpers

/// A fit through the public entry point: sequential, no early stop.
fn fit<F: NmfFloat, L: Loss<F>>(data: &Data<F>, loss: L, k: usize, iters: usize, admm: Admm<F>) -> NmfFit<F> {
    NmfParams::new(k)
        .init(Init::NndsvdA)
        .seed(3)
        .max_iter(iters)
        .tol(F::zero())
        .threads(1)
        .check()
        .unwrap()
        .fit(data, loss, admm)
        .unwrap()
}

/// What one outer iteration reported, and the objective after it.
#[derive(Debug, Clone, Copy)]
struct Step {
    primal: f64,
    dual: f64,
    objective: f64,
}

/// Drives the solver by hand (the executor does not keep `IterInfo`).
fn drive<F: NmfFloat>(
    data: &Data<F>,
    k: usize,
    iters: usize,
    mut admm: Admm<F>,
    (pen_w, pen_h): (ElasticNet<F>, ElasticNet<F>),
) -> (Vec<Step>, NmfState<F>) {
    let (w, h) = initialize(data, k, &Init::NndsvdA, 3, Par::Seq).unwrap();
    let mut problem = NmfProblem::new(data, Frobenius, pen_w, pen_h, Par::Seq).unwrap();
    let mut state = NmfState { w, h };
    Solver::init(&mut admm, &problem, &mut state).unwrap();
    let mut steps = Vec::with_capacity(iters);
    for _ in 0..iters {
        let info = admm.next_iter(&problem, &mut state).unwrap();
        let e = problem.evaluate(&state).unwrap();
        steps.push(Step {
            primal: info
                .primal_residual
                .expect("admm reports a primal residual")
                .to_f64_lossy(),
            dual: info.dual_residual.expect("admm reports a dual residual").to_f64_lossy(),
            objective: e.objective.to_f64_lossy(),
        });
    }
    (steps, state)
}

fn none<F: NmfFloat>() -> (ElasticNet<F>, ElasticNet<F>) {
    (ElasticNet::none(), ElasticNet::none())
}

fn entries<F: NmfFloat>(a: &Mat<F>) -> impl Iterator<Item = F> + '_ {
    a.col_iter().flat_map(|c| c.iter().copied())
}

fn assert_feasible<F: NmfFloat>(s: &NmfState<F>, what: &str) {
    for v in entries(&s.w).chain(entries(&s.h)) {
        assert!(v >= F::zero() && v.is_finite(), "{what}: infeasible entry {v}");
    }
}

fn zero_fraction<F: NmfFloat>(a: &Mat<F>) -> f64 {
    entries(a).filter(|v| *v == F::zero()).count() as f64 / (a.nrows() * a.ncols()) as f64
}

/// A planted problem whose usages have exact-ish zeros (Dirichlet 0.3): active constraints
/// with positive multipliers, so both ADMM residuals are well defined to the end.
fn dirichlet_planted<F: NmfFloat>() -> Data<F> {
    simulate::<F>(&PlantedSpec::new(200, 120, 4).usage(Usage::Dirichlet(0.3)), 5)
        .unwrap()
        .data_sparse()
        .unwrap()
}

fn score(truth: &Planted<f64>, w: &Mat<f64>, h: &Mat<f64>) -> (f64, f64, f64) {
    let cos = matched_cosine(truth.w_true.as_ref(), w.as_ref()).unwrap();
    let ari = adjusted_rand_index(&truth.labels, &argmax_labels(h.as_ref())).unwrap();
    (cos.mean, cos.min, ari)
}

// ---------------------------------------------------------------------------------------
// 1. Planted recovery (easy regime, SPEC §7.3)

fn best_of_3<F: NmfFloat>(data: &Data<F>, k: usize) -> NmfFit<F> {
    (0..3)
        .map(|seed| {
            let init = if seed == 0 { Init::NndsvdA } else { Init::Random };
            NmfParams::new(k)
                .init(init)
                .seed(seed)
                .max_iter(500)
                .tol(F::lit(1e-6))
                .threads(1)
                .check()
                .unwrap()
                .fit(data, Frobenius, Admm::new())
                .unwrap()
        })
        .min_by(|a, b| {
            a.evaluation
                .objective
                .partial_cmp(&b.evaluation.objective)
                .expect("finite objectives")
        })
        .unwrap()
}

fn recovery<F: NmfFloat>(seeds: &[u64]) {
    for &seed in seeds {
        let truth = simulate::<f64>(&PlantedSpec::new(500, 300, 5).depth(1000.0), seed).unwrap();
        let data = Data::sparse(truth.x.cast::<F>()).unwrap();
        let t = Instant::now();
        let f = best_of_3(&data, 5);
        let secs = t.elapsed().as_secs_f64();
        let w = Mat::from_fn(f.state.w.nrows(), 5, |i, j| f.state.w[(i, j)].to_f64_lossy());
        let h = Mat::from_fn(5, f.state.h.ncols(), |i, j| f.state.h[(i, j)].to_f64_lossy());
        let (mean, min, ari) = score(&truth, &w, &h);
        let what = format!("seed {seed} admm {}", std::any::type_name::<F>());
        println!(
            "{what}: mean cosine {mean:.4}, min cosine {min:.4}, ARI {ari:.4}, {} iterations ({:?}), \
             relative error {:.4}, best of 3 in {secs:.2}s",
            f.iterations,
            f.stop_reason,
            f.evaluation.relative_error.to_f64_lossy()
        );
        assert!(mean >= 0.95, "{what}: mean cosine {mean}");
        assert!(min >= 0.9, "{what}: min cosine {min}");
        assert!(ari >= 0.9, "{what}: ARI {ari}");
        assert_feasible(&f.state, &what);
    }
}

#[test]
fn recovers_planted_modules_in_the_easy_regime_f64() {
    recovery::<f64>(&[1, 2]);
}

#[test]
fn recovers_planted_modules_in_the_easy_regime_f32() {
    recovery::<f32>(&[1]);
}

// ---------------------------------------------------------------------------------------
// 2. Not monotone: residuals go to zero and the objective reaches MU quality

fn mu_objective<F: NmfFloat>(data: &Data<F>, k: usize, iters: usize) -> f64 {
    NmfParams::new(k)
        .init(Init::NndsvdA)
        .seed(3)
        .max_iter(iters)
        .tol(F::zero())
        .threads(1)
        .check()
        .unwrap()
        .fit(data, Frobenius, Mu::new())
        .unwrap()
        .evaluation
        .objective
        .to_f64_lossy()
}

/// Residuals fall by `factor` of their first value (and below `abs`), and the final
/// objective is within 1% of what MU reaches in `mu_iters` iterations from the same start.
fn residuals_and_quality<F: NmfFloat>(name: &str, data: &Data<F>, k: usize, iters: usize, factor: f64, abs: f64) {
    let t = Instant::now();
    let (steps, state) = drive(data, k, iters, Admm::new(), none());
    let secs = t.elapsed().as_secs_f64();
    let (first, last) = (steps[0], steps[iters - 1]);
    let mu_iters = 2000;
    let mu = mu_objective(data, k, mu_iters);
    println!(
        "{name}: primal {:.2e} -> {:.2e}, dual {:.2e} -> {:.2e} in {iters} iterations ({secs:.2}s); \
         objective {:.10e} vs MU({mu_iters}) {mu:.10e} (ratio {:.8})",
        first.primal,
        last.primal,
        first.dual,
        last.dual,
        last.objective,
        last.objective / mu
    );
    for (what, a, b) in [("primal", first.primal, last.primal), ("dual", first.dual, last.dual)] {
        assert!(a.is_finite() && a > 0.0, "{name}: first {what} residual {a}");
        assert!(
            b <= factor * a && b <= abs,
            "{name}: {what} residual only fell from {a:e} to {b:e}"
        );
    }
    assert!(
        last.objective <= 1.01 * mu,
        "{name}: objective {} vs MU {mu}",
        last.objective
    );
    assert_feasible(&state, name);
}

#[test]
fn residuals_go_to_zero_and_the_objective_reaches_mu_quality_f64() {
    residuals_and_quality("planted dirichlet f64", &dirichlet_planted::<f64>(), 4, 300, 1e-6, 1e-8);
    let pbmc = Data::sparse(pbmc_small::<f64>()).unwrap();
    residuals_and_quality("pbmc_small f64", &pbmc, 4, 400, 1e-6, 1e-8);
}

#[test]
fn residuals_go_to_zero_and_the_objective_reaches_mu_quality_f32() {
    // f32 round-off stops the relative residuals near its epsilon (~1e-7).
    residuals_and_quality("planted dirichlet f32", &dirichlet_planted::<f32>(), 4, 300, 1e-3, 1e-4);
    // The same run in f32 and f64 ends at the same objective, scored in f64 (the sparse
    // Frobenius value itself loses digits to cancellation in f32).
    let d64 = dirichlet_planted::<f64>();
    let (s64, _) = drive(&d64, 4, 300, Admm::new(), none());
    let (_, st32) = drive(&dirichlet_planted::<f32>(), 4, 300, Admm::new(), none());
    let up = |a: &Mat<f32>| Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)] as f64);
    let mut p64 = NmfProblem::new(&d64, Frobenius, ElasticNet::none(), ElasticNet::none(), Par::Seq).unwrap();
    let b = p64
        .evaluate(&NmfState {
            w: up(&st32.w),
            h: up(&st32.h),
        })
        .unwrap()
        .objective;
    let a = s64[299].objective;
    println!("f64 run {a:.8e}, f32 run scored in f64 {b:.8e}");
    assert!(((a - b) / a).abs() < 1e-5, "f64 {a} vs f32 {b}");
}

#[test]
fn converged_fit_is_a_kkt_point_and_factors_keep_exact_zeros() {
    let f = fit(&dirichlet_planted::<f64>(), Frobenius, 4, 300, Admm::new());
    let kkt = f.kkt_residual;
    println!("planted dirichlet: relative KKT residual {kkt:.2e} after 300 iterations");
    assert!(kkt < 1e-8, "relative KKT residual {kkt}");
    // The returned factors are the non-negative split variables: active entries are exact
    // zeros (MU can only approach them).
    assert!(zero_fraction(&f.state.h) > 0.1, "H zeros {}", zero_fraction(&f.state.h));
    assert_feasible(&f.state, "kkt");
}

/// With tight inner settings each block update solves its NNLS problem: after one outer
/// iteration W (updated last) satisfies the KKT conditions of min_{W ≥ 0} ½‖X − WH‖².
#[test]
fn tight_inner_solves_reach_block_optimality() {
    let x = pbmc_small::<f64>().to_dense();
    let data = Data::dense(x.clone()).unwrap();
    let admm = Admm::new().with_inner_tol(0.0).unwrap().with_max_inner(3000).unwrap();
    let (_, s) = drive(&data, 4, 1, admm, none());
    let (m, k) = (s.w.nrows(), s.w.ncols());
    let mut hht = Mat::<f64>::zeros(k, k);
    gemm(
        hht.as_mut(),
        Accum::Replace,
        s.h.as_ref(),
        s.h.transpose(),
        1.0,
        Par::Seq,
    );
    let mut xht = Mat::<f64>::zeros(m, k);
    gemm(xht.as_mut(), Accum::Replace, x.as_ref(), s.h.transpose(), 1.0, Par::Seq);
    let mut grad = Mat::<f64>::zeros(m, k);
    gemm(grad.as_mut(), Accum::Replace, s.w.as_ref(), hht.as_ref(), 1.0, Par::Seq);
    let (mut pg, mut scale, mut zeros) = (0.0f64, 0.0f64, 0);
    for j in 0..k {
        for i in 0..m {
            let g = grad[(i, j)] - xht[(i, j)];
            let w = s.w[(i, j)];
            assert!(w >= 0.0);
            let p = if w > 0.0 { g } else { g.min(0.0) };
            pg += p * p;
            scale += xht[(i, j)] * xht[(i, j)];
            zeros += usize::from(w == 0.0);
        }
    }
    let rel = (pg / scale).sqrt();
    println!("tight W block: relative projected gradient {rel:.2e}, {zeros} exact zeros in W");
    assert!(rel < 1e-8, "W block not optimal: {rel}");
    assert!(zeros > 0, "an NNLS solution of this problem has active constraints");
}

// ---------------------------------------------------------------------------------------
// 3. Masks

#[test]
fn masked_fit_recovers_modules_and_never_reads_masked_entries() {
    let truth = simulate::<f64>(&PlantedSpec::new(300, 200, 4).depth(1000.0), 4).unwrap();
    let x = truth.x.to_dense();
    let (m, n) = (x.nrows(), x.ncols());
    // About 2% missing, scattered.
    let mask = Mask::from_fn(m, n, |i, j| (i * 7919 + j * 104_729) % 50 != 0);
    let missing = m * n - mask.count_observed();
    let (mut nan, mut junk) = (x.clone(), x.clone());
    for j in 0..n {
        for i in 0..m {
            if !mask.is_observed(i, j) {
                nan[(i, j)] = f64::NAN;
                junk[(i, j)] = if (i + j) % 2 == 0 { 1e6 } else { -3.0 };
            }
        }
    }
    let a = fit(
        &Data::dense_masked(nan, mask.clone()).unwrap(),
        Frobenius,
        4,
        150,
        Admm::new(),
    );
    let b = fit(&Data::dense_masked(junk, mask).unwrap(), Frobenius, 4, 150, Admm::new());
    assert_eq!(a.state.w, b.state.w, "masked entries were read");
    assert_eq!(a.state.h, b.state.h, "masked entries were read");
    let (mean, min, ari) = score(&truth, &a.state.w, &a.state.h);
    println!(
        "masked ({:.2}% missing): mean cosine {mean:.4}, min cosine {min:.4}, ARI {ari:.4}",
        100.0 * missing as f64 / (m * n) as f64
    );
    assert!(missing as f64 > 0.015 * (m * n) as f64 && (missing as f64) < 0.025 * (m * n) as f64);
    assert!(min >= 0.9, "masked: min cosine {min}");
    assert!(ari >= 0.9, "masked: ARI {ari}");
    assert!(a.evaluation.objective.is_finite());
    // A mask that observes everything is the same as no mask.
    let full = Data::dense_masked(x.clone(), Mask::from_fn(m, n, |_, _| true)).unwrap();
    let plain = Data::dense(x).unwrap();
    let (f1, f2) = (
        fit(&full, Frobenius, 4, 20, Admm::new()),
        fit(&plain, Frobenius, 4, 20, Admm::new()),
    );
    assert!(common::rel_diff(&f1.state.w, &f2.state.w) < 1e-12);
}

// ---------------------------------------------------------------------------------------
// 4. Penalties

fn penalised(data: &Data<f64>, l1_h: f64, l2_w: f64, solver_is_mu: bool) -> NmfFit<f64> {
    let p = NmfParams::new(3)
        .init(Init::NndsvdA)
        .seed(3)
        .max_iter(400)
        .tol(0.0)
        .threads(1)
        .l1_h(l1_h)
        .l2_w(l2_w)
        .check()
        .unwrap();
    if solver_is_mu {
        p.fit(data, Frobenius, Mu::new()).unwrap()
    } else {
        p.fit(data, Frobenius, Admm::new()).unwrap()
    }
}

#[test]
fn l1_on_h_makes_h_sparser_monotonically_in_alpha() {
    // An L2 penalty on W keeps the problem bounded below (L1 on H alone lets W H trade
    // scale between the factors forever).
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let fractions: Vec<f64> = [0.0, 20.0, 100.0]
        .iter()
        .map(|&a| zero_fraction(&penalised(&data, a, 10.0, false).state.h))
        .collect();
    println!("exact-zero fraction of H for l1_h in {{0, 20, 100}}: {fractions:?}");
    assert!(
        fractions.windows(2).all(|p| p[1] > p[0]),
        "sparsity not increasing: {fractions:?}"
    );
}

#[test]
fn penalised_fit_reaches_the_same_objective_as_mu() {
    // L1 folded into the right-hand side is exact on H ≥ 0: the converged objective agrees
    // with MU's (which adds the penalty gradient to its denominator).
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let a = penalised(&data, 100.0, 10.0, false);
    let m = penalised(&data, 100.0, 10.0, true);
    let (oa, om) = (a.evaluation.objective, m.evaluation.objective);
    println!(
        "l1_h 100, l2_w 10: admm {oa:.10e} (KKT {:.1e}), mu {om:.10e} (KKT {:.1e})",
        a.kkt_residual, m.kkt_residual
    );
    assert!(oa <= om * (1.0 + 1e-6), "admm {oa} vs mu {om}");
    assert!(a.kkt_residual < 1e-6, "penalised KKT residual {}", a.kkt_residual);
}

/// A constraint that is not an elastic net.
#[derive(Debug, Clone)]
struct Box01;

impl Constraint<f64> for Box01 {
    fn penalty(&self, _: nmf_core::faer::MatRef<'_, f64>) -> f64 {
        0.0
    }
    fn add_grad(&self, _: nmf_core::faer::MatRef<'_, f64>, _: nmf_core::faer::MatMut<'_, f64>) {}
    fn prox(&self, mut factor: nmf_core::faer::MatMut<'_, f64>, _: f64) {
        for j in 0..factor.ncols() {
            for i in 0..factor.nrows() {
                factor[(i, j)] = factor[(i, j)].clamp(0.0, 1.0);
            }
        }
    }
}

#[test]
fn penalties_that_are_not_elastic_nets_are_refused() {
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let (w, h) = initialize(&data, 3, &Init::NndsvdA, 0, Par::Seq).unwrap();
    let mut state = NmfState { w, h };
    let problem = NmfProblem::new(&data, Frobenius, ElasticNet::none(), Box01, Par::Seq).unwrap();
    let err = Solver::init(&mut Admm::new(), &problem, &mut state).unwrap_err();
    assert!(
        matches!(err, NmfError::Unsupported(ref s) if s.contains("elastic")),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------
// 5. Small random matrices

fn tiny_matrix(m: usize, n: usize, seed: u64, zero_row: bool, zero_col: bool) -> Mat<f64> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut x = Mat::from_fn(m, n, |_, _| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let u = (state >> 11) as f64 / (1u64 << 53) as f64;
        if u < 0.3 {
            0.0
        } else {
            (u * 20.0).floor()
        }
    });
    if zero_row {
        x.as_mut().row_mut(m / 2).fill(0.0);
    }
    if zero_col {
        x.as_mut().col_mut(n - 1).fill(0.0);
    }
    if x.col_iter().all(|c| c.iter().all(|v| *v == 0.0)) {
        x[(0, 0)] = 1.0;
    }
    x
}

fn no_panic_no_nan<F: NmfFloat>(x: &Mat<f64>, k: usize, random_init: bool, l1: f64, l2: f64, max_inner: usize) {
    let data = Data::dense(Mat::from_fn(x.nrows(), x.ncols(), |i, j| F::lit(x[(i, j)]))).unwrap();
    let init = if random_init { Init::Random } else { Init::NndsvdA };
    let admm = Admm::new().with_max_inner(max_inner).unwrap();
    let (w, h) = initialize(&data, k, &init, 1, Par::Seq).unwrap();
    let pen = ElasticNet::new(F::lit(l1), F::lit(l2)).unwrap();
    let mut problem = NmfProblem::new(&data, Frobenius, pen, pen, Par::Seq).unwrap();
    let mut state = NmfState { w, h };
    let mut admm = admm;
    Solver::init(&mut admm, &problem, &mut state).unwrap();
    for it in 0..25 {
        let info = admm.next_iter(&problem, &mut state).unwrap();
        let (p, d) = (info.primal_residual.unwrap(), info.dual_residual.unwrap());
        assert!(
            !p.is_nan() && !d.is_nan() && p >= F::zero() && d >= F::zero(),
            "iteration {it}: {p} {d}"
        );
    }
    let e = problem.evaluate(&state).unwrap();
    assert!(e.objective.is_finite(), "objective {}", e.objective);
    assert_feasible(&state, "tiny");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn small_random_matrices_never_panic_or_give_nan(
        m in 2usize..12,
        n in 2usize..12,
        k_frac in 0.0f64..1.0,
        seed in 0u64..10_000,
        zero_row in any::<bool>(),
        zero_col in any::<bool>(),
        random_init in any::<bool>(),
        pen in 0usize..3,
        max_inner in 1usize..8,
    ) {
        let k = 1 + ((m.min(n) - 1) as f64 * k_frac) as usize;
        let x = tiny_matrix(m, n, seed, zero_row, zero_col);
        let (l1, l2) = [(0.0, 0.0), (0.5, 0.0), (0.1, 1.0)][pen];
        no_panic_no_nan::<f64>(&x, k, random_init, l1, l2, max_inner);
        no_panic_no_nan::<f32>(&x, k, random_init, l1, l2, max_inner);
    }
}

#[test]
fn a_zero_factor_is_not_a_failure() {
    // W ≡ 0 makes the H block's Gram matrix zero (ρ = 0): the block is left as it is and
    // the W block then moves away from zero.
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let (m, n) = (data.nrows(), data.ncols());
    let init = Init::Custom {
        w: Mat::zeros(m, 3),
        h: Mat::from_fn(3, n, |i, j| 1.0 + ((i + 2 * j) % 5) as f64),
    };
    let f = NmfParams::new(3)
        .init(init)
        .max_iter(30)
        .tol(0.0)
        .threads(1)
        .check()
        .unwrap()
        .fit(&data, Frobenius, Admm::new())
        .unwrap();
    assert!(f.evaluation.relative_error < 0.9, "{}", f.evaluation.relative_error);
    assert_feasible(&f.state, "zero W");
}

// ---------------------------------------------------------------------------------------
// 6. Errors, knobs, traits

#[test]
fn losses_other_than_frobenius_are_an_unsupported_loss_error() {
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let params = NmfParams::new(3).check().unwrap();
    let check = |err: NmfError, name: &str| match err {
        NmfError::UnsupportedLoss {
            solver,
            loss,
            supported,
        } => {
            assert_eq!(solver, "admm");
            assert_eq!(loss, name);
            assert_eq!(supported, "frobenius");
        }
        other => panic!("expected UnsupportedLoss, got {other}"),
    };
    check(
        params.fit(&data, KullbackLeibler, Admm::new()).unwrap_err(),
        &Loss::<f64>::name(&KullbackLeibler),
    );
    let b = BetaDivergence::new(1.5).unwrap();
    check(params.fit(&data, b, Admm::new()).unwrap_err(), &b.name());
    let positive = Data::dense(Mat::from_fn(10, 8, |i, j| 1.0 + (i * j % 7) as f64)).unwrap();
    let is = BetaDivergence::<f64>::itakura_saito();
    check(params.fit(&positive, is, Admm::new()).unwrap_err(), &is.name());
    // The message names the solver and what it supports.
    let msg = params.fit(&data, KullbackLeibler, Admm::new()).unwrap_err().to_string();
    assert!(msg.contains("admm") && msg.contains("frobenius"), "{msg}");
    // Frobenius is accepted, as a generic β-divergence with β = 2 too.
    assert!(params.fit(&data, Frobenius, Admm::new()).is_ok());
    assert!(params
        .fit(&data, BetaDivergence::new(2.0).unwrap(), Admm::new())
        .is_ok());
}

#[test]
fn solver_knobs_are_validated() {
    let bad = |r: Result<Admm<f64>, NmfError>, knob: &str| match r {
        Err(NmfError::Params(NmfParamsError::SolverParam { name, .. })) => assert_eq!(name, knob),
        other => panic!("{knob}: expected SolverParam, got {other:?}"),
    };
    bad(Admm::new().with_max_inner(0), "max_inner");
    bad(Admm::new().with_inner_tol(-1e-3), "inner_tol");
    bad(Admm::new().with_inner_tol(f64::NAN), "inner_tol");
    bad(Admm::new().with_inner_tol(f64::INFINITY), "inner_tol");
    let a = Admm::<f64>::new();
    assert_eq!((a.max_inner(), a.inner_tol()), (5, 1e-2));
    let a = Admm::<f32>::new()
        .with_max_inner(12)
        .unwrap()
        .with_inner_tol(0.0)
        .unwrap();
    assert_eq!((a.max_inner(), a.inner_tol()), (12, 0.0));
    assert_eq!(
        Solver::<f64, NmfProblem<'_, f64, Frobenius>>::name(&Admm::new()),
        "admm"
    );
    // The knobs matter: one inner iteration per block is a different algorithm.
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let one = fit(&data, Frobenius, 3, 10, Admm::new().with_max_inner(1).unwrap());
    let five = fit(&data, Frobenius, 3, 10, Admm::new().with_inner_tol(0.0).unwrap());
    assert_ne!(one.state.h, five.state.h);
}

#[test]
fn next_iter_before_init_is_an_error() {
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let (w, h) = initialize(&data, 3, &Init::NndsvdA, 0, Par::Seq).unwrap();
    let mut state = NmfState { w, h };
    let problem = NmfProblem::new(&data, Frobenius, ElasticNet::none(), ElasticNet::none(), Par::Seq).unwrap();
    assert!(Admm::new().next_iter(&problem, &mut state).is_err());
}

#[test]
fn a_clone_mid_run_carries_the_warm_started_duals() {
    let data = dirichlet_planted::<f64>();
    let (w, h) = initialize(&data, 4, &Init::NndsvdA, 0, Par::Seq).unwrap();
    let problem = NmfProblem::new(&data, Frobenius, ElasticNet::none(), ElasticNet::none(), Par::Seq).unwrap();
    let mut state = NmfState { w, h };
    let mut a = Admm::new();
    Solver::init(&mut a, &problem, &mut state).unwrap();
    for _ in 0..3 {
        a.next_iter(&problem, &mut state).unwrap();
    }
    let (mut b, mut state_b) = (a.clone(), state.clone());
    for _ in 0..3 {
        let ia = a.next_iter(&problem, &mut state).unwrap();
        let ib = b.next_iter(&problem, &mut state_b).unwrap();
        assert_eq!(ia, ib);
    }
    assert_eq!(state, state_b);
    // A fresh solver (zero duals) from the same primal point takes a different path.
    let mut c = Admm::new();
    let mut state_c = state.clone();
    Solver::init(&mut c, &problem, &mut state_c).unwrap();
    let _ = a.next_iter(&problem, &mut state).unwrap();
    let _ = c.next_iter(&problem, &mut state_c).unwrap();
    assert_ne!(state, state_c);
}

#[test]
fn dense_and_sparse_inputs_give_the_same_fit() {
    let sparse = dirichlet_planted::<f64>();
    let dense = match sparse.matrix() {
        nmf_core::Matrix::Sparse(s) => Data::dense(s.to_dense()).unwrap(),
        _ => unreachable!(),
    };
    let (a, b) = (
        fit(&sparse, Frobenius, 4, 40, Admm::new()),
        fit(&dense, Frobenius, 4, 40, Admm::new()),
    );
    let d = common::rel_diff(&a.state.w, &b.state.w).max(common::rel_diff(&a.state.h, &b.state.h));
    assert!(d < 1e-9, "dense and sparse differ by {d}");
    let again = fit(&sparse, Frobenius, 4, 40, Admm::new());
    assert_eq!(a.state, again.state, "not deterministic");
}

#[test]
fn public_types_are_send_sync_clone() {
    fn check<T: Send + Sync + Clone>() {}
    check::<Admm<f64>>();
    check::<Admm<f32>>();
}
