//! `nmf compare` end to end: the built-in planted problem with recovery, a real file without
//! truth, and bad flags.

mod common;

use common::{nmf, read, repo};

use std::path::Path;

use serde_json::Value;

const SOLVERS: [&str; 7] = ["mu", "pgd", "pgd-alt", "admm", "hals", "anls", "cd"];

/// compare.tsv: header plus one row per solver, every cell but the reason parses as needed.
fn check_tsv(dir: &Path, solvers: &[&str], with_recovery: bool) {
    let tsv = read(&dir.join("compare.tsv"));
    let lines: Vec<&str> = tsv.lines().collect();
    assert_eq!(
        lines[0],
        "solver\titerations\tseconds\tobjective\trelative_error\tkl_divergence\tkkt_residual\tstop_reason\tmean_cosine\tmin_cosine\tari"
    );
    assert_eq!(lines.len(), solvers.len() + 1, "{tsv}");
    for (l, s) in lines[1..].iter().zip(solvers) {
        let c: Vec<&str> = l.split('\t').collect();
        assert_eq!(c.len(), 11, "{l}");
        assert_eq!(c[0], *s);
        assert!(c[1..7].iter().all(|x| x.parse::<f64>().is_ok()), "{l}");
        assert!(c[8..].iter().all(|x| x.parse::<f64>().is_ok() == with_recovery), "{l}");
    }
}

fn check_svg(dir: &Path, solvers: &[&str]) {
    let svg = read(&dir.join("convergence.svg"));
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for s in solvers {
        let labels = svg
            .split("<text")
            .filter(|e| {
                e.split_once('>')
                    .is_some_and(|(_, b)| b.split("</text>").next().unwrap().trim() == *s)
            })
            .count();
        assert_eq!(labels, 1, "legend label {s}");
    }
    // Two thick polylines per solver: the curve and its legend key.
    let curves = svg
        .split('<')
        .filter(|e| e.starts_with("polyline") && e.contains("stroke-width=\"2\""))
        .count();
    assert_eq!(curves, 2 * solvers.len());
}

#[test]
fn builtin_problem_runs_every_solver_with_recovery() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("c");
    let o = nmf(&["compare", "--out", out.to_str().unwrap(), "--max-iter", "50"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("oracle ceiling") && stdout.contains("mean_cosine"),
        "{stdout}"
    );

    let json: Vec<Value> = serde_json::from_str(&read(&out.join("compare.json"))).unwrap();
    assert_eq!(json.len(), 7);
    for (v, s) in json.iter().zip(SOLVERS) {
        assert_eq!(v["solver"], s);
        assert_eq!(v["status"], "ok");
        assert_eq!(v["rank"], 6);
        assert!(v["iterations"].as_u64().unwrap() <= 50);
        for key in ["mean_cosine", "min_cosine", "ari"] {
            let x = v["recovery"][key].as_f64().unwrap_or_else(|| panic!("{s}: {key}"));
            assert!(x.is_finite() && x > 0.9, "{s}: {key} = {x}");
        }
        assert!(v["oracle"]["mean_cosine"].as_f64().unwrap() > 0.99);
    }
    check_tsv(&out, &SOLVERS, true);
    check_svg(&out, &SOLVERS);
}

#[test]
fn a_real_file_runs_without_recovery_and_kl_skips() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("p");
    let o = nmf(&[
        "compare",
        &repo("data/pbmc_small/counts.mtx"),
        "--transpose",
        "--rank",
        "3",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.is_empty());
    let json: Vec<Value> = serde_json::from_str(&read(&out.join("compare.json"))).unwrap();
    assert_eq!(json.len(), 7);
    assert!(json.iter().all(|v| v.get("recovery").is_none() && v["status"] == "ok"));
    check_tsv(&out, &SOLVERS, false);
    check_svg(&out, &SOLVERS);

    let out = tmp.path().join("kl");
    let o = nmf(&[
        "compare",
        &repo("data/pbmc_small/counts.mtx"),
        "--transpose",
        "--rank",
        "3",
        "--loss",
        "kl",
        "--solvers",
        "mu,hals,pgd",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: Vec<Value> = serde_json::from_str(&read(&out.join("compare.json"))).unwrap();
    let status: Vec<&str> = json.iter().map(|v| v["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["ok", "skipped", "ok"]);
    assert!(json[1]["reason"].as_str().unwrap().contains("hals"));
    check_svg(&out, &["mu", "pgd"]);
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("x");
    let o_str = out.to_str().unwrap();
    let pbmc = repo("data/pbmc_small/counts.mtx");
    for (args, needle) in [
        (vec!["compare", "--out", o_str, "--solvers", "foo"], "foo"),
        (vec!["compare", "--out", o_str, "--loss", "is"], "loss"),
        (vec!["compare", "--out", o_str, "--time-limit", "0"], "time-limit"),
        (vec!["compare", &pbmc, "--transpose", "--out", o_str], "--rank"),
        (vec!["compare", "--out", o_str, "--rank", "0"], "rank"),
        (vec!["compare", "--out", o_str, "--bogus"], "bogus"),
    ] {
        let o = nmf(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
