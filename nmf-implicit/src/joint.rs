//! The full NMF fixed point: both factors free, derivatives with respect to the data
//! (SPEC §3.2 full-NMF form, §3.6).
//!
//! In the crate's convention X (m×n) ≈ W H with W (m×k), H (k×n); the seed's `A ≈ U Wᵀ` is
//! `X = A`, `U = W`, `Wᵀ = H`. The point `(W, H)` is a KKT point of `f = ½‖X − WH‖²` with
//! duals `Ω_W = ∇_W f = E Hᵀ`, `Ω_H = ∇_H f = Wᵀ E` (`E = WH − X`).
//!
//! ## Gauge
//! `(W D, D⁻¹ H)` is a KKT point for every positive diagonal D, so the KKT Jacobian has a
//! k-dimensional null space. The gauge is fixed by **unit ℓ2-norm columns of W** (H absorbs
//! the scale): the equality constraints `½(‖W_l‖² − 1) = 0` with multipliers `μ_l` join the
//! system. At a KKT point of f the multipliers are exactly 0 (`⟨∇_W f, W_l⟩ = 0` by
//! complementarity), so the normalised factors are a KKT point of the constrained problem,
//! and the derivatives are those of the **normalised** factors. A gauge-invariant output such
//! as `L(WH)` gets the same derivative in every gauge.
//!
//! ## The system
//! Unknowns `(dW, dH, dΩ_W, dΩ_H, dμ)` stacked column-major (length `2mk + 2kn + k`):
//!
//! ```text
//! (dW H + W dH) Hᵀ + E dHᵀ − dΩ_W + W diag(dμ)  = r_W
//! Wᵀ (dW H + W dH) + dWᵀ E − dΩ_H               = r_H
//! a_W ⊙ dW + b_W ⊙ dΩ_W                         = 0      (complementarity, KktScaling)
//! a_H ⊙ dH + b_H ⊙ dΩ_H                         = 0
//! W_lᵀ dW_l                                     = 0      (gauge)
//! ```
//!
//! The JVP in a data direction dX solves it with `(r_W, r_H) = (dX Hᵀ, Wᵀ dX)`; the VJP solves
//! the transposed system with right-hand side `−(C_W, C_H, 0, 0, 0)` and returns
//! `X̄ = −(u_W H + W u_H)`. Beyond scaling, the Jacobian is non-singular only if the zeros of
//! W and H pin every other direction of the `GL(k)` orbit `(W R, R⁻¹ H)`: strictly positive
//! factors are never locally unique. Such a point gives [`ImplicitError::SingularSystem`]
//! (dense route) or [`ImplicitError::KrylovNoConvergence`] (GMRES).

use nmf_core::faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use nmf_core::faer::linalg::solvers::Solve;
use nmf_core::faer::matrix_free::LinOp;
use nmf_core::faer::{Accum, Mat, MatRef, Par};
use nmf_core::linalg::{gemm, thin_svd};
use nmf_core::{Data, Frobenius, Init, NmfFloat, NmfParams};
use nmf_solvers::{Anls, Bpp};

use crate::active::{mean_diag, projected_gradient_max, ActiveSet, ActiveSetTol};
use crate::error::{ImplicitError, Result};
use crate::kkt::{stacked_linop, view, view_mut, KktScaling, StackedApply};
use crate::krylov::{gmres, KrylovInfo, KrylovParams, Transposed};
use crate::nnls::check_input;

/// Forward-solve knobs of [`JointNmf`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JointOptions<F> {
    /// Active-set tolerances; `tol.kkt` is the relative KKT residual the polished point must
    /// reach.
    pub tol: ActiveSetTol<F>,
    /// ANLS iterations of [`JointNmf::fit`] before polishing.
    pub fit_iter: usize,
    /// Alternating exact (BPP) block solves allowed while polishing.
    pub polish_max_iter: usize,
}

impl<F: NmfFloat> Default for JointOptions<F> {
    /// Default tolerances but `kkt = ε^{3/4}` (f64: 1.8e-12, f32: 6.4e-6): the derivative of a
    /// fixed point is only as good as the fixed point. 500 ANLS iterations, 20000 polishing.
    fn default() -> Self {
        Self {
            tol: ActiveSetTol {
                kkt: F::epsilon().powf(F::lit(0.75)),
                ..ActiveSetTol::default()
            },
            fit_iter: 500,
            polish_max_iter: 20_000,
        }
    }
}

/// Tangents of the gauge-fixed factors (the joint JVP's output).
#[derive(Debug, Clone, PartialEq)]
pub struct FactorTangent<F> {
    /// `dW` (m×k); `W_lᵀ dW_l = 0` (the gauge).
    pub w: Mat<F>,
    /// `dH` (k×n).
    pub h: Mat<F>,
}

/// A KKT point of NMF with both factors free, gauge-fixed, ready to differentiate with
/// respect to X. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct JointNmf<F: NmfFloat> {
    w: Mat<F>,
    h: Mat<F>,
    e: Mat<F>,
    dual_w: Mat<F>,
    dual_h: Mat<F>,
    set_w: ActiveSet,
    set_h: ActiveSet,
    kkt_residual: F,
    polish_iterations: usize,
}

fn frob<F: NmfFloat>(a: MatRef<'_, F>) -> F {
    let mut s = F::zero();
    for j in 0..a.ncols() {
        for x in a.col(j).iter() {
            s += *x * *x;
        }
    }
    s.sqrt()
}

/// `E = WH − X`, `Ω_W = E Hᵀ`, `Ω_H = Wᵀ E` and the relative KKT residual
/// `max(‖pg_W‖_∞ / (‖X‖‖H‖), ‖pg_H‖_∞ / (‖X‖‖W‖))`.
fn kkt_state<F: NmfFloat>(x: MatRef<'_, F>, w: MatRef<'_, F>, h: MatRef<'_, F>) -> (Mat<F>, Mat<F>, Mat<F>, F) {
    let (m, n, k) = (x.nrows(), x.ncols(), w.ncols());
    let mut e = Mat::zeros(m, n);
    gemm(e.as_mut(), Accum::Replace, w, h, F::one(), Par::Seq);
    for j in 0..n {
        for i in 0..m {
            e[(i, j)] -= x[(i, j)];
        }
    }
    let mut dw = Mat::zeros(m, k);
    gemm(
        dw.as_mut(),
        Accum::Replace,
        e.as_ref(),
        h.transpose(),
        F::one(),
        Par::Seq,
    );
    let mut dh = Mat::zeros(k, n);
    gemm(
        dh.as_mut(),
        Accum::Replace,
        w.transpose(),
        e.as_ref(),
        F::one(),
        Par::Seq,
    );
    let xs = frob(x);
    let (sw, sh) = (xs * frob(h), xs * frob(w));
    let rw = projected_gradient_max(w, dw.as_ref());
    let rh = projected_gradient_max(h, dh.as_ref());
    let rel = |r: F, s: F| if s > F::zero() { r / s } else { r };
    (e, dw, dh, rel(rw, sw).max(rel(rh, sh)))
}

impl<F: NmfFloat> JointNmf<F> {
    /// Fits X ≈ W H (rank k) with ANLS (NNDSVDa start, `seed`), then polishes and fixes the
    /// gauge as [`from_factors`](Self::from_factors). X must be ≥ 0.
    ///
    /// # Errors
    /// Invalid data or rank (nmf-core), and everything [`from_factors`](Self::from_factors)
    /// returns.
    pub fn fit(x: MatRef<'_, F>, rank: usize, seed: u64, opts: &JointOptions<F>) -> Result<Self> {
        let data = Data::dense(x.to_owned())?;
        let params = NmfParams::new(rank)
            .init(Init::NndsvdA)
            .seed(seed)
            .max_iter(opts.fit_iter.max(1))
            .tol(F::zero())
            .threads(1)
            .check()
            .map_err(nmf_core::NmfError::from)?;
        let fit = params.fit(&data, Frobenius, Anls::new())?;
        Self::from_factors(x, fit.state.w.as_ref(), fit.state.h.as_ref(), opts)
    }

    /// Polishes the factors `(w, h)` by alternating exact block solves (BPP, warm-started)
    /// until the relative KKT residual is at most `opts.tol.kkt`, normalises the columns of W
    /// to unit ℓ2 norm (scaling H's rows), and identifies both active sets. A warm start
    /// from a nearby solution (e.g. after a small change of X) takes few iterations.
    ///
    /// # Errors
    /// Shapes and non-finite entries; [`ImplicitError::DeadComponent`] for a zero column of
    /// W; [`ImplicitError::NotOptimal`] if the residual is not reached within
    /// `opts.polish_max_iter`; the block solver's failures.
    pub fn from_factors(x: MatRef<'_, F>, w: MatRef<'_, F>, h: MatRef<'_, F>, opts: &JointOptions<F>) -> Result<Self> {
        opts.tol.check()?;
        let (m, n, k) = (x.nrows(), x.ncols(), w.ncols());
        check_input("X", x, m, n)?;
        check_input("W", w, m, k)?;
        check_input("H", h, k, n)?;
        let (mut w, mut h) = (w.to_owned(), h.to_owned());
        let mut bpp = Bpp::new(k, m.max(n));
        let (mut gram, mut rhs_h, mut rhs_w) = (Mat::zeros(k, k), Mat::zeros(k, n), Mat::zeros(k, m));
        let mut iterations = 0;
        loop {
            let (_, _, _, res) = kkt_state(x, w.as_ref(), h.as_ref());
            if res <= opts.tol.kkt {
                break;
            }
            if iterations >= opts.polish_max_iter || res.is_nan() {
                return Err(ImplicitError::NotOptimal {
                    residual: res.to_f64_lossy(),
                    tol: opts.tol.kkt.to_f64_lossy(),
                });
            }
            iterations += 1;
            gemm(
                gram.as_mut(),
                Accum::Replace,
                w.transpose(),
                w.as_ref(),
                F::one(),
                Par::Seq,
            );
            gemm(rhs_h.as_mut(), Accum::Replace, w.transpose(), x, F::one(), Par::Seq);
            bpp.solve(gram.as_ref(), rhs_h.as_ref(), h.as_mut())?;
            gemm(
                gram.as_mut(),
                Accum::Replace,
                h.as_ref(),
                h.transpose(),
                F::one(),
                Par::Seq,
            );
            gemm(
                rhs_w.as_mut(),
                Accum::Replace,
                h.as_ref(),
                x.transpose(),
                F::one(),
                Par::Seq,
            );
            bpp.solve(gram.as_ref(), rhs_w.as_ref(), w.as_mut().transpose_mut())?;
        }
        for l in 0..k {
            let s = frob(w.as_ref().subcols(l, 1));
            if s == F::zero() {
                return Err(ImplicitError::DeadComponent { component: l });
            }
            for i in 0..m {
                w[(i, l)] /= s;
            }
            for j in 0..n {
                h[(l, j)] *= s;
            }
        }
        let (e, dual_w, dual_h, kkt_residual) = kkt_state(x, w.as_ref(), h.as_ref());
        let set_w = ActiveSet::classify(w.as_ref(), dual_w.as_ref(), &opts.tol);
        let set_h = ActiveSet::classify(h.as_ref(), dual_h.as_ref(), &opts.tol);
        Ok(Self {
            w,
            h,
            e,
            dual_w,
            dual_h,
            set_w,
            set_h,
            kkt_residual,
            polish_iterations: iterations,
        })
    }

    /// W (m×k), unit ℓ2-norm columns.
    pub fn w(&self) -> MatRef<'_, F> {
        self.w.as_ref()
    }

    /// H (k×n).
    pub fn h(&self) -> MatRef<'_, F> {
        self.h.as_ref()
    }

    /// The active sets of W and H.
    pub fn active_sets(&self) -> (&ActiveSet, &ActiveSet) {
        (&self.set_w, &self.set_h)
    }

    /// The relative KKT residual at the point (see [`JointOptions`]).
    pub fn kkt_residual(&self) -> F {
        self.kkt_residual
    }

    /// Alternating block solves the polishing took.
    pub fn polish_iterations(&self) -> usize {
        self.polish_iterations
    }

    /// Length of the stacked KKT vector, `2mk + 2kn + k`.
    pub fn kkt_dim(&self) -> usize {
        let (m, k, n) = (self.w.nrows(), self.w.ncols(), self.h.ncols());
        2 * m * k + 2 * k * n + k
    }

    /// The joint KKT Jacobian as a matrix-free operator.
    pub fn kkt_operator(&self, scaling: KktScaling) -> JointKkt<'_, F> {
        let k = self.w.ncols();
        let (mut hht, mut wtw) = (Mat::zeros(k, k), Mat::zeros(k, k));
        gemm(
            hht.as_mut(),
            Accum::Replace,
            self.h.as_ref(),
            self.h.transpose(),
            F::one(),
            Par::Seq,
        );
        gemm(
            wtw.as_mut(),
            Accum::Replace,
            self.w.transpose(),
            self.w.as_ref(),
            F::one(),
            Par::Seq,
        );
        let (aw, bw) =
            self.set_w
                .complementarity_weights(self.w.as_ref(), self.dual_w.as_ref(), scaling, mean_diag(hht.as_ref()));
        let (ah, bh) =
            self.set_h
                .complementarity_weights(self.h.as_ref(), self.dual_h.as_ref(), scaling, mean_diag(wtw.as_ref()));
        JointKkt {
            w: self.w.as_ref(),
            h: self.h.as_ref(),
            e: self.e.as_ref(),
            aw,
            bw,
            ah,
            bh,
        }
    }

    fn check_cotangents(&self, cw: MatRef<'_, F>, ch: MatRef<'_, F>) -> Result<Mat<F>> {
        let (m, k, n) = (self.w.nrows(), self.w.ncols(), self.h.ncols());
        check_input("cotangent of W", cw, m, k)?;
        check_input("cotangent of H", ch, k, n)?;
        let mut rhs = Mat::zeros(self.kkt_dim(), 1);
        for j in 0..k {
            for i in 0..m {
                rhs[(j * m + i, 0)] = -cw[(i, j)];
            }
        }
        for j in 0..n {
            for l in 0..k {
                rhs[(m * k + j * k + l, 0)] = -ch[(l, j)];
            }
        }
        Ok(rhs)
    }

    /// `X̄ = −(u_W H + W u_H)` from the adjoint solution u.
    fn pullback(&self, u: MatRef<'_, F>) -> Mat<F> {
        let (m, k, n) = (self.w.nrows(), self.w.ncols(), self.h.ncols());
        let uw = Mat::from_fn(m, k, |i, l| u[(l * m + i, 0)]);
        let uh = Mat::from_fn(k, n, |l, j| u[(m * k + j * k + l, 0)]);
        let mut gx = Mat::zeros(m, n);
        gemm(
            gx.as_mut(),
            Accum::Replace,
            uw.as_ref(),
            self.h.as_ref(),
            -F::one(),
            Par::Seq,
        );
        gemm(
            gx.as_mut(),
            Accum::Add,
            self.w.as_ref(),
            uh.as_ref(),
            -F::one(),
            Par::Seq,
        );
        gx
    }

    /// VJP with respect to X of the gauge-fixed factors: for cotangents `cw = ∂L/∂W` (m×k)
    /// and `ch = ∂L/∂H` (k×n), `X̄ = ∂L/∂X`, by GMRES on the transposed KKT system.
    ///
    /// # Errors
    /// Shapes and non-finite cotangents; [`ImplicitError::KrylovNoConvergence`] (iterations,
    /// residual) or [`ImplicitError::SingularSystem`].
    pub fn vjp(
        &self,
        cw: MatRef<'_, F>,
        ch: MatRef<'_, F>,
        scaling: KktScaling,
        params: &KrylovParams<F>,
    ) -> Result<(Mat<F>, KrylovInfo)> {
        let rhs = self.check_cotangents(cw, ch)?;
        let op = self.kkt_operator(scaling);
        let mut u = Mat::zeros(self.kkt_dim(), 1);
        let info = gmres(&Transposed(&op), rhs.as_ref(), u.as_mut(), params, Par::Seq)?;
        Ok((self.pullback(u.as_ref()), info))
    }

    /// JVP of the gauge-fixed factors in the data direction `dx` (m×n): `(dW, dH)`, by
    /// GMRES on the KKT system.
    ///
    /// # Errors
    /// As [`vjp`](Self::vjp).
    pub fn jvp(
        &self,
        dx: MatRef<'_, F>,
        scaling: KktScaling,
        params: &KrylovParams<F>,
    ) -> Result<(FactorTangent<F>, KrylovInfo)> {
        let (m, k, n) = (self.w.nrows(), self.w.ncols(), self.h.ncols());
        check_input("dX", dx, m, n)?;
        let mut rw = Mat::zeros(m, k);
        gemm(rw.as_mut(), Accum::Replace, dx, self.h.transpose(), F::one(), Par::Seq);
        let mut rh = Mat::zeros(k, n);
        gemm(rh.as_mut(), Accum::Replace, self.w.transpose(), dx, F::one(), Par::Seq);
        // The same layout as a VJP right-hand side, with the opposite sign.
        let rhs = self.check_cotangents((-&rw).as_ref(), (-&rh).as_ref())?;
        let op = self.kkt_operator(scaling);
        let mut z = Mat::zeros(self.kkt_dim(), 1);
        let info = gmres(&op, rhs.as_ref(), z.as_mut(), params, Par::Seq)?;
        let dw = Mat::from_fn(m, k, |i, l| z[(l * m + i, 0)]);
        let dh = Mat::from_fn(k, n, |l, j| z[(m * k + j * k + l, 0)]);
        Ok((FactorTangent { w: dw, h: dh }, info))
    }

    /// The KKT Jacobian as a dense matrix (N×N, N = [`kkt_dim`](Self::kkt_dim)), one operator
    /// application per column: a reference for small problems.
    pub fn kkt_dense(&self, scaling: KktScaling) -> Mat<F> {
        let op = self.kkt_operator(scaling);
        let nn = self.kkt_dim();
        let mut a = Mat::zeros(nn, nn);
        let mut mem = MemBuffer::new(op.apply_scratch(nn, Par::Seq));
        LinOp::apply(
            &op,
            a.as_mut(),
            Mat::<F>::identity(nn, nn).as_ref(),
            Par::Seq,
            MemStack::new(&mut mem),
        );
        a
    }

    /// The VJP by a dense direct solve of the transposed KKT system (the "joint" route; cost
    /// O(N³)), with the condition number of the KKT matrix.
    ///
    /// # Errors
    /// Shapes and non-finite cotangents; [`ImplicitError::SingularSystem`] if the KKT matrix
    /// has condition number above `1/(N·ε)`.
    pub fn vjp_dense(&self, cw: MatRef<'_, F>, ch: MatRef<'_, F>, scaling: KktScaling) -> Result<(Mat<F>, F)> {
        let rhs = self.check_cotangents(cw, ch)?;
        let a = self.kkt_dense(scaling);
        let (_, s, _) = thin_svd(a.as_ref())?;
        let (smax, smin) = (s[0], s[s.len() - 1]);
        let cond = smax / smin;
        if smin.is_nan() || smin <= smax * F::from_count(s.len()) * F::epsilon() {
            return Err(ImplicitError::SingularSystem {
                detail: format!(
                    "KKT matrix ({}x{}) has smallest singular value {:e} against largest {:e}",
                    s.len(),
                    s.len(),
                    smin.to_f64_lossy(),
                    smax.to_f64_lossy()
                ),
                iterations: 0,
                rel_residual: f64::NAN,
            });
        }
        let u = a.transpose().to_owned().full_piv_lu().solve(&rhs);
        Ok((self.pullback(u.as_ref()), cond))
    }
}

/// The joint NMF KKT Jacobian (see the [module docs](self)). Built by
/// [`JointNmf::kkt_operator`].
#[derive(Debug, Clone)]
pub struct JointKkt<'a, F: NmfFloat> {
    w: MatRef<'a, F>,
    h: MatRef<'a, F>,
    e: MatRef<'a, F>,
    aw: Mat<F>,
    bw: Mat<F>,
    ah: Mat<F>,
    bh: Mat<F>,
}

impl<F: NmfFloat> StackedApply<F> for JointKkt<'_, F> {
    fn dim(&self) -> usize {
        let (m, k, n) = (self.w.nrows(), self.w.ncols(), self.h.ncols());
        2 * m * k + 2 * k * n + k
    }

    fn one_scratch(&self) -> StackReq {
        StackReq::new::<F>(self.e.nrows() * self.e.ncols())
    }

    fn apply_one(&self, x: &[F], y: &mut [F], transpose: bool, stack: &mut MemStack) {
        let (m, k, n) = (self.w.nrows(), self.w.ncols(), self.h.ncols());
        let (mk, kn) = (m * k, k * n);
        let (xw, rest) = x.split_at(mk);
        let (xh, rest) = rest.split_at(kn);
        let (xow, rest) = rest.split_at(mk);
        let (xoh, xmu) = rest.split_at(kn);
        let (yw, rest) = y.split_at_mut(mk);
        let (yh, rest) = rest.split_at_mut(kn);
        let (yow, rest) = rest.split_at_mut(mk);
        let (yoh, ymu) = rest.split_at_mut(kn);
        let (dw, dh) = (view(xw, m, k), view(xh, k, n));
        // Hessian part (symmetric): P = dW H + W dH; (P Hᵀ + E dHᵀ, Wᵀ P + dWᵀ E).
        let (mut p, _) = stack.make_with::<F>(m * n, |_| F::zero());
        let mut pm = view_mut(&mut p, m, n);
        gemm(pm.as_mut(), Accum::Replace, dw, self.h, F::one(), Par::Seq);
        gemm(pm.as_mut(), Accum::Add, self.w, dh, F::one(), Par::Seq);
        let pm = view(&p, m, n);
        {
            let mut ow = view_mut(yw, m, k);
            gemm(ow.as_mut(), Accum::Replace, pm, self.h.transpose(), F::one(), Par::Seq);
            gemm(ow.as_mut(), Accum::Add, self.e, dh.transpose(), F::one(), Par::Seq);
        }
        {
            let mut oh = view_mut(yh, k, n);
            gemm(oh.as_mut(), Accum::Replace, self.w.transpose(), pm, F::one(), Par::Seq);
            gemm(oh.as_mut(), Accum::Add, dw.transpose(), self.e, F::one(), Par::Seq);
        }
        let one_block = |yv: &mut [F], yo: &mut [F], xv: &[F], xo: &[F], a: &Mat<F>, b: &Mat<F>| {
            let r = a.nrows();
            for (t, (yv, yo)) in yv.iter_mut().zip(yo.iter_mut()).enumerate() {
                let (i, j) = (t % r, t / r);
                let (a, b) = (a[(i, j)], b[(i, j)]);
                if transpose {
                    *yv += a * xo[t];
                    *yo = b * xo[t] - xv[t];
                } else {
                    *yv -= xo[t];
                    *yo = a * xv[t] + b * xo[t];
                }
            }
        };
        one_block(yw, yow, xw, xow, &self.aw, &self.bw);
        one_block(yh, yoh, xh, xoh, &self.ah, &self.bh);
        // Gauge rows W_lᵀ dW_l and their transpose W diag(ν), in both directions.
        for l in 0..k {
            let mut s = F::zero();
            for i in 0..m {
                s += self.w[(i, l)] * xw[l * m + i];
                yw[l * m + i] += self.w[(i, l)] * xmu[l];
            }
            ymu[l] = s;
        }
    }
}

stacked_linop!(JointKkt);
