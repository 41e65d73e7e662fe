//! KL coordinate descent: the objective never rises (dense, sparse, penalised, f32), it gets
//! further than MU in the same number of iterations, it agrees with the KKT conditions at its
//! limit, the result does not depend on the thread count, and bad setups are refused.

mod common;

use common::pbmc_small;
use common::trace::{assert_monotone, dense_planted, trace};
use nmf_core::faer::{Mat, Par};
use nmf_core::metrics::{adjusted_rand_index, argmax_labels, matched_cosine};
use nmf_core::{
    initialize, Data, ElasticNet, Frobenius, Init, KullbackLeibler, Mask, NmfError, NmfParams, NmfProblem, NmfState,
    Problem, Solver,
};
use nmf_solvers::{KlCd, Mu};
use nmf_synth::{simulate, PlantedSpec};

fn pbmc() -> Data<f64> {
    Data::sparse(pbmc_small::<f64>()).unwrap()
}

#[test]
fn objective_never_rises_dense_sparse_penalised_f32() {
    let pen = ElasticNet::new(0.5, 1.0).unwrap();
    let dense = dense_planted(120, 80, 5, 3);
    for (data, what) in [(pbmc(), "sparse"), (dense, "dense")] {
        for (newton, tol) in [(1, 0.0), (2, 0.01), (5, 0.0)] {
            let mut s = KlCd::new()
                .with_newton_steps(newton)
                .unwrap()
                .with_newton_tol(tol)
                .unwrap();
            let (obj, _) = trace(
                &data,
                KullbackLeibler,
                6,
                ElasticNet::none(),
                &mut s.clone(),
                15,
                Par::Seq,
            );
            assert_monotone(&obj, 1e-12, what);
            let (obj, _) = trace(&data, KullbackLeibler, 6, pen, &mut s, 15, Par::Seq);
            assert_monotone(&obj, 1e-12, &format!("{what}, penalised"));
        }
    }
    let data = Data::sparse(pbmc_small::<f32>()).unwrap();
    let (obj, _) = trace(
        &data,
        KullbackLeibler,
        6,
        ElasticNet::none(),
        &mut KlCd::new(),
        15,
        Par::Seq,
    );
    assert_monotone(&obj, 1e-5, "sparse f32");
    assert!(obj[15] < 0.5 * obj[0]);
}

/// Second order and Gauss–Seidel: after the same number of iterations from the same start,
/// coordinate descent is well below MU, closer to a KKT point, and has exact zeros (MU's
/// multiplicative steps never reach 0).
#[test]
fn gets_further_than_mu_with_exact_zeros() {
    for (data, k, factor) in [(dense_planted(300, 150, 8, 1), 8, 3.0), (pbmc(), 6, 1.005)] {
        let (mu, mu_state) = trace(
            &data,
            KullbackLeibler,
            k,
            ElasticNet::none(),
            &mut Mu::new(),
            10,
            Par::Seq,
        );
        let (cd, cd_state) = trace(
            &data,
            KullbackLeibler,
            k,
            ElasticNet::none(),
            &mut KlCd::new(),
            10,
            Par::Seq,
        );
        assert!(cd[10] * factor < mu[10], "cd {} vs mu {}", cd[10], mu[10]);
        let mut problem =
            NmfProblem::new(&data, KullbackLeibler, ElasticNet::none(), ElasticNet::none(), Par::Seq).unwrap();
        let kkt_cd = problem.evaluate(&cd_state).unwrap().kkt_norm;
        let kkt_mu = problem.evaluate(&mu_state).unwrap().kkt_norm;
        assert!(kkt_cd < kkt_mu, "KKT: cd {kkt_cd} vs mu {kkt_mu}");
        let zeros = |m: &Mat<f64>| {
            (0..m.ncols())
                .map(|j| m.col(j).iter().filter(|v| **v == 0.0).count())
                .sum::<usize>()
        };
        assert!(zeros(&cd_state.w) + zeros(&cd_state.h) > 0);
        assert_eq!(zeros(&mu_state.w) + zeros(&mu_state.h), 0);
    }
}

/// On planted modules drawn from the Poisson simulator, coordinate descent finds them from
/// NNDSVDa (the easy regime of the MU recovery test).
#[test]
fn recovers_planted_modules() {
    for seed in [1, 2] {
        let truth = simulate::<f64>(&PlantedSpec::new(500, 300, 5).depth(1000.0), seed).unwrap();
        let data = truth.data_sparse().unwrap();
        let params = NmfParams::new(5)
            .init(Init::NndsvdA)
            .seed(seed)
            .max_iter(300)
            .tol(1e-6)
            .check()
            .unwrap();
        let fit = params.fit(&data, KullbackLeibler, KlCd::new()).unwrap();
        let objectives = fit.history.objectives();
        assert!(objectives.windows(2).all(|p| p[1] <= p[0] * (1.0 + 1e-12)));
        let cos = matched_cosine(truth.w_true.as_ref(), fit.state.w.as_ref()).unwrap();
        let ari = adjusted_rand_index(&truth.labels, &argmax_labels(fit.state.h.as_ref())).unwrap();
        assert!(cos.mean >= 0.95 && cos.min >= 0.9, "seed {seed}: cosines {cos:?}");
        assert!(ari >= 0.9, "seed {seed}: ARI {ari}");
    }
}

#[test]
fn same_bits_for_every_thread_count() {
    for data in [pbmc(), dense_planted(150, 90, 4, 2)] {
        let run = |par| {
            trace(
                &data,
                KullbackLeibler,
                5,
                ElasticNet::new(0.1, 0.1).unwrap(),
                &mut KlCd::new(),
                6,
                par,
            )
            .1
        };
        let seq = run(Par::Seq);
        for t in [2, 3] {
            let other = run(Par::rayon(t));
            assert!(seq.w == other.w && seq.h == other.h, "{t} threads differ");
        }
    }
}

#[test]
fn bad_setups_are_refused() {
    assert!(KlCd::<f64>::new().with_newton_steps(0).is_err());
    assert!(KlCd::<f64>::new().with_newton_steps(51).is_err());
    assert!(KlCd::<f64>::new().with_newton_tol(-1.0).is_err());
    assert!(KlCd::<f64>::new().with_newton_tol(f64::NAN).is_err());
    let data = pbmc();
    let (w, h) = initialize(&data, 3, &Init::NndsvdA, 0, Par::Seq).unwrap();
    let mut state = NmfState { w, h };
    let frob = NmfProblem::new(&data, Frobenius, ElasticNet::none(), ElasticNet::none(), Par::Seq).unwrap();
    let err = KlCd::new().init(&frob, &mut state).unwrap_err();
    assert!(matches!(err, NmfError::UnsupportedLoss { .. }), "{err}");
    let x = Mat::from_fn(8, 6, |i, j| (1 + i + j) as f64);
    let masked = Data::dense_masked(x, Mask::from_fn(8, 6, |i, j| (i + j) % 5 != 0)).unwrap();
    let (w, h) = initialize(&masked, 2, &Init::NndsvdA, 0, Par::Seq).unwrap();
    let mut state = NmfState { w, h };
    let problem = NmfProblem::new(
        &masked,
        KullbackLeibler,
        ElasticNet::none(),
        ElasticNet::none(),
        Par::Seq,
    )
    .unwrap();
    let err = KlCd::new().init(&problem, &mut state).unwrap_err();
    assert!(matches!(err, NmfError::Unsupported(_)), "{err}");
}
