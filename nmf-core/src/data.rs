//! Input data: dense or sparse (CSC) X behind one type, with an optional observation mask.
//!
//! [`Data`] is validated once at construction (finite, non-negative, not empty, not all zero),
//! so solvers never re-check it. Sparse input stays sparse: every kernel in
//! [`linalg`](crate::linalg) works on the nonzeros, and no m×n dense temporary is ever built from
//! a sparse X.

use faer::{Mat, MatRef};

use crate::error::{NmfError, Result};
use crate::NmfFloat;

/// A sparse matrix in compressed sparse column form, with sorted row indices, no duplicates and
/// no stored zeros.
#[derive(Debug, Clone, PartialEq)]
pub struct CscMatrix<F> {
    nrows: usize,
    ncols: usize,
    col_ptr: Vec<usize>,
    row_idx: Vec<usize>,
    values: Vec<F>,
}

/// A borrowed view of a sparse pattern with its values (the values may be a scratch buffer over
/// the same pattern, e.g. the ratios X ⊘ WH of the KL updates).
#[derive(Debug, Clone, Copy)]
pub struct CscRef<'a, F> {
    /// Rows.
    pub nrows: usize,
    /// Columns.
    pub ncols: usize,
    /// Column pointers (`ncols + 1`).
    pub col_ptr: &'a [usize],
    /// Row index of each stored entry.
    pub row_idx: &'a [usize],
    /// Value of each stored entry.
    pub values: &'a [F],
}

impl<F: NmfFloat> CscMatrix<F> {
    /// Builds a CSC matrix from (row, column, value) triplets: duplicates are summed, zeros dropped.
    ///
    /// # Errors
    /// [`NmfError::InvalidSparse`] if an index is out of range or the slices differ in length.
    pub fn from_triplets(nrows: usize, ncols: usize, rows: &[usize], cols: &[usize], vals: &[F]) -> Result<Self> {
        if rows.len() != cols.len() || rows.len() != vals.len() {
            return Err(NmfError::InvalidSparse(format!(
                "triplet slices differ in length: {} rows, {} cols, {} values",
                rows.len(),
                cols.len(),
                vals.len()
            )));
        }
        let mut order: Vec<usize> = (0..rows.len()).collect();
        for (t, (&r, &c)) in rows.iter().zip(cols).enumerate() {
            if r >= nrows || c >= ncols {
                return Err(NmfError::InvalidSparse(format!(
                    "entry {t} at ({r}, {c}) is outside a {nrows}x{ncols} matrix"
                )));
            }
        }
        order.sort_by_key(|&t| (cols[t], rows[t]));
        let mut col_ptr = vec![0usize; ncols + 1];
        let mut row_idx = Vec::with_capacity(rows.len());
        let mut values: Vec<F> = Vec::with_capacity(rows.len());
        let mut last: Option<(usize, usize)> = None;
        let mut counts = vec![0usize; ncols];
        for &t in &order {
            let key = (cols[t], rows[t]);
            if last == Some(key) {
                let v = values.last_mut().expect("a previous entry exists");
                *v += vals[t];
            } else {
                row_idx.push(rows[t]);
                values.push(vals[t]);
                counts[cols[t]] += 1;
                last = Some(key);
            }
        }
        for j in 0..ncols {
            col_ptr[j + 1] = col_ptr[j] + counts[j];
        }
        Ok(Self::assemble(nrows, ncols, col_ptr, row_idx, values))
    }

    /// Builds a CSC matrix from its raw arrays, checking their consistency.
    ///
    /// # Errors
    /// [`NmfError::InvalidSparse`] naming the first inconsistency found.
    pub fn try_from_parts(
        nrows: usize,
        ncols: usize,
        col_ptr: Vec<usize>,
        row_idx: Vec<usize>,
        values: Vec<F>,
    ) -> Result<Self> {
        let bad = |s: String| Err(NmfError::InvalidSparse(s));
        if col_ptr.len() != ncols + 1 {
            return bad(format!("col_ptr has {} entries, expected {}", col_ptr.len(), ncols + 1));
        }
        if col_ptr[0] != 0 || col_ptr[ncols] != row_idx.len() || row_idx.len() != values.len() {
            return bad("col_ptr does not span row_idx/values".into());
        }
        for j in 0..ncols {
            if col_ptr[j] > col_ptr[j + 1] || col_ptr[j + 1] > row_idx.len() {
                return bad(format!("col_ptr decreases or overruns at column {j}"));
            }
            let rows = &row_idx[col_ptr[j]..col_ptr[j + 1]];
            for (t, &r) in rows.iter().enumerate() {
                if r >= nrows {
                    return bad(format!("row index {r} out of range in column {j}"));
                }
                if t > 0 && rows[t - 1] >= r {
                    return bad(format!("row indices not strictly increasing in column {j}"));
                }
            }
        }
        Ok(Self::assemble(nrows, ncols, col_ptr, row_idx, values))
    }

    /// A sparse copy of a dense matrix (its nonzeros).
    pub fn from_dense(x: MatRef<'_, F>) -> Self {
        let (nrows, ncols) = (x.nrows(), x.ncols());
        let mut col_ptr = Vec::with_capacity(ncols + 1);
        col_ptr.push(0);
        let mut row_idx = Vec::new();
        let mut values = Vec::new();
        for j in 0..ncols {
            for i in 0..nrows {
                let v = x[(i, j)];
                if v != F::zero() {
                    row_idx.push(i);
                    values.push(v);
                }
            }
            col_ptr.push(row_idx.len());
        }
        Self {
            nrows,
            ncols,
            col_ptr,
            row_idx,
            values,
        }
    }

    /// Wraps consistent arrays, dropping stored zeros.
    fn assemble(nrows: usize, ncols: usize, col_ptr: Vec<usize>, row_idx: Vec<usize>, values: Vec<F>) -> Self {
        let mut m = Self {
            nrows,
            ncols,
            col_ptr,
            row_idx,
            values,
        };
        m.drop_zeros();
        m
    }

    fn drop_zeros(&mut self) {
        if self.values.iter().all(|v| *v != F::zero()) {
            return;
        }
        let mut out = 0;
        let mut start = 0;
        for j in 0..self.ncols {
            let end = self.col_ptr[j + 1];
            for t in start..end {
                if self.values[t] != F::zero() {
                    self.row_idx[out] = self.row_idx[t];
                    self.values[out] = self.values[t];
                    out += 1;
                }
            }
            start = end;
            self.col_ptr[j + 1] = out;
        }
        self.row_idx.truncate(out);
        self.values.truncate(out);
    }

    /// Rows.
    pub fn nrows(&self) -> usize {
        self.nrows
    }
    /// Columns.
    pub fn ncols(&self) -> usize {
        self.ncols
    }
    /// Number of stored (nonzero) entries.
    pub fn nnz(&self) -> usize {
        self.values.len()
    }
    /// Column pointers.
    pub fn col_ptr(&self) -> &[usize] {
        &self.col_ptr
    }
    /// Row indices.
    pub fn row_idx(&self) -> &[usize] {
        &self.row_idx
    }
    /// Stored values.
    pub fn values(&self) -> &[F] {
        &self.values
    }

    /// A borrowed view.
    pub fn as_ref(&self) -> CscRef<'_, F> {
        CscRef {
            nrows: self.nrows,
            ncols: self.ncols,
            col_ptr: &self.col_ptr,
            row_idx: &self.row_idx,
            values: &self.values,
        }
    }

    /// The transpose, in CSC form (i.e. this matrix in CSR form, reinterpreted).
    pub fn transpose(&self) -> Self {
        let mut counts = vec![0usize; self.nrows + 1];
        for &r in &self.row_idx {
            counts[r + 1] += 1;
        }
        for i in 0..self.nrows {
            counts[i + 1] += counts[i];
        }
        let col_ptr = counts.clone();
        let mut next = counts;
        let mut row_idx = vec![0usize; self.nnz()];
        let mut values = vec![F::zero(); self.nnz()];
        for j in 0..self.ncols {
            for t in self.col_ptr[j]..self.col_ptr[j + 1] {
                let r = self.row_idx[t];
                let dst = next[r];
                row_idx[dst] = j;
                values[dst] = self.values[t];
                next[r] += 1;
            }
        }
        Self {
            nrows: self.ncols,
            ncols: self.nrows,
            col_ptr,
            row_idx,
            values,
        }
    }

    /// Converts a sparse matrix of another float type (e.g. f64 read from a file into f32).
    pub fn cast<G: NmfFloat>(&self) -> CscMatrix<G> {
        CscMatrix {
            nrows: self.nrows,
            ncols: self.ncols,
            col_ptr: self.col_ptr.clone(),
            row_idx: self.row_idx.clone(),
            values: self.values.iter().map(|v| G::lit(v.to_f64_lossy())).collect(),
        }
    }

    /// A dense copy: for tests and small inputs only.
    pub fn to_dense(&self) -> Mat<F> {
        let mut x = Mat::zeros(self.nrows, self.ncols);
        for j in 0..self.ncols {
            for t in self.col_ptr[j]..self.col_ptr[j + 1] {
                x[(self.row_idx[t], j)] = self.values[t];
            }
        }
        x
    }
}

/// The matrix X itself: dense or sparse.
#[derive(Debug, Clone)]
pub enum Matrix<F> {
    /// Dense, column-major (faer).
    Dense(Mat<F>),
    /// Sparse, compressed sparse column.
    Sparse(CscMatrix<F>),
}

impl<F: NmfFloat> Matrix<F> {
    /// Rows (features).
    pub fn nrows(&self) -> usize {
        match self {
            Matrix::Dense(x) => x.nrows(),
            Matrix::Sparse(x) => x.nrows(),
        }
    }
    /// Columns (samples).
    pub fn ncols(&self) -> usize {
        match self {
            Matrix::Dense(x) => x.ncols(),
            Matrix::Sparse(x) => x.ncols(),
        }
    }
    /// The transpose (samples as rows), same storage kind.
    pub fn transpose(&self) -> Self {
        match self {
            Matrix::Dense(x) => Matrix::Dense(x.transpose().to_owned()),
            Matrix::Sparse(x) => Matrix::Sparse(x.transpose()),
        }
    }
}

/// Which entries of X are observed. Missing entries take no part in the objective, the
/// updates or the metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Mask {
    nrows: usize,
    ncols: usize,
    /// Column-major, `true` = observed.
    observed: Vec<bool>,
}

impl Mask {
    /// A mask from a column-major vector of observed flags.
    ///
    /// # Errors
    /// [`NmfError::ShapeMismatch`] if the vector does not hold `nrows * ncols` flags.
    pub fn from_col_major(nrows: usize, ncols: usize, observed: Vec<bool>) -> Result<Self> {
        if observed.len() != nrows * ncols {
            return Err(NmfError::ShapeMismatch {
                what: "mask",
                expected_rows: nrows,
                expected_cols: ncols,
                got_rows: observed.len(),
                got_cols: 1,
            });
        }
        Ok(Self { nrows, ncols, observed })
    }
    /// A mask from a function of (row, column).
    pub fn from_fn(nrows: usize, ncols: usize, f: impl Fn(usize, usize) -> bool) -> Self {
        let mut observed = Vec::with_capacity(nrows * ncols);
        for j in 0..ncols {
            for i in 0..nrows {
                observed.push(f(i, j));
            }
        }
        Self { nrows, ncols, observed }
    }
    /// Rows.
    pub fn nrows(&self) -> usize {
        self.nrows
    }
    /// Columns.
    pub fn ncols(&self) -> usize {
        self.ncols
    }
    /// Whether entry (i, j) is observed.
    #[inline(always)]
    pub fn is_observed(&self, i: usize, j: usize) -> bool {
        self.observed[i + j * self.nrows]
    }
    /// The observed flags of column j.
    #[inline(always)]
    pub fn col(&self, j: usize) -> &[bool] {
        &self.observed[j * self.nrows..(j + 1) * self.nrows]
    }
    /// Number of observed entries.
    pub fn count_observed(&self) -> usize {
        self.observed.iter().filter(|b| **b).count()
    }
    /// The transpose.
    pub fn transpose(&self) -> Self {
        Self::from_fn(self.ncols, self.nrows, |i, j| self.is_observed(j, i))
    }
}

/// Summary numbers of X computed once at validation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataStats<F> {
    /// Number of nonzero observed entries.
    pub nnz: usize,
    /// Number of observed entries.
    pub observed: usize,
    /// Sum of observed entries.
    pub sum: F,
    /// Squared Frobenius norm over observed entries.
    pub sq_norm: F,
    /// Number of all-zero rows (features with no signal).
    pub zero_rows: usize,
    /// Number of all-zero columns (samples with no signal).
    pub zero_cols: usize,
}

/// Validated input of a fit: X (features × samples), dense or sparse, with an optional mask.
///
/// Rows or columns that are entirely zero are allowed: their row of W (column of H) goes to
/// zero, exactly, and no NaN is produced. They are counted in [`DataStats`].
#[derive(Debug, Clone)]
pub struct Data<F> {
    x: Matrix<F>,
    mask: Option<Mask>,
    stats: DataStats<F>,
}

impl<F: NmfFloat> Data<F> {
    /// Validates a dense X.
    ///
    /// # Errors
    /// [`NmfError::EmptyInput`], [`NmfError::NonFiniteEntry`], [`NmfError::NegativeEntry`],
    /// [`NmfError::AllZero`].
    pub fn dense(x: Mat<F>) -> Result<Self> {
        Self::new(Matrix::Dense(x), None)
    }

    /// Validates a sparse X.
    ///
    /// # Errors
    /// As [`Data::dense`].
    pub fn sparse(x: CscMatrix<F>) -> Result<Self> {
        Self::new(Matrix::Sparse(x), None)
    }

    /// Validates a dense X with an observation mask: unobserved entries may hold anything
    /// (NaN included) and are ignored.
    ///
    /// # Errors
    /// As [`Data::dense`], plus [`NmfError::ShapeMismatch`] for a mask of the wrong shape.
    pub fn dense_masked(x: Mat<F>, mask: Mask) -> Result<Self> {
        Self::new(Matrix::Dense(x), Some(mask))
    }

    /// The samples (columns) `cols`, in that order, as new validated data (sparse stays
    /// sparse, the mask follows): for held-out splits and subsampling.
    ///
    /// # Errors
    /// [`NmfError::IndexOutOfRange`] for a column index ≥ n; [`NmfError::EmptyInput`] for no
    /// columns; [`NmfError::AllZero`] if the selection has no observed nonzero.
    pub fn select_columns(&self, cols: &[usize]) -> Result<Self> {
        let n = self.ncols();
        if let Some(&j) = cols.iter().find(|&&j| j >= n) {
            return Err(NmfError::IndexOutOfRange {
                what: "column",
                index: j,
                len: n,
            });
        }
        let m = self.nrows();
        let x = match self.matrix() {
            Matrix::Dense(d) => Matrix::Dense(Mat::from_fn(m, cols.len(), |i, c| d[(i, cols[c])])),
            Matrix::Sparse(s) => {
                let (ptr, rows, vals) = (s.col_ptr(), s.row_idx(), s.values());
                let mut col_ptr = Vec::with_capacity(cols.len() + 1);
                col_ptr.push(0);
                let (mut row_idx, mut values) = (Vec::new(), Vec::new());
                for &j in cols {
                    row_idx.extend_from_slice(&rows[ptr[j]..ptr[j + 1]]);
                    values.extend_from_slice(&vals[ptr[j]..ptr[j + 1]]);
                    col_ptr.push(row_idx.len());
                }
                Matrix::Sparse(CscMatrix::try_from_parts(m, cols.len(), col_ptr, row_idx, values)?)
            }
        };
        let mask = self
            .mask()
            .map(|mk| Mask::from_fn(m, cols.len(), |i, c| mk.is_observed(i, cols[c])));
        Self::new(x, mask)
    }

    /// Validates X with an optional mask.
    ///
    /// # Errors
    /// As [`Data::dense_masked`], plus [`NmfError::Unsupported`] for a mask on sparse X.
    pub fn new(x: Matrix<F>, mask: Option<Mask>) -> Result<Self> {
        let (m, n) = (x.nrows(), x.ncols());
        if m == 0 || n == 0 {
            return Err(NmfError::EmptyInput { rows: m, cols: n });
        }
        if let Some(mk) = &mask {
            if mk.nrows != m || mk.ncols != n {
                return Err(NmfError::ShapeMismatch {
                    what: "observation mask",
                    expected_rows: m,
                    expected_cols: n,
                    got_rows: mk.nrows,
                    got_cols: mk.ncols,
                });
            }
        }
        let check = |i: usize, j: usize, v: F| -> Result<()> {
            if !v.is_finite() {
                return Err(NmfError::NonFiniteEntry {
                    row: i,
                    col: j,
                    value: v.to_f64_lossy(),
                });
            }
            if v < F::zero() {
                return Err(NmfError::NegativeEntry {
                    row: i,
                    col: j,
                    value: v.to_f64_lossy(),
                });
            }
            Ok(())
        };
        let mut row_nz = vec![false; m];
        let mut col_nz = vec![false; n];
        let mut nnz = 0;
        let mut sum = F::zero();
        let mut sq = F::zero();
        let x = match (x, &mask) {
            (Matrix::Sparse(s), Some(_)) => {
                drop(s);
                return Err(NmfError::Unsupported(
                    "an observation mask with sparse input (densify the input, or drop the mask)".into(),
                ));
            }
            (Matrix::Sparse(s), None) => {
                for (j, nz) in col_nz.iter_mut().enumerate() {
                    for t in s.col_ptr[j]..s.col_ptr[j + 1] {
                        let (i, v) = (s.row_idx[t], s.values[t]);
                        check(i, j, v)?;
                        row_nz[i] = true;
                        *nz = true;
                        nnz += 1;
                        sum += v;
                        sq += v * v;
                    }
                }
                Matrix::Sparse(s)
            }
            (Matrix::Dense(mut d), mk) => {
                for j in 0..n {
                    for i in 0..m {
                        if mk.as_ref().is_some_and(|mk| !mk.is_observed(i, j)) {
                            // Missing entries are stored as 0 so that kernels can use X as is.
                            d[(i, j)] = F::zero();
                            continue;
                        }
                        let v = d[(i, j)];
                        check(i, j, v)?;
                        if v != F::zero() {
                            row_nz[i] = true;
                            col_nz[j] = true;
                            nnz += 1;
                            sum += v;
                            sq += v * v;
                        }
                    }
                }
                Matrix::Dense(d)
            }
        };
        if nnz == 0 {
            return Err(NmfError::AllZero);
        }
        let observed = mask.as_ref().map_or(m * n, Mask::count_observed);
        let stats = DataStats {
            nnz,
            observed,
            sum,
            sq_norm: sq,
            zero_rows: row_nz.iter().filter(|b| !**b).count(),
            zero_cols: col_nz.iter().filter(|b| !**b).count(),
        };
        Ok(Self { x, mask, stats })
    }

    /// The matrix (missing entries stored as 0).
    pub fn matrix(&self) -> &Matrix<F> {
        &self.x
    }
    /// The observation mask, if any.
    pub fn mask(&self) -> Option<&Mask> {
        self.mask.as_ref()
    }
    /// Summary numbers.
    pub fn stats(&self) -> &DataStats<F> {
        &self.stats
    }
    /// Rows (features, m).
    pub fn nrows(&self) -> usize {
        self.x.nrows()
    }
    /// Columns (samples, n).
    pub fn ncols(&self) -> usize {
        self.x.ncols()
    }
    /// Whether X is stored sparse.
    pub fn is_sparse(&self) -> bool {
        matches!(self.x, Matrix::Sparse(_))
    }
    /// Mean over observed entries.
    pub fn mean(&self) -> F {
        self.stats.sum / F::from_count(self.stats.observed)
    }
    /// Frobenius norm over observed entries.
    pub fn norm(&self) -> F {
        self.stats.sq_norm.sqrt()
    }

    /// Checks that a rank suits this input: 1 ≤ k ≤ min(m, n).
    ///
    /// # Errors
    /// [`NmfParamsError::RankZero`](crate::NmfParamsError::RankZero) or
    /// [`NmfError::RankTooLarge`].
    pub fn check_rank(&self, rank: usize) -> Result<()> {
        if rank == 0 {
            return Err(crate::NmfParamsError::RankZero.into());
        }
        let (m, n) = (self.nrows(), self.ncols());
        if rank > m.min(n) {
            return Err(NmfError::RankTooLarge { rank, rows: m, cols: n });
        }
        Ok(())
    }
}
