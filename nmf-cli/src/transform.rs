//! `nmf transform`: H for new samples with a fitted basis W held fixed (exact NNLS).

use std::time::Instant;

use nmf_core::faer::Mat;
use nmf_core::metrics::relative_error;
use nmf_core::{Data, Matrix, NmfError, NmfFloat};
use serde_json::json;

use crate::cli::TransformArgs;
use crate::error::CliError;
use crate::input::{read_input, Loaded, ReadOptions};
use crate::output::{ensure_dir, factor_table, write_file};

/// Runs `nmf transform`.
///
/// # Errors
/// Unreadable inputs, a basis that does not match the input's features (exit 2).
pub fn run(args: &TransformArgs) -> Result<(), CliError> {
    let basis = read_input(&args.basis, &ReadOptions::default())?;
    let input = read_input(
        &args.input,
        &ReadOptions {
            transpose: args.transpose,
            feature_names: args.feature_names.as_deref(),
            sample_names: args.sample_names.as_deref(),
            ..Default::default()
        },
    )?;
    check_alignment(&basis, &input)?;
    if args.f32 {
        run_typed::<f32>(args, basis, input)
    } else {
        run_typed::<f64>(args, basis, input)
    }
}

/// The basis and the input must list the same features in the same order.
fn check_alignment(basis: &Loaded, input: &Loaded) -> Result<(), CliError> {
    let (bm, im) = (basis.matrix.nrows(), input.matrix.nrows());
    if bm != im {
        return Err(CliError::Usage(format!(
            "the basis has {bm} features but the input has {im} (use --transpose if the input's rows are samples)"
        )));
    }
    if !input.has_feature_names() || !basis.has_feature_names() {
        return Ok(());
    }
    if let Some(i) = (0..bm).find(|&i| basis.feature_names[i] != input.feature_names[i]) {
        return Err(CliError::Usage(format!(
            "feature {} differs: '{}' in the basis, '{}' in the input (features must be in the same order)",
            i + 1,
            basis.feature_names[i],
            input.feature_names[i]
        )));
    }
    Ok(())
}

fn to_dense<F: NmfFloat>(m: &Matrix<f64>) -> Mat<F> {
    match m {
        Matrix::Dense(d) => Mat::from_fn(d.nrows(), d.ncols(), |i, j| F::lit(d[(i, j)])),
        Matrix::Sparse(s) => {
            let d = s.to_dense();
            Mat::from_fn(d.nrows(), d.ncols(), |i, j| F::lit(d[(i, j)]))
        }
    }
}

fn run_typed<F: NmfFloat>(args: &TransformArgs, basis: Loaded, input: Loaded) -> Result<(), CliError> {
    let w = to_dense::<F>(&basis.matrix);
    let data = Data::new(crate::fit::cast_matrix::<F>(input.matrix), input.mask)?;
    let par = nmf_core::linalg::par_for_threads(args.threads);
    let start = Instant::now();
    let h = nmf_solvers::transform(&data, w.as_ref(), (F::lit(args.l1_h), F::lit(args.l2_h)), par)?;
    let seconds = start.elapsed().as_secs_f64();
    ensure_dir(&args.out)?;
    write_file(
        &args.out,
        "H.tsv",
        &factor_table("sample", &input.sample_names, h.as_ref(), true),
    )?;
    let rel = relative_error(&data, w.as_ref(), h.as_ref(), par).to_f64_lossy();
    let summary = json!({
        "command": "transform",
        "basis": args.basis.display().to_string(),
        "input": args.input.display().to_string(),
        "rank": w.ncols(),
        "features": data.nrows(),
        "samples": data.ncols(),
        "nnz": data.stats().nnz,
        "relative_error": if rel.is_finite() { json!(rel) } else { serde_json::Value::Null },
        "seconds": seconds,
        "version": env!("CARGO_PKG_VERSION"),
    });
    let text =
        serde_json::to_string_pretty(&summary).map_err(|e| CliError::Nmf(NmfError::Unsupported(e.to_string())))?;
    write_file(&args.out, "summary.json", &(text + "\n"))?;
    Ok(())
}
