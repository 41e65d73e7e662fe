//! Coefficients of new target samples with the fitted basis W fixed.
//!
//! * Squared error: the exact non-negative least-squares solution
//!   `H = argmin_{H ≥ 0} ½‖X_new − W H‖²_F`, by block principal pivoting
//!   ([`nmf_solvers::transform()`]): genuine zeros, no iteration count to tune.
//! * Poisson: `H = argmin_{H ≥ 0} KL(X_new | W H)` by the H_X multiplicative update of the fit
//!   (the same code, undamped: each step is an MM step, so the divergence never increases),
//!   until the relative change of the divergence falls below `tol`.
//!
//! The background plays no part: with W fixed, the H_X problem of bcNMF does not involve Y.

use faer::{Mat, MatRef, Par};
use nmf_core::{Data, LossWorkspace, NmfError, NmfFloat, NmfParamsError};

use crate::error::{ContrastiveError, Result};
use crate::problem::ContrastiveLoss;
use crate::solver::{h_step, EpsilonMode, Rule};

/// Knobs of the Poisson transform (the squared-error transform is exact and ignores them).
#[derive(Debug, Clone, PartialEq)]
pub struct TransformParams<F> {
    /// Most multiplicative updates (default 1000).
    pub max_iter: usize,
    /// Stop when the relative change of KL(X_new | W H) over one update is below this
    /// (default 1e-8; 0 runs `max_iter` updates).
    pub tol: F,
    /// Parallelism of the dense products (default sequential).
    pub par: Par,
    /// Starting coefficients (k × n_new); default: per sample, the same value in every
    /// topic, chosen so that W H has the sample's total mass.
    pub h_init: Option<Mat<F>>,
}

impl<F: NmfFloat> Default for TransformParams<F> {
    fn default() -> Self {
        Self {
            max_iter: 1000,
            tol: F::lit(1e-8),
            par: Par::Seq,
            h_init: None,
        }
    }
}

/// The outcome of [`transform`].
#[derive(Debug, Clone, PartialEq)]
pub struct Transformed<F> {
    /// Coefficients of the new samples (k × n_new).
    pub h: Mat<F>,
    /// D(X_new | W H) at the returned H.
    pub divergence: F,
    /// Multiplicative updates performed (0 for the exact squared-error solve).
    pub iterations: usize,
    /// Whether the result is final: always for squared error; for Poisson, whether `tol` was
    /// met before `max_iter`.
    pub converged: bool,
    /// Poisson: the divergence at the start and after every update (non-increasing); empty
    /// for squared error.
    pub divergences: Vec<F>,
}

/// Coefficients of new target samples `x_new` (m × n_new, the features W was fitted on) for
/// the fixed basis `w` (m × k), under `loss`. Sparse and masked inputs are supported.
///
/// ```
/// use nmf_core::{faer::Mat, Data};
/// use nmf_contrastive::{transform, ContrastiveLoss, TransformParams};
///
/// let w = Mat::from_fn(4, 2, |i, l| if i % 2 == l { 1.0 } else { 0.1 });
/// let h_true = Mat::from_fn(2, 3, |l, j| (l + j + 1) as f64);
/// let x = Data::dense(&w * &h_true).unwrap();
/// for loss in [ContrastiveLoss::SquaredError, ContrastiveLoss::Poisson] {
///     let t = transform(&x, w.as_ref(), loss, &TransformParams::default()).unwrap();
///     assert!((t.h[(1, 2)] - h_true[(1, 2)]).abs() < 1e-4, "{loss:?}");
/// }
/// ```
///
/// # Errors
/// [`ContrastiveError::BasisFeatureMismatch`] if W does not have one row per feature of
/// `x_new`; [`ContrastiveError::RankMismatch`] for an initial H with other than k rows (or
/// other than n_new columns: [`NmfError::ShapeMismatch`]); a core error for a W with no
/// columns, a negative or non-finite entry of W or of the initial H, or `max_iter` 0;
/// [`ContrastiveError::BadParam`] for a negative or non-finite `tol`.
pub fn transform<F: NmfFloat>(
    x_new: &Data<F>,
    w: MatRef<'_, F>,
    loss: ContrastiveLoss,
    params: &TransformParams<F>,
) -> Result<Transformed<F>> {
    let (m, n, k) = (x_new.nrows(), x_new.ncols(), w.ncols());
    if w.nrows() != m {
        return Err(ContrastiveError::BasisFeatureMismatch {
            basis: w.nrows(),
            data: m,
        });
    }
    if k == 0 {
        return Err(NmfError::from(NmfParamsError::RankZero).into());
    }
    check_nonnegative("W", w)?;
    if params.max_iter == 0 {
        return Err(NmfError::from(NmfParamsError::MaxIterZero).into());
    }
    if !params.tol.is_finite() || params.tol < F::zero() {
        return Err(ContrastiveError::BadParam {
            name: "tol",
            value: params.tol.to_f64_lossy(),
            expected: "finite and >= 0",
        });
    }
    if let Some(h0) = &params.h_init {
        if h0.nrows() != k {
            return Err(ContrastiveError::RankMismatch {
                what: "initial H",
                rank: k,
                got: h0.nrows(),
            });
        }
        if h0.ncols() != n {
            return Err(NmfError::ShapeMismatch {
                what: "initial H",
                expected_rows: k,
                expected_cols: n,
                got_rows: h0.nrows(),
                got_cols: h0.ncols(),
            }
            .into());
        }
        check_nonnegative("H", h0.as_ref())?;
    }
    let mut lws = LossWorkspace::new(params.par);
    match loss {
        ContrastiveLoss::SquaredError => {
            let h = nmf_solvers::transform(x_new, w, (F::zero(), F::zero()), params.par)?;
            let divergence = loss.value(x_new, w, h.as_ref(), &mut lws);
            Ok(Transformed {
                h,
                divergence,
                iterations: 0,
                converged: true,
                divergences: Vec::new(),
            })
        }
        ContrastiveLoss::Poisson => poisson(x_new, w, params, &mut lws),
    }
}

fn check_nonnegative<F: NmfFloat>(factor: &'static str, a: MatRef<'_, F>) -> Result<()> {
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            let v = a[(i, j)];
            if !v.is_finite() || v < F::zero() {
                return Err(NmfError::InvalidInit {
                    factor,
                    row: i,
                    col: j,
                    value: v.to_f64_lossy(),
                }
                .into());
            }
        }
    }
    Ok(())
}

fn poisson<F: NmfFloat>(
    x: &Data<F>,
    w: MatRef<'_, F>,
    params: &TransformParams<F>,
    lws: &mut LossWorkspace<F>,
) -> Result<Transformed<F>> {
    let (m, n, k) = (x.nrows(), x.ncols(), w.ncols());
    let loss = ContrastiveLoss::Poisson;
    let mut h = match &params.h_init {
        Some(h0) => h0.clone(),
        None => {
            // Equal usage of every topic, scaled so that Σ_i (W H)_ij = Σ_i x_ij: a start
            // without a seed, and H = 0 (the optimum) for an empty sample.
            let mut mass = vec![F::zero(); n];
            let ones = Mat::from_fn(m, 1, |_, _| F::one());
            let mut colsum = Mat::zeros(n, 1);
            nmf_core::linalg::xt_times(x.matrix(), ones.as_ref(), colsum.as_mut(), params.par);
            for (j, v) in mass.iter_mut().enumerate() {
                *v = colsum[(j, 0)];
            }
            let wsum = (0..k).fold(F::zero(), |s, l| s + (0..m).fold(F::zero(), |t, i| t + w[(i, l)]));
            let scale = if wsum > F::zero() { F::one() / wsum } else { F::zero() };
            Mat::from_fn(k, n, |_, j| mass[j] * scale)
        }
    };
    // The H_X step of the fit, undamped (γ = 1 is the plain MM step: monotone and fastest).
    let rule = Rule::new(F::one(), EpsilonMode::Safe, loss);
    let (mut neg, mut pos) = (Mat::zeros(k, n), Mat::zeros(k, n));
    let mut divergences = Vec::with_capacity(params.max_iter + 1);
    let mut d = loss.value(x, w, h.as_ref(), lws);
    divergences.push(d);
    let (mut iterations, mut converged) = (0, false);
    while iterations < params.max_iter {
        h_step(loss, x, w, &mut h, (&mut neg, &mut pos), lws, &rule);
        iterations += 1;
        let d_new = loss.value(x, w, h.as_ref(), lws);
        divergences.push(d_new);
        let change = (d - d_new).abs() / d.abs().max(F::min_positive_value());
        d = d_new;
        if change < params.tol {
            converged = true;
            break;
        }
    }
    Ok(Transformed {
        h,
        divergence: d,
        iterations,
        converged,
        divergences,
    })
}
