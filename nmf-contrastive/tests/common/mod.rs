//! Helpers shared by the integration tests.

use faer::Mat;
use nmf_core::{CscMatrix, Data};

/// The paper's preprocessing for squared-error bcNMF: log1p(1e4 · x / library size), per sample.
pub fn log1p_cpm(x: &CscMatrix<f64>) -> Data<f64> {
    let d = x.to_dense();
    let lib: Vec<f64> = (0..d.ncols())
        .map(|j| (0..d.nrows()).map(|i| d[(i, j)]).sum())
        .collect();
    Data::dense(Mat::from_fn(d.nrows(), d.ncols(), |i, j| {
        if lib[j] > 0.0 {
            (1e4 * d[(i, j)] / lib[j]).ln_1p()
        } else {
            0.0
        }
    }))
    .unwrap()
}
