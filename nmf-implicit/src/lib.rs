//! # nmf-implicit
//!
//! Exact derivatives through the NMF block by implicit differentiation (SPEC §3), for any Rust
//! autodiff or training loop: the factors are the argmin of a non-negative least-squares
//! problem, so their derivatives follow from the KKT conditions, not from unrolling a solver.
//!
//! * [`NnlsBlock`]: `H*(X, W, l1, l2) = argmin_{H≥0} ½‖X − WH‖² + l1·ΣH + ½·l2·‖H‖²`, solved
//!   exactly ([`nmf_solvers::Bpp`]), with its active set identified under tolerances
//!   ([`ActiveSetTol`]) and degenerate entries counted. VJP ([`NnlsBlock::vjp`]: cotangent on
//!   H → X̄, W̄, l̄1, l̄2) and JVP ([`NnlsBlock::jvp`]) by the closed-form reduced solution
//!   (one Cholesky per distinct free set), and the same by the matrix-free KKT system in
//!   (H, Λ) ([`NnlsBlock::vjp_kkt`], [`NnlsBlock::jvp_kkt`]).
//! * [`gmres`]: restarted GMRES against faer's matrix-free [`LinOp`](nmf_core::faer::matrix_free::LinOp),
//!   with iterations and residual reported and a typed error when it does not converge;
//!   [`Transposed`] gives the adjoint operator of a `BiLinOp`.
//! * [`JointNmf`]: the full NMF fixed point `(W, H)` of `½‖X − WH‖²` with both factors free
//!   and the scale gauge fixed by unit-ℓ2 columns of W; VJP and JVP with respect to X by the
//!   stacked KKT system (stationarity and complementarity for both factors plus the gauge
//!   rows), by GMRES or by a dense direct solve.
//!
//! Every routine is generic over `f32` and `f64`. The closed-form NNLS derivatives hold f32
//! accuracy (relative error ~1e-5 against f64); finite-difference validation is f64 only.
//!
//! ```
//! use nmf_core::faer::Mat;
//! use nmf_implicit::{ActiveSetTol, KktScaling, KrylovParams, NnlsBlock, NnlsTangent};
//!
//! // A non-negative code of 5 samples on a fixed bank of 3 concepts in 8 features.
//! let w = Mat::from_fn(8, 3, |i, l| if i % 3 == l { 2.0 } else { 0.3 + 0.1 * i as f64 });
//! let x = Mat::from_fn(8, 5, |i, j| ((i * 5 + j * 3) % 7) as f64);
//! let block = NnlsBlock::solve(x.as_ref(), w.as_ref(), (0.1, 0.0), &ActiveSetTol::default()).unwrap();
//!
//! // L(H) = ⟨C, H⟩: its gradient with respect to X, by the closed form and by GMRES on the
//! // KKT system, agree; and the adjoint identity ⟨X̄, dX⟩ = ⟨C, dH⟩ holds.
//! let c = Mat::from_fn(3, 5, |l, j| (l as f64) - (j as f64) / 3.0);
//! let grad = block.vjp(c.as_ref()).unwrap();
//! let (grad_kkt, info) = block.vjp_kkt(c.as_ref(), KktScaling::Normalized, &KrylovParams::default()).unwrap();
//! assert!((&grad.x - &grad_kkt.x).norm_l2() <= 1e-9 * grad.x.norm_l2());
//! assert!(info.rel_residual < 1e-10);
//!
//! let dx = Mat::from_fn(8, 5, |i, j| ((i + j) % 3) as f64 - 1.0);
//! let dh = block.jvp(&NnlsTangent { x: Some(dx.as_ref()), ..Default::default() }).unwrap();
//! let lhs: f64 = (0..5).flat_map(|j| (0..8).map(move |i| (i, j))).map(|(i, j)| grad.x[(i, j)] * dx[(i, j)]).sum();
//! let rhs: f64 = (0..5).flat_map(|j| (0..3).map(move |l| (l, j))).map(|(l, j)| c[(l, j)] * dh[(l, j)]).sum();
//! assert!((lhs - rhs).abs() <= 1e-12 * lhs.abs().max(1.0));
//! ```

#![warn(missing_docs)]

pub mod active;
pub mod error;
pub mod joint;
pub mod kkt;
pub mod krylov;
pub mod nnls;

pub use active::{ActiveSet, ActiveSetCounts, ActiveSetTol, EntryState};
pub use error::{ImplicitError, Result};
pub use joint::{FactorTangent, JointKkt, JointNmf, JointOptions};
pub use kkt::{KktScaling, NnlsKkt};
pub use krylov::{gmres, KrylovInfo, KrylovParams, Transposed};
pub use nnls::{NnlsBlock, NnlsGrad, NnlsTangent, Polish};
