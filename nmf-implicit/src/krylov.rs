//! Restarted GMRES against faer's matrix-free [`LinOp`], for the non-symmetric KKT systems of
//! implicit differentiation (SPEC §3.4).
//!
//! faer 0.24.4 ships `LinOp`/`BiLinOp` and CG, BiCGStab and LSMR solvers, but no GMRES, and
//! its BiCGStab reports the *initial* residual (and no iteration count) when it fails. GMRES
//! minimises the residual over the Krylov space, so it never breaks down on the indefinite,
//! non-symmetric KKT matrices here; it is written once against `&dyn LinOp<F>` so every
//! optimality map (NNLS, the full NMF fixed point) reuses it.

use nmf_core::faer::dyn_stack::{MemBuffer, MemStack};
use nmf_core::faer::matrix_free::{BiLinOp, LinOp};
use nmf_core::faer::prelude::Reborrow;
use nmf_core::faer::{Mat, MatMut, MatRef, Par};
use nmf_core::NmfFloat;

use crate::error::{ImplicitError, Result};

/// GMRES knobs. Public fields; [`KrylovParams::default`] suits both f64 and f32.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KrylovParams<F> {
    /// Krylov vectors kept before a restart (GMRES(m)).
    pub restart: usize,
    /// Operator applications allowed in all.
    pub max_iters: usize,
    /// Stop when `‖b − A x‖ ≤ rel_tol·‖b‖` ...
    pub rel_tol: F,
    /// ... or `‖b − A x‖ ≤ abs_tol`.
    pub abs_tol: F,
}

impl<F: NmfFloat> Default for KrylovParams<F> {
    /// GMRES(200), 2000 iterations, `rel_tol = ε^{2/3}` (f64: 3.7e-11, f32: 2.4e-5), `abs_tol = 0`.
    ///
    /// The restart length matters: the joint NMF system is a saddle point (indefinite), on
    /// which restarted GMRES stagnates once the restart is shorter than the iterations it
    /// needs (measured: 80 iterations unrestarted, no convergence in 2000 with GMRES(50), on
    /// a 135-unknown system). The memory cost is `N·(restart + 1)` scalars.
    fn default() -> Self {
        Self {
            restart: 200,
            max_iters: 2000,
            rel_tol: F::epsilon().powf(F::lit(2.0 / 3.0)),
            abs_tol: F::zero(),
        }
    }
}

impl<F: NmfFloat> KrylovParams<F> {
    /// Checks the knobs.
    ///
    /// # Errors
    /// [`ImplicitError::InvalidParam`] for a zero `restart` or `max_iters`, or a tolerance that
    /// is negative or not finite.
    pub fn check(&self) -> Result<()> {
        let bad = |name, value: f64, expected| ImplicitError::InvalidParam { name, value, expected };
        if self.restart == 0 {
            return Err(bad("restart", 0.0, "at least 1"));
        }
        if self.max_iters == 0 {
            return Err(bad("max_iters", 0.0, "at least 1"));
        }
        for (name, v) in [("rel_tol", self.rel_tol), ("abs_tol", self.abs_tol)] {
            if !v.is_finite() || v < F::zero() {
                return Err(bad(name, v.to_f64_lossy(), "finite and >= 0"));
            }
        }
        Ok(())
    }
}

/// What one Krylov solve did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KrylovInfo {
    /// Operator applications (one per GMRES iteration, plus one per restart for the true
    /// residual).
    pub iterations: usize,
    /// Restart cycles started.
    pub cycles: usize,
    /// Final true residual `‖b − A x‖`.
    pub abs_residual: f64,
    /// Final `‖b − A x‖ / ‖b‖` (0 for `b = 0`).
    pub rel_residual: f64,
}

/// The transpose of a [`BiLinOp`] as a [`LinOp`], so a solver written for `A x = b` solves
/// the adjoint system `Aᵀ u = v` of a VJP.
#[derive(Debug, Clone, Copy)]
pub struct Transposed<'a, Op: ?Sized>(pub &'a Op);

impl<F: NmfFloat, Op: BiLinOp<F> + ?Sized> LinOp<F> for Transposed<'_, Op> {
    fn apply_scratch(&self, rhs_ncols: usize, par: Par) -> nmf_core::faer::dyn_stack::StackReq {
        self.0.transpose_apply_scratch(rhs_ncols, par)
    }
    fn nrows(&self) -> usize {
        self.0.ncols()
    }
    fn ncols(&self) -> usize {
        self.0.nrows()
    }
    fn apply(&self, out: MatMut<'_, F>, rhs: MatRef<'_, F>, par: Par, stack: &mut MemStack) {
        self.0.transpose_apply(out, rhs, par, stack);
    }
    fn conj_apply(&self, out: MatMut<'_, F>, rhs: MatRef<'_, F>, par: Par, stack: &mut MemStack) {
        // Real scalars: the conjugate is the operator itself.
        self.0.transpose_apply(out, rhs, par, stack);
    }
}

fn norm<F: NmfFloat>(v: MatRef<'_, F>) -> F {
    let mut s = F::zero();
    for x in v.col(0).iter() {
        s += *x * *x;
    }
    s.sqrt()
}

fn dot<F: NmfFloat>(a: MatRef<'_, F>, b: MatRef<'_, F>) -> F {
    let mut s = F::zero();
    for (x, y) in a.col(0).iter().zip(b.col(0).iter()) {
        s += *x * *y;
    }
    s
}

/// Solves `A x = b` (A square, `b` and `x` N×1) by restarted GMRES from `x = 0`, with
/// modified Gram–Schmidt run twice (re-orthogonalisation) and Givens rotations.
///
/// All buffers are sized once before the first iteration.
///
/// # Errors
/// [`ImplicitError::InvalidParam`] for bad knobs; [`ImplicitError::KrylovNoConvergence`]
/// (iterations and residual) at the iteration cap; [`ImplicitError::SingularSystem`] when the
/// Hessenberg matrix loses rank (A singular on the Krylov space), or the iterate stops being
/// finite.
///
/// # Panics
/// If A is not square or `b`, `x` are not N×1.
pub fn gmres<F: NmfFloat>(
    op: &dyn LinOp<F>,
    b: MatRef<'_, F>,
    mut x: MatMut<'_, F>,
    params: &KrylovParams<F>,
    par: Par,
) -> Result<KrylovInfo> {
    params.check()?;
    let n = op.nrows();
    assert!(
        op.ncols() == n && b.nrows() == n && b.ncols() == 1 && x.nrows() == n && x.ncols() == 1,
        "gmres: A must be N×N and b, x N×1"
    );
    x.fill(F::zero());
    let bnorm = norm(b);
    if !bnorm.is_finite() {
        return Err(ImplicitError::NonFinite {
            what: "right-hand side",
            row: 0,
            col: 0,
            value: bnorm.to_f64_lossy(),
        });
    }
    if bnorm == F::zero() {
        return Ok(KrylovInfo {
            iterations: 0,
            cycles: 0,
            abs_residual: 0.0,
            rel_residual: 0.0,
        });
    }
    let tol = params.abs_tol.max(params.rel_tol * bnorm);
    let m = params.restart.min(n).max(1);
    let mut mem = MemBuffer::new(op.apply_scratch(1, par));
    let stack = MemStack::new(&mut mem);
    let mut v = Mat::<F>::zeros(n, m + 1);
    let mut hess = Mat::<F>::zeros(m + 1, m);
    let (mut cs, mut sn, mut g, mut y) = (
        vec![F::zero(); m],
        vec![F::zero(); m],
        vec![F::zero(); m + 1],
        vec![F::zero(); m],
    );
    let mut r = Mat::<F>::zeros(n, 1);
    let mut w = Mat::<F>::zeros(n, 1);
    let mut iterations = 0;
    let mut cycles = 0;
    let info = |iterations, cycles, beta: F| KrylovInfo {
        iterations,
        cycles,
        abs_residual: beta.to_f64_lossy(),
        rel_residual: (beta / bnorm).to_f64_lossy(),
    };
    loop {
        // True residual r = b − A x (x = 0 on the first cycle).
        if cycles == 0 {
            r.copy_from(b);
        } else {
            op.apply(r.as_mut(), x.rb(), par, stack);
            iterations += 1;
            for i in 0..n {
                r[(i, 0)] = b[(i, 0)] - r[(i, 0)];
            }
        }
        let beta = norm(r.as_ref());
        if !beta.is_finite() {
            return Err(ImplicitError::SingularSystem {
                detail: "the GMRES iterate became non-finite".into(),
                iterations,
                rel_residual: f64::INFINITY,
            });
        }
        if beta <= tol {
            return Ok(info(iterations, cycles, beta));
        }
        if iterations >= params.max_iters {
            return Err(ImplicitError::KrylovNoConvergence {
                iterations,
                abs_residual: beta.to_f64_lossy(),
                rel_residual: (beta / bnorm).to_f64_lossy(),
                tol: params.rel_tol.to_f64_lossy(),
            });
        }
        cycles += 1;
        for i in 0..n {
            v[(i, 0)] = r[(i, 0)] / beta;
        }
        g.fill(F::zero());
        g[0] = beta;
        let mut used = 0;
        for j in 0..m {
            op.apply(w.as_mut(), v.as_ref().subcols(j, 1), par, stack);
            iterations += 1;
            for _pass in 0..2 {
                for i in 0..=j {
                    let hij = dot(w.as_ref(), v.as_ref().subcols(i, 1));
                    hess[(i, j)] += hij;
                    for t in 0..n {
                        w[(t, 0)] -= hij * v[(t, i)];
                    }
                }
            }
            let hn = norm(w.as_ref());
            for i in 0..j {
                let (a, c) = (hess[(i, j)], hess[(i + 1, j)]);
                hess[(i, j)] = cs[i] * a + sn[i] * c;
                hess[(i + 1, j)] = -sn[i] * a + cs[i] * c;
            }
            let a = hess[(j, j)];
            let rho = a.hypot(hn);
            used = j + 1;
            if rho == F::zero() {
                // A v_j lies in span(v_0..v_{j−1}) with no new direction: A is singular there.
                return Err(ImplicitError::SingularSystem {
                    detail: format!("GMRES Hessenberg matrix lost rank at step {}", j + 1),
                    iterations,
                    rel_residual: (g[j].abs() / bnorm).to_f64_lossy(),
                });
            }
            cs[j] = a / rho;
            sn[j] = hn / rho;
            hess[(j, j)] = rho;
            hess[(j + 1, j)] = F::zero();
            g[j + 1] = -sn[j] * g[j];
            g[j] = cs[j] * g[j];
            if hn > F::zero() {
                for t in 0..n {
                    v[(t, j + 1)] = w[(t, 0)] / hn;
                }
            }
            if g[j + 1].abs() <= tol || hn == F::zero() || iterations >= params.max_iters {
                break;
            }
        }
        // Back substitution H y = g on the used block, then x += V y.
        let hmax = (0..used).fold(F::zero(), |s, i| s.max(hess[(i, i)].abs()));
        for i in (0..used).rev() {
            let d = hess[(i, i)];
            if d.abs() <= F::epsilon() * hmax {
                return Err(ImplicitError::SingularSystem {
                    detail: format!(
                        "GMRES Hessenberg diagonal {i} is {:e} of its largest",
                        (d / hmax).to_f64_lossy()
                    ),
                    iterations,
                    rel_residual: (g[used].abs() / bnorm).to_f64_lossy(),
                });
            }
            let mut s = g[i];
            for l in i + 1..used {
                s -= hess[(i, l)] * y[l];
            }
            y[i] = s / d;
        }
        for (l, yl) in y.iter().enumerate().take(used) {
            for t in 0..n {
                x[(t, 0)] += *yl * v[(t, l)];
            }
        }
        hess.fill(F::zero());
    }
}
