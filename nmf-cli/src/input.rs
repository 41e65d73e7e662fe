//! Reading the input matrix X from disk: Matrix Market (`.mtx`, `.mtx.gz`), 10x folders,
//! CSV/TSV tables (optionally gzipped) and NumPy `.npy` arrays.
//!
//! Files are read as stored (rows = features, columns = samples, as in 10x files); with
//! [`ReadOptions::transpose`] the file's rows are samples instead, which is the usual layout of
//! CSV tables and of the data sets under `shared/data`.
//!
//! Why a hand-written Matrix Market parser rather than `nalgebra_sparse::io`: that reader cannot
//! load an `integer` file as `f64` (it fails with `TypeMismatch`, nalgebra issue #1038), its errors
//! are multi-line pest reports without a usable line number, and it builds a full parse tree of
//! the file before checking anything (on pbmc3k's counts.mtx, 514k entries, it takes about 1 s
//! in release mode to produce a COO matrix). Coordinate files are a header, a size line and one
//! `row col [value]` triplet per line, so a line-by-line parser is short, reports the exact line
//! of each problem, and reads pbmc3k into CSC form in about 0.1 s.

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use nmf_core::faer::Mat;
use nmf_core::{CscMatrix, Mask, Matrix, NmfError};
use npyz::{DType, NpyFile, NpyHeader, TypeChar};

/// What to do with missing values (empty, `NA`, `NaN` fields) in a CSV/TSV table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingPolicy {
    /// A missing value is an error ([`InputError::MissingValue`]).
    #[default]
    Error,
    /// Missing values are stored as 0 and marked unobserved in [`Loaded::mask`].
    Mask,
}

/// A matrix read from disk, oriented features × samples, with its names.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// X, features × samples (after transposition). Sparse inputs stay sparse.
    pub matrix: Matrix<f64>,
    /// Which entries are observed: `Some` only when missing values were found under
    /// [`MissingPolicy::Mask`] (dense inputs only).
    pub mask: Option<Mask>,
    /// One name per row of `matrix`; `feature_1`, `feature_2`, ... when the input has none.
    pub feature_names: Vec<String>,
    /// One name per column of `matrix`; `sample_1`, `sample_2`, ... when the input has none.
    pub sample_names: Vec<String>,
}

/// How to read an input file.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions<'a> {
    /// The file's rows are samples (CSV tables, `shared/data`): transpose to features × samples.
    pub transpose: bool,
    /// What to do with missing values in CSV/TSV tables.
    pub missing: MissingPolicy,
    /// A file of feature names (rows of X after transposition) replacing the input's own.
    pub feature_names: Option<&'a Path>,
    /// A file of sample names (columns of X after transposition) replacing the input's own.
    pub sample_names: Option<&'a Path>,
}

/// Everything that can go wrong while reading an input. Each message names the file and the
/// problem (with its 1-based line number where there is one) on one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The path does not exist.
    #[error("{path}: no such file or directory")]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The file could not be read (permissions, a corrupt gzip stream, invalid UTF-8, ...).
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file name does not say which format the file is in.
    #[error(
        "{path}: unknown input format (expected .mtx, .csv, .tsv, .txt, each optionally .gz, .npy, or a 10x folder)"
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The file holds no data.
    #[error("{path}: no data (empty file, or a table without data rows or numeric columns)")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A line that does not follow the format.
    #[error("{path}: line {line}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A valid file using a feature this reader does not handle.
    #[error("{path}: unsupported {what}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is not supported.
        what: String,
    },
    /// A Matrix Market file with fewer entries than its size line announces.
    #[error("{path}: truncated: the size line announces {expected} entries, the file holds {got}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Entries announced.
        expected: usize,
        /// Entries found.
        got: usize,
    },
    /// A Matrix Market file with more entries than its size line announces.
    #[error("{path}: line {line}: more entries than the {expected} the size line announces")]
    TooManyEntries {
        /// The file.
        path: PathBuf,
        /// 1-based line number of the first extra entry.
        line: usize,
        /// Entries announced.
        expected: usize,
    },
    /// A Matrix Market entry outside the matrix.
    #[error("{path}: line {line}: entry ({row}, {col}) is outside the {nrows} x {ncols} matrix (indices are 1-based)")]
    OutOfRange {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Row index as written (1-based).
        row: usize,
        /// Column index as written (1-based).
        col: usize,
        /// Rows announced by the size line.
        nrows: usize,
        /// Columns announced by the size line.
        ncols: usize,
    },
    /// A field that should be a number and is not.
    #[error("{path}: line {line}, field {column}: '{token}' is not a number")]
    NotANumber {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based field (column) number on that line.
        column: usize,
        /// The field's text.
        token: String,
    },
    /// A missing value (empty, `NA`, `NaN`) under [`MissingPolicy::Error`].
    #[error("{path}: line {line}, field {column}: missing value (empty, NA or NaN); allow missing values to fit with an observation mask")]
    MissingValue {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based field (column) number on that line.
        column: usize,
    },
    /// A table row whose number of fields differs from the header's.
    #[error("{path}: line {line}: {got} fields, but the header has {expected}")]
    Ragged {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Fields in the header.
        expected: usize,
        /// Fields on this line.
        got: usize,
    },
    /// A CSV/TSV syntax or encoding error found by the `csv` reader.
    #[error("{path}: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The underlying error (it gives the line).
        source: csv::Error,
    },
    /// A malformed `.npy` file (bad header, data shorter than the shape says, ...).
    #[error("{path}: invalid .npy file: {source}")]
    Npy {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A `.npy` array that is not a matrix.
    #[error("{path}: the array has {ndim} dimensions; only 2-D arrays (matrices) can be read")]
    NotTwoDimensional {
        /// The file.
        path: PathBuf,
        /// Number of dimensions of the array.
        ndim: usize,
    },
    /// A 10x folder without its matrix file.
    #[error("{path}: not a 10x folder: no matrix.mtx or matrix.mtx.gz inside")]
    Missing10xMatrix {
        /// The folder.
        path: PathBuf,
    },
    /// A names file whose number of names does not match the matrix.
    #[error("{path}: {got} names, but the matrix needs {expected}")]
    NameCount {
        /// The names file.
        path: PathBuf,
        /// Rows (feature names) or columns (sample names) of the matrix.
        expected: usize,
        /// Names in the file.
        got: usize,
    },
    /// The entries could not be assembled into a sparse matrix.
    #[error("{path}: {source}")]
    Sparse {
        /// The file.
        path: PathBuf,
        /// The error from nmf-core.
        source: NmfError,
    },
}

/// Reads X from `path`: a file whose format is given by its extension (case-insensitive, with an
/// optional `.gz`), or a 10x folder. See the module documentation for the formats.
///
/// # Errors
/// An [`InputError`] naming the file and the problem; never panics on malformed input.
pub fn read_input(path: &Path, opts: &ReadOptions) -> Result<Loaded, InputError> {
    let meta = fs::metadata(path).map_err(|e| io_error(path, e))?;
    let table = if meta.is_dir() {
        read_10x(path)?
    } else {
        match file_format(path) {
            Some(Format::MatrixMarket) => Table::sparse(read_matrix_market(path)?),
            Some(Format::Delimited(delimiter)) => read_delimited(path, delimiter, opts.missing)?,
            Some(Format::Npy) => Table::dense(read_npy(path)?),
            None => {
                return Err(InputError::UnknownFormat {
                    path: path.to_path_buf(),
                })
            }
        }
    };
    let mut loaded = table.into_loaded(opts.transpose);
    override_names(&mut loaded.feature_names, opts.feature_names)?;
    override_names(&mut loaded.sample_names, opts.sample_names)?;
    Ok(loaded)
}

/// Reads a list of names: the first column of a table with a header row when the file name ends
/// in `.csv` or `.tsv` (optionally `.gz`), else one name per line.
///
/// # Errors
/// [`InputError::NotFound`], [`InputError::Io`] or [`InputError::Csv`].
pub fn read_names(path: &Path) -> Result<Vec<String>, InputError> {
    match file_format(path) {
        Some(Format::Delimited(delimiter)) if !has_extension(path, "txt") => read_first_column(path, delimiter),
        _ => {
            let text = read_text(path)?;
            let mut names: Vec<String> = text.lines().map(str::to_owned).collect();
            // A stray blank line at the end is an editor artefact, not a name.
            while names.last().is_some_and(|n| n.trim().is_empty()) {
                names.pop();
            }
            Ok(names)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Formats, files and orientation.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    MatrixMarket,
    Delimited(u8),
    Npy,
}

fn file_format(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    match name.rsplit_once('.')?.1 {
        "mtx" => Some(Format::MatrixMarket),
        "csv" => Some(Format::Delimited(b',')),
        "tsv" | "txt" => Some(Format::Delimited(b'\t')),
        "npy" => Some(Format::Npy),
        _ => None,
    }
}

fn is_gzip(path: &Path) -> bool {
    has_extension(path, "gz")
}

fn has_extension(path: &Path, ext: &str) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let name = match ext {
        "gz" => name.as_str(),
        _ => name.strip_suffix(".gz").unwrap_or(&name),
    };
    name.rsplit_once('.').is_some_and(|(_, e)| e == ext)
}

fn io_error(path: &Path, source: io::Error) -> InputError {
    let path = path.to_path_buf();
    if source.kind() == io::ErrorKind::NotFound {
        InputError::NotFound { path }
    } else {
        InputError::Io { path, source }
    }
}

/// The file's bytes as a stream, decompressed when the name ends in `.gz`.
fn open(path: &Path) -> Result<Box<dyn Read>, InputError> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let buffered = BufReader::with_capacity(1 << 16, file);
    if is_gzip(path) {
        // Multi-member, so that bgzip'd and concatenated files read in full.
        Ok(Box::new(flate2::read::MultiGzDecoder::new(buffered)))
    } else {
        Ok(Box::new(buffered))
    }
}

fn read_text(path: &Path) -> Result<String, InputError> {
    let mut text = String::new();
    open(path)?.read_to_string(&mut text).map_err(|e| io_error(path, e))?;
    Ok(text)
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    open(path)?.read_to_end(&mut bytes).map_err(|e| io_error(path, e))?;
    Ok(bytes)
}

/// A matrix as stored in the file (rows = the file's rows), with the names the file carries.
struct Table {
    matrix: Matrix<f64>,
    mask: Option<Mask>,
    row_names: Option<Vec<String>>,
    col_names: Option<Vec<String>>,
}

impl Table {
    fn sparse(x: CscMatrix<f64>) -> Self {
        Self {
            matrix: Matrix::Sparse(x),
            mask: None,
            row_names: None,
            col_names: None,
        }
    }

    fn dense(x: Mat<f64>) -> Self {
        Self {
            matrix: Matrix::Dense(x),
            mask: None,
            row_names: None,
            col_names: None,
        }
    }

    fn into_loaded(self, transpose: bool) -> Loaded {
        let Table {
            matrix,
            mask,
            row_names,
            col_names,
        } = self;
        let (matrix, mask, feature_names, sample_names) = if transpose {
            let mask = mask.map(|m| m.transpose());
            (matrix.transpose(), mask, col_names, row_names)
        } else {
            (matrix, mask, row_names, col_names)
        };
        Loaded {
            feature_names: feature_names.unwrap_or_else(|| generated_names("feature", matrix.nrows())),
            sample_names: sample_names.unwrap_or_else(|| generated_names("sample", matrix.ncols())),
            matrix,
            mask,
        }
    }
}

impl Loaded {
    /// Whether the features carry real names rather than the reader's `feature_1`, `feature_2`, …
    /// (made-up names say nothing, so alignment checks skip them).
    pub fn has_feature_names(&self) -> bool {
        !self
            .feature_names
            .iter()
            .enumerate()
            .all(|(i, n)| *n == format!("feature_{}", i + 1))
    }
}

fn generated_names(prefix: &str, count: usize) -> Vec<String> {
    (1..=count).map(|i| format!("{prefix}_{i}")).collect()
}

fn override_names(names: &mut Vec<String>, file: Option<&Path>) -> Result<(), InputError> {
    let Some(file) = file else {
        return Ok(());
    };
    let given = read_names(file)?;
    check_name_count(file, names.len(), given.len())?;
    *names = given;
    Ok(())
}

fn check_name_count(path: &Path, expected: usize, got: usize) -> Result<(), InputError> {
    if expected == got {
        Ok(())
    } else {
        Err(InputError::NameCount {
            path: path.to_path_buf(),
            expected,
            got,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Matrix Market.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MtxField {
    /// `real`, `double` or `integer`: every entry carries a value, read as f64 (R writes
    /// integer files with values like `1e+05`, so integers are not parsed more strictly).
    Numeric,
    /// `pattern`: entries have no value and stand for ones.
    Pattern,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MtxHeader {
    field: MtxField,
    symmetric: bool,
}

#[derive(Debug, Clone, Copy)]
struct MtxSize {
    nrows: usize,
    ncols: usize,
    entries: usize,
}

/// Sparse entries in coordinate form, 0-based.
#[derive(Default)]
struct Triplets {
    rows: Vec<usize>,
    cols: Vec<usize>,
    vals: Vec<f64>,
}

impl Triplets {
    fn with_capacity(n: usize) -> Self {
        Self {
            rows: Vec::with_capacity(n),
            cols: Vec::with_capacity(n),
            vals: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, row: usize, col: usize, val: f64) {
        self.rows.push(row);
        self.cols.push(col);
        self.vals.push(val);
    }
}

fn read_matrix_market(path: &Path) -> Result<CscMatrix<f64>, InputError> {
    parse_matrix_market(path, &read_text(path)?)
}

fn parse_matrix_market(path: &Path, text: &str) -> Result<CscMatrix<f64>, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let Some((_, banner)) = lines.next() else {
        return Err(InputError::Empty {
            path: path.to_path_buf(),
        });
    };
    let header = parse_mtx_banner(path, banner)?;
    let mut content = lines.filter(|(_, l)| {
        let l = l.trim_start();
        !l.is_empty() && !l.starts_with('%')
    });
    let Some((size_line_no, size_line)) = content.next() else {
        return Err(syntax(
            path,
            1,
            "no size line ('rows columns entries') after the header",
        ));
    };
    let size = parse_mtx_size(path, size_line_no, size_line, header)?;

    // The size line is not trusted for the allocation: a corrupt count must not abort the
    // process. A coordinate line takes at least 4 bytes ("1 1\n").
    let mut triplets = Triplets::with_capacity(size.entries.min(text.len() / 4));
    let mut count = 0;
    for (line_no, line) in content {
        if count == size.entries {
            return Err(InputError::TooManyEntries {
                path: path.to_path_buf(),
                line: line_no,
                expected: size.entries,
            });
        }
        let (row, col, val) = parse_mtx_entry(path, line_no, line, header.field, size)?;
        if header.symmetric {
            if col > row {
                return Err(syntax(
                    path,
                    line_no,
                    "entry above the diagonal in a symmetric file (only the lower triangle is stored)",
                ));
            }
            if row != col {
                triplets.push(col, row, val);
            }
        }
        triplets.push(row, col, val);
        count += 1;
    }
    if count < size.entries {
        return Err(InputError::Truncated {
            path: path.to_path_buf(),
            expected: size.entries,
            got: count,
        });
    }
    CscMatrix::from_triplets(size.nrows, size.ncols, &triplets.rows, &triplets.cols, &triplets.vals).map_err(|source| {
        InputError::Sparse {
            path: path.to_path_buf(),
            source,
        }
    })
}

fn syntax(path: &Path, line: usize, message: impl Into<String>) -> InputError {
    InputError::Syntax {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

fn unsupported(path: &Path, what: impl Into<String>) -> InputError {
    InputError::Unsupported {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

fn parse_mtx_banner(path: &Path, banner: &str) -> Result<MtxHeader, InputError> {
    let tokens: Vec<String> = banner.split_ascii_whitespace().map(str::to_ascii_lowercase).collect();
    let [magic, object, format, field, symmetry] = tokens.as_slice() else {
        return Err(syntax(
            path,
            1,
            "not a Matrix Market header (expected '%%MatrixMarket matrix coordinate <field> <symmetry>')",
        ));
    };
    if magic != "%%matrixmarket" {
        return Err(syntax(
            path,
            1,
            "not a Matrix Market file: the first line must start with %%MatrixMarket",
        ));
    }
    if object != "matrix" {
        return Err(unsupported(
            path,
            format!("Matrix Market object '{object}' (only 'matrix')"),
        ));
    }
    if format != "coordinate" {
        return Err(unsupported(
            path,
            format!("Matrix Market format '{format}' (only 'coordinate'; store dense data as CSV or .npy)"),
        ));
    }
    let field = match field.as_str() {
        "real" | "double" | "integer" => MtxField::Numeric,
        "pattern" => MtxField::Pattern,
        other => return Err(unsupported(path, format!("Matrix Market field '{other}'"))),
    };
    let symmetric = match symmetry.as_str() {
        "general" => false,
        "symmetric" => true,
        other => return Err(unsupported(path, format!("Matrix Market symmetry '{other}'"))),
    };
    Ok(MtxHeader { field, symmetric })
}

/// The whitespace-separated fields of a line when there are exactly `N`; else how many there are.
fn exact_fields<const N: usize>(line: &str) -> Result<[&str; N], usize> {
    let mut out = [""; N];
    let mut count = 0;
    for token in line.split_ascii_whitespace() {
        if let Some(slot) = out.get_mut(count) {
            *slot = token;
        }
        count += 1;
    }
    if count == N {
        Ok(out)
    } else {
        Err(count)
    }
}

fn parse_mtx_size(path: &Path, line_no: usize, line: &str, header: MtxHeader) -> Result<MtxSize, InputError> {
    let fields = exact_fields::<3>(line).map_err(|n| {
        syntax(
            path,
            line_no,
            format!("the size line must hold 3 numbers (rows columns entries), found {n} fields"),
        )
    })?;
    let mut numbers = [0usize; 3];
    for (k, (token, number)) in fields.iter().zip(&mut numbers).enumerate() {
        *number = parse_index(path, line_no, k + 1, token)?;
    }
    let [nrows, ncols, entries] = numbers;
    if header.symmetric && nrows != ncols {
        return Err(syntax(
            path,
            line_no,
            format!("a symmetric matrix must be square, the size line says {nrows} x {ncols}"),
        ));
    }
    Ok(MtxSize { nrows, ncols, entries })
}

fn parse_index(path: &Path, line: usize, column: usize, token: &str) -> Result<usize, InputError> {
    token.parse().map_err(|_| not_a_number(path, line, column, token))
}

fn not_a_number(path: &Path, line: usize, column: usize, token: &str) -> InputError {
    InputError::NotANumber {
        path: path.to_path_buf(),
        line,
        column,
        token: token.to_owned(),
    }
}

/// One entry, 0-based, checked against the size line.
fn parse_mtx_entry(
    path: &Path,
    line_no: usize,
    line: &str,
    field: MtxField,
    size: MtxSize,
) -> Result<(usize, usize, f64), InputError> {
    let wrong_count =
        |n: usize, expected: &str| syntax(path, line_no, format!("expected {expected}, found {n} fields"));
    let (row_token, col_token, value) = match field {
        MtxField::Numeric => {
            let [r, c, v] = exact_fields::<3>(line).map_err(|n| wrong_count(n, "3 fields (row column value)"))?;
            // NaN and infinities are kept: nmf-core rejects them with their position.
            let value = v.parse::<f64>().map_err(|_| not_a_number(path, line_no, 3, v))?;
            (r, c, value)
        }
        MtxField::Pattern => {
            let [r, c] = exact_fields::<2>(line).map_err(|n| wrong_count(n, "2 fields (row column)"))?;
            (r, c, 1.0)
        }
    };
    let row = parse_index(path, line_no, 1, row_token)?;
    let col = parse_index(path, line_no, 2, col_token)?;
    if row == 0 || col == 0 || row > size.nrows || col > size.ncols {
        return Err(InputError::OutOfRange {
            path: path.to_path_buf(),
            line: line_no,
            row,
            col,
            nrows: size.nrows,
            ncols: size.ncols,
        });
    }
    Ok((row - 1, col - 1, value))
}

// ---------------------------------------------------------------------------------------------
// 10x folders.
// ---------------------------------------------------------------------------------------------

fn first_existing(dir: &Path, candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(|name| dir.join(name)).find(|p| p.is_file())
}

/// A Cell Ranger output folder: `matrix.mtx[.gz]` is genes × cells already, with the names in
/// `features.tsv[.gz]` (or `genes.tsv[.gz]` before Cell Ranger 3) and `barcodes.tsv[.gz]`.
fn read_10x(dir: &Path) -> Result<Table, InputError> {
    let matrix_path =
        first_existing(dir, &["matrix.mtx.gz", "matrix.mtx"]).ok_or_else(|| InputError::Missing10xMatrix {
            path: dir.to_path_buf(),
        })?;
    let x = read_matrix_market(&matrix_path)?;
    let features = first_existing(dir, &["features.tsv.gz", "features.tsv", "genes.tsv.gz", "genes.tsv"]);
    let barcodes = first_existing(dir, &["barcodes.tsv.gz", "barcodes.tsv"]);
    let row_names = features.map(|p| read_10x_names(&p, x.nrows())).transpose()?;
    let col_names = barcodes.map(|p| read_10x_names(&p, x.ncols())).transpose()?;
    Ok(Table {
        row_names,
        col_names,
        ..Table::sparse(x)
    })
}

/// Names from a header-less 10x TSV: the gene symbol (2nd column) when present, else the 1st.
fn read_10x_names(path: &Path, expected: usize) -> Result<Vec<String>, InputError> {
    let text = read_text(path)?;
    let names: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut columns = line.split('\t');
            let first = columns.next().unwrap_or_default();
            columns.next().unwrap_or(first).to_owned()
        })
        .collect();
    check_name_count(path, expected, names.len())?;
    Ok(names)
}

// ---------------------------------------------------------------------------------------------
// CSV / TSV.
// ---------------------------------------------------------------------------------------------

fn csv_reader(path: &Path, delimiter: u8, has_headers: bool) -> Result<csv::Reader<Box<dyn Read>>, InputError> {
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(has_headers)
        // Row lengths are checked here, to report them as `Ragged` with the header's width.
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(open(path)?))
}

fn csv_error(path: &Path, source: csv::Error) -> InputError {
    InputError::Csv {
        path: path.to_path_buf(),
        source,
    }
}

fn record_line(record: &csv::StringRecord) -> usize {
    record
        .position()
        .map_or(0, |p| usize::try_from(p.line()).unwrap_or(usize::MAX))
}

fn read_first_column(path: &Path, delimiter: u8) -> Result<Vec<String>, InputError> {
    let mut reader = csv_reader(path, delimiter, true)?;
    let mut names = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(path, e))?;
        if let Some(name) = record.get(0) {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

fn is_missing_token(field: &str) -> bool {
    field.is_empty() || field.eq_ignore_ascii_case("na") || field.eq_ignore_ascii_case("nan")
}

/// Whether a first field is compatible with a numeric first column. Missing values count as
/// numeric: taking a data column with gaps for names would silently drop a column of X.
fn looks_numeric(field: &str) -> bool {
    is_missing_token(field) || field.parse::<f64>().is_ok()
}

/// Where a field sits in the file, for error messages.
#[derive(Clone, Copy)]
struct FieldPos<'a> {
    path: &'a Path,
    line: usize,
    column: usize,
}

/// A field's value and whether it was observed.
fn parse_field(pos: FieldPos<'_>, field: &str, missing: MissingPolicy) -> Result<(f64, bool), InputError> {
    if is_missing_token(field) {
        return match missing {
            MissingPolicy::Error => Err(InputError::MissingValue {
                path: pos.path.to_path_buf(),
                line: pos.line,
                column: pos.column,
            }),
            MissingPolicy::Mask => Ok((0.0, false)),
        };
    }
    field
        .parse::<f64>()
        .map(|v| (v, true))
        .map_err(|_| not_a_number(pos.path, pos.line, pos.column, field))
}

/// The cells of a table, row-major, filled column by column of the file.
struct Grid {
    width: usize,
    values: Vec<f64>,
    observed: Vec<bool>,
}

impl Grid {
    fn new(width: usize) -> Self {
        Self {
            width,
            values: Vec::new(),
            observed: Vec::new(),
        }
    }

    fn push(&mut self, (value, observed): (f64, bool)) {
        self.values.push(value);
        self.observed.push(observed);
    }

    fn nrows(&self) -> usize {
        self.values.len().checked_div(self.width).unwrap_or(0)
    }
}

fn read_delimited(path: &Path, delimiter: u8, missing: MissingPolicy) -> Result<Table, InputError> {
    let mut reader = csv_reader(path, delimiter, false)?;
    let mut record = csv::StringRecord::new();
    let empty = || InputError::Empty {
        path: path.to_path_buf(),
    };
    if !reader.read_record(&mut record).map_err(|e| csv_error(path, e))? {
        return Err(empty());
    }
    let header: Vec<String> = record
        .iter()
        .enumerate()
        // A byte-order mark from spreadsheet exports would otherwise end up in a name.
        .map(|(k, h)| if k == 0 { h.trim_start_matches('\u{feff}') } else { h })
        .map(str::to_owned)
        .collect();
    let width = header.len();

    // The first field of each row (with its line) stays text until every row has been seen:
    // only then is it known whether the first column holds names or data.
    let mut first: Vec<(usize, String)> = Vec::new();
    let mut rest = Grid::new(width.saturating_sub(1));
    while reader.read_record(&mut record).map_err(|e| csv_error(path, e))? {
        let line = record_line(&record);
        if record.len() != width {
            return Err(InputError::Ragged {
                path: path.to_path_buf(),
                line,
                expected: width,
                got: record.len(),
            });
        }
        let mut fields = record.iter();
        first.push((line, fields.next().unwrap_or_default().to_owned()));
        for (k, field) in fields.enumerate() {
            let pos = FieldPos {
                path,
                line,
                column: k + 2,
            };
            rest.push(parse_field(pos, field, missing)?);
        }
    }
    if first.is_empty() {
        return Err(empty());
    }
    let has_names = !first.iter().all(|(_, f)| looks_numeric(f));
    if has_names {
        if rest.width == 0 {
            return Err(empty());
        }
        let row_names = first.into_iter().map(|(_, f)| f).collect();
        let col_names = header.into_iter().skip(1).collect();
        return Ok(table_from_grid(&rest, None, Some(row_names), col_names));
    }
    let mut column = Grid::new(1);
    for (line, field) in &first {
        let pos = FieldPos {
            path,
            line: *line,
            column: 1,
        };
        column.push(parse_field(pos, field, missing)?);
    }
    Ok(table_from_grid(&rest, Some(&column), None, header))
}

/// A dense table from its cells: `first` (when the first column is data) then `rest`.
fn table_from_grid(rest: &Grid, first: Option<&Grid>, row_names: Option<Vec<String>>, col_names: Vec<String>) -> Table {
    let nrows = first.map_or_else(|| rest.nrows(), Grid::nrows);
    let offset = usize::from(first.is_some());
    let ncols = rest.width + offset;
    let cell = |i: usize, j: usize| -> (f64, bool) {
        match first {
            Some(f) if j == 0 => (f.values[i], f.observed[i]),
            _ => {
                let k = i * rest.width + (j - offset);
                (rest.values[k], rest.observed[k])
            }
        }
    };
    let x = Mat::from_fn(nrows, ncols, |i, j| cell(i, j).0);
    let any_missing = rest
        .observed
        .iter()
        .chain(first.iter().flat_map(|f| &f.observed))
        .any(|o| !o);
    let mask = any_missing.then(|| Mask::from_fn(nrows, ncols, |i, j| cell(i, j).1));
    Table {
        matrix: Matrix::Dense(x),
        mask,
        row_names,
        col_names: Some(col_names),
    }
}

// ---------------------------------------------------------------------------------------------
// NumPy .npy.
// ---------------------------------------------------------------------------------------------

fn npy_error(path: &Path, source: io::Error) -> InputError {
    InputError::Npy {
        path: path.to_path_buf(),
        source,
    }
}

fn read_npy(path: &Path) -> Result<Mat<f64>, InputError> {
    let bytes = read_bytes(path)?;
    if bytes.is_empty() {
        return Err(InputError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut data: &[u8] = &bytes;
    let header = NpyHeader::from_reader(&mut data).map_err(|e| npy_error(path, e))?;
    let &[nrows, ncols] = header.shape() else {
        return Err(InputError::NotTwoDimensional {
            path: path.to_path_buf(),
            ndim: header.shape().len(),
        });
    };
    check_npy_length(path, &header, data.len())?;
    let (nrows, ncols) = (to_usize(path, nrows)?, to_usize(path, ncols)?);
    let order = header.order();
    let values = npy_values(path, NpyFile::with_header(header, data))?;
    let x = match order {
        npyz::Order::C => Mat::from_fn(nrows, ncols, |i, j| values[i * ncols + j]),
        npyz::Order::Fortran => Mat::from_fn(nrows, ncols, |i, j| values[i + j * nrows]),
    };
    Ok(x)
}

fn to_usize(path: &Path, n: u64) -> Result<usize, InputError> {
    usize::try_from(n).map_err(|_| npy_error(path, io::Error::new(io::ErrorKind::InvalidData, "shape too large")))
}

/// Checks that the data holds as many bytes as the shape says, before anything is allocated
/// from the shape: a corrupt header must give an error, not an allocation failure.
fn check_npy_length(path: &Path, header: &NpyHeader, available: usize) -> Result<(), InputError> {
    let needed = header
        .dtype()
        .num_bytes()
        .and_then(|item| usize::try_from(header.len()).ok()?.checked_mul(item));
    match needed {
        Some(needed) if needed <= available => Ok(()),
        _ => Err(npy_error(
            path,
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the shape {:?} needs more data than the {available} bytes after the header",
                    header.shape()
                ),
            ),
        )),
    }
}

/// All elements as f64, in file order, whatever the numeric dtype.
fn npy_values(path: &Path, npy: NpyFile<&[u8]>) -> Result<Vec<f64>, InputError> {
    let dtype = npy.dtype();
    let DType::Plain(ty) = &dtype else {
        return Err(unsupported(
            path,
            format!(".npy dtype {} (structured arrays)", dtype.descr()),
        ));
    };
    match (ty.type_char(), ty.size_field()) {
        (TypeChar::Float, 8) => convert_npy::<f64>(path, npy, |v| v),
        (TypeChar::Float, 4) => convert_npy::<f32>(path, npy, f64::from),
        (TypeChar::Int, 1) => convert_npy::<i8>(path, npy, f64::from),
        (TypeChar::Int, 2) => convert_npy::<i16>(path, npy, f64::from),
        (TypeChar::Int, 4) => convert_npy::<i32>(path, npy, f64::from),
        // Counts beyond 2^53 lose their last digits, which no fit can notice.
        (TypeChar::Int, 8) => convert_npy::<i64>(path, npy, |v| v as f64),
        (TypeChar::Uint, 1) => convert_npy::<u8>(path, npy, f64::from),
        (TypeChar::Uint, 2) => convert_npy::<u16>(path, npy, f64::from),
        (TypeChar::Uint, 4) => convert_npy::<u32>(path, npy, f64::from),
        (TypeChar::Uint, 8) => convert_npy::<u64>(path, npy, |v| v as f64),
        (TypeChar::Bool, 1) => convert_npy::<bool>(path, npy, |v| f64::from(u8::from(v))),
        _ => Err(unsupported(
            path,
            format!(".npy dtype '{ty}' (only integers, floats and booleans)"),
        )),
    }
}

fn convert_npy<T: npyz::Deserialize>(
    path: &Path,
    npy: NpyFile<&[u8]>,
    to_f64: fn(T) -> f64,
) -> Result<Vec<f64>, InputError> {
    let reader = npy
        .data::<T>()
        .map_err(|e| npy_error(path, io::Error::new(io::ErrorKind::InvalidData, e)))?;
    reader
        .map(|v| v.map(to_f64))
        .collect::<io::Result<Vec<f64>>>()
        .map_err(|e| npy_error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    use npyz::WriterBuilder;
    use tempfile::TempDir;

    fn write(dir: &TempDir, name: &str, contents: &str) -> PathBuf {
        let path = dir.path().join(name);
        fs::write(&path, contents).expect("write test file");
        path
    }

    fn write_gz(dir: &TempDir, name: &str, contents: &str) -> PathBuf {
        let path = dir.path().join(name);
        let file = File::create(&path).expect("create test file");
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        gz.write_all(contents.as_bytes()).expect("gzip");
        gz.finish().expect("gzip finish");
        path
    }

    fn write_npy<T: npyz::AutoSerialize + Copy>(
        dir: &TempDir,
        name: &str,
        shape: &[u64],
        order: npyz::Order,
        data: &[T],
    ) -> PathBuf {
        let path = dir.path().join(name);
        let file = File::create(&path).expect("create npy");
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .order(order)
            .writer(file)
            .begin_nd()
            .expect("npy header");
        writer.extend(data.iter().copied()).expect("npy data");
        writer.finish().expect("npy finish");
        path
    }

    fn read(path: &Path) -> Result<Loaded, InputError> {
        read_input(path, &ReadOptions::default())
    }

    fn dense_rows(m: &Matrix<f64>) -> Vec<Vec<f64>> {
        let d = match m {
            Matrix::Dense(d) => d.clone(),
            Matrix::Sparse(s) => s.to_dense(),
        };
        (0..d.nrows())
            .map(|i| (0..d.ncols()).map(|j| d[(i, j)]).collect())
            .collect()
    }

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    const MTX_INT: &str = "%%MatrixMarket matrix coordinate integer general\n\
        % a comment\n\
        3 2 4\n\
        1 1 5\n\
        3 1 2\n\
        2 2 7\n\
        3 2 1\n";

    #[test]
    fn mtx_integer_reads_sparse_with_generated_names() {
        let dir = TempDir::new().unwrap();
        let loaded = read(&write(&dir, "x.mtx", MTX_INT)).unwrap();
        let Matrix::Sparse(s) = &loaded.matrix else {
            panic!("a Matrix Market file must stay sparse");
        };
        assert_eq!((s.nrows(), s.ncols(), s.nnz()), (3, 2, 4));
        assert_eq!(
            dense_rows(&loaded.matrix),
            vec![vec![5.0, 0.0], vec![0.0, 7.0], vec![2.0, 1.0]]
        );
        assert!(loaded.mask.is_none());
        assert_eq!(loaded.feature_names, strings(&["feature_1", "feature_2", "feature_3"]));
        assert_eq!(loaded.sample_names, strings(&["sample_1", "sample_2"]));
    }

    #[test]
    fn mtx_real_with_comments_blank_lines_and_crlf() {
        let dir = TempDir::new().unwrap();
        let text = "%%MatrixMarket matrix coordinate real general\r\n%c\r\n\r\n2 2 3\r\n1 1 0.5\r\n\r\n2 1 1e+05\r\n% late comment\r\n2 2 -1.25E-1\r\n";
        let loaded = read(&write(&dir, "X.MTX", text)).unwrap();
        assert_eq!(dense_rows(&loaded.matrix), vec![vec![0.5, 0.0], vec![1e5, -0.125]]);
    }

    #[test]
    fn mtx_keeps_nan_for_the_core_to_report() {
        let dir = TempDir::new().unwrap();
        let text = "%%MatrixMarket matrix coordinate real general\n1 1 1\n1 1 NaN\n";
        let loaded = read(&write(&dir, "x.mtx", text)).unwrap();
        assert!(dense_rows(&loaded.matrix)[0][0].is_nan());
    }

    #[test]
    fn mtx_gz_reads_like_plain() {
        let dir = TempDir::new().unwrap();
        let loaded = read(&write_gz(&dir, "x.mtx.gz", MTX_INT)).unwrap();
        assert_eq!(
            dense_rows(&loaded.matrix),
            vec![vec![5.0, 0.0], vec![0.0, 7.0], vec![2.0, 1.0]]
        );
    }

    #[test]
    fn mtx_symmetric_is_mirrored_and_pattern_reads_ones() {
        let dir = TempDir::new().unwrap();
        let sym = "%%MatrixMarket matrix coordinate real symmetric\n2 2 2\n1 1 1\n2 1 3\n";
        let loaded = read(&write(&dir, "s.mtx", sym)).unwrap();
        assert_eq!(dense_rows(&loaded.matrix), vec![vec![1.0, 3.0], vec![3.0, 0.0]]);
        let pat = "%%MatrixMarket matrix coordinate pattern general\n2 3 2\n1 3\n2 1\n";
        let loaded = read(&write(&dir, "p.mtx", pat)).unwrap();
        assert_eq!(
            dense_rows(&loaded.matrix),
            vec![vec![0.0, 0.0, 1.0], vec![1.0, 0.0, 0.0]]
        );
    }

    #[test]
    fn mtx_transpose_swaps_rows_and_columns() {
        let dir = TempDir::new().unwrap();
        let opts = ReadOptions {
            transpose: true,
            ..ReadOptions::default()
        };
        let loaded = read_input(&write(&dir, "x.mtx", MTX_INT), &opts).unwrap();
        assert!(matches!(loaded.matrix, Matrix::Sparse(_)));
        assert_eq!(
            dense_rows(&loaded.matrix),
            vec![vec![5.0, 0.0, 2.0], vec![0.0, 7.0, 1.0]]
        );
        assert_eq!(loaded.feature_names.len(), 2);
        assert_eq!(loaded.sample_names.len(), 3);
    }

    #[test]
    fn tenx_folder_with_gz_files() {
        let dir = TempDir::new().unwrap();
        write_gz(&dir, "matrix.mtx.gz", MTX_INT);
        write_gz(
            &dir,
            "features.tsv.gz",
            "ENSG1\tCD3E\tGene Expression\nENSG2\tMS4A1\tGene Expression\nENSG3\tLYZ\tGene Expression\n",
        );
        write_gz(&dir, "barcodes.tsv.gz", "AAAC-1\nAAAG-1\n");
        let loaded = read(dir.path()).unwrap();
        assert!(matches!(loaded.matrix, Matrix::Sparse(_)));
        assert_eq!(
            dense_rows(&loaded.matrix),
            vec![vec![5.0, 0.0], vec![0.0, 7.0], vec![2.0, 1.0]]
        );
        assert_eq!(loaded.feature_names, strings(&["CD3E", "MS4A1", "LYZ"]));
        assert_eq!(loaded.sample_names, strings(&["AAAC-1", "AAAG-1"]));
    }

    #[test]
    fn tenx_folder_plain_genes_tsv_with_one_column() {
        let dir = TempDir::new().unwrap();
        write(&dir, "matrix.mtx", MTX_INT);
        write(&dir, "genes.tsv", "g1\ng2\ng3\n");
        let loaded = read(dir.path()).unwrap();
        assert_eq!(loaded.feature_names, strings(&["g1", "g2", "g3"]));
        assert_eq!(loaded.sample_names, strings(&["sample_1", "sample_2"]));
    }

    #[test]
    fn tenx_errors_without_matrix_or_with_wrong_barcode_count() {
        let dir = TempDir::new().unwrap();
        let err = read(dir.path()).unwrap_err();
        assert!(matches!(err, InputError::Missing10xMatrix { .. }), "{err}");
        write(&dir, "matrix.mtx", MTX_INT);
        write(&dir, "barcodes.tsv", "a\nb\nc\n");
        let err = read(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                InputError::NameCount {
                    expected: 2,
                    got: 3,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn csv_with_name_column() {
        let dir = TempDir::new().unwrap();
        let text = "gene,s1,s2,s3\nA,1,2,3\nB,4,5.5,6\n";
        let loaded = read(&write(&dir, "x.csv", text)).unwrap();
        assert!(matches!(loaded.matrix, Matrix::Dense(_)));
        assert_eq!(
            dense_rows(&loaded.matrix),
            vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.5, 6.0]]
        );
        assert_eq!(loaded.feature_names, strings(&["A", "B"]));
        assert_eq!(loaded.sample_names, strings(&["s1", "s2", "s3"]));
        assert!(loaded.mask.is_none());
    }

    #[test]
    fn csv_without_name_column_even_with_an_empty_first_header_cell() {
        let dir = TempDir::new().unwrap();
        let text = ",b,c\n0,1,2\n3,4,5\n";
        let loaded = read(&write(&dir, "x.csv", text)).unwrap();
        assert_eq!(
            dense_rows(&loaded.matrix),
            vec![vec![0.0, 1.0, 2.0], vec![3.0, 4.0, 5.0]]
        );
        assert_eq!(loaded.feature_names, strings(&["feature_1", "feature_2"]));
        assert_eq!(loaded.sample_names, strings(&["", "b", "c"]));
    }

    #[test]
    fn tsv_and_txt_and_csv_gz() {
        let dir = TempDir::new().unwrap();
        let tsv = "id\tx\ty\nr1\t1\t2\nr2\t3\t4\n";
        let expected = vec![vec![1.0, 2.0], vec![3.0, 4.0]];
        for path in [
            write(&dir, "x.tsv", tsv),
            write(&dir, "x.txt", tsv),
            write_gz(&dir, "x.tsv.gz", tsv),
            write_gz(&dir, "x.csv.gz", &tsv.replace('\t', ",")),
        ] {
            let loaded = read(&path).unwrap();
            assert_eq!(dense_rows(&loaded.matrix), expected, "{}", path.display());
            assert_eq!(loaded.feature_names, strings(&["r1", "r2"]));
            assert_eq!(loaded.sample_names, strings(&["x", "y"]));
        }
    }

    const CSV_MISSING: &str = "name,a,b,c\nr1,1,,3\nr2,NA,5,6\nr3,7,8,nan\n";

    #[test]
    fn csv_missing_value_is_an_error_by_default() {
        let dir = TempDir::new().unwrap();
        let err = read(&write(&dir, "m.csv", CSV_MISSING)).unwrap_err();
        assert!(
            matches!(err, InputError::MissingValue { line: 2, column: 3, .. }),
            "{err}"
        );
    }

    #[test]
    fn csv_missing_values_become_a_mask() {
        let dir = TempDir::new().unwrap();
        let opts = ReadOptions {
            missing: MissingPolicy::Mask,
            ..ReadOptions::default()
        };
        let loaded = read_input(&write(&dir, "m.csv", CSV_MISSING), &opts).unwrap();
        assert_eq!(
            dense_rows(&loaded.matrix),
            vec![vec![1.0, 0.0, 3.0], vec![0.0, 5.0, 6.0], vec![7.0, 8.0, 0.0]]
        );
        let mask = loaded.mask.expect("missing values give a mask");
        let unobserved: Vec<(usize, usize)> = (0..3)
            .flat_map(|i| (0..3).map(move |j| (i, j)))
            .filter(|&(i, j)| !mask.is_observed(i, j))
            .collect();
        assert_eq!(unobserved, vec![(0, 1), (1, 0), (2, 2)]);
    }

    #[test]
    fn csv_missing_in_a_numeric_first_column_keeps_it_as_data() {
        let dir = TempDir::new().unwrap();
        let opts = ReadOptions {
            missing: MissingPolicy::Mask,
            ..ReadOptions::default()
        };
        let loaded = read_input(&write(&dir, "m.csv", "a,b\n1,2\nNA,4\n"), &opts).unwrap();
        assert_eq!(dense_rows(&loaded.matrix), vec![vec![1.0, 2.0], vec![0.0, 4.0]]);
        let mask = loaded.mask.expect("a mask");
        assert!(!mask.is_observed(1, 0));
        assert_eq!(mask.count_observed(), 3);
    }

    #[test]
    fn csv_transpose_swaps_matrix_mask_and_names() {
        let dir = TempDir::new().unwrap();
        let opts = ReadOptions {
            transpose: true,
            missing: MissingPolicy::Mask,
            ..ReadOptions::default()
        };
        let text = "cell,g1,g2,g3\nc1,1,,3\nc2,4,5,6\n";
        let loaded = read_input(&write(&dir, "x.csv", text), &opts).unwrap();
        assert_eq!(
            dense_rows(&loaded.matrix),
            vec![vec![1.0, 4.0], vec![0.0, 5.0], vec![3.0, 6.0]]
        );
        assert_eq!(loaded.feature_names, strings(&["g1", "g2", "g3"]));
        assert_eq!(loaded.sample_names, strings(&["c1", "c2"]));
        let mask = loaded.mask.expect("a mask");
        assert_eq!((mask.nrows(), mask.ncols()), (3, 2));
        assert!(!mask.is_observed(1, 0));
        assert_eq!(mask.count_observed(), 5);
    }

    #[test]
    fn npy_f64_c_order() {
        let dir = TempDir::new().unwrap();
        let data = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
        let path = write_npy(&dir, "x.npy", &[2, 3], npyz::Order::C, &data);
        let loaded = read(&path).unwrap();
        assert!(matches!(loaded.matrix, Matrix::Dense(_)));
        assert_eq!(
            dense_rows(&loaded.matrix),
            vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]]
        );
    }

    #[test]
    fn npy_f32_fortran_order() {
        let dir = TempDir::new().unwrap();
        let data = [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.5];
        let path = write_npy(&dir, "x.npy", &[2, 3], npyz::Order::Fortran, &data);
        let loaded = read(&path).unwrap();
        assert_eq!(
            dense_rows(&loaded.matrix),
            vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.5]]
        );
    }

    #[test]
    fn npy_i64_and_u8() {
        let dir = TempDir::new().unwrap();
        let path = write_npy(&dir, "i.npy", &[3, 1], npyz::Order::C, &[7i64, 0, 9]);
        let loaded = read(&path).unwrap();
        assert_eq!(dense_rows(&loaded.matrix), vec![vec![7.0], vec![0.0], vec![9.0]]);
        let path = write_npy(&dir, "u.npy", &[1, 2], npyz::Order::C, &[255u8, 1]);
        let loaded = read(&path).unwrap();
        assert_eq!(dense_rows(&loaded.matrix), vec![vec![255.0, 1.0]]);
    }

    #[test]
    fn npy_truncated_data_is_an_error() {
        let dir = TempDir::new().unwrap();
        let path = write_npy(&dir, "x.npy", &[2, 2], npyz::Order::C, &[1.0f64, 2.0, 3.0, 4.0]);
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 8]).unwrap();
        let err = read(&path).unwrap_err();
        assert!(matches!(err, InputError::Npy { .. }), "{err}");
    }

    #[test]
    fn name_files_override_after_transposition() {
        let dir = TempDir::new().unwrap();
        let x = write(&dir, "x.csv", "cell,g1,g2\nc1,1,2\nc2,3,4\nc3,5,6\n");
        let genes = write(&dir, "genes.txt", "GENE_A\nGENE_B\n\n");
        let cells = write(&dir, "cells.csv", "barcode,cluster\nAAA,0\nCCC,1\nGGG,0\n");
        let opts = ReadOptions {
            transpose: true,
            feature_names: Some(&genes),
            sample_names: Some(&cells),
            ..ReadOptions::default()
        };
        let loaded = read_input(&x, &opts).unwrap();
        assert_eq!((loaded.matrix.nrows(), loaded.matrix.ncols()), (2, 3));
        assert_eq!(loaded.feature_names, strings(&["GENE_A", "GENE_B"]));
        assert_eq!(loaded.sample_names, strings(&["AAA", "CCC", "GGG"]));
    }

    #[test]
    fn read_names_of_a_tsv_takes_the_first_column_after_the_header() {
        let dir = TempDir::new().unwrap();
        let path = write(&dir, "n.tsv", "id\tother\nx\t1\ny\t2\n");
        assert_eq!(read_names(&path).unwrap(), strings(&["x", "y"]));
    }

    #[test]
    fn error_missing_file() {
        let err = read(Path::new("/nonexistent/dir/x.mtx")).unwrap_err();
        assert!(matches!(err, InputError::NotFound { .. }), "{err}");
        assert!(err.to_string().contains("/nonexistent/dir/x.mtx"));
        let err = read_names(Path::new("/nonexistent/names.txt")).unwrap_err();
        assert!(matches!(err, InputError::NotFound { .. }), "{err}");
    }

    #[test]
    fn error_empty_files() {
        let dir = TempDir::new().unwrap();
        for name in ["e.mtx", "e.csv", "e.npy"] {
            let err = read(&write(&dir, name, "")).unwrap_err();
            assert!(matches!(err, InputError::Empty { .. }), "{name}: {err}");
        }
        let err = read(&write(&dir, "h.csv", "a,b\n")).unwrap_err();
        assert!(matches!(err, InputError::Empty { .. }), "{err}");
    }

    #[test]
    fn error_unknown_format() {
        let dir = TempDir::new().unwrap();
        let err = read(&write(&dir, "x.xlsx", "whatever")).unwrap_err();
        assert!(matches!(err, InputError::UnknownFormat { .. }), "{err}");
    }

    #[test]
    fn error_truncated_mtx() {
        let dir = TempDir::new().unwrap();
        let text = "%%MatrixMarket matrix coordinate integer general\n3 3 3\n1 1 1\n2 2 2\n";
        let err = read(&write(&dir, "t.mtx", text)).unwrap_err();
        assert!(
            matches!(
                err,
                InputError::Truncated {
                    expected: 3,
                    got: 2,
                    ..
                }
            ),
            "{err}"
        );
        let err = read(&write(
            &dir,
            "h.mtx",
            "%%MatrixMarket matrix coordinate integer general\n",
        ))
        .unwrap_err();
        assert!(matches!(err, InputError::Syntax { .. }), "{err}");
    }

    #[test]
    fn error_too_many_mtx_entries() {
        let dir = TempDir::new().unwrap();
        let text = "%%MatrixMarket matrix coordinate integer general\n3 3 1\n1 1 1\n2 2 2\n";
        let err = read(&write(&dir, "t.mtx", text)).unwrap_err();
        assert!(matches!(err, InputError::TooManyEntries { line: 4, .. }), "{err}");
    }

    #[test]
    fn error_out_of_range_mtx_entry() {
        let dir = TempDir::new().unwrap();
        let text = "%%MatrixMarket matrix coordinate integer general\n2 2 2\n1 1 1\n3 1 2\n";
        let err = read(&write(&dir, "o.mtx", text)).unwrap_err();
        assert!(
            matches!(
                err,
                InputError::OutOfRange {
                    line: 4,
                    row: 3,
                    col: 1,
                    nrows: 2,
                    ncols: 2,
                    ..
                }
            ),
            "{err}"
        );
        let zero = "%%MatrixMarket matrix coordinate integer general\n2 2 1\n0 1 1\n";
        let err = read(&write(&dir, "z.mtx", zero)).unwrap_err();
        assert!(matches!(err, InputError::OutOfRange { row: 0, .. }), "{err}");
    }

    #[test]
    fn error_bad_mtx_tokens_and_headers() {
        let dir = TempDir::new().unwrap();
        let head = "%%MatrixMarket matrix coordinate real general\n";
        let err = read(&write(&dir, "a.mtx", &format!("{head}2 2 1\n1 1 x\n"))).unwrap_err();
        assert!(
            matches!(&err, InputError::NotANumber { line: 3, column: 3, token, .. } if token == "x"),
            "{err}"
        );
        let err = read(&write(&dir, "b.mtx", &format!("{head}2 2 1\n1 1\n"))).unwrap_err();
        assert!(matches!(err, InputError::Syntax { line: 3, .. }), "{err}");
        let err = read(&write(&dir, "c.mtx", &format!("{head}2 two 1\n"))).unwrap_err();
        assert!(
            matches!(err, InputError::NotANumber { line: 2, column: 2, .. }),
            "{err}"
        );
        let err = read(&write(&dir, "d.mtx", "1 1 1\n1 1 1\n")).unwrap_err();
        assert!(matches!(err, InputError::Syntax { line: 1, .. }), "{err}");
        let array = "%%MatrixMarket matrix array real general\n1 1\n1\n";
        let err = read(&write(&dir, "e.mtx", array)).unwrap_err();
        assert!(matches!(err, InputError::Unsupported { .. }), "{err}");
        let upper = "%%MatrixMarket matrix coordinate real symmetric\n2 2 1\n1 2 1\n";
        let err = read(&write(&dir, "f.mtx", upper)).unwrap_err();
        assert!(matches!(err, InputError::Syntax { line: 3, .. }), "{err}");
    }

    #[test]
    fn error_corrupt_gzip() {
        let dir = TempDir::new().unwrap();
        let err = read(&write(&dir, "x.mtx.gz", "not gzip at all")).unwrap_err();
        assert!(matches!(err, InputError::Io { .. }), "{err}");
    }

    #[test]
    fn error_non_numeric_csv_field() {
        let dir = TempDir::new().unwrap();
        let text = "name,a,b\nr1,1,2\nr2,3,abc\n";
        let err = read(&write(&dir, "n.csv", text)).unwrap_err();
        assert!(
            matches!(&err, InputError::NotANumber { line: 3, column: 3, token, .. } if token == "abc"),
            "{err}"
        );
    }

    #[test]
    fn error_ragged_csv() {
        let dir = TempDir::new().unwrap();
        let text = "name,a,b\nr1,1,2\nr2,3\n";
        let err = read(&write(&dir, "r.csv", text)).unwrap_err();
        assert!(
            matches!(
                err,
                InputError::Ragged {
                    line: 3,
                    expected: 3,
                    got: 2,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn error_npy_with_three_dimensions() {
        let dir = TempDir::new().unwrap();
        let path = write_npy(&dir, "x.npy", &[2, 1, 2], npyz::Order::C, &[1.0f64, 2.0, 3.0, 4.0]);
        let err = read(&path).unwrap_err();
        assert!(matches!(err, InputError::NotTwoDimensional { ndim: 3, .. }), "{err}");
    }

    #[test]
    fn error_name_count_mismatch() {
        let dir = TempDir::new().unwrap();
        let x = write(&dir, "x.mtx", MTX_INT);
        let names = write(&dir, "names.txt", "a\nb\n");
        let opts = ReadOptions {
            feature_names: Some(&names),
            ..ReadOptions::default()
        };
        let err = read_input(&x, &opts).unwrap_err();
        assert!(
            matches!(&err, InputError::NameCount { path, expected: 3, got: 2 } if path == &names),
            "{err}"
        );
    }

    #[test]
    fn error_messages_are_one_line_and_name_the_file() {
        let dir = TempDir::new().unwrap();
        let cases = [
            ("a.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n"),
            ("b.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 1\n9 9 1\n"),
            ("c.csv", "a,b\n1,x\n"),
            ("d.csv", "a,b\n1,\n"),
            ("e.csv", "a,b\n1,2,3\n"),
            ("f.csv", "a,b\n\"1,2\n"),
        ];
        for (name, text) in cases {
            let err = read(&write(&dir, name, text)).unwrap_err();
            let msg = err.to_string();
            assert!(!msg.contains('\n'), "{msg}");
            assert!(msg.contains(name), "{msg}");
        }
    }

    #[test]
    fn pbmc_small_counts_transposed() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/pbmc_small/counts.mtx"));
        let opts = ReadOptions {
            transpose: true,
            ..ReadOptions::default()
        };
        let loaded = read_input(path, &opts).unwrap();
        let Matrix::Sparse(x) = &loaded.matrix else {
            panic!("counts.mtx must stay sparse");
        };
        assert_eq!((x.nrows(), x.ncols(), x.nnz()), (230, 80, 4456));
        assert_eq!(loaded.feature_names.len(), 230);
        assert_eq!(loaded.sample_names.len(), 80);
    }

    /// Timing on the largest shared count matrix:
    /// `cargo test -p nmf-cli --release --lib -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing; needs the shared data folder"]
    fn time_pbmc3k_counts() {
        let dir = std::env::var("NMF_DATA").unwrap_or_else(|_| "/work/shared/data".into());
        let path = Path::new(&dir).join("pbmc3k/counts.mtx");
        let opts = ReadOptions {
            transpose: true,
            ..ReadOptions::default()
        };
        let start = std::time::Instant::now();
        let loaded = read_input(&path, &opts).unwrap();
        let elapsed = start.elapsed();
        let Matrix::Sparse(x) = &loaded.matrix else {
            panic!("counts.mtx must stay sparse");
        };
        println!(
            "pbmc3k counts.mtx: {} x {}, nnz {}, read in {:.1} ms",
            x.nrows(),
            x.ncols(),
            x.nnz(),
            elapsed.as_secs_f64() * 1e3
        );
        assert_eq!((x.nrows(), x.ncols()), (2000, 2638));
    }

    /// The shared CSV tables read with their names, missing values masked:
    /// `cargo test -p nmf-cli --release --lib -- --ignored --nocapture`.
    #[test]
    #[ignore = "needs the shared data folder"]
    fn shared_csv_tables() {
        let dir = std::env::var("NMF_DATA").unwrap_or_else(|_| "/work/shared/data".into());
        let opts = ReadOptions {
            transpose: true,
            missing: MissingPolicy::Mask,
            ..ReadOptions::default()
        };
        for (file, features, samples, missing) in [
            ("mice_protein/X_with_missing.csv", 77, 1080, 1396),
            ("golub/X_samples_x_genes.csv", 5000, 38, 0),
            ("digits/X.csv", 64, 1797, 0),
        ] {
            let loaded = read_input(&Path::new(&dir).join(file), &opts).unwrap();
            assert_eq!(loaded.matrix.nrows(), features, "{file}");
            assert_eq!(loaded.matrix.ncols(), samples, "{file}");
            let observed = loaded.mask.map_or(features * samples, |m| m.count_observed());
            assert_eq!(features * samples - observed, missing, "{file}");
            println!(
                "{file}: {features} x {samples}, first sample {}",
                loaded.sample_names[0]
            );
        }
    }
}
