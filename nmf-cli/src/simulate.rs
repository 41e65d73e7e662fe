//! `nmf simulate`: planted-module counts with their truth (nmf-synth), as files.

use std::fmt::Write as _;

use nmf_core::faer::Mat;
use nmf_core::CscMatrix;
use nmf_synth::{simulate, simulate_pair, PairSpec, PlantedSpec, SynthError, Usage};
use serde_json::{json, Value};

use crate::cli::SimulateArgs;
use crate::error::CliError;
use crate::output::{ensure_dir, factor_table, write_file};

/// Runs `nmf simulate`.
///
/// # Errors
/// Parameters out of range (exit 2, naming the flag), an unwritable output folder (exit 2).
pub fn run(args: &SimulateArgs) -> Result<(), CliError> {
    let spec = planted_spec(args);
    let features = names("feature", args.features);
    let factor = |l: usize| format!("factor_{}", l + 1);
    let mut summary = json!({
        "command": "simulate",
        "features": args.features,
        "samples": args.samples,
        "modules": args.modules,
        "depth": args.depth,
        "library_sigma": args.library_sigma,
        "module_fraction": spec.module_fraction,
        "module_features": spec.module_features(0).len(),
        "overlap": args.overlap,
        "dispersion": args.dispersion,
        "unmodelled": args.unmodelled,
        "count_model": if args.dispersion > 0.0 { "negative_binomial" } else { "poisson" },
        "usage": match spec.usage {
            Usage::Dirichlet(a) => json!({"dirichlet": a}),
            Usage::Dominant(w) => json!({"dominant": w}),
        },
        "seed": args.seed,
        "version": env!("CARGO_PKG_VERSION"),
    });
    let (nnz_x, message) = match (args.background_samples, args.enriched) {
        (Some(nb), Some(ke)) => {
            let pair_spec = PairSpec::new(spec, nb, ke);
            let pair = simulate_pair::<f64>(&pair_spec, args.seed).map_err(usage)?;
            ensure_dir(&args.out)?;
            let target = names("sample", args.samples);
            write_file(&args.out, "X.mtx", &matrix_market(&pair.x, args.seed, "target"))?;
            write_file(&args.out, "Y.mtx", &matrix_market(&pair.y, args.seed, "background"))?;
            write_truth(args, &features, &target, &pair.w_true, &pair.h_target_true)?;
            write_file(
                &args.out,
                "H_background_true.tsv",
                &factor_table("sample", &names("sample", nb), pair.h_background_true.as_ref(), true),
            )?;
            let mut labels = String::from("sample\tlabel\tenriched\n");
            for (j, name) in target.iter().enumerate() {
                let carried = pair.enriched_labels[j].map_or_else(|| "none".to_string(), factor);
                let _ = writeln!(labels, "{name}\t{}\t{carried}", factor(pair.target_labels[j]));
            }
            write_file(&args.out, "labels.tsv", &labels)?;
            let enriched: Vec<String> = pair.enriched.iter().map(|&l| factor(l)).collect();
            write_file(&args.out, "enriched.tsv", &format!("factor\n{}\n", enriched.join("\n")))?;
            let extra = json!({
                "background_samples": nb,
                "enriched": ke,
                "enriched_factors": enriched,
                "enriched_fraction": pair_spec.enriched_fraction,
                "enriched_weight": pair_spec.enriched_weight,
                "carriers": pair.enriched_labels.iter().filter(|e| e.is_some()).count(),
                "nnz_background": pair.y.nnz(),
            });
            merge(&mut summary, extra);
            let msg = format!(
                "X {}x{} ({} nonzeros), Y {}x{} ({} nonzeros), {} of {} modules target-enriched",
                args.features,
                args.samples,
                pair.x.nnz(),
                args.features,
                nb,
                pair.y.nnz(),
                ke,
                args.modules
            );
            (pair.x.nnz(), msg)
        }
        (None, None) => {
            let planted = simulate::<f64>(&spec, args.seed).map_err(usage)?;
            ensure_dir(&args.out)?;
            let samples = names("sample", args.samples);
            write_file(&args.out, "X.mtx", &matrix_market(&planted.x, args.seed, "counts"))?;
            write_truth(args, &features, &samples, &planted.w_true, &planted.h_true)?;
            let mut labels = String::from("sample\tlabel\n");
            for (name, &l) in samples.iter().zip(&planted.labels) {
                let _ = writeln!(labels, "{name}\t{}", factor(l));
            }
            write_file(&args.out, "labels.tsv", &labels)?;
            let msg = format!(
                "X {}x{} ({} nonzeros) from {} modules",
                args.features,
                args.samples,
                planted.x.nnz(),
                args.modules
            );
            (planted.x.nnz(), msg)
        }
        // clap makes each of the two flags require the other.
        _ => {
            return Err(CliError::Usage(
                "--background-samples and --enriched go together".into(),
            ))
        }
    };
    merge(&mut summary, json!({ "nnz": nnz_x }));
    let text = serde_json::to_string_pretty(&summary).map_err(|e| CliError::Usage(e.to_string()))?;
    write_file(&args.out, "summary.json", &(text + "\n"))?;
    if !args.quiet {
        eprintln!("nmf: simulated {message}, written to {}", args.out.display());
    }
    Ok(())
}

fn planted_spec(args: &SimulateArgs) -> PlantedSpec {
    let mut spec = PlantedSpec::new(args.features, args.samples, args.modules)
        .depth(args.depth)
        .overlap(args.overlap)
        .dispersion(args.dispersion)
        .unmodelled(args.unmodelled)
        .library_sigma(args.library_sigma);
    if let Some(f) = args.module_fraction {
        spec = spec.module_fraction(f);
    }
    if let Some(a) = args.dirichlet {
        spec = spec.usage(Usage::Dirichlet(a));
    }
    spec
}

/// The simulator's parameter errors, named by their flags.
fn usage(e: SynthError) -> CliError {
    match e {
        SynthError::BadParam { name, value, expected } => {
            let flag = match name {
                "features/samples" => "--features and --samples".to_string(),
                "dirichlet alpha" => "--dirichlet".to_string(),
                "module_fraction" => {
                    return CliError::Usage(format!(
                        "--module-fraction {value} (with --overlap): {expected}; lower it or raise --features"
                    ))
                }
                other => format!("--{}", other.replace('_', "-")),
            };
            CliError::Usage(format!("invalid {flag} {value}: expected {expected}"))
        }
        other => CliError::Usage(other.to_string()),
    }
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}_{i}")).collect()
}

fn write_truth(
    args: &SimulateArgs,
    features: &[String],
    samples: &[String],
    w: &Mat<f64>,
    h: &Mat<f64>,
) -> Result<(), CliError> {
    write_file(
        &args.out,
        "W_true.tsv",
        &factor_table("feature", features, w.as_ref(), false),
    )?;
    write_file(
        &args.out,
        "H_true.tsv",
        &factor_table("sample", samples, h.as_ref(), true),
    )
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, from) {
        a.extend(b);
    }
}

/// Matrix Market coordinate integer general, 1-based, column by column.
pub fn matrix_market(x: &CscMatrix<f64>, seed: u64, what: &str) -> String {
    let mut s = String::with_capacity(64 + x.nnz() * 16);
    s.push_str("%%MatrixMarket matrix coordinate integer general\n");
    let _ = writeln!(s, "% nmf simulate ({what}): features x samples, seed {seed}");
    let _ = writeln!(s, "{} {} {}", x.nrows(), x.ncols(), x.nnz());
    let (ptr, rows, vals) = (x.col_ptr(), x.row_idx(), x.values());
    for j in 0..x.ncols() {
        for t in ptr[j]..ptr[j + 1] {
            let _ = writeln!(s, "{} {} {}", rows[t] + 1, j + 1, vals[t] as u64);
        }
    }
    s
}
