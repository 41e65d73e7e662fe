//! `transform`: coefficients of new target samples with the fitted W fixed.

use faer::Mat;
use nmf_contrastive::{
    transform, ContrastiveError, ContrastiveFit, ContrastiveLoss, ContrastiveParams, TransformParams,
};
use nmf_core::{CscMatrix, Data, NmfError};
use nmf_synth::{simulate_pair, PairSpec, PlantedSpec};

fn pair(dense: bool) -> (Data<f64>, Data<f64>) {
    let spec = PairSpec::new(PlantedSpec::new(60, 50, 4).depth(400.0), 40, 1);
    let p = simulate_pair::<f64>(&spec, 3).unwrap();
    (p.target_data(dense).unwrap(), p.background_data(dense).unwrap())
}

fn fit(x: &Data<f64>, y: &Data<f64>, loss: ContrastiveLoss) -> ContrastiveFit<f64> {
    ContrastiveParams::new(4, 0.5)
        .loss(loss)
        .damping(1.0)
        .max_iter(3000)
        .tol(1e-10)
        .seed(2)
        .check()
        .unwrap()
        .fit(x, y)
        .unwrap()
}

fn rel_diff(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    (a - b).norm_l2() / b.norm_l2()
}

#[test]
fn sse_transform_is_the_exact_nnls_solution() {
    for dense in [true, false] {
        let (x, y) = pair(dense);
        let f = fit(&x, &y, ContrastiveLoss::SquaredError);
        let t = transform(
            &x,
            f.w.as_ref(),
            ContrastiveLoss::SquaredError,
            &TransformParams::default(),
        )
        .unwrap();
        assert!(t.converged && t.iterations == 0 && t.divergences.is_empty());
        let reference = nmf_solvers::transform(&x, f.w.as_ref(), (0.0, 0.0), faer::Par::Seq).unwrap();
        assert_eq!(t.h, reference);
        // KKT of min_{H ≥ 0} ½‖X − W H‖²: G = WᵀW H − WᵀX ≥ 0, H ≥ 0, H ⊙ G = 0.
        let xd = match x.matrix() {
            nmf_core::Matrix::Dense(d) => d.clone(),
            nmf_core::Matrix::Sparse(s) => s.to_dense(),
        };
        let wt = f.w.transpose();
        let grad = wt * &f.w * &t.h - wt * &xd;
        let scale = (wt * &xd).norm_max();
        let mut worst_neg = 0.0f64;
        let mut worst_comp = 0.0f64;
        for j in 0..grad.ncols() {
            for l in 0..grad.nrows() {
                assert!(t.h[(l, j)] >= 0.0);
                worst_neg = worst_neg.max(-grad[(l, j)]);
                worst_comp = worst_comp.max((t.h[(l, j)] * grad[(l, j)]).abs());
            }
        }
        assert!(
            worst_neg <= 1e-10 * scale,
            "dense={dense}: gradient {worst_neg:e} below 0"
        );
        assert!(
            worst_comp <= 1e-10 * scale * t.h.norm_max(),
            "dense={dense}: complementarity {worst_comp:e}"
        );
        // Exactness beats the fit's own H_X, which is only an MU iterate.
        let mut lws = nmf_core::LossWorkspace::new(faer::Par::Seq);
        let d_fit = ContrastiveLoss::SquaredError.value(&x, f.w.as_ref(), f.h_target.as_ref(), &mut lws);
        assert!(t.divergence <= d_fit * (1.0 + 1e-12));
        println!(
            "dense={dense}: D(transform) {:.6e} vs D(fit) {d_fit:.6e}, rel diff to H_X {:.2e}",
            t.divergence,
            rel_diff(&t.h, &f.h_target)
        );
    }
}

#[test]
fn poisson_transform_is_monotone_and_recovers_the_fitted_h() {
    let mut results = Vec::new();
    for dense in [true, false] {
        let (x, y) = pair(dense);
        let f = fit(&x, &y, ContrastiveLoss::Poisson);
        let t = transform(&x, f.w.as_ref(), ContrastiveLoss::Poisson, &TransformParams::default()).unwrap();
        assert!(t.divergences.len() == t.iterations + 1 && t.iterations > 1);
        for (i, w) in t.divergences.windows(2).enumerate() {
            assert!(
                w[1] <= w[0] * (1.0 + 1e-13),
                "dense={dense}: KL rose at {i}: {} -> {}",
                w[0],
                w[1]
            );
        }
        assert_eq!(*t.divergences.last().unwrap(), t.divergence);
        let d = rel_diff(&t.h, &f.h_target);
        println!(
            "dense={dense}: {} updates (converged {}), KL {:.6e} vs fit {:.6e}, rel diff to H_X {d:.2e}",
            t.iterations, t.converged, t.divergence, f.d_target
        );
        assert!(d < 1e-2, "dense={dense}: transform far from the fitted H_X: {d}");
        assert!(t.divergence <= f.d_target * (1.0 + 1e-6));
        results.push(t.h);
    }
    // Sparse and dense inputs give the same coefficients.
    assert!(rel_diff(&results[0], &results[1]) < 1e-9);
}

#[test]
fn poisson_warm_start_and_fixed_budget() {
    let (x, y) = pair(true);
    let f = fit(&x, &y, ContrastiveLoss::Poisson);
    let params = TransformParams {
        max_iter: 7,
        tol: 0.0,
        h_init: Some(f.h_target.clone()),
        ..TransformParams::default()
    };
    let t = transform(&x, f.w.as_ref(), ContrastiveLoss::Poisson, &params).unwrap();
    assert_eq!(t.iterations, 7);
    assert!(!t.converged);
    // Started at the fitted H_X: it can only improve on it.
    assert!((t.divergences[0] - f.d_target).abs() <= 1e-9 * f.d_target);
    assert!(t.divergence <= t.divergences[0]);
}

#[test]
fn empty_samples_get_zero_coefficients() {
    let w = Mat::from_fn(5, 2, |i, l| (i + 2 * l + 1) as f64);
    let x = Mat::from_fn(5, 3, |i, j| if j == 1 { 0.0 } else { (i + j + 1) as f64 });
    for data in [
        Data::dense(x.clone()).unwrap(),
        Data::sparse(CscMatrix::from_dense(x.as_ref())).unwrap(),
    ] {
        for loss in [ContrastiveLoss::SquaredError, ContrastiveLoss::Poisson] {
            let t = transform(&data, w.as_ref(), loss, &TransformParams::default()).unwrap();
            assert_eq!((t.h[(0, 1)], t.h[(1, 1)]), (0.0, 0.0), "{loss:?}");
            assert!(t.divergence.is_finite());
        }
    }
}

#[test]
fn mismatches_are_typed_errors() {
    let x = Data::dense(Mat::from_fn(6, 4, |i, j| (i + j) as f64 + 1.0)).unwrap();
    let w = Mat::from_fn(5, 2, |_, _| 1.0f64);
    let def = TransformParams::default();
    for loss in [ContrastiveLoss::SquaredError, ContrastiveLoss::Poisson] {
        assert_eq!(
            transform(&x, w.as_ref(), loss, &def).unwrap_err(),
            ContrastiveError::BasisFeatureMismatch { basis: 5, data: 6 }
        );
        let w0 = Mat::<f64>::zeros(6, 0);
        assert!(matches!(
            transform(&x, w0.as_ref(), loss, &def),
            Err(ContrastiveError::Core(NmfError::Params(_)))
        ));
        let mut bad = Mat::from_fn(6, 2, |_, _| 1.0f64);
        bad[(3, 1)] = -1.0;
        assert!(matches!(
            transform(&x, bad.as_ref(), loss, &def),
            Err(ContrastiveError::Core(NmfError::InvalidInit {
                factor: "W",
                row: 3,
                col: 1,
                ..
            }))
        ));
        bad[(3, 1)] = f64::NAN;
        assert!(matches!(
            transform(&x, bad.as_ref(), loss, &def),
            Err(ContrastiveError::Core(NmfError::InvalidInit { factor: "W", .. }))
        ));
        let good = Mat::from_fn(6, 2, |i, l| (i + l) as f64 + 0.5);
        let wrong_rank = TransformParams {
            h_init: Some(Mat::zeros(3, 4)),
            ..TransformParams::default()
        };
        assert_eq!(
            transform(&x, good.as_ref(), loss, &wrong_rank).unwrap_err(),
            ContrastiveError::RankMismatch {
                what: "initial H",
                rank: 2,
                got: 3
            }
        );
        let wrong_cols = TransformParams {
            h_init: Some(Mat::zeros(2, 5)),
            ..TransformParams::default()
        };
        assert!(matches!(
            transform(&x, good.as_ref(), loss, &wrong_cols),
            Err(ContrastiveError::Core(NmfError::ShapeMismatch { .. }))
        ));
        let bad_tol = TransformParams {
            tol: -1.0,
            ..TransformParams::default()
        };
        assert!(matches!(
            transform(&x, good.as_ref(), loss, &bad_tol),
            Err(ContrastiveError::BadParam { name: "tol", .. })
        ));
        let zero_iter = TransformParams {
            max_iter: 0,
            ..TransformParams::default()
        };
        assert!(matches!(
            transform(&x, good.as_ref(), loss, &zero_iter),
            Err(ContrastiveError::Core(NmfError::Params(_)))
        ));
    }
}

#[test]
fn f32_transform() {
    let w = Mat::from_fn(6, 2, |i, l| if i % 2 == l { 1.0f32 } else { 0.2 });
    let h = Mat::from_fn(2, 5, |l, j| (l + j + 1) as f32);
    let x = Data::dense(&w * &h).unwrap();
    for loss in [ContrastiveLoss::SquaredError, ContrastiveLoss::Poisson] {
        let t = transform(&x, w.as_ref(), loss, &TransformParams::default()).unwrap();
        assert!(rel_diff_f32(&t.h, &h) < 1e-3, "{loss:?}");
    }
}

fn rel_diff_f32(a: &Mat<f32>, b: &Mat<f32>) -> f32 {
    (a - b).norm_l2() / b.norm_l2()
}
