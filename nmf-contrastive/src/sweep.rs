//! Choosing α without labels (SPEC §1.8: "held-out reconstruction and topic stability"): one
//! fit per α, each reported with the stability of its topics across starts and how well its
//! basis reconstructs target samples it was not fitted on.
//!
//! Larger α suppresses more of what the background shares, so held-out reconstruction of the
//! target typically worsens as α grows while the topics become more target-specific; a good
//! α is one where the topics are stable across starts (≥ ~0.9 matched cosine) before held-out
//! error rises steeply.

use faer::Mat;
use nmf_core::metrics::relative_error;
use nmf_core::{Data, NmfFloat, Observer};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{ContrastiveError, Result};
use crate::fit::{ContrastiveFit, ContrastiveParams};
use crate::transform::{transform, TransformParams};

/// How the sweep holds out target samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepParams {
    /// Fraction of the target samples held out, in (0, 1) (default 0.2).
    pub holdout: f64,
    /// Seed of the held-out split (default 0).
    pub seed: u64,
}

impl Default for SweepParams {
    fn default() -> Self {
        Self { holdout: 0.2, seed: 0 }
    }
}

/// Reconstruction of held-out target samples by a basis fitted without them.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldOut<F> {
    /// The held-out target samples (column indices), sorted.
    pub samples: Vec<usize>,
    /// ‖X_h − W H_h‖_F / ‖X_h‖_F with H_h = transform(X_h, W) under the fit's loss.
    pub relative_error: F,
    /// D(X_h | W H_h) per held-out sample (the fit's own loss).
    pub divergence_per_sample: F,
}

/// One α of a sweep.
#[derive(Debug, Clone)]
pub struct AlphaResult<F> {
    /// The contrastive weight.
    pub alpha: F,
    /// The fit on every target and background sample.
    pub fit: ContrastiveFit<F>,
    /// [`ContrastiveFit::stability`] of that fit (`None` with one start).
    pub stability: Option<f64>,
    /// A second fit on the target without the held-out samples, scored on them.
    pub heldout: HeldOut<F>,
}

/// The held-out and training target samples: a seeded permutation, the first
/// ⌈holdout·n⌉ held out (at least 1, leaving at least 1).
///
/// # Errors
/// [`ContrastiveError::BadParam`] for a fraction outside (0, 1) or fewer than 2 samples.
pub fn holdout_split(n: usize, p: &SweepParams) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(p.holdout > 0.0 && p.holdout < 1.0) {
        return Err(ContrastiveError::BadParam {
            name: "holdout",
            value: p.holdout,
            expected: "a fraction in (0, 1)",
        });
    }
    if n < 2 {
        return Err(ContrastiveError::BadParam {
            name: "target samples",
            value: n as f64,
            expected: "at least 2 to hold some out",
        });
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(p.seed));
    let h = ((p.holdout * n as f64).ceil() as usize).clamp(1, n - 1);
    let (mut held, mut train) = (order[..h].to_vec(), order[h..].to_vec());
    held.sort_unstable();
    train.sort_unstable();
    Ok((held, train))
}

/// Fits bcNMF once per α in `alphas` (every other setting from `params`) and scores each by
/// topic stability across its starts and by held-out reconstruction of target samples;
/// `observer` (a progress bar) sees every recorded row of every fit.
///
/// ```
/// use nmf_core::{faer::Mat, Data};
/// use nmf_contrastive::{alpha_sweep, ContrastiveParams, SweepParams};
///
/// let x = Data::dense(Mat::from_fn(10, 20, |i, j| ((i * 7 + j * 3) % 5) as f64 + 0.5)).unwrap();
/// let y = Data::dense(Mat::from_fn(10, 15, |i, j| ((i * 3 + j) % 4) as f64 + 0.5)).unwrap();
/// let params = ContrastiveParams::new(2, 0.0).n_starts(2).max_iter(50);
/// let sweep = alpha_sweep(&params, &[0.5, 1.0], &x, &y, &SweepParams::default(), None).unwrap();
/// assert_eq!(sweep.len(), 2);
/// assert!(sweep[0].stability.unwrap() <= 1.0 + 1e-12);
/// assert_eq!(sweep[0].heldout.samples.len(), 4);
/// ```
///
/// # Errors
/// Invalid parameters or data (as [`ContrastiveParams::check`] and
/// [`crate::ContrastiveValidParams::fit`]), a bad split ([`holdout_split`]), an empty α list.
pub fn alpha_sweep<F: NmfFloat>(
    params: &ContrastiveParams<F>,
    alphas: &[F],
    x: &Data<F>,
    y: &Data<F>,
    sweep: &SweepParams,
    mut observer: Option<&mut dyn Observer<F>>,
) -> Result<Vec<AlphaResult<F>>> {
    if alphas.is_empty() {
        return Err(ContrastiveError::BadParam {
            name: "alphas",
            value: 0.0,
            expected: "at least one value",
        });
    }
    let (held, train) = holdout_split(x.ncols(), sweep)?;
    let (x_held, x_train) = (x.select_columns(&held)?, x.select_columns(&train)?);
    let mut out = Vec::with_capacity(alphas.len());
    for &alpha in alphas {
        let valid = params.clone().alpha(alpha).check()?;
        let fit = valid.fit_observed(x, y, reborrow(&mut observer))?;
        let stability = fit.stability()?;
        let partial = valid.fit_observed(&x_train, y, reborrow(&mut observer))?;
        let heldout = score_heldout(&x_held, &partial, valid.params().loss_kind(), held.clone())?;
        out.push(AlphaResult {
            alpha,
            fit,
            stability,
            heldout,
        });
    }
    Ok(out)
}

/// A shorter-lived handle on the caller's observer, for one fit.
fn reborrow<'a, F>(o: &'a mut Option<&mut dyn Observer<F>>) -> Option<&'a mut dyn Observer<F>> {
    match o {
        Some(o) => Some(&mut **o),
        None => None,
    }
}

fn score_heldout<F: NmfFloat>(
    x_held: &Data<F>,
    partial: &ContrastiveFit<F>,
    loss: crate::ContrastiveLoss,
    samples: Vec<usize>,
) -> Result<HeldOut<F>> {
    let t = transform(x_held, partial.w.as_ref(), loss, &TransformParams::default())?;
    let h: &Mat<F> = &t.h;
    Ok(HeldOut {
        relative_error: relative_error(x_held, partial.w.as_ref(), h.as_ref(), faer::Par::Seq),
        divergence_per_sample: t.divergence / F::from_count(samples.len()),
        samples,
    })
}
