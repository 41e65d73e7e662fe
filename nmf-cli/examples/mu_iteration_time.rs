//! Times one MU iteration (the solver step alone, no evaluation) on a real matrix: sparse KL
//! and dense Frobenius, k = 10 by default. A quick measurement until nmf-bench exists.
//!
//! `cargo run --release -p nmf-cli --example mu_iteration_time -- ../shared/data/pbmc3k/counts.mtx [k] [threads]`

use std::path::Path;
use std::time::Instant;

use nmf_cli::input::{read_input, ReadOptions};
use nmf_core::{
    initialize, Data, ElasticNet, Frobenius, Init, KullbackLeibler, Loss, Matrix, NmfProblem, NmfState, Solver,
};
use nmf_solvers::Mu;

fn time_iterations<L: Loss<f64>>(data: &Data<f64>, loss: L, k: usize, threads: usize, label: &str) {
    let par = nmf_core::linalg::par_for_threads(threads);
    let (w, h) = initialize(data, k, &Init::NndsvdA, 0, par).expect("init");
    let problem = NmfProblem::new(data, loss, ElasticNet::none(), ElasticNet::none(), par).expect("problem");
    let mut state = NmfState { w, h };
    let mut mu = Mu::new();
    Solver::init(&mut mu, &problem, &mut state).expect("init solver");
    mu.next_iter(&problem, &mut state).expect("warm-up");
    let reps = 20;
    let t = Instant::now();
    for _ in 0..reps {
        mu.next_iter(&problem, &mut state).expect("step");
    }
    let per = t.elapsed().as_secs_f64() / reps as f64;
    println!(
        "{label}: {:.2} ms per MU iteration ({reps} iterations, k = {k}, threads = {threads})",
        per * 1e3
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).map_or("../shared/data/pbmc3k/counts.mtx", String::as_str);
    let k: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let threads: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(0);
    let loaded = read_input(
        Path::new(path),
        &ReadOptions {
            transpose: true,
            ..Default::default()
        },
    )
    .expect("read input");
    let sparse = Data::new(loaded.matrix.clone(), None).expect("valid data");
    println!(
        "{path}: {} features x {} samples, {} nonzeros",
        sparse.nrows(),
        sparse.ncols(),
        sparse.stats().nnz
    );
    let dense = match loaded.matrix {
        Matrix::Sparse(s) => Data::dense(s.to_dense()).expect("valid data"),
        d @ Matrix::Dense(_) => Data::new(d, None).expect("valid data"),
    };
    time_iterations(&sparse, KullbackLeibler, k, threads, "sparse KL");
    time_iterations(&dense, Frobenius, k, threads, "dense Frobenius");
    time_iterations(&sparse, Frobenius, k, threads, "sparse Frobenius");
    time_iterations(&dense, KullbackLeibler, k, threads, "dense KL");
}
