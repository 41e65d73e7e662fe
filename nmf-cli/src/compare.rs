//! `nmf compare`: several solvers from the same start under the same stopping rule, on an
//! input file or on the built-in planted problem (nmf-bench does the work).

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use nmf_bench::report::{compare_json, compare_tsv, convergence_svg, text_table};
use nmf_bench::{
    builtin_problem, builtin_spec, oracle_ceiling, run_compare, CompareConfig, CompareLoss, SolverKind, Truth,
};
use nmf_core::{Data, Init};

use crate::cli::{CompareArgs, InitChoice};
use crate::error::CliError;
use crate::input::{read_input, ReadOptions};
use crate::output::{ensure_dir, write_file};

/// Runs `nmf compare`.
///
/// # Errors
/// Bad flags or input (exit 2), an unwritable output folder (exit 2), a failure that stops
/// every solver alike (exit 1 or 2 as for `fit`). A single solver's failure is a row of the
/// table, not an error.
pub fn run(args: &CompareArgs) -> Result<(), CliError> {
    let solvers = SolverKind::parse_list(&args.solvers).map_err(CliError::Usage)?;
    let loss: CompareLoss = args.loss.parse().map_err(CliError::Usage)?;
    if !(args.time_limit > 0.0 && args.time_limit.is_finite()) {
        return Err(CliError::Usage(format!(
            "--time-limit must be a positive number of seconds, got {}",
            args.time_limit
        )));
    }
    if !(args.tol >= 0.0 && args.tol.is_finite()) {
        return Err(CliError::Usage(format!(
            "--tol must be finite and >= 0, got {}",
            args.tol
        )));
    }
    if args.max_iter == 0 {
        return Err(CliError::Usage("--max-iter must be at least 1".into()));
    }

    let (data, truth, planted, title) = match &args.input {
        None => {
            if args.transpose || args.labels.is_some() {
                return Err(CliError::Usage(
                    "--transpose and --labels apply to an INPUT file; the built-in problem has its own truth".into(),
                ));
            }
            let spec = builtin_spec();
            let p = builtin_problem();
            let data = p.data_sparse().map_err(|e| CliError::Usage(e.to_string()))?;
            let title = format!(
                "built-in planted problem: {} x {}, {} modules, depth {}",
                spec.features, spec.samples, spec.modules, spec.depth
            );
            (data, Truth::from_planted(&p), Some(p), title)
        }
        Some(path) => {
            let loaded = read_input(
                path,
                &ReadOptions {
                    transpose: args.transpose,
                    ..Default::default()
                },
            )?;
            let data = Data::new(loaded.matrix, loaded.mask)?;
            let labels = match &args.labels {
                Some(l) => Some(read_labels(l, data.ncols())?),
                None => None,
            };
            let title = format!("{} ({} x {})", path.display(), data.nrows(), data.ncols());
            (data, Truth { w: None, labels }, None, title)
        }
    };
    let rank = match (args.rank, &planted) {
        (Some(k), _) => k,
        (None, Some(p)) => p.w_true.ncols(),
        (None, None) => return Err(CliError::Usage("--rank is required with an INPUT file".into())),
    };
    if rank == 0 {
        return Err(CliError::Usage("--rank must be at least 1".into()));
    }
    data.check_rank(rank)?;
    ensure_dir(&args.out)?;

    let cfg = CompareConfig {
        solvers,
        rank,
        loss,
        init: match args.init {
            InitChoice::Random => Init::Random,
            InitChoice::Nndsvd => Init::Nndsvd,
            InitChoice::Nndsvda => Init::NndsvdA,
            InitChoice::Nndsvdar => Init::NndsvdAr,
        },
        max_iter: args.max_iter,
        tol: args.tol,
        check_every: 10,
        time_limit: Some(Duration::from_secs_f64(args.time_limit)),
        seed: args.seed,
        threads: args.threads,
        rescale_init: true,
    };
    let start = Instant::now();
    let reports = run_compare(&data, &truth, &cfg)?;
    let oracle = match &planted {
        Some(p) => Some(oracle_ceiling(&data, p.w_true.as_ref(), p.h_true.as_ref(), cfg.par())?),
        None => None,
    };
    let summaries = compare_json(&data, &cfg, &reports, oracle.as_ref());
    let json = serde_json::to_string_pretty(&summaries).map_err(|e| CliError::Usage(e.to_string()))?;
    write_file(&args.out, "compare.json", &(json + "\n"))?;
    write_file(&args.out, "compare.tsv", &compare_tsv(&summaries))?;
    let svg = convergence_svg(&format!("{title}, {} loss, rank {rank}", cfg.loss), &reports)
        .map_err(|e| CliError::Usage(format!("cannot draw convergence.svg: {e}")))?;
    write_file(&args.out, "convergence.svg", &svg)?;
    if !args.quiet {
        println!("{title}, {} loss, rank {rank}\n", cfg.loss);
        print!("{}", text_table(&summaries));
        if let Some(o) = &oracle {
            println!(
                "\noracle ceiling (W by NNLS with the true H): mean cosine {:.4}, min cosine {:.4}",
                o.mean, o.min
            );
        }
        println!(
            "\n{} solvers in {:.1} s; written to {}",
            reports.len(),
            start.elapsed().as_secs_f64(),
            args.out.display()
        );
    }
    Ok(())
}

/// Reads one label per sample: one per line, or the last field of each line of a TSV/CSV; a
/// first line more than the samples is a header. Labels are names; equal names, one cluster.
///
/// # Errors
/// An unreadable file or a count that does not match the samples ([`CliError::Usage`]).
pub fn read_labels(path: &Path, samples: usize) -> Result<Vec<usize>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read --labels {}: {e}", path.display())))?;
    let mut fields: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.rsplit(['\t', ',']).next().unwrap_or("").trim().trim_matches('"'))
        .collect();
    if fields.len() == samples + 1 {
        fields.remove(0);
    }
    if fields.len() != samples {
        return Err(CliError::Usage(format!(
            "--labels {} has {} labels for {samples} samples",
            path.display(),
            fields.len()
        )));
    }
    let mut ids: HashMap<&str, usize> = HashMap::new();
    Ok(fields
        .into_iter()
        .map(|f| {
            let next = ids.len();
            *ids.entry(f).or_insert(next)
        })
        .collect())
}
