//! NMF solvers.
