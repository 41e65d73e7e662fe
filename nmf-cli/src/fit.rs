//! `nmf fit`: read, validate, factorize (with restarts), write.

use std::time::{Duration, Instant};

use clap::ValueEnum;
use nmf_bench::summary::{finite, SummaryPieces};
use nmf_core::faer::Mat;
use nmf_core::{
    BetaDivergence, Data, Frobenius, Init, KullbackLeibler, Loss, Matrix, NmfFit, NmfFloat, NmfParams, NmfValidParams,
};
use nmf_core::{NmfProblem, Solver};
use nmf_solvers::{Admm, Anls, Cd, Epsilon, Extrapolation, Hals, KlCd, Mu, Pgd, PgdAlt};
use serde_json::{json, Value};

use crate::cli::{EpsilonChoice, FitArgs, InitChoice, LossChoice, MissingChoice, SolverChoice};
use crate::error::CliError;
use crate::input::{read_input, Loaded, MissingPolicy, ReadOptions};
use crate::output::{ensure_dir, factor_table, objective_curve, write_file};
use crate::progress::Progress;

/// Runs `nmf fit`: writes W.tsv, H.tsv, history.tsv, summary.json and convergence.svg.
///
/// # Errors
/// Bad input or flags (exit 2), a failed fit (exit 1), an unwritable output folder (exit 2).
pub fn run(args: &FitArgs) -> Result<(), CliError> {
    check_flags(args)?;
    let read_start = Instant::now();
    let loaded = read_input(
        &args.input,
        &ReadOptions {
            transpose: args.transpose,
            missing: match args.missing {
                MissingChoice::Error => MissingPolicy::Error,
                MissingChoice::Mask => MissingPolicy::Mask,
            },
            feature_names: args.feature_names.as_deref(),
            sample_names: args.sample_names.as_deref(),
        },
    )?;
    let read_seconds = read_start.elapsed().as_secs_f64();
    if args.f32 {
        run_typed::<f32>(args, loaded, read_seconds)
    } else {
        run_typed::<f64>(args, loaded, read_seconds)
    }
}

fn check_flags(args: &FitArgs) -> Result<(), CliError> {
    if args.solver != SolverChoice::Mu && (args.simplex_w || args.epsilon != EpsilonChoice::Safe) {
        return Err(CliError::Usage(
            "--simplex-w and --epsilon apply to --solver mu only".into(),
        ));
    }
    if args.extrapolate && !matches!(args.solver, SolverChoice::Hals | SolverChoice::Anls) {
        return Err(CliError::Usage(
            "--extrapolate applies to --solver hals and anls only".into(),
        ));
    }
    if args.consensus == Some(0) {
        return Err(CliError::Usage("--consensus must be at least 1".into()));
    }
    if args.restarts == 0 {
        return Err(CliError::Usage("--restarts must be at least 1".into()));
    }
    if let Some(t) = args.time_limit {
        if !(t > 0.0 && t.is_finite()) {
            return Err(CliError::Usage(format!(
                "--time-limit must be a positive number of seconds, got {t}"
            )));
        }
    }
    Ok(())
}

/// Converts the f64 matrix read from disk into the working precision.
pub fn cast_matrix<F: NmfFloat>(m: Matrix<f64>) -> Matrix<F> {
    match m {
        Matrix::Dense(d) => Matrix::Dense(Mat::from_fn(d.nrows(), d.ncols(), |i, j| F::lit(d[(i, j)]))),
        Matrix::Sparse(s) => Matrix::Sparse(s.cast()),
    }
}

fn run_typed<F: NmfFloat>(args: &FitArgs, loaded: Loaded, read_seconds: f64) -> Result<(), CliError> {
    let Loaded {
        matrix,
        mask,
        feature_names,
        sample_names,
    } = loaded;
    let data = Data::new(cast_matrix::<F>(matrix), mask)?;
    data.check_rank(args.rank)?;
    match args.loss {
        LossChoice::Frobenius => fit_loss(args, &data, Frobenius, &feature_names, &sample_names, read_seconds),
        LossChoice::Kl => fit_loss(
            args,
            &data,
            KullbackLeibler,
            &feature_names,
            &sample_names,
            read_seconds,
        ),
        LossChoice::Beta(b) => {
            let loss = BetaDivergence::new(F::lit(b))?;
            fit_loss(args, &data, loss, &feature_names, &sample_names, read_seconds)
        }
    }
}

pub(crate) fn params<F: NmfFloat>(args: &FitArgs, seed: u64) -> Result<NmfValidParams<F>, CliError> {
    let init = match args.init {
        InitChoice::Random => Init::Random,
        InitChoice::Nndsvd => Init::Nndsvd,
        InitChoice::Nndsvda => Init::NndsvdA,
        InitChoice::Nndsvdar => Init::NndsvdAr,
    };
    let p = NmfParams::new(args.rank)
        .init(init)
        .seed(seed)
        .max_iter(args.max_iter)
        .tol(F::lit(args.tol))
        .kkt_tol(F::lit(args.kkt_tol))
        .threads(args.threads)
        .l1_w(F::lit(args.l1_w))
        .l2_w(F::lit(args.l2_w))
        .l1_h(F::lit(args.l1_h))
        .l2_h(F::lit(args.l2_h));
    let p = match args.time_limit {
        Some(t) => p.time_limit(Duration::from_secs_f64(t)),
        None => p,
    };
    Ok(p.check_every(args.check_every).check()?)
}

fn fit_loss<F: NmfFloat, L: Loss<F>>(
    args: &FitArgs,
    data: &Data<F>,
    loss: L,
    features: &[String],
    samples: &[String],
    read_seconds: f64,
) -> Result<(), CliError> {
    let names = (features, samples, read_seconds);
    match args.solver {
        SolverChoice::Mu => {
            let epsilon = match args.epsilon {
                EpsilonChoice::Safe => Epsilon::Safe,
                EpsilonChoice::Sklearn => Epsilon::Sklearn,
            };
            run_restarts(
                args,
                data,
                loss,
                || Mu::new().simplex_w(args.simplex_w).epsilon(epsilon),
                names,
            )
        }
        SolverChoice::Pgd => run_restarts(args, data, loss, Pgd::new, names),
        SolverChoice::PgdAlt => run_restarts(args, data, loss, PgdAlt::new, names),
        SolverChoice::Admm => run_restarts(args, data, loss, Admm::new, names),
        SolverChoice::Hals if args.extrapolate => run_restarts(
            args,
            data,
            loss,
            || Hals::new().with_extrapolation(Extrapolation::for_inexact_blocks()),
            names,
        ),
        SolverChoice::Anls if args.extrapolate => run_restarts(
            args,
            data,
            loss,
            || Anls::new().with_extrapolation(Extrapolation::for_exact_blocks()),
            names,
        ),
        SolverChoice::Hals => run_restarts(args, data, loss, Hals::new, names),
        SolverChoice::Anls => run_restarts(args, data, loss, Anls::new, names),
        // Coordinate descent for KL is Hsieh & Dhillon's Newton variant, not scikit-learn's.
        SolverChoice::Cd if loss.beta() == F::one() => run_restarts(args, data, loss, KlCd::new, names),
        SolverChoice::Cd => run_restarts(args, data, loss, Cd::new, names),
    }
}

/// The name written in summaries, as typed on the command line.
pub(crate) fn solver_name(choice: SolverChoice) -> String {
    choice
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

fn run_restarts<F, L, S>(
    args: &FitArgs,
    data: &Data<F>,
    loss: L,
    make_solver: impl Fn() -> S + Sync,
    (features, samples, read_seconds): (&[String], &[String], f64),
) -> Result<(), CliError>
where
    F: NmfFloat,
    L: Loss<F>,
    S: for<'a> Solver<F, NmfProblem<'a, F, L>>,
{
    ensure_dir(&args.out)?;
    if let Some(r) = args.consensus {
        return crate::consensus::run(args, data, loss, make_solver, r, (features, samples, read_seconds));
    }
    let start = Instant::now();
    let mut runs: Vec<(u64, NmfFit<F>)> = Vec::with_capacity(args.restarts);
    for r in 0..args.restarts {
        let seed = args.seed.wrapping_add(r as u64);
        let p = params::<F>(args, seed)?;
        let label = if args.restarts > 1 {
            format!("fit {}/{}", r + 1, args.restarts)
        } else {
            "fit".into()
        };
        let mut bar = Progress::new(args.max_iter, &label, args.quiet);
        let fit = p.fit_observed(data, loss.clone(), make_solver(), Some(&mut bar));
        bar.finish();
        runs.push((seed, fit?));
    }
    let seconds = start.elapsed().as_secs_f64();
    let best = (0..runs.len())
        .min_by(|&a, &b| {
            let (x, y) = (runs[a].1.evaluation.objective, runs[b].1.evaluation.objective);
            x.to_f64_lossy().total_cmp(&y.to_f64_lossy())
        })
        .expect("at least one restart");
    let (seed, fit) = &runs[best];
    write_file(
        &args.out,
        "W.tsv",
        &factor_table("feature", features, fit.state.w.as_ref(), false),
    )?;
    write_file(
        &args.out,
        "H.tsv",
        &factor_table("sample", samples, fit.state.h.as_ref(), true),
    )?;
    write_file(&args.out, "history.tsv", &fit.history.to_tsv())?;
    let curve = objective_curve(&fit.history);
    let title = format!("nmf fit: {} loss, rank {}", loss.name(), args.rank);
    let name = solver_name(args.solver);
    let svg = nmf_bench::report::plot_curves(&title, &[(name.as_str(), curve)])
        .map_err(|e| CliError::Nmf(nmf_core::NmfError::Unsupported(format!("drawing convergence.svg: {e}"))))?;
    write_file(&args.out, "convergence.svg", &svg)?;
    let summary = summary(args, data, &loss, &runs, best, *seed, seconds, read_seconds);
    let text = serde_json::to_string_pretty(&summary).map_err(|e| CliError::Usage(e.to_string()))?;
    write_file(&args.out, "summary.json", &(text + "\n"))?;
    if !args.quiet {
        eprintln!(
            "nmf: {} after {} iterations ({}), relative error {:.4}, written to {}",
            if fit.converged() { "converged" } else { "stopped" },
            fit.iterations,
            fit.stop_reason,
            fit.evaluation.relative_error.to_f64_lossy(),
            args.out.display()
        );
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn summary<F: NmfFloat, L: Loss<F>>(
    args: &FitArgs,
    data: &Data<F>,
    loss: &L,
    runs: &[(u64, NmfFit<F>)],
    best: usize,
    seed: u64,
    seconds: f64,
    read_seconds: f64,
) -> Value {
    let fit = &runs[best].1;
    let restarts: Vec<Value> = runs
        .iter()
        .map(|(s, f)| {
            json!({
                "seed": s,
                "objective": finite(f.evaluation.objective.to_f64_lossy()),
                "relative_error": finite(f.evaluation.relative_error.to_f64_lossy()),
                "iterations": f.iterations,
                "stop_reason": f.stop_reason.as_str(),
                "seconds": f.seconds,
            })
        })
        .collect();
    let st = data.stats();
    let mut s = nmf_bench::summary::summary(&SummaryPieces {
        solver: &solver_name(args.solver),
        loss: &loss.name(),
        rank: args.rank,
        data,
        fit,
        seconds,
        seed,
        par: nmf_core::linalg::par_for_threads(args.threads),
    });
    for (key, value) in [
        ("init", json!(params_init_name(args))),
        ("dtype", json!(if args.f32 { "f32" } else { "f64" })),
        ("input", json!(args.input.display().to_string())),
        ("sparse", json!(data.is_sparse())),
        ("observed_entries", json!(st.observed)),
        ("zero_rows", json!(st.zero_rows)),
        ("zero_columns", json!(st.zero_cols)),
        ("read_seconds", json!(read_seconds)),
        (
            "epsilon",
            json!(match args.epsilon {
                EpsilonChoice::Safe => "safe",
                EpsilonChoice::Sklearn => "sklearn",
            }),
        ),
        ("simplex_w", json!(args.simplex_w)),
        ("extrapolate", json!(args.extrapolate)),
        ("best_restart", json!(best)),
        ("restarts", Value::Array(restarts)),
    ] {
        s.insert(key.into(), value);
    }
    Value::Object(s)
}

fn params_init_name(args: &FitArgs) -> &'static str {
    match args.init {
        InitChoice::Random => "random",
        InitChoice::Nndsvd => "nndsvd",
        InitChoice::Nndsvda => "nndsvda",
        InitChoice::Nndsvdar => "nndsvdar",
    }
}
