//! Tune the L1 weight of an NNLS encoder by gradient descent through the NMF block.
//!
//! A fixed concept bank W encodes noisy signals X = W H_true + noise as sparse codes
//! H*(X, l1) = argmin_{H≥0} ½‖X − WH‖² + l1·ΣH. The held-out loss is the denoising error
//! L(l1) = ½‖W H*(X_val, l1) − X_clean_val‖²; its gradient dL/dl1 comes from the NNLS
//! block's VJP (cotangent Wᵀ(W H − X_clean) on H), and we descend on log l1. Afterwards the
//! example times one forward solve against one VJP (closed form and matrix-free KKT), and
//! does the same for the full NMF fixed point.
//!
//! Run: `cargo run --release -p nmf-implicit --example tune_l1`

use std::time::Instant;

use nmf_core::faer::Mat;
use nmf_implicit::{ActiveSetTol, JointNmf, JointOptions, KktScaling, KrylovParams, NnlsBlock};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Exp, StandardNormal};

fn main() -> Result<(), nmf_implicit::ImplicitError> {
    let (m, k, n) = (60, 8, 300);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let w = Mat::from_fn(m, k, |_, _| {
        if rng.random::<f64>() < 0.5 {
            0.0
        } else {
            rng.random::<f64>()
        }
    });
    let exp = Exp::new(1.0).unwrap();
    let h_true = Mat::from_fn(k, n, |_, _| {
        if rng.random::<f64>() < 0.7 {
            0.0
        } else {
            rng.sample(exp)
        }
    });
    let clean = &w * &h_true;
    let noisy = &clean + Mat::from_fn(m, n, |_, _| 0.4 * rng.sample::<f64, _>(StandardNormal));
    let tol = ActiveSetTol::default();

    // Held-out denoising loss and its derivative with respect to l1.
    let loss_and_grad = |l1: f64| -> Result<(f64, f64, NnlsBlock<f64>), nmf_implicit::ImplicitError> {
        let block = NnlsBlock::solve(noisy.as_ref(), w.as_ref(), (l1, 0.0), &tol)?;
        let resid = &w * block.h() - &clean;
        let loss = 0.5 * resid.squared_norm_l2();
        let cot = w.transpose() * &resid;
        let grad = block.vjp(cot.as_ref())?;
        Ok((loss, grad.l1, block))
    };

    // Gradient descent on θ = log l1 (dL/dθ = l1·dL/dl1), the step scaled once by the first
    // gradient and clipped to ±0.5 in θ; a step that raises the loss is halved and retried.
    let mut theta = (0.02_f64).ln();
    let (l0, g0, _) = loss_and_grad(theta.exp())?;
    let mut lr = 0.3 / (theta.exp() * g0).abs();
    println!("step      l1        held-out loss   dL/dl1");
    println!("{:>4}  {:>9.5}  {:>14.6}  {:>10.4}", 0, theta.exp(), l0, g0);
    let (mut last, mut g) = (l0, g0);
    for step in 1..=15 {
        let (l, g_new, block, next) = loop {
            let next = theta - (lr * theta.exp() * g).clamp(-0.5, 0.5);
            let (l, g_new, block) = loss_and_grad(next.exp())?;
            if l <= last || lr < 1e-12 {
                break (l, g_new, block, next);
            }
            lr *= 0.5;
        };
        theta = next;
        g = g_new;
        let c = block.active_set().counts();
        println!(
            "{step:>4}  {:>9.5}  {l:>14.6}  {g_new:>10.4}   ({} free, {} active, {} degenerate codes)",
            theta.exp(),
            c.free,
            c.active,
            c.degenerate
        );
        last = l;
    }
    println!(
        "held-out loss {l0:.4} -> {last:.4} ({:.1}% lower)",
        100.0 * (1.0 - last / l0)
    );

    // Cost of one VJP relative to one forward solve (median of repeats).
    let median = |mut f: Box<dyn FnMut()>, reps: usize| {
        let mut t: Vec<f64> = (0..reps)
            .map(|_| {
                let s = Instant::now();
                f();
                s.elapsed().as_secs_f64()
            })
            .collect();
        t.sort_by(f64::total_cmp);
        t[reps / 2]
    };
    let l1 = theta.exp();
    let block = NnlsBlock::solve(noisy.as_ref(), w.as_ref(), (l1, 0.0), &tol)?;
    let cot = Mat::from_fn(k, n, |l, j| ((l * 3 + j) % 5) as f64 - 2.0);
    let params = KrylovParams::default();
    let t_fwd = median(
        Box::new(|| {
            NnlsBlock::solve(noisy.as_ref(), w.as_ref(), (l1, 0.0), &tol).unwrap();
        }),
        21,
    );
    let t_vjp = median(
        Box::new(|| {
            block.vjp(cot.as_ref()).unwrap();
        }),
        21,
    );
    let t_kkt = median(
        Box::new(|| {
            block.vjp_kkt(cot.as_ref(), KktScaling::Normalized, &params).unwrap();
        }),
        21,
    );
    let (_, info) = block.vjp_kkt(cot.as_ref(), KktScaling::Normalized, &params)?;
    // The raw complementarity rows (λ⊙dh + h⊙dλ) make the operator far from normal: report,
    // do not stop, if restarted GMRES stalls on them.
    let raw = match block.vjp_kkt(cot.as_ref(), KktScaling::Raw, &params) {
        Ok((_, i)) => format!("{} iterations", i.iterations),
        Err(e) => format!("{e}"),
    };
    println!(
        "\nNNLS block {m}x{n}, k = {k} ({} distinct free sets):",
        block.distinct_free_sets()
    );
    println!(
        "  forward (BPP solve + active set + factorisations): {:.3} ms",
        1e3 * t_fwd
    );
    println!(
        "  VJP closed form:     {:.3} ms ({:.2}x forward)",
        1e3 * t_vjp,
        t_vjp / t_fwd
    );
    println!(
        "  VJP KKT + GMRES:     {:.3} ms ({:.2}x forward), {} iterations, rel residual {:.1e}\n  (raw scaling: {})",
        1e3 * t_kkt,
        t_kkt / t_fwd,
        info.iterations,
        info.rel_residual,
        raw
    );

    // The full NMF fixed point on a planted sparse problem.
    let (mj, nj, kj) = (40, 30, 4);
    let wj = Mat::from_fn(mj, kj, |i, l| {
        if i % kj == l || (i + 1) % kj == l {
            0.5 + rng.random::<f64>()
        } else {
            0.0
        }
    });
    let hj = Mat::from_fn(kj, nj, |l, j| {
        if j % kj == l || (j * 7 + 3) % (2 * kj) == l {
            0.5 + rng.random::<f64>()
        } else {
            0.0
        }
    });
    let xj = &wj * &hj + Mat::from_fn(mj, nj, |_, _| 0.15 * rng.random::<f64>());
    let opts = JointOptions::default();
    let s = Instant::now();
    let fit = JointNmf::fit(xj.as_ref(), kj, 0, &opts)?;
    let t_fit = s.elapsed().as_secs_f64();
    let (cw, ch) = (
        Mat::from_fn(mj, kj, |i, l| ((i + l) % 3) as f64 - 1.0),
        Mat::from_fn(kj, nj, |l, j| ((l + 2 * j) % 3) as f64 - 1.0),
    );
    let s = Instant::now();
    // Unrestarted GMRES: the joint system is a saddle point, where restarts stagnate.
    let full = KrylovParams {
        restart: fit.kkt_dim(),
        ..params
    };
    let (_, info_j) = fit.vjp(cw.as_ref(), ch.as_ref(), KktScaling::Normalized, &full)?;
    let t_vjp_j = s.elapsed().as_secs_f64();
    let (sw, sh) = fit.active_sets();
    println!(
        "\nFull NMF {mj}x{nj}, k = {kj} (KKT size {}; W {:?}, H {:?}):",
        fit.kkt_dim(),
        sw.counts(),
        sh.counts()
    );
    println!(
        "  forward (ANLS + {} polishing sweeps to KKT residual {:.1e}): {:.2} ms",
        fit.polish_iterations(),
        fit.kkt_residual(),
        1e3 * t_fit
    );
    println!(
        "  VJP KKT + GMRES: {:.2} ms ({:.2}x forward), {} iterations, rel residual {:.1e}",
        1e3 * t_vjp_j,
        t_vjp_j / t_fit,
        info_j.iterations,
        info_j.rel_residual
    );
    Ok(())
}
