//! `Data::select_columns`: the chosen samples, in order, with sparsity and mask kept.

use nmf_core::faer::Mat;
use nmf_core::{CscMatrix, Data, Mask, Matrix, NmfError};

fn dense_of(d: &Data<f64>) -> Mat<f64> {
    match d.matrix() {
        Matrix::Dense(x) => x.clone(),
        Matrix::Sparse(s) => s.to_dense(),
    }
}

#[test]
fn select_columns_keeps_values_order_sparsity_and_mask() {
    let x = Mat::from_fn(4, 6, |i, j| if (i + j) % 3 == 0 { 0.0 } else { (i * 6 + j) as f64 });
    let cols = [5, 0, 3, 3];
    let dense = Data::dense(x.clone()).unwrap();
    let sparse = Data::sparse(CscMatrix::from_dense(x.as_ref())).unwrap();
    for d in [&dense, &sparse] {
        let s = d.select_columns(&cols).unwrap();
        assert_eq!(s.is_sparse(), d.is_sparse());
        assert_eq!((s.nrows(), s.ncols()), (4, 4));
        let got = dense_of(&s);
        for (c, &j) in cols.iter().enumerate() {
            for i in 0..4 {
                assert_eq!(got[(i, c)], x[(i, j)]);
            }
        }
    }
    let mask = Mask::from_fn(4, 6, |i, j| (i + 2 * j) % 5 != 0);
    let masked = Data::dense_masked(x.clone(), mask.clone()).unwrap();
    let s = masked.select_columns(&cols).unwrap();
    let sm = s.mask().unwrap();
    for (c, &j) in cols.iter().enumerate() {
        for i in 0..4 {
            assert_eq!(sm.is_observed(i, c), mask.is_observed(i, j));
        }
    }
}

#[test]
fn select_columns_errors_are_typed() {
    let x = Mat::from_fn(3, 4, |i, j| if j == 2 { 0.0 } else { (i + j + 1) as f64 });
    let d = Data::dense(x).unwrap();
    assert!(matches!(
        d.select_columns(&[0, 4]),
        Err(NmfError::IndexOutOfRange { index: 4, len: 4, .. })
    ));
    assert!(matches!(d.select_columns(&[]), Err(NmfError::EmptyInput { .. })));
    assert_eq!(d.select_columns(&[2, 2]).unwrap_err(), NmfError::AllZero);
}
