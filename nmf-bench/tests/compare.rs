//! The comparison runner on a small planted problem: shared start, recovery for every run,
//! outputs that parse, one curve per solver, skipped runs for unsupported losses.

use nmf_bench::report::{compare_json, compare_tsv, convergence_svg, curve_color, text_table, TSV_COLUMNS};
use nmf_bench::{
    builtin_problem, oracle_ceiling, run_compare, CompareConfig, CompareLoss, RunStatus, SolverKind, Truth,
};
use nmf_core::Data;
use nmf_synth::{simulate, Planted, PlantedSpec};
use serde_json::Value;

fn small() -> (Planted<f64>, Data<f64>) {
    let p = simulate::<f64>(&PlantedSpec::new(150, 80, 4).depth(800.0), 3).unwrap();
    let d = p.data_sparse().unwrap();
    (p, d)
}

fn config() -> CompareConfig {
    let mut cfg = CompareConfig::new(4);
    cfg.max_iter = 60;
    cfg.threads = 1;
    cfg
}

#[test]
fn every_run_starts_from_the_same_point_and_has_recovery() {
    let (p, data) = small();
    let cfg = config();
    let runs = run_compare(&data, &Truth::from_planted(&p), &cfg).unwrap();
    assert_eq!(runs.len(), 7);
    let first = runs[0].fit.as_ref().unwrap().history.rows()[0].objective;
    for r in &runs {
        assert_eq!(r.status, RunStatus::Done, "{}", r.solver);
        let fit = r.fit.as_ref().unwrap();
        let row0 = fit.history.rows()[0];
        assert_eq!(row0.iteration, 0);
        // Identical up to rounding (a solver may balance the columns of W against H in init).
        assert!(
            (row0.objective - first).abs() <= 1e-12 * first,
            "{} did not start from the shared point: {} vs {first}",
            r.solver,
            row0.objective
        );
        assert!(fit.evaluation.objective < first, "{} made no progress", r.solver);
        let rec = r.recovery.unwrap();
        for v in [rec.mean_cosine, rec.min_cosine, rec.ari] {
            assert!(v.unwrap().is_finite(), "{}: {rec:?}", r.solver);
        }
        assert!(rec.mean_cosine.unwrap() > 0.9, "{}: {rec:?}", r.solver);
    }
}

#[test]
fn kl_skips_frobenius_only_solvers_with_a_reason() {
    let (p, data) = small();
    let mut cfg = config();
    cfg.loss = CompareLoss::Kl;
    cfg.solvers = vec![SolverKind::Mu, SolverKind::Hals, SolverKind::Pgd];
    let runs = run_compare(&data, &Truth::from_planted(&p), &cfg).unwrap();
    assert_eq!(runs[0].status, RunStatus::Done);
    assert_eq!(runs[2].status, RunStatus::Done);
    let RunStatus::Skipped(reason) = &runs[1].status else {
        panic!("hals under KL: {:?}", runs[1].status)
    };
    assert!(
        reason.to_lowercase().contains("hals") || reason.contains("Frobenius"),
        "{reason}"
    );
    assert!(runs[1].fit.is_none() && runs[1].recovery.is_none());
    for s in SolverKind::ALL {
        assert_eq!(
            s.supports(CompareLoss::Kl),
            matches!(s, SolverKind::Mu | SolverKind::Pgd)
        );
    }

    let json = compare_json(&data, &cfg, &runs, None);
    assert_eq!(json[1]["status"], "skipped");
    assert!(json[1]["reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(json[0]["loss"], json[1]["loss"]);
    let tsv = compare_tsv(&json);
    assert!(tsv.lines().nth(2).unwrap().contains("\tskipped\t"), "{tsv}");
    // Only finished runs are drawn.
    let svg = convergence_svg("kl", &runs).unwrap();
    assert_eq!(
        svg.matches(&curve_color(1)).count(),
        2 * svg.matches(&curve_color(0)).count() / 2
    );
}

#[test]
fn outputs_parse_and_the_svg_has_one_curve_per_solver() {
    let (p, data) = small();
    let cfg = config();
    let runs = run_compare(&data, &Truth::from_planted(&p), &cfg).unwrap();
    let oracle = oracle_ceiling(&data, p.w_true.as_ref(), p.h_true.as_ref(), cfg.par()).unwrap();
    assert!(oracle.mean > 0.95 && oracle.min <= oracle.mean, "{oracle:?}");

    // compare.json: a list with one summary object per solver, each with recovery.
    let json = compare_json(&data, &cfg, &runs, Some(&oracle));
    let text = serde_json::to_string_pretty(&json).unwrap();
    let back: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(back.len(), 7);
    for (v, s) in back.iter().zip(SolverKind::ALL) {
        assert_eq!(v["solver"], s.name());
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
            assert!(v.get(key).is_some(), "{s}: no {key}");
        }
        for key in ["mean_cosine", "min_cosine", "ari"] {
            assert!(v["recovery"][key].as_f64().is_some_and(f64::is_finite), "{s}: {key}");
        }
        assert!(v["oracle"]["mean_cosine"].as_f64().unwrap() >= v["recovery"]["mean_cosine"].as_f64().unwrap() - 0.05);
        assert_eq!(v["features"], 150);
        assert_eq!(v["samples"], 80);
    }

    // compare.tsv: the header, then one row per run with as many cells.
    let tsv = compare_tsv(&json);
    let lines: Vec<&str> = tsv.lines().collect();
    assert_eq!(lines[0].split('\t').collect::<Vec<_>>(), TSV_COLUMNS);
    assert_eq!(lines.len(), 8);
    for (l, s) in lines[1..].iter().zip(SolverKind::ALL) {
        let cells: Vec<&str> = l.split('\t').collect();
        assert_eq!(cells.len(), TSV_COLUMNS.len());
        assert_eq!(cells[0], s.name());
        for c in [1, 2, 3, 4, 5, 6, 8, 9, 10] {
            assert!(
                cells[c].parse::<f64>().is_ok(),
                "{s}: column {} = {}",
                TSV_COLUMNS[c],
                cells[c]
            );
        }
    }
    let table = text_table(&json);
    assert_eq!(table.lines().count(), 8);
    assert!(table
        .lines()
        .all(|l| l.len() <= table.lines().next().unwrap().len().max(l.len())));

    // convergence.svg: one polyline per curve and one per legend key, in the curve's colour,
    // and each solver's name once as legend text.
    let svg = convergence_svg("test", &runs).unwrap();
    std::fs::write(std::env::temp_dir().join("nmf-bench-test.svg"), &svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for (i, s) in SolverKind::ALL.iter().enumerate() {
        let color = curve_color(i);
        let lines_in_color = svg
            .split('<')
            .filter(|e| e.starts_with("polyline") && e.contains(&format!("stroke=\"{color}\"")))
            .count();
        assert_eq!(lines_in_color, 2, "{s}: curve + legend key in {color}");
        let labels = svg
            .split("<text")
            .skip(1)
            .filter(|e| {
                e.split_once('>')
                    .is_some_and(|(_, body)| body.split("</text>").next().unwrap().trim() == s.name())
            })
            .count();
        assert_eq!(labels, 1, "{s} legend label");
    }
}

#[test]
fn the_builtin_problem_has_truth_and_a_high_oracle_ceiling() {
    let p = builtin_problem();
    assert_eq!((p.w_true.nrows(), p.h_true.ncols(), p.w_true.ncols()), (1000, 500, 6));
    let data = p.data_sparse().unwrap();
    let o = oracle_ceiling(&data, p.w_true.as_ref(), p.h_true.as_ref(), nmf_core::faer::Par::Seq).unwrap();
    assert!(o.mean > 0.98 && o.min > 0.95, "{o:?}");
}

#[test]
fn solver_names_round_trip_and_bad_names_are_rejected() {
    for s in SolverKind::ALL {
        assert_eq!(s.name().parse::<SolverKind>().unwrap(), s);
        assert_eq!(s.to_string(), s.name());
    }
    assert_eq!(SolverKind::parse_list("all").unwrap().len(), 7);
    assert_eq!(
        SolverKind::parse_list("hals, anls").unwrap(),
        vec![SolverKind::Hals, SolverKind::Anls]
    );
    assert!(SolverKind::parse_list("foo").unwrap_err().contains("'foo'"));
    assert!(SolverKind::parse_list("mu,mu").is_err());
    assert!("beta=0".parse::<CompareLoss>().is_err());
}
