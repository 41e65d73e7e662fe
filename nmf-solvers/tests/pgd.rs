//! Projected gradient solvers: all-variables `Pgd` (Frobenius and KL) and Lin's alternating
//! `PgdAlt` (Frobenius). Planted recovery, monotone objective, masks, penalties, a proptest
//! over small matrices, the line-search bookkeeping, errors and knobs, f32 and f64.

mod common;

use common::pbmc_small;
use nmf_core::faer::{Mat, MatRef, Par};
use nmf_core::metrics::{adjusted_rand_index, argmax_labels, matched_cosine};
use nmf_core::{
    BetaDivergence, Constraint, Data, ElasticNet, Executor, Frobenius, Init, KullbackLeibler, Loss, Mask, NmfError,
    NmfFit, NmfFloat, NmfParams, NmfParamsError, NmfProblem, NmfState, Problem, Solver, StoppingRule,
};
use nmf_solvers::{Pgd, PgdAlt};
use nmf_synth::{simulate, Planted, PlantedSpec};
use proptest::prelude::*;

/// A solver that runs on every plain NMF problem with elastic-net penalties.
trait AnySolver<F: NmfFloat, L: Loss<F>>: for<'a> Solver<F, NmfProblem<'a, F, L>> + Clone {}
impl<F: NmfFloat, L: Loss<F>, S: for<'a> Solver<F, NmfProblem<'a, F, L>> + Clone> AnySolver<F, L> for S {}

fn fit<F: NmfFloat, L: Loss<F>, S: AnySolver<F, L>>(
    data: &Data<F>,
    loss: L,
    k: usize,
    iters: usize,
    s: S,
) -> NmfFit<F> {
    NmfParams::new(k)
        .init(Init::NndsvdA)
        .seed(3)
        .max_iter(iters)
        .tol(F::zero())
        .check()
        .unwrap()
        .fit(data, loss, s)
        .unwrap()
}

fn entries<F: NmfFloat>(m: &Mat<F>) -> impl Iterator<Item = F> + '_ {
    m.col_iter().flat_map(|c| c.iter().copied())
}

/// The objective never rises (relative slack for round-off), progress is made, the KKT
/// residual falls and the factors stay feasible.
fn assert_monotone<F: NmfFloat>(fit: &NmfFit<F>, slack: f64, kkt_below: f64, what: &str) {
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
    let kkt = fit.kkt_residual.to_f64_lossy();
    assert!(kkt < kkt_below, "{what}: relative KKT residual only fell to {kkt}");
    for v in entries(&fit.state.w).chain(entries(&fit.state.h)) {
        assert!(v >= F::zero() && v.is_finite(), "{what}: infeasible entry {v}");
    }
}

fn planted_small<F: NmfFloat>() -> Data<F> {
    simulate::<F>(&PlantedSpec::new(150, 80, 4).depth(300.0), 11)
        .unwrap()
        .data_sparse()
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// 1. Planted recovery in the easy regime (SPEC §7.3), best of a few restarts by objective.

fn best_of<L: Loss<f64>, S: AnySolver<f64, L>>(
    data: &Data<f64>,
    loss: L,
    solver: &S,
    inits: &[(Init<f64>, u64)],
    tol: f64,
) -> NmfFit<f64> {
    inits
        .iter()
        .map(|(init, seed)| {
            let rule = StoppingRule {
                max_iter: 1500,
                tol,
                check_every: 10,
                record_every: 10,
                ..StoppingRule::default()
            };
            NmfParams::new(5)
                .init(init.clone())
                .seed(*seed)
                .stopping(rule)
                .check()
                .unwrap()
                .fit(data, loss.clone(), solver.clone())
                .unwrap()
        })
        .min_by(|a, b| a.evaluation.objective.total_cmp(&b.evaluation.objective))
        .unwrap()
}

fn score<F: NmfFloat>(truth: &Planted<F>, fit: &NmfFit<F>, what: &str) -> (f64, f64) {
    let cos = matched_cosine(truth.w_true.as_ref(), fit.state.w.as_ref()).unwrap();
    let ari = adjusted_rand_index(&truth.labels, &argmax_labels(fit.state.h.as_ref())).unwrap();
    println!(
        "{what}: mean cosine {:.4}, min cosine {:.4}, ARI {:.4}, iterations {}, {:.2} s, relative error {:.4}",
        cos.mean,
        cos.min,
        ari,
        fit.iterations,
        fit.seconds,
        fit.evaluation.relative_error.to_f64_lossy()
    );
    assert!(cos.mean >= 0.95, "{what}: mean cosine {}", cos.mean);
    assert!(cos.min >= 0.9, "{what}: min cosine {}", cos.min);
    assert!(ari >= 0.9, "{what}: ARI {ari}");
    (cos.mean, cos.min)
}

fn easy(seed: u64) -> Planted<f64> {
    simulate::<f64>(&PlantedSpec::new(500, 300, 5).depth(1000.0), seed).unwrap()
}

fn three_starts() -> Vec<(Init<f64>, u64)> {
    vec![(Init::NndsvdA, 0), (Init::Random, 1), (Init::Random, 2)]
}

#[test]
fn pgd_frobenius_recovers_planted_modules() {
    for seed in [1, 2] {
        let truth = easy(seed);
        let data = truth.data_sparse().unwrap();
        let f = best_of(&data, Frobenius, &Pgd::new(), &three_starts(), 1e-5);
        score(&truth, &f, &format!("seed {seed} PGD-Frobenius"));
    }
}

#[test]
fn pgd_alt_recovers_planted_modules() {
    for seed in [1, 2] {
        let truth = easy(seed);
        let data = truth.data_sparse().unwrap();
        let f = best_of(&data, Frobenius, &PgdAlt::new(), &three_starts(), 1e-5);
        score(&truth, &f, &format!("seed {seed} PGD-alt"));
    }
}

#[test]
fn pgd_alt_recovers_planted_modules_f32() {
    let truth = simulate::<f32>(&PlantedSpec::new(500, 300, 5).depth(1000.0), 1).unwrap();
    let data = truth.data_sparse().unwrap();
    let f = NmfParams::new(5)
        .max_iter(300)
        .tol(1e-5)
        .check()
        .unwrap()
        .fit(&data, Frobenius, PgdAlt::new())
        .unwrap();
    score(&truth, &f, "seed 1 PGD-alt f32");
    let g = NmfParams::new(5)
        .max_iter(300)
        .tol(1e-5)
        .check()
        .unwrap()
        .fit(&data, Frobenius, Pgd::new())
        .unwrap();
    score(&truth, &g, "seed 1 PGD-Frobenius f32");
}

#[test]
fn pgd_kl_recovers_planted_modules() {
    // KL with one step for all variables is slow (the curvature varies by orders of
    // magnitude across entries): two starts, the default tolerance.
    for seed in [1, 2] {
        let truth = easy(seed);
        let data = truth.data_sparse().unwrap();
        let f = best_of(
            &data,
            KullbackLeibler,
            &Pgd::new(),
            &[(Init::NndsvdA, 0), (Init::Random, 1)],
            1e-4,
        );
        score(&truth, &f, &format!("seed {seed} PGD-KL"));
    }
}

// ---------------------------------------------------------------------------------------
// 2. Monotone objective.

#[test]
fn objective_never_rises_f64() {
    for (name, data) in [
        ("pbmc_small", Data::sparse(pbmc_small::<f64>()).unwrap()),
        ("planted", planted_small::<f64>()),
    ] {
        assert_monotone(
            &fit(&data, Frobenius, 3, 150, Pgd::new()),
            1e-12,
            0.5,
            &format!("{name} pgd frobenius"),
        );
        assert_monotone(
            &fit(&data, KullbackLeibler, 3, 150, Pgd::new()),
            1e-12,
            0.5,
            &format!("{name} pgd kl"),
        );
        assert_monotone(
            &fit(&data, Frobenius, 3, 60, PgdAlt::new()),
            1e-12,
            0.1,
            &format!("{name} pgd-alt"),
        );
    }
}

#[test]
fn objective_never_rises_f32() {
    for (name, data) in [
        ("pbmc_small", Data::sparse(pbmc_small::<f32>()).unwrap()),
        ("planted", planted_small::<f32>()),
    ] {
        // Sparse Frobenius is evaluated as ½(‖X‖² − 2⟨X, WH⟩ + ⟨WᵀW, HHᵀ⟩): round-off about
        // 1e-5 of the value in f32.
        assert_monotone(
            &fit(&data, Frobenius, 3, 100, Pgd::new()),
            1e-4,
            0.5,
            &format!("{name} f32 pgd frobenius"),
        );
        assert_monotone(
            &fit(&data, KullbackLeibler, 3, 100, Pgd::new()),
            1e-4,
            0.5,
            &format!("{name} f32 pgd kl"),
        );
        assert_monotone(
            &fit(&data, Frobenius, 3, 40, PgdAlt::new()),
            1e-4,
            0.5,
            &format!("{name} f32 pgd-alt"),
        );
    }
}

#[test]
fn kl_objective_never_rises_on_dense_data_with_zeros() {
    // Dense KL goes through the streamed kernels and the dense positivity check.
    let x = pbmc_small::<f64>().to_dense();
    let data = Data::dense(x).unwrap();
    assert_monotone(
        &fit(&data, KullbackLeibler, 4, 120, Pgd::new()),
        1e-12,
        0.5,
        "dense pgd kl",
    );
}

#[test]
fn dense_and_sparse_inputs_give_the_same_fit() {
    let sparse = planted_small::<f64>();
    let dense = match sparse.matrix() {
        nmf_core::Matrix::Sparse(s) => Data::dense(s.to_dense()).unwrap(),
        _ => unreachable!(),
    };
    let pairs = [
        (
            "pgd fro",
            fit(&sparse, Frobenius, 4, 30, Pgd::new()),
            fit(&dense, Frobenius, 4, 30, Pgd::new()),
        ),
        (
            "pgd kl",
            fit(&sparse, KullbackLeibler, 4, 30, Pgd::new()),
            fit(&dense, KullbackLeibler, 4, 30, Pgd::new()),
        ),
        (
            "pgd-alt",
            fit(&sparse, Frobenius, 4, 10, PgdAlt::new()),
            fit(&dense, Frobenius, 4, 10, PgdAlt::new()),
        ),
    ];
    for (name, a, c) in pairs {
        let d = common::rel_diff(&a.state.w, &c.state.w).max(common::rel_diff(&a.state.h, &c.state.h));
        assert!(d < 1e-8, "{name}: dense and sparse differ by {d}");
    }
}

// ---------------------------------------------------------------------------------------
// The line search and the solvers' own bookkeeping, driven by hand.

fn problem<F: NmfFloat, L: Loss<F>>(data: &Data<F>, loss: L) -> NmfProblem<'_, F, L> {
    NmfProblem::new(data, loss, ElasticNet::none(), ElasticNet::none(), Par::Seq).unwrap()
}

fn start<F: NmfFloat>(data: &Data<F>, k: usize) -> NmfState<F> {
    let (w, h) = nmf_core::initialize(data, k, &Init::NndsvdA, 0, Par::Seq).unwrap();
    NmfState { w, h }
}

#[test]
fn pgd_reports_its_step_and_trials_and_never_zeroes_a_factor() {
    let data = planted_small::<f64>();
    for kl in [false, true] {
        let mut state = start(&data, 4);
        let mut solver = Pgd::new();
        let run = |p: &mut NmfProblem<'_, f64, BetaDivergence<f64>>, s: &mut NmfState<f64>, solver: &mut Pgd<f64>| {
            solver.init(p, s).unwrap();
            let mut prev = p.evaluate(s).unwrap().objective;
            let mut steps = Vec::new();
            for _ in 0..40 {
                let info = solver.next_iter(p, s).unwrap();
                assert!(info.backtracks >= 1, "at least one trial");
                let step = info.step.expect("pgd reports its step");
                assert!(step > 0.0, "no step at a non-stationary point");
                let now = p.evaluate(s).unwrap().objective;
                assert!(now <= prev, "objective rose: {prev} -> {now}");
                prev = now;
                steps.push((step, info.backtracks));
            }
            steps
        };
        let loss = BetaDivergence::new(if kl { 1.0 } else { 2.0 }).unwrap();
        let mut p = problem(&data, loss);
        let steps = run(&mut p, &mut state, &mut solver);
        // The search starts from the previous α: after the first iteration it rarely needs
        // more than a grow-or-shrink pair.
        let late: f64 = steps[20..].iter().map(|s| s.1 as f64).sum::<f64>() / 20.0;
        assert!(late <= 4.0, "kl={kl}: mean trials {late}");
        assert!(entries(&state.w).any(|v| v > 0.0) && entries(&state.h).any(|v| v > 0.0));
    }
}

#[test]
fn pgd_rescales_the_start_by_the_optimal_scalar() {
    let data = planted_small::<f64>();
    for kl in [false, true] {
        let loss = BetaDivergence::new(if kl { 1.0 } else { 2.0 }).unwrap();
        let mut p = problem(&data, loss);
        let mut s = start(&data, 4);
        // A start far from the data's scale.
        for v in s.w.col_iter_mut().flat_map(|c| c.iter_mut()) {
            *v *= 30.0;
        }
        let before = p.evaluate(&s).unwrap().objective;
        Pgd::new().init(&p, &mut s).unwrap();
        let after = p.evaluate(&s).unwrap().objective;
        assert!(after < before, "kl={kl}: {before} -> {after}");
        for c in [0.999, 1.001] {
            let mut t = s.clone();
            for v in t.w.col_iter_mut().flat_map(|c| c.iter_mut()) {
                *v *= c;
            }
            let other = p.evaluate(&t).unwrap().objective;
            assert!(
                other >= after * (1.0 - 1e-13),
                "kl={kl}: scale {c} is better: {other} < {after}"
            );
        }
        // Without rescaling the start is left alone.
        let mut u = start(&data, 4);
        let copy = u.clone();
        Pgd::new().rescale_init(false).init(&p, &mut u).unwrap();
        assert_eq!(u, copy);
    }
}

#[test]
fn pgd_from_a_far_start_never_zeroes_a_factor_and_rescaling_recovers() {
    // SPEC §4.4 pitfall: a growing step from a start far from the data's scale can jump to
    // W = H = 0. Such trials are rejected.
    let truth = simulate::<f64>(&PlantedSpec::new(150, 80, 4).depth(300.0), 11).unwrap();
    let data = truth.data_sparse().unwrap();
    let (mut w, h) = nmf_core::initialize(&data, 4, &Init::NndsvdA, 0, Par::Seq).unwrap();
    for v in w.col_iter_mut().flat_map(|c| c.iter_mut()) {
        *v *= 20.0;
    }
    let run = |solver: Pgd<f64>| {
        NmfParams::new(4)
            .init(Init::Custom {
                w: w.clone(),
                h: h.clone(),
            })
            .max_iter(400)
            .tol(1e-6)
            .check()
            .unwrap()
            .fit(&data, Frobenius, solver)
            .unwrap()
    };
    let far = run(Pgd::new().rescale_init(false).with_initial_step(10.0).unwrap());
    let scaled = run(Pgd::new().with_initial_step(10.0).unwrap());
    let (re_far, re_scaled) = (far.evaluation.relative_error, scaled.evaluation.relative_error);
    println!("far start: relative error {re_far:.4} without rescaling, {re_scaled:.4} with");
    // Not the stationary point W = H = 0 (relative error 1).
    assert!(entries(&far.state.w).any(|v| v > 0.0) && entries(&far.state.h).any(|v| v > 0.0));
    assert!(re_far < 0.95, "relative error {re_far}");
    let cos = matched_cosine(truth.w_true.as_ref(), scaled.state.w.as_ref()).unwrap();
    assert!(cos.min >= 0.9, "rescaled far start: min cosine {}", cos.min);
}

#[test]
fn pgd_alt_tolerances_shrink_tenfold_after_one_inner_iteration() {
    let data = planted_small::<f64>();
    let p = problem(&data, Frobenius);
    let mut s = start(&data, 4);
    let mut solver = PgdAlt::new();
    assert_eq!(solver.block_tolerances(), None);
    solver.init(&p, &mut s).unwrap();
    let mut tols = solver.block_tolerances().unwrap();
    assert!(tols.0 > 0.0 && tols.0 == tols.1);
    let mut shrinks = 0;
    for _ in 0..40 {
        let info = solver.next_iter(&p, &mut s).unwrap();
        assert!(!info.converged);
        let (iw, ih) = solver.last_inner_iterations();
        assert!(iw >= 1 && ih >= 1 && iw <= 1000 && ih <= 1000);
        let now = solver.block_tolerances().unwrap();
        for (before, after, it) in [(tols.0, now.0, iw), (tols.1, now.1, ih)] {
            if it == 1 {
                assert!((after - 0.1 * before).abs() <= 1e-15 * before);
                shrinks += 1;
            } else {
                assert_eq!(after, before);
            }
        }
        tols = now;
    }
    assert!(shrinks > 0, "the block tolerances never shrank");
}

#[test]
fn an_exactly_stationary_start_is_reported_as_converged() {
    // X = w hᵀ in small integers: the products are exact, so the gradient at (w, h) is 0.
    let wv: [f64; 5] = [1.0, 2.0, 3.0, 0.0, 4.0];
    let hv = [2.0, 1.0, 0.0, 3.0];
    let x = Mat::<f64>::from_fn(5, 4, |i, j| wv[i] * hv[j]);
    let data = Data::dense(x).unwrap();
    let init = Init::Custom {
        w: Mat::from_fn(5, 1, |i, _| wv[i]),
        h: Mat::from_fn(1, 4, |_, j| hv[j]),
    };
    let params = NmfParams::new(1).init(init).max_iter(50).check().unwrap();
    let a = params.fit(&data, Frobenius, Pgd::new()).unwrap();
    let b = params.fit(&data, Frobenius, PgdAlt::new()).unwrap();
    let c = params.fit(&data, KullbackLeibler, Pgd::new()).unwrap();
    for (name, f) in [("pgd", a), ("pgd-alt", b), ("pgd kl", c)] {
        assert_eq!(f.stop_reason, nmf_core::StopReason::SolverConverged, "{name}");
        assert_eq!(f.iterations, 1, "{name}");
        assert!(f.evaluation.objective.abs() < 1e-12, "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// 3. Masks.

fn masked_planted() -> (Planted<f64>, Mat<f64>, Mask) {
    let truth = simulate::<f64>(&PlantedSpec::new(200, 100, 4).depth(1000.0), 5).unwrap();
    let x = truth.x.to_dense();
    let (m, n) = (x.nrows(), x.ncols());
    // About 2% missing, spread by a hash.
    let mask = Mask::from_fn(m, n, |i, j| ((i * 73_856_093) ^ (j * 19_349_663)) % 50 != 7);
    (truth, x, mask)
}

fn with_garbage(x: &Mat<f64>, mask: &Mask, nan: bool) -> Mat<f64> {
    let mut y = x.clone();
    for j in 0..x.ncols() {
        for i in 0..x.nrows() {
            if !mask.is_observed(i, j) {
                y[(i, j)] = if nan { f64::NAN } else { 1e6 + (i + j) as f64 };
            }
        }
    }
    y
}

fn masked_check<L: Loss<f64>, S: AnySolver<f64, L>>(loss: L, solver: S, iters: usize, what: &str) {
    let (truth, x, mask) = masked_planted();
    let missing = mask.nrows() * mask.ncols() - mask.count_observed();
    let frac = missing as f64 / (mask.nrows() * mask.ncols()) as f64;
    assert!((0.015..0.03).contains(&frac), "{frac}");
    let a = Data::dense_masked(with_garbage(&x, &mask, true), mask.clone()).unwrap();
    let b = Data::dense_masked(with_garbage(&x, &mask, false), mask.clone()).unwrap();
    let run = |d: &Data<f64>| {
        NmfParams::new(4)
            .init(Init::Random)
            .seed(1)
            .max_iter(iters)
            .tol(0.0)
            .check()
            .unwrap()
            .fit(d, loss.clone(), solver.clone())
            .unwrap()
    };
    let (fa, fb) = (run(&a), run(&b));
    assert_eq!(fa.state.w, fb.state.w, "{what}: the masked values were read");
    assert_eq!(fa.state.h, fb.state.h, "{what}: the masked values were read");
    assert_monotone(&fa, 1e-12, 0.5, what);
    let cos = matched_cosine(truth.w_true.as_ref(), fa.state.w.as_ref()).unwrap();
    println!("{what}: mean cosine {:.4}, min {:.4}", cos.mean, cos.min);
    assert!(cos.min >= 0.9, "{what}: min cosine {}", cos.min);
}

#[test]
fn masked_entries_are_never_read_and_modules_are_recovered() {
    masked_check(Frobenius, Pgd::new(), 100, "masked pgd frobenius");
    masked_check(KullbackLeibler, Pgd::new(), 150, "masked pgd kl");
    masked_check(Frobenius, PgdAlt::new(), 30, "masked pgd-alt");
}

// ---------------------------------------------------------------------------------------
// 4. Penalties.

fn zero_fraction(h: &Mat<f64>) -> f64 {
    entries(h).filter(|v| *v == 0.0).count() as f64 / (h.nrows() * h.ncols()) as f64
}

fn l1_sweep<S: AnySolver<f64, Frobenius>>(solver: S, iters: usize, what: &str) {
    let data = planted_small::<f64>();
    let mut last = -1.0;
    for l1 in [0.0, 20.0, 200.0] {
        let f = NmfParams::new(4)
            .seed(3)
            .max_iter(iters)
            .tol(0.0)
            .l1_h(l1)
            .check()
            .unwrap()
            .fit(&data, Frobenius, solver.clone())
            .unwrap();
        assert_monotone(&f, 1e-12, 1.0, &format!("{what} l1_h = {l1}"));
        let z = zero_fraction(&f.state.h);
        println!("{what}: l1_h = {l1}: {:.3} of H is zero", z);
        assert!(
            z > last,
            "{what}: zeros of H did not grow at l1_h = {l1}: {z} after {last}"
        );
        last = z;
    }
    assert!(last > 0.3, "{what}: the strongest penalty left H dense ({last})");
}

#[test]
fn l1_on_h_makes_h_sparser_pgd_alt() {
    l1_sweep(PgdAlt::new(), 60, "pgd-alt");
}

#[test]
fn l1_on_h_makes_h_sparser_pgd() {
    l1_sweep(Pgd::new(), 200, "pgd");
}

#[test]
fn penalised_kl_is_monotone_and_l2_shrinks_w() {
    let data = planted_small::<f64>();
    let run = |l2: f64| {
        NmfParams::new(4)
            .seed(3)
            .max_iter(100)
            .tol(0.0)
            .l2_w(l2)
            .l1_w(l2 / 10.0)
            .check()
            .unwrap()
            .fit(&data, KullbackLeibler, Pgd::new())
            .unwrap()
    };
    let (a, b) = (run(0.0), run(50.0));
    assert_monotone(&b, 1e-12, 1.0, "penalised kl");
    let sq = |m: &Mat<f64>| entries(m).map(|v| v * v).sum::<f64>();
    assert!(sq(&b.state.w) < sq(&a.state.w));
}

/// A penalty that is not an elastic net: ½·c·Σ (F_ij)² … with its own gradient, but no
/// `elastic_net()` form.
#[derive(Debug, Clone)]
struct Quadratic(f64);

impl Constraint<f64> for Quadratic {
    fn penalty(&self, f: MatRef<'_, f64>) -> f64 {
        0.5 * self.0 * f.col_iter().flat_map(|c| c.iter().copied()).map(|v| v * v).sum::<f64>()
    }
    fn add_grad(&self, f: MatRef<'_, f64>, mut g: nmf_core::faer::MatMut<'_, f64>) {
        for j in 0..f.ncols() {
            for i in 0..f.nrows() {
                g[(i, j)] += self.0 * f[(i, j)];
            }
        }
    }
    fn prox(&self, mut f: nmf_core::faer::MatMut<'_, f64>, step: f64) {
        for j in 0..f.ncols() {
            for i in 0..f.nrows() {
                f[(i, j)] = (f[(i, j)] / (1.0 + step * self.0)).max(0.0);
            }
        }
    }
}

#[test]
fn a_penalty_without_an_elastic_net_form_pgd_uses_it_pgd_alt_refuses_it() {
    let data = planted_small::<f64>();
    let state = start(&data, 3);
    let rule = StoppingRule {
        max_iter: 40,
        tol: 0.0,
        ..StoppingRule::default()
    };
    let p = NmfProblem::new(&data, Frobenius, Quadratic(5.0), Quadratic(5.0), Par::Seq).unwrap();
    let f = Executor::new(p, Pgd::new(), rule.clone()).run(state.clone()).unwrap();
    assert_monotone(&f, 1e-12, 1.0, "pgd with a custom penalty");
    let p = NmfProblem::new(&data, Frobenius, Quadratic(5.0), Quadratic(5.0), Par::Seq).unwrap();
    let err = Executor::new(p, PgdAlt::new(), rule).run(state).unwrap_err();
    assert!(matches!(err, NmfError::Unsupported(_)), "{err}");
}

// ---------------------------------------------------------------------------------------
// 5. Small random matrices.

fn small_matrix(m: usize, n: usize, seed: u64, zero_row: bool, zero_col: bool) -> Mat<f64> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64) / (1u64 << 31) as f64
    };
    let mut x = Mat::from_fn(m, n, |_, _| {
        let u = next();
        if u < 0.3 {
            0.0
        } else {
            (u * 10.0).floor()
        }
    });
    x[(0, 0)] = 1.0;
    if zero_row && m > 1 {
        x.as_mut().row_mut(m - 1).fill(0.0);
    }
    if zero_col && n > 1 {
        x.as_mut().col_mut(n - 1).fill(0.0);
    }
    x
}

fn finite_fit<F: NmfFloat>(f: &NmfFit<F>, what: &str) {
    assert!(
        f.evaluation.objective.is_finite(),
        "{what}: objective {}",
        f.evaluation.objective
    );
    for v in entries(&f.state.w).chain(entries(&f.state.h)) {
        assert!(v.is_finite() && v >= F::zero(), "{what}: entry {v}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn small_random_problems_never_fail(
        m in 2usize..12,
        n in 2usize..12,
        k_raw in 1usize..12,
        seed in 0u64..10_000,
        zero_row in any::<bool>(),
        zero_col in any::<bool>(),
        sparse in any::<bool>(),
        random_init in any::<bool>(),
    ) {
        let k = 1 + (k_raw - 1) % m.min(n);
        let x = small_matrix(m, n, seed, zero_row, zero_col);
        let data = if sparse {
            Data::sparse(nmf_core::CscMatrix::from_dense(x.as_ref())).unwrap()
        } else {
            Data::dense(x.clone()).unwrap()
        };
        let data32 = Data::dense(Mat::from_fn(m, n, |i, j| x[(i, j)] as f32)).unwrap();
        let params = NmfParams::new(k)
            .init(if random_init { Init::Random } else { Init::NndsvdA })
            .seed(seed)
            .max_iter(30)
            .tol(0.0)
            .check()
            .unwrap();
        let params32 = NmfParams::<f32>::new(k).seed(seed).max_iter(30).tol(0.0).check().unwrap();
        let what = format!("{m}x{n} k={k} seed={seed}");
        let a = params.fit(&data, Frobenius, Pgd::new()).unwrap();
        finite_fit(&a, &format!("pgd fro {what}"));
        assert_monotone_loose(&a, 1e-10);
        let b = params.fit(&data, KullbackLeibler, Pgd::new()).unwrap();
        finite_fit(&b, &format!("pgd kl {what}"));
        assert_monotone_loose(&b, 1e-10);
        // Full-rank k on a tiny matrix makes Q ill-conditioned: bound the inner iterations.
        let c = params.fit(&data, Frobenius, PgdAlt::new().with_max_inner_iter(200).unwrap()).unwrap();
        finite_fit(&c, &format!("pgd-alt {what}"));
        assert_monotone_loose(&c, 1e-10);
        finite_fit(&params32.fit(&data32, Frobenius, Pgd::new()).unwrap(), &format!("f32 pgd fro {what}"));
        finite_fit(&params32.fit(&data32, KullbackLeibler, Pgd::new()).unwrap(), &format!("f32 pgd kl {what}"));
        finite_fit(&params32.fit(&data32, Frobenius, PgdAlt::new().with_max_inner_iter(200).unwrap()).unwrap(), &format!("f32 pgd-alt {what}"));
    }
}

/// Non-increasing up to a relative slack, plus an absolute one for objectives near zero.
fn assert_monotone_loose(f: &NmfFit<f64>, slack: f64) {
    let obj = f.history.objectives();
    let scale = obj[0].abs().max(1.0);
    for p in obj.windows(2) {
        assert!(p[1] <= p[0] + slack * scale, "objective rose: {} -> {}", p[0], p[1]);
    }
}

// ---------------------------------------------------------------------------------------
// 6. Errors, knobs, names, auto traits.

#[test]
fn unsupported_losses_are_named_errors() {
    let data = planted_small::<f64>();
    let params = NmfParams::new(3).max_iter(5).check().unwrap();
    match params.fit(&data, KullbackLeibler, PgdAlt::new()) {
        Err(NmfError::UnsupportedLoss { solver, loss, .. }) => {
            assert_eq!(solver, "pgd-alt");
            assert_eq!(loss, "kl");
        }
        other => panic!("expected UnsupportedLoss, got {other:?}"),
    }
    for beta in [1.5, 0.0, 3.0] {
        let x = Mat::from_fn(10, 8, |i, j| 1.0 + ((i * 3 + j) % 5) as f64);
        let dense = Data::dense(x).unwrap();
        let loss = BetaDivergence::new(beta).unwrap();
        for err in [
            params.fit(&dense, loss, Pgd::new()).unwrap_err(),
            params.fit(&dense, loss, PgdAlt::new()).unwrap_err(),
        ] {
            assert!(matches!(err, NmfError::UnsupportedLoss { .. }), "beta {beta}: {err}");
        }
    }
    // β = 2 and β = 1 spelled as a general β-divergence are Frobenius and KL.
    assert!(params
        .fit(&data, BetaDivergence::new(2.0).unwrap(), PgdAlt::new())
        .is_ok());
    assert!(params.fit(&data, BetaDivergence::new(1.0).unwrap(), Pgd::new()).is_ok());
}

fn knob_name<T: std::fmt::Debug>(r: Result<T, NmfError>) -> &'static str {
    match r {
        Err(NmfError::Params(NmfParamsError::SolverParam { name, .. })) => name,
        other => panic!("expected SolverParam, got {other:?}"),
    }
}

#[test]
fn knobs_are_validated() {
    for bad in [0.0, 1.0, -0.5, f64::NAN, 2.0] {
        assert_eq!(knob_name(Pgd::<f64>::new().with_sigma(bad)), "sigma");
        assert_eq!(knob_name(Pgd::<f64>::new().with_beta(bad)), "beta");
        assert_eq!(knob_name(PgdAlt::<f64>::new().with_sigma(bad)), "sigma");
        assert_eq!(knob_name(PgdAlt::<f64>::new().with_beta(bad)), "beta");
    }
    for bad in [0.0, -1.0, f64::INFINITY, f64::NAN] {
        assert_eq!(knob_name(Pgd::<f64>::new().with_initial_step(bad)), "initial_step");
    }
    assert_eq!(knob_name(Pgd::<f64>::new().with_max_trials(0)), "max_trials");
    for bad in [-1e-3, f64::INFINITY, f64::NAN] {
        assert_eq!(knob_name(PgdAlt::<f64>::new().with_tol(bad)), "tol");
    }
    assert_eq!(knob_name(PgdAlt::<f64>::new().with_max_inner_iter(0)), "max_inner_iter");
    let ok = Pgd::<f32>::new()
        .with_sigma(0.1)
        .and_then(|s| s.with_beta(0.5))
        .and_then(|s| s.with_initial_step(1e-3))
        .and_then(|s| s.with_max_trials(10));
    assert!(ok.is_ok());
    let ok = PgdAlt::<f32>::new()
        .with_tol(0.0)
        .and_then(|s| s.with_sigma(0.1))
        .and_then(|s| s.with_beta(0.5))
        .and_then(|s| s.with_max_inner_iter(5));
    assert!(ok.is_ok());
    // Non-default knobs still give a monotone fit.
    let data = planted_small::<f64>();
    let alt = PgdAlt::new().with_beta(0.5).unwrap().with_max_inner_iter(5).unwrap();
    let f = fit(&data, Frobenius, 3, 60, alt);
    assert_monotone(&f, 1e-12, 0.5, "pgd-alt beta 0.5, 5 inner");
    let g = fit(
        &data,
        KullbackLeibler,
        3,
        60,
        Pgd::new().with_beta(0.5).unwrap().with_sigma(0.1).unwrap(),
    );
    assert_monotone(&g, 1e-12, 0.5, "pgd beta 0.5, sigma 0.1");
}

#[test]
fn names_and_auto_traits() {
    fn check<T: Send + Sync + Clone + Default>() {}
    check::<Pgd<f64>>();
    check::<Pgd<f32>>();
    check::<PgdAlt<f64>>();
    check::<PgdAlt<f32>>();
    assert_eq!(
        <Pgd<f64> as Solver<f64, NmfProblem<'_, f64, Frobenius>>>::name(&Pgd::new()),
        "pgd"
    );
    assert_eq!(
        <PgdAlt<f64> as Solver<f64, NmfProblem<'_, f64, Frobenius>>>::name(&PgdAlt::new()),
        "pgd-alt"
    );
    let p = Pgd::<f64>::new();
    let q = p.clone();
    let _ = (p, q);
}
