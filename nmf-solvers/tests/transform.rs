//! `transform`: H of (new) samples with W fixed, solved exactly by block principal pivoting.

mod common;

use common::{pbmc_small, rel_diff};
use nmf_core::faer::{Mat, MatRef, Par};
use nmf_core::{Data, Frobenius, Init, Mask, NmfError, NmfFit, NmfFloat, NmfParams, NmfParamsError};
use nmf_solvers::{transform, Anls};

fn to_f64<F: NmfFloat>(a: &Mat<F>) -> Mat<f64> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)].to_f64_lossy())
}

/// ANLS on pbmc_small (k = 3) run until the objective stops moving.
fn converged_anls<F: NmfFloat>(data: &Data<F>) -> NmfFit<F> {
    NmfParams::new(3)
        .init(Init::NndsvdA)
        .max_iter(400)
        .tol(F::zero())
        .threads(1)
        .check()
        .unwrap()
        .fit(data, Frobenius, Anls::new())
        .unwrap()
}

fn reproduces_the_fitted_h<F: NmfFloat>(tol: f64, tag: &str) {
    let data = Data::sparse(pbmc_small::<F>()).unwrap();
    let fit = converged_anls(&data);
    let h = transform(&data, fit.state.w.as_ref(), (F::zero(), F::zero()), Par::Seq).unwrap();
    let d = rel_diff(&to_f64(&h), &to_f64(&fit.state.h));
    println!(
        "{tag}: ANLS {} iterations, relative error {:.12}; transform vs fitted H: {d:.3e}",
        fit.iterations, fit.evaluation.relative_error
    );
    assert!(d < tol, "{tag}: transform differs from the fitted H by {d}");
    assert!(h.col_iter().all(|c| c.iter().all(|v| *v >= F::zero() && v.is_finite())));
}

#[test]
fn transform_of_the_training_data_reproduces_a_converged_anls_h_f64() {
    reproduces_the_fitted_h::<f64>(1e-6, "f64");
}

#[test]
fn transform_of_the_training_data_reproduces_a_converged_anls_h_f32() {
    reproduces_the_fitted_h::<f32>(1e-6, "f32");
}

#[test]
fn sparse_and_dense_inputs_give_the_same_h() {
    let sparse = Data::sparse(pbmc_small::<f64>()).unwrap();
    let dense = Data::dense(pbmc_small::<f64>().to_dense()).unwrap();
    let fit = NmfParams::new(4)
        .max_iter(30)
        .check()
        .unwrap()
        .fit(&sparse, Frobenius, Anls::new())
        .unwrap();
    for pen in [(0.0, 0.0), (3.0, 0.5)] {
        let a = transform(&sparse, fit.state.w.as_ref(), pen, Par::Seq).unwrap();
        let b = transform(&dense, fit.state.w.as_ref(), pen, Par::Seq).unwrap();
        let d = rel_diff(&a, &b);
        assert!(d < 1e-12, "penalty {pen:?}: sparse and dense differ by {d}");
    }
}

/// KKT of `min_{h ≥ 0} ½‖x_O − W_O h‖² + l1·Σh + ½·l2·‖h‖²` for every column, with O the
/// observed rows (all rows without a mask).
fn assert_kkt(x: MatRef<'_, f64>, mask: Option<&Mask>, w: MatRef<'_, f64>, h: MatRef<'_, f64>, (l1, l2): (f64, f64)) {
    let (m, k) = (w.nrows(), w.ncols());
    for j in 0..x.ncols() {
        let obs = |i: usize| mask.is_none_or(|mk| mk.is_observed(i, j));
        let mut scale = l1 + 1e-300;
        let mut grad = vec![0.0; k];
        for i in (0..m).filter(|&i| obs(i)) {
            let wh: f64 = (0..k).map(|l| w[(i, l)] * h[(l, j)]).sum();
            for (l, g) in grad.iter_mut().enumerate() {
                *g += w[(i, l)] * (wh - x[(i, j)]);
                scale = f64::max(scale, (w[(i, l)] * x[(i, j)]).abs());
            }
        }
        for l in 0..k {
            let g = grad[l] + l1 + l2 * h[(l, j)];
            assert!(h[(l, j)] >= 0.0 && h[(l, j)].is_finite());
            assert!(g >= -1e-9 * scale * m as f64, "column {j}: gradient {g} < 0");
            if h[(l, j)] > 0.0 {
                assert!(
                    g.abs() <= 1e-9 * scale * m as f64,
                    "column {j}: gradient {g} on a positive entry"
                );
            }
        }
    }
}

#[test]
fn transform_solves_each_column_exactly_with_penalties_and_masks() {
    let x = pbmc_small::<f64>().to_dense();
    let (m, n) = (x.nrows(), x.ncols());
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let fit = NmfParams::new(3)
        .max_iter(50)
        .check()
        .unwrap()
        .fit(&data, Frobenius, Anls::new())
        .unwrap();
    let w = fit.state.w.as_ref();
    for pen in [(0.0, 0.0), (5.0, 0.0), (0.0, 10.0), (2.0, 3.0)] {
        let h = transform(&data, w, pen, Par::Seq).unwrap();
        assert_kkt(x.as_ref(), None, w, h.as_ref(), pen);
    }
    // Masks: a few missing entries per column (Q = WᵀW minus the missing rows) and columns
    // missing most rows (Q summed over the observed rows); missing entries hold garbage.
    let mask = Mask::from_fn(m, n, |i, j| {
        if j % 4 == 0 {
            i % 5 == 0
        } else {
            (i * 7 + j * 3) % 23 != 0
        }
    });
    let mut y = x.clone();
    for j in 0..n {
        for i in 0..m {
            if !mask.is_observed(i, j) {
                y[(i, j)] = if (i + j) % 2 == 0 { f64::NAN } else { 1e6 };
            }
        }
    }
    let masked = Data::dense_masked(y, mask.clone()).unwrap();
    let clean = Data::dense_masked(x.clone(), mask.clone()).unwrap();
    for pen in [(0.0, 0.0), (2.0, 3.0)] {
        let h = transform(&masked, w, pen, Par::Seq).unwrap();
        assert_kkt(x.as_ref(), Some(&mask), w, h.as_ref(), pen);
        let h2 = transform(&clean, w, pen, Par::Seq).unwrap();
        assert_eq!(h, h2, "missing entries influenced H");
        // A mask that observes everything is no mask.
        let full = Data::dense_masked(x.clone(), Mask::from_fn(m, n, |_, _| true)).unwrap();
        let d = rel_diff(
            &transform(&full, w, pen, Par::Seq).unwrap(),
            &transform(&data, w, pen, Par::Seq).unwrap(),
        );
        assert!(d < 1e-12, "full mask vs no mask: {d}");
    }
}

#[test]
fn transform_handles_a_dead_component_without_nan() {
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let x = pbmc_small::<f64>().to_dense();
    let mut w = Mat::from_fn(x.nrows(), 3, |i, l| ((i * (l + 2)) % 7) as f64);
    w.as_mut().col_mut(1).fill(0.0);
    let h = transform(&data, w.as_ref(), (0.0, 0.0), Par::Seq).unwrap();
    assert!(
        h.row(1).iter().all(|v| *v == 0.0),
        "a zero column of W gets a zero row of H"
    );
    assert_kkt(x.as_ref(), None, w.as_ref(), h.as_ref(), (0.0, 0.0));
    // k = 0: an empty H.
    let h = transform(&data, Mat::<f64>::zeros(x.nrows(), 0).as_ref(), (0.0, 0.0), Par::Seq).unwrap();
    assert_eq!((h.nrows(), h.ncols()), (0, x.ncols()));
}

#[test]
fn transform_validates_its_inputs() {
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let m = data.nrows();
    let bad_rows = Mat::<f64>::from_fn(m + 1, 3, |_, _| 1.0);
    match transform(&data, bad_rows.as_ref(), (0.0, 0.0), Par::Seq) {
        Err(NmfError::ShapeMismatch {
            what,
            expected_rows,
            got_rows,
            ..
        }) => {
            assert_eq!((what, expected_rows, got_rows), ("W", m, m + 1));
        }
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let mut w = Mat::<f64>::from_fn(m, 3, |_, _| 1.0);
        w[(4, 2)] = bad;
        match transform(&data, w.as_ref(), (0.0, 0.0), Par::Seq) {
            Err(NmfError::InvalidInit {
                factor: "W",
                row: 4,
                col: 2,
                ..
            }) => {}
            other => panic!("expected InvalidInit for {bad}, got {other:?}"),
        }
    }
    let w = Mat::<f64>::from_fn(m, 3, |_, _| 1.0);
    for pen in [(-1.0, 0.0), (0.0, f64::NAN)] {
        let err = transform(&data, w.as_ref(), pen, Par::Seq).unwrap_err();
        assert!(
            matches!(err, NmfError::Params(NmfParamsError::BadPenalty { .. })),
            "{err}"
        );
    }
}
