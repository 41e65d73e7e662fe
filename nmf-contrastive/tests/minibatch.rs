//! Minibatch epochs (SPEC §1.6): W is frozen during an epoch and the columns of H are
//! independent, so one epoch is one full-batch iteration, for every batch size.

use faer::Mat;
use nmf_contrastive::{
    uniform_init, ContrastiveError, ContrastiveLoss, ContrastiveMinibatch, ContrastiveMu, ContrastiveParams,
    ContrastiveProblem, ContrastiveState, EpsilonMode, DEFAULT_POISSON_W_FLOOR,
};
use nmf_core::{CscMatrix, Data, Solver};

fn lcg_mat(m: usize, n: usize, seed: u64, zero_every: usize) -> Mat<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    Mat::from_fn(m, n, |i, j| {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let u = (s >> 11) as f64 / (1u64 << 53) as f64;
        if zero_every > 0 && (i * 31 + j * 17) % zero_every == 0 {
            0.0
        } else {
            (4.0 * u).floor() + u
        }
    })
}

fn data(a: &Mat<f64>, sparse: bool) -> Data<f64> {
    if sparse {
        Data::sparse(CscMatrix::from_dense(a.as_ref())).unwrap()
    } else {
        Data::dense(a.clone()).unwrap()
    }
}

fn max_rel_diff(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    let mut d = 0.0f64;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            d = d.max((a[(i, j)] - b[(i, j)]).abs() / (1e-12 + b[(i, j)].abs()));
        }
    }
    d
}

fn state_diff(a: &ContrastiveState<f64>, b: &ContrastiveState<f64>) -> f64 {
    max_rel_diff(&a.w, &b.w)
        .max(max_rel_diff(&a.h_target, &b.h_target))
        .max(max_rel_diff(&a.h_background, &b.h_background))
}

fn settings(loss: ContrastiveLoss, mode: EpsilonMode) -> ContrastiveMu<f64> {
    let floor = if loss == ContrastiveLoss::Poisson {
        DEFAULT_POISSON_W_FLOOR
    } else {
        0.0
    };
    ContrastiveMu::new().epsilon(mode).w_floor(floor).unwrap()
}

/// `epochs` minibatch epochs against as many full-batch iterations, from the same start.
fn compare(loss: ContrastiveLoss, sparse: (bool, bool), batch: usize, mode: EpsilonMode, epochs: usize) -> f64 {
    let (m, nx, ny, k) = (17, 23, 19, 3);
    let x = data(&lcg_mat(m, nx, 1, 4), sparse.0);
    let y = data(&lcg_mat(m, ny, 2, 3), sparse.1);
    let p = ContrastiveProblem::new(&x, &y, 1.5, loss, faer::Par::Seq).unwrap();
    let start = uniform_init::<f64>(m, k, nx, ny, 5);
    let mut full = start.clone();
    let mut mu = settings(loss, mode);
    mu.init(&p, &mut full).unwrap();
    let mut mini = start;
    let mut mb = ContrastiveMinibatch::new(settings(loss, mode), batch, 9).unwrap();
    mb.init(&p, &mut mini).unwrap();
    let mut worst = 0.0f64;
    for _ in 0..epochs {
        mu.next_iter(&p, &mut full).unwrap();
        mb.next_iter(&p, &mut mini).unwrap();
        worst = worst.max(state_diff(&mini, &full));
    }
    assert_eq!(mu.collapsed_features(), mb.collapsed_features());
    worst
}

#[test]
fn one_epoch_is_one_full_batch_iteration_for_any_batch_size() {
    for loss in [ContrastiveLoss::SquaredError, ContrastiveLoss::Poisson] {
        for sparse in [(false, false), (true, true), (true, false), (false, true)] {
            for batch in [1, 7, 23, 40] {
                let d = compare(loss, sparse, batch, EpsilonMode::Safe, 1);
                assert!(
                    d < 1e-12,
                    "{loss:?} sparse={sparse:?} batch={batch}: one epoch differs by {d:e}"
                );
            }
        }
    }
}

#[test]
fn epochs_track_full_batch_iterations() {
    for loss in [ContrastiveLoss::SquaredError, ContrastiveLoss::Poisson] {
        for mode in [EpsilonMode::Safe, EpsilonMode::Reference] {
            for (sparse, batch) in [((false, false), 5), ((true, true), 4)] {
                let d = compare(loss, sparse, batch, mode, 25);
                assert!(
                    d < 1e-9,
                    "{loss:?} {mode:?} sparse={sparse:?}: 25 epochs differ by {d:e}"
                );
            }
        }
    }
}

#[test]
fn minibatch_block_steps_are_monotone() {
    let (m, nx, ny, k) = (15, 18, 14, 3);
    let x = Data::sparse(CscMatrix::from_dense(lcg_mat(m, nx, 3, 6).as_ref())).unwrap();
    let y = Data::dense(lcg_mat(m, ny, 103, 4)).unwrap();
    for loss in [ContrastiveLoss::SquaredError, ContrastiveLoss::Poisson] {
        for damping in [1.0, 0.5] {
            let mut p = ContrastiveProblem::new(&x, &y, 2.0, loss, faer::Par::Seq).unwrap();
            let mut s = uniform_init::<f64>(m, k, nx, ny, 3);
            let mu = settings(loss, EpsilonMode::Safe).damping(damping).unwrap();
            let mut mb = ContrastiveMinibatch::new(mu, 4, 1).unwrap();
            mb.init(&p, &mut s).unwrap();
            let tol = |v: f64| 1e-11 * (1.0 + v.abs());
            for it in 0..40 {
                let dx0 = p.terms(&s).d_target;
                mb.step_target(&p, &mut s).unwrap();
                let t1 = p.terms(&s);
                assert!(
                    t1.d_target <= dx0 + tol(dx0),
                    "{loss:?} γ={damping}: H_X pass raised D_X at {it}"
                );
                mb.step_background(&p, &mut s).unwrap();
                let dy2 = p.terms(&s).d_background;
                let j2 = p.objective(&s);
                assert!(
                    dy2 <= t1.d_background + tol(dy2),
                    "{loss:?} γ={damping}: H_Y pass raised D_Y at {it}"
                );
                mb.step_basis(&p, &mut s).unwrap();
                let j3 = p.objective(&s);
                assert!(
                    j3 <= j2 + tol(j2),
                    "{loss:?} γ={damping}: W step raised J at {it}: {j2} -> {j3}"
                );
                s.normalize_columns();
            }
        }
    }
}

#[test]
fn stale_parts_and_bad_batch_size_are_errors() {
    let x = Data::dense(lcg_mat(8, 9, 1, 0)).unwrap();
    let y = Data::dense(lcg_mat(8, 6, 2, 0)).unwrap();
    let p = ContrastiveProblem::new(&x, &y, 1.0, ContrastiveLoss::Poisson, faer::Par::Seq).unwrap();
    let mut s = uniform_init::<f64>(8, 2, 9, 6, 1);
    let mut mb = ContrastiveMinibatch::new(ContrastiveMu::new(), 3, 0).unwrap();
    assert!(mb.step_target(&p, &mut s).is_err(), "before init");
    mb.init(&p, &mut s).unwrap();
    mb.step_target(&p, &mut s).unwrap();
    assert!(mb.step_basis(&p, &mut s).is_err(), "background pass missing");
    mb.step_background(&p, &mut s).unwrap();
    mb.step_basis(&p, &mut s).unwrap();
    assert!(mb.step_basis(&p, &mut s).is_err(), "parts used twice");
    assert!(matches!(
        ContrastiveMinibatch::<f64>::new(ContrastiveMu::new(), 0, 0),
        Err(ContrastiveError::BadParam { name: "batch_size", .. })
    ));
    assert!(matches!(
        ContrastiveParams::<f64>::new(2, 1.0).batch_size(Some(0)).check(),
        Err(ContrastiveError::BadParam { name: "batch_size", .. })
    ));
    // Masks are not supported by the batch kernels.
    let mask = nmf_core::Mask::from_fn(8, 9, |i, j| (i + j) % 5 != 0);
    let xm = Data::dense_masked(lcg_mat(8, 9, 1, 0), mask).unwrap();
    let pm = ContrastiveProblem::new(&xm, &y, 1.0, ContrastiveLoss::Poisson, faer::Par::Seq).unwrap();
    let mut mb = ContrastiveMinibatch::new(ContrastiveMu::new(), 3, 0).unwrap();
    assert!(mb.init(&pm, &mut s).is_err());
}

#[test]
fn fit_with_batches_matches_the_full_batch_fit() {
    let (xm, ym) = (lcg_mat(16, 30, 8, 3), lcg_mat(16, 21, 9, 2));
    for loss in [ContrastiveLoss::SquaredError, ContrastiveLoss::Poisson] {
        for sparse in [false, true] {
            let (x, y) = (data(&xm, sparse), data(&ym, sparse));
            let run = |batch: Option<usize>, seed: u64| {
                ContrastiveParams::new(3, 1.0)
                    .loss(loss)
                    .max_iter(60)
                    .tol(1e-7)
                    .n_starts(2)
                    .seed(seed)
                    .batch_size(batch)
                    .check()
                    .unwrap()
                    .fit(&x, &y)
                    .unwrap()
            };
            let full = run(None, 4);
            let mb = run(Some(8), 4);
            assert_eq!(full.iterations, mb.iterations, "{loss:?} sparse={sparse}");
            assert_eq!(full.best_start, mb.best_start);
            let d = max_rel_diff(&mb.w, &full.w).max(max_rel_diff(&mb.h_target, &full.h_target));
            assert!(d < 1e-8, "{loss:?} sparse={sparse}: {d:e}");
            // Same seed, same result, bit for bit.
            let again = run(Some(8), 4);
            assert_eq!(again.w, mb.w);
            assert_eq!(again.h_background, mb.h_background);
        }
    }
}

#[test]
fn auto_traits() {
    fn assert_all<T: Send + Sync + Clone>() {}
    assert_all::<ContrastiveMinibatch<f64>>();
    assert_all::<ContrastiveMinibatch<f32>>();
}
