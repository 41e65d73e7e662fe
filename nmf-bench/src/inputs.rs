//! Seeded synthetic inputs of the speed benchmarks (`benches/solvers.rs`, `examples/ratios.rs`):
//! the same matrices on every run and every machine, built without a random-number crate.

use nmf_core::faer::Mat;
use nmf_core::{CscMatrix, Data, NmfFloat};

/// A uniform in [0, 1) from a 64-bit key (the SplitMix64 finaliser).
pub fn unit(key: u64) -> f64 {
    let mut z = key.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// A dense m×n non-negative matrix: a planted rank-k product of uniform factors plus 10 %
/// uniform noise (the kind of input `compare/compare.py` writes for its dense cases).
///
/// # Panics
/// Never for m, n, k ≥ 1 (the matrix is positive).
pub fn dense_input<F: NmfFloat>(m: usize, n: usize, k: usize) -> Data<F> {
    let w = Mat::from_fn(m, k, |i, l| unit((i * k + l) as u64));
    let h = Mat::from_fn(k, n, |l, j| unit((1 << 40) + (j * k + l) as u64));
    let x = Mat::from_fn(m, n, |i, j| {
        let mut s = 0.0;
        for l in 0..k {
            s += w[(i, l)] * h[(l, j)];
        }
        F::lit(s + 0.1 * unit((2 << 40) + (j * m + i) as u64))
    });
    Data::dense(x).expect("a positive matrix is valid")
}

/// An m×n sparse count matrix with about `density`·m·n nonzeros, small integers whose size
/// follows a planted rank-k rate (scRNA-seq-like: pbmc3k is 2000×2638 at 10 %).
///
/// # Panics
/// If `density` is so small that no entry is drawn.
pub fn sparse_input<F: NmfFloat>(m: usize, n: usize, k: usize, density: f64) -> Data<F> {
    let w: Vec<f64> = (0..m * k).map(|t| unit((3 << 40) + t as u64)).collect();
    let h: Vec<f64> = (0..k * n).map(|t| unit((4 << 40) + t as u64)).collect();
    let mut col_ptr = vec![0];
    let (mut rows, mut vals) = (Vec::new(), Vec::new());
    for j in 0..n {
        for i in 0..m {
            let key = (5 << 40) + (j * m + i) as u64;
            if unit(key) < density {
                let rate: f64 = (0..k).map(|l| w[i * k + l] * h[j * k + l]).sum();
                rows.push(i);
                vals.push(F::lit(1.0 + (4.0 * rate * unit(key ^ 0x5555)).floor()));
            }
        }
        col_ptr.push(rows.len());
    }
    let x = CscMatrix::try_from_parts(m, n, col_ptr, rows, vals).expect("consistent CSC arrays");
    Data::sparse(x).expect("at least one nonzero")
}
