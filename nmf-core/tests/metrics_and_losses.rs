//! Metrics against hand-computed values, loss kernels against a naive reference, gradient
//! parts against finite differences, initialisations against their definitions.

use nmf_core::faer::{Mat, Par};
use nmf_core::metrics::{adjusted_rand_index, argmax_labels, kl_divergence, matched_cosine, relative_error};
use nmf_core::{initialize, BetaDivergence, Block, CscMatrix, Data, Init, Loss, LossWorkspace, Mask, NmfFloat};
use proptest::prelude::*;

#[test]
fn ari_matches_hand_computed_values() {
    // Identical partitions up to renaming.
    assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]).unwrap(), 1.0);
    // sklearn.metrics.adjusted_rand_score([0,0,1,1],[0,0,1,2]) = 0.5714285714285715
    let v = adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]).unwrap();
    assert!((v - 4.0 / 7.0).abs() < 1e-12, "{v}");
    // By hand: Σ C(n_ij, 2) = 2, Σ C(a_i, 2) = Σ C(b_j, 2) = 6, expected 6·6/15 = 2.4,
    // max 6, so ARI = (2 − 2.4)/(6 − 2.4) = −1/9.
    let v = adjusted_rand_index(&[0, 0, 0, 1, 1, 1], &[0, 1, 0, 1, 0, 1]).unwrap();
    assert!((v + 1.0 / 9.0).abs() < 1e-12, "{v}");
    assert!(adjusted_rand_index(&[0, 1], &[0]).is_err());
}

#[test]
fn matched_cosine_undoes_permutation_and_scale() {
    let t = Mat::from_fn(6, 3, |i, j| if i / 2 == j { 1.0 + i as f64 } else { 0.0 });
    // Estimate: columns permuted (2, 0, 1) and scaled.
    let e = Mat::from_fn(6, 3, |i, j| 3.0 * t[(i, (j + 2) % 3)]);
    let m = matched_cosine(t.as_ref(), e.as_ref()).unwrap();
    assert!((m.mean - 1.0).abs() < 1e-12 && (m.min - 1.0).abs() < 1e-12);
    for (a, b, _) in &m.pairs {
        assert_eq!((b + 2) % 3, *a);
    }
    let mut half = e.clone();
    half.as_mut().col_mut(0).fill(1.0);
    let m = matched_cosine(t.as_ref(), half.as_ref()).unwrap();
    assert!(m.min < 0.9 && m.mean < 1.0);
    assert_eq!(
        argmax_labels(Mat::from_fn(2, 3, |i, j| if (i + j) % 2 == 0 { 1.0 } else { 0.0 }).as_ref()),
        vec![0, 1, 0]
    );
}

fn naive_value(beta: f64, x: &Mat<f64>, w: &Mat<f64>, h: &Mat<f64>, mask: Option<&Mask>) -> f64 {
    let mut s = 0.0;
    for j in 0..x.ncols() {
        for i in 0..x.nrows() {
            if mask.is_some_and(|m| !m.is_observed(i, j)) {
                continue;
            }
            let y: f64 = (0..w.ncols()).map(|l| w[(i, l)] * h[(l, j)]).sum();
            let xv = x[(i, j)];
            s += if beta == 2.0 {
                0.5 * (xv - y).powi(2)
            } else if beta == 1.0 {
                if xv > 0.0 {
                    xv * (xv / y).ln() - xv + y
                } else {
                    y
                }
            } else if beta == 0.0 {
                xv / y - (xv / y).ln() - 1.0
            } else {
                (xv.powf(beta) + (beta - 1.0) * y.powf(beta) - beta * xv * y.powf(beta - 1.0)) / (beta * (beta - 1.0))
            };
        }
    }
    s
}

fn random_problem(seed: u64, m: usize, n: usize, k: usize, density: f64) -> (Mat<f64>, Mat<f64>, Mat<f64>) {
    // A tiny LCG keeps the test independent of any RNG crate's stream.
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64) / ((1u64 << 53) as f64)
    };
    let x = Mat::from_fn(m, n, |_, _| {
        if next() < density {
            (next() * 10.0).floor() + 1.0
        } else {
            0.0
        }
    });
    let w = Mat::from_fn(m, k, |_, _| 0.1 + next());
    let h = Mat::from_fn(k, n, |_, _| 0.1 + next());
    (x, w, h)
}

#[test]
fn loss_values_match_a_naive_reference_dense_sparse_and_masked() {
    let (x, w, h) = random_problem(3, 37, 29, 4, 0.3);
    let mask = Mask::from_fn(37, 29, |i, j| (i + 2 * j) % 7 != 0);
    let dense = Data::dense(x.clone()).unwrap();
    let sparse = Data::sparse(CscMatrix::from_dense(x.as_ref())).unwrap();
    let masked = Data::dense_masked(x.clone(), mask.clone()).unwrap();
    let mut ws = LossWorkspace::new(Par::Seq);
    for beta in [2.0, 1.0, 1.5, 0.5, 3.0] {
        let loss = BetaDivergence::new(beta).unwrap();
        let r = naive_value(beta, &x, &w, &h, None);
        for (name, d) in [("dense", &dense), ("sparse", &sparse)] {
            let v = loss.value(d, w.as_ref(), h.as_ref(), &mut ws);
            assert!(((v - r) / r).abs() < 1e-11, "beta {beta} {name}: {v} vs {r}");
        }
        let rm = naive_value(beta, &x, &w, &h, Some(&mask));
        let vm = loss.value(&masked, w.as_ref(), h.as_ref(), &mut ws);
        assert!(((vm - rm) / rm).abs() < 1e-11, "beta {beta} masked: {vm} vs {rm}");
    }
    let kl = kl_divergence(&sparse, w.as_ref(), h.as_ref(), Par::Seq);
    assert!((kl - naive_value(1.0, &x, &w, &h, None)).abs() < 1e-9 * kl);
    let re = relative_error(&sparse, w.as_ref(), h.as_ref(), Par::Seq);
    let fro = (2.0 * naive_value(2.0, &x, &w, &h, None)).sqrt() / dense.norm();
    assert!((re - fro).abs() < 1e-12, "{re} vs {fro}");
}

fn grad_fd_check(beta: f64, seed: u64, sparse: bool) {
    let (x, w, h) = random_problem(seed, 9, 7, 3, 0.5);
    let data = if sparse {
        Data::sparse(CscMatrix::from_dense(x.as_ref()))
    } else {
        Data::dense(x.clone())
    };
    let Ok(data) = data else { return };
    let loss = BetaDivergence::new(beta).unwrap();
    let mut ws = LossWorkspace::new(Par::Seq);
    let (mut neg_h, mut pos_h) = (Mat::zeros(3, 7), Mat::zeros(3, 7));
    let (mut neg_w, mut pos_w) = (Mat::zeros(9, 3), Mat::zeros(9, 3));
    loss.grad_parts(
        Block::H,
        &data,
        w.as_ref(),
        h.as_ref(),
        1e-300,
        neg_h.as_mut(),
        pos_h.as_mut(),
        &mut ws,
    );
    loss.grad_parts(
        Block::W,
        &data,
        w.as_ref(),
        h.as_ref(),
        1e-300,
        neg_w.as_mut(),
        pos_w.as_mut(),
        &mut ws,
    );
    let eps = 1e-6;
    let val = |w: &Mat<f64>, h: &Mat<f64>, ws: &mut LossWorkspace<f64>| loss.value(&data, w.as_ref(), h.as_ref(), ws);
    for l in 0..3 {
        for j in 0..7 {
            let (mut hp, mut hm) = (h.clone(), h.clone());
            hp[(l, j)] += eps;
            hm[(l, j)] -= eps;
            let fd = (val(&w, &hp, &mut ws) - val(&w, &hm, &mut ws)) / (2.0 * eps);
            let g = pos_h[(l, j)] - neg_h[(l, j)];
            assert!(
                (fd - g).abs() <= 1e-5 * (1.0 + g.abs()),
                "beta {beta} dH[{l},{j}]: fd {fd} vs {g}"
            );
        }
        for i in 0..9 {
            let (mut wp, mut wm) = (w.clone(), w.clone());
            wp[(i, l)] += eps;
            wm[(i, l)] -= eps;
            let fd = (val(&wp, &h, &mut ws) - val(&wm, &h, &mut ws)) / (2.0 * eps);
            let g = pos_w[(i, l)] - neg_w[(i, l)];
            assert!(
                (fd - g).abs() <= 1e-5 * (1.0 + g.abs()),
                "beta {beta} dW[{i},{l}]: fd {fd} vs {g}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn gradient_parts_match_finite_differences(beta_i in 0usize..5, seed in 0u64..1000, sparse in any::<bool>()) {
        let beta = [2.0, 1.0, 1.5, 0.5, 3.0][beta_i];
        grad_fd_check(beta, seed, sparse);
    }
}

#[test]
fn nndsvd_reconstructs_a_nonnegative_rank_one_matrix_exactly() {
    let x = Mat::from_fn(8, 6, |i, j| (1 + i) as f64 * (2 + j) as f64);
    let d = Data::dense(x.clone()).unwrap();
    let (w, h) = initialize(&d, 1, &Init::<f64>::Nndsvd, 0, Par::Seq).unwrap();
    let re = relative_error(&d, w.as_ref(), h.as_ref(), Par::Seq);
    assert!(re < 1e-12, "{re}");
}

fn init_checks<F: NmfFloat>() {
    let (x, _, _) = random_problem(5, 40, 30, 1, 0.4);
    let d = Data::sparse(CscMatrix::from_dense(x.as_ref()).cast::<F>()).unwrap();
    for init in [Init::Random, Init::Nndsvd, Init::NndsvdA, Init::NndsvdAr] {
        let (w, h) = initialize(&d, 5, &init, 9, Par::Seq).unwrap();
        assert_eq!((w.nrows(), w.ncols(), h.nrows(), h.ncols()), (40, 5, 5, 30));
        let all = w
            .col_iter()
            .chain(h.transpose().col_iter())
            .flat_map(|c| c.iter().copied().collect::<Vec<_>>());
        let vals: Vec<F> = all.collect();
        assert!(vals.iter().all(|v| *v >= F::zero() && v.is_finite()), "{init:?}");
        let zeros = vals.iter().filter(|v| **v == F::zero()).count();
        match init {
            Init::Nndsvd => assert!(zeros > 0, "plain NNDSVD keeps zeros"),
            _ => assert_eq!(zeros, 0, "{init:?} must fill zeros"),
        }
        let (w2, h2) = initialize(&d, 5, &init, 9, Par::Seq).unwrap();
        assert!(w == w2 && h == h2, "{init:?} not deterministic");
        // Plain NNDSVD is a truncated SVD with negative parts dropped: it must fit better
        // than W H = 0 does.
        if matches!(init, Init::Nndsvd) {
            let re = relative_error(&d, w.as_ref(), h.as_ref(), Par::Seq).to_f64_lossy();
            assert!(re < 1.0, "{init:?}: relative error {re}");
        }
    }
}

#[test]
fn initialisations_are_feasible_deterministic_and_fill_zeros_f64() {
    init_checks::<f64>();
}

#[test]
fn initialisations_are_feasible_deterministic_and_fill_zeros_f32() {
    init_checks::<f32>();
}

#[test]
fn randomized_svd_matches_exact_svd_when_the_sketch_spans_the_range() {
    let (x, _, _) = random_problem(8, 12, 9, 1, 0.7);
    let d = Data::dense(x.clone()).unwrap();
    let (_, s_exact, _) = nmf_core::linalg::thin_svd(x.as_ref()).unwrap();
    let mut g = 0.0f64;
    let mut normal = || {
        g += 0.7;
        g.sin()
    };
    let (_, s, _) = nmf_core::init::randomized_svd(&d, 3, &mut normal, Par::Seq).unwrap();
    for l in 0..3 {
        assert!(
            (s[l] - s_exact[l]).abs() < 1e-10 * s_exact[0],
            "{l}: {} vs {}",
            s[l],
            s_exact[l]
        );
    }
}

#[test]
fn block_products_give_the_penalised_frobenius_gradient_and_impute_missing_entries() {
    use nmf_core::{block_products, ElasticNet, GramWorkspace};
    let (x, w, h) = random_problem(21, 13, 11, 3, 0.6);
    let (l1, l2) = (0.3, 0.7);
    let pen = ElasticNet::new(l1, l2).unwrap();
    for data in [
        Data::dense(x.clone()).unwrap(),
        Data::sparse(CscMatrix::from_dense(x.as_ref())).unwrap(),
    ] {
        let mut gws = GramWorkspace::new(Par::Seq);
        let mut lws = LossWorkspace::new(Par::Seq);
        let (mut utm, mut utu) = (Mat::zeros(3, 11), Mat::zeros(3, 3));
        block_products(
            Block::H,
            &data,
            w.as_ref(),
            h.as_ref(),
            (l1, l2),
            utm.as_mut(),
            utu.as_mut(),
            &mut gws,
        );
        let (mut neg, mut pos) = (Mat::zeros(3, 11), Mat::zeros(3, 11));
        nmf_core::Frobenius.grad_parts(
            Block::H,
            &data,
            w.as_ref(),
            h.as_ref(),
            0.0,
            neg.as_mut(),
            pos.as_mut(),
            &mut lws,
        );
        nmf_core::Constraint::add_grad(&pen, h.as_ref(), pos.as_mut());
        let g = &utu * &h - &utm;
        for j in 0..11 {
            for l in 0..3 {
                assert!((g[(l, j)] - (pos[(l, j)] - neg[(l, j)])).abs() < 1e-10);
            }
        }
        let (mut utm_w, mut utu_w) = (Mat::zeros(3, 13), Mat::zeros(3, 3));
        block_products(
            Block::W,
            &data,
            w.as_ref(),
            h.as_ref(),
            (0.0, 0.0),
            utm_w.as_mut(),
            utu_w.as_mut(),
            &mut gws,
        );
        let (mut neg_w, mut pos_w) = (Mat::zeros(13, 3), Mat::zeros(13, 3));
        nmf_core::Frobenius.grad_parts(
            Block::W,
            &data,
            w.as_ref(),
            h.as_ref(),
            0.0,
            neg_w.as_mut(),
            pos_w.as_mut(),
            &mut lws,
        );
        let gw = &utu_w * w.transpose() - &utm_w;
        for i in 0..13 {
            for l in 0..3 {
                assert!((gw[(l, i)] - (pos_w[(i, l)] - neg_w[(i, l)])).abs() < 1e-10);
            }
        }
    }
    // With a mask, missing entries act as if they equalled (W H): the products equal those
    // of X with W H written into its holes.
    let mask = Mask::from_fn(13, 11, |i, j| (i + j) % 4 != 0);
    let mut holes = x.clone();
    holes[(0, 0)] = f64::NAN;
    let masked = Data::dense_masked(holes, mask.clone()).unwrap();
    let wh = &w * &h;
    let filled = Mat::from_fn(
        13,
        11,
        |i, j| if mask.is_observed(i, j) { x[(i, j)] } else { wh[(i, j)] },
    );
    let plain = Data::dense(filled).unwrap();
    let mut gws = GramWorkspace::new(Par::Seq);
    let (mut a, mut b) = (Mat::zeros(3, 11), Mat::zeros(3, 3));
    let (mut c, mut d) = (Mat::zeros(3, 11), Mat::zeros(3, 3));
    block_products(
        Block::H,
        &masked,
        w.as_ref(),
        h.as_ref(),
        (0.0, 0.0),
        a.as_mut(),
        b.as_mut(),
        &mut gws,
    );
    block_products(
        Block::H,
        &plain,
        w.as_ref(),
        h.as_ref(),
        (0.0, 0.0),
        c.as_mut(),
        d.as_mut(),
        &mut gws,
    );
    assert!((&a - &c).norm_max() < 1e-12 && (&b - &d).norm_max() < 1e-12);
}
