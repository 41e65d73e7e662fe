//! Command-line arguments (CONTRACT.md).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Non-negative matrix factorization X ≈ W H of count matrices and other non-negative data.
#[derive(Debug, Parser)]
#[command(name = "nmf", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Factorize a matrix: writes W.tsv, H.tsv, history.tsv, summary.json and convergence.svg to --out.
    #[command(
        after_help = "Example:\n  nmf fit data/pbmc_small/counts.mtx --transpose --rank 3 --loss kl --out out/pbmc_small\n\n\
Files are read as stored: rows = features, columns = samples. --transpose reads rows as samples\n\
(the layout of most CSV tables and of cells x genes Matrix Market files)."
    )]
    Fit(FitArgs),
    /// H for new samples with a fitted basis W held fixed (exact NNLS): writes H.tsv and summary.json.
    #[command(
        after_help = "Example:\n  nmf fit train.mtx --rank 5 --out fit && nmf transform new.mtx --basis fit/W.tsv --out new\n\n\
The input must have the basis's features, in the same order (checked by name when both have names)."
    )]
    Transform(TransformArgs),
    /// Simulate counts from planted modules, with the truth: writes X.mtx, W_true.tsv, H_true.tsv,
    /// labels.tsv and summary.json (and Y.mtx, H_background_true.tsv, enriched.tsv for a pair).
    #[command(
        after_help = "Examples:\n  nmf simulate --features 500 --samples 300 --modules 5 --depth 1000 --out sim\n  \
nmf fit sim/X.mtx --rank 5 --loss kl --out sim/fit\n  \
nmf simulate --features 600 --samples 200 --modules 4 --background-samples 200 --enriched 1 --dispersion 0.1 --out pair\n\n\
X.mtx is features x samples (integer Matrix Market), read by `nmf fit` as stored. Each module is a probability\n\
vector on --module-fraction of the features (default 1/(K+2)); neighbouring modules share --overlap of them.\n\
Counts are Poisson(W_true H_true), or negative binomial (variance mean + PHI mean^2) with --dispersion PHI.\n\
With --background-samples and --enriched, the last KE modules are target-enriched: half of the target samples\n\
(X) carry one of them on half of their library; the background (Y) never uses them."
    )]
    Simulate(SimulateArgs),
    /// Run several solvers from the same start under the same stopping rule: writes compare.tsv, compare.json and convergence.svg.
    #[command(after_help = COMPARE_HELP)]
    Compare(CompareArgs),
    /// Background-contrastive NMF (bcNMF): topics enriched in TARGET relative to BACKGROUND; writes
    /// W.tsv, H_target.tsv, H_background.tsv, history.tsv, summary.json and topics.tsv.
    #[command(after_help = CONTRAST_HELP)]
    Contrast(ContrastArgs),
    /// Choose the rank: consensus (cophenetic, dispersion), masked and bi-cross-validation and
    /// restart stability per rank; writes rank.tsv, rank.svg and summary.json.
    #[command(after_help = RANK_HELP)]
    Rank(RankArgs),
}

/// Arguments of `nmf simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Features (rows of X).
    #[arg(long)]
    pub features: usize,
    /// Samples (columns of X; the target samples of a pair).
    #[arg(long)]
    pub samples: usize,
    /// Planted modules K (shared and enriched together).
    #[arg(long)]
    pub modules: usize,
    /// Output folder (created if missing).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Expected counts per sample (median of the lognormal library sizes).
    #[arg(long, default_value_t = 1000.0, allow_negative_numbers = true)]
    pub depth: f64,
    /// Fraction in [0, 1) of each module's features shared with the next module.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub overlap: f64,
    /// Negative-binomial dispersion PHI (0 = Poisson).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub dispersion: f64,
    /// Share in [0, 1) of each library drawn from an unmodelled background profile (not in W_true).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub unmodelled: f64,
    /// Background samples: also simulate a background Y.mtx over the same features.
    #[arg(long, requires = "enriched")]
    pub background_samples: Option<usize>,
    /// Target-enriched modules (the last KE of --modules; at most K - 1).
    #[arg(long, requires = "background_samples")]
    pub enriched: Option<usize>,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fraction of the features that carry each module (default 1/(K+2)).
    #[arg(long, allow_negative_numbers = true)]
    pub module_fraction: Option<f64>,
    /// Dirichlet(A) mixed usages instead of one dominant module per sample (0.8 + 0.2/K).
    #[arg(long, allow_negative_numbers = true)]
    pub dirichlet: Option<f64>,
    /// σ of the log library sizes.
    #[arg(long, default_value_t = 0.3, allow_negative_numbers = true)]
    pub library_sigma: f64,
    /// No message on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Arguments of `nmf transform`.
#[derive(Debug, Clone, Args)]
pub struct TransformArgs {
    /// Input with the same features as the basis: .mtx[.gz], a 10x folder, .csv/.tsv[.gz] or .npy.
    pub input: PathBuf,
    /// The fitted basis, a W.tsv written by `nmf fit`.
    #[arg(long)]
    pub basis: PathBuf,
    /// Output folder (created if missing).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Read the file's rows as samples.
    #[arg(long)]
    pub transpose: bool,
    /// Compute in single precision.
    #[arg(long)]
    pub f32: bool,
    /// L1 penalty weight on H.
    #[arg(long, default_value_t = 0.0)]
    pub l1_h: f64,
    /// L2 penalty weight on H.
    #[arg(long, default_value_t = 0.0)]
    pub l2_h: f64,
    /// Threads for dense products (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Feature names, one per line (or the first column of a CSV).
    #[arg(long)]
    pub feature_names: Option<PathBuf>,
    /// Sample names, one per line (or the first column of a CSV).
    #[arg(long)]
    pub sample_names: Option<PathBuf>,
}

/// Solvers available to `fit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SolverChoice {
    /// Multiplicative updates (Lee–Seung; β-divergence MU): any loss.
    Mu,
    /// Projected gradient with Armijo backtracking on (W, H) jointly: Frobenius, KL.
    Pgd,
    /// Lin's alternating projected gradient: Frobenius.
    #[value(name = "pgd-alt")]
    PgdAlt,
    /// AO-ADMM with warm-started scaled duals: Frobenius.
    Admm,
    /// Accelerated HALS (Gillis & Glineur): Frobenius.
    Hals,
    /// ANLS with block principal pivoting (Kim & Park): Frobenius.
    Anls,
    /// Coordinate descent: scikit-learn's (`solver='cd'`) for Frobenius; for KL in `nmf fit`,
    /// Newton coordinate descent (Hsieh & Dhillon 2011).
    Cd,
}

/// Initialisations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitChoice {
    /// sqrt(mean/k)·|N(0,1)|.
    Random,
    /// NNDSVD (keeps zeros: poor with MU).
    Nndsvd,
    /// NNDSVD with zeros set to mean(X).
    Nndsvda,
    /// NNDSVD with zeros set to small random values.
    Nndsvdar,
}

/// ε conventions of the multiplicative updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EpsilonChoice {
    /// Machine-epsilon floors, never divide by zero.
    Safe,
    /// scikit-learn 1.9's conventions, for exact agreement with `solver='mu'`.
    Sklearn,
}

/// What to do with empty/NaN fields of CSV input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MissingChoice {
    /// Reject the input.
    Error,
    /// Treat them as unobserved entries.
    Mask,
}

/// The data-fit term.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LossChoice {
    /// ½‖X − WH‖².
    Frobenius,
    /// Generalized KL (Poisson).
    Kl,
    /// β-divergence (`is` = β 0).
    Beta(f64),
}

impl LossChoice {
    /// Parses `frobenius`, `kl`, `is` or `beta=B`.
    ///
    /// # Errors
    /// A message listing the accepted forms.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "frobenius" | "fro" | "beta=2" => Ok(Self::Frobenius),
            "kl" | "kullback-leibler" | "poisson" | "beta=1" => Ok(Self::Kl),
            "is" | "itakura-saito" => Ok(Self::Beta(0.0)),
            other => match other.strip_prefix("beta=").map(str::parse::<f64>) {
                Some(Ok(b)) if b.is_finite() => Ok(Self::Beta(b)),
                _ => Err(format!(
                    "'{s}' is not a loss: use frobenius, kl, is or beta=B (B a finite number)"
                )),
            },
        }
    }
}

/// Arguments of `nmf fit`.
#[derive(Debug, Clone, Args)]
pub struct FitArgs {
    /// Input: .mtx[.gz], a 10x folder, .csv/.tsv[.gz] or .npy.
    pub input: PathBuf,
    /// Number of factors k (1 ≤ k ≤ min(features, samples)).
    #[arg(long, short = 'k')]
    pub rank: usize,
    /// Output folder (created if missing).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Solver.
    #[arg(long, value_enum, default_value_t = SolverChoice::Mu)]
    pub solver: SolverChoice,
    /// Loss: frobenius, kl, is or beta=B.
    #[arg(long, default_value = "frobenius", value_parser = LossChoice::parse)]
    pub loss: LossChoice,
    /// Initialisation.
    #[arg(long, value_enum, default_value_t = InitChoice::Nndsvda)]
    pub init: InitChoice,
    /// Maximum iterations.
    #[arg(long, default_value_t = 200)]
    pub max_iter: usize,
    /// Stop when the objective's relative decrease between checks falls below this (0 = never).
    #[arg(long, default_value_t = 1e-4)]
    pub tol: f64,
    /// Iterations between convergence checks.
    #[arg(long, default_value_t = 10)]
    pub check_every: usize,
    /// Stop when the KKT residual relative to its initial value falls below this (0 = never).
    #[arg(long, default_value_t = 0.0)]
    pub kkt_tol: f64,
    /// Wall-clock limit in seconds (per restart).
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Threads for dense products (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// L1 penalty weight on W.
    #[arg(long, default_value_t = 0.0)]
    pub l1_w: f64,
    /// L2 penalty weight on W (½·A·‖W‖²).
    #[arg(long, default_value_t = 0.0)]
    pub l2_w: f64,
    /// L1 penalty weight on H.
    #[arg(long, default_value_t = 0.0)]
    pub l1_h: f64,
    /// L2 penalty weight on H (½·A·‖H‖²).
    #[arg(long, default_value_t = 0.0)]
    pub l2_h: f64,
    /// Seeded restarts (seed, seed+1, …); the best final objective is kept.
    #[arg(long, default_value_t = 1)]
    pub restarts: usize,
    /// Read the file's rows as samples.
    #[arg(long)]
    pub transpose: bool,
    /// Compute in single precision.
    #[arg(long)]
    pub f32: bool,
    /// Empty or NaN CSV fields: an error, or unobserved entries.
    #[arg(long, value_enum, default_value_t = MissingChoice::Error)]
    pub missing: MissingChoice,
    /// Feature names, one per line (or the first column of a CSV).
    #[arg(long)]
    pub feature_names: Option<PathBuf>,
    /// Sample names, one per line (or the first column of a CSV).
    #[arg(long)]
    pub sample_names: Option<PathBuf>,
    /// Poisson form (KL): W's columns sum to 1 and H holds counts.
    #[arg(long)]
    pub simplex_w: bool,
    /// ε conventions of the multiplicative updates.
    #[arg(long, value_enum, default_value_t = EpsilonChoice::Safe)]
    pub epsilon: EpsilonChoice,
    /// Extrapolate the blocks between steps (Ang & Gillis 2019; hals and anls): far fewer
    /// iterations on noisy data, the objective still never rises.
    #[arg(long)]
    pub extrapolate: bool,
    /// cNMF consensus of R restarts (seeds as in `nmf rank`) in place of a single run: W.tsv holds
    /// the consensus spectra (columns sum to 1), H.tsv their NNLS usages. Restarts start from
    /// random factors unless --init is random or nndsvdar.
    #[arg(long, value_name = "R", conflicts_with = "restarts")]
    pub consensus: Option<usize>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

const COMPARE_HELP: &str = "Examples:\n  nmf compare --out out/compare\n  \
nmf compare data/pbmc_small/counts.mtx --transpose --rank 3 --solvers mu,hals,anls --out out/pbmc\n\n\
Without INPUT the solvers run on a built-in planted problem (1000 features x 500 samples,\n\
6 Poisson modules, about 1000 counts per sample), and every run is scored against the truth:\n\
matched cosine of W and the ARI of argmax H (recovery), next to the oracle ceiling (W refitted\n\
by NNLS with the true H). With INPUT, --labels scores the ARI. Every solver starts from the same\n\
(W, H); a solver that does not support --loss is reported as skipped.";

/// Arguments of `nmf compare`.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// Input (.mtx[.gz], a 10x folder, .csv/.tsv[.gz] or .npy); none: the built-in planted problem.
    pub input: Option<PathBuf>,
    /// Output folder (created if missing).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Number of factors k (default for the built-in problem: its number of modules).
    #[arg(long, short = 'k')]
    pub rank: Option<usize>,
    /// Comma-separated solvers (mu, pgd, pgd-alt, admm, hals, anls, cd) or `all`.
    #[arg(long, default_value = "all")]
    pub solvers: String,
    /// Loss: frobenius or kl (kl: mu and pgd run, the others are reported as skipped).
    #[arg(long, default_value = "frobenius")]
    pub loss: String,
    /// Initialisation shared by every solver.
    #[arg(long, value_enum, default_value_t = InitChoice::Nndsvda)]
    pub init: InitChoice,
    /// Maximum iterations per solver.
    #[arg(long, default_value_t = 500)]
    pub max_iter: usize,
    /// Stop when the objective's relative decrease between checks falls below this (0 = never).
    #[arg(long, default_value_t = 1e-4)]
    pub tol: f64,
    /// Wall-clock limit in seconds, per solver.
    #[arg(long, default_value_t = 20.0)]
    pub time_limit: f64,
    /// Seed of the initialisation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Read the file's rows as samples.
    #[arg(long)]
    pub transpose: bool,
    /// A label per sample (one per line, or the last column of a TSV/CSV with an optional
    /// header), scored by the ARI of argmax H.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Threads for dense products (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Do not print the table.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

const CONTRAST_HELP: &str = "Examples:\n  \
nmf simulate --features 600 --samples 200 --modules 4 --background-samples 200 --enriched 1 --out pair\n  \
nmf contrast pair/X.mtx pair/Y.mtx --rank 4 --alpha 2 --loss kl --out pair/bc\n  \
nmf contrast target.csv background.csv --transpose --rank 5 --alpha 0.5,1,2,4 --restarts 3 --out sweep\n\n\
Minimises D(X | W H_X) - alpha D(Y | W H_Y) over a shared basis W, where H_Y is always refitted to the\n\
background: topics the background also expresses are penalised. TARGET and BACKGROUND must have the\n\
same features in the same order (checked by name when both files have names). alpha is not\n\
normalised by sample counts (as in the reference code): alpha_cPCA ~ alpha * n_background / n_target.\n\
--loss frobenius suits log-normalised data (e.g. log1p of counts per 10^4), --loss kl raw counts; the\n\
Poisson objective is unbounded below (rows of W collapse), so it runs damped with a floor on W and\n\
reports collapsed features. With several alphas (--alpha 0.5,1,2,4) each runs into DIR/alpha_A and\n\
DIR/sweep.tsv reports, per alpha, topic stability across restarts (mean matched cosine of W) and\n\
held-out reconstruction of target samples, to help choose alpha.";

/// Arguments of `nmf contrast`.
#[derive(Debug, Clone, Args)]
pub struct ContrastArgs {
    /// Target samples X: .mtx[.gz], a 10x folder, .csv/.tsv[.gz] or .npy.
    pub target: PathBuf,
    /// Background samples Y, with the same features as the target.
    pub background: PathBuf,
    /// Number of topics k.
    #[arg(long, short = 'k')]
    pub rank: usize,
    /// Contrastive weight alpha >= 0, or a comma-separated list for a sweep (0.5,1,2,4).
    #[arg(long, value_parser = parse_alphas, allow_negative_numbers = true)]
    pub alpha: AlphaList,
    /// Output folder (created if missing).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Loss: frobenius (squared error) or kl (Poisson).
    #[arg(long, value_enum, default_value_t = ContrastLossChoice::Frobenius)]
    pub loss: ContrastLossChoice,
    /// Seeded starts (seed, seed+1, ...); the best final score is kept.
    #[arg(long, default_value_t = 1)]
    pub restarts: usize,
    /// Damping exponent in (0, 1] on the multiplicative ratios (default 1 frobenius, 0.5 kl).
    #[arg(long, allow_negative_numbers = true)]
    pub damping: Option<f64>,
    /// Seed of the initial values.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Maximum iterations (exact number with --paper).
    #[arg(long, default_value_t = 200)]
    pub max_iter: usize,
    /// Stop when the relative changes of D(X|WH_X) and of D(Y|WH_Y) both fall below this (0 = never).
    #[arg(long, default_value_t = 1e-4)]
    pub tol: f64,
    /// Iterations between convergence checks.
    #[arg(long, default_value_t = 10)]
    pub check_every: usize,
    /// Reproduce the reference code: fixed iterations, its epsilon, no floor on W.
    #[arg(long)]
    pub paper: bool,
    /// Rescale W's columns to unit norm every iteration (leaves the objective unchanged).
    #[arg(long)]
    pub normalize_columns: bool,
    /// Minibatch training with batches of B samples: W·H is never held for more than B samples
    /// at a time (same result as full batch; for inputs too large for memory otherwise).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Stop a run when J falls while D(X|WH_X) rises by more than this fraction between checks
    /// (Poisson collapse; 0.05 is a tested choice). Off by default: collapse is reported.
    #[arg(long, allow_negative_numbers = true)]
    pub collapse_guard: Option<f64>,
    /// With several alphas: the fraction of target samples held out to score reconstruction.
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true)]
    pub holdout: f64,
    /// Top features listed per topic in topics.tsv.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Read the files' rows as samples.
    #[arg(long)]
    pub transpose: bool,
    /// Compute in single precision.
    #[arg(long)]
    pub f32: bool,
    /// Threads for dense products (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// No progress bar or final message.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// The losses of `nmf contrast`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ContrastLossChoice {
    /// Squared error (log-normalised data).
    Frobenius,
    /// Poisson / generalized KL (counts).
    Kl,
}

/// One or more contrastive weights.
#[derive(Debug, Clone, PartialEq)]
pub struct AlphaList(pub Vec<f64>);

/// Parses `2` or `0.5,1,2,4`.
///
/// # Errors
/// A message naming the bad value.
pub fn parse_alphas(s: &str) -> Result<AlphaList, String> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let a: f64 = part
            .parse()
            .map_err(|_| format!("'{part}' is not a number (use e.g. --alpha 2 or --alpha 0.5,1,2,4)"))?;
        if !a.is_finite() || a < 0.0 {
            return Err(format!("alpha must be finite and >= 0, got {part}"));
        }
        if out.contains(&a) {
            return Err(format!("alpha {part} is listed twice"));
        }
        out.push(a);
    }
    Ok(AlphaList(out))
}

const RANK_HELP: &str = "Example:\n  nmf rank data/golub/X_samples_x_genes.csv --transpose --ranks 2..5 --restarts 20 --loss kl --out out/golub\n\n\
For each rank, --restarts seeded runs from random factors (restart r at rank k: seed + 1000 k + r)\n\
give the consensus matrix of argmax-H co-membership, its cophenetic correlation (average linkage on\n\
1 - consensus) and dispersion, and the mean matched cosine between the restarts' W (stability).\n\
Masked cross-validation holds out --cv-fraction of the entries (zeros too) --cv-repeats times and\n\
scores the fit on them (mean held-out divergence of --loss); bi-cross-validation (Owen & Perry)\n\
predicts held-out blocks. --ranks A..B is inclusive; a list 2,3,5 also works. The suggested rank\n\
and its rule go to summary.json: the lowest CV error (else BCV error, else the rank before the\n\
cophenetic correlation drops), as chosen by --rule.";

/// Rules of `nmf rank`'s suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RankRuleChoice {
    /// CV minimum if CV ran, else BCV minimum, else the cophenetic drop.
    Auto,
    /// Lowest masked-CV error.
    Cv,
    /// Lowest bi-cross-validation error.
    Bcv,
    /// The rank before the cophenetic correlation first drops (Brunet).
    Cophenetic,
}

/// Arguments of `nmf rank`.
#[derive(Debug, Clone, Args)]
pub struct RankArgs {
    /// Input: .mtx[.gz], a 10x folder, .csv/.tsv[.gz] or .npy.
    pub input: PathBuf,
    /// Ranks to try: A..B (inclusive), A..=B, or a list such as 2,3,5.
    #[arg(long, default_value = "2..10")]
    pub ranks: String,
    /// Seeded restarts per rank.
    #[arg(long, default_value_t = 20)]
    pub restarts: usize,
    /// Output folder (created if missing).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Solver.
    #[arg(long, value_enum, default_value_t = SolverChoice::Mu)]
    pub solver: SolverChoice,
    /// Loss: frobenius, kl, is or beta=B.
    #[arg(long, default_value = "frobenius", value_parser = LossChoice::parse)]
    pub loss: LossChoice,
    /// Initialisation of every fit (must vary with the seed: random or nndsvdar).
    #[arg(long, value_enum, default_value_t = InitChoice::Random)]
    pub init: InitChoice,
    /// Maximum iterations per fit.
    #[arg(long, default_value_t = 500)]
    pub max_iter: usize,
    /// Stop a fit when the objective's relative decrease between checks falls below this.
    #[arg(long, default_value_t = 1e-4)]
    pub tol: f64,
    /// Base seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (0 = all cores); results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Masked cross-validation repeats (0 = off).
    #[arg(long, default_value_t = 3)]
    pub cv_repeats: usize,
    /// Fraction of the entries held out per CV repeat.
    #[arg(long, default_value_t = 0.05)]
    pub cv_fraction: f64,
    /// Bi-cross-validation repeats with 2x2 blocks (0 = off).
    #[arg(long, default_value_t = 1)]
    pub bcv_repeats: usize,
    /// Above this many samples, the consensus matrix uses a seeded subsample of them.
    #[arg(long, default_value_t = 2000)]
    pub max_consensus_samples: usize,
    /// Rule of the suggested rank.
    #[arg(long, value_enum, default_value_t = RankRuleChoice::Auto)]
    pub rule: RankRuleChoice,
    /// Read the file's rows as samples.
    #[arg(long)]
    pub transpose: bool,
    /// Compute in single precision.
    #[arg(long)]
    pub f32: bool,
    /// Feature names, one per line (or the first column of a CSV).
    #[arg(long)]
    pub feature_names: Option<PathBuf>,
    /// Sample names, one per line (or the first column of a CSV).
    #[arg(long)]
    pub sample_names: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}
