//! Agreement with scikit-learn 1.9.1 `NMF(solver='mu')` on real counts (pbmc_small, genes ×
//! cells, k = 3). Fixtures and the script that made them: tests/fixtures/sklearn/.

mod common;

use common::{pbmc_small, read_tsv, rel_diff};
use nmf_core::faer::Mat;
use nmf_core::{Data, Frobenius, Init, KullbackLeibler, Loss, NmfParams};
use nmf_solvers::{Epsilon, Mu};

const FIX: &str = "nmf-solvers/tests/fixtures/sklearn";

fn fit_from_fixture<L: Loss<f64>>(loss: L, iters: usize, dense: bool) -> (Mat<f64>, Mat<f64>) {
    let x = pbmc_small::<f64>();
    let data = if dense {
        Data::dense(x.to_dense())
    } else {
        Data::sparse(x)
    }
    .unwrap();
    let w0 = read_tsv(&format!("{FIX}/W0.tsv"));
    let h0 = read_tsv(&format!("{FIX}/H0.tsv"));
    let params = NmfParams::new(3)
        .init(Init::Custom { w: w0, h: h0 })
        .max_iter(iters)
        .tol(0.0)
        .threads(1)
        .check()
        .unwrap();
    let fit = params.fit(&data, loss, Mu::new().epsilon(Epsilon::Sklearn)).unwrap();
    assert_eq!(fit.iterations, iters);
    (fit.state.w, fit.state.h)
}

fn check(tag: &str, iters: usize, w: &Mat<f64>, h: &Mat<f64>, tol: f64) {
    let suffix = if iters == 1 { "_1" } else { "" };
    let ws = read_tsv(&format!("{FIX}/W_{tag}{suffix}.tsv"));
    let hs = read_tsv(&format!("{FIX}/H_{tag}{suffix}.tsv"));
    let (dw, dh) = (rel_diff(w, &ws), rel_diff(h, &hs));
    println!("{tag} after {iters}: rel diff W {dw:.3e}, H {dh:.3e}");
    assert!(dw < tol && dh < tol, "{tag}/{iters}: W {dw:e}, H {dh:e}");
}

#[test]
fn mu_frobenius_matches_sklearn_after_1_and_200_iterations() {
    for dense in [true, false] {
        let (w, h) = fit_from_fixture(Frobenius, 1, dense);
        check("fro", 1, &w, &h, 1e-12);
        let (w, h) = fit_from_fixture(Frobenius, 200, dense);
        check("fro", 200, &w, &h, 1e-6);
    }
}

#[test]
fn mu_kl_matches_sklearn_after_1_and_200_iterations() {
    for dense in [true, false] {
        let (w, h) = fit_from_fixture(KullbackLeibler, 1, dense);
        check("kl", 1, &w, &h, 1e-12);
        let (w, h) = fit_from_fixture(KullbackLeibler, 200, dense);
        check("kl", 200, &w, &h, 1e-6);
    }
}

/// Our own NNDSVDa start (seeded randomized SVD) and default ε: the KL after 200 MU-KL
/// iterations is within 1% of sklearn's from its own NNDSVDa start.
#[test]
fn mu_kl_from_our_nndsvda_is_within_one_percent_of_sklearn() {
    let text = std::fs::read_to_string(common::repo_path(&format!("{FIX}/nndsvda_reference.tsv"))).unwrap();
    let reference: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("kl_divergence_after_200_kl\t"))
        .expect("reference line")
        .trim()
        .parse()
        .unwrap();
    let data = Data::sparse(pbmc_small::<f64>()).unwrap();
    let params = NmfParams::new(3)
        .init(Init::NndsvdA)
        .max_iter(200)
        .tol(0.0)
        .check()
        .unwrap();
    let fit = params.fit(&data, KullbackLeibler, Mu::new()).unwrap();
    let ours = fit.evaluation.objective;
    let rel = (ours - reference) / reference;
    println!("KL after 200 MU-KL iterations: ours {ours:.6}, sklearn {reference:.6}, relative {rel:+.4e}");
    assert!(rel.abs() < 0.01, "ours {ours}, sklearn {reference}");
}
