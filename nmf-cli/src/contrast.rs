//! `nmf contrast`: background-contrastive NMF of a target against a background.

use std::path::Path;
use std::time::Instant;

use std::fmt::Write as _;

use nmf_contrastive::{
    alpha_sweep, check_feature_names, top_features, topic_enrichment, ContrastiveError, ContrastiveFit,
    ContrastiveLoss, ContrastiveParams, HeldOut, SweepParams, TopicError,
};
use nmf_core::metrics::{kl_divergence, relative_error};
use nmf_core::{Data, NmfFloat};
use serde_json::{json, Map, Value};

use crate::cli::{ContrastArgs, ContrastLossChoice};
use crate::error::CliError;
use crate::fit::cast_matrix;
use crate::input::{read_input, Loaded, ReadOptions};
use crate::output::{ensure_dir, factor_table, push_number, write_file};
use crate::progress::Progress;
use nmf_bench::summary::finite;

/// Runs `nmf contrast`.
///
/// # Errors
/// Unreadable inputs, mismatched features, bad flags (exit 2); a failed fit (exit 1).
pub fn run(args: &ContrastArgs) -> Result<(), CliError> {
    if args.restarts == 0 {
        return Err(CliError::Usage("--restarts must be at least 1".into()));
    }
    if args.top == 0 {
        return Err(CliError::Usage("--top must be at least 1".into()));
    }
    let read_start = Instant::now();
    let opts = ReadOptions {
        transpose: args.transpose,
        ..Default::default()
    };
    let target = read_input(&args.target, &opts)?;
    let background = read_input(&args.background, &opts)?;
    check_alignment(&target, &background)?;
    for (what, n) in [
        ("target", target.matrix.ncols()),
        ("background", background.matrix.ncols()),
    ] {
        if n < 2 {
            return Err(CliError::Usage(format!(
                "the {what} has {n} sample(s): bcNMF's topic enrichment test needs at least 2 on each side \
                 (use --transpose if the file's rows are samples)"
            )));
        }
    }
    let read_seconds = read_start.elapsed().as_secs_f64();
    if args.f32 {
        run_typed::<f32>(args, target, background, read_seconds)
    } else {
        run_typed::<f64>(args, target, background, read_seconds)
    }
}

/// Target and background must list the same features in the same order.
fn check_alignment(target: &Loaded, background: &Loaded) -> Result<(), CliError> {
    let (mt, mb) = (target.matrix.nrows(), background.matrix.nrows());
    if mt != mb {
        return Err(ContrastiveError::FeatureCountMismatch {
            target: mt,
            background: mb,
        }
        .into());
    }
    if !target.has_feature_names() || !background.has_feature_names() {
        return Ok(());
    }
    Ok(check_feature_names(&target.feature_names, &background.feature_names)?)
}

fn loss_of(choice: ContrastLossChoice) -> ContrastiveLoss {
    match choice {
        ContrastLossChoice::Frobenius => ContrastiveLoss::SquaredError,
        ContrastLossChoice::Kl => ContrastiveLoss::Poisson,
    }
}

fn run_typed<F: NmfFloat>(
    args: &ContrastArgs,
    target: Loaded,
    background: Loaded,
    read_seconds: f64,
) -> Result<(), CliError> {
    let x = Data::new(cast_matrix::<F>(target.matrix), target.mask)?;
    let y = Data::new(cast_matrix::<F>(background.matrix), background.mask)?;
    let names = Names {
        features: &target.feature_names,
        target: &target.sample_names,
        background: &background.sample_names,
    };
    ensure_dir(&args.out)?;
    let alphas: Vec<F> = args.alpha.0.iter().map(|&a| F::lit(a)).collect();
    if let [alpha] = alphas.as_slice() {
        let valid = params(args, *alpha).check()?;
        let start = Instant::now();
        let mut bar = Progress::new(args.max_iter, "contrast", args.quiet);
        let fit = valid.fit_observed(&x, &y, Some(&mut bar));
        bar.finish();
        let fit = fit?;
        let run = Run {
            alpha: *alpha,
            stability: fit.stability()?,
            fit,
            seconds: start.elapsed().as_secs_f64(),
            heldout: None,
        };
        write_run(args, &args.out, &x, &y, &run, &names, read_seconds)?;
        report(args, &args.out, &run);
        return Ok(());
    }
    let split = SweepParams {
        holdout: args.holdout,
        seed: args.seed,
    };
    let start = Instant::now();
    let mut bar = Progress::new(args.max_iter, "alpha sweep", args.quiet);
    let results = alpha_sweep(&params(args, F::zero()), &alphas, &x, &y, &split, Some(&mut bar));
    bar.finish();
    let results = results?;
    let seconds = start.elapsed().as_secs_f64() / results.len() as f64;
    let mut table = String::from(
        "alpha\tobjective\td_target\td_background\tstability\theldout_relative_error\theldout_divergence_per_sample\tcollapsed_features\titerations\tstop_reason\n",
    );
    for r in results {
        let run = Run {
            alpha: r.alpha,
            stability: r.stability,
            seconds,
            heldout: Some(r.heldout),
            fit: r.fit,
        };
        let dir = args.out.join(format!("alpha_{}", run.alpha.to_f64_lossy()));
        ensure_dir(&dir)?;
        write_run(args, &dir, &x, &y, &run, &names, read_seconds)?;
        report(args, &dir, &run);
        let h = run.heldout.as_ref().expect("sweep runs are scored");
        for (i, v) in [
            run.alpha.to_f64_lossy(),
            run.fit.objective.to_f64_lossy(),
            run.fit.d_target.to_f64_lossy(),
            run.fit.d_background.to_f64_lossy(),
            run.stability.unwrap_or(f64::NAN),
            h.relative_error.to_f64_lossy(),
            h.divergence_per_sample.to_f64_lossy(),
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                table.push('\t');
            }
            if v.is_nan() {
                table.push_str("NA");
            } else {
                push_number(&mut table, v);
            }
        }
        let _ = writeln!(
            table,
            "\t{}\t{}\t{}",
            run.fit.collapsed_features,
            run.fit.iterations,
            run.fit.stop_reason.as_str()
        );
    }
    write_file(&args.out, "sweep.tsv", &table)
}

struct Names<'a> {
    features: &'a [String],
    target: &'a [String],
    background: &'a [String],
}

/// One fit at one α, its scores and the time it took.
struct Run<F> {
    alpha: F,
    fit: ContrastiveFit<F>,
    stability: Option<f64>,
    heldout: Option<HeldOut<F>>,
    seconds: f64,
}

fn params<F: NmfFloat>(args: &ContrastArgs, alpha: F) -> ContrastiveParams<F> {
    let p = ContrastiveParams::new(args.rank, alpha)
        .loss(loss_of(args.loss))
        .n_starts(args.restarts)
        .seed(args.seed)
        .max_iter(args.max_iter)
        .tol(F::lit(args.tol))
        .check_every(args.check_every)
        .paper_compatible(args.paper)
        .normalize_columns(args.normalize_columns)
        .batch_size(args.batch_size)
        .threads(nmf_bench::summary::threads(nmf_core::linalg::par_for_threads(
            args.threads,
        )));
    let p = match args.collapse_guard {
        Some(g) => p.collapse_guard(F::lit(g)),
        None => p,
    };
    match args.damping {
        Some(d) => p.damping(F::lit(d)),
        None => p,
    }
}

fn write_run<F: NmfFloat>(
    args: &ContrastArgs,
    dir: &Path,
    x: &Data<F>,
    y: &Data<F>,
    run: &Run<F>,
    names: &Names<'_>,
    read_seconds: f64,
) -> Result<(), CliError> {
    let fit = &run.fit;
    write_file(
        dir,
        "W.tsv",
        &factor_table("feature", names.features, fit.w.as_ref(), false),
    )?;
    write_file(
        dir,
        "H_target.tsv",
        &factor_table("sample", names.target, fit.h_target.as_ref(), true),
    )?;
    write_file(
        dir,
        "H_background.tsv",
        &factor_table("sample", names.background, fit.h_background.as_ref(), true),
    )?;
    write_file(dir, "history.tsv", &fit.trace_tsv())?;
    write_file(dir, "topics.tsv", &topics_table(fit, names.features, args.top)?)?;
    let summary = summary(args, x, y, run, read_seconds);
    let text = serde_json::to_string_pretty(&summary).map_err(|e| CliError::Usage(e.to_string()))?;
    write_file(dir, "summary.json", &(text + "\n"))
}

/// One row per topic, most target-enriched first: the Welch t-test of the topic's usage in
/// target vs background samples, and the topic's top features by weight in W.
fn topics_table<F: NmfFloat>(fit: &ContrastiveFit<F>, features: &[String], top: usize) -> Result<String, CliError> {
    let tests = topic_enrichment(fit.h_target.as_ref(), fit.h_background.as_ref(), false).map_err(topic_error)?;
    let tops = top_features(fit.w.as_ref(), top.min(fit.w.nrows())).map_err(topic_error)?;
    let mut order: Vec<usize> = (0..tests.len()).collect();
    order.sort_by(|&a, &b| tests[b].t.total_cmp(&tests[a].t).then(a.cmp(&b)));
    let mut s = String::from("topic\tt\tdf\tp_value\tmean_target\tmean_background\ttop_features\ttop_weights\n");
    for l in order {
        let t = &tests[l];
        let _ = write!(s, "factor_{}", l + 1);
        for v in [t.t, t.df, t.p_value, t.mean_a, t.mean_b] {
            s.push('\t');
            push_number(&mut s, v);
        }
        let names: Vec<&str> = tops[l].indices.iter().map(|&i| features[i].as_str()).collect();
        let _ = write!(s, "\t{}\t", names.join(","));
        for (i, w) in tops[l].weights.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            push_number(&mut s, w.to_f64_lossy());
        }
        s.push('\n');
    }
    Ok(s)
}

/// A topic test needs two samples per side; anything else here is a bug.
fn topic_error(e: TopicError) -> CliError {
    match e {
        TopicError::TooFewSamples { .. } => CliError::Usage(format!(
            "topics.tsv: {e} (give at least 2 target and 2 background samples)"
        )),
        other => CliError::Nmf(nmf_core::NmfError::Unsupported(format!("topics.tsv: {other}"))),
    }
}

fn summary<F: NmfFloat>(args: &ContrastArgs, x: &Data<F>, y: &Data<F>, run: &Run<F>, read_seconds: f64) -> Value {
    let fit = &run.fit;
    let par = nmf_core::linalg::par_for_threads(args.threads);
    let (w, hx) = (fit.w.as_ref(), fit.h_target.as_ref());
    let rel = relative_error(x, w, hx, par).to_f64_lossy();
    let kl = kl_divergence(x, w, hx, par).to_f64_lossy();
    let kkt = fit
        .history
        .rows()
        .last()
        .map_or(f64::NAN, |r| r.kkt_residual.to_f64_lossy());
    let loss = loss_of(args.loss);
    let damping = args.damping.unwrap_or(loss.default_damping::<f64>());
    let starts: Vec<Value> = fit
        .scores
        .iter()
        .enumerate()
        .map(|(s, score)| json!({"seed": args.seed.wrapping_add(s as u64), "score": finite(score.to_f64_lossy())}))
        .collect();
    let mut s = Map::new();
    for (key, value) in [
        ("command", json!("contrast")),
        ("solver", json!("bcnmf-mu")),
        ("loss", json!(loss.name())),
        ("rank", json!(args.rank)),
        ("alpha", json!(run.alpha.to_f64_lossy())),
        ("features", json!(x.nrows())),
        ("samples", json!(x.ncols())),
        ("background_samples", json!(y.ncols())),
        ("nnz", json!(x.stats().nnz)),
        ("background_nnz", json!(y.stats().nnz)),
        ("iterations", json!(fit.iterations)),
        ("seconds", json!(run.seconds)),
        ("read_seconds", json!(read_seconds)),
        ("converged", json!(fit.stop_reason.converged())),
        ("stop_reason", json!(fit.stop_reason.as_str())),
        ("objective", finite(fit.objective.to_f64_lossy())),
        ("d_target", finite(fit.d_target.to_f64_lossy())),
        ("d_background", finite(fit.d_background.to_f64_lossy())),
        ("relative_error", finite(rel)),
        ("kl_divergence", finite(kl)),
        ("kkt_residual", finite(kkt)),
        ("collapsed_features", json!(fit.collapsed_features)),
        ("stability", run.stability.map_or(Value::Null, finite)),
        (
            "heldout",
            run.heldout.as_ref().map_or(Value::Null, |h| {
                json!({
                    "samples": h.samples.len(),
                    "relative_error": finite(h.relative_error.to_f64_lossy()),
                    "divergence_per_sample": finite(h.divergence_per_sample.to_f64_lossy()),
                })
            }),
        ),
        ("batch_size", json!(args.batch_size)),
        ("damping", json!(damping)),
        ("paper_compatible", json!(args.paper)),
        ("normalize_columns", json!(args.normalize_columns)),
        ("seed", json!(args.seed.wrapping_add(fit.best_start as u64))),
        ("best_start", json!(fit.best_start)),
        ("starts", Value::Array(starts)),
        ("dtype", json!(if args.f32 { "f32" } else { "f64" })),
        ("target", json!(args.target.display().to_string())),
        ("background", json!(args.background.display().to_string())),
        ("threads", json!(nmf_bench::summary::threads(par))),
        ("version", json!(env!("CARGO_PKG_VERSION"))),
    ] {
        s.insert(key.into(), value);
    }
    Value::Object(s)
}

fn report<F: NmfFloat>(args: &ContrastArgs, dir: &Path, run: &Run<F>) {
    if args.quiet {
        return;
    }
    let fit = &run.fit;
    eprintln!(
        "nmf contrast: alpha {}: {} iterations ({}), D_target {:.6e}, D_background {:.6e}, {} collapsed features, written to {}",
        run.alpha.to_f64_lossy(),
        fit.iterations,
        fit.stop_reason,
        fit.d_target.to_f64_lossy(),
        fit.d_background.to_f64_lossy(),
        fit.collapsed_features,
        dir.display()
    );
    if fit.collapsed_features > 0 && !args.paper {
        eprintln!(
            "nmf contrast: warning: {} features collapsed (their rows of W fell to ~0): at this alpha the background \
             outweighs the target on them, and with --loss kl the objective is unbounded below; consider a smaller \
             --alpha, --loss frobenius on log-normalised data, or --collapse-guard 0.05",
            fit.collapsed_features
        );
    }
}
