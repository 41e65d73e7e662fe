//! The comparison runner: every solver on the same data, from the same initial (W, H), under
//! the same stopping rule and time limit.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use nmf_core::faer::{Mat, MatRef, Par};
use nmf_core::linalg::dot;
use nmf_core::metrics::{adjusted_rand_index, argmax_labels, matched_cosine, MatchedCosine};
use nmf_core::{
    block_products, initialize, Block, Data, Frobenius, GramWorkspace, Init, KullbackLeibler, Loss, LossWorkspace,
    NmfError, NmfFit, NmfParams, NmfValidParams, Result,
};
use nmf_solvers::{Admm, Anls, Bpp, Cd, Hals, KlCd, Mu, Pgd, PgdAlt};
use nmf_synth::{simulate, Planted, PlantedSpec};

/// The solvers of nmf-solvers, by their command-line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SolverKind {
    /// [`Mu`]: multiplicative updates, any β-divergence.
    Mu,
    /// [`Pgd`]: joint projected gradient, Frobenius and KL.
    Pgd,
    /// [`PgdAlt`]: Lin's alternating projected gradient.
    PgdAlt,
    /// [`Admm`]: AO-ADMM.
    Admm,
    /// [`Hals`]: accelerated HALS.
    Hals,
    /// [`Anls`]: ANLS with block principal pivoting.
    Anls,
    /// [`Cd`]: scikit-learn's coordinate descent; for KL, [`KlCd`] (Newton coordinate descent).
    Cd,
}

impl SolverKind {
    /// All seven, in the order of the solver table.
    pub const ALL: [SolverKind; 7] = [
        SolverKind::Mu,
        SolverKind::Pgd,
        SolverKind::PgdAlt,
        SolverKind::Admm,
        SolverKind::Hals,
        SolverKind::Anls,
        SolverKind::Cd,
    ];

    /// The command-line name (`mu`, `pgd`, `pgd-alt`, `admm`, `hals`, `anls`, `cd`).
    pub fn name(self) -> &'static str {
        match self {
            SolverKind::Mu => "mu",
            SolverKind::Pgd => "pgd",
            SolverKind::PgdAlt => "pgd-alt",
            SolverKind::Admm => "admm",
            SolverKind::Hals => "hals",
            SolverKind::Anls => "anls",
            SolverKind::Cd => "cd",
        }
    }

    /// Whether the solver implements `loss`.
    pub fn supports(self, loss: CompareLoss) -> bool {
        match loss {
            CompareLoss::Frobenius => true,
            CompareLoss::Kl => matches!(self, SolverKind::Mu | SolverKind::Pgd),
        }
    }

    /// Parses a comma-separated list such as `mu,hals,anls` (`all` = every solver).
    ///
    /// # Errors
    /// A one-line message naming the unknown solver, or an empty or repeated entry.
    pub fn parse_list(s: &str) -> std::result::Result<Vec<SolverKind>, String> {
        if s.trim().eq_ignore_ascii_case("all") {
            return Ok(Self::ALL.to_vec());
        }
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim) {
            let kind: SolverKind = part.parse()?;
            if out.contains(&kind) {
                return Err(format!("solver '{part}' is listed twice"));
            }
            out.push(kind);
        }
        Ok(out)
    }
}

impl fmt::Display for SolverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SolverKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let lower = s.to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| k.name() == lower || (lower == "pgd_alt" && *k == SolverKind::PgdAlt))
            .ok_or_else(|| {
                format!("'{s}' is not a solver: use a comma-separated list of mu, pgd, pgd-alt, admm, hals, anls, cd")
            })
    }
}

/// The losses a comparison can run under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompareLoss {
    /// ½‖X − WH‖² (every solver).
    #[default]
    Frobenius,
    /// Generalized KL / Poisson (mu and pgd).
    Kl,
}

impl CompareLoss {
    /// The name written in summaries (as nmf-core's `Loss::name`).
    pub fn name(self) -> String {
        match self {
            CompareLoss::Frobenius => Loss::<f64>::name(&Frobenius),
            CompareLoss::Kl => Loss::<f64>::name(&KullbackLeibler),
        }
    }
}

impl fmt::Display for CompareLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for CompareLoss {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "frobenius" | "fro" | "beta=2" => Ok(CompareLoss::Frobenius),
            "kl" | "kullback-leibler" | "poisson" | "beta=1" => Ok(CompareLoss::Kl),
            _ => Err(format!("'{s}' is not a loss for compare: use frobenius or kl")),
        }
    }
}

/// What a comparison runs: the solvers and the one stopping rule they all share.
#[derive(Debug, Clone)]
pub struct CompareConfig {
    /// Solvers, in the order they run and are reported.
    pub solvers: Vec<SolverKind>,
    /// Number of factors.
    pub rank: usize,
    /// The data-fit term.
    pub loss: CompareLoss,
    /// How the shared initial (W, H) is computed (once, then given to every solver).
    pub init: Init<f64>,
    /// Iteration cap.
    pub max_iter: usize,
    /// Relative objective decrease between checks below which a run stops (0 = never).
    pub tol: f64,
    /// Iterations between convergence checks.
    pub check_every: usize,
    /// Wall-clock limit per solver.
    pub time_limit: Option<Duration>,
    /// Seed of the initialisation.
    pub seed: u64,
    /// Threads for dense products (0 = all cores).
    pub threads: usize,
    /// Scale the shared start by the optimal scalar `s = argmin_s D(X | s·W₀H₀)` before any
    /// solver sees it (pgd's own safeguard, applied once for everyone so that all runs start
    /// from the same point; pgd's rescale is then turned off).
    pub rescale_init: bool,
}

impl CompareConfig {
    /// Every solver at `rank`, Frobenius, NNDSVDa, 500 iterations, tol 1e-4 checked every 10
    /// iterations, 20 s per solver, seed 0, all cores.
    pub fn new(rank: usize) -> Self {
        Self {
            solvers: SolverKind::ALL.to_vec(),
            rank,
            loss: CompareLoss::Frobenius,
            init: Init::NndsvdA,
            max_iter: 500,
            tol: 1e-4,
            check_every: 10,
            time_limit: Some(Duration::from_secs(20)),
            seed: 0,
            threads: 0,
            rescale_init: true,
        }
    }

    /// The parallelism of the products.
    pub fn par(&self) -> Par {
        nmf_core::linalg::par_for_threads(self.threads)
    }
}

/// What is known of the truth behind the data.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// The true basis (features × K), scored by matched cosine.
    pub w: Option<Mat<f64>>,
    /// A label per sample, scored by the ARI of argmax H.
    pub labels: Option<Vec<usize>>,
}

impl Truth {
    /// The truth of a planted data set.
    pub fn from_planted(p: &Planted<f64>) -> Self {
        Self {
            w: Some(p.w_true.clone()),
            labels: Some(p.labels.clone()),
        }
    }
    /// Whether anything is known.
    pub fn is_known(&self) -> bool {
        self.w.is_some() || self.labels.is_some()
    }
}

/// Recovery scores of one run against the truth; `None` where that part is unknown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recovery {
    /// Mean cosine of matched columns of W and W_true.
    pub mean_cosine: Option<f64>,
    /// Smallest matched cosine.
    pub min_cosine: Option<f64>,
    /// Adjusted Rand index of argmax H against the labels.
    pub ari: Option<f64>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunStatus {
    /// The run finished (converged or stopped by the rule); `fit` holds it.
    Done,
    /// The solver does not implement the loss (or another combination it rejects up front).
    Skipped(String),
    /// The run failed (e.g. a non-finite objective).
    Failed(String),
}

impl RunStatus {
    /// `ok`, `skipped` or `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RunStatus::Done => "ok",
            RunStatus::Skipped(_) => "skipped",
            RunStatus::Failed(_) => "failed",
        }
    }
    /// Why the run was skipped or failed.
    pub fn reason(&self) -> Option<&str> {
        match self {
            RunStatus::Done => None,
            RunStatus::Skipped(r) | RunStatus::Failed(r) => Some(r),
        }
    }
}

/// One solver's run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Which solver.
    pub solver: SolverKind,
    /// How it ended.
    pub status: RunStatus,
    /// The fit (factors, final evaluation, history, stop reason, iterations, seconds) when
    /// the run finished.
    pub fit: Option<NmfFit<f64>>,
    /// Recovery scores when the run finished and some truth is known.
    pub recovery: Option<Recovery>,
}

/// Runs every solver of `cfg` on `data` from one shared initial (W, H).
///
/// A solver that rejects the loss is a [`RunStatus::Skipped`] run and a solver whose run fails
/// is a [`RunStatus::Failed`] run; neither stops the comparison.
///
/// # Errors
/// Bad parameters (rank, stopping rule), a truth of the wrong shape, or a failed
/// initialisation: everything that would fail every solver alike.
pub fn run_compare(data: &Data<f64>, truth: &Truth, cfg: &CompareConfig) -> Result<Vec<RunReport>> {
    data.check_rank(cfg.rank)?;
    check_truth(data, truth)?;
    let (mut w0, mut h0) = initialize(data, cfg.rank, &cfg.init, cfg.seed, cfg.par())?;
    if cfg.rescale_init {
        let s = match cfg.loss {
            CompareLoss::Frobenius => optimal_scale(data, &Frobenius, w0.as_ref(), h0.as_ref(), cfg.par()),
            CompareLoss::Kl => optimal_scale(data, &KullbackLeibler, w0.as_ref(), h0.as_ref(), cfg.par()),
        };
        if s.is_finite() && s > 0.0 {
            let r = s.sqrt();
            for m in [&mut w0, &mut h0] {
                for v in m.col_iter_mut().flat_map(|c| c.iter_mut()) {
                    *v *= r;
                }
            }
        }
    }
    let mut p = NmfParams::new(cfg.rank)
        .init(Init::Custom { w: w0, h: h0 })
        .seed(cfg.seed)
        .max_iter(cfg.max_iter)
        .tol(cfg.tol)
        .check_every(cfg.check_every)
        .threads(cfg.threads);
    if let Some(t) = cfg.time_limit {
        p = p.time_limit(t);
    }
    let params = p.check()?;
    let mut reports = Vec::with_capacity(cfg.solvers.len());
    for &solver in &cfg.solvers {
        let outcome = match cfg.loss {
            CompareLoss::Frobenius => fit_one(&params, data, Frobenius, solver),
            CompareLoss::Kl => fit_one(&params, data, KullbackLeibler, solver),
        };
        let report = match outcome {
            Ok(fit) => {
                let recovery = recovery(truth, &fit)?;
                RunReport {
                    solver,
                    status: RunStatus::Done,
                    fit: Some(fit),
                    recovery,
                }
            }
            Err(e @ (NmfError::UnsupportedLoss { .. } | NmfError::Unsupported(_))) => RunReport {
                solver,
                status: RunStatus::Skipped(e.to_string()),
                fit: None,
                recovery: None,
            },
            Err(e) => RunReport {
                solver,
                status: RunStatus::Failed(e.to_string()),
                fit: None,
                recovery: None,
            },
        };
        reports.push(report);
    }
    Ok(reports)
}

fn fit_one<L: Loss<f64>>(p: &NmfValidParams<f64>, data: &Data<f64>, loss: L, kind: SolverKind) -> Result<NmfFit<f64>> {
    match kind {
        SolverKind::Mu => p.fit(data, loss, Mu::new()),
        // The shared start is already at the optimal scale (`rescale_init`), or must stay as given.
        SolverKind::Pgd => p.fit(data, loss, Pgd::new().rescale_init(false)),
        SolverKind::PgdAlt => p.fit(data, loss, PgdAlt::new()),
        SolverKind::Admm => p.fit(data, loss, Admm::new()),
        SolverKind::Hals => p.fit(data, loss, Hals::new()),
        SolverKind::Anls => p.fit(data, loss, Anls::new()),
        SolverKind::Cd if loss.beta() == 1.0 => p.fit(data, loss, KlCd::new()),
        SolverKind::Cd => p.fit(data, loss, Cd::new()),
    }
}

/// The optimal scalar `s = argmin_s D(X | s·W H)` over observed entries (Frobenius:
/// ⟨X, WH⟩/‖WH‖²; KL: ΣX/ΣWH), from the gradient parts of the H block as pgd computes it.
pub fn optimal_scale<L: Loss<f64>>(
    data: &Data<f64>,
    loss: &L,
    w: MatRef<'_, f64>,
    h: MatRef<'_, f64>,
    par: Par,
) -> f64 {
    let (k, n) = (h.nrows(), h.ncols());
    let mut neg = Mat::<f64>::zeros(k, n);
    let mut pos = Mat::<f64>::zeros(k, n);
    let mut ws = LossWorkspace::new(par);
    loss.grad_parts(Block::H, data, w, h, f64::EPSILON, neg.as_mut(), pos.as_mut(), &mut ws);
    dot(neg.as_ref(), h) / dot(pos.as_ref(), h)
}

fn check_truth(data: &Data<f64>, truth: &Truth) -> Result<()> {
    if let Some(w) = &truth.w {
        if w.nrows() != data.nrows() {
            return Err(NmfError::ShapeMismatch {
                what: "true W",
                expected_rows: data.nrows(),
                expected_cols: w.ncols(),
                got_rows: w.nrows(),
                got_cols: w.ncols(),
            });
        }
    }
    if let Some(l) = &truth.labels {
        if l.len() != data.ncols() {
            return Err(NmfError::ShapeMismatch {
                what: "labels",
                expected_rows: data.ncols(),
                expected_cols: 1,
                got_rows: l.len(),
                got_cols: 1,
            });
        }
    }
    Ok(())
}

/// Scores a fit against whatever truth is known; `None` when nothing is.
///
/// # Errors
/// Shapes that do not match the fit.
pub fn recovery(truth: &Truth, fit: &NmfFit<f64>) -> Result<Option<Recovery>> {
    if !truth.is_known() {
        return Ok(None);
    }
    let cos = match &truth.w {
        Some(w) => Some(matched_cosine(w.as_ref(), fit.state.w.as_ref())?),
        None => None,
    };
    let ari = match &truth.labels {
        Some(l) => Some(adjusted_rand_index(l, &argmax_labels(fit.state.h.as_ref()))?),
        None => None,
    };
    Ok(Some(Recovery {
        mean_cosine: cos.as_ref().map(|c| c.mean),
        min_cosine: cos.as_ref().map(|c| c.min),
        ari,
    }))
}

/// The oracle ceiling of SPEC §7.3: W refitted by exact NNLS (block principal pivoting) with H
/// held at the true `h_true` (K×n), then matched to `w_true` by cosine. No solver at rank K can
/// be expected to recover W better than this on the same data (in the Frobenius sense).
///
/// # Errors
/// Shapes that do not match `data`, or a failed NNLS solve.
pub fn oracle_ceiling(
    data: &Data<f64>,
    w_true: MatRef<'_, f64>,
    h_true: MatRef<'_, f64>,
    par: Par,
) -> Result<MatchedCosine> {
    let w = oracle_w(data, h_true, par)?;
    matched_cosine(w_true, w.as_ref())
}

/// argmin_{W ≥ 0} ‖X − W H‖²_F for fixed `h` (K×n), by NNLS on the transposed problem.
///
/// # Errors
/// `h` with the wrong number of columns, or a failed NNLS solve.
pub fn oracle_w(data: &Data<f64>, h: MatRef<'_, f64>, par: Par) -> Result<Mat<f64>> {
    let (m, n, k) = (data.nrows(), data.ncols(), h.nrows());
    if h.ncols() != n {
        return Err(NmfError::ShapeMismatch {
            what: "true H",
            expected_rows: k,
            expected_cols: n,
            got_rows: h.nrows(),
            got_cols: h.ncols(),
        });
    }
    let w0 = Mat::<f64>::zeros(m, k);
    let mut hxt = Mat::<f64>::zeros(k, m);
    let mut hht = Mat::<f64>::zeros(k, k);
    let mut ws = GramWorkspace::new(par);
    block_products(
        Block::W,
        data,
        w0.as_ref(),
        h,
        (0.0, 0.0),
        hxt.as_mut(),
        hht.as_mut(),
        &mut ws,
    );
    let mut wt = Mat::<f64>::zeros(k, m);
    Bpp::new(k, m).solve(hht.as_ref(), hxt.as_ref(), wt.as_mut())?;
    Ok(wt.transpose().to_owned())
}

/// The built-in problem of `nmf compare` without an input: 1000 features × 500 samples, six
/// disjoint modules, one dominant module per sample, about 1000 counts per sample
/// (Poisson), sparse.
pub fn builtin_spec() -> PlantedSpec {
    PlantedSpec::new(1000, 500, 6).depth(1000.0)
}

/// The seed of the built-in problem.
pub const BUILTIN_SEED: u64 = 0;

/// Draws the built-in problem ([`builtin_spec`], seed [`BUILTIN_SEED`]).
///
/// # Panics
/// Never for the fixed spec (checked by the tests).
pub fn builtin_problem() -> Planted<f64> {
    simulate(&builtin_spec(), BUILTIN_SEED).expect("the built-in spec is valid")
}
