//! NNLS block derivatives: central finite differences (SPEC §3.7), the adjoint identity,
//! closed form vs the matrix-free KKT route, degenerate inputs, f32.

mod common;

use common::*;
use nmf_core::faer::Mat;
use nmf_core::NmfError;
use nmf_implicit::{ActiveSetTol, ImplicitError, KktScaling, KrylovParams, NnlsBlock, NnlsTangent, Polish};
use proptest::prelude::*;

const TOL: f64 = 1e-5;

/// The NNLS solution at θ + s·dθ (θ = (X, W, l1, l2)).
fn solve_at(
    x: &Mat<f64>,
    w: &Mat<f64>,
    pen: (f64, f64),
    d: (&Mat<f64>, &Mat<f64>, f64, f64),
    s: f64,
) -> NnlsBlock<f64> {
    let xs = x + d.0 * s;
    let ws = w + d.1 * s;
    NnlsBlock::solve(
        xs.as_ref(),
        ws.as_ref(),
        (pen.0 + s * d.2, pen.1 + s * d.3),
        &ActiveSetTol::default(),
    )
    .unwrap()
}

/// Central FD of L = ⟨C, H*⟩ and of H* along dθ, with ε = 1e-6‖θ‖/‖dθ‖ (§3.7), checking the
/// active set did not move. Returns (FD of L, FD of H).
fn central_fd(
    x: &Mat<f64>,
    w: &Mat<f64>,
    pen: (f64, f64),
    d: (&Mat<f64>, &Mat<f64>, f64, f64),
    c: &Mat<f64>,
) -> (f64, Mat<f64>) {
    let theta = (norm(x.as_ref()).powi(2) + norm(w.as_ref()).powi(2) + pen.0 * pen.0 + pen.1 * pen.1).sqrt();
    let dtheta = (norm(d.0.as_ref()).powi(2) + norm(d.1.as_ref()).powi(2) + d.2 * d.2 + d.3 * d.3).sqrt();
    let eps = 1e-6 * theta / dtheta;
    let base = solve_at(x, w, pen, d, 0.0);
    let (p, m) = (solve_at(x, w, pen, d, eps), solve_at(x, w, pen, d, -eps));
    assert_eq!(pattern(&p), pattern(&base), "active set moved at +eps");
    assert_eq!(pattern(&m), pattern(&base), "active set moved at -eps");
    let fd_l = (dot(c.as_ref(), p.h()) - dot(c.as_ref(), m.h())) / (2.0 * eps);
    let fd_h = (p.h().to_owned() - m.h().to_owned()) * (1.0 / (2.0 * eps));
    (fd_l, fd_h)
}

struct Case {
    x: Mat<f64>,
    w: Mat<f64>,
    pen: (f64, f64),
    c: Mat<f64>,
    dx: Mat<f64>,
    dw: Mat<f64>,
    dl: (f64, f64),
}

fn case(seed: u64, m: usize, n: usize, k: usize, pen: (f64, f64)) -> Case {
    let (x, w) = nnls_problem(seed, m, n, k, pen, 1e-2);
    let mut r = rng(seed + 1000);
    Case {
        c: normal(&mut r, k, n),
        dx: normal(&mut r, m, n),
        dw: normal(&mut r, m, k),
        dl: (normal(&mut r, 1, 1)[(0, 0)], normal(&mut r, 1, 1)[(0, 0)]),
        x,
        w,
        pen,
    }
}

/// FD vs VJP and JVP for one direction (zeroing the parts not in `which`).
fn check_fd(cs: &Case, which: (bool, bool, bool, bool)) -> (f64, f64) {
    let z_x = Mat::zeros(cs.x.nrows(), cs.x.ncols());
    let z_w = Mat::zeros(cs.w.nrows(), cs.w.ncols());
    let d = (
        if which.0 { &cs.dx } else { &z_x },
        if which.1 { &cs.dw } else { &z_w },
        if which.2 { cs.dl.0 } else { 0.0 },
        if which.3 { cs.dl.1 } else { 0.0 },
    );
    let block = NnlsBlock::solve(cs.x.as_ref(), cs.w.as_ref(), cs.pen, &ActiveSetTol::default()).unwrap();
    let g = block.vjp(cs.c.as_ref()).unwrap();
    let vjp_dir = dot(g.x.as_ref(), d.0.as_ref()) + dot(g.w.as_ref(), d.1.as_ref()) + g.l1 * d.2 + g.l2 * d.3;
    let dh = block
        .jvp(&NnlsTangent {
            x: Some(d.0.as_ref()),
            w: Some(d.1.as_ref()),
            l1: d.2,
            l2: d.3,
        })
        .unwrap();
    let (fd_l, fd_h) = central_fd(&cs.x, &cs.w, cs.pen, d, &cs.c);
    (rel_scalar(vjp_dir, fd_l), rel(dh.as_ref(), fd_h.as_ref()))
}

#[test]
fn finite_differences_match_vjp_and_jvp_for_every_input() {
    let mut worst = (0.0_f64, 0.0_f64);
    for (seed, pen) in [(1, (0.0, 0.0)), (2, (0.3, 0.0)), (3, (0.2, 0.5)), (4, (0.0, 1.0))] {
        let cs = case(seed, 12, 9, 4, pen);
        // A penalty at 0 sits on the boundary of its domain: it is only perturbed when > 0.
        let (p1, p2) = (pen.0 > 0.0, pen.1 > 0.0);
        let mut parts = vec![
            (true, false, false, false),
            (false, true, false, false),
            (true, true, p1, p2),
        ];
        if p1 {
            parts.push((false, false, true, false));
        }
        if p2 {
            parts.push((false, false, false, true));
        }
        for which in parts {
            let (e_vjp, e_jvp) = check_fd(&cs, which);
            assert!(e_vjp < TOL, "seed {seed} {which:?}: VJP vs FD relative error {e_vjp:e}");
            assert!(e_jvp < TOL, "seed {seed} {which:?}: JVP vs FD relative error {e_jvp:e}");
            worst = (worst.0.max(e_vjp), worst.1.max(e_jvp));
        }
    }
    println!(
        "NNLS FD agreement: max rel error VJP {:.2e}, JVP {:.2e}",
        worst.0, worst.1
    );
}

#[test]
fn closed_form_and_kkt_routes_agree() {
    let params = KrylovParams::default();
    for (seed, pen) in [(5, (0.0, 0.0)), (6, (0.2, 0.3))] {
        let cs = case(seed, 15, 12, 5, pen);
        let block = NnlsBlock::solve(cs.x.as_ref(), cs.w.as_ref(), cs.pen, &ActiveSetTol::default()).unwrap();
        let g = block.vjp(cs.c.as_ref()).unwrap();
        let t = NnlsTangent {
            x: Some(cs.dx.as_ref()),
            w: Some(cs.dw.as_ref()),
            l1: cs.dl.0,
            l2: cs.dl.1,
        };
        let dh = block.jvp(&t).unwrap();
        for scaling in [KktScaling::Normalized, KktScaling::Raw] {
            let (gk, info) = block.vjp_kkt(cs.c.as_ref(), scaling, &params).unwrap();
            assert!(info.rel_residual <= params.rel_tol, "{info:?}");
            assert!(rel(gk.x.as_ref(), g.x.as_ref()) < 1e-8, "{scaling:?} X̄");
            assert!(rel(gk.w.as_ref(), g.w.as_ref()) < 1e-8, "{scaling:?} W̄");
            assert!(rel_scalar(gk.l1, g.l1) < 1e-8 && rel_scalar(gk.l2, g.l2) < 1e-8);
            let (dhk, info_j) = block.jvp_kkt(&t, scaling, &params).unwrap();
            assert!(rel(dhk.as_ref(), dh.as_ref()) < 1e-8, "{scaling:?} dH");
            println!(
                "seed {seed} {scaling:?}: VJP GMRES {} its (rel res {:.1e}), JVP {} its",
                info.iterations, info.rel_residual, info_j.iterations
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// ⟨VJP(C), dθ⟩ = ⟨C, JVP(dθ)⟩ on random (possibly degenerate) problems.
    #[test]
    fn adjoint_identity(seed in 0u64..10_000, m in 3usize..12, n in 1usize..9, k in 1usize..5,
                        l1 in prop_oneof![Just(0.0), 0.0..0.5], l2 in prop_oneof![Just(0.0), 0.01..1.0]) {
        let mut r = rng(seed);
        let w = uniform(&mut r, m, k, 0.0, 1.0);
        let x = normal(&mut r, m, n) + &w * uniform(&mut r, k, n, 0.0, 1.0);
        let block = NnlsBlock::solve(x.as_ref(), w.as_ref(), (l1, l2), &ActiveSetTol::default()).unwrap();
        prop_assume!(block.differentiability().is_ok());
        let c = normal(&mut r, k, n);
        let (dx, dw) = (normal(&mut r, m, n), normal(&mut r, m, k));
        let (d1, d2) = (r.random::<f64>() - 0.5, r.random::<f64>() - 0.5);
        let g = block.vjp(c.as_ref()).unwrap();
        let dh = block.jvp(&NnlsTangent { x: Some(dx.as_ref()), w: Some(dw.as_ref()), l1: d1, l2: d2 }).unwrap();
        let lhs = dot(g.x.as_ref(), dx.as_ref()) + dot(g.w.as_ref(), dw.as_ref()) + g.l1 * d1 + g.l2 * d2;
        let rhs = dot(c.as_ref(), dh.as_ref());
        let scale = norm(c.as_ref()) * norm(dh.as_ref()) + lhs.abs() + 1e-300;
        prop_assert!((lhs - rhs).abs() <= 1e-10 * scale, "lhs {} rhs {}", lhs, rhs);
    }
}

use rand::Rng;

#[test]
fn rank_deficient_w_is_a_typed_error_without_ridge_and_exact_with_l2() {
    let mut r = rng(11);
    let mut w = uniform(&mut r, 10, 3, 0.1, 1.0);
    for i in 0..10 {
        w[(i, 2)] = w[(i, 1)];
    }
    // Both duplicated columns carry weight in the data, so the minimiser is not unique.
    let h0 = Mat::from_fn(3, 6, |l, j| 1.0 + (l + j) as f64 * 0.1);
    let x = &w * &h0;
    let block = NnlsBlock::solve(x.as_ref(), w.as_ref(), (0.0, 0.0), &ActiveSetTol::default()).unwrap();
    let c = normal(&mut r, 3, 6);
    match block.vjp(c.as_ref()) {
        Err(ImplicitError::SingularReducedHessian { free, .. }) => assert!(free >= 2),
        Ok(g) => {
            // BPP may put one duplicate in the active set: then its dual is exactly 0.
            assert!(
                block.active_set().counts().degenerate > 0,
                "a duplicate must be degenerate"
            );
            assert!(g.x.norm_l2().is_finite() && g.w.norm_l2().is_finite());
        }
        Err(e) => panic!("unexpected error {e}"),
    }
    // With a ridge the problem is strictly convex: derivatives exist and match FD.
    let pen = (0.0, 0.5);
    let block = NnlsBlock::solve(x.as_ref(), w.as_ref(), pen, &ActiveSetTol::default()).unwrap();
    let g = block.vjp(c.as_ref()).unwrap();
    let dx = normal(&mut r, 10, 6);
    let z_w = Mat::zeros(10, 3);
    let (fd, _) = central_fd(&x, &w, pen, (&dx, &z_w, 0.0, 0.0), &c);
    assert!(rel_scalar(dot(g.x.as_ref(), dx.as_ref()), fd) < TOL);
}

#[test]
fn all_zero_columns_of_x_follow_the_active_convention() {
    let (mut x, w) = nnls_problem(21, 10, 7, 3, (0.0, 0.0), 1e-2);
    for i in 0..10 {
        x[(i, 2)] = 0.0;
        x[(i, 5)] = 0.0;
    }
    let mut r = rng(22);
    let c = normal(&mut r, 3, 7);
    for (l1, expect_degenerate) in [(0.0, 6), (0.1, 0)] {
        let block = NnlsBlock::solve(x.as_ref(), w.as_ref(), (l1, 0.0), &ActiveSetTol::default()).unwrap();
        assert!(block.active_set().counts().degenerate >= expect_degenerate);
        for j in [2, 5] {
            assert!((0..3).all(|l| block.h()[(l, j)] == 0.0));
        }
        let g = block.vjp(c.as_ref()).unwrap();
        for j in [2, 5] {
            assert!(
                (0..10).all(|i| g.x[(i, j)] == 0.0),
                "zero column gets no gradient (dH = 0 there)"
            );
        }
        assert!(g.x.norm_l2().is_finite() && g.w.norm_l2().is_finite() && g.l1.is_finite());
        let (gk, _) = block
            .vjp_kkt(c.as_ref(), KktScaling::Normalized, &KrylovParams::default())
            .unwrap();
        assert!(rel(gk.x.as_ref(), g.x.as_ref()) < 1e-8);
    }
}

#[test]
fn cotangent_on_the_active_set_has_zero_gradient() {
    let (x, w) = nnls_problem(31, 10, 8, 4, (0.0, 0.0), 1e-2);
    let block = NnlsBlock::solve(x.as_ref(), w.as_ref(), (0.0, 0.0), &ActiveSetTol::default()).unwrap();
    let set = block.active_set();
    let c = Mat::from_fn(4, 8, |l, j| if set.is_free(l, j) { 0.0 } else { 1.0 + l as f64 });
    assert!(norm(c.as_ref()) > 0.0);
    let g = block.vjp(c.as_ref()).unwrap();
    assert_eq!(norm(g.x.as_ref()), 0.0);
    assert_eq!(norm(g.w.as_ref()), 0.0);
    let (gk, _) = block
        .vjp_kkt(c.as_ref(), KktScaling::Raw, &KrylovParams::default())
        .unwrap();
    assert!(norm(gk.x.as_ref()) < 1e-9 * norm(c.as_ref()) * norm(w.as_ref()));
}

#[test]
fn inexact_solutions_are_rejected_or_polished() {
    let (x, w) = nnls_problem(41, 10, 8, 4, (0.0, 0.0), 1e-2);
    let tol = ActiveSetTol::default();
    let exact = NnlsBlock::solve(x.as_ref(), w.as_ref(), (0.0, 0.0), &tol).unwrap();
    // An MU-like iterate: every zero replaced by a tiny positive value, free entries off by 1e-4.
    let rough = Mat::from_fn(4, 8, |l, j| {
        let h = exact.h()[(l, j)];
        if h == 0.0 {
            1e-20
        } else {
            h * (1.0 + 1e-4)
        }
    });
    assert!(matches!(
        NnlsBlock::from_solution(x.as_ref(), w.as_ref(), rough.as_ref(), (0.0, 0.0), Polish::None, &tol),
        Err(ImplicitError::NotOptimal { .. })
    ));
    let polished =
        NnlsBlock::from_solution(x.as_ref(), w.as_ref(), rough.as_ref(), (0.0, 0.0), Polish::Bpp, &tol).unwrap();
    assert!(rel(polished.h(), exact.h()) < 1e-12);
    assert_eq!(pattern(&polished), pattern(&exact));
    let neg = Mat::from_fn(4, 8, |l, j| if (l, j) == (1, 1) { -1.0 } else { 0.0 });
    assert!(matches!(
        NnlsBlock::from_solution(x.as_ref(), w.as_ref(), neg.as_ref(), (0.0, 0.0), Polish::None, &tol),
        Err(ImplicitError::Core(NmfError::InvalidInit { row: 1, col: 1, .. }))
    ));
}

#[test]
fn bad_inputs_are_typed_errors() {
    let (mut x, w) = nnls_problem(51, 6, 4, 2, (0.0, 0.0), 1e-2);
    let tol = ActiveSetTol::default();
    let ok = NnlsBlock::solve(x.as_ref(), w.as_ref(), (0.0, 0.0), &tol).unwrap();
    assert!(matches!(
        ok.vjp(Mat::zeros(3, 4).as_ref()),
        Err(ImplicitError::Core(NmfError::ShapeMismatch { .. }))
    ));
    let mut c = Mat::zeros(2, 4);
    c[(1, 3)] = f64::NAN;
    assert!(matches!(
        ok.vjp(c.as_ref()),
        Err(ImplicitError::NonFinite { row: 1, col: 3, .. })
    ));
    assert!(matches!(
        NnlsBlock::solve(x.as_ref(), w.as_ref(), (-1.0, 0.0), &tol),
        Err(ImplicitError::Core(NmfError::Params(_)))
    ));
    let bad_tol = ActiveSetTol { kkt: -1.0, ..tol };
    assert!(matches!(
        NnlsBlock::solve(x.as_ref(), w.as_ref(), (0.0, 0.0), &bad_tol),
        Err(ImplicitError::InvalidParam { name: "kkt", .. })
    ));
    x[(0, 0)] = f64::INFINITY;
    assert!(matches!(
        NnlsBlock::solve(x.as_ref(), w.as_ref(), (0.0, 0.0), &tol),
        Err(ImplicitError::NonFinite { what: "X", .. })
    ));
}

#[test]
fn f32_closed_form_matches_f64() {
    let cs = case(61, 14, 10, 4, (0.1, 0.2));
    let block = NnlsBlock::solve(cs.x.as_ref(), cs.w.as_ref(), cs.pen, &ActiveSetTol::default()).unwrap();
    let g = block.vjp(cs.c.as_ref()).unwrap();
    let f = |a: &Mat<f64>| Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)] as f32);
    let back = |a: &Mat<f32>| Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)] as f64);
    let b32 = NnlsBlock::<f32>::solve(
        f(&cs.x).as_ref(),
        f(&cs.w).as_ref(),
        (0.1, 0.2),
        &ActiveSetTol::default(),
    )
    .unwrap();
    assert_eq!(b32.active_set().counts(), block.active_set().counts());
    let g32 = b32.vjp(f(&cs.c).as_ref()).unwrap();
    let (ex, ew) = (
        rel(back(&g32.x).as_ref(), g.x.as_ref()),
        rel(back(&g32.w).as_ref(), g.w.as_ref()),
    );
    assert!(ex < 1e-4 && ew < 1e-4, "f32 vs f64: X̄ {ex:e}, W̄ {ew:e}");
    let (gk, _) = b32
        .vjp_kkt(f(&cs.c).as_ref(), KktScaling::Normalized, &KrylovParams::default())
        .unwrap();
    assert!(rel(back(&gk.x).as_ref(), g.x.as_ref()) < 1e-4);
}
