//! `nmf simulate` end to end: outputs per CONTRACT.md, read back by `nmf fit`, determinism,
//! and exit code 2 with a one-line reason for bad flags.

mod common;

use common::{nmf, ok, read};

/// Parses a Matrix Market coordinate integer file: (rows, cols, entries).
fn parse_mtx(text: &str) -> (usize, usize, Vec<(usize, usize, u64)>) {
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "%%MatrixMarket matrix coordinate integer general"
    );
    let mut lines = lines.filter(|l| !l.starts_with('%'));
    let size: Vec<usize> = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    let entries: Vec<(usize, usize, u64)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].parse().unwrap(), f[1].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect();
    assert_eq!(entries.len(), size[2]);
    for &(i, j, v) in &entries {
        assert!((1..=size[0]).contains(&i) && (1..=size[1]).contains(&j) && v >= 1);
    }
    (size[0], size[1], entries)
}

/// A factor table: header, then `names` rows of `k` non-negative numbers.
fn check_table(text: &str, label: &str, prefix: &str, rows: usize, k: usize) -> Vec<Vec<f64>> {
    let mut lines = text.lines();
    let header: Vec<String> = std::iter::once(label.to_string())
        .chain((1..=k).map(|l| format!("factor_{l}")))
        .collect();
    assert_eq!(lines.next().unwrap(), header.join("\t"));
    let body: Vec<Vec<f64>> = lines
        .enumerate()
        .map(|(i, l)| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f[0], format!("{prefix}_{}", i + 1));
            f[1..].iter().map(|v| v.parse::<f64>().unwrap()).collect()
        })
        .collect();
    assert_eq!(body.len(), rows);
    assert!(body
        .iter()
        .all(|r| r.len() == k && r.iter().all(|v| *v >= 0.0 && v.is_finite())));
    body
}

#[test]
fn simulate_writes_the_contract_outputs_and_fit_reads_them() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sim");
    let o = nmf(&[
        "simulate",
        "--features",
        "150",
        "--samples",
        "60",
        "--modules",
        "3",
        "--depth",
        "800",
        "--overlap",
        "0.1",
        "--dispersion",
        "0.1",
        "--seed",
        "4",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    ok(&o);
    assert!(o.stderr.is_empty());
    let (m, n, entries) = parse_mtx(&read(&out.join("X.mtx")));
    assert_eq!((m, n), (150, 60));
    let w = check_table(&read(&out.join("W_true.tsv")), "feature", "feature", 150, 3);
    for l in 0..3 {
        let s: f64 = w.iter().map(|r| r[l]).sum();
        assert!((s - 1.0).abs() < 1e-9, "W column {l} sums to {s}");
    }
    check_table(&read(&out.join("H_true.tsv")), "sample", "sample", 60, 3);
    let labels = read(&out.join("labels.tsv"));
    assert_eq!(labels.lines().next().unwrap(), "sample\tlabel");
    assert_eq!(labels.lines().count(), 61);
    assert!(labels
        .lines()
        .skip(1)
        .all(|l| ["factor_1", "factor_2", "factor_3"].contains(&l.split('\t').nth(1).unwrap())));
    let summary: serde_json::Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    assert_eq!(summary["nnz"], entries.len());
    assert_eq!(summary["seed"], 4);
    assert_eq!(summary["modules"], 3);
    assert_eq!(summary["count_model"], "negative_binomial");
    assert!(summary["version"].is_string());
    assert!(!out.join("Y.mtx").exists());

    // `nmf fit` reads X.mtx as stored (features × samples).
    let fit = tmp.path().join("fit");
    ok(&nmf(&[
        "fit",
        out.join("X.mtx").to_str().unwrap(),
        "--rank",
        "3",
        "--loss",
        "kl",
        "--out",
        fit.to_str().unwrap(),
        "--quiet",
    ]));
    assert_eq!(read(&fit.join("W.tsv")).lines().count(), 151);
    assert_eq!(read(&fit.join("H.tsv")).lines().count(), 61);
}

#[test]
fn background_pair_writes_y_and_the_enriched_modules() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pair");
    ok(&nmf(&[
        "simulate",
        "--features",
        "200",
        "--samples",
        "80",
        "--modules",
        "4",
        "--background-samples",
        "50",
        "--enriched",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]));
    let (m, n, _) = parse_mtx(&read(&out.join("Y.mtx")));
    assert_eq!((m, n), (200, 50));
    assert_eq!(parse_mtx(&read(&out.join("X.mtx"))).0, 200);
    assert_eq!(read(&out.join("enriched.tsv")), "factor\nfactor_3\nfactor_4\n");
    let hb = check_table(&read(&out.join("H_background_true.tsv")), "sample", "sample", 50, 4);
    assert!(hb.iter().all(|r| r[2] == 0.0 && r[3] == 0.0));
    check_table(&read(&out.join("H_true.tsv")), "sample", "sample", 80, 4);
    let labels = read(&out.join("labels.tsv"));
    assert_eq!(labels.lines().next().unwrap(), "sample\tlabel\tenriched");
    let carriers = labels
        .lines()
        .skip(1)
        .filter(|l| l.split('\t').nth(2).unwrap() != "none")
        .count();
    assert_eq!(carriers, 40);
    let summary: serde_json::Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    assert_eq!(summary["background_samples"], 50);
    assert_eq!(summary["enriched_factors"], serde_json::json!(["factor_3", "factor_4"]));
    let fit = tmp.path().join("fit");
    ok(&nmf(&[
        "fit",
        out.join("Y.mtx").to_str().unwrap(),
        "--rank",
        "2",
        "--out",
        fit.to_str().unwrap(),
        "--quiet",
    ]));
}

#[test]
fn same_seed_gives_byte_identical_files() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, seed: &str| {
        let out = tmp.path().join(name);
        ok(&nmf(&[
            "simulate",
            "--features",
            "100",
            "--samples",
            "40",
            "--modules",
            "2",
            "--dirichlet",
            "0.5",
            "--seed",
            seed,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]));
        (
            std::fs::read(out.join("X.mtx")).unwrap(),
            std::fs::read(out.join("H_true.tsv")).unwrap(),
        )
    };
    let (a, b, c) = (run("a", "7"), run("b", "7"), run("c", "8"));
    assert_eq!(a, b);
    assert_ne!(a.0, c.0);
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bad");
    let o = out.to_str().unwrap();
    let base = [
        "simulate",
        "--features",
        "100",
        "--samples",
        "30",
        "--modules",
        "3",
        "--out",
        o,
    ];
    for (extra, needle) in [
        (vec!["--overlap", "1.5"], "--overlap"),
        (vec!["--dispersion", "-1"], "--dispersion"),
        (vec!["--depth", "0"], "--depth"),
        (vec!["--module-fraction", "0.5"], "--module-fraction"),
        (vec!["--dirichlet", "0"], "--dirichlet"),
        (vec!["--enriched", "1"], "--background-samples"),
        (vec!["--background-samples", "10"], "--enriched"),
        (vec!["--background-samples", "10", "--enriched", "3"], "--enriched"),
        (
            vec!["--background-samples", "0", "--enriched", "1"],
            "--background-samples",
        ),
        (vec!["--features", "x"], "--features"),
    ] {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        let r = nmf(&args);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{extra:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{extra:?}: not one line: {err}");
        assert!(err.contains(needle), "{extra:?}: {needle} not in {err}");
    }
    let r = nmf(&["simulate", "--features", "100", "--samples", "30", "--out", o]);
    assert_eq!(r.status.code(), Some(2));
    assert!(!out.exists(), "no output folder for rejected flags");
}

#[test]
fn help_has_an_example() {
    let o = nmf(&["simulate", "--help"]);
    ok(&o);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Example") && text.contains("nmf simulate --features"));
}
