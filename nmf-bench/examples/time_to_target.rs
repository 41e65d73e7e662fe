//! Time for an nmf-rs solver to reach a target (relative error, or KL divergence) from an
//! NNDSVDa start, on data written by `nmf-bench/compare/compare.py`; prints one JSON line.
//!
//! ```text
//! time_to_target DIR SOLVER RANK TARGET MAX_ITER [THREADS]
//! ```
//!
//! DIR holds `x.npy` (dense, samples × features, C order: X_skᵀ column-major is X, features ×
//! samples) or `indptr.npy`, `indices.npy`, `data.npy`, `shape.npy` (a CSR samples × features
//! matrix, which is the CSC form of X). SOLVER is `hals`, `hals:ALPHA:DELTA`, `anls`, `cd`,
//! `mu`, `hals-x` or `anls-x` (extrapolated; `anls-x:B0:ETA:G:GB` sets the schedule; Frobenius
//! targets: relative error), `mu-kl`, `cd-kl` or `cd-kl:NEWTON[:TOL]`
//! (target: generalized KL divergence). Only the initialisation and the solver's own steps
//! are timed; the error after each iteration is computed outside the clock. With `TRACE` set
//! in the environment, each iteration's seconds and score go to stderr.

use std::path::Path;
use std::time::Instant;

use nmf_core::faer::{Mat, Par};
use nmf_core::linalg::par_for_threads;
use nmf_core::{
    initialize, metrics, CscMatrix, Data, ElasticNet, Frobenius, Init, KullbackLeibler, Loss, NmfProblem, NmfState,
    Solver,
};
use nmf_solvers::{Anls, Cd, Extrapolation, Hals, KlCd, Mu};

fn read_f64(path: &Path) -> Vec<f64> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).expect("npy header");
    npy.into_vec::<f64>().expect("float64 array")
}

fn read_i64(path: &Path) -> Vec<i64> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).expect("npy header");
    npy.into_vec::<i64>().expect("int64 array")
}

fn load(dir: &Path) -> Data<f64> {
    let dense = dir.join("x.npy");
    if dense.exists() {
        let bytes = std::fs::read(&dense).expect("read x.npy");
        let npy = npyz::NpyFile::new(&bytes[..]).expect("npy header");
        let shape = npy.shape().to_vec();
        let (n, m) = (shape[0] as usize, shape[1] as usize);
        let v = npy.into_vec::<f64>().expect("float64 array");
        // C-order samples × features is column-major features × samples.
        return Data::dense(Mat::from_fn(m, n, |i, j| v[j * m + i])).expect("valid X");
    }
    let shape = read_i64(&dir.join("shape.npy"));
    let (n, m) = (shape[0] as usize, shape[1] as usize);
    let col_ptr: Vec<usize> = read_i64(&dir.join("indptr.npy"))
        .into_iter()
        .map(|v| v as usize)
        .collect();
    let rows: Vec<usize> = read_i64(&dir.join("indices.npy"))
        .into_iter()
        .map(|v| v as usize)
        .collect();
    let vals = read_f64(&dir.join("data.npy"));
    Data::sparse(CscMatrix::try_from_parts(m, n, col_ptr, rows, vals).expect("valid CSR")).expect("valid X")
}

/// Runs until `score(state) <= target` or `max_iter`; returns (solve seconds, iterations, final score).
fn run<L, S>(
    data: &Data<f64>,
    start: (Mat<f64>, Mat<f64>),
    loss: L,
    mut solver: S,
    par: Par,
    (target, max_iter): (f64, usize),
    score: impl Fn(&NmfState<f64>) -> f64,
) -> (f64, usize, f64)
where
    L: Loss<f64>,
    S: for<'a> Solver<f64, NmfProblem<'a, f64, L>>,
{
    let problem = NmfProblem::new(data, loss, ElasticNet::default(), ElasticNet::default(), par).expect("problem");
    let mut state = NmfState { w: start.0, h: start.1 };
    let t0 = Instant::now();
    solver.init(&problem, &mut state).expect("init");
    let mut secs = t0.elapsed().as_secs_f64();
    let mut value = score(&state);
    let mut it = 0;
    let trace = std::env::var_os("TRACE").is_some();
    while value > target && it < max_iter {
        let t = Instant::now();
        let info = solver.next_iter(&problem, &mut state).expect("iteration");
        secs += t.elapsed().as_secs_f64();
        it += 1;
        value = score(&state);
        if trace {
            eprintln!("{it} {secs:.6} {value:.12e}");
        }
        if info.converged {
            break;
        }
    }
    (secs, it, value)
}

/// A `kB` field of /proc/self/status (Linux), 0 where unavailable.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Bytes of X as stored: values and row indices (sparse) or values (dense).
fn input_bytes(data: &Data<f64>) -> u64 {
    match data.matrix() {
        nmf_core::Matrix::Sparse(s) => (s.nnz() * 16 + (s.ncols() + 1) * 8) as u64,
        nmf_core::Matrix::Dense(d) => (d.nrows() * d.ncols() * 8) as u64,
    }
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 6 {
        eprintln!("usage: time_to_target DIR SOLVER RANK TARGET MAX_ITER [THREADS]");
        std::process::exit(2);
    }
    let dir = Path::new(&a[1]);
    let solver = a[2].as_str();
    let rank: usize = a[3].parse().expect("rank");
    let target: f64 = a[4].parse().expect("target");
    let max_iter: usize = a[5].parse().expect("max_iter");
    let par = par_for_threads(a.get(6).and_then(|t| t.parse().ok()).unwrap_or(0));
    let data = load(dir);
    // Reset the peak-RSS mark so that it measures the fit, not the file reading.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = status_kib("VmRSS:");
    let t0 = Instant::now();
    let start = initialize(&data, rank, &Init::NndsvdA, 0, par).expect("NNDSVDa");
    let init_s = t0.elapsed().as_secs_f64();
    let rel = |s: &NmfState<f64>| metrics::relative_error(&data, s.w.as_ref(), s.h.as_ref(), par);
    let kl = |s: &NmfState<f64>| metrics::kl_divergence(&data, s.w.as_ref(), s.h.as_ref(), par);
    let goal = (target, max_iter);
    // sklearn's cd stops on its own violation rule; ours runs to the target, so the rule is off.
    let cd = Cd::new().with_tol(0.0).expect("tol");
    let (solve_s, iterations, value) = match solver {
        "hals" => run(&data, start, Frobenius, Hals::new(), par, goal, rel),
        "hals-x" => run(
            &data,
            start,
            Frobenius,
            Hals::new().with_extrapolation(Extrapolation::for_inexact_blocks()),
            par,
            goal,
            rel,
        ),
        "hals-xe" => run(
            &data,
            start,
            Frobenius,
            Hals::new().with_extrapolation(Extrapolation::for_exact_blocks()),
            par,
            goal,
            rel,
        ),
        o if o.starts_with("hals:") => {
            let v: Vec<f64> = o[5..].split(':').map(|x| x.parse().unwrap()).collect();
            let h = Hals::new().with_alpha(v[0]).unwrap().with_delta(v[1]).unwrap();
            run(&data, start, Frobenius, h, par, goal, rel)
        }
        "anls" => run(&data, start, Frobenius, Anls::new(), par, goal, rel),
        "anls-x" => run(
            &data,
            start,
            Frobenius,
            Anls::new().with_extrapolation(Extrapolation::for_exact_blocks()),
            par,
            goal,
            rel,
        ),
        o if o.starts_with("anls-x:") || o.starts_with("hals-x:") => {
            let v: Vec<f64> = o[7..].split(':').map(|x| x.parse().expect("number")).collect();
            let sched = Extrapolation::new(v[0], v[1], v[2], v[3]).expect("schedule");
            if o.starts_with("anls") {
                run(
                    &data,
                    start,
                    Frobenius,
                    Anls::new().with_extrapolation(sched),
                    par,
                    goal,
                    rel,
                )
            } else {
                run(
                    &data,
                    start,
                    Frobenius,
                    Hals::new().with_extrapolation(sched),
                    par,
                    goal,
                    rel,
                )
            }
        }
        "cd" => run(&data, start, Frobenius, cd, par, goal, rel),
        "mu" => run(&data, start, Frobenius, Mu::new(), par, goal, rel),
        "mu-kl" => run(&data, start, KullbackLeibler, Mu::new(), par, goal, kl),
        "cd-kl" => run(&data, start, KullbackLeibler, KlCd::new(), par, goal, kl),
        o if o.starts_with("cd-kl:") => {
            let v: Vec<&str> = o[6..].split(':').collect();
            let solver = KlCd::new()
                .with_newton_steps(v[0].parse().expect("Newton steps"))
                .expect("1..=50");
            let solver = match v.get(1) {
                Some(t) => solver.with_newton_tol(t.parse().expect("tolerance")).expect(">= 0"),
                None => solver,
            };
            run(&data, start, KullbackLeibler, solver, par, goal, kl)
        }
        other => panic!("unknown solver {other}"),
    };
    let (m, n) = (data.nrows(), data.ncols());
    println!(
        "{{\"solver\": \"{solver}\", \"init_s\": {init_s}, \"solve_s\": {solve_s}, \"seconds\": {}, \
         \"iterations\": {iterations}, \"value\": {value}, \"target\": {target}, \"reached\": {}, \
         \"rss_before_fit_kib\": {rss_before}, \"peak_rss_fit_kib\": {}, \"input_kib\": {}, \"factors_kib\": {}}}",
        init_s + solve_s,
        value <= target,
        status_kib("VmHWM:"),
        input_bytes(&data) / 1024,
        ((m + n) * rank * 8 / 1024)
    );
}
