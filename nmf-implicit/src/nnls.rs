//! The NNLS block `H*(X, W, l1, l2) = argmin_{H ≥ 0} ½‖X − W H‖² + l1·ΣH + ½·l2·‖H‖²` and
//! its exact derivatives (SPEC §3.2–§3.5).
//!
//! With `Q = WᵀW + l2·I`, `B = WᵀX − l1` and the dual `Λ = Q H − B`, the KKT conditions are
//! `H ≥ 0`, `Λ ≥ 0`, `H ⊙ Λ = 0`. On the free set `S_j` of column j (and under strict
//! complementarity) `Q_SS h_S = b_S` holds in a neighbourhood, which differentiates to
//!
//! ```text
//! JVP:  Q_SS dh_S = [ Wᵀ dx + dWᵀ r − Wᵀ dW h − dl1·1 − dl2·h ]_S ,  dh_Z = 0,  r = x − W h
//! VJP:  U_S = Q_SS⁻¹ C_S,  U_Z = 0;   X̄ = W U,  W̄ = R Uᵀ − W U Hᵀ,  l̄1 = −ΣU,  l̄2 = −⟨U, H⟩
//! ```
//!
//! Columns that share a free set share one k×k Cholesky factorisation, made once when the
//! block is built and reused by every VJP and JVP ([`NnlsBlock::vjp`], [`NnlsBlock::jvp`]).
//! The same derivatives come from the matrix-free KKT system in (H, Λ) solved by GMRES
//! ([`NnlsBlock::vjp_kkt`], [`NnlsBlock::jvp_kkt`]).
//!
//! ## Conventions at non-differentiable points
//! * Degenerate entries (`H = 0` and `Λ = 0` within tolerance, e.g. every entry of an all-zero
//!   column of X without L1) are treated as active: `dH = 0` there (a one-sided Jacobian).
//!   Their number is [`ActiveSetCounts::degenerate`](crate::ActiveSetCounts).
//! * A singular `Q_SS` (dependent free columns of W, no L2) makes the solution non-unique:
//!   the forward solve still succeeds, derivatives return
//!   [`ImplicitError::SingularReducedHessian`].

use nmf_core::faer::linalg::solvers::Solve;
use nmf_core::faer::{Accum, Mat, MatRef, Par, Side};
use nmf_core::linalg::gemm;
use nmf_core::{NmfError, NmfFloat};
use nmf_solvers::{Bpp, BppInfo};

use crate::active::{mean_diag, projected_gradient_max, ActiveSet, ActiveSetTol};
use crate::error::{ImplicitError, Result};
use crate::kkt::{KktScaling, NnlsKkt};
use crate::krylov::{gmres, KrylovInfo, KrylovParams, Transposed};

/// Whether to polish a given H before differentiating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Polish {
    /// Use H as given (it must already be a KKT point to [`ActiveSetTol::kkt`]).
    None,
    /// Re-solve exactly by block principal pivoting, warm-started from H (usually a few
    /// pivots): turns an inexact solution (MU, HALS, ADMM) into exact zeros and duals.
    #[default]
    Bpp,
}

/// Cotangents of the NNLS block's inputs (the VJP's output).
#[derive(Debug, Clone, PartialEq)]
pub struct NnlsGrad<F> {
    /// `X̄` (m×n).
    pub x: Mat<F>,
    /// `W̄` (m×k).
    pub w: Mat<F>,
    /// `l̄1`.
    pub l1: F,
    /// `l̄2`.
    pub l2: F,
}

/// A tangent (direction) of the NNLS block's inputs, for the JVP. `None` is a zero direction.
#[derive(Debug, Clone, Copy, Default)]
pub struct NnlsTangent<'a, F> {
    /// `dX` (m×n).
    pub x: Option<MatRef<'a, F>>,
    /// `dW` (m×k).
    pub w: Option<MatRef<'a, F>>,
    /// `dl1`.
    pub l1: F,
    /// `dl2`.
    pub l2: F,
}

/// One distinct free set: its indices, its columns and the Cholesky factor of `Q_SS`.
#[derive(Debug, Clone)]
struct Group<F: NmfFloat> {
    idx: Vec<usize>,
    cols: Vec<usize>,
    llt: Option<nmf_core::faer::linalg::solvers::Llt<F>>,
}

/// A solved NNLS block, ready to differentiate. See the [module docs](self).
///
/// ```
/// use nmf_core::faer::Mat;
/// use nmf_implicit::{ActiveSetTol, NnlsBlock};
///
/// let w = Mat::from_fn(6, 3, |i, l| 1.0 + ((i * 7 + l * 3) % 5) as f64);
/// let x = Mat::from_fn(6, 4, |i, j| ((i + 2 * j) % 4) as f64);
/// let block = NnlsBlock::solve(x.as_ref(), w.as_ref(), (0.0, 0.0), &ActiveSetTol::default()).unwrap();
/// // Gradient of L(H) = ΣH with respect to X, W and the penalty weights.
/// let grad = block.vjp(Mat::from_fn(3, 4, |_, _| 1.0).as_ref()).unwrap();
/// assert!(grad.l1 < 0.0); // more L1 shrinks H
/// assert_eq!((grad.x.nrows(), grad.w.ncols()), (6, 3));
/// ```
#[derive(Debug, Clone)]
pub struct NnlsBlock<F: NmfFloat> {
    w: Mat<F>,
    h: Mat<F>,
    dual: Mat<F>,
    q: Mat<F>,
    r: Mat<F>,
    l1: F,
    l2: F,
    set: ActiveSet,
    kkt_residual: F,
    bpp: Option<BppInfo>,
    groups: Vec<Group<F>>,
    singular: Option<ImplicitError>,
}

fn check_finite<F: NmfFloat>(what: &'static str, a: MatRef<'_, F>) -> Result<()> {
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            if !a[(i, j)].is_finite() {
                return Err(ImplicitError::NonFinite {
                    what,
                    row: i,
                    col: j,
                    value: a[(i, j)].to_f64_lossy(),
                });
            }
        }
    }
    Ok(())
}

pub(crate) fn check_shape<F>(what: &'static str, a: MatRef<'_, F>, rows: usize, cols: usize) -> Result<()> {
    if a.nrows() != rows || a.ncols() != cols {
        return Err(NmfError::ShapeMismatch {
            what,
            expected_rows: rows,
            expected_cols: cols,
            got_rows: a.nrows(),
            got_cols: a.ncols(),
        }
        .into());
    }
    Ok(())
}

pub(crate) fn check_input<F: NmfFloat>(what: &'static str, a: MatRef<'_, F>, rows: usize, cols: usize) -> Result<()> {
    check_shape(what, a, rows, cols)?;
    check_finite(what, a)
}

fn max_abs<F: NmfFloat>(a: MatRef<'_, F>) -> F {
    let mut s = F::zero();
    for j in 0..a.ncols() {
        for x in a.col(j).iter() {
            s = s.max(x.abs());
        }
    }
    s
}

impl<F: NmfFloat> NnlsBlock<F> {
    /// Solves the block exactly by block principal pivoting (cold start) and identifies its
    /// active set. `penalty = (l1, l2)`, both ≥ 0. X may have any sign.
    ///
    /// # Errors
    /// Shapes, non-finite entries, negative or non-finite penalties, bad tolerances, and the
    /// forward solver's own failures.
    pub fn solve(x: MatRef<'_, F>, w: MatRef<'_, F>, penalty: (F, F), tol: &ActiveSetTol<F>) -> Result<Self> {
        let h = Mat::zeros(w.ncols(), x.ncols());
        Self::build(x, w, h, penalty, Polish::Bpp, tol)
    }

    /// Differentiates at a given solution `h` (k×n, ≥ 0), polished first if asked.
    ///
    /// # Errors
    /// As [`solve`](Self::solve); with [`Polish::None`], [`ImplicitError::NotOptimal`] if `h`
    /// is not a KKT point to `tol.kkt`, and [`NmfError::InvalidInit`] for a negative entry.
    pub fn from_solution(
        x: MatRef<'_, F>,
        w: MatRef<'_, F>,
        h: MatRef<'_, F>,
        penalty: (F, F),
        polish: Polish,
        tol: &ActiveSetTol<F>,
    ) -> Result<Self> {
        check_input("H", h, w.ncols(), x.ncols())?;
        for j in 0..h.ncols() {
            for i in 0..h.nrows() {
                if h[(i, j)] < F::zero() {
                    return Err(NmfError::InvalidInit {
                        factor: "H",
                        row: i,
                        col: j,
                        value: h[(i, j)].to_f64_lossy(),
                    }
                    .into());
                }
            }
        }
        Self::build(x, w, h.to_owned(), penalty, polish, tol)
    }

    fn build(
        x: MatRef<'_, F>,
        w: MatRef<'_, F>,
        mut h: Mat<F>,
        penalty: (F, F),
        polish: Polish,
        tol: &ActiveSetTol<F>,
    ) -> Result<Self> {
        tol.check()?;
        let (m, n, k) = (x.nrows(), x.ncols(), w.ncols());
        check_input("X", x, m, n)?;
        check_input("W", w, m, k)?;
        let (l1, l2) = penalty;
        for (name, v) in [("l1", l1), ("l2", l2)] {
            if !v.is_finite() || v < F::zero() {
                return Err(NmfError::from(nmf_core::NmfParamsError::BadPenalty {
                    name,
                    value: v.to_f64_lossy(),
                })
                .into());
            }
        }
        let mut q = Mat::zeros(k, k);
        gemm(q.as_mut(), Accum::Replace, w.transpose(), w, F::one(), Par::Seq);
        for l in 0..k {
            q[(l, l)] += l2;
        }
        let mut b = Mat::zeros(k, n);
        gemm(b.as_mut(), Accum::Replace, w.transpose(), x, F::one(), Par::Seq);
        for j in 0..n {
            for l in 0..k {
                b[(l, j)] -= l1;
            }
        }
        let bpp = match polish {
            Polish::Bpp => {
                let mut solver = Bpp::new(k, n);
                Some(solver.solve(q.as_ref(), b.as_ref(), h.as_mut())?)
            }
            Polish::None => None,
        };
        // Λ = Q H − B, recomputed so given and polished solutions are treated alike.
        let mut dual = Mat::zeros(k, n);
        gemm(
            dual.as_mut(),
            Accum::Replace,
            q.as_ref(),
            h.as_ref(),
            F::one(),
            Par::Seq,
        );
        for j in 0..n {
            for l in 0..k {
                dual[(l, j)] -= b[(l, j)];
            }
        }
        let scale = max_abs(b.as_ref()) + max_abs(q.as_ref()) * max_abs(h.as_ref());
        let pg = projected_gradient_max(h.as_ref(), dual.as_ref());
        let kkt_residual = if scale > F::zero() { pg / scale } else { F::zero() };
        // NaN fails the test too.
        if kkt_residual.is_nan() || kkt_residual > tol.kkt {
            return Err(ImplicitError::NotOptimal {
                residual: kkt_residual.to_f64_lossy(),
                tol: tol.kkt.to_f64_lossy(),
            });
        }
        let set = ActiveSet::classify(h.as_ref(), dual.as_ref(), tol);
        // Clean complementarity at the classified point: non-free entries are exactly 0.
        for j in 0..n {
            for l in 0..k {
                if !set.is_free(l, j) {
                    h[(l, j)] = F::zero();
                }
            }
        }
        let mut r = x.to_owned();
        gemm(r.as_mut(), Accum::Add, w, h.as_ref(), -F::one(), Par::Seq);
        let mut block = Self {
            w: w.to_owned(),
            h,
            dual,
            q,
            r,
            l1,
            l2,
            set,
            kkt_residual,
            bpp,
            groups: Vec::new(),
            singular: None,
        };
        block.factor_groups();
        Ok(block)
    }

    /// Groups the columns by free set and factors each `Q_SS` once.
    fn factor_groups(&mut self) {
        let (k, n) = (self.h.nrows(), self.h.ncols());
        let patterns: Vec<Vec<bool>> = (0..n).map(|j| self.set.free_col(j).collect()).collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| patterns[a].cmp(&patterns[b]));
        let eps = F::epsilon();
        let mut start = 0;
        while start < n {
            let j0 = order[start];
            let mut end = start + 1;
            while end < n && patterns[order[end]] == patterns[j0] {
                end += 1;
            }
            let idx: Vec<usize> = (0..k).filter(|&l| patterns[j0][l]).collect();
            let cols = order[start..end].to_vec();
            let nf = idx.len();
            let llt = if nf == 0 {
                None
            } else {
                let qss = Mat::from_fn(nf, nf, |a, b| self.q[(idx[a], idx[b])]);
                let max_diag = (0..nf).fold(F::zero(), |s, a| s.max(qss[(a, a)]));
                let floor = F::lit(100.0) * F::from_count(nf) * eps * max_diag;
                match qss.llt(Side::Lower) {
                    Ok(llt) => {
                        let l = llt.L();
                        let min_pivot = (0..nf).fold(F::infinity(), |s, a| s.min(l[(a, a)] * l[(a, a)]));
                        if min_pivot.is_nan() || min_pivot <= floor {
                            self.singular.get_or_insert(ImplicitError::SingularReducedHessian {
                                column: j0,
                                free: nf,
                                min_pivot: (min_pivot / max_diag).to_f64_lossy(),
                            });
                        }
                        Some(llt)
                    }
                    Err(_) => {
                        self.singular.get_or_insert(ImplicitError::SingularReducedHessian {
                            column: j0,
                            free: nf,
                            min_pivot: 0.0,
                        });
                        None
                    }
                }
            };
            self.groups.push(Group { idx, cols, llt });
            start = end;
        }
    }

    /// The solution H (k×n), exactly 0 off the free set.
    pub fn h(&self) -> MatRef<'_, F> {
        self.h.as_ref()
    }

    /// The dual `Λ = Q H − B` (k×n): ≥ 0, ≈ 0 on the free set.
    pub fn dual(&self) -> MatRef<'_, F> {
        self.dual.as_ref()
    }

    /// The classified active set.
    pub fn active_set(&self) -> &ActiveSet {
        &self.set
    }

    /// The relative projected-gradient norm at the solution (SPEC §4.9 style, relative to
    /// `max|B| + max|Q|·max|H|`).
    pub fn kkt_residual(&self) -> F {
        self.kkt_residual
    }

    /// What the forward (or polishing) BPP solve did, if one ran.
    pub fn bpp_info(&self) -> Option<BppInfo> {
        self.bpp
    }

    /// Distinct free sets (one Cholesky factorisation each).
    pub fn distinct_free_sets(&self) -> usize {
        self.groups.len()
    }

    /// The objective `½‖X − W H‖² + l1·ΣH + ½·l2·‖H‖²` at the solution.
    pub fn objective(&self) -> F {
        let half = F::lit(0.5);
        let (mut fit, mut s1, mut s2) = (F::zero(), F::zero(), F::zero());
        for j in 0..self.r.ncols() {
            for v in self.r.col(j).iter() {
                fit += *v * *v;
            }
        }
        for j in 0..self.h.ncols() {
            for v in self.h.col(j).iter() {
                s1 += *v;
                s2 += *v * *v;
            }
        }
        half * fit + self.l1 * s1 + half * self.l2 * s2
    }

    /// Whether derivatives exist (every reduced Gram matrix is non-singular); else the error
    /// that [`vjp`](Self::vjp) and [`jvp`](Self::jvp) return.
    pub fn differentiability(&self) -> Result<()> {
        match &self.singular {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// `U_S = Q_SS⁻¹ T_S`, `U_Z = 0`, column by column (T is k×n).
    fn reduced_solve(&self, t: MatRef<'_, F>) -> Result<Mat<F>> {
        self.differentiability()?;
        let (k, n) = (self.h.nrows(), self.h.ncols());
        let mut u = Mat::zeros(k, n);
        let mut buf = Mat::<F>::zeros(k, n);
        for g in &self.groups {
            let Some(llt) = &g.llt else { continue };
            let (nf, nc) = (g.idx.len(), g.cols.len());
            for (c, &j) in g.cols.iter().enumerate() {
                for (a, &l) in g.idx.iter().enumerate() {
                    buf[(a, c)] = t[(l, j)];
                }
            }
            llt.solve_in_place(buf.as_mut().submatrix_mut(0, 0, nf, nc));
            for (c, &j) in g.cols.iter().enumerate() {
                for (a, &l) in g.idx.iter().enumerate() {
                    u[(l, j)] = buf[(a, c)];
                }
            }
        }
        Ok(u)
    }

    /// The cotangents of the inputs for `U` of the reduced solve:
    /// `X̄ = W U`, `W̄ = R Uᵀ − W (U Hᵀ)`, `l̄1 = −ΣU`, `l̄2 = −⟨U, H⟩`.
    fn pullback(&self, u: MatRef<'_, F>) -> NnlsGrad<F> {
        let (m, k, n) = (self.w.nrows(), self.w.ncols(), self.h.ncols());
        let mut gx = Mat::zeros(m, n);
        gemm(gx.as_mut(), Accum::Replace, self.w.as_ref(), u, F::one(), Par::Seq);
        let mut uht = Mat::zeros(k, k);
        gemm(uht.as_mut(), Accum::Replace, u, self.h.transpose(), F::one(), Par::Seq);
        let mut gw = Mat::zeros(m, k);
        gemm(
            gw.as_mut(),
            Accum::Replace,
            self.r.as_ref(),
            u.transpose(),
            F::one(),
            Par::Seq,
        );
        gemm(
            gw.as_mut(),
            Accum::Add,
            self.w.as_ref(),
            uht.as_ref(),
            -F::one(),
            Par::Seq,
        );
        let (mut l1, mut l2) = (F::zero(), F::zero());
        for j in 0..n {
            for l in 0..k {
                l1 -= u[(l, j)];
                l2 -= u[(l, j)] * self.h[(l, j)];
            }
        }
        NnlsGrad { x: gx, w: gw, l1, l2 }
    }

    /// `T = Wᵀ dX + dWᵀ R − (Wᵀ dW) H − dl1·1 − dl2·H` (k×n): minus the derivative of the
    /// stationarity map in the direction `t`.
    fn tangent_rhs(&self, t: &NnlsTangent<'_, F>) -> Result<Mat<F>> {
        let (m, k, n) = (self.w.nrows(), self.w.ncols(), self.h.ncols());
        for (name, v) in [("dl1", t.l1), ("dl2", t.l2)] {
            if !v.is_finite() {
                return Err(ImplicitError::NonFinite {
                    what: name,
                    row: 0,
                    col: 0,
                    value: v.to_f64_lossy(),
                });
            }
        }
        let mut rhs = Mat::zeros(k, n);
        if let Some(dx) = t.x {
            check_input("dX", dx, m, n)?;
            gemm(rhs.as_mut(), Accum::Add, self.w.transpose(), dx, F::one(), Par::Seq);
        }
        if let Some(dw) = t.w {
            check_input("dW", dw, m, k)?;
            gemm(
                rhs.as_mut(),
                Accum::Add,
                dw.transpose(),
                self.r.as_ref(),
                F::one(),
                Par::Seq,
            );
            let mut wtdw = Mat::zeros(k, k);
            gemm(
                wtdw.as_mut(),
                Accum::Replace,
                self.w.transpose(),
                dw,
                F::one(),
                Par::Seq,
            );
            gemm(
                rhs.as_mut(),
                Accum::Add,
                wtdw.as_ref(),
                self.h.as_ref(),
                -F::one(),
                Par::Seq,
            );
        }
        for j in 0..n {
            for l in 0..k {
                rhs[(l, j)] -= t.l1 + t.l2 * self.h[(l, j)];
            }
        }
        Ok(rhs)
    }

    /// VJP by the closed-form reduced solution: the cotangents of (X, W, l1, l2) for a
    /// cotangent `c = ∂L/∂H` (k×n).
    ///
    /// # Errors
    /// Shape or non-finite `c`; [`ImplicitError::SingularReducedHessian`].
    pub fn vjp(&self, c: MatRef<'_, F>) -> Result<NnlsGrad<F>> {
        check_input("cotangent", c, self.h.nrows(), self.h.ncols())?;
        let u = self.reduced_solve(c)?;
        Ok(self.pullback(u.as_ref()))
    }

    /// JVP by the closed-form reduced solution: `dH` (k×n) for a direction of the inputs.
    ///
    /// # Errors
    /// Shape or non-finite directions; [`ImplicitError::SingularReducedHessian`].
    pub fn jvp(&self, t: &NnlsTangent<'_, F>) -> Result<Mat<F>> {
        let rhs = self.tangent_rhs(t)?;
        self.reduced_solve(rhs.as_ref())
    }

    /// The KKT Jacobian in `(H, Λ)` as a matrix-free operator (for faer's solvers or
    /// [`gmres`]).
    pub fn kkt_operator(&self, scaling: KktScaling) -> NnlsKkt<'_, F> {
        let (a, b) =
            self.set
                .complementarity_weights(self.h.as_ref(), self.dual.as_ref(), scaling, mean_diag(self.q.as_ref()));
        NnlsKkt {
            q: self.q.as_ref(),
            a,
            b,
        }
    }

    /// VJP by the matrix-free KKT route: solves `Aᵀ u = −(C, 0)` by GMRES, then
    /// `X̄ = −W u₁`, `W̄ = −R u₁ᵀ + W u₁ Hᵀ`, `l̄1 = Σu₁`, `l̄2 = ⟨u₁, H⟩`.
    ///
    /// # Errors
    /// Shape or non-finite `c`; [`ImplicitError::KrylovNoConvergence`] or
    /// [`ImplicitError::SingularSystem`] from GMRES.
    pub fn vjp_kkt(
        &self,
        c: MatRef<'_, F>,
        scaling: KktScaling,
        params: &KrylovParams<F>,
    ) -> Result<(NnlsGrad<F>, KrylovInfo)> {
        let (k, n) = (self.h.nrows(), self.h.ncols());
        check_input("cotangent", c, k, n)?;
        let op = self.kkt_operator(scaling);
        let mut rhs = Mat::zeros(2 * k * n, 1);
        for j in 0..n {
            for l in 0..k {
                rhs[(j * k + l, 0)] = -c[(l, j)];
            }
        }
        let mut u = Mat::zeros(2 * k * n, 1);
        let info = gmres(&Transposed(&op), rhs.as_ref(), u.as_mut(), params, Par::Seq)?;
        // u₁ = −U of the closed form.
        let neg_u1 = Mat::from_fn(k, n, |l, j| -u[(j * k + l, 0)]);
        Ok((self.pullback(neg_u1.as_ref()), info))
    }

    /// JVP by the matrix-free KKT route: solves `A (dH, dΛ) = (T, 0)` by GMRES.
    ///
    /// # Errors
    /// As [`jvp`](Self::jvp) for the inputs; GMRES failures as in [`vjp_kkt`](Self::vjp_kkt).
    pub fn jvp_kkt(
        &self,
        t: &NnlsTangent<'_, F>,
        scaling: KktScaling,
        params: &KrylovParams<F>,
    ) -> Result<(Mat<F>, KrylovInfo)> {
        let (k, n) = (self.h.nrows(), self.h.ncols());
        let t = self.tangent_rhs(t)?;
        let op = self.kkt_operator(scaling);
        let mut rhs = Mat::zeros(2 * k * n, 1);
        for j in 0..n {
            for l in 0..k {
                rhs[(j * k + l, 0)] = t[(l, j)];
            }
        }
        let mut z = Mat::zeros(2 * k * n, 1);
        let info = gmres(&op, rhs.as_ref(), z.as_mut(), params, Par::Seq)?;
        Ok((Mat::from_fn(k, n, |l, j| z[(j * k + l, 0)]), info))
    }
}
