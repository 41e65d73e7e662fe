//! Prints every per-iteration ratio of the speed targets in one run (criterion is slow to read):
//!
//! * dense: one iteration of `mu` and `hals` (and `cd`, `anls`) over the GEMM floor, the two
//!   products X·Hᵀ + Wᵀ·X alone, timed in the same process with the same library and threads;
//! * sparse: per-iteration time on pbmc3k-shaped data (2000×2638, 10 % nonzero) and on a 10×
//!   sparser matrix of the same shape, the same for the 10× larger planted shape (4000×13000,
//!   skipped with `quick`), and the cost of one evaluation (objective, relative error, KKT)
//!   against one KL-MU step;
//! * f32 against f64 on the dense problem.
//!
//! ```text
//! cargo run --release -p nmf-bench --example ratios            # all cores
//! cargo run --release -p nmf-bench --example ratios -- 1       # one thread
//! cargo run --release -p nmf-bench --example ratios -- 0 quick # skip the two largest shapes
//! ```
//!
//! Every time is the median of several repetitions; ratios are taken within this run.

use std::hint::black_box;
use std::time::Instant;

use nmf_bench::inputs::{dense_input, sparse_input};
use nmf_core::faer::{Mat, Par};
use nmf_core::linalg::{at_times_x, b_times_xt, par_for_threads, x_times};
use nmf_core::{
    initialize, Data, ElasticNet, Frobenius, Init, KullbackLeibler, Loss, Matrix, NmfFloat, NmfProblem, NmfState,
    Problem, Solver,
};
use nmf_solvers::{Anls, Cd, Hals, Mu};

/// Median seconds of `reps` runs of each task (after one warm-up run each). The tasks run in
/// turn, so load from other processes hits them alike and their ratios stay meaningful.
fn round_robin(reps: usize, tasks: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    let mut times = vec![Vec::with_capacity(reps); tasks.len()];
    for t in tasks.iter_mut() {
        t();
    }
    for _ in 0..reps {
        for (t, out) in tasks.iter_mut().zip(times.iter_mut()) {
            let s = Instant::now();
            t();
            out.push(s.elapsed().as_secs_f64());
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        })
        .collect()
}

/// One timed task: a closure that owns what it needs.
type Task<'a> = Box<dyn FnMut() + 'a>;

/// The GEMM floor: X·Hᵀ (dense; H·Xᵀ for sparse X) and Wᵀ·X, with the kernels, library and threads the
/// block solvers use (faer's GEMM for dense X, nmf-core's sparse kernels for sparse X).
fn floor_task<'a, F: NmfFloat>(data: &'a Data<F>, start: &'a (Mat<F>, Mat<F>), par: Par) -> Task<'a> {
    let (m, n, k) = (data.nrows(), data.ncols(), start.0.ncols());
    let mut hxt = Mat::<F>::zeros(k, m);
    let mut scatter = Vec::new();
    let mut xht = Mat::<F>::zeros(m, k);
    let mut wtx = Mat::<F>::zeros(k, n);
    let wt = start.0.transpose().to_owned();
    Box::new(move || {
        match data.matrix() {
            // Each kernel in its fastest layout, as the solvers call them.
            Matrix::Dense(_) => x_times(data.matrix(), start.1.transpose(), xht.as_mut(), par),
            Matrix::Sparse(_) => b_times_xt(data.matrix(), start.1.as_ref(), hxt.as_mut(), par, &mut scatter),
        }
        at_times_x(data.matrix(), wt.as_ref(), wtx.as_mut(), par);
        black_box((&hxt, &xht, &wtx));
    })
}

/// One `next_iter`, continuing from the NNDSVDa start after `init`.
fn iter_task<'a, F, L, S>(data: &'a Data<F>, start: &(Mat<F>, Mat<F>), loss: L, mut solver: S, par: Par) -> Task<'a>
where
    F: NmfFloat,
    L: Loss<F>,
    S: for<'b> Solver<F, NmfProblem<'b, F, L>> + 'a,
{
    let problem = NmfProblem::new(data, loss, ElasticNet::default(), ElasticNet::default(), par).expect("problem");
    let mut state = NmfState {
        w: start.0.clone(),
        h: start.1.clone(),
    };
    solver.init(&problem, &mut state).expect("init");
    Box::new(move || {
        solver.next_iter(&problem, &mut state).expect("iteration");
    })
}

/// One evaluation (objective, relative error, KKT residual), as the executor records it.
fn eval_task<'a, F: NmfFloat, L: Loss<F>>(data: &'a Data<F>, start: &(Mat<F>, Mat<F>), loss: L, par: Par) -> Task<'a> {
    let mut problem = NmfProblem::new(data, loss, ElasticNet::default(), ElasticNet::default(), par).expect("problem");
    let state = NmfState {
        w: start.0.clone(),
        h: start.1.clone(),
    };
    Box::new(move || {
        black_box(problem.evaluate(&state).expect("evaluation"));
    })
}

fn run_tasks(reps: usize, mut tasks: Vec<Task<'_>>) -> Vec<f64> {
    let mut refs: Vec<&mut dyn FnMut()> = tasks.iter_mut().map(|t| &mut **t as &mut dyn FnMut()).collect();
    round_robin(reps, &mut refs)
}

fn start<F: NmfFloat>(data: &Data<F>, k: usize, par: Par) -> (Mat<F>, Mat<F>) {
    initialize(data, k, &Init::NndsvdA, 0, par).expect("init")
}

fn dense_block<F: NmfFloat>(m: usize, n: usize, k: usize, par: Par, reps: usize) -> (f64, Vec<f64>) {
    let data = dense_input::<F>(m, n, k);
    let s = start(&data, k, par);
    let names = ["mu", "hals (α=0.5)", "hals (α=0)", "cd", "anls"];
    let t = run_tasks(
        reps,
        vec![
            floor_task(&data, &s, par),
            iter_task(&data, &s, Frobenius, Mu::new(), par),
            iter_task(&data, &s, Frobenius, Hals::new(), par),
            iter_task(
                &data,
                &s,
                Frobenius,
                Hals::new().with_alpha(F::zero()).expect("alpha"),
                par,
            ),
            iter_task(&data, &s, Frobenius, Cd::new(), par),
            iter_task(&data, &s, Frobenius, Anls::new(), par),
        ],
    );
    let label = format!("dense {m}x{n} k={k} {}", std::any::type_name::<F>());
    println!("{label}: GEMM floor (X·Hᵀ + Wᵀ·X) {:.2} ms", t[0] * 1e3);
    for (name, ti) in names.iter().zip(&t[1..]) {
        println!("  {name:<14} {:>9.2} ms/iter   {:>5.2}× floor", ti * 1e3, ti / t[0]);
    }
    (t[0], t[1..].to_vec())
}

fn sparse_block(label: &str, data: &Data<f64>, k: usize, par: Par, reps: usize) -> Vec<f64> {
    let s = start(data, k, par);
    let t = run_tasks(
        reps,
        vec![
            floor_task(data, &s, par),
            iter_task(data, &s, KullbackLeibler, Mu::new(), par),
            iter_task(data, &s, Frobenius, Mu::new(), par),
            iter_task(data, &s, Frobenius, Hals::new(), par),
            eval_task(data, &s, KullbackLeibler, par),
        ],
    );
    println!(
        "{label} (nnz {}): products {:.2} ms, mu-KL {:.2} ms, mu {:.2} ms, hals {:.2} ms/iter; \
         KL evaluation {:.2} ms = {:.2}× a KL-MU step",
        data.stats().nnz,
        t[0] * 1e3,
        t[1] * 1e3,
        t[2] * 1e3,
        t[3] * 1e3,
        t[4] * 1e3,
        t[4] / t[1]
    );
    t
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0);
    let quick = args.iter().any(|a| a == "quick");
    let par = par_for_threads(threads);
    println!("threads: {threads} (0 = all cores), par = {par:?}");

    let (f64_floor, f64_iters) = dense_block::<f64>(5000, 1000, 10, par, 15);
    let (f32_floor, f32_iters) = dense_block::<f32>(5000, 1000, 10, par, 15);
    println!(
        "f32 vs f64 (5000x1000 k=10), times faster: GEMM floor {:.2}×, mu {:.2}×, hals {:.2}×",
        f64_floor / f32_floor,
        f64_iters[0] / f32_iters[0],
        f64_iters[1] / f32_iters[1]
    );
    if !quick {
        dense_block::<f64>(20000, 2000, 20, par, 5);
    }

    let k = 10;
    sparser("2000x2638", 2000, 2638, k, par, 15);
    if !quick {
        // The 10× larger planted shape of the README (4000×13000, 5 M nonzeros at 10 %).
        sparser("4000x13000", 4000, 13000, k, par, 5);
    }
}

/// Per-iteration times at 10 % and 1 % nonzeros of one shape, and the speed-up.
fn sparser(shape: &str, m: usize, n: usize, k: usize, par: Par, reps: usize) {
    let a = sparse_block(
        &format!("sparse {shape} 10%"),
        &sparse_input::<f64>(m, n, k, 0.10),
        k,
        par,
        reps,
    );
    let b = sparse_block(
        &format!("sparse {shape}  1%"),
        &sparse_input::<f64>(m, n, k, 0.01),
        k,
        par,
        reps,
    );
    println!(
        "{shape}: 10x sparser -> faster per iteration: products {:.2}×, mu-KL {:.2}×, mu {:.2}×, hals {:.2}×",
        a[0] / b[0],
        a[1] / b[1],
        a[2] / b[2],
        a[3] / b[3]
    );
}
