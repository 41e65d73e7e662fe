//! The rank sweep: for each rank, seeded restarts (consensus, cophenetic, dispersion,
//! stability, cNMF silhouette), masked cross-validation and bi-cross-validation, all in
//! parallel and deterministic; then a suggested rank and the rule that chose it.

use std::fmt;

use faer::{Mat, MatRef};
use nmf_core::metrics::{argmax_labels, matched_cosine};
use nmf_core::{Data, Init, Loss, NmfFloat, NmfProblem, Solver};
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::cnmf::{spectra_silhouette, ConsensusParams};
use crate::consensus::ConsensusMatrix;
use crate::cv::{bcv_split, dense_copy, masked_cv_repeat, split};
use crate::error::{Result, SelectError};
use crate::fitter::{FitSettings, Fitter};

/// Seed offset of the masked-CV repeats (repeat q: mask and fit seed `seed + CV_SEED + q`,
/// the same at every rank).
pub const CV_SEED: u64 = 1 << 40;
/// Seed offset of the bi-cross-validation repeats (repeat q: permutation and fit seed
/// `seed + BCV_SEED + q`, the same at every rank).
pub const BCV_SEED: u64 = 2 << 40;
/// Seed offset of the subsample of samples used for the consensus matrix.
pub const SUBSAMPLE_SEED: u64 = 3 << 40;
/// Most restarts per rank: restart seeds `seed + rank·1000 + r` stay distinct below it.
pub const MAX_RESTARTS: usize = 1000;

/// The seed of restart `r` (0-based) at `rank`: `seed + rank·1000 + r` (wrapping). Distinct
/// for every (rank, r) with r < [`MAX_RESTARTS`], and independent of the thread count.
pub fn restart_seed(seed: u64, rank: usize, r: usize) -> u64 {
    seed.wrapping_add(rank as u64 * MAX_RESTARTS as u64 + r as u64)
}

/// How the suggested rank is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankRule {
    /// The rank with the lowest mean masked-CV error.
    CvMinimum,
    /// The rank with the lowest bi-cross-validation error.
    BcvMinimum,
    /// Brunet's rule: scanning ranks upwards, the first rank whose successor's cophenetic
    /// correlation is lower by more than the drop tolerance (the last rank if none is).
    CopheneticDrop,
    /// [`CvMinimum`](Self::CvMinimum) when masked CV ran, else
    /// [`BcvMinimum`](Self::BcvMinimum) when BCV ran, else
    /// [`CopheneticDrop`](Self::CopheneticDrop).
    Auto,
}

impl RankRule {
    /// Snake-case name, as written in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            RankRule::CvMinimum => "cv_minimum",
            RankRule::BcvMinimum => "bcv_minimum",
            RankRule::CopheneticDrop => "cophenetic_drop",
            RankRule::Auto => "auto",
        }
    }
}

impl fmt::Display for RankRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parameters of the rank sweep, a builder validated by [`RankParams::check`].
#[derive(Debug, Clone)]
pub struct RankParams<F> {
    ranks: Vec<usize>,
    restarts: usize,
    seed: u64,
    threads: usize,
    fit: FitSettings<F>,
    cv_repeats: usize,
    cv_fraction: f64,
    cv_max_entries: usize,
    bcv_repeats: usize,
    bcv_folds: (usize, usize),
    max_consensus_samples: usize,
    consensus: ConsensusParams,
    cophenetic_drop: f64,
    rule: RankRule,
}

/// Validated [`RankParams`].
#[derive(Debug, Clone)]
pub struct RankValidParams<F>(RankParams<F>);

impl<F: NmfFloat> RankParams<F> {
    /// A sweep over `ranks` (strictly increasing). Defaults: 20 restarts, seed 0, all
    /// cores, [`FitSettings::default`] (random init, 500 iterations, tol 1e-4), masked CV
    /// with 3 repeats of 5 % held out (RcppML's defaults), one 2×2 bi-cross-validation,
    /// consensus on at most 2000 samples, cNMF's [`ConsensusParams`], a cophenetic drop
    /// tolerance of 0.01 and the [`RankRule::Auto`] rule.
    pub fn new(ranks: impl IntoIterator<Item = usize>) -> Self {
        Self {
            ranks: ranks.into_iter().collect(),
            restarts: 20,
            seed: 0,
            threads: 0,
            fit: FitSettings::default(),
            cv_repeats: 3,
            cv_fraction: 0.05,
            cv_max_entries: 50_000_000,
            bcv_repeats: 1,
            bcv_folds: (2, 2),
            max_consensus_samples: 2000,
            consensus: ConsensusParams::default(),
            cophenetic_drop: 0.01,
            rule: RankRule::Auto,
        }
    }
    /// Restarts per rank (1 ..= [`MAX_RESTARTS`]); stability needs at least 2.
    pub fn restarts(mut self, r: usize) -> Self {
        self.restarts = r;
        self
    }
    /// Base seed of every random choice (see [`restart_seed`], [`CV_SEED`], [`BCV_SEED`]).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Worker threads (0 = all cores). Results do not depend on it.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n;
        self
    }
    /// Initialisation and stopping rule of every fit.
    pub fn fit_settings(mut self, fit: FitSettings<F>) -> Self {
        self.fit = fit;
        self
    }
    /// Maximum iterations of every fit.
    pub fn max_iter(mut self, n: usize) -> Self {
        self.fit.stopping.max_iter = n;
        self
    }
    /// Convergence tolerance of every fit.
    pub fn tol(mut self, tol: F) -> Self {
        self.fit.stopping.tol = tol;
        self
    }
    /// Masked-CV repeats (0 disables masked CV).
    pub fn cv_repeats(mut self, n: usize) -> Self {
        self.cv_repeats = n;
        self
    }
    /// Fraction of the observed entries held out per masked-CV repeat, in (0, 0.5].
    pub fn cv_fraction(mut self, f: f64) -> Self {
        self.cv_fraction = f;
        self
    }
    /// Masked CV fits a dense copy of X (the solvers take masks on dense data only): it is
    /// refused above this many entries (default 5·10⁷).
    pub fn cv_max_entries(mut self, n: usize) -> Self {
        self.cv_max_entries = n;
        self
    }
    /// Bi-cross-validation repeats, each a fresh permutation (0 disables BCV).
    pub fn bcv_repeats(mut self, n: usize) -> Self {
        self.bcv_repeats = n;
        self
    }
    /// Row and column groups of bi-cross-validation (each at least 2).
    pub fn bcv_folds(mut self, rows: usize, cols: usize) -> Self {
        self.bcv_folds = (rows, cols);
        self
    }
    /// Above this many samples the consensus matrix (O(n²) memory) is built on a seeded
    /// subsample of this many samples (at least 3); the report says so.
    pub fn max_consensus_samples(mut self, n: usize) -> Self {
        self.max_consensus_samples = n;
        self
    }
    /// Knobs of the cNMF spectra clustering (its silhouette is the `silhouette` column).
    pub fn consensus(mut self, c: ConsensusParams) -> Self {
        self.consensus = c;
        self
    }
    /// How much the cophenetic correlation must fall to count as a drop (≥ 0).
    pub fn cophenetic_drop(mut self, d: f64) -> Self {
        self.cophenetic_drop = d;
        self
    }
    /// The rule of the suggested rank.
    pub fn rule(mut self, rule: RankRule) -> Self {
        self.rule = rule;
        self
    }

    /// Validates the data-independent parameters.
    ///
    /// # Errors
    /// [`SelectError::NoRanks`], [`SelectError::RankZero`],
    /// [`SelectError::RanksNotIncreasing`], [`SelectError::CustomInit`],
    /// [`SelectError::BadParam`], or the stopping rule's own error.
    pub fn check(self) -> Result<RankValidParams<F>> {
        let bad = |name, value: f64, expected| Err(SelectError::BadParam { name, value, expected });
        if self.ranks.is_empty() {
            return Err(SelectError::NoRanks);
        }
        if self.ranks.contains(&0) {
            return Err(SelectError::RankZero);
        }
        if let Some(p) = self.ranks.windows(2).find(|p| p[1] <= p[0]) {
            return Err(SelectError::RanksNotIncreasing {
                previous: p[0],
                next: p[1],
            });
        }
        if self.restarts == 0 || self.restarts > MAX_RESTARTS {
            return bad("restarts", self.restarts as f64, "between 1 and 1000");
        }
        if matches!(self.fit.init, Init::Custom { .. }) {
            return Err(SelectError::CustomInit);
        }
        self.fit.stopping.check()?;
        if !(self.cv_fraction > 0.0 && self.cv_fraction <= 0.5) {
            return bad("cv_fraction", self.cv_fraction, "in (0, 0.5]");
        }
        if self.bcv_folds.0 < 2 || self.bcv_folds.1 < 2 {
            return bad(
                "bcv_folds",
                self.bcv_folds.0.min(self.bcv_folds.1) as f64,
                "at least 2 row groups and 2 column groups",
            );
        }
        if self.max_consensus_samples < 3 {
            return bad("max_consensus_samples", self.max_consensus_samples as f64, "at least 3");
        }
        if !(self.cophenetic_drop >= 0.0 && self.cophenetic_drop.is_finite()) {
            return bad("cophenetic_drop", self.cophenetic_drop, "finite and >= 0");
        }
        self.consensus.check()?;
        Ok(RankValidParams(self))
    }
}

/// What finished, for progress reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitKind {
    /// A restart of the consensus.
    Restart,
    /// A masked-CV repeat.
    Cv,
    /// A bi-cross-validation repeat (all its blocks).
    Bcv,
}

/// One finished task of the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FitDone {
    /// Its rank.
    pub rank: usize,
    /// What it was.
    pub kind: FitKind,
}

/// The scores of one rank.
#[derive(Debug, Clone, PartialEq)]
pub struct RankRow {
    /// The rank k.
    pub rank: usize,
    /// Cophenetic correlation of the consensus matrix (`None` with fewer than 3 samples).
    pub cophenetic: Option<f64>,
    /// Dispersion coefficient of the consensus matrix, in [0, 1].
    pub dispersion: f64,
    /// Mean masked-CV error (mean held-out β-divergence of the fitted loss), if CV ran.
    pub cv_error: Option<f64>,
    /// Sample standard deviation of the CV error over repeats (needs 2 repeats).
    pub cv_error_sd: Option<f64>,
    /// Bi-cross-validation error: held-out squared error per entry of X, averaged over
    /// repeats; `None` if BCV did not run or k exceeds the fitted blocks.
    pub bcv_error: Option<f64>,
    /// Mean Hungarian-matched cosine between the W of every pair of restarts (needs 2).
    pub stability: Option<f64>,
    /// cNMF stability: silhouette of the k-means clustering of all restarts' spectra.
    pub silhouette: Option<f64>,
    /// Final objective of each restart.
    pub objectives: Vec<f64>,
    /// Each masked-CV repeat's error.
    pub cv_errors: Vec<f64>,
}

/// The suggested rank.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// The rank.
    pub rank: usize,
    /// The rule that chose it (never [`RankRule::Auto`]).
    pub rule: RankRule,
    /// The rule in words, with the numbers behind the choice.
    pub explanation: String,
    /// What each rule would choose (`None` when its scores are missing).
    pub candidates: Vec<(RankRule, Option<usize>)>,
}

/// The outcome of a sweep.
#[derive(Debug, Clone)]
pub struct RankReport {
    /// One row per rank, in increasing order.
    pub rows: Vec<RankRow>,
    /// The suggested rank.
    pub suggestion: Suggestion,
    /// Samples whose co-membership made the consensus matrices: `None` = all of them,
    /// else the seeded subsample (sorted indices) used because n exceeded the limit.
    pub consensus_subsample: Option<Vec<usize>>,
    /// Remarks on what was skipped or approximated, in words.
    pub notes: Vec<String>,
}

enum Task {
    Restart(usize, usize),
    Cv(usize, usize),
    Bcv(usize, usize),
}

enum Outcome<F> {
    Restart {
        w: Mat<F>,
        labels: Vec<usize>,
        objective: f64,
    },
    Cv(f64),
    Bcv(Option<f64>),
}

impl<F: NmfFloat> RankValidParams<F> {
    /// The parameters.
    pub fn ranks(&self) -> &[usize] {
        &self.0.ranks
    }
    /// Restarts per rank.
    pub fn restarts(&self) -> usize {
        self.0.restarts
    }
    /// Number of tasks a sweep runs (restarts, CV repeats and BCV repeats over all ranks),
    /// the length of a progress bar fed by [`run_observed`](Self::run_observed).
    pub fn total_tasks(&self) -> usize {
        self.0.ranks.len() * (self.0.restarts + self.0.cv_repeats + self.0.bcv_repeats)
    }

    /// Runs the sweep: see [`run_observed`](Self::run_observed).
    ///
    /// # Errors
    /// As [`run_observed`](Self::run_observed).
    pub fn run<L, M, S>(&self, data: &Data<F>, loss: L, make_solver: M) -> Result<RankReport>
    where
        L: Loss<F>,
        M: Fn() -> S + Sync,
        S: for<'b> Solver<F, NmfProblem<'b, F, L>>,
    {
        self.run_observed(data, loss, make_solver, &|_| {})
    }

    /// Runs the sweep on `data` with `loss` and a fresh solver from `make_solver` per fit,
    /// calling `on_done` (from worker threads) as each task finishes.
    ///
    /// # Errors
    /// [`SelectError::RankTooLarge`]; [`SelectError::TooLargeForCv`]; an unsupported loss
    /// or a failed fit ([`SelectError::Core`]); bi-cross-validation asked for on masked
    /// data ([`SelectError::Core`] with `Unsupported`); the thread pool.
    pub fn run_observed<L, M, S>(
        &self,
        data: &Data<F>,
        loss: L,
        make_solver: M,
        on_done: &(dyn Fn(FitDone) + Sync),
    ) -> Result<RankReport>
    where
        L: Loss<F>,
        M: Fn() -> S + Sync,
        S: for<'b> Solver<F, NmfProblem<'b, F, L>>,
    {
        let p = &self.0;
        let (m, n) = (data.nrows(), data.ncols());
        if let Some(&rank) = p.ranks.iter().find(|&&k| k > m.min(n)) {
            return Err(SelectError::RankTooLarge { rank, rows: m, cols: n });
        }
        loss.check_data(data)?;
        let mut notes = Vec::new();
        let dense = if p.cv_repeats > 0 {
            if m * n > p.cv_max_entries {
                return Err(SelectError::TooLargeForCv {
                    rows: m,
                    cols: n,
                    entries: m * n,
                    limit: p.cv_max_entries,
                });
            }
            if data.is_sparse() {
                notes.push("masked cross-validation fitted a dense copy of the sparse input".to_string());
            }
            Some(dense_copy(data))
        } else {
            None
        };
        if p.bcv_repeats > 0 && data.mask().is_some() {
            return Err(nmf_core::NmfError::Unsupported(
                "bi-cross-validation of input with missing entries (set bcv repeats to 0)".into(),
            )
            .into());
        }
        let subsample = (n > p.max_consensus_samples).then(|| {
            let mut rng = ChaCha8Rng::seed_from_u64(p.seed.wrapping_add(SUBSAMPLE_SEED));
            let mut idx = sample(&mut rng, n, p.max_consensus_samples).into_vec();
            idx.sort_unstable();
            idx
        });
        if let Some(s) = &subsample {
            notes.push(format!(
                "consensus, cophenetic and dispersion computed on a seeded subsample of {} of {} samples",
                s.len(),
                n
            ));
        }

        let mut tasks = Vec::with_capacity(self.total_tasks());
        for &k in &p.ranks {
            tasks.extend((0..p.restarts).map(|r| Task::Restart(k, r)));
            tasks.extend((0..p.cv_repeats).map(|q| Task::Cv(k, q)));
            tasks.extend((0..p.bcv_repeats).map(|q| Task::Bcv(k, q)));
        }
        let fitter = Fitter {
            loss: &loss,
            make_solver: &make_solver,
            settings: &p.fit,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(p.threads)
            .build()
            .map_err(|e| SelectError::ThreadPool(e.to_string()))?;
        let run_task = |task: &Task| -> Result<(usize, Outcome<F>)> {
            let (k, out, kind) = match *task {
                Task::Restart(k, r) => {
                    let fit = fitter.fit(data, k, restart_seed(p.seed, k, r))?;
                    let mut labels = argmax_labels(fit.state.h.as_ref());
                    if let Some(s) = &subsample {
                        labels = s.iter().map(|&j| labels[j]).collect();
                    }
                    let objective = fit.evaluation.objective.to_f64_lossy();
                    let w = fit.state.w;
                    (k, Outcome::Restart { w, labels, objective }, FitKind::Restart)
                }
                Task::Cv(k, q) => {
                    let s = p.seed.wrapping_add(CV_SEED + q as u64);
                    let x = dense.as_ref().expect("CV tasks exist only with a dense copy");
                    let e = masked_cv_repeat(&fitter, x.as_ref(), data, k, p.cv_fraction, s, s)?;
                    (k, Outcome::Cv(e), FitKind::Cv)
                }
                Task::Bcv(k, q) => {
                    let s = p.seed.wrapping_add(BCV_SEED + q as u64);
                    let mut rng = ChaCha8Rng::seed_from_u64(s);
                    let rows = split(m, p.bcv_folds.0.min(m), &mut rng);
                    let cols = split(n, p.bcv_folds.1.min(n), &mut rng);
                    let e = bcv_split(&fitter, data, k, &rows, &cols, s)?;
                    (k, Outcome::Bcv(e.map(|t| t / (m * n) as f64)), FitKind::Bcv)
                }
            };
            on_done(FitDone { rank: k, kind });
            Ok((k, out))
        };
        let outcomes: Vec<(usize, Outcome<F>)> =
            pool.install(|| tasks.par_iter().map(run_task).collect::<Result<Vec<_>>>())?;

        let rows: Vec<RankRow> = pool.install(|| {
            p.ranks
                .par_iter()
                .map(|&k| self.score_rank(k, outcomes.iter().filter(|o| o.0 == k).map(|o| &o.1)))
                .collect::<Result<Vec<_>>>()
        })?;
        if rows.iter().any(|r| p.bcv_repeats > 0 && r.bcv_error.is_none()) {
            notes.push(format!(
                "bi-cross-validation skipped at ranks larger than its {}x{} held-in blocks",
                p.bcv_folds.0, p.bcv_folds.1
            ));
        }
        let suggestion = suggest(&rows, p.rule, p.cophenetic_drop);
        Ok(RankReport {
            rows,
            suggestion,
            consensus_subsample: subsample,
            notes,
        })
    }

    fn score_rank<'o>(&self, k: usize, outcomes: impl Iterator<Item = &'o Outcome<F>>) -> Result<RankRow>
    where
        F: 'o,
    {
        let p = &self.0;
        let mut ws: Vec<MatRef<'_, F>> = Vec::new();
        let mut objectives = Vec::new();
        let mut cv_errors = Vec::new();
        let mut bcv: Vec<Option<f64>> = Vec::new();
        let mut consensus: Option<ConsensusMatrix> = None;
        for o in outcomes {
            match o {
                Outcome::Restart { w, labels, objective } => {
                    consensus
                        .get_or_insert_with(|| ConsensusMatrix::new(labels.len()))
                        .add(labels);
                    ws.push(w.as_ref());
                    objectives.push(*objective);
                }
                Outcome::Cv(e) => cv_errors.push(*e),
                Outcome::Bcv(e) => bcv.push(*e),
            }
        }
        let consensus = consensus.expect("at least one restart per rank");
        let stability = pairwise_stability(&ws)?;
        let silhouette = spectra_silhouette(&ws, &p.consensus)?;
        let (cv_error, cv_error_sd) = mean_sd(&cv_errors);
        let bcv_error = if bcv.is_empty() || bcv.iter().any(Option::is_none) {
            None
        } else {
            Some(bcv.iter().flatten().sum::<f64>() / bcv.len() as f64)
        };
        Ok(RankRow {
            rank: k,
            cophenetic: consensus.cophenetic(),
            dispersion: consensus.dispersion(),
            cv_error,
            cv_error_sd,
            bcv_error,
            stability,
            silhouette,
            objectives,
            cv_errors,
        })
    }
}

/// Mean and sample standard deviation (`None` for the sd with fewer than 2 values).
fn mean_sd(v: &[f64]) -> (Option<f64>, Option<f64>) {
    if v.is_empty() {
        return (None, None);
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.len() >= 2).then(|| (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    (Some(mean), sd)
}

/// Mean Hungarian-matched cosine between the W of every pair of restarts (SPEC §6.5);
/// `None` with fewer than two restarts.
///
/// # Errors
/// A failed assignment (non-finite factors).
pub fn pairwise_stability<F: NmfFloat>(ws: &[MatRef<'_, F>]) -> Result<Option<f64>> {
    let r = ws.len();
    if r < 2 {
        return Ok(None);
    }
    let pairs: Vec<(usize, usize)> = (0..r).flat_map(|a| (a + 1..r).map(move |b| (a, b))).collect();
    let cosines = pairs
        .par_iter()
        .map(|&(a, b)| matched_cosine(ws[a], ws[b]).map(|mc| mc.mean))
        .collect::<std::result::Result<Vec<f64>, _>>()?;
    Ok(Some(cosines.iter().sum::<f64>() / cosines.len() as f64))
}

/// Index of the smallest value, over the rows that have one (ties to the lower rank).
fn argmin_rank(rows: &[RankRow], value: impl Fn(&RankRow) -> Option<f64>) -> Option<(usize, f64)> {
    rows.iter().filter_map(|r| value(r).map(|v| (r.rank, v))).fold(
        None,
        |best: Option<(usize, f64)>, (k, v)| match best {
            Some((_, b)) if b <= v => best,
            _ => Some((k, v)),
        },
    )
}

/// Brunet's rule on the rows: the first rank whose successor's cophenetic correlation is
/// lower by more than `drop`; the last rank with a cophenetic correlation if none is.
fn cophenetic_drop_rank(rows: &[RankRow], drop: f64) -> Option<(usize, String)> {
    let with: Vec<(usize, f64)> = rows.iter().filter_map(|r| r.cophenetic.map(|c| (r.rank, c))).collect();
    for p in with.windows(2) {
        if p[1].1 < p[0].1 - drop {
            return Some((
                p[0].0,
                format!(
                    "cophenetic correlation drops after rank {} ({:.4} -> {:.4} at rank {}, by more than {})",
                    p[0].0, p[0].1, p[1].1, p[1].0, drop
                ),
            ));
        }
    }
    with.last().map(|&(k, c)| {
        (
            k,
            format!("cophenetic correlation never drops by more than {drop}: the largest rank tried ({k}, {c:.4})"),
        )
    })
}

/// Applies `rule` to the rows (see [`RankRule`]). The first rank is the fallback when the
/// rule's scores are missing everywhere.
pub fn suggest(rows: &[RankRow], rule: RankRule, drop: f64) -> Suggestion {
    let cv = argmin_rank(rows, |r| r.cv_error);
    let bcv = argmin_rank(rows, |r| r.bcv_error);
    let coph = cophenetic_drop_rank(rows, drop);
    let candidates = vec![
        (RankRule::CvMinimum, cv.map(|c| c.0)),
        (RankRule::BcvMinimum, bcv.map(|c| c.0)),
        (RankRule::CopheneticDrop, coph.as_ref().map(|c| c.0)),
    ];
    let concrete = match rule {
        RankRule::Auto if cv.is_some() => RankRule::CvMinimum,
        RankRule::Auto if bcv.is_some() => RankRule::BcvMinimum,
        RankRule::Auto => RankRule::CopheneticDrop,
        r => r,
    };
    let chosen = match concrete {
        RankRule::CvMinimum => cv.map(|(k, v)| (k, format!("lowest mean masked-CV error ({v:.6e}) at rank {k}"))),
        RankRule::BcvMinimum => {
            bcv.map(|(k, v)| (k, format!("lowest bi-cross-validation error ({v:.6e}) at rank {k}")))
        }
        _ => coph,
    };
    let (rank, explanation) = chosen.unwrap_or_else(|| {
        let k = rows.first().map_or(0, |r| r.rank);
        (
            k,
            format!("no scores for the {concrete} rule: the smallest rank tried ({k})"),
        )
    });
    Suggestion {
        rank,
        rule: concrete,
        explanation,
        candidates,
    }
}
