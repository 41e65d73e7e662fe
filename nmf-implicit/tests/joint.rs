//! Full NMF fixed point: VJP/JVP with respect to X of the gauge-fixed factors against central
//! finite differences with warm-started re-solves, GMRES vs the dense joint route, and typed
//! errors at singular points.

mod common;

use common::*;
use nmf_core::faer::Mat;
use nmf_implicit::{ImplicitError, JointNmf, JointOptions, KktScaling, KrylovParams};

/// A planted problem whose factors have many zeros (which pin the GL(k) orbit) and noise
/// (which makes the duals of the zeros strictly positive).
fn planted(seed: u64, m: usize, n: usize, k: usize) -> Mat<f64> {
    let mut r = rng(seed);
    let u = uniform(&mut r, m, k, 0.5, 1.5);
    let v = uniform(&mut r, k, n, 0.5, 1.5);
    let w0 = Mat::from_fn(
        m,
        k,
        |i, l| if i % k == l || (i + 1) % k == l { u[(i, l)] } else { 0.0 },
    );
    let h0 = Mat::from_fn(k, n, |l, j| {
        if j % k == l || (j * 7 + 3) % (2 * k) == l {
            v[(l, j)]
        } else {
            0.0
        }
    });
    let noise = uniform(&mut r, m, n, 0.0, 0.15);
    &w0 * &h0 + noise
}

fn fitted(seed: u64, m: usize, n: usize, k: usize) -> (Mat<f64>, JointNmf<f64>) {
    let x = planted(seed, m, n, k);
    let opts = JointOptions {
        tol: nmf_implicit::ActiveSetTol {
            kkt: 1e-14,
            ..JointOptions::default().tol
        },
        ..JointOptions::default()
    };
    let fit = JointNmf::fit(x.as_ref(), k, 0, &opts).unwrap();
    let (sw, sh) = fit.active_sets();
    assert_eq!(
        sw.counts().degenerate + sh.counts().degenerate,
        0,
        "planted point should be clean"
    );
    assert!(sw.counts().active > 0 && sh.counts().active > 0);
    (x, fit)
}

fn patterns(f: &JointNmf<f64>) -> Vec<bool> {
    let (sw, sh) = f.active_sets();
    let (w, h) = (f.w(), f.h());
    let mut p: Vec<bool> = (0..w.ncols())
        .flat_map(|l| (0..w.nrows()).map(move |i| (i, l)))
        .map(|(i, l)| sw.is_free(i, l))
        .collect();
    p.extend(
        (0..h.ncols())
            .flat_map(|j| (0..h.nrows()).map(move |l| (l, j)))
            .map(|(l, j)| sh.is_free(l, j)),
    );
    p
}

#[test]
fn vjp_and_jvp_match_finite_differences_of_the_gauge_fixed_factors() {
    let (m, n, k) = (14, 12, 3);
    let (x, fit) = fitted(1, m, n, k);
    println!(
        "fit: KKT residual {:.1e} after {} polishing iterations; W {:?}, H {:?}",
        fit.kkt_residual(),
        fit.polish_iterations(),
        fit.active_sets().0.counts(),
        fit.active_sets().1.counts()
    );
    let mut r = rng(2);
    let (cw, ch, dx) = (normal(&mut r, m, k), normal(&mut r, k, n), normal(&mut r, m, n));
    let params = KrylovParams::default();
    let (gx, info) = fit
        .vjp(cw.as_ref(), ch.as_ref(), KktScaling::Normalized, &params)
        .unwrap();
    let (tan, info_j) = fit.jvp(dx.as_ref(), KktScaling::Normalized, &params).unwrap();
    let (dw, dh) = (tan.w, tan.h);
    // Central differences with warm-started, polished re-solves.
    let opts = JointOptions {
        tol: nmf_implicit::ActiveSetTol {
            kkt: 1e-15,
            ..JointOptions::default().tol
        },
        ..JointOptions::default()
    };
    let eps = 1e-6 * norm(x.as_ref()) / norm(dx.as_ref());
    let at = |s: f64| {
        let xs = &x + &dx * s;
        JointNmf::from_factors(xs.as_ref(), fit.w(), fit.h(), &opts).unwrap()
    };
    let (p, q) = (at(eps), at(-eps));
    assert_eq!(patterns(&p), patterns(&fit));
    assert_eq!(patterns(&q), patterns(&fit));
    let loss = |f: &JointNmf<f64>| dot(cw.as_ref(), f.w()) + dot(ch.as_ref(), f.h());
    let fd = (loss(&p) - loss(&q)) / (2.0 * eps);
    let e_vjp = rel_scalar(dot(gx.as_ref(), dx.as_ref()), fd);
    let fd_w = (p.w().to_owned() - q.w().to_owned()) * (0.5 / eps);
    let fd_h = (p.h().to_owned() - q.h().to_owned()) * (0.5 / eps);
    let (e_dw, e_dh) = (rel(dw.as_ref(), fd_w.as_ref()), rel(dh.as_ref(), fd_h.as_ref()));
    println!(
        "joint FD: VJP rel err {e_vjp:.2e}, JVP dW {e_dw:.2e} dH {e_dh:.2e}; GMRES VJP {} its (rel res {:.1e}), JVP {} its",
        info.iterations, info.rel_residual, info_j.iterations
    );
    assert!(e_vjp < 1e-5 && e_dw < 1e-5 && e_dh < 1e-5);
    // A gauge-invariant output, L = ⟨C, W H⟩: cotangents C Hᵀ and Wᵀ C.
    let c = normal(&mut r, m, n);
    let (cw2, ch2) = (&c * fit.h().transpose(), fit.w().transpose() * &c);
    let (gx2, _) = fit
        .vjp(cw2.as_ref(), ch2.as_ref(), KktScaling::Normalized, &params)
        .unwrap();
    let wh = |f: &JointNmf<f64>| dot(c.as_ref(), (f.w() * f.h()).as_ref());
    let fd2 = (wh(&p) - wh(&q)) / (2.0 * eps);
    let e2 = rel_scalar(dot(gx2.as_ref(), dx.as_ref()), fd2);
    println!("joint FD, gauge-invariant ⟨C, WH⟩: rel err {e2:.2e}");
    assert!(e2 < 1e-5);
}

#[test]
fn gmres_and_dense_joint_routes_agree() {
    let (m, n, k) = (12, 10, 3);
    let (_, fit) = fitted(3, m, n, k);
    let mut r = rng(4);
    let (cw, ch) = (normal(&mut r, m, k), normal(&mut r, k, n));
    let (dense, cond) = fit.vjp_dense(cw.as_ref(), ch.as_ref(), KktScaling::Normalized).unwrap();
    let (dense_raw, cond_raw) = fit.vjp_dense(cw.as_ref(), ch.as_ref(), KktScaling::Raw).unwrap();
    assert!(rel(dense_raw.as_ref(), dense.as_ref()) < 1e-9);
    for scaling in [KktScaling::Normalized, KktScaling::Raw] {
        let (g, info) = fit
            .vjp(cw.as_ref(), ch.as_ref(), scaling, &KrylovParams::default())
            .unwrap();
        let e = rel(g.as_ref(), dense.as_ref());
        println!(
            "{scaling:?}: GMRES {} its, rel res {:.1e}, vs dense {e:.1e} (cond {:.1e})",
            info.iterations,
            info.rel_residual,
            if scaling == KktScaling::Raw { cond_raw } else { cond }
        );
        assert!(e < 1e-8, "{scaling:?}: {e:e}");
    }
}

#[test]
fn strictly_positive_factors_are_a_singular_system() {
    // An exact positive factorisation: every entry free, E = 0, so the whole GL(k) orbit
    // (W R, R⁻¹ H) is a set of minimisers: not locally unique beyond the scale gauge.
    let mut r = rng(5);
    let (w, h) = (uniform(&mut r, 8, 2, 0.5, 1.5), uniform(&mut r, 2, 7, 0.5, 1.5));
    let x = &w * &h;
    let fit = JointNmf::from_factors(x.as_ref(), w.as_ref(), h.as_ref(), &JointOptions::default()).unwrap();
    let (cw, ch) = (normal(&mut r, 8, 2), normal(&mut r, 2, 7));
    assert!(matches!(
        fit.vjp_dense(cw.as_ref(), ch.as_ref(), KktScaling::Normalized),
        Err(ImplicitError::SingularSystem { .. })
    ));
    let params = KrylovParams {
        max_iters: 300,
        ..KrylovParams::default()
    };
    match fit.vjp(cw.as_ref(), ch.as_ref(), KktScaling::Normalized, &params) {
        Err(ImplicitError::KrylovNoConvergence {
            iterations,
            rel_residual,
            ..
        }) => {
            assert!(iterations >= 300 && rel_residual > 1e-8)
        }
        Err(ImplicitError::SingularSystem { .. }) => {}
        other => panic!("expected a typed failure, got {other:?}"),
    }
}

#[test]
fn dead_components_and_unpolished_points_are_typed_errors() {
    let x = planted(6, 10, 8, 2);
    let mut r = rng(7);
    let w = Mat::from_fn(10, 2, |i, l| if l == 1 { 0.0 } else { 1.0 + i as f64 * 0.1 });
    let h = uniform(&mut r, 2, 8, 0.1, 1.0);
    assert!(matches!(
        JointNmf::from_factors(x.as_ref(), w.as_ref(), h.as_ref(), &JointOptions::default()),
        Err(ImplicitError::DeadComponent { component: 1 })
    ));
    let rough = uniform(&mut r, 10, 2, 0.1, 1.0);
    let opts = JointOptions {
        polish_max_iter: 1,
        ..JointOptions::default()
    };
    assert!(matches!(
        JointNmf::from_factors(x.as_ref(), rough.as_ref(), h.as_ref(), &opts),
        Err(ImplicitError::NotOptimal { .. })
    ));
}
