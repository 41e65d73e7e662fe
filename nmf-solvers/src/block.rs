//! What every block solver (HALS, ANLS, CD, ADMM, alternating PG; KL coordinate descent) checks
//! first.

use nmf_core::{Constraint, Loss, NmfError, NmfFloat, NmfProblem, Result};

/// Checks that the problem is Frobenius with elastic-net penalties and returns the penalty
/// weights `((l1_h, l2_h), (l1_w, l2_w))`, which block solvers fold into their normal
/// equations (see [`nmf_core::block_products`]).
///
/// # Errors
/// As [`elastic_net_for`].
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
    elastic_net_for(solver, problem, (F::lit(2.0), "frobenius"))
}

/// Checks that the problem's loss is the β-divergence `beta` (named `supported`) with
/// elastic-net penalties, and returns the weights `((l1_h, l2_h), (l1_w, l2_w))` that the
/// solver folds into its block problems.
///
/// # Errors
/// [`NmfError::UnsupportedLoss`] for any other loss; [`NmfError::Unsupported`] for a penalty
/// that is not an elastic net.
pub(crate) fn elastic_net_for<'a, F, L, CW, CH>(
    solver: &str,
    problem: &NmfProblem<'a, F, L, CW, CH>,
    (beta, supported): (F, &'static str),
) -> Result<((F, F), (F, F))>
where
    F: NmfFloat,
    L: Loss<F>,
    CW: Constraint<F>,
    CH: Constraint<F>,
{
    if problem.loss().beta() != beta {
        return Err(NmfError::UnsupportedLoss {
            solver: solver.into(),
            loss: problem.loss().name(),
            supported,
        });
    }
    let not_en = |which: &str| {
        NmfError::Unsupported(format!(
            "{solver} folds penalties into its block problems and needs an elastic-net penalty on {which}"
        ))
    };
    let h = problem.penalty_h().elastic_net().ok_or_else(|| not_en("H"))?;
    let w = problem.penalty_w().elastic_net().ok_or_else(|| not_en("W"))?;
    Ok((h, w))
}
