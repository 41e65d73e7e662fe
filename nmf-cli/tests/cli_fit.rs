//! `nmf fit` end to end: outputs per CONTRACT.md, determinism, and exit code 2 with a
//! one-line reason for every bad-input class.

mod common;

use common::{nmf, read, repo};

use std::path::PathBuf;
use std::process::Output;

fn pbmc_small() -> String {
    repo("data/pbmc_small/counts.mtx")
}

fn out_dir(tmp: &tempfile::TempDir, name: &str) -> PathBuf {
    tmp.path().join(name)
}

/// Exit 2, and stderr is exactly one line that mentions `needle`.
fn assert_bad_input(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(
        err.to_lowercase().contains(&needle.to_lowercase()),
        "{needle:?} not in {err}"
    );
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"));
}

#[test]
fn fit_writes_every_contract_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp, "o");
    let o = nmf(&[
        "fit",
        &pbmc_small(),
        "--transpose",
        "--rank",
        "3",
        "--loss",
        "kl",
        "--feature-names",
        &repo("data/pbmc_small/genes.csv"),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let w = read(&out.join("W.tsv"));
    let mut lines = w.lines();
    assert_eq!(lines.next().unwrap(), "feature\tfactor_1\tfactor_2\tfactor_3");
    assert!(lines.next().unwrap().starts_with("MS4A1\t"));
    assert_eq!(w.lines().count(), 231);
    let h = read(&out.join("H.tsv"));
    assert_eq!(h.lines().next().unwrap(), "sample\tfactor_1\tfactor_2\tfactor_3");
    assert_eq!(h.lines().count(), 81);
    for line in w.lines().skip(1).chain(h.lines().skip(1)) {
        for v in line.split('\t').skip(1) {
            let x: f64 = v.parse().unwrap();
            assert!(x >= 0.0 && x.is_finite());
        }
    }
    let svg = read(&out.join("convergence.svg"));
    assert!(
        svg.starts_with("<svg") && svg.contains("mu"),
        "convergence.svg is not a labelled plot"
    );
    let hist = read(&out.join("history.tsv"));
    assert_eq!(
        hist.lines().next().unwrap(),
        "iteration\tseconds\tobjective\trelative_error\tkkt_residual"
    );
    assert!(hist.lines().nth(1).unwrap().starts_with("0\t"));
    let s: serde_json::Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    for key in [
        "solver",
        "loss",
        "rank",
        "features",
        "samples",
        "nnz",
        "iterations",
        "seconds",
        "converged",
        "stop_reason",
        "objective",
        "relative_error",
        "kl_divergence",
        "kkt_residual",
        "seed",
        "threads",
        "version",
    ] {
        assert!(!s[key].is_null(), "summary.json lacks {key}: {s}");
    }
    assert_eq!(s["solver"], "mu");
    assert_eq!(s["loss"], "kl");
    assert_eq!(
        (s["features"].as_u64(), s["samples"].as_u64(), s["nnz"].as_u64()),
        (Some(230), Some(80), Some(4456))
    );
    assert_eq!(s["objective"], s["kl_divergence"]);
    let iterations = s["iterations"].as_u64().unwrap() as usize;
    assert_eq!(hist.lines().count(), iterations + 2);
    assert!(s["relative_error"].as_f64().unwrap() < 0.7);
}

#[test]
fn same_seed_gives_byte_identical_factors() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, seed: &str, extra: &[&str]| {
        let out = out_dir(&tmp, name);
        let input = pbmc_small();
        let o_str = out.to_str().unwrap().to_string();
        let mut full = vec![
            "fit",
            &input,
            "--transpose",
            "--rank",
            "4",
            "--init",
            "random",
            "--seed",
            seed,
        ];
        full.extend_from_slice(extra);
        full.extend(["--out", &o_str, "-q"]);
        let o = nmf(&full);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (
            std::fs::read(out.join("W.tsv")).unwrap(),
            std::fs::read(out.join("H.tsv")).unwrap(),
        )
    };
    let a = run("a", "7", &[]);
    let b = run("b", "7", &[]);
    assert!(a == b, "same seed, different output");
    let c = run("c", "8", &[]);
    assert!(a.0 != c.0, "different seeds, same output");
    let d = run("d", "7", &["--f32", "--loss", "kl"]);
    let e = run("e", "7", &["--f32", "--loss", "kl"]);
    assert!(d == e, "f32: same seed, different output");
}

#[test]
fn restarts_keep_the_best_and_report_all() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp, "r");
    let o = nmf(&[
        "fit",
        &pbmc_small(),
        "--transpose",
        "-k",
        "3",
        "--init",
        "random",
        "--restarts",
        "3",
        "-o",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success());
    let s: serde_json::Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    let runs = s["restarts"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    let best = runs
        .iter()
        .map(|r| r["objective"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(s["objective"].as_f64().unwrap(), best);
}

#[test]
fn csv_with_missing_values_needs_mask_and_then_fits() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("x.csv");
    let mut text = String::from("sample,a,b,c,d,e\n");
    for i in 0..12 {
        let row: Vec<String> = (0..5)
            .map(|j| {
                if (i + j) % 7 == 3 {
                    String::new()
                } else {
                    format!("{}", 1 + (i * j) % 5 + i % 3)
                }
            })
            .collect();
        text.push_str(&format!("s{i},{}\n", row.join(",")));
    }
    std::fs::write(&csv, text).unwrap();
    let out = out_dir(&tmp, "m");
    let base = [
        "fit",
        csv.to_str().unwrap(),
        "--transpose",
        "-k",
        "2",
        "-o",
        out.to_str().unwrap(),
        "-q",
    ];
    assert_bad_input(&nmf(&base), "missing");
    let mut masked = base.to_vec();
    masked.extend(["--missing", "mask"]);
    let o = nmf(&masked);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: serde_json::Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    assert!(s["observed_entries"].as_u64().unwrap() < 60);
    assert!(read(&out.join("H.tsv")).lines().nth(1).unwrap().starts_with("s0\t"));
    assert!(read(&out.join("W.tsv")).lines().nth(1).unwrap().starts_with("a\t"));
}

#[test]
fn every_bad_input_class_exits_2_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp, "bad");
    let o = out.to_str().unwrap();
    let write = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let negative = write("neg.csv", "f,s1,s2,s3\ng1,1,2,3\ng2,4,-5,6\ng3,1,1,1\n");
    assert_bad_input(&nmf(&["fit", &negative, "-k", "1", "-o", o]), "negative");
    let nan_npy_like = write(
        "nan.mtx",
        "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 NaN\n2 2 1\n",
    );
    assert_bad_input(&nmf(&["fit", &nan_npy_like, "-k", "1", "-o", o]), "non-finite");
    let empty = write("empty.mtx", "");
    assert_bad_input(&nmf(&["fit", &empty, "-k", "1", "-o", o]), "empty");
    let truncated = write(
        "trunc.mtx",
        "%%MatrixMarket matrix coordinate integer general\n3 3 4\n1 1 2\n2 2 3\n",
    );
    assert_bad_input(&nmf(&["fit", &truncated, "-k", "1", "-o", o]), "trunc");
    let zeros = write("zeros.csv", "f,s1,s2\ng1,0,0\ng2,0,0\n");
    assert_bad_input(&nmf(&["fit", &zeros, "-k", "1", "-o", o]), "zero");
    assert_bad_input(&nmf(&["fit", "no/such/file.mtx", "-k", "1", "-o", o]), "no such file");
    assert_bad_input(&nmf(&["fit", &pbmc_small(), "-k", "0", "-o", o]), "rank");
    assert_bad_input(&nmf(&["fit", &pbmc_small(), "-k", "81", "-o", o]), "rank 81 is larger");
    assert_bad_input(
        &nmf(&["fit", &pbmc_small(), "-k", "2", "--loss", "hinge", "-o", o]),
        "loss",
    );
    assert_bad_input(
        &nmf(&["fit", &pbmc_small(), "-k", "2", "--solver", "magic", "-o", o]),
        "solver",
    );
    assert_bad_input(&nmf(&["fit", &pbmc_small(), "-k", "2", "--tol=-1", "-o", o]), "tol");
    assert_bad_input(&nmf(&["fit", &pbmc_small(), "-k", "2", "--l1-h=-3", "-o", o]), "l1_h");
    assert_bad_input(
        &nmf(&["fit", &pbmc_small(), "-k", "2", "--loss", "is", "-o", o]),
        "zero",
    );
    assert_bad_input(
        &nmf(&["fit", &pbmc_small(), "-k", "2", "--restarts", "0", "-o", o]),
        "restarts",
    );
    assert_bad_input(
        &nmf(&["fit", &pbmc_small(), "-k", "2", "-o", o, "--feature-names", &negative]),
        "names",
    );
}
