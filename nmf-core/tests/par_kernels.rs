//! The parallel sparse kernels of `linalg`: equal to a dense reference, and the same bits for
//! every thread count (fixed chunking), on a matrix large enough to be split into many tasks.

use faer::{Mat, Par};
use nmf_core::linalg::{at_times_x, b_times_xt, h_times_ratio_t, pattern_sums, wt_times_ratio, x_times, xt_times};
use nmf_core::{CscMatrix, Matrix};

fn unit(key: u64) -> f64 {
    let mut z = key.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

fn setup() -> (CscMatrix<f64>, Mat<f64>, Mat<f64>) {
    let (m, n, k) = (700, 530, 7);
    let dense = Mat::from_fn(m, n, |i, j| {
        let u = unit((j * m + i) as u64);
        if u < 0.05 {
            1.0 + (20.0 * u).floor()
        } else {
            0.0
        }
    });
    let w = Mat::from_fn(m, k, |i, l| 0.1 + unit(1_000_000 + (i * k + l) as u64));
    let h = Mat::from_fn(k, n, |l, j| 0.1 + unit(2_000_000 + (j * k + l) as u64));
    (CscMatrix::from_dense(dense.as_ref()), w, h)
}

fn max_abs_diff(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    let mut d = 0.0f64;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            d = d.max((a[(i, j)] - b[(i, j)]).abs());
        }
    }
    d
}

#[test]
fn sparse_kernels_match_dense_products() {
    let (s, w, h) = setup();
    let xd = s.to_dense();
    let x = Matrix::Sparse(s.clone());
    let wt = w.transpose().to_owned();
    let par = Par::rayon(3);
    let mut out = Mat::zeros(7, 530);
    at_times_x(&x, wt.as_ref(), out.as_mut(), par);
    assert!(max_abs_diff(&out, &(w.transpose() * &xd)) < 1e-10);
    let mut out = Mat::zeros(7, 700);
    b_times_xt(&x, h.as_ref(), out.as_mut(), par);
    assert!(max_abs_diff(&out, &(&h * xd.transpose())) < 1e-10);
    let mut out = Mat::zeros(700, 7);
    x_times(&x, h.transpose(), out.as_mut(), par);
    assert!(max_abs_diff(&out, &(&xd * h.transpose())) < 1e-10);
    let mut out = Mat::zeros(530, 7);
    xt_times(&x, w.as_ref(), out.as_mut(), par);
    assert!(max_abs_diff(&out, &(xd.transpose() * &w)) < 1e-10);
    // KL ratios: X ⊘ WH at the nonzeros (zero elsewhere), then the two products.
    let wh = &w * &h;
    let ratio = Mat::from_fn(
        700,
        530,
        |i, j| if xd[(i, j)] > 0.0 { xd[(i, j)] / wh[(i, j)] } else { 0.0 },
    );
    let mut out = Mat::zeros(7, 530);
    wt_times_ratio(s.as_ref(), wt.as_ref(), h.as_ref(), 1e-300, out.as_mut(), par);
    assert!(max_abs_diff(&out, &(w.transpose() * &ratio)) < 1e-9);
    let mut out = Mat::zeros(7, 700);
    h_times_ratio_t(s.as_ref(), wt.as_ref(), h.as_ref(), 1e-300, out.as_mut(), par);
    assert!(max_abs_diff(&out, &(&h * ratio.transpose())) < 1e-9);
    let (cross, count) = pattern_sums(s.as_ref(), wt.as_ref(), h.as_ref(), par, |x, y| x * y, |_, _| 1.0);
    let mut reference = 0.0;
    for j in 0..530 {
        for i in 0..700 {
            reference += xd[(i, j)] * wh[(i, j)];
        }
    }
    assert!((cross - reference).abs() < 1e-9 * reference);
    assert_eq!(count as usize, s.nnz());
}

#[test]
fn sparse_kernels_give_the_same_bits_for_every_thread_count() {
    let (s, w, h) = setup();
    let x = Matrix::Sparse(s.clone());
    let wt = w.transpose().to_owned();
    let run = |par: Par| {
        let mut a = Mat::zeros(7, 530);
        at_times_x(&x, wt.as_ref(), a.as_mut(), par);
        let mut b = Mat::zeros(7, 700);
        h_times_ratio_t(s.as_ref(), wt.as_ref(), h.as_ref(), 1e-300, b.as_mut(), par);
        let mut c = Mat::zeros(7, 530);
        wt_times_ratio(s.as_ref(), wt.as_ref(), h.as_ref(), 1e-300, c.as_mut(), par);
        let sums = pattern_sums(
            s.as_ref(),
            wt.as_ref(),
            h.as_ref(),
            par,
            |x, y| x * (x / y).ln() - x,
            |x, y| x * y,
        );
        (a, b, c, sums.0.to_bits(), sums.1.to_bits())
    };
    let seq = run(Par::Seq);
    for threads in [2, 3, 4] {
        assert_eq!(run(Par::rayon(threads)), seq, "{threads} threads");
    }
}
