//! A problem pairs the data with the objective, and knows how to score an iterate.

use faer::{Mat, MatRef};

use crate::constraint::{Constraint, ElasticNet};
use crate::data::Data;
use crate::error::{NmfError, Result};
use crate::loss::{ensure, Block, Loss, LossWorkspace};
use crate::metrics::projected_gradient_sq_norm;
use crate::NmfFloat;

/// The numbers recorded for an iterate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation<F> {
    /// Objective: data-fit term plus penalties.
    pub objective: F,
    /// ‖X − W H‖_F / ‖X‖_F over observed entries.
    pub relative_error: F,
    /// Norm of the projected gradient (absolute; the history reports it relative to the
    /// initial point's).
    pub kkt_norm: F,
}

/// Anything an [`Executor`](crate::Executor) can drive: the data and objective, with an
/// iterate type of its own (two factors for plain NMF; three blocks for contrastive NMF; a
/// solver with dual variables keeps them in its own state or workspace).
pub trait Problem<F: NmfFloat> {
    /// The iterate.
    type State: Clone + Send;
    /// Scores an iterate.
    ///
    /// # Errors
    /// Problem-specific; plain NMF never fails here.
    fn evaluate(&mut self, state: &Self::State) -> Result<Evaluation<F>>;
}

/// The iterate of plain NMF: X ≈ W H.
#[derive(Debug, Clone, PartialEq)]
pub struct NmfState<F> {
    /// Basis, m×k.
    pub w: Mat<F>,
    /// Coefficients, k×n.
    pub h: Mat<F>,
}

/// min over W ≥ 0, H ≥ 0 of D(X | W H) + penalty_W(W) + penalty_H(H).
#[derive(Debug, Clone)]
pub struct NmfProblem<'a, F, L, CW = ElasticNet<F>, CH = ElasticNet<F>> {
    data: &'a Data<F>,
    loss: L,
    penalty_w: CW,
    penalty_h: CH,
    ws: LossWorkspace<F>,
    bufs: [Mat<F>; 4],
}

impl<'a, F: NmfFloat, L: Loss<F>, CW: Constraint<F>, CH: Constraint<F>> NmfProblem<'a, F, L, CW, CH> {
    /// A problem; checks that the data suit the loss.
    ///
    /// # Errors
    /// [`NmfError::DataUnsuitedToLoss`].
    pub fn new(data: &'a Data<F>, loss: L, penalty_w: CW, penalty_h: CH, par: faer::Par) -> Result<Self> {
        loss.check_data(data)?;
        Ok(Self {
            data,
            loss,
            penalty_w,
            penalty_h,
            ws: LossWorkspace::new(par),
            bufs: [Mat::new(), Mat::new(), Mat::new(), Mat::new()],
        })
    }
    /// The data.
    pub fn data(&self) -> &'a Data<F> {
        self.data
    }
    /// The loss.
    pub fn loss(&self) -> &L {
        &self.loss
    }
    /// The penalty on W.
    pub fn penalty_w(&self) -> &CW {
        &self.penalty_w
    }
    /// The penalty on H.
    pub fn penalty_h(&self) -> &CH {
        &self.penalty_h
    }
    /// The parallelism of the dense products.
    pub fn par(&self) -> faer::Par {
        self.ws.par()
    }

    /// Checks that W (m×k) and H (k×n) fit the data.
    ///
    /// # Errors
    /// [`NmfError::ShapeMismatch`].
    pub fn check_state(&self, w: MatRef<'_, F>, h: MatRef<'_, F>) -> Result<()> {
        let (m, n, k) = (self.data.nrows(), self.data.ncols(), w.ncols());
        for (what, r, c, er, ec) in [("W", w.nrows(), w.ncols(), m, k), ("H", h.nrows(), h.ncols(), k, n)] {
            if r != er || c != ec {
                return Err(NmfError::ShapeMismatch {
                    what,
                    expected_rows: er,
                    expected_cols: ec,
                    got_rows: r,
                    got_cols: c,
                });
            }
        }
        Ok(())
    }
}

impl<F: NmfFloat, L: Loss<F>, CW: Constraint<F>, CH: Constraint<F>> Problem<F> for NmfProblem<'_, F, L, CW, CH> {
    type State = NmfState<F>;

    fn evaluate(&mut self, s: &NmfState<F>) -> Result<Evaluation<F>> {
        let (w, h) = (s.w.as_ref(), s.h.as_ref());
        let beta = self.loss.beta();
        // A KL fit on sparse X needs both divergences: one pass over the nonzeros gives both
        // (the loss's own value is the β = 1 kernel, so this is the same number).
        let sparse_kl = beta == F::one() && self.data.is_sparse() && self.data.mask().is_none();
        let (value, fro) = if sparse_kl {
            crate::loss::sparse_kl_and_frobenius(self.data, w, h, &mut self.ws)
        } else {
            let value = self.loss.value(self.data, w, h, &mut self.ws);
            let fro = if beta == F::lit(2.0) {
                value
            } else {
                crate::loss::beta_value(F::lit(2.0), self.data, w, h, &mut self.ws)
            };
            (value, fro)
        };
        let objective = value + self.penalty_w.penalty(w) + self.penalty_h.penalty(h);
        let relative_error = (F::lit(2.0) * fro).max(F::zero()).sqrt() / self.data.norm();
        let (m, k, n) = (w.nrows(), w.ncols(), h.ncols());
        let [neg_w, pos_w, neg_h, pos_h] = &mut self.bufs;
        ensure(neg_w, m, k);
        ensure(pos_w, m, k);
        ensure(neg_h, k, n);
        ensure(pos_h, k, n);
        // The same floor as the default MU safeguard: the gradient of KL-like losses is
        // unbounded where W H vanishes.
        let floor = F::epsilon();
        self.loss.grad_parts(
            Block::W,
            self.data,
            w,
            h,
            floor,
            neg_w.as_mut(),
            pos_w.as_mut(),
            &mut self.ws,
        );
        self.loss.grad_parts(
            Block::H,
            self.data,
            w,
            h,
            floor,
            neg_h.as_mut(),
            pos_h.as_mut(),
            &mut self.ws,
        );
        self.penalty_w.add_grad(w, pos_w.as_mut());
        self.penalty_h.add_grad(h, pos_h.as_mut());
        let sq = projected_gradient_sq_norm(w, pos_w.as_ref(), neg_w.as_ref())
            + projected_gradient_sq_norm(h, pos_h.as_ref(), neg_h.as_ref());
        Ok(Evaluation {
            objective,
            relative_error,
            kkt_norm: sq.sqrt(),
        })
    }
}
