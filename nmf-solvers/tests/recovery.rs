//! Planted-module recovery in the easy regime of SPEC §7.3 (disjoint modules, ~1000 counts
//! per sample, dominant usages), best of 3 restarts by objective.

use nmf_core::metrics::{adjusted_rand_index, argmax_labels, matched_cosine};
use nmf_core::{Data, Frobenius, Init, KullbackLeibler, Loss, NmfFit, NmfParams};
use nmf_solvers::Mu;
use nmf_synth::{simulate, Planted, PlantedSpec};

fn best_of_3<L: Loss<f64>>(data: &Data<f64>, loss: L, k: usize) -> NmfFit<f64> {
    (0..3)
        .map(|seed| {
            let init = if seed == 0 { Init::NndsvdA } else { Init::Random };
            NmfParams::new(k)
                .init(init)
                .seed(seed)
                .max_iter(1000)
                .tol(1e-6)
                .check()
                .unwrap()
                .fit(data, loss.clone(), Mu::new())
                .unwrap()
        })
        .min_by(|a, b| a.evaluation.objective.total_cmp(&b.evaluation.objective))
        .unwrap()
}

fn score(truth: &Planted<f64>, fit: &NmfFit<f64>, what: &str) {
    let cos = matched_cosine(truth.w_true.as_ref(), fit.state.w.as_ref()).unwrap();
    let ari = adjusted_rand_index(&truth.labels, &argmax_labels(fit.state.h.as_ref())).unwrap();
    println!(
        "{what}: mean cosine {:.4}, min cosine {:.4}, ARI {:.4}, iterations {}",
        cos.mean, cos.min, ari, fit.iterations
    );
    assert!(cos.mean >= 0.95, "{what}: mean cosine {}", cos.mean);
    assert!(cos.min >= 0.9, "{what}: min cosine {}", cos.min);
    assert!(ari >= 0.9, "{what}: ARI {ari}");
}

#[test]
fn mu_recovers_planted_modules_in_the_easy_regime() {
    for seed in [1, 2] {
        let truth = simulate::<f64>(&PlantedSpec::new(500, 300, 5).depth(1000.0), seed).unwrap();
        let data = truth.data_sparse().unwrap();
        score(
            &truth,
            &best_of_3(&data, Frobenius, 5),
            &format!("seed {seed} MU-Frobenius"),
        );
        score(
            &truth,
            &best_of_3(&data, KullbackLeibler, 5),
            &format!("seed {seed} MU-KL"),
        );
    }
}
