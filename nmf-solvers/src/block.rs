//! What every Frobenius block solver (HALS, ANLS, CD, ADMM, alternating PG) checks first.

use nmf_core::{Constraint, Loss, NmfError, NmfFloat, NmfProblem, Result};

/// Checks that the problem is Frobenius with elastic-net penalties and returns the penalty
/// weights `((l1_h, l2_h), (l1_w, l2_w))`, which block solvers fold into their normal
/// equations (see [`nmf_core::block_products`]).
///
/// # Errors
/// [`NmfError::UnsupportedLoss`] for any other loss; [`NmfError::Unsupported`] for a penalty
/// that is not an elastic net.
pub(crate) fn frobenius_elastic_net<'a, F, L, CW, CH>(
    solver: &str,
    problem: &NmfProblem<'a, F, L, CW, CH>,
) -> Result<((F, F), (F, F))>
where
    F: NmfFloat,
    L: Loss<F>,
    CW: Constraint<F>,
    CH: Constraint<F>,
{
    if problem.loss().beta() != F::lit(2.0) {
        return Err(NmfError::UnsupportedLoss {
            solver: solver.into(),
            loss: problem.loss().name(),
            supported: "frobenius",
        });
    }
    let not_en = |which: &str| {
        NmfError::Unsupported(format!(
            "{solver} folds penalties into its normal equations and needs an elastic-net penalty on {which}"
        ))
    };
    let h = problem.penalty_h().elastic_net().ok_or_else(|| not_en("H"))?;
    let w = problem.penalty_w().elastic_net().ok_or_else(|| not_en("W"))?;
    Ok((h, w))
}
