//! GMRES on faer LinOps: accuracy against a dense LU solve, restarts, typed failures.

mod common;

use common::*;
use nmf_core::faer::linalg::solvers::Solve;
use nmf_core::faer::Mat;
use nmf_core::faer::Par;
use nmf_implicit::{gmres, ImplicitError, KrylovParams, Transposed};

fn system(seed: u64, n: usize) -> (Mat<f64>, Mat<f64>) {
    let mut r = rng(seed);
    // Non-symmetric, eigenvalues clustered around 4 with a spread: well conditioned.
    let a = Mat::<f64>::identity(n, n) * 4.0 + normal(&mut r, n, n) * (1.0 / (n as f64).sqrt());
    (a, normal(&mut r, n, 1))
}

#[test]
fn gmres_matches_lu_with_and_without_restarts() {
    let (a, b) = system(1, 60);
    let exact = a.partial_piv_lu().solve(&b);
    for restart in [60, 7] {
        let params = KrylovParams {
            restart,
            rel_tol: 1e-13,
            ..KrylovParams::default()
        };
        let mut x = Mat::zeros(60, 1);
        let info = gmres(&a, b.as_ref(), x.as_mut(), &params, Par::Seq).unwrap();
        assert!(rel(x.as_ref(), exact.as_ref()) < 1e-11, "restart {restart}");
        assert!(info.rel_residual <= 1e-13);
        if restart == 7 {
            assert!(info.cycles > 1, "a short restart must restart: {info:?}");
        }
    }
}

#[test]
fn transposed_solves_the_adjoint_system() {
    let (a, b) = system(2, 40);
    let exact = a.transpose().to_owned().partial_piv_lu().solve(&b);
    let mut x = Mat::zeros(40, 1);
    gmres(
        &Transposed(&a),
        b.as_ref(),
        x.as_mut(),
        &KrylovParams::default(),
        Par::Seq,
    )
    .unwrap();
    assert!(rel(x.as_ref(), exact.as_ref()) < 1e-9);
}

#[test]
fn failures_are_typed_with_iterations_and_residual() {
    let (a, b) = system(3, 50);
    let params = KrylovParams {
        max_iters: 5,
        ..KrylovParams::default()
    };
    let mut x = Mat::zeros(50, 1);
    match gmres(&a, b.as_ref(), x.as_mut(), &params, Par::Seq) {
        Err(ImplicitError::KrylovNoConvergence {
            iterations,
            rel_residual,
            ..
        }) => {
            assert!((5..=6).contains(&iterations));
            assert!(rel_residual > 1e-6 && rel_residual < 1.0);
        }
        other => panic!("expected no convergence, got {other:?}"),
    }
    // A singular operator with b outside its range.
    let mut s = a.clone();
    for i in 0..50 {
        s[(i, 49)] = 0.0;
        s[(49, i)] = 0.0;
    }
    let mut e = Mat::zeros(50, 1);
    e[(49, 0)] = 1.0;
    assert!(matches!(
        gmres(&s, e.as_ref(), x.as_mut(), &KrylovParams::default(), Par::Seq),
        Err(ImplicitError::SingularSystem { .. })
    ));
    // b = 0: x = 0 at once; bad knobs are rejected.
    let info = gmres(
        &a,
        Mat::zeros(50, 1).as_ref(),
        x.as_mut(),
        &KrylovParams::default(),
        Par::Seq,
    )
    .unwrap();
    assert_eq!((info.iterations, norm(x.as_ref())), (0, 0.0));
    let bad = KrylovParams {
        restart: 0,
        ..KrylovParams::default()
    };
    assert!(matches!(
        gmres(&a, b.as_ref(), x.as_mut(), &bad, Par::Seq),
        Err(ImplicitError::InvalidParam { name: "restart", .. })
    ));
}
