//! The `summary.json` object of CONTRACT.md, built in one place for `nmf fit` and
//! `nmf compare`.

use nmf_core::faer::Par;
use nmf_core::metrics::kl_divergence;
use nmf_core::{Data, NmfFit, NmfFloat};
use serde_json::{json, Map, Value};

/// The pieces a summary is made of.
#[derive(Debug, Clone, Copy)]
pub struct SummaryPieces<'a, F> {
    /// The solver's command-line name.
    pub solver: &'a str,
    /// The loss's name (`Loss::name`).
    pub loss: &'a str,
    /// Number of factors.
    pub rank: usize,
    /// The data that was factorized.
    pub data: &'a Data<F>,
    /// The (best) fit.
    pub fit: &'a NmfFit<F>,
    /// Seconds of the whole computation reported (excluding reading the input).
    pub seconds: f64,
    /// Seed of the reported fit.
    pub seed: u64,
    /// Parallelism of the products.
    pub par: Par,
}

/// A number, or `null` when it is not finite (JSON has no NaN or infinity).
pub fn finite(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

/// The number of threads a [`Par`] stands for.
pub fn threads(par: Par) -> usize {
    match par {
        Par::Seq => 1,
        p => p.degree(),
    }
}

/// The fields every summary has: `solver, loss, rank, features, samples, nnz, iterations,
/// seconds, converged, stop_reason, objective, relative_error, kl_divergence, kkt_residual,
/// seed, threads, version`. Callers add their own fields to the map.
pub fn summary<F: NmfFloat>(p: &SummaryPieces<'_, F>) -> Map<String, Value> {
    let fit = p.fit;
    let kl = kl_divergence(p.data, fit.state.w.as_ref(), fit.state.h.as_ref(), p.par).to_f64_lossy();
    let mut s = header(p.solver, p.loss, p.rank, p.data, p.seed, p.par);
    for (key, value) in [
        ("iterations", json!(fit.iterations)),
        ("seconds", json!(p.seconds)),
        ("converged", json!(fit.converged())),
        ("stop_reason", json!(fit.stop_reason.as_str())),
        ("objective", finite(fit.evaluation.objective.to_f64_lossy())),
        ("relative_error", finite(fit.evaluation.relative_error.to_f64_lossy())),
        ("kl_divergence", finite(kl)),
        ("kkt_residual", finite(fit.kkt_residual.to_f64_lossy())),
    ] {
        s.insert(key.into(), value);
    }
    s
}

/// The fields that do not depend on a fit (for runs that were skipped or failed): `solver,
/// loss, rank, features, samples, nnz, seed, threads, version`.
pub fn header<F: NmfFloat>(
    solver: &str,
    loss: &str,
    rank: usize,
    data: &Data<F>,
    seed: u64,
    par: Par,
) -> Map<String, Value> {
    let mut s = Map::new();
    for (key, value) in [
        ("solver", json!(solver)),
        ("loss", json!(loss)),
        ("rank", json!(rank)),
        ("features", json!(data.nrows())),
        ("samples", json!(data.ncols())),
        ("nnz", json!(data.stats().nnz)),
        ("seed", json!(seed)),
        ("threads", json!(threads(par))),
        ("version", json!(env!("CARGO_PKG_VERSION"))),
    ] {
        s.insert(key.into(), value);
    }
    s
}
