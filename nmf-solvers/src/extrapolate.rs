//! Extrapolation with restarts for the two-block Frobenius solvers (Ang & Gillis 2019), used by
//! [`Hals`](crate::Hals) and [`Anls`](crate::Anls) when asked (`with_extrapolation`).
//!
//! Alternating block solvers converge linearly, and on noisy data (count matrices) the rate
//! is slow: the error creeps for hundreds of iterations towards a value it is already within
//! 10⁻⁴ of. Extrapolation moves each fresh block along its last change before the partner
//! block is solved:
//!
//! ```text
//! H_k = update_H(Ŵ_{k−1})               Ĥ_k = max(0, H_k + β (H_k − H_{k−1}))
//! W_k = update_W(Ĥ_k)                   Ŵ_k = W_k + β (W_k − W_{k−1})
//! ```
//!
//! The iterate is (W_k, Ĥ_k): W_k is the W step's answer to Ĥ_k, so its objective is read off
//! the W step's products for O(m·k²) (no extra product with X). When it is not below the last
//! accepted objective the step is undone (the iterate goes back to the accepted pair, the next
//! step is a plain one from it, which cannot fail), β shrinks by η and its cap becomes the failed β;
//! otherwise β grows by γ up to its cap, and the cap by γ̄ up to 1. So the objective never
//! rises, and a restart costs one wasted iteration. Ŵ is not projected: it serves as the next H
//! step's design matrix and the W step's warm start, and projecting it can zero a whole column, a component the
//! exact ANLS solves never revive (measured: dense 5000×1000 stuck at relative error 0.095
//! instead of 0.0144). W_k is set ≥ 0 where a solver left a coordinate of Ŵ alone (zero
//! curvature), so every iterate is non-negative; the objective is summed in f64 (f32 round-off would otherwise
//! decide near convergence). An undone iteration leaves the iterate unchanged, so an objective
//! tolerance checked after every single iteration (`check_every = 1`) would stop there; the
//! default checks every 10 iterations.
//!
//! Reference: A. M. S. Ang and N. Gillis, "Accelerating nonnegative matrix factorization
//! algorithms using extrapolation", Neural Computation 31(2), 2019 (their parameters:
//! β₀ = 0.5, η = 1.5, γ = 1.1 and γ̄ = 1.05 for ANLS, γ = 1.01 and γ̄ = 1.005 for HALS).
//!
//! ```
//! use nmf_core::{Data, Frobenius, Init, NmfParams};
//! use nmf_solvers::{Anls, Extrapolation};
//! use nmf_synth::{simulate, PlantedSpec};
//!
//! // Poisson counts from 4 planted modules.
//! let truth = simulate::<f64>(&PlantedSpec::new(200, 150, 4).depth(300.0), 1).unwrap();
//! let data = truth.data_sparse().unwrap();
//! let params = NmfParams::new(4).init(Init::NndsvdA).max_iter(15).tol(0.0).check().unwrap();
//! let plain = params.fit(&data, Frobenius, Anls::new()).unwrap();
//! let fast = params
//!     .fit(&data, Frobenius, Anls::new().with_extrapolation(Extrapolation::for_exact_blocks()))
//!     .unwrap();
//! let objectives = fast.history.objectives();
//! assert!(objectives.windows(2).all(|p| p[1] <= p[0] * (1.0 + 1e-12)));
//! assert!(fast.evaluation.objective <= plain.evaluation.objective);
//! ```

use faer::{Mat, MatRef};
use nmf_core::{NmfError, NmfFloat, NmfParamsError, NmfState, Result};

/// The four numbers of the extrapolation schedule; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extrapolation<F> {
    beta0: F,
    eta: F,
    gamma: F,
    gamma_bar: F,
}

impl<F: NmfFloat> Extrapolation<F> {
    /// Ang & Gillis's schedule for solvers with exact block solves (ANLS):
    /// β₀ = 0.5, η = 1.5, γ = 1.1, γ̄ = 1.05.
    pub fn for_exact_blocks() -> Self {
        Self::new(F::lit(0.5), F::lit(1.5), F::lit(1.1), F::lit(1.05)).expect("valid defaults")
    }

    /// Ang & Gillis's schedule for inexact block solves (HALS): β₀ = 0.5, η = 1.5, γ = 1.01,
    /// γ̄ = 1.005.
    pub fn for_inexact_blocks() -> Self {
        Self::new(F::lit(0.5), F::lit(1.5), F::lit(1.01), F::lit(1.005)).expect("valid defaults")
    }

    /// A schedule: start at `beta0`, divide β by `eta` after a failed step, multiply it by
    /// `gamma` (and its cap by `gamma_bar`) after a successful one.
    ///
    /// # Errors
    /// [`NmfParamsError::SolverParam`] unless `0 ≤ beta0 ≤ 1` and `eta ≥ gamma ≥ gamma_bar ≥ 1`,
    /// all finite.
    pub fn new(beta0: F, eta: F, gamma: F, gamma_bar: F) -> Result<Self> {
        let bad = |name, value: F, expected| -> NmfError {
            NmfParamsError::SolverParam {
                name,
                value: value.to_f64_lossy(),
                expected,
            }
            .into()
        };
        if !(beta0.is_finite() && beta0 >= F::zero() && beta0 <= F::one()) {
            return Err(bad("beta0", beta0, "in [0, 1]"));
        }
        if !(gamma_bar.is_finite() && gamma_bar >= F::one()) {
            return Err(bad("gamma_bar", gamma_bar, "finite and ≥ 1"));
        }
        if !(gamma.is_finite() && gamma >= gamma_bar) {
            return Err(bad("gamma", gamma, "finite and ≥ gamma_bar"));
        }
        if !(eta.is_finite() && eta >= gamma) {
            return Err(bad("eta", eta, "finite and ≥ gamma"));
        }
        Ok(Self {
            beta0,
            eta,
            gamma,
            gamma_bar,
        })
    }
}

/// The running extrapolation: β, its cap, the last accepted objective and the previous blocks.
/// Every buffer is sized in [`Extrapolator::new`]; the hooks do not allocate.
#[derive(Debug, Clone)]
pub(crate) struct Extrapolator<F> {
    schedule: Extrapolation<F>,
    beta: F,
    cap: F,
    // Objective (without the constant ½‖X‖²) of the accepted iterate; None before it is known.
    accepted: Option<f64>,
    w_hat: Mat<F>,
    w_prev: Mat<F>,
    h_prev: Mat<F>,
    h_fresh: Mat<F>,
    h_accepted: Mat<F>,
    scratch: Vec<F>,
    restarts: usize,
    // The step after an undone one is a plain step (β = 0): it cannot be undone.
    plain_next: bool,
}

impl<F: NmfFloat> Extrapolator<F> {
    /// Starts from `state` (β = β₀, Ŵ = W).
    pub(crate) fn new(schedule: Extrapolation<F>, state: &NmfState<F>) -> Self {
        let k = state.w.ncols();
        Self {
            schedule,
            beta: schedule.beta0,
            cap: F::one(),
            accepted: None,
            w_hat: state.w.clone(),
            w_prev: state.w.clone(),
            h_prev: state.h.clone(),
            h_fresh: state.h.clone(),
            h_accepted: state.h.clone(),
            scratch: vec![F::zero(); k],
            restarts: 0,
            plain_next: false,
        }
    }

    /// Steps undone so far.
    pub(crate) fn restarts(&self) -> usize {
        self.restarts
    }

    /// Before the H step: remembers the accepted H and puts Ŵ in W's place.
    pub(crate) fn begin(&mut self, state: &mut NmfState<F>) {
        self.h_accepted.copy_from(&state.h);
        state.w.copy_from(&self.w_hat);
    }

    /// On the first iteration (Ŵ = W then), reads the accepted iterate's objective off the H
    /// step's products `(utm_h, utu)`; `pen_w` is W's elastic net.
    pub(crate) fn start(&mut self, state: &NmfState<F>, (utm_h, utu): (MatRef<'_, F>, MatRef<'_, F>), pen_w: (F, F)) {
        if self.accepted.is_none() {
            let objective = self.block_objective(state.h.as_ref(), utm_h, utu) + penalty(state.w.as_ref(), pen_w);
            self.accepted = Some(objective);
        }
    }

    /// After the H step: H_k is kept, and Ĥ_k = max(0, H_k + β(H_k − H_{k−1})) replaces it.
    pub(crate) fn after_h(&mut self, state: &mut NmfState<F>) {
        self.h_fresh.copy_from(&state.h);
        let beta = if self.plain_next { F::zero() } else { self.beta };
        for j in 0..state.h.ncols() {
            let prev = self.h_prev.col_as_slice(j);
            for (v, p) in state.h.col_as_slice_mut(j).iter_mut().zip(prev) {
                *v = (*v + beta * (*v - *p)).max(F::zero());
            }
        }
    }

    /// After the W step: reads the objective of (W_k, Ĥ_k) off the W step's products
    /// `(utm_w, utu)` (`pen_h` is H's elastic net), then accepts the step (and extrapolates W) or
    /// undoes it. Returns whether it was accepted.
    pub(crate) fn end(
        &mut self,
        state: &mut NmfState<F>,
        (utm_w, utu): (MatRef<'_, F>, MatRef<'_, F>),
        pen_h: (F, F),
    ) -> bool {
        // The W step started from Ŵ, which may be negative. A solver leaves a coordinate alone
        // only where its curvature is zero (HALS, a zero row of Ĥ); such an entry does not enter
        // the fit, so setting it to 0 changes nothing but the penalty.
        for j in 0..state.w.ncols() {
            for v in state.w.col_as_slice_mut(j) {
                *v = v.max(F::zero());
            }
        }
        let objective =
            self.block_objective(state.w.as_ref().transpose(), utm_w, utu) + penalty(state.h.as_ref(), pen_h);
        let s = self.schedule;
        // A plain step is monotone by itself: it is kept even when round-off near convergence
        // puts its objective a hair above the accepted one (else undo → plain → undo forever).
        let better = objective.is_finite() && (self.plain_next || self.accepted.is_none_or(|a| objective <= a));
        if better {
            self.accepted = Some(objective);
            let beta = self.beta;
            for j in 0..state.w.ncols() {
                let w = state.w.col_as_slice(j);
                let prev = self.w_prev.col_as_slice_mut(j);
                for ((hat, p), v) in self.w_hat.col_as_slice_mut(j).iter_mut().zip(prev.iter_mut()).zip(w) {
                    *hat = *v + beta * (*v - *p);
                    *p = *v;
                }
            }
            std::mem::swap(&mut self.h_prev, &mut self.h_fresh);
            self.cap = (s.gamma_bar * self.cap).min(F::one());
            self.beta = (s.gamma * self.beta).min(self.cap);
        } else {
            state.w.copy_from(&self.w_prev);
            state.h.copy_from(&self.h_accepted);
            self.w_hat.copy_from(&self.w_prev);
            self.cap = self.beta;
            self.beta /= s.eta;
            self.restarts += 1;
        }
        self.plain_next = !better;
        better
    }

    /// Follows a rescaling of component `l` (`w_l ← c·w_l`, `h_l ← h_l/c`, which leaves W H
    /// alone) into every remembered block, so that an undone step restores a consistent pair.
    pub(crate) fn rescale(&mut self, l: usize, c: F) {
        for w in [&mut self.w_prev, &mut self.w_hat] {
            for v in w.col_as_slice_mut(l) {
                *v *= c;
            }
        }
        for h in [&mut self.h_prev, &mut self.h_fresh, &mut self.h_accepted] {
            for j in 0..h.ncols() {
                h[(l, j)] /= c;
            }
        }
    }

    /// `Σ_j ½ v_jᵀ·utu·v_j − v_jᵀ·utm_j` for a block V (k×c) and its normal-equation pieces:
    /// the block objective ½‖X − U V‖² + penalties, less the constant ½‖X‖².
    /// Summed in f64, so that accepting or undoing a step near convergence is not decided by
    /// f32 round-off.
    fn block_objective(&mut self, v: MatRef<'_, F>, utm: MatRef<'_, F>, utu: MatRef<'_, F>) -> f64 {
        let k = v.nrows();
        let half = F::lit(0.5);
        let mut total = 0.0f64;
        for j in 0..v.ncols() {
            for a in 0..k {
                let mut s = F::zero();
                for b in 0..k {
                    s += utu[(a, b)] * v[(b, j)];
                }
                self.scratch[a] = s;
            }
            for a in 0..k {
                total += (v[(a, j)] * (half * self.scratch[a] - utm[(a, j)])).to_f64_lossy();
            }
        }
        total
    }
}

/// The elastic-net penalty `l1·ΣV + ½·l2·‖V‖²` of a block.
pub(crate) fn penalty<F: NmfFloat>(v: MatRef<'_, F>, (l1, l2): (F, F)) -> f64 {
    if l1 == F::zero() && l2 == F::zero() {
        return 0.0;
    }
    let (mut sum, mut sq) = (0.0f64, 0.0f64);
    for j in 0..v.ncols() {
        for x in v.col(j).iter() {
            let x = x.to_f64_lossy();
            sum += x;
            sq += x * x;
        }
    }
    l1.to_f64_lossy() * sum + 0.5 * l2.to_f64_lossy() * sq
}

/// Extrapolation needs the objective from the block products, which masks replace by an
/// imputed one; so it is refused there.
pub(crate) fn check_no_mask<F: NmfFloat>(solver: &str, data: &nmf_core::Data<F>) -> Result<()> {
    if data.mask().is_some() {
        return Err(NmfError::Unsupported(format!(
            "{solver} with extrapolation needs fully observed X (it reads the objective off the block products)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Par;
    use nmf_core::{block_products, Block, Data, GramWorkspace};

    /// The objective read off either block's products is ½‖X − W H‖² + both penalties, less
    /// ½‖X‖², computed directly.
    #[test]
    fn block_objective_is_the_objective() {
        let (m, n, k) = (9, 7, 3);
        let x = Mat::from_fn(m, n, |i, j| ((i * 5 + j * 3) % 7) as f64 * 0.5);
        let w = Mat::from_fn(m, k, |i, l| ((i + 2 * l) % 4) as f64 * 0.3 + 0.1);
        let h = Mat::from_fn(k, n, |l, j| ((3 * l + j) % 5) as f64 * 0.2);
        let (pen_w, pen_h) = ((0.3, 0.7), (0.2, 1.1));
        let wh = &w * &h;
        let mut direct = penalty(w.as_ref(), pen_w) + penalty(h.as_ref(), pen_h);
        for j in 0..n {
            for i in 0..m {
                direct += 0.5 * (x[(i, j)] - wh[(i, j)]).powi(2) - 0.5 * x[(i, j)].powi(2);
            }
        }
        let data = Data::dense(x).unwrap();
        let state = NmfState {
            w: w.clone(),
            h: h.clone(),
        };
        let mut ex = Extrapolator::new(Extrapolation::for_exact_blocks(), &state);
        let mut gram = GramWorkspace::new(Par::Seq);
        let (mut utu, mut utm_h, mut utm_w) = (Mat::zeros(k, k), Mat::zeros(k, n), Mat::zeros(k, m));
        block_products(
            Block::H,
            &data,
            w.as_ref(),
            h.as_ref(),
            pen_h,
            utm_h.as_mut(),
            utu.as_mut(),
            &mut gram,
        );
        let from_h = ex.block_objective(h.as_ref(), utm_h.as_ref(), utu.as_ref()) + penalty(w.as_ref(), pen_w);
        block_products(
            Block::W,
            &data,
            w.as_ref(),
            h.as_ref(),
            pen_w,
            utm_w.as_mut(),
            utu.as_mut(),
            &mut gram,
        );
        let from_w =
            ex.block_objective(w.as_ref().transpose(), utm_w.as_ref(), utu.as_ref()) + penalty(h.as_ref(), pen_h);
        for got in [from_h, from_w] {
            assert!((got - direct).abs() <= 1e-12 * direct.abs(), "{got} vs {direct}");
        }
    }
}
