//! Driving a solver by hand, one iteration at a time: objectives along the way, and a dense
//! planted test matrix.

use nmf_core::faer::{Mat, Par};
use nmf_core::{initialize, Data, ElasticNet, Init, Loss, NmfFloat, NmfProblem, NmfState, Problem, Solver};

/// Objectives of the NNDSVDa start and of `iters` iterations, and the final state; every
/// iterate is checked to be non-negative.
pub fn trace<F, L, S>(
    data: &Data<F>,
    loss: L,
    k: usize,
    pen: ElasticNet<F>,
    solver: &mut S,
    iters: usize,
    par: Par,
) -> (Vec<F>, NmfState<F>)
where
    F: NmfFloat,
    L: Loss<F>,
    S: for<'a> Solver<F, NmfProblem<'a, F, L>>,
{
    let (w, h) = initialize(data, k, &Init::NndsvdA, 0, par).unwrap();
    let mut state = NmfState { w, h };
    let mut problem = NmfProblem::new(data, loss, pen, pen, par).unwrap();
    solver.init(&problem, &mut state).unwrap();
    let mut objectives = vec![problem.evaluate(&state).unwrap().objective];
    for _ in 0..iters {
        solver.next_iter(&problem, &mut state).unwrap();
        objectives.push(problem.evaluate(&state).unwrap().objective);
        let nonneg = |m: &Mat<F>| (0..m.ncols()).all(|j| m.col(j).iter().all(|v| *v >= F::zero()));
        assert!(nonneg(&state.w) && nonneg(&state.h), "a negative entry in the iterate");
    }
    (objectives, state)
}

/// Each objective at most `slack` (relative) above the one before.
pub fn assert_monotone<F: NmfFloat>(objectives: &[F], slack: f64, what: &str) {
    for (i, p) in objectives.windows(2).enumerate() {
        let (a, b) = (p[0].to_f64_lossy(), p[1].to_f64_lossy());
        assert!(
            b <= a + slack * a.abs(),
            "{what}: objective rose at iteration {}: {a} -> {b}",
            i + 1
        );
    }
}

/// A planted rank-k product of uniform factors plus 10 % uniform noise, dense (the comparison
/// script's dense case, small).
pub fn dense_planted(m: usize, n: usize, k: usize, seed: u64) -> Data<f64> {
    let mut s = seed;
    let mut next = || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 11) as f64) / ((1u64 << 53) as f64)
    };
    let w = Mat::from_fn(m, k, |_, _| next());
    let h = Mat::from_fn(k, n, |_, _| next());
    let x = Mat::from_fn(m, n, |i, j| {
        (0..k).map(|r| w[(i, r)] * h[(r, j)]).sum::<f64>() + 0.1 * next()
    });
    Data::dense(x).unwrap()
}
