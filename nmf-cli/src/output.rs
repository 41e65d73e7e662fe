//! Writing results: W.tsv, H.tsv, history.tsv and summary.json (CONTRACT.md).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use nmf_core::faer::MatRef;
use nmf_core::NmfFloat;

use crate::error::CliError;

/// Creates the output folder if needed.
///
/// # Errors
/// [`CliError::Output`].
pub fn ensure_dir(dir: &Path) -> Result<(), CliError> {
    fs::create_dir_all(dir).map_err(|source| CliError::Output {
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes `text` to `dir/name`.
///
/// # Errors
/// [`CliError::Output`].
pub fn write_file(dir: &Path, name: &str, text: &str) -> Result<(), CliError> {
    let path = dir.join(name);
    fs::write(&path, text).map_err(|source| CliError::Output { path, source })
}

/// A factor table: one row per name, `label` then `factor_1 … factor_k`. `rows_are_columns`
/// reads the matrix transposed (H is k×n but written one row per sample).
///
/// Values are written with Rust's shortest round-trip formatting (plain decimals, or
/// exponent form for very small or large magnitudes), so equal factors give byte-identical
/// files and the text reads back to the same numbers.
pub fn factor_table<F: NmfFloat>(label: &str, names: &[String], m: MatRef<'_, F>, rows_are_columns: bool) -> String {
    let m = if rows_are_columns { m.transpose() } else { m };
    let k = m.ncols();
    let mut s = String::with_capacity(names.len() * (k + 1) * 12);
    s.push_str(label);
    for l in 1..=k {
        let _ = write!(s, "\tfactor_{l}");
    }
    s.push('\n');
    for (i, name) in names.iter().enumerate() {
        s.push_str(name);
        for l in 0..k {
            s.push('\t');
            push_number(&mut s, m[(i, l)].to_f64_lossy());
        }
        s.push('\n');
    }
    s
}

/// Appends `v` in the shortest form that reads back exactly.
pub fn push_number(s: &mut String, v: f64) {
    let a = v.abs();
    if v == 0.0 || (1e-4..1e15).contains(&a) {
        let _ = write!(s, "{v}");
    } else {
        let _ = write!(s, "{v:e}");
    }
}

/// The (seconds, objective) points of a history that a log-scale plot can show (positive and
/// finite objectives).
pub fn objective_curve<F: NmfFloat>(history: &nmf_core::History<F>) -> Vec<(f64, f64)> {
    history
        .rows()
        .iter()
        .map(|r| (r.seconds, r.objective.to_f64_lossy()))
        .filter(|(_, y)| *y > 0.0 && y.is_finite())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_stay_short() {
        for v in [
            0.0,
            1.0,
            0.5,
            123456.789,
            1.0588086933481372e-201,
            3.0e20,
            1e-5,
            0.1 + 0.2,
        ] {
            let mut s = String::new();
            push_number(&mut s, v);
            assert!(s.len() <= 24, "{s}");
            assert_eq!(s.parse::<f64>().unwrap(), v);
        }
    }
}
