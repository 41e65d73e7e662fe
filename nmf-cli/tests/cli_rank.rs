//! `nmf rank` and `nmf fit --consensus` end to end: files per CONTRACT.md, the planted rank
//! found, thread-count independence, and exit code 2 with one line for bad ranges.

mod common;

use common::{nmf, ok, read};

use std::path::Path;
use std::process::Output;

use serde_json::Value;

/// A planted problem with 3 modules, as `nmf simulate` writes it.
fn simulate(dir: &Path) -> String {
    let out = dir.join("sim");
    ok(&nmf(&[
        "simulate",
        "--features",
        "150",
        "--samples",
        "60",
        "--modules",
        "3",
        "--depth",
        "1500",
        "--seed",
        "4",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]));
    out.join("X.mtx").to_str().unwrap().to_string()
}

fn rank_run(x: &str, out: &Path, threads: &str) -> Output {
    nmf(&[
        "rank",
        x,
        "--ranks",
        "2..5",
        "--restarts",
        "4",
        "--max-iter",
        "150",
        "--loss",
        "kl",
        "--cv-fraction",
        "0.1",
        "--threads",
        threads,
        "--seed",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn rank_writes_table_plot_and_summary_and_finds_the_planted_rank() {
    let dir = tempfile::tempdir().unwrap();
    let x = simulate(dir.path());
    let out = dir.path().join("rank");
    ok(&rank_run(&x, &out, "2"));
    let tsv = read(&out.join("rank.tsv"));
    let mut lines = tsv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "rank\tcophenetic\tdispersion\tcv_error\tcv_error_sd\tbcv_error\tstability\tsilhouette"
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split('\t').map(|v| v.parse::<f64>().unwrap()).collect())
        .collect();
    assert_eq!(rows.iter().map(|r| r[0] as usize).collect::<Vec<_>>(), vec![2, 3, 4, 5]);
    for r in &rows {
        assert!(r.iter().all(|v| v.is_finite()), "{r:?}");
        assert!((0.0..=1.0).contains(&r[2]) && r[1] <= 1.0 + 1e-12 && r[6] <= 1.0 + 1e-9);
    }
    // The planted modules are crisp: a near-perfect consensus at k = 3.
    assert!(rows[1][1] > 0.99 && rows[1][2] > 0.95, "{:?}", rows[1]);
    let svg = read(&out.join("rank.svg"));
    assert!(svg.starts_with("<svg") && svg.contains("cophenetic") && svg.contains("masked CV error"));
    let s: Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    assert_eq!(s["suggested_rank"], 3, "{s}");
    assert_eq!(s["rule"], "cv_minimum");
    assert!(s["explanation"].as_str().unwrap().contains("rank 3"));
    assert_eq!(s["candidates"]["bcv_minimum"], 3);
    assert_eq!(s["ranks"].as_array().unwrap().len(), 4);
    assert_eq!(s["ranks"][0]["objectives"].as_array().unwrap().len(), 4);
    assert_eq!((s["features"].as_u64(), s["samples"].as_u64()), (Some(150), Some(60)));
    assert_eq!(s["consensus_subsampled"], false);
    // Sparse input: CV says it fitted a dense copy.
    assert!(s["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("dense copy")));

    // Same seed, one thread: the same table.
    let out1 = dir.path().join("rank1");
    ok(&rank_run(&x, &out1, "1"));
    assert_eq!(read(&out1.join("rank.tsv")), tsv);
}

#[test]
fn bad_ranges_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let x = simulate(dir.path());
    let out = dir.path().join("r");
    for (ranks, needle) in [
        ("0..3", "rank 0"),
        ("5..2", "empty range"),
        ("2..200", "larger than min(features, samples) = min(150, 60)"),
        ("3,2", "must increase"),
        ("two..4", "not a whole number"),
    ] {
        let o = nmf(&["rank", &x, "--ranks", ranks, "--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{ranks}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{ranks}: {err}");
    }
    let o = nmf(&[
        "rank",
        &x,
        "--ranks",
        "2..3",
        "--init",
        "nndsvda",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = nmf(&[
        "rank",
        &x,
        "--ranks",
        "2..3",
        "--restarts",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("restarts"));
}

#[test]
fn fit_consensus_writes_the_consensus_factors() {
    let dir = tempfile::tempdir().unwrap();
    let x = simulate(dir.path());
    let out = dir.path().join("c");
    ok(&nmf(&[
        "fit",
        &x,
        "--rank",
        "3",
        "--consensus",
        "8",
        "--loss",
        "kl",
        "--max-iter",
        "150",
        "--threads",
        "2",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]));
    let w = read(&out.join("W.tsv"));
    let rows: Vec<Vec<f64>> = w
        .lines()
        .skip(1)
        .map(|l| l.split('\t').skip(1).map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 150);
    for l in 0..3 {
        let sum: f64 = rows.iter().map(|r| r[l]).sum();
        assert!((sum - 1.0).abs() < 1e-9, "column {l} sums to {sum}");
    }
    assert_eq!(read(&out.join("H.tsv")).lines().count(), 61);
    assert!(read(&out.join("history.tsv")).starts_with("iteration\tseconds\tobjective"));
    assert!(read(&out.join("convergence.svg")).starts_with("<svg"));
    let s: Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    assert_eq!(s["factors"], "consensus");
    assert_eq!(s["init"], "random");
    assert_eq!(s["consensus"]["restarts"], 8);
    assert_eq!(s["consensus"]["spectra"], 24);
    assert!(s["consensus"]["silhouette"].as_f64().unwrap() > 0.8);
    assert_eq!(s["restarts"].as_array().unwrap().len(), 8);
    // The consensus fits the planted data about as well as a single converged run.
    assert!(s["relative_error"].as_f64().unwrap() < 0.5, "{s}");
    for key in [
        "objective",
        "kl_divergence",
        "kkt_residual",
        "iterations",
        "seconds",
        "version",
    ] {
        assert!(!s[key].is_null(), "{key}");
    }

    let o = nmf(&[
        "fit",
        &x,
        "--rank",
        "3",
        "--consensus",
        "4",
        "--restarts",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = nmf(&[
        "fit",
        &x,
        "--rank",
        "3",
        "--consensus",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}
