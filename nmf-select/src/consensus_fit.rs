//! `R` seeded restarts at one rank and their cNMF consensus: the factors of
//! `nmf fit --consensus R`.

use faer::{MatRef, Par};
use nmf_core::{Data, Init, Loss, NmfFit, NmfFloat, NmfProblem, Solver};
use rayon::prelude::*;

use crate::cnmf::{consensus_factors, ConsensusFactors, ConsensusParams};
use crate::error::{Result, SelectError};
use crate::fitter::{FitSettings, Fitter};
use crate::select::{pairwise_stability, restart_seed, MAX_RESTARTS};

/// Parameters of [`consensus_fit`].
#[derive(Debug, Clone)]
pub struct ConsensusFitParams<F> {
    /// Restarts (1 ..= 1000).
    pub restarts: usize,
    /// Base seed: restart r uses [`restart_seed`]`(seed, rank, r)`, the seeds of the same
    /// restarts in a rank sweep, so both see the very same fits.
    pub seed: u64,
    /// Worker threads (0 = all cores); results do not depend on it.
    pub threads: usize,
    /// Initialisation and stopping rule of each restart.
    pub fit: FitSettings<F>,
    /// Density filter and k-means of the consensus.
    pub consensus: ConsensusParams,
}

impl<F: NmfFloat> Default for ConsensusFitParams<F> {
    fn default() -> Self {
        Self {
            restarts: 20,
            seed: 0,
            threads: 0,
            fit: FitSettings::default(),
            consensus: ConsensusParams::default(),
        }
    }
}

/// The restarts and their consensus.
#[derive(Debug, Clone)]
pub struct ConsensusRun<F> {
    /// The consensus factors.
    pub factors: ConsensusFactors<F>,
    /// Every restart's fit, in seed order.
    pub fits: Vec<NmfFit<F>>,
    /// Every restart's seed.
    pub seeds: Vec<u64>,
    /// Mean matched cosine between the restarts' W (`None` for one restart).
    pub stability: Option<f64>,
}

/// Fits `params.restarts` seeded restarts at `rank` in parallel and returns their cNMF
/// consensus factors ([`consensus_factors`]), calling `on_done` as each restart finishes.
///
/// # Errors
/// [`SelectError::BadParam`] (restarts), [`SelectError::CustomInit`],
/// [`SelectError::RankTooLarge`], a failed fit, or the consensus's own errors.
pub fn consensus_fit<F, L, M, S>(
    data: &Data<F>,
    rank: usize,
    loss: L,
    make_solver: M,
    params: &ConsensusFitParams<F>,
    on_done: &(dyn Fn(usize) + Sync),
) -> Result<ConsensusRun<F>>
where
    F: NmfFloat,
    L: Loss<F>,
    M: Fn() -> S + Sync,
    S: for<'b> Solver<F, NmfProblem<'b, F, L>>,
{
    if params.restarts == 0 || params.restarts > MAX_RESTARTS {
        return Err(SelectError::BadParam {
            name: "restarts",
            value: params.restarts as f64,
            expected: "between 1 and 1000",
        });
    }
    if matches!(params.fit.init, Init::Custom { .. }) {
        return Err(SelectError::CustomInit);
    }
    params.consensus.check()?;
    let (m, n) = (data.nrows(), data.ncols());
    if rank == 0 {
        return Err(SelectError::RankZero);
    }
    if rank > m.min(n) {
        return Err(SelectError::RankTooLarge { rank, rows: m, cols: n });
    }
    let fitter = Fitter {
        loss: &loss,
        make_solver: &make_solver,
        settings: &params.fit,
    };
    let seeds: Vec<u64> = (0..params.restarts)
        .map(|r| restart_seed(params.seed, rank, r))
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(params.threads)
        .build()
        .map_err(|e| SelectError::ThreadPool(e.to_string()))?;
    let fits = pool.install(|| {
        seeds
            .par_iter()
            .enumerate()
            .map(|(r, &s)| {
                let fit = fitter.fit(data, rank, s);
                on_done(r);
                fit
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let ws: Vec<MatRef<'_, F>> = fits.iter().map(|f| f.state.w.as_ref()).collect();
    let stability = pool.install(|| pairwise_stability(&ws))?;
    // Sequential products: a parallel sum order could move a spectrum across the density
    // threshold between thread counts.
    let factors = consensus_factors(data, &ws, &params.consensus, Par::Seq)?;
    Ok(ConsensusRun {
        factors,
        fits,
        seeds,
        stability,
    })
}
