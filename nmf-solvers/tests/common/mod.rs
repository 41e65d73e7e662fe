//! Shared test helpers: small fixture readers (tests must not depend on the CLI crate).
#![allow(dead_code)]

pub mod alloc;
pub mod trace;

use nmf_core::faer::Mat;
use nmf_core::{CscMatrix, Data, NmfFloat};

pub fn repo_path(rel: &str) -> String {
    format!("{}/../{}", env!("CARGO_MANIFEST_DIR"), rel)
}

/// A headerless TSV of numbers.
pub fn read_tsv(rel: &str) -> Mat<f64> {
    let text = std::fs::read_to_string(repo_path(rel)).expect("fixture exists");
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').map(|v| v.trim().parse().expect("number")).collect())
        .collect();
    Mat::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j])
}

/// pbmc_small (cells × genes in the file), returned as genes × cells.
pub fn pbmc_small<F: NmfFloat>() -> CscMatrix<F> {
    let text = std::fs::read_to_string(repo_path("data/pbmc_small/counts.mtx")).expect("data exists");
    let mut lines = text.lines().filter(|l| !l.starts_with('%'));
    let dims: Vec<usize> = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    let (mut r, mut c, mut v) = (vec![], vec![], vec![]);
    for l in lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        // File rows are cells: transpose to features × samples.
        c.push(f[0].parse::<usize>().unwrap() - 1);
        r.push(f[1].parse::<usize>().unwrap() - 1);
        v.push(F::lit(f[2].parse::<f64>().unwrap()));
    }
    CscMatrix::from_triplets(dims[1], dims[0], &r, &c, &v).unwrap()
}

/// ‖A − B‖_F / ‖B‖_F.
pub fn rel_diff(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    assert_eq!((a.nrows(), a.ncols()), (b.nrows(), b.ncols()));
    let (mut num, mut den) = (0.0, 0.0);
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            num += (a[(i, j)] - b[(i, j)]).powi(2);
            den += b[(i, j)].powi(2);
        }
    }
    (num / den).sqrt()
}

/// A small random non-negative matrix (xorshift, ~30% zeros), optionally with a zero first
/// row and a zero last column; sparse for even seeds, dense for odd ones.
pub fn small_problem(m: usize, n: usize, seed: u64, zero_row: bool, zero_col: bool) -> Data<f64> {
    let mut s = seed.wrapping_add(1);
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 1000) as f64 / 100.0
    };
    let mut x = Mat::from_fn(m, n, |_, _| {
        let v = next();
        if v < 3.0 {
            0.0
        } else {
            v
        }
    });
    if zero_row {
        x.as_mut().row_mut(0).fill(0.0);
    }
    if zero_col {
        x.as_mut().col_mut(n - 1).fill(0.0);
    }
    x[(m - 1, 0)] = 1.0;
    if seed % 2 == 0 {
        Data::sparse(CscMatrix::from_dense(x.as_ref())).unwrap()
    } else {
        Data::dense(x).unwrap()
    }
}
