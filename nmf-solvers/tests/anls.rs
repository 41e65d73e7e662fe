//! ANLS with block principal pivoting: the NNLS kernel against brute force and the KKT
//! conditions (degenerate Gram matrices included), planted recovery, monotone objective, masks,
//! L1 sparsity, a proptest over small inputs, errors, and the scikit-learn `cd` bar on
//! pbmc_small.

mod common;

use common::{pbmc_small, read_tsv, rel_diff};
use nmf_core::faer::{Mat, MatMut, MatRef, Par};
use nmf_core::metrics::{adjusted_rand_index, argmax_labels, matched_cosine};
use nmf_core::{
    Constraint, Data, ElasticNet, Executor, Frobenius, Init, KullbackLeibler, Loss, Mask, NmfError, NmfFit, NmfFloat,
    NmfParams, NmfProblem, NmfState, StoppingRule,
};
use nmf_solvers::{Anls, Bpp, BppInfo};
use nmf_synth::{simulate, Planted, PlantedSpec};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// Small helpers

/// splitmix64: a tiny deterministic generator for test problems.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [-1, 1).
    fn signed(&mut self) -> f64 {
        2.0 * self.uniform() - 1.0
    }
}

/// Q = UᵀU (k×k) and B = UᵀX (k×c) for a random U (m×k) and X with entries of both signs.
fn random_nnls(rng: &mut Rng, m: usize, k: usize, c: usize) -> (Mat<f64>, Mat<f64>, Mat<f64>) {
    let u = Mat::from_fn(m, k, |_, _| rng.signed());
    let x = Mat::from_fn(m, c, |_, _| rng.signed());
    let q = u.transpose() * &u;
    let b = u.transpose() * &x;
    (u, q, b)
}

/// ½ vᵀQv − vᵀb.
fn objective(q: MatRef<'_, f64>, b: MatRef<'_, f64>, v: &[f64]) -> f64 {
    let k = v.len();
    let mut f = 0.0;
    for i in 0..k {
        let qv: f64 = (0..k).map(|l| q[(i, l)] * v[l]).sum();
        f += v[i] * (0.5 * qv - b[(i, 0)]);
    }
    f
}

/// Solves the SPD system Q_FF x = b_F by Gaussian elimination (no pivoting needed for SPD).
fn solve_face(q: MatRef<'_, f64>, b: MatRef<'_, f64>, face: &[usize]) -> Vec<f64> {
    let n = face.len();
    let mut a: Vec<Vec<f64>> = face
        .iter()
        .map(|&i| {
            let mut row: Vec<f64> = face.iter().map(|&l| q[(i, l)]).collect();
            row.push(b[(i, 0)]);
            row
        })
        .collect();
    for p in 0..n {
        let pivot = a[p].clone();
        for row in a.iter_mut().skip(p + 1) {
            let f = row[p] / pivot[p];
            for (x, y) in row.iter_mut().zip(&pivot).skip(p) {
                *x -= f * y;
            }
        }
    }
    let mut x = vec![0.0; n];
    for p in (0..n).rev() {
        let s: f64 = (p + 1..n).map(|c| a[p][c] * x[c]).sum();
        x[p] = (a[p][n] - s) / a[p][p];
    }
    x
}

/// The NNLS minimiser of one column by enumerating every face (k ≤ 4): among the faces whose
/// unconstrained minimiser is non-negative, the one with the smallest objective.
fn brute_force(q: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Vec<f64> {
    let k = q.nrows();
    let mut best = (0.0, vec![0.0; k]);
    for mask in 1u32..(1 << k) {
        let face: Vec<usize> = (0..k).filter(|l| mask & (1 << l) != 0).collect();
        let xf = solve_face(q, b, &face);
        if xf.iter().any(|x| *x < 0.0) {
            continue;
        }
        let mut v = vec![0.0; k];
        for (a, &l) in face.iter().enumerate() {
            v[l] = xf[a];
        }
        let f = objective(q, b, &v);
        if f < best.0 {
            best = (f, v);
        }
    }
    best.1
}

/// KKT of every column: v ≥ 0, y = Qv − b ≥ −tol, |v⊙y| ≤ tol, and `dual` is y (exact on the
/// passive set). `tol` is relative to the column's scale.
fn assert_kkt(q: MatRef<'_, f64>, b: MatRef<'_, f64>, v: MatRef<'_, f64>, dual: MatRef<'_, f64>, tol: f64, what: &str) {
    let k = q.nrows();
    let qn = (0..k).map(|l| q[(l, l)]).fold(0.0, f64::max).max(1e-300);
    for j in 0..b.ncols() {
        let bn = (0..k).map(|l| b[(l, j)].abs()).fold(0.0, f64::max);
        let vn = (0..k).map(|l| v[(l, j)].abs()).fold(0.0, f64::max);
        let scale = (bn + qn * vn).max(1e-300);
        for i in 0..k {
            let y: f64 = (0..k).map(|l| q[(i, l)] * v[(l, j)]).sum::<f64>() - b[(i, j)];
            let vi = v[(i, j)];
            assert!(vi >= 0.0 && vi.is_finite(), "{what}: v[{i},{j}] = {vi}");
            assert!(y >= -tol * scale, "{what}: y[{i},{j}] = {y} (scale {scale})");
            assert!(
                (vi * y).abs() <= tol * scale * (vn + 1e-300),
                "{what}: v*y at [{i},{j}] = {}",
                vi * y
            );
            assert!(
                (dual[(i, j)] - y).abs() <= tol * scale,
                "{what}: dual[{i},{j}] = {} vs y = {y}",
                dual[(i, j)]
            );
            assert!(dual[(i, j)] >= 0.0, "{what}: negative dual {}", dual[(i, j)]);
            assert!(vi == 0.0 || dual[(i, j)] == 0.0, "{what}: complementarity not exact");
        }
    }
}

fn solve(bpp: &mut Bpp<f64>, q: &Mat<f64>, b: &Mat<f64>, v: &mut Mat<f64>) -> BppInfo {
    bpp.solve(q.as_ref(), b.as_ref(), v.as_mut()).unwrap()
}

// ---------------------------------------------------------------------------------------
// The NNLS kernel

#[test]
fn bpp_matches_brute_force_on_small_problems() {
    let mut rng = Rng(1);
    let mut bpp = Bpp::new(4, 8);
    let (mut pivots, mut cols) = (0, 0);
    for trial in 0..300 {
        let k = 1 + trial % 4;
        let c = 1 + trial % 7;
        let (_, q, b) = random_nnls(&mut rng, 6, k, c);
        for warm in [false, true] {
            let mut v = Mat::from_fn(k, c, |_, _| {
                if warm && rng.uniform() < 0.6 {
                    rng.uniform()
                } else {
                    0.0
                }
            });
            let info = solve(&mut bpp, &q, &b, &mut v);
            assert_eq!(info.not_converged, 0, "trial {trial}");
            pivots += info.iterations;
            cols += 1;
            for j in 0..c {
                let reference = brute_force(q.as_ref(), b.as_ref().subcols(j, 1));
                let scale = 1.0 + reference.iter().fold(0.0f64, |m, x| m.max(x.abs()));
                for l in 0..k {
                    assert!(
                        (v[(l, j)] - reference[l]).abs() <= 1e-10 * scale,
                        "trial {trial} warm {warm} column {j}: {:?} vs brute force {reference:?}",
                        v.col(j)
                    );
                }
            }
            assert_kkt(
                q.as_ref(),
                b.as_ref(),
                v.as_ref(),
                bpp.dual(),
                1e-10,
                &format!("trial {trial}"),
            );
        }
    }
    println!(
        "brute-force comparisons: 600 solves, mean pivoting iterations {:.2}",
        pivots as f64 / cols as f64
    );
}

#[test]
fn bpp_satisfies_kkt_on_larger_problems_and_warm_start_from_the_solution_is_free() {
    let mut rng = Rng(7);
    for (m, k, c) in [(40, 12, 60), (100, 30, 200), (15, 15, 40)] {
        let (_, q, b) = random_nnls(&mut rng, m, k, c);
        let mut bpp = Bpp::new(k, c);
        let mut v = Mat::zeros(k, c);
        let info = solve(&mut bpp, &q, &b, &mut v);
        println!("k = {k}, {c} columns, cold: {info:?}");
        assert_eq!(info.not_converged, 0);
        assert_kkt(
            q.as_ref(),
            b.as_ref(),
            v.as_ref(),
            bpp.dual(),
            1e-10,
            &format!("k = {k}"),
        );
        // Re-solving from the solution: the passive sets are already optimal.
        let mut v2 = v.clone();
        let info2 = solve(&mut bpp, &q, &b, &mut v2);
        assert_eq!(info2.iterations, 0, "k = {k}: {info2:?}");
        assert!(rel_diff(&v2, &v) < 1e-12);
    }
}

#[test]
fn bpp_shares_one_factorisation_per_passive_set() {
    let mut rng = Rng(3);
    let (_, q, b1) = random_nnls(&mut rng, 20, 6, 1);
    // 500 copies of one column: one passive set per iteration.
    let b = Mat::from_fn(6, 500, |i, _| b1[(i, 0)]);
    let mut bpp = Bpp::new(6, 500);
    let mut v = Mat::zeros(6, 500);
    let info = solve(&mut bpp, &q, &b, &mut v);
    // The cold start has an empty passive set (no factorisation), then one per iteration.
    assert!(info.factorizations <= info.iterations, "{info:?}");
    // A warm start where every column is positive: a single factorisation.
    let (_, q, b) = random_nnls(&mut rng, 20, 5, 300);
    let mut bpp = Bpp::new(5, 300);
    let mut v = Mat::from_fn(5, 300, |_, _| 1.0);
    let info = solve(&mut bpp, &q, &b, &mut v);
    let distinct: std::collections::BTreeSet<Vec<bool>> = (0..300)
        .map(|j| (0..5).map(|l| bpp.is_passive(l, j)).collect())
        .collect();
    println!("300 columns, {} distinct final passive sets: {info:?}", distinct.len());
    assert!(info.factorizations < 300, "{info:?}");
}

#[test]
fn bpp_is_finite_and_optimal_with_degenerate_gram_matrices() {
    let mut rng = Rng(11);
    for case in ["zero column", "repeated column", "both", "all zero"] {
        let (m, k, c) = (12, 4, 30);
        let mut u = Mat::from_fn(m, k, |_, _| rng.uniform());
        match case {
            "zero column" => u.as_mut().col_mut(1).fill(0.0),
            "repeated column" => {
                let c0 = u.col(0).to_owned();
                u.as_mut().col_mut(2).copy_from(&c0);
            }
            "both" => {
                u.as_mut().col_mut(3).fill(0.0);
                let c0 = u.col(0).to_owned();
                u.as_mut().col_mut(1).copy_from(&c0);
            }
            _ => u.fill(0.0),
        }
        // X ≥ 0 as in NMF: B = UᵀX lies in the range of Q.
        let x = Mat::from_fn(m, c, |_, _| rng.uniform() * 3.0);
        let q = u.transpose() * &u;
        let b = u.transpose() * &x;
        for warm in [false, true] {
            let mut bpp = Bpp::new(k, c);
            let mut v = Mat::from_fn(k, c, |_, _| if warm { 1.0 + rng.uniform() } else { 0.0 });
            let info = solve(&mut bpp, &q, &b, &mut v);
            println!("{case}, warm {warm}: {info:?}");
            assert!(v.col_iter().all(|col| col.iter().all(|x| x.is_finite() && *x >= 0.0)));
            if warm && case != "all zero" {
                assert!(info.ridged > 0, "{case}: the singular passive block must need a ridge");
            }
            assert_kkt(q.as_ref(), b.as_ref(), v.as_ref(), bpp.dual(), 1e-8, case);
            // The minimiser may not be unique, the minimum is: compare with brute force.
            for j in 0..c {
                let col: Vec<f64> = v.col(j).iter().copied().collect();
                let bj = b.as_ref().subcols(j, 1);
                let f = objective(q.as_ref(), bj, &col);
                let f_ref = brute_force_psd(q.as_ref(), bj);
                assert!(
                    f <= f_ref + 1e-9 * (1.0 + f_ref.abs()),
                    "{case} column {j}: {f} vs {f_ref}"
                );
            }
        }
    }
    // Zero Gram with a negative right-hand side (an L1 penalty on a dead component): v = 0.
    let q = Mat::<f64>::zeros(3, 3);
    let b = Mat::from_fn(3, 4, |_, _| -0.5);
    let mut v = Mat::from_fn(3, 4, |_, _| 1.0);
    let mut bpp = Bpp::new(3, 4);
    solve(&mut bpp, &q, &b, &mut v);
    assert!(v.col_iter().all(|c| c.iter().all(|x| *x == 0.0)));
    // Non-finite input: an error, never NaN in the output.
    let mut q = Mat::<f64>::identity(3, 3);
    q[(1, 1)] = f64::NAN;
    let b = Mat::from_fn(3, 2, |_, _| 1.0);
    let mut v = Mat::from_fn(3, 2, |_, _| 1.0);
    let err = Bpp::new(3, 2).solve(q.as_ref(), b.as_ref(), v.as_mut()).unwrap_err();
    assert!(matches!(err, NmfError::Linalg(_)), "{err}");
}

/// The minimum value for a PSD Q by brute force over faces whose block is well conditioned
/// (a face with a singular block has the same minimum as one of its sub-faces, for b in the
/// range of Q).
fn brute_force_psd(q: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
    let k = q.nrows();
    let mut best = 0.0;
    for mask in 1u32..(1 << k) {
        let face: Vec<usize> = (0..k).filter(|l| mask & (1 << l) != 0).collect();
        let sub = Mat::from_fn(face.len(), face.len(), |a, c| q[(face[a], face[c])]);
        let svd = sub.as_ref().singular_values().unwrap();
        if svd.iter().copied().fold(f64::INFINITY, f64::min) <= 1e-10 * (1.0 + svd[0]) {
            continue;
        }
        let xf = solve_face(q, b, &face);
        if xf.iter().any(|x| *x < 0.0) {
            continue;
        }
        let mut v = vec![0.0; k];
        for (a, &l) in face.iter().enumerate() {
            v[l] = xf[a];
        }
        best = f64::min(best, objective(q, b, &v));
    }
    best
}

#[test]
fn bpp_columns_cut_off_by_max_iter_never_get_worse_than_the_warm_start() {
    assert!(matches!(
        Bpp::<f64>::new(3, 3).with_max_iter(0),
        Err(NmfError::Params(nmf_core::NmfParamsError::SolverParam {
            name: "max_iter",
            ..
        }))
    ));
    let mut rng = Rng(21);
    let (k, c) = (10, 200);
    let (_, q, b) = random_nnls(&mut rng, 30, k, c);
    let v0 = Mat::from_fn(k, c, |_, _| if rng.uniform() < 0.5 { rng.uniform() } else { 0.0 });
    let mut bpp = Bpp::new(k, c).with_max_iter(1).unwrap();
    let mut v = v0.clone();
    let info = solve(&mut bpp, &q, &b, &mut v);
    println!("max_iter 1: {info:?}");
    assert!(info.not_converged > 0 && info.iterations == 1, "{info:?}");
    let mut exact = Mat::zeros(k, c);
    solve(&mut Bpp::new(k, c), &q, &b, &mut exact);
    let col = |m: &Mat<f64>, j: usize| m.col(j).iter().copied().collect::<Vec<f64>>();
    let mut improved = 0;
    for j in 0..c {
        let bj = b.as_ref().subcols(j, 1);
        let (f, f0, fx) = (
            objective(q.as_ref(), bj, &col(&v, j)),
            objective(q.as_ref(), bj, &col(&v0, j)),
            objective(q.as_ref(), bj, &col(&exact, j)),
        );
        assert!(v.col(j).iter().all(|x| *x >= 0.0 && x.is_finite()));
        assert!(f <= f0 + 1e-12 * f0.abs(), "column {j}: {f} above the warm start {f0}");
        assert!(
            f >= fx - 1e-9 * (1.0 + fx.abs()),
            "column {j}: {f} below the optimum {fx}"
        );
        improved += usize::from(f < f0);
        // The dual is Qv − b wherever the column stopped.
        for i in 0..k {
            let y: f64 = (0..k).map(|l| q[(i, l)] * v[(l, j)]).sum::<f64>() - b[(i, j)];
            assert!((bpp.dual()[(i, j)] - y).abs() < 1e-9 * (1.0 + y.abs()));
        }
    }
    assert!(improved > c / 2, "only {improved} columns improved");
}

#[test]
fn bpp_f32_satisfies_kkt_to_single_precision() {
    let mut rng = Rng(5);
    let (_, q, b) = random_nnls(&mut rng, 30, 8, 50);
    let q32 = Mat::from_fn(8, 8, |i, j| q[(i, j)] as f32);
    let b32 = Mat::from_fn(8, 50, |i, j| b[(i, j)] as f32);
    let mut v = Mat::<f32>::zeros(8, 50);
    let mut bpp = Bpp::<f32>::new(8, 50);
    let info = bpp.solve(q32.as_ref(), b32.as_ref(), v.as_mut()).unwrap();
    println!("f32: {info:?}");
    let mut v64 = Mat::<f64>::zeros(8, 50);
    let mut bpp64 = Bpp::new(8, 50);
    solve(&mut bpp64, &q, &b, &mut v64);
    let v32 = Mat::from_fn(8, 50, |i, j| v[(i, j)] as f64);
    let d = rel_diff(&v32, &v64);
    assert!(d < 1e-4, "f32 vs f64 solution: {d}");
    assert!(v.col_iter().all(|c| c.iter().all(|x| *x >= 0.0)));
}

// ---------------------------------------------------------------------------------------
// ANLS

fn fit<F: NmfFloat>(data: &Data<F>, k: usize, iters: usize, seed: u64, init: Init<F>) -> NmfFit<F> {
    NmfParams::new(k)
        .init(init)
        .seed(seed)
        .max_iter(iters)
        .tol(F::zero())
        .threads(1)
        .check()
        .unwrap()
        .fit(data, Frobenius, Anls::new())
        .unwrap()
}

fn assert_monotone<F: NmfFloat>(fit: &NmfFit<F>, slack: f64, what: &str) {
    let obj: Vec<f64> = fit.history.objectives().iter().map(|v| v.to_f64_lossy()).collect();
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

fn planted_small<F: NmfFloat>() -> Data<F> {
    simulate::<F>(&PlantedSpec::new(150, 80, 4).depth(300.0), 11)
        .unwrap()
        .data_sparse()
        .unwrap()
}

fn best_of_3<F: NmfFloat>(data: &Data<F>, k: usize) -> NmfFit<F> {
    (0..3)
        .map(|seed| {
            let init = if seed == 0 { Init::NndsvdA } else { Init::Random };
            NmfParams::new(k)
                .init(init)
                .seed(seed)
                .max_iter(300)
                .tol(F::lit(1e-6))
                .check()
                .unwrap()
                .fit(data, Frobenius, Anls::new())
                .unwrap()
        })
        .min_by(|a, b| a.evaluation.objective.partial_cmp(&b.evaluation.objective).unwrap())
        .unwrap()
}

fn score<F: NmfFloat>(truth: &Planted<F>, w: MatRef<'_, F>, h: MatRef<'_, F>, what: &str, min_cos: f64) -> f64 {
    let cos = matched_cosine(truth.w_true.as_ref(), w).unwrap();
    let ari = adjusted_rand_index(&truth.labels, &argmax_labels(h)).unwrap();
    println!(
        "{what}: mean cosine {:.4}, min cosine {:.4}, ARI {:.4}",
        cos.mean, cos.min, ari
    );
    assert!(
        cos.mean >= 0.95_f64.min(min_cos + 0.05),
        "{what}: mean cosine {}",
        cos.mean
    );
    assert!(cos.min >= min_cos, "{what}: min cosine {}", cos.min);
    ari
}

fn recovery<F: NmfFloat>(tag: &str) {
    for seed in [1, 2] {
        let truth = simulate::<F>(&PlantedSpec::new(500, 300, 5).depth(1000.0), seed).unwrap();
        let data = truth.data_sparse().unwrap();
        let t = std::time::Instant::now();
        let f = best_of_3(&data, 5);
        let what = format!("seed {seed} ANLS {tag}");
        println!(
            "{what}: {} iterations ({}), {:.3} s for 3 restarts",
            f.iterations,
            f.stop_reason,
            t.elapsed().as_secs_f64()
        );
        let ari = score(&truth, f.state.w.as_ref(), f.state.h.as_ref(), &what, 0.9);
        assert!(ari >= 0.9, "{what}: ARI {ari}");
    }
}

#[test]
fn anls_recovers_planted_modules_in_the_easy_regime_f64() {
    recovery::<f64>("f64");
}

#[test]
fn anls_recovers_planted_modules_in_the_easy_regime_f32() {
    recovery::<f32>("f32");
}

#[test]
fn anls_objective_never_rises_f64() {
    for (name, data) in [
        ("pbmc_small", Data::sparse(pbmc_small::<f64>()).unwrap()),
        ("planted", planted_small::<f64>()),
    ] {
        for init in [Init::NndsvdA, Init::Random, Init::Nndsvd] {
            let f = fit(&data, 3, 60, 4, init.clone());
            assert_monotone(&f, 1e-12, &format!("{name} {init:?}"));
        }
        let pen = NmfParams::new(3)
            .seed(4)
            .max_iter(60)
            .tol(0.0)
            .l1_h(5.0)
            .l2_w(2.0)
            .l1_w(0.5)
            .l2_h(1.0)
            .check()
            .unwrap()
            .fit(&data, Frobenius, Anls::new())
            .unwrap();
        assert_monotone(&pen, 1e-12, &format!("{name} penalised"));
    }
}

#[test]
fn anls_objective_never_rises_f32() {
    for (name, data) in [
        ("pbmc_small", Data::sparse(pbmc_small::<f32>()).unwrap()),
        ("planted", planted_small::<f32>()),
    ] {
        // Sparse Frobenius in f32 is evaluated with round-off about 1e-5 of the value.
        let f = fit(&data, 3, 60, 4, Init::NndsvdA);
        assert_monotone(&f, 1e-4, &format!("{name} f32"));
    }
}

#[test]
fn anls_dense_and_sparse_inputs_give_the_same_fit() {
    let sparse = planted_small::<f64>();
    let dense = match sparse.matrix() {
        nmf_core::Matrix::Sparse(s) => Data::dense(s.to_dense()).unwrap(),
        _ => unreachable!(),
    };
    let (a, b) = (
        fit(&sparse, 4, 30, 1, Init::NndsvdA),
        fit(&dense, 4, 30, 1, Init::NndsvdA),
    );
    let d = rel_diff(&a.state.w, &b.state.w).max(rel_diff(&a.state.h, &b.state.h));
    assert!(d < 1e-9, "dense and sparse differ by {d}");
}

#[test]
fn anls_masked_fit_recovers_modules_and_never_reads_missing_entries() {
    let truth = simulate::<f64>(&PlantedSpec::new(500, 300, 5).depth(1000.0), 1).unwrap();
    let x = truth.x.to_dense();
    let (m, n) = (x.nrows(), x.ncols());
    // 2% missing, in a scattered deterministic pattern.
    let mut rng = Rng(99);
    let observed: Vec<bool> = (0..m * n).map(|_| rng.uniform() >= 0.02).collect();
    let mask = Mask::from_col_major(m, n, observed).unwrap();
    let garbage = |fill: f64| {
        let mut y = x.clone();
        for j in 0..n {
            for i in 0..m {
                if !mask.is_observed(i, j) {
                    y[(i, j)] = if fill.is_nan() || (i + j) % 2 == 0 { fill } else { 1e6 };
                }
            }
        }
        Data::dense_masked(y, mask.clone()).unwrap()
    };
    let (a, b) = (garbage(f64::NAN), garbage(-3.0));
    let fa = fit(&a, 5, 100, 0, Init::NndsvdA);
    let fb = fit(&b, 5, 100, 0, Init::NndsvdA);
    assert_eq!(fa.state.w, fb.state.w, "missing entries influenced W");
    assert_eq!(fa.state.h, fb.state.h, "missing entries influenced H");
    assert_monotone(&fa, 1e-12, "masked");
    score(&truth, fa.state.w.as_ref(), fa.state.h.as_ref(), "masked 2% ANLS", 0.9);
    // A mask that observes everything is the same as no mask.
    let full = Data::dense_masked(x.clone(), Mask::from_fn(m, n, |_, _| true)).unwrap();
    let plain = Data::dense(x).unwrap();
    let (f1, f2) = (
        fit(&full, 5, 10, 0, Init::NndsvdA),
        fit(&plain, 5, 10, 0, Init::NndsvdA),
    );
    assert!(rel_diff(&f1.state.w, &f2.state.w) < 1e-12);
}

#[test]
fn anls_l1_on_h_makes_h_sparser_monotonically() {
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let zeros = |f: &NmfFit<f64>| {
        let h = &f.state.h;
        let z = h
            .col_iter()
            .flat_map(|c| c.iter().copied())
            .filter(|v| *v == 0.0)
            .count();
        z as f64 / (h.nrows() * h.ncols()) as f64
    };
    let mut prev = -1.0;
    for alpha in [0.0, 20.0, 200.0] {
        let f = NmfParams::new(3)
            .seed(2)
            .max_iter(100)
            .tol(0.0)
            .l1_h(alpha)
            .threads(1)
            .check()
            .unwrap()
            .fit(&data, Frobenius, Anls::new())
            .unwrap();
        assert_monotone(&f, 1e-12, &format!("l1_h = {alpha}"));
        let z = zeros(&f);
        println!("l1_h = {alpha}: fraction of zeros in H {z:.4}");
        assert!(z > prev, "l1_h = {alpha}: zeros {z} not above {prev}");
        prev = z;
    }
}

/// scikit-learn's `solver='cd'` from its NNDSVDa start, tol 1e-5, ends at relative error
/// 0.540516990994458 on pbmc_small (k = 3). ANLS from our NNDSVDa start must do no worse,
/// up to round-off.
#[test]
fn anls_from_nndsvda_reaches_the_sklearn_cd_bar_on_pbmc_small() {
    let text =
        std::fs::read_to_string(common::repo_path("nmf-solvers/tests/fixtures/sklearn/cd_reference.tsv")).unwrap();
    let bar: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("relative_error_cd_nndsvda_tol1e-5\t"))
        .expect("reference line")
        .trim()
        .parse()
        .unwrap();
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let t = std::time::Instant::now();
    let f = NmfParams::new(3)
        .init(Init::NndsvdA)
        .max_iter(500)
        .tol(1e-9)
        .check()
        .unwrap()
        .fit(&data, Frobenius, Anls::new())
        .unwrap();
    let re = f.evaluation.relative_error;
    let first = f
        .history
        .rows()
        .iter()
        .find(|r| r.relative_error <= bar * (1.0 + 1e-6))
        .map(|r| r.iteration);
    println!(
        "pbmc_small k = 3, ANLS from NNDSVDa: relative error {re:.15} after {} iterations ({}, {:.3} s); \
         sklearn cd bar {bar:.15}; first iteration at or below the bar: {first:?}",
        f.iterations,
        f.stop_reason,
        t.elapsed().as_secs_f64()
    );
    assert!(re <= bar * (1.0 + 1e-6), "ANLS {re} vs sklearn cd {bar}");
}

/// Also from scikit-learn's own random start (the `cd` fixture start W0/H0): ANLS ends no
/// worse than sklearn `cd` after 200 iterations from the same point.
#[test]
fn anls_from_the_sklearn_start_is_no_worse_than_sklearn_cd() {
    let fix = "nmf-solvers/tests/fixtures/sklearn";
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let (w0, h0) = (read_tsv(&format!("{fix}/W0.tsv")), read_tsv(&format!("{fix}/H0.tsv")));
    let (wc, hc) = (
        read_tsv(&format!("{fix}/W_cd.tsv")),
        read_tsv(&format!("{fix}/H_cd.tsv")),
    );
    let cd_err = nmf_core::metrics::relative_error(&data, wc.as_ref(), hc.as_ref(), Par::Seq);
    let f = fit(&data, 3, 200, 0, Init::Custom { w: w0, h: h0 });
    let re = f.evaluation.relative_error;
    println!("from W0/H0: ANLS {re:.15} after 200, sklearn cd {cd_err:.15} after 200");
    assert!(re <= cd_err * (1.0 + 1e-6), "ANLS {re} vs cd {cd_err}");
}

// ---------------------------------------------------------------------------------------
// Robustness and API

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn anls_never_panics_or_produces_nan_on_small_inputs(
        m in 2usize..12,
        n in 2usize..12,
        rank_seed in 0usize..100,
        seed in 0u64..10_000,
        zero_row in any::<bool>(),
        zero_col in any::<bool>(),
        sparse in any::<bool>(),
        random_init in any::<bool>(),
        l1 in prop_oneof![Just(0.0), Just(0.1), Just(5.0)],
    ) {
        let k = 1 + rank_seed % m.min(n);
        let mut rng = Rng(seed);
        let mut x = Mat::from_fn(m, n, |_, _| {
            let u = rng.uniform();
            if u < 0.3 { 0.0 } else { (u * 10.0).floor() }
        });
        if zero_row { x.as_mut().row_mut(0).fill(0.0); }
        if zero_col { x.as_mut().col_mut(n - 1).fill(0.0); }
        let data = if sparse {
            Data::sparse(nmf_core::CscMatrix::from_dense(x.as_ref()))
        } else {
            Data::dense(x)
        };
        let Ok(data) = data else { return Ok(()) };
        let init = if random_init { Init::Random } else { Init::NndsvdA };
        let f = NmfParams::new(k)
            .init(init)
            .seed(seed)
            .max_iter(30)
            .tol(0.0)
            .l1_h(l1)
            .threads(1)
            .check()
            .unwrap()
            .fit(&data, Frobenius, Anls::new())
            .unwrap();
        prop_assert!(f.evaluation.objective.is_finite());
        for v in f.state.w.col_iter().chain(f.state.h.col_iter()).flat_map(|c| c.iter().copied().collect::<Vec<_>>()) {
            prop_assert!(v.is_finite() && v >= 0.0);
        }
        let obj = f.history.objectives();
        for p in obj.windows(2) {
            prop_assert!(p[1] <= p[0] * (1.0 + 1e-10) + 1e-12, "objective rose: {} -> {}", p[0], p[1]);
        }
    }
}

#[test]
fn anls_rejects_other_losses_and_non_elastic_net_penalties() {
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let params = NmfParams::new(3).check().unwrap();
    let err = params.fit(&data, KullbackLeibler, Anls::new()).unwrap_err();
    match &err {
        NmfError::UnsupportedLoss {
            solver,
            loss,
            supported,
        } => {
            assert_eq!(solver, "anls");
            assert_eq!(loss, &Loss::<f64>::name(&KullbackLeibler));
            assert_eq!(*supported, "frobenius");
        }
        other => panic!("expected UnsupportedLoss, got {other}"),
    }
    let beta = nmf_core::BetaDivergence::new(1.5).unwrap();
    assert!(matches!(
        params.fit(&data, beta, Anls::new()),
        Err(NmfError::UnsupportedLoss { .. })
    ));
    // A constraint that is not an elastic net.
    #[derive(Debug, Clone)]
    struct Capped;
    impl Constraint<f64> for Capped {
        fn penalty(&self, _: MatRef<'_, f64>) -> f64 {
            0.0
        }
        fn add_grad(&self, _: MatRef<'_, f64>, _: MatMut<'_, f64>) {}
        fn prox(&self, mut f: MatMut<'_, f64>, _: f64) {
            for j in 0..f.ncols() {
                for i in 0..f.nrows() {
                    f[(i, j)] = f[(i, j)].clamp(0.0, 1.0);
                }
            }
        }
    }
    let (w, h) = nmf_core::initialize(&data, 3, &Init::NndsvdA, 0, Par::Seq).unwrap();
    let problem = NmfProblem::new(&data, Frobenius, ElasticNet::none(), Capped, Par::Seq).unwrap();
    let err = Executor::new(problem, Anls::new(), StoppingRule::default())
        .run(NmfState { w, h })
        .unwrap_err();
    assert!(matches!(err, NmfError::Unsupported(_)), "{err}");
}

#[test]
fn anls_reports_its_name_and_inner_solves() {
    use nmf_core::Solver;
    let data = planted_small::<f64>();
    let (w, h) = nmf_core::initialize(&data, 4, &Init::NndsvdA, 0, Par::Seq).unwrap();
    let problem = NmfProblem::new(&data, Frobenius, ElasticNet::none(), ElasticNet::none(), Par::Seq).unwrap();
    let mut anls = Anls::new();
    assert_eq!(Solver::<f64, NmfProblem<'_, f64, Frobenius>>::name(&anls), "anls");
    assert!(anls.last_nnls_info().is_none());
    let mut state = NmfState { w, h };
    anls.init(&problem, &mut state).unwrap();
    for _ in 0..5 {
        anls.next_iter(&problem, &mut state).unwrap();
    }
    let [ih, iw] = anls.last_nnls_info().unwrap();
    println!("after 5 iterations: H step {ih:?}, W step {iw:?}");
    assert_eq!(ih.not_converged + iw.not_converged, 0);
}

#[test]
fn public_types_are_send_sync_clone() {
    fn check<T: Send + Sync + Clone>() {}
    check::<Anls<f64>>();
    check::<Anls<f32>>();
    check::<Bpp<f64>>();
    check::<Bpp<f32>>();
    check::<BppInfo>();
}

/// ParBpp (fixed chunks of columns in parallel) solves every column as one Bpp over all the
/// columns does (to round-off: faer's multi-right-hand-side solves block by group width), and
/// gives the same bits for every thread count, on a problem wider than several chunks.
#[test]
fn par_bpp_equals_bpp_and_does_not_depend_on_the_thread_count() {
    let mut rng = Rng(17);
    let (_, q, b) = random_nnls(&mut rng, 30, 7, 1000);
    let mut reference = Mat::zeros(7, 1000);
    let info = solve(&mut Bpp::new(7, 1000), &q, &b, &mut reference);
    assert!(info.iterations > 0, "the cold start pivots");
    let mut first: Option<Mat<f64>> = None;
    for par in [Par::Seq, Par::rayon(1), Par::rayon(2), Par::rayon(3)] {
        let mut v = Mat::zeros(7, 1000);
        let got = nmf_solvers::ParBpp::new(7, 1000)
            .solve(q.as_ref(), b.as_ref(), v.as_mut(), par)
            .unwrap();
        assert!(rel_diff(&v, &reference) < 1e-12, "{par:?}");
        assert!((0..1000).all(|j| (0..7).all(|l| (v[(l, j)] > 0.0) == (reference[(l, j)] > 0.0))));
        assert_eq!(got.iterations, info.iterations, "{par:?}");
        assert_eq!(got.not_converged, 0);
        match &first {
            None => first = Some(v),
            Some(f) => assert!(*f == v, "{par:?}: not the same bits"),
        }
    }
}
