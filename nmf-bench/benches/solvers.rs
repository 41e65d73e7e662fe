//! Criterion benchmarks (STYLE R13).
//!
//! * `nmf_iter`: ONE iteration (`Solver::next_iter` after `init`) per solver and loss (all
//!   seven for Frobenius; mu and pgd for KL), on dense and sparse planted inputs at two sizes.
//!   IDs are `{solver}[-kl]/{dense|sparse}-{m}x{n}-k{k}`.
//! * `products`: the GEMM floor of one iteration, X·Hᵀ + Wᵀ·X, at the same sizes.
//! * `floor`: the speed ratios of the README (all cores): the GEMM floor next to one `mu` and
//!   one `hals` iteration on dense 5000×1000 k=10 (f64 and f32) and 20000×2000 k=20, and the
//!   floor, one KL-MU and one HALS iteration on pbmc3k-shaped sparse input (2000×2638) at 10 %
//!   and 1 % nonzeros. IDs are `{floor|mu|hals|mu-kl}/{input}`; the ratios are read off pairs
//!   of IDs (`examples/ratios.rs` prints them in one run).
//!
//! `cargo bench -p nmf-bench` runs everything in a few minutes; one ID:
//! `cargo bench -p nmf-bench -- 'nmf_iter/hals/sparse-2000x1000-k10'`.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkGroup, BenchmarkId, Criterion};
use nmf_bench::inputs::{dense_input, sparse_input};
use nmf_core::faer::{Mat, Par};
use nmf_core::linalg::{at_times_x, b_times_xt, x_times, xt_times};
use nmf_core::{
    initialize, Data, ElasticNet, Frobenius, Init, KullbackLeibler, Loss, Matrix, NmfFloat, NmfProblem, NmfState,
    Solver,
};
use nmf_solvers::{Admm, Anls, Cd, Hals, KlCd, Mu, Pgd, PgdAlt};
use nmf_synth::{simulate, PlantedSpec};

/// (features, samples, rank).
const SIZES: [(usize, usize, usize); 2] = [(300, 200, 5), (2000, 1000, 10)];

/// One planted input with its shared NNDSVDa start.
struct Instance {
    label: String,
    data: Data<f64>,
    w0: Mat<f64>,
    h0: Mat<f64>,
}

fn instances() -> Vec<Instance> {
    let mut out = Vec::new();
    for (m, n, k) in SIZES {
        let planted = simulate::<f64>(&PlantedSpec::new(m, n, k).depth(1000.0), 0).expect("valid spec");
        for (kind, data) in [
            ("dense", planted.data_dense().expect("data")),
            ("sparse", planted.data_sparse().expect("data")),
        ] {
            let (w0, h0) = initialize(&data, k, &Init::NndsvdA, 0, Par::Seq).expect("init");
            out.push(Instance {
                label: format!("{kind}-{m}x{n}-k{k}"),
                data,
                w0,
                h0,
            });
        }
    }
    out
}

/// Times `next_iter` from a state that has been through `init` (set up outside the timing).
fn bench_iter<L, S>(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, inst: &Instance, loss: L, solver: S)
where
    L: Loss<f64>,
    S: for<'a> Solver<f64, NmfProblem<'a, f64, L>> + Clone,
{
    let par = Par::Seq;
    let problem =
        NmfProblem::new(&inst.data, loss, ElasticNet::default(), ElasticNet::default(), par).expect("valid problem");
    let mut solver = solver;
    let mut state = NmfState {
        w: inst.w0.clone(),
        h: inst.h0.clone(),
    };
    solver.init(&problem, &mut state).expect("solver init");
    group.bench_with_input(BenchmarkId::new(name, &inst.label), inst, |b, _| {
        b.iter_batched(
            || (solver.clone(), state.clone()),
            |(mut s, mut st)| {
                let info = s.next_iter(&problem, &mut st).expect("iteration");
                black_box((info, st))
            },
            BatchSize::LargeInput,
        );
    });
}

fn nmf_iter(c: &mut Criterion) {
    let insts = instances();
    let mut group = c.benchmark_group("nmf_iter");
    config(&mut group);
    for inst in &insts {
        bench_iter(&mut group, "mu", inst, Frobenius, Mu::new());
        bench_iter(&mut group, "pgd", inst, Frobenius, Pgd::new());
        bench_iter(&mut group, "pgd-alt", inst, Frobenius, PgdAlt::new());
        bench_iter(&mut group, "admm", inst, Frobenius, Admm::new());
        bench_iter(&mut group, "hals", inst, Frobenius, Hals::new());
        bench_iter(&mut group, "anls", inst, Frobenius, Anls::new());
        bench_iter(&mut group, "cd", inst, Frobenius, Cd::new());
        bench_iter(&mut group, "mu-kl", inst, KullbackLeibler, Mu::new());
        bench_iter(&mut group, "pgd-kl", inst, KullbackLeibler, Pgd::new());
        bench_iter(&mut group, "cd-kl", inst, KullbackLeibler, KlCd::new());
    }
    group.finish();
}

/// The two products every Frobenius iteration needs at least once: X·Hᵀ (m×k) and Xᵀ·W (n×k).
fn products(c: &mut Criterion) {
    let insts = instances();
    let mut group = c.benchmark_group("products");
    config(&mut group);
    for inst in &insts {
        let x = inst.data.matrix();
        let (m, n, k) = (inst.data.nrows(), inst.data.ncols(), inst.w0.ncols());
        let mut xht = Mat::<f64>::zeros(m, k);
        let mut xtw = Mat::<f64>::zeros(n, k);
        group.bench_with_input(BenchmarkId::new("xht+wtx", &inst.label), inst, |b, inst| {
            b.iter(|| {
                x_times(x, inst.h0.transpose(), xht.as_mut(), Par::Seq);
                xt_times(x, inst.w0.as_ref(), xtw.as_mut(), Par::Seq);
                black_box((&xht, &xtw));
            });
        });
    }
    group.finish();
}

/// The shared short configuration: a full run stays a few minutes.
fn config(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
}

/// One iteration after `init`, generic over the scalar (for the f32 rows of `floor`).
fn iter_generic<F, L, S>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: BenchmarkId,
    (data, k): (&Data<F>, usize),
    loss: L,
    solver: S,
) where
    F: NmfFloat,
    L: Loss<F>,
    S: for<'a> Solver<F, NmfProblem<'a, F, L>> + Clone,
{
    let par = Par::rayon(0);
    let (w0, h0) = initialize(data, k, &Init::NndsvdA, 0, par).expect("init");
    let problem = NmfProblem::new(data, loss, ElasticNet::default(), ElasticNet::default(), par).expect("problem");
    let mut solver = solver;
    let mut state = NmfState { w: w0, h: h0 };
    solver.init(&problem, &mut state).expect("solver init");
    group.bench_function(id, |b| {
        b.iter_batched(
            || (solver.clone(), state.clone()),
            |(mut s, mut st)| black_box((s.next_iter(&problem, &mut st).expect("iteration"), st)),
            BatchSize::LargeInput,
        );
    });
}

/// X·Hᵀ (H·Xᵀ for sparse X) + Wᵀ·X alone, with the kernels the block solvers call and all cores.
fn floor_generic<F: NmfFloat>(group: &mut BenchmarkGroup<'_, WallTime>, label: &str, data: &Data<F>, k: usize) {
    let par = Par::rayon(0);
    let (w0, h0) = initialize(data, k, &Init::NndsvdA, 0, par).expect("init");
    let (m, n) = (data.nrows(), data.ncols());
    let wt = w0.transpose().to_owned();
    let mut hxt = Mat::<F>::zeros(k, m);
    let mut scatter = Vec::new();
    let mut xht = Mat::<F>::zeros(m, k);
    let mut wtx = Mat::<F>::zeros(k, n);
    group.bench_function(BenchmarkId::new("floor", label), |b| {
        b.iter(|| {
            match data.matrix() {
                // Each kernel in its fastest layout, as the solvers call them.
                Matrix::Dense(_) => x_times(data.matrix(), h0.transpose(), xht.as_mut(), par),
                Matrix::Sparse(_) => b_times_xt(data.matrix(), h0.as_ref(), hxt.as_mut(), par, &mut scatter),
            }
            at_times_x(data.matrix(), wt.as_ref(), wtx.as_mut(), par);
            black_box((&hxt, &xht, &wtx));
        });
    });
}

fn floor(c: &mut Criterion) {
    let mut group = c.benchmark_group("floor");
    config(&mut group);
    for (m, n, k) in [(5000, 1000, 10), (20000, 2000, 20)] {
        let label = format!("dense-{m}x{n}-k{k}-f64");
        let data = dense_input::<f64>(m, n, k);
        floor_generic(&mut group, &label, &data, k);
        iter_generic(
            &mut group,
            BenchmarkId::new("mu", &label),
            (&data, k),
            Frobenius,
            Mu::new(),
        );
        iter_generic(
            &mut group,
            BenchmarkId::new("hals", &label),
            (&data, k),
            Frobenius,
            Hals::new(),
        );
    }
    let data = dense_input::<f32>(5000, 1000, 10);
    let label = "dense-5000x1000-k10-f32";
    floor_generic(&mut group, label, &data, 10);
    iter_generic(
        &mut group,
        BenchmarkId::new("mu", label),
        (&data, 10),
        Frobenius,
        Mu::new(),
    );
    iter_generic(
        &mut group,
        BenchmarkId::new("hals", label),
        (&data, 10),
        Frobenius,
        Hals::new(),
    );
    for density in [0.10, 0.01] {
        let label = format!("sparse-2000x2638-k10-{}pct", (density * 100.0) as usize);
        let data = sparse_input::<f64>(2000, 2638, 10, density);
        floor_generic(&mut group, &label, &data, 10);
        iter_generic(
            &mut group,
            BenchmarkId::new("mu-kl", &label),
            (&data, 10),
            KullbackLeibler,
            Mu::new(),
        );
        iter_generic(
            &mut group,
            BenchmarkId::new("hals", &label),
            (&data, 10),
            Frobenius,
            Hals::new(),
        );
    }
    group.finish();
}

criterion_group!(benches, nmf_iter, products, floor);
criterion_main!(benches);
