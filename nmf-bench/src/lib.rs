//! # nmf-bench
//!
//! Quality against time for the solvers of nmf-solvers, and their criterion benchmarks.
//!
//! * [`run_compare`] runs a list of solvers on the same data, from the same initial (W, H),
//!   under the same stopping rule and time limit, and scores each run against the truth when
//!   it is known ([`Truth`]: a true W by matched cosine, labels by the ARI of argmax H).
//! * [`oracle_ceiling`] is the recovery ceiling of SPEC §7.3: W refitted by exact NNLS with
//!   the true H, matched to the true W.
//! * [`report`] writes what `nmf compare` writes: `compare.json` (one summary object per
//!   run), `compare.tsv`, an aligned text table, and `convergence.svg` (objective on a log
//!   scale against seconds, one curve per solver, drawn with plotters).
//! * [`summary`] builds the `summary.json` object of CONTRACT.md for `nmf fit` and
//!   `nmf compare` alike.
//!
//! Criterion measures time per iteration (`cargo bench -p nmf-bench`: groups `nmf_iter`,
//! `products`, and `floor` for the speed ratios of the README's performance section, on the
//! seeded [`inputs`]); the runner measures quality against time.
//!
//! ```
//! use nmf_bench::{run_compare, CompareConfig, SolverKind, Truth};
//! use nmf_synth::{simulate, PlantedSpec};
//!
//! let planted = simulate::<f64>(&PlantedSpec::new(120, 60, 3).depth(500.0), 1).unwrap();
//! let data = planted.data_sparse().unwrap();
//! let mut cfg = CompareConfig::new(3);
//! cfg.solvers = vec![SolverKind::Hals, SolverKind::Anls];
//! let runs = run_compare(&data, &Truth::from_planted(&planted), &cfg).unwrap();
//! for r in &runs {
//!     let rec = r.recovery.unwrap();
//!     assert!(rec.mean_cosine.unwrap() > 0.9, "{}: {rec:?}", r.solver);
//! }
//! ```

#![warn(missing_docs)]

pub mod inputs;
pub mod report;
mod runner;
pub mod summary;

pub use runner::{
    builtin_problem, builtin_spec, optimal_scale, oracle_ceiling, oracle_w, recovery, run_compare, CompareConfig,
    CompareLoss, Recovery, RunReport, RunStatus, SolverKind, Truth, BUILTIN_SEED,
};
