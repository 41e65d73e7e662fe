//! Every solver on the same planted problem, from the same start, under the same stopping
//! rule: each recovers the modules, and they agree on the fit.

mod common;

use common::alloc::allocations_of;
use common::pbmc_small;
use nmf_core::faer::Par;
use nmf_core::metrics::{adjusted_rand_index, argmax_labels, matched_cosine};
use nmf_core::{
    initialize, Data, ElasticNet, Frobenius, Init, KullbackLeibler, Loss, NmfFit, NmfFloat, NmfParams, NmfProblem,
    NmfState, Solver,
};
use nmf_solvers::{Admm, Anls, Cd, Extrapolation, Hals, KlCd, Mu, Pgd, PgdAlt};
use nmf_synth::{simulate, PlantedSpec};

fn run<S: for<'a> Solver<f64, NmfProblem<'a, f64, Frobenius>>>(data: &Data<f64>, solver: S) -> NmfFit<f64> {
    NmfParams::new(5)
        .init(Init::NndsvdA)
        .seed(0)
        .max_iter(3000)
        .tol(1e-7)
        .record_every(50)
        .check()
        .unwrap()
        .fit(data, Frobenius, solver)
        .unwrap()
}

#[test]
fn every_solver_recovers_planted_modules_and_they_agree() {
    let truth = simulate::<f64>(&PlantedSpec::new(500, 300, 5).depth(1000.0), 1).unwrap();
    let data = truth.data_sparse().unwrap();
    let fits = [
        ("mu", run(&data, Mu::new())),
        ("pgd", run(&data, Pgd::new())),
        ("pgd-alt", run(&data, PgdAlt::new())),
        ("admm", run(&data, Admm::new())),
        ("hals", run(&data, Hals::new())),
        ("anls", run(&data, Anls::new())),
        ("cd", run(&data, Cd::new())),
    ];
    let best = fits
        .iter()
        .map(|(_, f)| f.evaluation.relative_error)
        .fold(f64::INFINITY, f64::min);
    for (name, fit) in &fits {
        let cos = matched_cosine(truth.w_true.as_ref(), fit.state.w.as_ref()).unwrap();
        let ari = adjusted_rand_index(&truth.labels, &argmax_labels(fit.state.h.as_ref())).unwrap();
        let rel = fit.evaluation.relative_error;
        println!(
            "{name}: iterations {}, relative error {rel:.6}, mean cosine {:.4}, min {:.4}, ARI {ari:.3}",
            fit.iterations, cos.mean, cos.min
        );
        assert!(cos.mean >= 0.95, "{name}: mean cosine {}", cos.mean);
        assert!(rel <= best * 1.02, "{name}: relative error {rel} vs best {best}");
    }
}

mod mu_extra {
    //! The issue-wide checks for MU that the other solvers' own test files carry.
    use nmf_core::faer::Mat;
    use nmf_core::metrics::matched_cosine;
    use nmf_core::{Data, Frobenius, Init, KullbackLeibler, Mask, NmfParams};
    use nmf_solvers::Mu;
    use nmf_synth::{simulate, PlantedSpec};
    use proptest::prelude::*;

    #[test]
    fn masked_mu_recovers_planted_modules_and_never_reads_masked_entries() {
        let truth = simulate::<f64>(&PlantedSpec::new(300, 200, 4).depth(1000.0), 3).unwrap();
        let x = truth.x.to_dense();
        let mask = Mask::from_fn(300, 200, |i, j| (i * 7919 + j * 104729) % 50 != 0);
        assert!((mask.count_observed() as f64) < 0.99 * 60000.0);
        let with = |fill: f64| {
            let mut y = x.clone();
            for j in 0..200 {
                for i in 0..300 {
                    if !mask.is_observed(i, j) {
                        y[(i, j)] = fill;
                    }
                }
            }
            let data = Data::dense_masked(y, mask.clone()).unwrap();
            let p = NmfParams::new(4)
                .init(Init::NndsvdA)
                .max_iter(500)
                .tol(1e-6)
                .check()
                .unwrap();
            p.fit(&data, KullbackLeibler, Mu::new()).unwrap()
        };
        let (a, b) = (with(f64::NAN), with(1e9));
        assert_eq!(a.state.w, b.state.w);
        let cos = matched_cosine(truth.w_true.as_ref(), a.state.w.as_ref()).unwrap();
        assert!(cos.min >= 0.9 && cos.mean >= 0.95, "{cos:?}");
    }

    #[test]
    fn l1_on_h_makes_mu_sparser_monotonically() {
        let truth = simulate::<f64>(&PlantedSpec::new(200, 120, 4).depth(500.0), 5).unwrap();
        let data = truth.data_sparse().unwrap();
        let mut last = -1.0;
        for alpha in [0.0, 20.0, 200.0] {
            let p = NmfParams::new(4)
                .max_iter(400)
                .tol(0.0)
                .l1_h(alpha)
                .l2_w(1.0)
                .check()
                .unwrap();
            let h = p
                .fit(&data, Frobenius, Mu::new().with_floor(0.0).unwrap())
                .unwrap()
                .state
                .h;
            let small = h
                .col_iter()
                .flat_map(|c| c.iter().copied().collect::<Vec<_>>())
                .filter(|v| *v < 1e-6)
                .count();
            let frac = small as f64 / (4.0 * 120.0);
            assert!(
                frac > last,
                "alpha {alpha}: fraction of (near-)zeros {frac} not above {last}"
            );
            last = frac;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn mu_on_random_small_matrices_is_finite(m in 2usize..12, n in 2usize..12, k in 1usize..6, seed in 0u64..1000, kl in any::<bool>()) {
            let k = k.min(m).min(n);
            let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
            let mut next = move || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; (s % 1000) as f64 / 1000.0 };
            let mut x = Mat::from_fn(m, n, |_, _| { let v = next(); if v < 0.4 { 0.0 } else { (v * 10.0).floor() } });
            x.as_mut().row_mut(0).fill(0.0);
            x[(m - 1, n - 1)] = 3.0;
            let data = Data::dense(x).unwrap();
            let p = NmfParams::new(k).init(Init::Random).seed(seed).max_iter(50).check().unwrap();
            let fit = if kl { p.fit(&data, KullbackLeibler, Mu::new()) } else { p.fit(&data, Frobenius, Mu::new()) }.unwrap();
            prop_assert!(fit.evaluation.objective.is_finite());
            prop_assert!(fit.state.w.col_iter().chain(fit.state.h.col_iter()).all(|c| c.iter().all(|v| v.is_finite() && *v >= 0.0)));
        }
    }
}

/// After the first iteration (which may size late buffers), `next_iter` allocates nothing:
/// every solver, dense and sparse X, f64 and f32, with elastic-net penalties where the solver
/// takes them.
#[test]
fn no_solver_allocates_in_its_iteration_loop() {
    fn allocations<F, L, S>(data: &Data<F>, loss: L, pen: ElasticNet<F>, mut solver: S) -> usize
    where
        F: NmfFloat,
        L: Loss<F>,
        S: for<'a> Solver<F, NmfProblem<'a, F, L>>,
    {
        let (w, h) = initialize(data, 3, &Init::NndsvdA, 0, Par::Seq).unwrap();
        let mut state = NmfState { w, h };
        let problem = NmfProblem::new(data, loss, pen, pen, Par::Seq).unwrap();
        assert!(
            allocations_of(|| solver.init(&problem, &mut state).unwrap()) > 0,
            "the counter counts"
        );
        solver.next_iter(&problem, &mut state).unwrap();
        allocations_of(|| {
            for _ in 0..5 {
                solver.next_iter(&problem, &mut state).unwrap();
            }
        })
    }
    fn every_solver<F: NmfFloat>(data: &Data<F>, what: &str) {
        let pen = ElasticNet::new(F::lit(0.1), F::lit(0.2)).unwrap();
        let none = ElasticNet::default();
        let counts = [
            ("mu", allocations(data, Frobenius, pen, Mu::new())),
            ("mu-kl", allocations(data, KullbackLeibler, none, Mu::new())),
            ("pgd", allocations(data, Frobenius, pen, Pgd::new())),
            ("pgd-alt", allocations(data, Frobenius, pen, PgdAlt::new())),
            ("admm", allocations(data, Frobenius, pen, Admm::new())),
            ("hals", allocations(data, Frobenius, pen, Hals::new())),
            ("anls", allocations(data, Frobenius, pen, Anls::new())),
            ("cd", allocations(data, Frobenius, pen, Cd::new().shuffle(true))),
            ("cd-kl", allocations(data, KullbackLeibler, pen, KlCd::new())),
            (
                "hals extrapolated",
                allocations(
                    data,
                    Frobenius,
                    pen,
                    Hals::new().with_extrapolation(Extrapolation::for_inexact_blocks()),
                ),
            ),
            (
                "anls extrapolated",
                allocations(
                    data,
                    Frobenius,
                    pen,
                    Anls::new().with_extrapolation(Extrapolation::for_exact_blocks()),
                ),
            ),
        ];
        for (name, n) in counts {
            assert_eq!(n, 0, "{name} on {what}: next_iter allocated {n} times");
        }
    }
    let x = pbmc_small::<f64>();
    every_solver(&Data::sparse(x.clone()).unwrap(), "sparse f64");
    every_solver(&Data::dense(x.to_dense()).unwrap(), "dense f64");
    every_solver(&Data::sparse(pbmc_small::<f32>()).unwrap(), "sparse f32");
}
