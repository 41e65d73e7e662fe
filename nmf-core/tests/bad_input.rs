//! Every bad-input class gets a typed error naming the problem; nothing panics.

use nmf_core::faer::Mat;
use nmf_core::{initialize, CscMatrix, Data, Init, Mask, NmfError, NmfParams, NmfParamsError};

fn good() -> Mat<f64> {
    Mat::from_fn(5, 4, |i, j| (i + j) as f64)
}

#[test]
fn negative_entry_is_named() {
    let mut x = good();
    x[(2, 3)] = -1.5;
    match Data::dense(x) {
        Err(NmfError::NegativeEntry { row: 2, col: 3, value }) => assert_eq!(value, -1.5),
        other => panic!("{other:?}"),
    }
    let s = CscMatrix::from_triplets(3, 3, &[0, 1], &[0, 2], &[1.0, -2.0]).unwrap();
    assert!(matches!(
        Data::sparse(s),
        Err(NmfError::NegativeEntry { row: 1, col: 2, .. })
    ));
}

#[test]
fn non_finite_entries_are_named() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut x = good();
        x[(1, 0)] = bad;
        let err = Data::dense(x).unwrap_err();
        assert!(matches!(err, NmfError::NonFiniteEntry { row: 1, col: 0, .. }), "{err}");
        assert!(err.to_string().contains("row 1"));
    }
    let mut y = Mat::from_fn(5, 4, |i, j| (i + j) as f32);
    y[(0, 0)] = f32::NAN;
    assert!(matches!(Data::dense(y), Err(NmfError::NonFiniteEntry { .. })));
}

#[test]
fn empty_input() {
    assert!(matches!(
        Data::dense(Mat::<f64>::zeros(0, 4)),
        Err(NmfError::EmptyInput { rows: 0, cols: 4 })
    ));
    assert!(matches!(
        Data::dense(Mat::<f64>::zeros(3, 0)),
        Err(NmfError::EmptyInput { .. })
    ));
    let s = CscMatrix::<f64>::from_triplets(0, 0, &[], &[], &[]).unwrap();
    assert!(matches!(Data::sparse(s), Err(NmfError::EmptyInput { .. })));
}

#[test]
fn all_zero_input() {
    assert!(matches!(Data::dense(Mat::<f64>::zeros(3, 3)), Err(NmfError::AllZero)));
    let s = CscMatrix::<f64>::from_triplets(3, 3, &[0], &[0], &[0.0]).unwrap();
    assert!(matches!(Data::sparse(s), Err(NmfError::AllZero)));
}

#[test]
fn zero_rows_and_columns_are_counted_not_rejected() {
    let mut x = good();
    x.as_mut().row_mut(0).fill(0.0);
    x.as_mut().col_mut(0).fill(0.0);
    let d = Data::dense(x).unwrap();
    assert_eq!((d.stats().zero_rows, d.stats().zero_cols), (1, 1));
}

#[test]
fn rank_zero_and_too_large() {
    let d = Data::dense(good()).unwrap();
    assert!(matches!(
        NmfParams::<f64>::new(0).check(),
        Err(NmfParamsError::RankZero)
    ));
    assert!(matches!(
        d.check_rank(0),
        Err(NmfError::Params(NmfParamsError::RankZero))
    ));
    let err = d.check_rank(5).unwrap_err();
    assert_eq!(
        err,
        NmfError::RankTooLarge {
            rank: 5,
            rows: 5,
            cols: 4
        }
    );
    assert!(err.to_string().contains("min(5, 4)"));
    assert!(d.check_rank(4).is_ok());
    assert!(initialize(&d, 9, &Init::<f64>::Random, 0, nmf_core::faer::Par::Seq).is_err());
}

#[test]
fn mask_shape_mismatch() {
    let err = Data::dense_masked(good(), Mask::from_fn(4, 4, |_, _| true)).unwrap_err();
    assert!(
        matches!(
            err,
            NmfError::ShapeMismatch {
                what: "observation mask",
                expected_rows: 5,
                got_rows: 4,
                ..
            }
        ),
        "{err}"
    );
    assert!(Mask::from_col_major(2, 2, vec![true; 3]).is_err());
}

#[test]
fn mask_with_sparse_input_is_unsupported_not_ignored() {
    let s = CscMatrix::from_dense(good().as_ref());
    let err = Data::new(nmf_core::Matrix::Sparse(s), Some(Mask::from_fn(5, 4, |_, _| true))).unwrap_err();
    assert!(matches!(err, NmfError::Unsupported(_)));
}

#[test]
fn masked_nan_is_allowed_but_observed_nan_is_not() {
    let mut x = good();
    x[(1, 1)] = f64::NAN;
    let mask = Mask::from_fn(5, 4, |i, j| (i, j) != (1, 1));
    let d = Data::dense_masked(x.clone(), mask).unwrap();
    assert_eq!(d.stats().observed, 19);
    assert!(Data::dense(x).is_err());
}

#[test]
fn init_shape_and_value_mismatch() {
    let d = Data::dense(good()).unwrap();
    let par = nmf_core::faer::Par::Seq;
    let bad_w = Init::Custom {
        w: Mat::zeros(4, 2),
        h: Mat::zeros(2, 4),
    };
    assert!(matches!(
        initialize(&d, 2, &bad_w, 0, par),
        Err(NmfError::ShapeMismatch { what: "initial W", .. })
    ));
    let bad_h = Init::Custom {
        w: Mat::zeros(5, 2),
        h: Mat::zeros(3, 4),
    };
    assert!(matches!(
        initialize(&d, 2, &bad_h, 0, par),
        Err(NmfError::ShapeMismatch { what: "initial H", .. })
    ));
    let mut w = Mat::<f64>::zeros(5, 2);
    w[(3, 1)] = -0.1;
    let neg = Init::Custom { w, h: Mat::zeros(2, 4) };
    assert!(matches!(
        initialize(&d, 2, &neg, 0, par),
        Err(NmfError::InvalidInit {
            factor: "W",
            row: 3,
            col: 1,
            ..
        })
    ));
    let mut h = Mat::<f64>::zeros(2, 4);
    h[(0, 0)] = f64::NAN;
    let nan = Init::Custom { w: Mat::zeros(5, 2), h };
    assert!(matches!(
        initialize(&d, 2, &nan, 0, par),
        Err(NmfError::InvalidInit { factor: "H", .. })
    ));
}

#[test]
fn bad_sparse_structure() {
    assert!(matches!(
        CscMatrix::<f64>::from_triplets(2, 2, &[2], &[0], &[1.0]),
        Err(NmfError::InvalidSparse(_))
    ));
    assert!(CscMatrix::<f64>::from_triplets(2, 2, &[0, 1], &[0], &[1.0]).is_err());
    assert!(CscMatrix::<f64>::try_from_parts(2, 2, vec![0, 2, 1], vec![0, 1], vec![1.0, 1.0]).is_err());
    assert!(CscMatrix::<f64>::try_from_parts(2, 1, vec![0, 2], vec![1, 0], vec![1.0, 1.0]).is_err());
    assert!(CscMatrix::<f64>::try_from_parts(2, 2, vec![0, 5, 2], vec![0, 1], vec![1.0, 1.0]).is_err());
}

#[test]
fn bad_params_each_named() {
    use std::time::Duration;
    assert_eq!(
        NmfParams::<f64>::new(2).max_iter(0).check().unwrap_err(),
        NmfParamsError::MaxIterZero
    );
    assert!(matches!(
        NmfParams::<f64>::new(2).tol(-1.0).check(),
        Err(NmfParamsError::BadTolerance { name: "tol", .. })
    ));
    assert!(matches!(
        NmfParams::<f64>::new(2).kkt_tol(f64::NAN).check(),
        Err(NmfParamsError::BadTolerance { name: "kkt_tol", .. })
    ));
    assert!(matches!(
        NmfParams::<f64>::new(2).l1_w(-1.0).check(),
        Err(NmfParamsError::BadPenalty { name: "l1_w", .. })
    ));
    assert!(matches!(
        NmfParams::<f64>::new(2).l2_h(f64::INFINITY).check(),
        Err(NmfParamsError::BadPenalty { name: "l2_h", .. })
    ));
    assert!(matches!(
        NmfParams::<f64>::new(2).time_limit(Duration::ZERO).check(),
        Err(NmfParamsError::BadTimeLimit(_))
    ));
    assert!(nmf_core::BetaDivergence::new(f64::NAN).is_err());
}
