//! Invariants of the multiplicative updates: monotone objective, falling KKT residual,
//! preserved KL totals, dense/sparse agreement, masks, the Poisson simplex form,
//! determinism, f32 and f64.

mod common;

use common::pbmc_small;
use nmf_core::faer::Mat;
use nmf_core::{
    BetaDivergence, Data, Frobenius, Init, KullbackLeibler, Loss, Mask, NmfError, NmfFit, NmfFloat, NmfParams,
};
use nmf_solvers::Mu;
use nmf_synth::{simulate, PlantedSpec};

fn fit<F: NmfFloat, L: Loss<F>>(data: &Data<F>, loss: L, k: usize, iters: usize, mu: Mu<F>) -> NmfFit<F> {
    NmfParams::new(k)
        .init(Init::NndsvdA)
        .seed(3)
        .max_iter(iters)
        .tol(F::zero())
        .check()
        .unwrap()
        .fit(data, loss, mu)
        .unwrap()
}

/// The objective never rises (relative slack for round-off) and the KKT residual falls.
fn assert_monotone<F: NmfFloat>(fit: &NmfFit<F>, slack: f64, what: &str) {
    assert_monotone_kkt(fit, slack, what, true);
}

/// As `assert_monotone`; the KKT check is skipped for β outside [1, 2], where the gradient
/// blows up as W H → 0 on zero entries of X and the residual is not a useful measure.
fn assert_monotone_kkt<F: NmfFloat>(fit: &NmfFit<F>, slack: f64, what: &str, check_kkt: bool) {
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
    assert!(
        !check_kkt || kkt < 0.5,
        "{what}: relative KKT residual only fell to {kkt}"
    );
    for v in fit
        .state
        .w
        .col_iter()
        .flat_map(|c| c.iter().copied())
        .chain(fit.state.h.col_iter().flat_map(|c| c.iter().copied()))
    {
        assert!(v >= F::zero() && v.is_finite(), "{what}: infeasible entry {v}");
    }
}

fn planted<F: NmfFloat>() -> Data<F> {
    simulate::<F>(&PlantedSpec::new(150, 80, 4).depth(300.0), 11)
        .unwrap()
        .data_sparse()
        .unwrap()
}

#[test]
fn objective_never_rises_on_real_and_planted_data_f64() {
    for (name, data) in [
        ("pbmc_small", Data::sparse(pbmc_small::<f64>()).unwrap()),
        ("planted", planted::<f64>()),
    ] {
        assert_monotone(
            &fit(&data, Frobenius, 3, 150, Mu::new()),
            1e-12,
            &format!("{name} frobenius"),
        );
        assert_monotone(
            &fit(&data, KullbackLeibler, 3, 150, Mu::new()),
            1e-12,
            &format!("{name} kl"),
        );
        let b15 = BetaDivergence::new(1.5).unwrap();
        assert_monotone(&fit(&data, b15, 3, 100, Mu::new()), 1e-12, &format!("{name} beta=1.5"));
        let b05 = BetaDivergence::new(0.5).unwrap();
        assert_monotone_kkt(
            &fit(&data, b05, 3, 100, Mu::new()),
            1e-12,
            &format!("{name} beta=0.5"),
            false,
        );
        let b3 = BetaDivergence::new(3.0).unwrap();
        assert_monotone_kkt(
            &fit(&data, b3, 3, 100, Mu::new()),
            1e-12,
            &format!("{name} beta=3"),
            false,
        );
    }
}

#[test]
fn objective_never_rises_f32() {
    for (name, data) in [
        ("pbmc_small", Data::sparse(pbmc_small::<f32>()).unwrap()),
        ("planted", planted::<f32>()),
    ] {
        // Sparse Frobenius evaluates ½(‖X‖² − 2⟨X, WH⟩ + ⟨WᵀW, HHᵀ⟩): in f32 its round-off is
        // about 1e-5 of the value.
        assert_monotone(
            &fit(&data, Frobenius, 3, 100, Mu::new()),
            1e-4,
            &format!("{name} f32 frobenius"),
        );
        assert_monotone(
            &fit(&data, KullbackLeibler, 3, 100, Mu::new()),
            1e-5,
            &format!("{name} f32 kl"),
        );
    }
}

#[test]
fn f32_agrees_with_f64() {
    let d64 = Data::sparse(pbmc_small::<f64>()).unwrap();
    let d32 = Data::sparse(pbmc_small::<f32>()).unwrap();
    let a = fit(&d64, KullbackLeibler, 3, 50, Mu::new()).evaluation.objective;
    let b = fit(&d32, KullbackLeibler, 3, 50, Mu::new()).evaluation.objective as f64;
    assert!(((a - b) / a).abs() < 1e-3, "f64 {a} vs f32 {b}");
}

#[test]
fn itakura_saito_needs_positive_data_and_is_monotone_on_it() {
    let sparse = Data::sparse(pbmc_small::<f64>()).unwrap();
    let is = BetaDivergence::<f64>::itakura_saito();
    let err = NmfParams::new(2)
        .check()
        .unwrap()
        .fit(&sparse, is, Mu::new())
        .unwrap_err();
    assert!(matches!(err, NmfError::DataUnsuitedToLoss { .. }), "{err}");
    let x = Mat::from_fn(30, 20, |i, j| {
        1.0 + ((i * 7 + j * 3) % 11) as f64 + (i % 3) as f64 * (j % 4) as f64
    });
    let data = Data::dense(x).unwrap();
    assert_monotone_kkt(&fit(&data, is, 3, 100, Mu::new()), 1e-12, "itakura-saito", false);
}

#[test]
fn kl_updates_preserve_total_mass() {
    let data = planted::<f64>();
    let total = data.stats().sum;
    for iters in [1, 2, 7] {
        let f = fit(&data, KullbackLeibler, 4, iters, Mu::new());
        let mut wh = Mat::<f64>::zeros(data.nrows(), data.ncols());
        nmf_core::linalg::gemm(
            wh.as_mut(),
            nmf_core::faer::Accum::Replace,
            f.state.w.as_ref(),
            f.state.h.as_ref(),
            1.0,
            nmf_core::faer::Par::Seq,
        );
        let s: f64 = wh.col_iter().flat_map(|c| c.iter().copied()).sum();
        assert!(
            ((s - total) / total).abs() < 1e-10,
            "after {iters}: sum WH {s} vs sum X {total}"
        );
    }
}

#[test]
fn dense_and_sparse_inputs_give_the_same_fit() {
    let sparse = planted::<f64>();
    let dense = match sparse.matrix() {
        nmf_core::Matrix::Sparse(s) => Data::dense(s.to_dense()).unwrap(),
        _ => unreachable!(),
    };
    let b = BetaDivergence::new(1.5).unwrap();
    for (name, a, c) in [
        (
            "fro",
            fit(&sparse, Frobenius, 4, 30, Mu::new()),
            fit(&dense, Frobenius, 4, 30, Mu::new()),
        ),
        (
            "kl",
            fit(&sparse, KullbackLeibler, 4, 30, Mu::new()),
            fit(&dense, KullbackLeibler, 4, 30, Mu::new()),
        ),
        (
            "beta=1.5",
            fit(&sparse, b, 4, 30, Mu::new()),
            fit(&dense, b, 4, 30, Mu::new()),
        ),
    ] {
        let d = common::rel_diff(&a.state.w, &c.state.w).max(common::rel_diff(&a.state.h, &c.state.h));
        assert!(d < 1e-9, "{name}: dense and sparse differ by {d}");
        let (oa, oc) = (a.evaluation.objective, c.evaluation.objective);
        assert!(((oa - oc) / oc).abs() < 1e-9, "{name}: objectives {oa} vs {oc}");
    }
}

#[test]
fn masked_entries_do_not_influence_the_fit() {
    let x = pbmc_small::<f64>().to_dense();
    let (m, n) = (x.nrows(), x.ncols());
    let mask = Mask::from_fn(m, n, |i, j| (i * 31 + j * 17) % 10 != 0);
    let mut y = x.clone();
    for j in 0..n {
        for i in 0..m {
            if !mask.is_observed(i, j) {
                y[(i, j)] = if (i + j) % 2 == 0 { f64::NAN } else { 1e6 };
            }
        }
    }
    let a = Data::dense_masked(x.clone(), mask.clone()).unwrap();
    let b = Data::dense_masked(y, mask).unwrap();
    for loss_kl in [false, true] {
        let (fa, fb) = if loss_kl {
            (
                fit(&a, KullbackLeibler, 3, 40, Mu::new()),
                fit(&b, KullbackLeibler, 3, 40, Mu::new()),
            )
        } else {
            (
                fit(&a, Frobenius, 3, 40, Mu::new()),
                fit(&b, Frobenius, 3, 40, Mu::new()),
            )
        };
        assert_eq!(fa.state.w, fb.state.w);
        assert_eq!(fa.state.h, fb.state.h);
        assert_monotone(&fa, 1e-12, "masked");
    }
    // A mask that observes everything is the same as no mask.
    let full = Data::dense_masked(x.clone(), Mask::from_fn(m, n, |_, _| true)).unwrap();
    let plain = Data::dense(x).unwrap();
    let (f1, f2) = (
        fit(&full, KullbackLeibler, 3, 20, Mu::new()),
        fit(&plain, KullbackLeibler, 3, 20, Mu::new()),
    );
    assert!(common::rel_diff(&f1.state.w, &f2.state.w) < 1e-12);
}

#[test]
fn poisson_simplex_form_puts_library_sizes_in_h() {
    let data = planted::<f64>();
    let f = fit(&data, KullbackLeibler, 4, 400, Mu::new().simplex_w(true));
    for l in 0..4 {
        let s: f64 = f.state.w.col(l).iter().sum();
        assert!((s - 1.0).abs() < 1e-12, "W column {l} sums to {s}");
    }
    let x = match data.matrix() {
        nmf_core::Matrix::Sparse(s) => s.to_dense(),
        _ => unreachable!(),
    };
    for j in 0..data.ncols() {
        let lib: f64 = x.col(j).iter().sum();
        let hsum: f64 = f.state.h.col(j).iter().sum();
        assert!(
            ((hsum - lib) / lib).abs() < 1e-3,
            "sample {j}: H sums to {hsum}, library {lib}"
        );
    }
    assert_monotone(&f, 1e-12, "simplex");
    let err = NmfParams::new(2)
        .l1_h(0.1)
        .check()
        .unwrap()
        .fit(&data, KullbackLeibler, Mu::new().simplex_w(true));
    assert!(matches!(err, Err(NmfError::Unsupported(_))));
}

#[test]
fn penalties_shrink_the_penalised_factor_and_keep_mu_monotone() {
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let base = fit(&data, Frobenius, 3, 100, Mu::new());
    let pen = NmfParams::new(3)
        .seed(3)
        .max_iter(100)
        .tol(0.0)
        .l1_h(50.0)
        .check()
        .unwrap();
    let f = pen.fit(&data, Frobenius, Mu::new()).unwrap();
    assert_monotone(&f, 1e-12, "penalised");
    let l1 = |h: &Mat<f64>| h.col_iter().flat_map(|c| c.iter().copied()).sum::<f64>();
    assert!(l1(&f.state.h) < l1(&base.state.h), "L1 on H did not shrink it");
}

#[test]
fn same_seed_same_result_different_seed_different_start() {
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let run = |seed: u64, init: Init<f64>| {
        NmfParams::new(3)
            .init(init)
            .seed(seed)
            .max_iter(30)
            .check()
            .unwrap()
            .fit(&data, KullbackLeibler, Mu::new())
            .unwrap()
    };
    for init in [Init::Random, Init::NndsvdA, Init::NndsvdAr, Init::Nndsvd] {
        let (a, b) = (run(5, init.clone()), run(5, init.clone()));
        assert_eq!(a.state.w, b.state.w, "{init:?}");
        assert_eq!(a.state.h, b.state.h, "{init:?}");
    }
    assert_ne!(run(5, Init::Random).state.w, run(6, Init::Random).state.w);
}

#[test]
fn zero_rows_and_columns_give_zero_factor_rows_not_nan() {
    let mut x = pbmc_small::<f64>().to_dense();
    let n = x.ncols();
    x.as_mut().row_mut(4).fill(0.0);
    x.as_mut().col_mut(n - 1).fill(0.0);
    let data = Data::dense(x).unwrap();
    assert_eq!(data.stats().zero_rows, 1);
    assert_eq!(data.stats().zero_cols, 1);
    for kl in [false, true] {
        let f = if kl {
            fit(&data, KullbackLeibler, 3, 60, Mu::new())
        } else {
            fit(&data, Frobenius, 3, 60, Mu::new())
        };
        assert!(
            f.state.w.row(4).iter().all(|v| v.abs() < 1e-8),
            "W row of a zero feature: {:?}",
            f.state.w.row(4)
        );
        assert!(f.state.h.col(n - 1).iter().all(|v| v.abs() < 1e-8));
        assert!(f.evaluation.objective.is_finite());
        assert_monotone(&f, 1e-12, "zero rows");
    }
}

#[test]
fn solver_knobs_are_validated() {
    assert!(Mu::<f64>::new().with_floor(-1.0).is_err());
    assert!(Mu::<f64>::new().with_floor(f64::NAN).is_err());
    assert!(Mu::<f64>::new().with_floor(1e-16).is_ok());
}

#[test]
fn public_types_are_send_sync_clone() {
    fn check<T: Send + Sync + Clone>() {}
    check::<Mu<f64>>();
    check::<Mu<f32>>();
    check::<NmfParams<f64>>();
    check::<Data<f32>>();
}
