//! `nmf rank`: scores per rank (nmf-select) written as rank.tsv, rank.svg and summary.json.

use std::time::Instant;

use nmf_bench::report::{plot_panels, Panel, Series};
use nmf_bench::summary::finite;
use nmf_core::{BetaDivergence, Data, Frobenius, Init, KullbackLeibler, Loss, NmfFloat, NmfProblem, Solver};
use nmf_select::{FitDone, FitKind, RankParams, RankReport, RankRule, RankValidParams};
use nmf_solvers::{Admm, Anls, Cd, Hals, Mu, Pgd, PgdAlt};
use serde_json::{json, Value};

use crate::cli::{InitChoice, LossChoice, RankArgs, RankRuleChoice, SolverChoice};
use crate::error::CliError;
use crate::fit::cast_matrix;
use crate::input::{read_input, ReadOptions};
use crate::output::{ensure_dir, push_number, write_file};
use crate::progress::Progress;

/// The columns of rank.tsv, in order.
pub const RANK_COLUMNS: [&str; 8] = [
    "rank",
    "cophenetic",
    "dispersion",
    "cv_error",
    "cv_error_sd",
    "bcv_error",
    "stability",
    "silhouette",
];

/// Parses `A..B` (inclusive), `A..=B`, `A,B,C` or a single rank into strictly increasing
/// ranks.
///
/// # Errors
/// A one-line reason: not numbers, a rank of 0, an empty or decreasing range, a list that is
/// not strictly increasing.
pub fn parse_ranks(s: &str) -> Result<Vec<usize>, String> {
    let num = |t: &str| {
        t.trim()
            .parse::<usize>()
            .map_err(|_| format!("--ranks '{s}': '{}' is not a whole number", t.trim()))
    };
    let ranks: Vec<usize> = if let Some((a, b)) = s.split_once("..") {
        let (a, b) = (num(a)?, num(b.strip_prefix('=').unwrap_or(b))?);
        if a > b {
            return Err(format!(
                "--ranks {s}: empty range, the first rank {a} exceeds the last {b}"
            ));
        }
        (a..=b).collect()
    } else {
        s.split(',').map(num).collect::<Result<_, _>>()?
    };
    if ranks.contains(&0) {
        return Err(format!("--ranks {s}: rank 0 is not a rank, ranks start at 1"));
    }
    if let Some(p) = ranks.windows(2).find(|p| p[1] <= p[0]) {
        return Err(format!(
            "--ranks {s}: ranks must increase, but {} is followed by {}",
            p[0], p[1]
        ));
    }
    Ok(ranks)
}

/// Runs `nmf rank`.
///
/// # Errors
/// Bad flags or ranks (exit 2), unreadable input (exit 2), a failed fit (exit 1 or 2 as for
/// `fit`), an unwritable output folder (exit 2).
pub fn run(args: &RankArgs) -> Result<(), CliError> {
    let ranks = parse_ranks(&args.ranks).map_err(CliError::Usage)?;
    if matches!(args.init, InitChoice::Nndsvd | InitChoice::Nndsvda) {
        return Err(CliError::Usage(
            "--init must vary with the seed for restarts to differ: use random or nndsvdar".into(),
        ));
    }
    let loaded = read_input(
        &args.input,
        &ReadOptions {
            transpose: args.transpose,
            feature_names: args.feature_names.as_deref(),
            sample_names: args.sample_names.as_deref(),
            ..Default::default()
        },
    )?;
    let (m, n) = (loaded.matrix.nrows(), loaded.matrix.ncols());
    if let Some(&k) = ranks.iter().find(|&&k| k > m.min(n)) {
        return Err(CliError::Usage(format!(
            "--ranks {}: rank {k} is larger than min(features, samples) = min({m}, {n})",
            args.ranks
        )));
    }
    if args.f32 {
        run_typed::<f32>(args, ranks, loaded.matrix)
    } else {
        run_typed::<f64>(args, ranks, loaded.matrix)
    }
}

fn run_typed<F: NmfFloat>(args: &RankArgs, ranks: Vec<usize>, matrix: nmf_core::Matrix<f64>) -> Result<(), CliError> {
    let data = Data::new(cast_matrix::<F>(matrix), None)?;
    let params = RankParams::<F>::new(ranks)
        .restarts(args.restarts)
        .seed(args.seed)
        .threads(args.threads)
        .max_iter(args.max_iter)
        .tol(F::lit(args.tol))
        .cv_repeats(args.cv_repeats)
        .cv_fraction(args.cv_fraction)
        .bcv_repeats(args.bcv_repeats)
        .max_consensus_samples(args.max_consensus_samples)
        .rule(match args.rule {
            RankRuleChoice::Auto => RankRule::Auto,
            RankRuleChoice::Cv => RankRule::CvMinimum,
            RankRuleChoice::Bcv => RankRule::BcvMinimum,
            RankRuleChoice::Cophenetic => RankRule::CopheneticDrop,
        });
    let mut settings = nmf_select::FitSettings::<F>::default();
    settings.stopping.max_iter = args.max_iter;
    settings.stopping.tol = F::lit(args.tol);
    settings.init = match args.init {
        InitChoice::Nndsvdar => Init::NndsvdAr,
        _ => Init::Random,
    };
    let params = params.fit_settings(settings).check()?;
    match args.loss {
        LossChoice::Frobenius => by_solver(args, &data, &params, Frobenius),
        LossChoice::Kl => by_solver(args, &data, &params, KullbackLeibler),
        LossChoice::Beta(b) => {
            let loss = BetaDivergence::new(F::lit(b))?;
            by_solver(args, &data, &params, loss)
        }
    }
}

fn by_solver<F: NmfFloat, L: Loss<F>>(
    args: &RankArgs,
    data: &Data<F>,
    params: &RankValidParams<F>,
    loss: L,
) -> Result<(), CliError> {
    match args.solver {
        SolverChoice::Mu => sweep(args, data, params, loss, Mu::new),
        SolverChoice::Pgd => sweep(args, data, params, loss, Pgd::new),
        SolverChoice::PgdAlt => sweep(args, data, params, loss, PgdAlt::new),
        SolverChoice::Admm => sweep(args, data, params, loss, Admm::new),
        SolverChoice::Hals => sweep(args, data, params, loss, Hals::new),
        SolverChoice::Anls => sweep(args, data, params, loss, Anls::new),
        SolverChoice::Cd => sweep(args, data, params, loss, Cd::new),
    }
}

fn sweep<F, L, M, S>(
    args: &RankArgs,
    data: &Data<F>,
    params: &RankValidParams<F>,
    loss: L,
    make_solver: M,
) -> Result<(), CliError>
where
    F: NmfFloat,
    L: Loss<F>,
    M: Fn() -> S + Sync,
    S: for<'b> Solver<F, NmfProblem<'b, F, L>>,
{
    ensure_dir(&args.out)?;
    let loss_name = loss.name();
    let bar = Progress::new(params.total_tasks(), "rank fits", args.quiet);
    let on_done = |d: FitDone| {
        let kind = match d.kind {
            FitKind::Restart => "restart",
            FitKind::Cv => "cv",
            FitKind::Bcv => "bcv",
        };
        bar.step(&format!("k={} {kind}", d.rank));
    };
    let start = Instant::now();
    let report = params.run_observed(data, loss, make_solver, &on_done);
    bar.finish();
    let report = report?;
    let seconds = start.elapsed().as_secs_f64();
    write_file(&args.out, "rank.tsv", &rank_tsv(&report))?;
    let svg = rank_svg(
        &report,
        &format!("nmf rank: {} ({loss_name} loss)", args.input.display()),
    )
    .map_err(|e| CliError::Nmf(nmf_core::NmfError::Unsupported(format!("drawing rank.svg: {e}"))))?;
    write_file(&args.out, "rank.svg", &svg)?;
    let summary = summary(args, data, &report, &loss_name, seconds);
    let text = serde_json::to_string_pretty(&summary).map_err(|e| CliError::Usage(e.to_string()))?;
    write_file(&args.out, "summary.json", &(text + "\n"))?;
    if !args.quiet {
        eprint!("{}", rank_tsv(&report));
        for note in &report.notes {
            eprintln!("nmf: note: {note}");
        }
        eprintln!(
            "nmf: suggested rank {} ({}), written to {}",
            report.suggestion.rank,
            report.suggestion.explanation,
            args.out.display()
        );
    }
    Ok(())
}

/// rank.tsv: a header of [`RANK_COLUMNS`] and one row per rank; `NA` where a score is
/// undefined or was not computed.
pub fn rank_tsv(report: &RankReport) -> String {
    let mut s = RANK_COLUMNS.join("\t");
    s.push('\n');
    for r in &report.rows {
        s.push_str(&r.rank.to_string());
        for v in [
            r.cophenetic,
            Some(r.dispersion),
            r.cv_error,
            r.cv_error_sd,
            r.bcv_error,
            r.stability,
            r.silhouette,
        ] {
            s.push('\t');
            match v.filter(|x| x.is_finite()) {
                Some(x) => push_number(&mut s, x),
                None => s.push_str("NA"),
            }
        }
        s.push('\n');
    }
    s
}

/// rank.svg: the consensus and stability scores (all in [0, 1]) on one panel, the masked-CV
/// error (± sd) and the bi-cross-validation error on their own panels, against rank.
///
/// # Errors
/// A drawing failure, as text.
pub fn rank_svg(report: &RankReport, title: &str) -> Result<String, String> {
    let line = |name: &str, f: &dyn Fn(&nmf_select::RankRow) -> Option<f64>| Series {
        name: name.to_string(),
        points: report
            .rows
            .iter()
            .map(|r| (r.rank as f64, f(r).unwrap_or(f64::NAN)))
            .collect(),
        spread: None,
    };
    let mut panels = vec![Panel {
        y_label: "consensus and stability".into(),
        series: vec![
            line("cophenetic", &|r| r.cophenetic),
            line("dispersion", &|r| Some(r.dispersion)),
            line("stability (matched cosine)", &|r| r.stability),
            line("silhouette (cNMF)", &|r| r.silhouette),
        ],
    }];
    if report.rows.iter().any(|r| r.cv_error.is_some()) {
        let mut cv = line("masked CV error (mean ± sd)", &|r| r.cv_error);
        cv.spread = Some(report.rows.iter().map(|r| r.cv_error_sd.unwrap_or(0.0)).collect());
        panels.push(Panel {
            y_label: "held-out divergence".into(),
            series: vec![cv],
        });
    }
    if report.rows.iter().any(|r| r.bcv_error.is_some()) {
        panels.push(Panel {
            y_label: "BCV squared error per entry".into(),
            series: vec![line("bi-cross-validation error", &|r| r.bcv_error)],
        });
    }
    plot_panels(title, "rank", &panels)
}

fn summary<F: NmfFloat>(args: &RankArgs, data: &Data<F>, report: &RankReport, loss: &str, seconds: f64) -> Value {
    let opt = |v: Option<f64>| v.map_or(Value::Null, finite);
    let rows: Vec<Value> = report
        .rows
        .iter()
        .map(|r| {
            json!({
                "rank": r.rank,
                "cophenetic": opt(r.cophenetic),
                "dispersion": finite(r.dispersion),
                "cv_error": opt(r.cv_error),
                "cv_error_sd": opt(r.cv_error_sd),
                "cv_errors": r.cv_errors.iter().map(|&e| finite(e)).collect::<Vec<_>>(),
                "bcv_error": opt(r.bcv_error),
                "stability": opt(r.stability),
                "silhouette": opt(r.silhouette),
                "objectives": r.objectives.iter().map(|&e| finite(e)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let candidates: serde_json::Map<String, Value> = report
        .suggestion
        .candidates
        .iter()
        .map(|(rule, k)| (rule.as_str().to_string(), k.map_or(Value::Null, |k| json!(k))))
        .collect();
    let solver = clap::ValueEnum::to_possible_value(&args.solver)
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    json!({
        "suggested_rank": report.suggestion.rank,
        "rule": report.suggestion.rule.as_str(),
        "explanation": report.suggestion.explanation,
        "candidates": candidates,
        "ranks": rows,
        "restarts": args.restarts,
        "restart_seeds": "seed + 1000 * rank + r",
        "solver": solver,
        "loss": loss,
        "init": match args.init { InitChoice::Nndsvdar => "nndsvdar", _ => "random" },
        "features": data.nrows(),
        "samples": data.ncols(),
        "nnz": data.stats().nnz,
        "max_iter": args.max_iter,
        "tol": args.tol,
        "cv_repeats": args.cv_repeats,
        "cv_fraction": args.cv_fraction,
        "bcv_repeats": args.bcv_repeats,
        "bcv_folds": [2, 2],
        "consensus_samples": report.consensus_subsample.as_ref().map_or(data.ncols(), Vec::len),
        "consensus_subsampled": report.consensus_subsample.is_some(),
        "notes": report.notes,
        "seed": args.seed,
        "threads": args.threads,
        "seconds": seconds,
        "dtype": if args.f32 { "f32" } else { "f64" },
        "input": args.input.display().to_string(),
        "version": env!("CARGO_PKG_VERSION"),
    })
}

#[cfg(test)]
mod tests {
    use super::parse_ranks;

    #[test]
    fn rank_ranges() {
        assert_eq!(parse_ranks("2..5").unwrap(), vec![2, 3, 4, 5]);
        assert_eq!(parse_ranks("2..=4").unwrap(), vec![2, 3, 4]);
        assert_eq!(parse_ranks("3").unwrap(), vec![3]);
        assert_eq!(parse_ranks("2, 3,5").unwrap(), vec![2, 3, 5]);
        assert!(parse_ranks("0..3").unwrap_err().contains("rank 0"));
        assert!(parse_ranks("5..2").unwrap_err().contains("empty range"));
        assert!(parse_ranks("3,2").unwrap_err().contains("must increase"));
        assert!(parse_ranks("a..4").unwrap_err().contains("not a whole number"));
    }
}
