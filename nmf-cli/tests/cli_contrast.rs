//! `nmf contrast` end to end: the outputs of CONTRACT.md, determinism, the α sweep, and exit
//! code 2 with a one-line reason for misaligned features and bad flags.

mod common;

use common::{nmf, ok, read};

use std::path::Path;
use std::process::Output;

fn fails_with(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "'{needle}' not in: {err}");
}

/// A simulated target/background pair in `dir`: X.mtx and Y.mtx, 150 features.
fn pair(dir: &Path) {
    let d = dir.to_str().unwrap();
    ok(&nmf(&[
        "simulate",
        "--features",
        "150",
        "--samples",
        "60",
        "--modules",
        "3",
        "--background-samples",
        "50",
        "--enriched",
        "1",
        "--seed",
        "4",
        "--out",
        d,
        "-q",
    ]));
}

/// Rows of a TSV table after its header, each split into the label and its numbers.
fn table(text: &str) -> (Vec<String>, Vec<(String, Vec<f64>)>) {
    let mut lines = text.lines();
    let header = lines.next().unwrap().split('\t').map(String::from).collect();
    let rows = lines
        .map(|l| {
            let mut f = l.split('\t');
            let name = f.next().unwrap().to_string();
            (name, f.map(|v| v.parse::<f64>().unwrap()).collect())
        })
        .collect();
    (header, rows)
}

#[test]
fn contrast_writes_the_contract_outputs_deterministically() {
    let tmp = tempfile::tempdir().unwrap();
    pair(tmp.path());
    let (x, y) = (tmp.path().join("X.mtx"), tmp.path().join("Y.mtx"));
    for (loss, k) in [("frobenius", "3"), ("kl", "2")] {
        let out = tmp.path().join(format!("bc_{loss}"));
        let run = || {
            nmf(&[
                "contrast",
                x.to_str().unwrap(),
                y.to_str().unwrap(),
                "--rank",
                k,
                "--alpha",
                "0.5",
                "--loss",
                loss,
                "--max-iter",
                "40",
                "--restarts",
                "2",
                "--out",
                out.to_str().unwrap(),
                "-q",
            ])
        };
        ok(&run());
        let k: usize = k.parse().unwrap();
        let (h, w_rows) = table(&read(&out.join("W.tsv")));
        assert_eq!(h.len(), k + 1);
        assert_eq!(w_rows.len(), 150);
        assert!(w_rows.iter().all(|(_, v)| v.len() == k && v.iter().all(|x| *x >= 0.0)));
        let (_, hx) = table(&read(&out.join("H_target.tsv")));
        let (_, hy) = table(&read(&out.join("H_background.tsv")));
        assert_eq!((hx.len(), hy.len()), (60, 50));
        let history = read(&out.join("history.tsv"));
        assert!(history.starts_with("iteration\tseconds\tobjective\trelative_error\tkkt_residual"));
        assert!(history.lines().count() >= 2);
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
            assert!(s.get(key).is_some(), "summary.json lacks {key}");
        }
        assert_eq!(s["alpha"], 0.5);
        assert_eq!(s["background_samples"], 50);
        assert_eq!(s["starts"].as_array().unwrap().len(), 2);
        // J = D_X − α D_Y, as reported.
        let (j, dx, dy) = (
            s["objective"].as_f64().unwrap(),
            s["d_target"].as_f64().unwrap(),
            s["d_background"].as_f64().unwrap(),
        );
        assert!((j - (dx - 0.5 * dy)).abs() <= 1e-9 * dx.abs().max(1.0));
        let first = read(&out.join("W.tsv"));
        ok(&run());
        assert_eq!(read(&out.join("W.tsv")), first, "same seed, same W");
    }
}

#[test]
fn alpha_sweep_writes_one_run_per_alpha_and_a_table() {
    let tmp = tempfile::tempdir().unwrap();
    pair(tmp.path());
    let (x, y) = (tmp.path().join("X.mtx"), tmp.path().join("Y.mtx"));
    let out = tmp.path().join("sweep");
    ok(&nmf(&[
        "contrast",
        x.to_str().unwrap(),
        y.to_str().unwrap(),
        "--rank",
        "3",
        "--alpha",
        "0,1.5",
        "--restarts",
        "2",
        "--max-iter",
        "30",
        "--top",
        "4",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]));
    let sweep = read(&out.join("sweep.tsv"));
    let mut lines = sweep.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(
        &header[..7],
        [
            "alpha",
            "objective",
            "d_target",
            "d_background",
            "stability",
            "heldout_relative_error",
            "heldout_divergence_per_sample"
        ]
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 2);
    for (row, alpha) in rows.iter().zip(["0", "1.5"]) {
        assert_eq!(row[0], alpha);
        let stability: f64 = row[4].parse().unwrap();
        let heldout: f64 = row[5].parse().unwrap();
        assert!(stability > 0.0 && stability <= 1.0 + 1e-12, "{stability}");
        assert!(heldout > 0.0 && heldout < 2.0, "{heldout}");
        let dir = out.join(format!("alpha_{alpha}"));
        for f in [
            "W.tsv",
            "H_target.tsv",
            "H_background.tsv",
            "history.tsv",
            "summary.json",
            "topics.tsv",
        ] {
            assert!(dir.join(f).exists(), "{}/{f}", dir.display());
        }
        let s: serde_json::Value = serde_json::from_str(&read(&dir.join("summary.json"))).unwrap();
        // serde_json's default float parsing is not correctly rounded: compare to 1 ulp-ish.
        assert!((s["stability"].as_f64().unwrap() - stability).abs() < 1e-14);
        assert_eq!(s["heldout"]["samples"], 12, "20% of 60 target samples");
        // topics.tsv: one row per topic, sorted by t, with 4 named top features each.
        let topics = read(&dir.join("topics.tsv"));
        let t: Vec<Vec<&str>> = topics.lines().skip(1).map(|l| l.split('\t').collect()).collect();
        assert_eq!(t.len(), 3);
        let ts: Vec<f64> = t.iter().map(|r| r[1].parse().unwrap()).collect();
        assert!(ts.windows(2).all(|w| w[0] >= w[1]), "{ts:?}");
        assert!(t
            .iter()
            .all(|r| r[6].split(',').count() == 4 && r[6].starts_with("feature_")));
        // history.tsv carries the per-term columns and the collapse count.
        assert!(read(&dir.join("history.tsv"))
            .lines()
            .next()
            .unwrap()
            .ends_with("d_target\td_background\tcollapsed_features"));
    }
}

#[test]
fn contrast_rejects_misaligned_features_and_bad_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // Rows are samples (--transpose); headers are the feature names.
    std::fs::write(t.join("x.csv"), "id,a,b,c\ns1,1,2,3\ns2,2,1,0\ns3,0,1,4\n").unwrap();
    std::fs::write(t.join("y_names.csv"), "id,a,c,b\nb1,1,2,3\nb2,2,1,0\n").unwrap();
    std::fs::write(t.join("y_count.csv"), "id,a,b\nb1,1,2\nb2,2,1\n").unwrap();
    let p = |n: &str| t.join(n).to_str().unwrap().to_string();
    let out = p("out");
    let base = |y: &str, extra: &[&str]| {
        let mut a = vec!["contrast".to_string(), p("x.csv"), p(y), "--transpose".into()];
        a.extend(["--rank", "1", "--out", &out, "-q"].map(String::from));
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run = |a: Vec<String>| nmf(&a.iter().map(String::as_str).collect::<Vec<_>>());
    fails_with(&run(base("y_names.csv", &["--alpha", "1"])), "feature 1 is named");
    fails_with(&run(base("y_count.csv", &["--alpha", "1"])), "target has 3 features");
    fails_with(&run(base("x.csv", &["--alpha", "-1"])), "alpha");
    fails_with(&run(base("x.csv", &["--alpha", "1,x"])), "'x' is not a number");
    fails_with(&run(base("x.csv", &["--alpha", "1", "--damping", "0"])), "damping");
    fails_with(&run(base("x.csv", &["--alpha", "1", "--restarts", "0"])), "--restarts");
    fails_with(&run(base("x.csv", &["--alpha", "1,2", "--holdout", "1"])), "holdout");
    fails_with(
        &run(base("x.csv", &["--alpha", "1", "--batch-size", "0"])),
        "batch_size",
    );
    ok(&run(base("x.csv", &["--alpha", "1", "--max-iter", "5"])));
    let big = vec![
        "contrast".to_string(),
        p("x.csv"),
        p("x.csv"),
        "--transpose".into(),
        "--rank".into(),
        "4".into(),
        "--alpha".into(),
        "1".into(),
        "--out".into(),
        out.clone(),
    ];
    fails_with(&run(big), "rank");
}
