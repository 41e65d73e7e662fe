//! Every solver on the same planted problem, from the same start, under the same stopping
//! rule: each recovers the modules, and they agree on the fit.

use nmf_core::metrics::{adjusted_rand_index, argmax_labels, matched_cosine};
use nmf_core::{Data, Frobenius, Init, NmfFit, NmfParams, NmfProblem, Solver};
use nmf_solvers::{Admm, Anls, Cd, Hals, Mu, Pgd, PgdAlt};
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
