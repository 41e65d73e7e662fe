//! # nmf-solvers
//!
//! NMF algorithms that plug into [`nmf_core`]'s [`Solver`](nmf_core::Solver) trait, so that
//! every one of them runs under the same executor, stopping rule and history.
//!
//! | solver | losses | notes |
//! |---|---|---|
//! | [`Mu`] | any β-divergence (Frobenius, KL/Poisson, Itakura–Saito, …) | monotone; sklearn-exact ε option; Poisson simplex form |
//! | [`Pgd`] | Frobenius, KL/Poisson | projected gradient on (W, H) jointly, Armijo search (Lin 2007 §4); monotone |
//! | [`PgdAlt`] | Frobenius | Lin's alternating projected gradient (ANLS with PG subproblems); monotone |
//! | [`Admm`] | Frobenius | AO-ADMM (Huang, Sidiropoulos & Liavas 2016), warm-started scaled duals; exact zeros |
//! | [`Hals`] | Frobenius | accelerated HALS (Gillis & Glineur 2012), inner sweeps while they pay; optional [extrapolation](extrapolate); monotone |
//! | [`Anls`] | Frobenius | ANLS with block principal pivoting (Kim & Park 2011), exact block solves; optional [extrapolation](extrapolate); monotone |
//! | [`Cd`] | Frobenius | scikit-learn's `solver='cd'`, same iterates and violation stop; monotone |
//! | [`KlCd`] | KL/Poisson | coordinate descent with safeguarded Newton steps (Hsieh & Dhillon 2011); monotone; exact zeros |
//!
//! Every solver honours elastic-net penalties, and all but [`KlCd`] observation masks (Frobenius
//! block solvers through the shared Gram products, which impute missing entries as an MM step;
//! `KlCd` refuses a mask with a typed error, so `nmf rank`, which masks entries to
//! cross-validate, keeps `cd` to Frobenius), and asking a
//! solver for a loss it does not implement is an [`nmf_core::NmfError::UnsupportedLoss`].
//! [`transform`] computes H for new samples with W fixed, exactly ([`Bpp`] NNLS).
//!
//! ```
//! use nmf_core::{faer::Mat, Data, Init, KullbackLeibler, NmfParams};
//! use nmf_solvers::Mu;
//!
//! // A rank-2 count-like matrix: two blocks of features, two groups of samples.
//! let x = Mat::from_fn(20, 12, |i, j| if (i < 10) == (j < 6) { 5.0 + (i + j) as f64 % 3.0 } else { 0.5 });
//! let data = Data::dense(x).unwrap();
//! let params = NmfParams::new(2).init(Init::NndsvdA).seed(7).max_iter(300).check().unwrap();
//! let fit = params.fit(&data, KullbackLeibler, Mu::new()).unwrap();
//! let objectives = fit.history.objectives();
//! assert!(objectives.windows(2).all(|p| p[1] <= p[0] * (1.0 + 1e-12)));
//! assert!(fit.evaluation.relative_error < 0.2);
//! ```

#![warn(missing_docs)]

pub mod admm;
pub mod anls;
mod block;
pub mod cd;
pub mod extrapolate;
pub mod hals;
pub mod kl_cd;
pub mod mu;
pub mod nnls;
pub mod pgd;
pub mod pgd_alt;
pub mod transform;

pub use admm::Admm;
pub use anls::Anls;
pub use cd::Cd;
pub use extrapolate::Extrapolation;
pub use hals::Hals;
pub use kl_cd::KlCd;
pub use mu::{Epsilon, Mu};
pub use nnls::{Bpp, BppInfo, ParBpp};
pub use pgd::Pgd;
pub use pgd_alt::PgdAlt;
pub use transform::transform;
