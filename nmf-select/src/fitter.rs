//! How every fit of rank selection is run: one loss, one solver factory, one setting.

use nmf_core::{Data, Init, Loss, NmfFit, NmfFloat, NmfParams, NmfProblem, Solver, StoppingRule};

use crate::error::Result;

/// The initialisation and stopping rule shared by every fit (restarts, cross-validation,
/// bi-cross-validation).
#[derive(Debug, Clone)]
pub struct FitSettings<F> {
    /// Initialisation; it must depend on the seed for restarts to differ (default
    /// [`Init::Random`], as Brunet and cNMF use).
    pub init: Init<F>,
    /// Stopping rule. The default: 500 iterations, tol 1e-4 checked every 10, the
    /// objective recorded only at the checks (rank selection never reads the history).
    pub stopping: StoppingRule<F>,
    /// Elastic-net penalty (l1, l2) on W (default none).
    pub penalty_w: (F, F),
    /// Elastic-net penalty (l1, l2) on H (default none).
    pub penalty_h: (F, F),
}

impl<F: NmfFloat> Default for FitSettings<F> {
    fn default() -> Self {
        let stopping = StoppingRule {
            max_iter: 500,
            tol: F::lit(1e-4),
            check_every: 10,
            record_every: 10,
            ..StoppingRule::default()
        };
        Self {
            init: Init::Random,
            stopping,
            penalty_w: (F::zero(), F::zero()),
            penalty_h: (F::zero(), F::zero()),
        }
    }
}

/// Runs single-threaded fits (parallelism comes from running many at once, which keeps
/// every fit bitwise reproducible whatever the number of threads).
pub(crate) struct Fitter<'a, F, L, M> {
    pub loss: &'a L,
    pub make_solver: &'a M,
    pub settings: &'a FitSettings<F>,
}

impl<F, L, M, S> Fitter<'_, F, L, M>
where
    F: NmfFloat,
    L: Loss<F>,
    M: Fn() -> S + Sync,
    S: for<'b> Solver<F, NmfProblem<'b, F, L>>,
{
    pub fn fit(&self, data: &Data<F>, rank: usize, seed: u64) -> Result<NmfFit<F>> {
        let params = NmfParams::new(rank)
            .init(self.settings.init.clone())
            .stopping(self.settings.stopping.clone())
            .seed(seed)
            .l1_w(self.settings.penalty_w.0)
            .l2_w(self.settings.penalty_w.1)
            .l1_h(self.settings.penalty_h.0)
            .l2_h(self.settings.penalty_h.1)
            .threads(1)
            .check()?;
        Ok(params.fit(data, self.loss.clone(), (self.make_solver)())?)
    }
}
