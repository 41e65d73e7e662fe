//! Every solver from the command line, unsupported combinations, and `nmf transform`.

mod common;

use common::{nmf, repo};

use std::path::Path;

fn pbmc_small() -> String {
    repo("data/pbmc_small/counts.mtx")
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn table(p: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split('\t').skip(1).map(|v| v.parse().unwrap()).collect())
        .collect()
}

#[test]
fn every_solver_fits_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    for (solver, loss) in [
        ("mu", "frobenius"),
        ("mu", "kl"),
        ("pgd", "frobenius"),
        ("pgd", "kl"),
        ("pgd-alt", "frobenius"),
        ("admm", "frobenius"),
        ("hals", "frobenius"),
        ("anls", "frobenius"),
        ("cd", "frobenius"),
        ("cd", "kl"),
    ] {
        let out = tmp.path().join(format!("{solver}-{loss}"));
        let o = nmf(&[
            "fit",
            &pbmc_small(),
            "--transpose",
            "-k",
            "3",
            "--solver",
            solver,
            "--loss",
            loss,
            "--max-iter",
            "300",
            "-o",
            out.to_str().unwrap(),
            "-q",
        ]);
        assert!(
            o.status.success(),
            "{solver}/{loss}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let s = summary(&out);
        assert_eq!(s["solver"], solver);
        let rel = s["relative_error"].as_f64().unwrap();
        if loss == "kl" {
            // sklearn's MU-KL ends at KL 14271 from its NNDSVDa start (fixtures/sklearn).
            let kl = s["kl_divergence"].as_f64().unwrap();
            assert!(kl < 1.1 * 14271.29, "{solver}/{loss}: KL {kl}");
        } else {
            // sklearn cd reaches 0.5405 on this problem (k = 3).
            assert!(rel < 0.56, "{solver}/{loss}: relative error {rel}");
        }
        assert!(s["kkt_residual"].as_f64().unwrap().is_finite());
    }
}

#[test]
fn extrapolated_hals_and_anls_never_raise_the_objective() {
    let tmp = tempfile::tempdir().unwrap();
    // 40 iterations of `solver` on pbmc_small, k = 3, with `extra` flags; the summary.
    let fit = |solver: &str, name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let mut args = vec![
            "fit",
            "--transpose",
            "-k",
            "3",
            "--solver",
            solver,
            "--tol",
            "0",
            "--max-iter",
            "40",
        ];
        args.extend_from_slice(extra);
        let input = pbmc_small();
        args.extend_from_slice(&[&input, "-o", out.to_str().unwrap(), "-q"]);
        let o = nmf(&args);
        assert!(o.status.success(), "{solver}: {}", String::from_utf8_lossy(&o.stderr));
        out
    };
    for solver in ["hals", "anls"] {
        let out = fit(solver, solver, &["--extrapolate"]);
        let s = summary(&out);
        assert_eq!(s["extrapolate"], true);
        assert!(
            s["relative_error"].as_f64().unwrap() < 0.56,
            "{solver}: {}",
            s["relative_error"]
        );
        let history = std::fs::read_to_string(out.join("history.tsv")).unwrap();
        let objectives: Vec<f64> = history
            .lines()
            .skip(1)
            .map(|l| l.split('\t').nth(2).unwrap().parse().unwrap())
            .collect();
        assert_eq!(objectives.len(), 41);
        assert!(
            objectives.windows(2).all(|p| p[1] <= p[0] * (1.0 + 1e-12)),
            "{solver}: {objectives:?}"
        );
        // The flag changes the iterates: a plain run of the same length ends elsewhere.
        let p = summary(&fit(solver, &format!("{solver}-plain"), &[]));
        assert_eq!(p["extrapolate"], false);
        assert_ne!(
            p["objective"], s["objective"],
            "{solver}: --extrapolate changed nothing"
        );
    }
}

#[test]
fn unsupported_combinations_exit_2_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("x");
    for args in [
        vec!["--solver", "hals", "--loss", "kl"],
        vec!["--solver", "anls", "--loss", "beta=1.5"],
        vec!["--solver", "cd", "--loss", "is"],
        vec!["--solver", "hals", "--simplex-w"],
        vec!["--solver", "mu", "--extrapolate"],
    ] {
        let input = pbmc_small();
        let mut full = vec!["fit", &input, "--transpose", "-k", "2", "-o", out.to_str().unwrap()];
        full.extend(args.iter().copied());
        let o = nmf(&full);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

#[test]
fn transform_with_the_fitted_basis_reproduces_h() {
    let tmp = tempfile::tempdir().unwrap();
    let fit = tmp.path().join("fit");
    let o = nmf(&[
        "fit",
        &pbmc_small(),
        "--transpose",
        "-k",
        "3",
        "--solver",
        "anls",
        "--tol",
        "1e-9",
        "--max-iter",
        "2000",
        "-o",
        fit.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let new = tmp.path().join("new");
    let basis = fit.join("W.tsv");
    let o = nmf(&[
        "transform",
        &pbmc_small(),
        "--transpose",
        "--basis",
        basis.to_str().unwrap(),
        "-o",
        new.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (table(&fit.join("H.tsv")), table(&new.join("H.tsv")));
    assert_eq!(a.len(), 80);
    let (mut num, mut den) = (0.0, 0.0);
    for (ra, rb) in a.iter().zip(&b) {
        for (x, y) in ra.iter().zip(rb) {
            num += (x - y) * (x - y);
            den += x * x;
        }
    }
    assert!(
        (num / den).sqrt() < 1e-5,
        "transform differs from the fitted H by {}",
        (num / den).sqrt()
    );
    let s = summary(&new);
    assert_eq!(s["rank"], 3);
    // A basis with the wrong number of features is bad input.
    let o = nmf(&[
        "transform",
        &pbmc_small(),
        "--basis",
        basis.to_str().unwrap(),
        "-o",
        new.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("features"));
}
