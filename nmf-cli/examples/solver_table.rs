//! Per solver: iterations and seconds to tol 1e-4, final relative error, and recovery on a
//! planted problem; the same on a real matrix (default pbmc3k, k = 9, sparse). Prints a
//! markdown table. A measurement aid until nmf-bench exists.
//!
//! `cargo run --release -p nmf-cli --example solver_table -- [../shared/data/pbmc3k/counts.mtx] [k]`

use std::path::Path;

use nmf_cli::input::{read_input, ReadOptions};
use nmf_core::metrics::{adjusted_rand_index, argmax_labels, matched_cosine};
use nmf_core::{Data, Frobenius, Init, NmfFit, NmfParams, NmfProblem, Solver};
use nmf_solvers::{Admm, Anls, Cd, Hals, Mu, Pgd, PgdAlt};
use nmf_synth::{simulate, Planted, PlantedSpec};

fn run<S: for<'a> Solver<f64, NmfProblem<'a, f64, Frobenius>>>(data: &Data<f64>, k: usize, s: S) -> NmfFit<f64> {
    NmfParams::new(k)
        .init(Init::NndsvdA)
        .max_iter(5000)
        .tol(1e-4)
        .record_every(10)
        .check()
        .expect("valid params")
        .fit(data, Frobenius, s)
        .expect("fit")
}

fn table(title: &str, data: &Data<f64>, k: usize, truth: Option<&Planted<f64>>) {
    println!("\n{title}\n\n| solver | iterations | seconds | relative error | mean cosine | ARI |\n|---|---|---|---|---|---|");
    let fits: Vec<(&str, NmfFit<f64>)> = vec![
        ("mu", run(data, k, Mu::new())),
        ("pgd", run(data, k, Pgd::new())),
        ("pgd-alt", run(data, k, PgdAlt::new())),
        ("admm", run(data, k, Admm::new())),
        ("hals", run(data, k, Hals::new())),
        ("anls", run(data, k, Anls::new())),
        ("cd", run(data, k, Cd::new())),
    ];
    for (name, f) in fits {
        let (cos, ari) = match truth {
            Some(t) => (
                format!(
                    "{:.4}",
                    matched_cosine(t.w_true.as_ref(), f.state.w.as_ref())
                        .expect("shapes")
                        .mean
                ),
                format!(
                    "{:.3}",
                    adjusted_rand_index(&t.labels, &argmax_labels(f.state.h.as_ref())).expect("lengths")
                ),
            ),
            None => ("–".into(), "–".into()),
        };
        println!(
            "| {name} | {} | {:.3} | {:.6} | {cos} | {ari} |",
            f.iterations, f.seconds, f.evaluation.relative_error
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).map_or("../shared/data/pbmc3k/counts.mtx", String::as_str);
    let k: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(9);
    let truth = simulate::<f64>(&PlantedSpec::new(2000, 1000, 8).depth(2000.0), 1).expect("simulate");
    table(
        "planted: 2000 × 1000, 8 modules, depth 2000, sparse, Frobenius, tol 1e-4",
        &truth.data_sparse().expect("data"),
        8,
        Some(&truth),
    );
    let loaded = read_input(
        Path::new(path),
        &ReadOptions {
            transpose: true,
            ..Default::default()
        },
    )
    .expect("read");
    let data = Data::new(loaded.matrix, None).expect("valid data");
    table(
        &format!("{path} (k = {k}, sparse, Frobenius, tol 1e-4)"),
        &data,
        k,
        None,
    );
}
