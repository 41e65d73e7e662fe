//! Shared test helpers: seeded random problems with clean (non-degenerate) active sets, inner
//! products and relative errors.
#![allow(dead_code)]

use nmf_core::faer::{Mat, MatRef};
use nmf_implicit::{ActiveSetTol, EntryState, NnlsBlock};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

pub fn uniform(r: &mut ChaCha8Rng, m: usize, n: usize, lo: f64, hi: f64) -> Mat<f64> {
    Mat::from_fn(m, n, |_, _| lo + (hi - lo) * r.random::<f64>())
}

pub fn normal(r: &mut ChaCha8Rng, m: usize, n: usize) -> Mat<f64> {
    Mat::from_fn(m, n, |_, _| r.sample::<f64, _>(StandardNormal))
}

pub fn dot(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
    assert_eq!((a.nrows(), a.ncols()), (b.nrows(), b.ncols()));
    (0..a.ncols())
        .flat_map(|j| (0..a.nrows()).map(move |i| (i, j)))
        .map(|(i, j)| a[(i, j)] * b[(i, j)])
        .sum()
}

pub fn norm(a: MatRef<'_, f64>) -> f64 {
    dot(a, a).sqrt()
}

/// ‖a − b‖ / ‖b‖ (absolute when b = 0).
pub fn rel(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
    let d = norm((a.to_owned() - b.to_owned()).as_ref());
    let s = norm(b);
    if s > 0.0 {
        d / s
    } else {
        d
    }
}

pub fn rel_scalar(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// A random NNLS problem (X m×n, W m×k) whose active set has margins: X = W H0 + noise with
/// H0 ~30% zeros, redrawn until every free entry and every active dual exceeds `margin`
/// times its maximum.
pub fn nnls_problem(seed: u64, m: usize, n: usize, k: usize, penalty: (f64, f64), margin: f64) -> (Mat<f64>, Mat<f64>) {
    let mut r = rng(seed);
    for _ in 0..200 {
        let w = uniform(&mut r, m, k, 0.0, 1.0);
        let h0 = Mat::from_fn(k, n, |_, _| {
            let u: f64 = r.random();
            if u < 0.3 {
                0.0
            } else {
                0.5 + u
            }
        });
        let noise = normal(&mut r, m, n);
        let x = &w * &h0 + noise * 0.3;
        let block = NnlsBlock::solve(x.as_ref(), w.as_ref(), penalty, &ActiveSetTol::default()).unwrap();
        if clean(&block, margin) {
            return (x, w);
        }
    }
    panic!("no clean NNLS problem found");
}

/// Every free entry and active dual above `margin` times its maximum, some of each.
pub fn clean(block: &NnlsBlock<f64>, margin: f64) -> bool {
    let (h, d) = (block.h(), block.dual());
    let hmax = (0..h.ncols())
        .flat_map(|j| (0..h.nrows()).map(move |i| h[(i, j)]))
        .fold(0.0, f64::max);
    let dmax = (0..d.ncols())
        .flat_map(|j| (0..d.nrows()).map(move |i| d[(i, j)]))
        .fold(0.0, f64::max);
    let set = block.active_set();
    let c = set.counts();
    if c.degenerate > 0 || c.active == 0 || c.free == 0 {
        return false;
    }
    (0..h.ncols()).all(|j| {
        (0..h.nrows()).all(|i| match set.state(i, j) {
            EntryState::Free => h[(i, j)] > margin * hmax,
            _ => d[(i, j)] > margin * dmax,
        })
    })
}

/// The free pattern of a block, for "the perturbation kept the active set" checks.
pub fn pattern(block: &NnlsBlock<f64>) -> Vec<bool> {
    let h = block.h();
    (0..h.ncols())
        .flat_map(|j| (0..h.nrows()).map(move |i| (i, j)))
        .map(|(i, j)| block.active_set().is_free(i, j))
        .collect()
}
