//! Algebraic properties of the bcNMF updates (SPEC §1.14).

use faer::Mat;
use nmf_contrastive::{
    uniform_init, ContrastiveError, ContrastiveFit, ContrastiveLoss, ContrastiveMu, ContrastiveParams,
    ContrastiveProblem, ContrastiveState, EpsilonMode,
};
use nmf_core::{
    CscMatrix, Data, ElasticNet, Executor, Frobenius, KullbackLeibler, NmfProblem, NmfState, Problem, Solver,
    StoppingRule,
};
use nmf_solvers::Mu;
use proptest::prelude::*;

fn lcg_mat(m: usize, n: usize, seed: u64, zero_every: usize) -> Mat<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    Mat::from_fn(m, n, |i, j| {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let u = (s >> 11) as f64 / (1u64 << 53) as f64;
        if zero_every > 0 && (i * 31 + j * 17) % zero_every == 0 {
            0.0
        } else {
            (4.0 * u).floor() + u
        }
    })
}

fn max_abs_diff(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    let mut d = 0.0f64;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            d = d.max((a[(i, j)] - b[(i, j)]).abs() / (1.0 + b[(i, j)].abs()));
        }
    }
    d
}

fn rule(iters: usize) -> StoppingRule<f64> {
    StoppingRule {
        max_iter: iters,
        tol: 0.0,
        ..StoppingRule::default()
    }
}

fn alpha_zero_matches_mu(loss: ContrastiveLoss, sparse: bool) {
    let (m, nx, ny, k) = (20, 30, 25, 3);
    let xm = lcg_mat(m, nx, 1, 5);
    let ym = lcg_mat(m, ny, 2, 7);
    let mk = |a: &Mat<f64>| {
        if sparse {
            Data::sparse(CscMatrix::from_dense(a.as_ref())).unwrap()
        } else {
            Data::dense(a.clone()).unwrap()
        }
    };
    let (x, y) = (mk(&xm), mk(&ym));
    let init = uniform_init::<f64>(m, k, nx, ny, 7);
    let p = ContrastiveProblem::new(&x, &y, 0.0, loss, faer::Par::Seq).unwrap();
    let solver = ContrastiveMu::new().damping(1.0).unwrap();
    let ours = Executor::new(p, solver, rule(100)).run(init.clone()).unwrap().state;
    let plain = NmfState {
        w: init.w.clone(),
        h: init.h_target.clone(),
    };
    let theirs = match loss {
        ContrastiveLoss::SquaredError => {
            let p = NmfProblem::new(&x, Frobenius, ElasticNet::none(), ElasticNet::none(), faer::Par::Seq).unwrap();
            Executor::new(p, Mu::new(), rule(100)).run(plain).unwrap().state
        }
        ContrastiveLoss::Poisson => {
            let p = NmfProblem::new(
                &x,
                KullbackLeibler,
                ElasticNet::none(),
                ElasticNet::none(),
                faer::Par::Seq,
            )
            .unwrap();
            Executor::new(p, Mu::new(), rule(100)).run(plain).unwrap().state
        }
    };
    let (dw, dh) = (
        max_abs_diff(&ours.w, &theirs.w),
        max_abs_diff(&ours.h_target, &theirs.h),
    );
    assert!(
        dw < 1e-10 && dh < 1e-10,
        "{loss:?} sparse={sparse}: dW {dw:e}, dH {dh:e}"
    );
}

#[test]
fn alpha_zero_is_plain_mu_sse() {
    alpha_zero_matches_mu(ContrastiveLoss::SquaredError, false);
    alpha_zero_matches_mu(ContrastiveLoss::SquaredError, true);
}

#[test]
fn alpha_zero_is_plain_mu_kl() {
    alpha_zero_matches_mu(ContrastiveLoss::Poisson, false);
    alpha_zero_matches_mu(ContrastiveLoss::Poisson, true);
}

fn terms(p: &mut ContrastiveProblem<'_, f64>, s: &ContrastiveState<f64>) -> (f64, f64, f64) {
    let t = p.terms(s);
    (t.d_target, t.d_background, p.objective(s))
}

/// Each block step never increases its own objective, the others fixed (Lemmas 1–3).
fn block_monotone(loss: ContrastiveLoss, damping: f64, alpha: f64, mode: EpsilonMode, seed: u64) {
    let (m, nx, ny, k) = (15, 18, 14, 3);
    let x = Data::dense(lcg_mat(m, nx, seed, 6)).unwrap();
    let y = Data::dense(lcg_mat(m, ny, seed + 100, 4)).unwrap();
    let mut p = ContrastiveProblem::new(&x, &y, alpha, loss, faer::Par::Seq).unwrap();
    let mut s = uniform_init::<f64>(m, k, nx, ny, seed);
    // Poisson: the production floor on W against collapse (SPEC §1.12).
    let floor = if loss == ContrastiveLoss::Poisson {
        nmf_contrastive::DEFAULT_POISSON_W_FLOOR
    } else {
        0.0
    };
    let mut solver = ContrastiveMu::new()
        .damping(damping)
        .unwrap()
        .epsilon(mode)
        .w_floor(floor)
        .unwrap();
    solver.init(&p, &mut s).unwrap();
    let tol = |v: f64| 1e-11 * (1.0 + v.abs());
    for it in 0..60 {
        let (dx0, _, _) = terms(&mut p, &s);
        solver.step_target(&p, &mut s).unwrap();
        let (dx1, dy1, _) = terms(&mut p, &s);
        assert!(dx1 <= dx0 + tol(dx0), "H_X step raised D_X at {it}: {dx0} -> {dx1}");
        solver.step_background(&p, &mut s).unwrap();
        let (_, dy2, j2) = terms(&mut p, &s);
        let wmax =
            s.w.col_iter()
                .flat_map(|c| c.iter().copied().collect::<Vec<_>>())
                .fold(0.0f64, f64::max);
        assert!(
            dy2 <= dy1 + tol(dy1),
            "{loss:?} γ={damping} α={alpha} {mode:?}: H_Y step raised D_Y at {it}: {dy1} -> {dy2}, max W {wmax:e}"
        );
        solver.step_basis(&p, &mut s).unwrap();
        let (_, _, j3) = terms(&mut p, &s);
        assert!(j3 <= j2 + tol(j2), "W step raised J at {it}: {j2} -> {j3}");
        // Objective-neutral; keeps the scales tame (without it, Poisson W drifts to 1e8 while
        // collapsed rows make W H fall below the ε floor of the ratios, where the computed
        // step is no longer the exact MM step).
        s.normalize_columns();
    }
}

#[test]
fn block_steps_are_monotone() {
    for loss in [ContrastiveLoss::SquaredError, ContrastiveLoss::Poisson] {
        for damping in [1.0, 0.5] {
            for alpha in [0.5, 2.0] {
                for mode in [EpsilonMode::Safe, EpsilonMode::Reference] {
                    block_monotone(loss, damping, alpha, mode, 3);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn block_steps_monotone_random(seed in 0u64..1000, alpha in 0.0f64..5.0, damping in 0.2f64..1.0, poisson in any::<bool>()) {
        let loss = if poisson { ContrastiveLoss::Poisson } else { ContrastiveLoss::SquaredError };
        block_monotone(loss, damping, alpha, EpsilonMode::Safe, seed);
    }
}

#[test]
fn column_normalisation_leaves_j_unchanged() {
    for loss in [ContrastiveLoss::SquaredError, ContrastiveLoss::Poisson] {
        let (m, nx, ny, k) = (12, 10, 9, 3);
        let x = Data::dense(lcg_mat(m, nx, 5, 4)).unwrap();
        let y = Data::dense(lcg_mat(m, ny, 6, 4)).unwrap();
        let mut p = ContrastiveProblem::new(&x, &y, 1.5, loss, faer::Par::Seq).unwrap();
        let mut s = uniform_init::<f64>(m, k, nx, ny, 11);
        for l in 0..k {
            for i in 0..m {
                s.w[(i, l)] *= 10f64.powi(l as i32 * 2 - 2);
            }
        }
        let (dx, dy, j) = terms(&mut p, &s);
        s.normalize_columns();
        let (dx2, dy2, j2) = terms(&mut p, &s);
        for (a, b) in [(dx, dx2), (dy, dy2), (j, j2)] {
            assert!((a - b).abs() <= 1e-10 * (1.0 + a.abs()), "{loss:?}: {a} vs {b}");
        }
        for l in 0..k {
            let n: f64 = (0..m).map(|i| s.w[(i, l)] * s.w[(i, l)]).sum::<f64>().sqrt();
            assert!((n - 1.0).abs() < 1e-12);
        }
        // And a normalised fit has the same J trajectory as an unnormalised one.
        let run = |norm: bool| {
            let p = ContrastiveProblem::new(&x, &y, 1.5, loss, faer::Par::Seq).unwrap();
            let solver = ContrastiveMu::new().normalize_columns(norm);
            Executor::new(p, solver, rule(30))
                .run(uniform_init(m, k, nx, ny, 2))
                .unwrap()
        };
        let (a, b) = (run(false), run(true));
        for (ra, rb) in a.history.rows().iter().zip(b.history.rows()) {
            assert!(
                (ra.objective - rb.objective).abs() <= 1e-8 * (1.0 + ra.objective.abs()),
                "{loss:?} it {}: {} vs {}",
                ra.iteration,
                ra.objective,
                rb.objective
            );
        }
    }
}

#[test]
fn sparse_equals_dense() {
    for loss in [ContrastiveLoss::SquaredError, ContrastiveLoss::Poisson] {
        let (xm, ym) = (lcg_mat(16, 20, 8, 3), lcg_mat(16, 12, 9, 2));
        let run = |sparse: bool| {
            let mk = |a: &Mat<f64>| {
                if sparse {
                    Data::sparse(CscMatrix::from_dense(a.as_ref())).unwrap()
                } else {
                    Data::dense(a.clone()).unwrap()
                }
            };
            let (x, y) = (mk(&xm), mk(&ym));
            ContrastiveParams::new(3, 2.0)
                .loss(loss)
                .max_iter(40)
                .tol(0.0)
                .check()
                .unwrap()
                .fit(&x, &y)
                .unwrap()
        };
        let (d, s) = (run(false), run(true));
        assert!(max_abs_diff(&d.w, &s.w) < 1e-9, "{loss:?}");
        assert!(max_abs_diff(&d.h_target, &s.h_target) < 1e-9, "{loss:?}");
        assert!(max_abs_diff(&d.h_background, &s.h_background) < 1e-9, "{loss:?}");
    }
}

#[test]
fn evaluate_reports_j_and_target_error() {
    let (m, nx, ny, k) = (10, 8, 7, 2);
    let x = Data::dense(lcg_mat(m, nx, 1, 0)).unwrap();
    let y = Data::dense(lcg_mat(m, ny, 2, 0)).unwrap();
    let mut p = ContrastiveProblem::new(&x, &y, 2.0, ContrastiveLoss::SquaredError, faer::Par::Seq).unwrap();
    let s = uniform_init::<f64>(m, k, nx, ny, 1);
    let e = p.evaluate(&s).unwrap();
    let t = p.terms(&s);
    assert!((e.objective - (t.d_target - 2.0 * t.d_background)).abs() < 1e-12);
    let rel = (2.0 * t.d_target).sqrt() / x.norm();
    assert!((e.relative_error - rel).abs() < 1e-12);
    assert!(e.kkt_norm > 0.0 && e.kkt_norm.is_finite());
}

#[test]
fn stopping_rule_and_multistart() {
    let x = Data::dense(lcg_mat(12, 15, 3, 5)).unwrap();
    let y = Data::dense(lcg_mat(12, 10, 4, 5)).unwrap();
    let fit: ContrastiveFit<f64> = ContrastiveParams::new(2, 0.5)
        .max_iter(5000)
        .tol(1e-6)
        .n_starts(3)
        .seed(4)
        .check()
        .unwrap()
        .fit(&x, &y)
        .unwrap();
    assert_eq!(fit.scores.len(), 3);
    let best = fit.scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(fit.scores[fit.best_start], best);
    assert!(
        fit.stop_reason.converged(),
        "{:?} after {}",
        fit.stop_reason,
        fit.iterations
    );
    assert!(fit.iterations < 5000);
    // Paper mode: exactly max_iter iterations, whatever tol says.
    let paper = ContrastiveParams::new(2, 0.5)
        .max_iter(37)
        .tol(1e-1)
        .paper_compatible(true)
        .check()
        .unwrap()
        .fit(&x, &y)
        .unwrap();
    assert_eq!(paper.iterations, 37);
    assert_eq!(paper.history.rows().len(), 38);
}

#[test]
fn errors_are_typed() {
    let x = Data::dense(lcg_mat(10, 8, 1, 0)).unwrap();
    let y = Data::dense(lcg_mat(9, 8, 2, 0)).unwrap();
    let e = ContrastiveProblem::new(&x, &y, 1.0, ContrastiveLoss::Poisson, faer::Par::Seq).unwrap_err();
    assert_eq!(
        e,
        ContrastiveError::FeatureCountMismatch {
            target: 10,
            background: 9
        }
    );
    let fit = ContrastiveParams::new(2, 1.0).check().unwrap().fit(&x, &y);
    assert!(matches!(fit, Err(ContrastiveError::FeatureCountMismatch { .. })));
    for a in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            ContrastiveParams::new(2, a).check(),
            Err(ContrastiveError::BadAlpha(_))
        ));
        assert!(matches!(
            ContrastiveProblem::new(&x, &x, a, ContrastiveLoss::Poisson, faer::Par::Seq),
            Err(ContrastiveError::BadAlpha(_))
        ));
    }
    for d in [0.0, -0.5, 1.5, f64::NAN] {
        assert!(matches!(
            ContrastiveParams::new(2, 1.0).damping(d).check(),
            Err(ContrastiveError::BadDamping(_))
        ));
        assert!(matches!(
            ContrastiveMu::<f64>::new().damping(d),
            Err(ContrastiveError::BadDamping(_))
        ));
    }
    assert!(matches!(
        ContrastiveParams::new(0, 1.0).check(),
        Err(ContrastiveError::Core(_))
    ));
    assert!(matches!(
        ContrastiveParams::new(2, 1.0).n_starts(0).check(),
        Err(ContrastiveError::BadParam { name: "n_starts", .. })
    ));
    let big = ContrastiveParams::new(20, 1.0).check().unwrap().fit(&x, &x);
    assert!(matches!(big, Err(ContrastiveError::Core(_))));
    assert!(nmf_contrastive::check_feature_names(&["a", "b"], &["a", "b"]).is_ok());
    assert_eq!(
        nmf_contrastive::check_feature_names(&["a", "b"], &["a", "c"]),
        Err(ContrastiveError::FeatureNameMismatch {
            index: 1,
            target: "b".into(),
            background: "c".into()
        })
    );
    assert!(matches!(
        nmf_contrastive::check_feature_names(&["a"], &["a", "c"]),
        Err(ContrastiveError::FeatureCountMismatch { .. })
    ));
}

#[test]
fn auto_traits() {
    fn assert_all<T: Send + Sync + Clone>() {}
    assert_all::<ContrastiveMu<f64>>();
    assert_all::<ContrastiveMu<f32>>();
    assert_all::<ContrastiveProblem<'static, f64>>();
    assert_all::<ContrastiveState<f32>>();
    assert_all::<ContrastiveParams<f64>>();
    assert_all::<ContrastiveFit<f64>>();
    assert_all::<ContrastiveError>();
}

#[test]
fn f32_runs() {
    let x = Data::dense(lcg_mat(10, 8, 1, 3).as_ref().map(|v| *v as f32).to_owned()).unwrap();
    let y = Data::dense(lcg_mat(10, 6, 2, 3).as_ref().map(|v| *v as f32).to_owned()).unwrap();
    for loss in [ContrastiveLoss::SquaredError, ContrastiveLoss::Poisson] {
        let fit = ContrastiveParams::<f32>::new(2, 1.0)
            .loss(loss)
            .max_iter(50)
            .check()
            .unwrap()
            .fit(&x, &y)
            .unwrap();
        assert!(fit.objective.is_finite());
    }
}

#[test]
fn trace_pairs_history_with_contrastive_terms() {
    let x = Data::dense(lcg_mat(12, 15, 3, 5)).unwrap();
    let y = Data::sparse(CscMatrix::from_dense(lcg_mat(12, 10, 4, 3).as_ref())).unwrap();
    for batch in [None, Some(4)] {
        let fit = ContrastiveParams::new(2, 1.5)
            .max_iter(25)
            .tol(0.0)
            .n_starts(2)
            .batch_size(batch)
            .check()
            .unwrap()
            .fit(&x, &y)
            .unwrap();
        assert_eq!(fit.trace.len(), 26);
        let mut p = ContrastiveProblem::new(&x, &y, 1.5, ContrastiveLoss::SquaredError, faer::Par::Seq).unwrap();
        for (t, h) in fit.trace.iter().zip(fit.history.rows()) {
            assert_eq!(
                (t.iteration, t.seconds, t.objective, t.relative_error, t.kkt_residual),
                (h.iteration, h.seconds, h.objective, h.relative_error, h.kkt_residual)
            );
            assert!((t.objective - (t.d_target - 1.5 * t.d_background)).abs() <= 1e-10 * (1.0 + t.d_target));
        }
        let last = fit.trace.last().unwrap();
        let s = ContrastiveState {
            w: fit.w.clone(),
            h_target: fit.h_target.clone(),
            h_background: fit.h_background.clone(),
        };
        let terms = p.terms(&s);
        assert!((last.d_target - terms.d_target).abs() <= 1e-10 * terms.d_target);
        assert!((last.d_background - terms.d_background).abs() <= 1e-10 * terms.d_background);
        let tsv = fit.trace_tsv();
        let lines: Vec<&str> = tsv.lines().collect();
        assert_eq!(lines[0], nmf_contrastive::TRACE_TSV_HEADER);
        assert_eq!(lines[0].split('\t').count(), 8);
        assert_eq!(lines.len(), 27);
        assert!(lines[26].starts_with("25\t"));
        assert_eq!(lines[26].split('\t').count(), 8);
        // Evaluating through the problem appends one record per call.
        let before = p.records().len();
        p.evaluate(&s).unwrap();
        assert_eq!(p.records().len(), before + 1);
        assert_eq!(p.take_records().len(), before + 1);
        assert!(p.records().is_empty());
    }
}

#[test]
fn collapsed_features_ignore_features_without_target_mass() {
    // Feature 0 has no target mass, feature 2 has some.
    let x = Data::dense(Mat::from_fn(
        4,
        3,
        |i, j| if i == 0 { 0.0 } else { (i + j) as f64 + 1.0 },
    ))
    .unwrap();
    let mut w = Mat::from_fn(4, 2, |i, l| (i + l) as f64 + 1.0);
    for l in 0..2 {
        w[(0, l)] = 0.0;
    }
    assert_eq!(nmf_contrastive::count_collapsed(w.as_ref(), &x), 0);
    for l in 0..2 {
        w[(2, l)] = 1e-12;
    }
    assert_eq!(nmf_contrastive::count_collapsed(w.as_ref(), &x), 1);
    w[(2, 1)] = 1e-3;
    assert_eq!(nmf_contrastive::count_collapsed(w.as_ref(), &x), 0);
    let sx = Data::sparse(CscMatrix::from_dense(lcg_mat(4, 3, 1, 0).as_ref())).unwrap();
    let p = ContrastiveProblem::new(&x, &sx, 1.0, ContrastiveLoss::Poisson, faer::Par::Seq).unwrap();
    w[(2, 1)] = 0.0;
    assert_eq!(p.collapsed_features(w.as_ref()), 1);
}

#[test]
fn collapse_guard_is_validated_and_off_for_sse() {
    for g in [-0.1, f64::NAN] {
        assert!(matches!(
            ContrastiveParams::new(2, 1.0).collapse_guard(g).check(),
            Err(ContrastiveError::BadParam {
                name: "collapse_guard",
                ..
            })
        ));
        assert!(ContrastiveMu::<f64>::new().collapse_guard(g).is_err());
    }
    // A guard on a healthy squared-error fit never trips: D_X does not rise while J falls.
    let x = Data::dense(lcg_mat(12, 15, 3, 5)).unwrap();
    let y = Data::dense(lcg_mat(12, 10, 4, 5)).unwrap();
    let fit = ContrastiveParams::new(2, 0.5)
        .max_iter(300)
        .tol(1e-7)
        .collapse_guard(0.05)
        .check()
        .unwrap()
        .fit(&x, &y)
        .unwrap();
    assert_ne!(fit.stop_reason, nmf_contrastive::ContrastiveStopReason::CollapseGuard);
    assert_eq!(fit.iterations, 300);
}
