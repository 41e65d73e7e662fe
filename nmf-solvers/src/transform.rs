//! Coefficients of new samples for a fixed basis: `H = argmin_{H ≥ 0} ½‖X − W H‖²_F +
//! l1·ΣH + ½·l2·‖H‖²_F`, solved exactly by block principal pivoting ([`Bpp`]).
//!
//! This is scikit-learn's `NMF.transform` and CRAFT's concept encoding, but exact (an active-set
//! solution with genuine zeros, not a fixed number of iterations). At a converged
//! [`Anls`](crate::Anls) fit, `transform` of the training data with the fitted W returns the
//! fitted H, because ANLS's H step is this very problem.

use faer::{Mat, MatRef, Par};
use nmf_core::{block_products, Block, Data, GramWorkspace, Matrix, NmfError, NmfFloat, NmfParamsError, Result};

use crate::nnls::Bpp;

/// Solves for H (k×n) with W (m×k) fixed, over the columns (samples) of `data`, with an
/// elastic-net penalty `(l1, l2)` on H (use `(0, 0)` for plain NNLS).
///
/// Sparse X stays sparse. With an observation mask, each column is solved exactly on its own
/// observed rows: `Q_j = W_{O_j}ᵀ W_{O_j} + l2·I`, `b_j = W_{O_j}ᵀ x_{O_j} − l1` (one k×k Gram
/// matrix per column with missing entries, formed as `WᵀW` minus the missing rows' outer
/// products when those are the smaller part, else summed over the observed rows).
///
/// ```
/// use nmf_core::{faer::{mat, Par}, Data};
/// use nmf_solvers::transform;
///
/// let w = mat![[1.0_f64, 0.0], [0.0, 1.0], [1.0, 1.0]];
/// let x = mat![[1.0, 0.0], [2.0, 1.0], [3.0, 0.0]];
/// let h = transform(&Data::dense(x).unwrap(), w.as_ref(), (0.0, 0.0), Par::Seq).unwrap();
/// // Column 0 lies in the cone of W: exactly (1, 2). Column 1 needs h₀ = 0.
/// assert!((h[(0, 0)] - 1.0).abs() < 1e-14 && (h[(1, 0)] - 2.0).abs() < 1e-14);
/// assert_eq!(h[(0, 1)], 0.0);
/// assert!((h[(1, 1)] - 0.5).abs() < 1e-14);
/// ```
///
/// # Errors
/// [`NmfError::ShapeMismatch`] if W does not have one row per feature of `data`;
/// [`NmfError::InvalidInit`] (factor `"W"`) for a negative or non-finite entry of W;
/// [`NmfParamsError::BadPenalty`] (as [`NmfError::Params`]) for a negative or non-finite
/// penalty weight; [`NmfError::Linalg`] if a Gram block cannot be factored even with a ridge.
pub fn transform<F: NmfFloat>(data: &Data<F>, w: MatRef<'_, F>, penalty_h: (F, F), par: Par) -> Result<Mat<F>> {
    let (m, n, k) = (data.nrows(), data.ncols(), w.ncols());
    if w.nrows() != m {
        return Err(NmfError::ShapeMismatch {
            what: "W",
            expected_rows: m,
            expected_cols: k,
            got_rows: w.nrows(),
            got_cols: k,
        });
    }
    for l in 0..k {
        for i in 0..m {
            let v = w[(i, l)];
            if !v.is_finite() || v < F::zero() {
                return Err(NmfError::InvalidInit {
                    factor: "W",
                    row: i,
                    col: l,
                    value: v.to_f64_lossy(),
                });
            }
        }
    }
    let (l1, l2) = penalty_h;
    for (name, v) in [("l1_h", l1), ("l2_h", l2)] {
        if !v.is_finite() || v < F::zero() {
            return Err(NmfParamsError::BadPenalty {
                name,
                value: v.to_f64_lossy(),
            }
            .into());
        }
    }
    let mut h = Mat::zeros(k, n);
    if k == 0 {
        return Ok(h);
    }
    let mut utm = Mat::zeros(k, n);
    let mut gram = Mat::zeros(k, k);
    // With H = 0 the imputation of a mask fills missing entries with 0, which is how Data
    // stores them: utm is then exactly W_Oᵀ x_O − l1 column by column.
    let mut gws = GramWorkspace::new(par);
    block_products(
        Block::H,
        data,
        w,
        h.as_ref(),
        (l1, l2),
        utm.as_mut(),
        gram.as_mut(),
        &mut gws,
    );
    let mut bpp = Bpp::new(k, n);
    match (data.mask(), data.matrix()) {
        (None, _) | (Some(_), Matrix::Sparse(_)) => {
            bpp.solve(gram.as_ref(), utm.as_ref(), h.as_mut())?;
        }
        (Some(mask), Matrix::Dense(_)) => {
            let mut q = Mat::zeros(k, k);
            let trace = (0..k).fold(F::zero(), |s, l| s + gram[(l, l)] - l2);
            for j in 0..n {
                let obs = mask.col(j);
                let missing_mass = (0..m).filter(|&i| !obs[i]).fold(F::zero(), |s, i| {
                    s + (0..k).fold(F::zero(), |t, l| t + w[(i, l)] * w[(i, l)])
                });
                if missing_mass == F::zero() {
                    q.copy_from(&gram);
                } else {
                    // Q_j = Σ_{i observed} w_i w_iᵀ + l2·I, from whichever side is smaller.
                    let subtract = missing_mass + missing_mass <= trace;
                    if subtract {
                        q.copy_from(&gram);
                    } else {
                        q.fill(F::zero());
                        for l in 0..k {
                            q[(l, l)] = l2;
                        }
                    }
                    let alpha = if subtract { -F::one() } else { F::one() };
                    for i in (0..m).filter(|&i| obs[i] != subtract) {
                        for b in 0..k {
                            let wb = alpha * w[(i, b)];
                            if wb == F::zero() {
                                continue;
                            }
                            for a in 0..k {
                                q[(a, b)] += w[(i, a)] * wb;
                            }
                        }
                    }
                }
                bpp.solve(q.as_ref(), utm.as_ref().subcols(j, 1), h.as_mut().subcols_mut(j, 1))?;
            }
        }
    }
    Ok(h)
}
