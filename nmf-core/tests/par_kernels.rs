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
        // 15 %: enough nonzeros per row (≥ 64) that the scatter kernels split into all their leaves.
        if u < 0.15 {
            1.0 + (7.0 * u).floor()
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
    b_times_xt(&x, h.as_ref(), out.as_mut(), par, &mut Vec::new());
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
    h_times_ratio_t(
        s.as_ref(),
        wt.as_ref(),
        h.as_ref(),
        1e-300,
        out.as_mut(),
        par,
        &mut Vec::new(),
    );
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
        h_times_ratio_t(
            s.as_ref(),
            wt.as_ref(),
            h.as_ref(),
            1e-300,
            b.as_mut(),
            par,
            &mut Vec::new(),
        );
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

/// The plain column-by-column coordinate sweep the panel must reproduce bit for bit.
fn reference_sweep(v: &mut Mat<f64>, utm: &Mat<f64>, utu: &Mat<f64>, order: &[usize]) -> (f64, f64) {
    let (k, c) = (v.nrows(), v.ncols());
    let (mut change, mut violation) = (0.0, 0.0);
    for j in 0..c {
        for &t in order {
            let mut g = -utm[(t, j)];
            for r in 0..k {
                g += utu[(r, t)] * v[(r, j)];
            }
            let old = v[(t, j)];
            violation += if old == 0.0 { g.min(0.0) } else { g }.abs();
            if utu[(t, t)] > 0.0 {
                let new = (old - g / utu[(t, t)]).max(0.0);
                v[(t, j)] = new;
                change += (new - old) * (new - old);
            }
        }
    }
    (change, violation)
}

/// Sweeps of a block whose width is not a multiple of the group width (padding lanes), with a
/// shuffled order and a dead component (zero diagonal): equal to the plain loop, the same bits
/// for every thread count, and loaded through a transposed view (the W block).
#[test]
fn coordinate_sweeps_match_the_plain_loop_for_every_thread_count() {
    let (k, c) = (7, 1037);
    let a = Mat::from_fn(40, k, |i, l| {
        if l == 3 {
            0.0
        } else {
            unit(3_000_000 + (i * k + l) as u64)
        }
    });
    let utu = a.transpose() * &a;
    let utm = Mat::from_fn(k, c, |l, j| 4.0 * unit(4_000_000 + (j * k + l) as u64) - 1.0);
    let v0 = Mat::from_fn(k, c, |l, j| unit(5_000_000 + (j * k + l) as u64).max(0.3) - 0.3);
    let order = [4, 0, 6, 2, 3, 1, 5];

    let mut reference = v0.clone();
    let mut ref_stats = Vec::new();
    for _ in 0..3 {
        ref_stats.push(reference_sweep(&mut reference, &utm, &utu, &order));
    }
    let mut results = Vec::new();
    for par in [Par::Seq, Par::rayon(1), Par::rayon(2), Par::rayon(3)] {
        // V stored as the transpose of a c×k matrix, as W is.
        let mut w = v0.transpose().to_owned();
        let mut panel = nmf_core::linalg::SweepPanel::new(k, c);
        panel.load(w.transpose(), utm.as_ref());
        let stats: Vec<_> = (0..3).map(|_| panel.sweep(utu.as_ref(), &order, par)).collect();
        panel.store(w.as_mut().transpose_mut());
        assert_eq!(max_abs_diff(&w.transpose().to_owned(), &reference), 0.0, "{par:?}");
        for (s, (change, violation)) in stats.iter().zip(&ref_stats) {
            assert!((s.change - change).abs() <= 1e-12 * change.abs().max(1e-300), "{par:?}");
            assert!((s.violation - violation).abs() <= 1e-12 * violation.abs(), "{par:?}");
        }
        results.push(stats);
    }
    assert!(
        ref_stats[0].0 > 0.0 && ref_stats[2].0 < ref_stats[0].0,
        "the sweeps move and settle"
    );
    assert!(
        results.windows(2).all(|p| p[0] == p[1]),
        "statistics: the same bits for every thread count"
    );
}

/// NNDSVDa of sparse X (range finder through the transposed sparse kernels) equals NNDSVDa of
/// the same X stored dense (GEMM), to round-off, and does not depend on the thread count.
#[test]
fn nndsvd_of_sparse_and_dense_x_agree() {
    let (s, _, _) = setup();
    let dense = nmf_core::Data::dense(s.to_dense()).unwrap();
    let sparse = nmf_core::Data::sparse(s).unwrap();
    let init = nmf_core::Init::NndsvdA;
    let (wd, hd) = nmf_core::initialize(&dense, 5, &init, 3, Par::Seq).unwrap();
    let (ws, hs) = nmf_core::initialize(&sparse, 5, &init, 3, Par::Seq).unwrap();
    let rel = |a: &Mat<f64>, b: &Mat<f64>| max_abs_diff(a, b) / b.norm_max();
    assert!(
        rel(&ws, &wd) < 1e-8 && rel(&hs, &hd) < 1e-8,
        "{} {}",
        rel(&ws, &wd),
        rel(&hs, &hd)
    );
    for par in [Par::rayon(1), Par::rayon(2), Par::rayon(3)] {
        let (w, h) = nmf_core::initialize(&sparse, 5, &init, 3, par).unwrap();
        assert!(w == ws && h == hs, "{par:?}");
    }
}

/// The dense products the block solvers make (faer's GEMM): X·Hᵀ (m×k), Wᵀ·X (k×n) and the
/// Gram matrices WᵀW, HHᵀ (k×k, a long inner dimension) give the same bits for 1, 2 and 3
/// threads as sequentially. Every product here is above faer 0.24's threading threshold
/// (m·n·k ≥ 4096·8), so the threads really split the work.
#[test]
fn dense_products_give_the_same_bits_for_every_thread_count() {
    use nmf_core::linalg::gemm;
    let (m, n, k) = (1500, 700, 10);
    let x = Mat::from_fn(m, n, |i, j| unit(6_000_000 + (j * m + i) as u64));
    let w = Mat::from_fn(m, k, |i, l| unit(7_000_000 + (i * k + l) as u64));
    let h = Mat::from_fn(k, n, |l, j| unit(8_000_000 + (j * k + l) as u64));
    let products = |par: Par| {
        let mut xht = Mat::<f64>::zeros(m, k);
        let mut wtx = Mat::<f64>::zeros(k, n);
        let mut wtw = Mat::<f64>::zeros(k, k);
        let mut hht = Mat::<f64>::zeros(k, k);
        gemm(xht.as_mut(), faer::Accum::Replace, x.as_ref(), h.transpose(), 1.0, par);
        gemm(wtx.as_mut(), faer::Accum::Replace, w.transpose(), x.as_ref(), 1.0, par);
        gemm(wtw.as_mut(), faer::Accum::Replace, w.transpose(), w.as_ref(), 1.0, par);
        gemm(hht.as_mut(), faer::Accum::Replace, h.as_ref(), h.transpose(), 1.0, par);
        [xht, wtx, wtw, hht]
    };
    let reference = products(Par::Seq);
    for par in [Par::rayon(1), Par::rayon(2), Par::rayon(3)] {
        let got = products(par);
        for (name, (a, b)) in ["XHᵀ", "WᵀX", "WᵀW", "HHᵀ"].iter().zip(got.iter().zip(&reference)) {
            assert!(a == b, "{name} with {par:?}: max difference {:e}", max_abs_diff(a, b));
        }
    }
}
