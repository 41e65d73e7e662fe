//! The bcNMF problem: data, loss, α, and the scoring of an iterate.

use faer::{Mat, MatMut, MatRef, Par};
use nmf_core::metrics::projected_gradient_sq_norm;
use nmf_core::{Block, Data, Evaluation, Frobenius, KullbackLeibler, Loss, LossWorkspace, NmfFloat, Problem};

use crate::error::{ContrastiveError, Result};

/// The data-fit term D of both halves of the objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContrastiveLoss {
    /// Squared error ½‖X − W H‖²_F (the paper's "Gaussian"/SSE model; log-normalised data).
    #[default]
    SquaredError,
    /// Poisson: generalized KL divergence Σ x log(x/y) − x + y (counts).
    Poisson,
}

impl ContrastiveLoss {
    /// Name as written in summaries (`frobenius`, `kl`).
    pub fn name(self) -> &'static str {
        match self {
            ContrastiveLoss::SquaredError => "frobenius",
            ContrastiveLoss::Poisson => "kl",
        }
    }

    /// The default damping exponent (SPEC §1.5): 1 for squared error, 0.5 for Poisson.
    pub fn default_damping<F: NmfFloat>(self) -> F {
        match self {
            ContrastiveLoss::SquaredError => F::one(),
            ContrastiveLoss::Poisson => F::lit(0.5),
        }
    }

    /// The reference code's ε (SPEC §1.3–1.4): 1e-10 for squared error, 1e-16 for Poisson.
    pub fn reference_epsilon<F: NmfFloat>(self) -> F {
        match self {
            ContrastiveLoss::SquaredError => F::lit(1e-10),
            ContrastiveLoss::Poisson => F::lit(1e-16),
        }
    }

    /// D(data | W H).
    pub fn value<F: NmfFloat>(
        self,
        data: &Data<F>,
        w: MatRef<'_, F>,
        h: MatRef<'_, F>,
        ws: &mut LossWorkspace<F>,
    ) -> F {
        match self {
            ContrastiveLoss::SquaredError => Frobenius.value(data, w, h, ws),
            ContrastiveLoss::Poisson => KullbackLeibler.value(data, w, h, ws),
        }
    }

    /// The parts of ∇D with respect to `block` (`∇ = pos − neg`), as
    /// [`Loss::grad_parts`]: O(nnz·k) on sparse data.
    #[allow(clippy::too_many_arguments)]
    pub fn grad_parts<F: NmfFloat>(
        self,
        block: Block,
        data: &Data<F>,
        w: MatRef<'_, F>,
        h: MatRef<'_, F>,
        y_floor: F,
        neg: MatMut<'_, F>,
        pos: MatMut<'_, F>,
        ws: &mut LossWorkspace<F>,
    ) {
        match self {
            ContrastiveLoss::SquaredError => Frobenius.grad_parts(block, data, w, h, y_floor, neg, pos, ws),
            ContrastiveLoss::Poisson => KullbackLeibler.grad_parts(block, data, w, h, y_floor, neg, pos, ws),
        }
    }
}

/// The bcNMF iterate: a shared basis and one coefficient matrix per input.
#[derive(Debug, Clone, PartialEq)]
pub struct ContrastiveState<F> {
    /// Shared basis, m×k.
    pub w: Mat<F>,
    /// Target coefficients, k×n_x.
    pub h_target: Mat<F>,
    /// Background coefficients, k×n_y.
    pub h_background: Mat<F>,
}

impl<F: NmfFloat> ContrastiveState<F> {
    /// Divides each column of W by its Euclidean norm and multiplies the matching rows of
    /// both H_X and H_Y by it. Leaves W H_X, W H_Y, and hence J, unchanged (SPEC §1.2);
    /// zero columns are left alone.
    pub fn normalize_columns(&mut self) {
        for l in 0..self.w.ncols() {
            let mut s = F::zero();
            for i in 0..self.w.nrows() {
                s += self.w[(i, l)] * self.w[(i, l)];
            }
            let d = s.sqrt();
            if d <= F::zero() || !d.is_finite() {
                continue;
            }
            for i in 0..self.w.nrows() {
                self.w[(i, l)] /= d;
            }
            for j in 0..self.h_target.ncols() {
                self.h_target[(l, j)] *= d;
            }
            for j in 0..self.h_background.ncols() {
                self.h_background[(l, j)] *= d;
            }
        }
    }
}

/// The two data-fit terms of an iterate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContrastiveTerms<F> {
    /// D(X | W H_X).
    pub d_target: F,
    /// D(Y | W H_Y).
    pub d_background: F,
}

/// Background-contrastive NMF (SPEC §1.2):
///
/// ```text
/// J(W, H_X, H_Y) = D(X | W H_X) − α · D(Y | W H_Y),   W, H_X, H_Y ≥ 0
/// ```
///
/// solved as the bilevel problem min over (W, H_X) of D_X − α · min over H_Y of D_Y: H_Y is
/// always fitted to the background, never pushed to maximise J.
///
/// **J is not monotone by design**: the H_Y step decreases D_Y and so *increases* J. Monitor
/// D_X and D_Y separately (see [`ContrastiveProblem::terms`]); the solver's stopping rule does.
///
/// [`Problem::evaluate`] reports:
/// * `objective` = J;
/// * `relative_error` = ‖X − W H_X‖_F / ‖X‖_F (the target only);
/// * `kkt_norm` = a substitute for the KKT residual of the bilevel problem: the norm of the
///   projected gradient of J in W and of D_X in H_X (the same as J's), and of D_Y (the
///   lower-level problem's, not J's) in H_Y.
///
/// Every call of [`Problem::evaluate`] also appends a [`ContrastiveRecord`] (D_X, D_Y, J and
/// the collapsed rows of W) to [`ContrastiveProblem::records`]: the executor evaluates once per
/// history row, so after a run driven through `&mut problem` the records pair one to one
/// with the rows of its history (see [`ContrastiveFit::trace`](crate::ContrastiveFit::trace)).
///
/// α is not normalised by the sample counts (paper convention); it corresponds to
/// α_cPCA ≈ α · N_Y / N_X (SPEC §1.10). The background may overlap the target (Y ⊂ X).
#[derive(Debug, Clone)]
pub struct ContrastiveProblem<'a, F> {
    x: &'a Data<F>,
    y: &'a Data<F>,
    alpha: F,
    loss: ContrastiveLoss,
    ws: LossWorkspace<F>,
    bufs: [Mat<F>; 8],
    records: Vec<ContrastiveRecord<F>>,
    target_mass: Vec<bool>,
}

/// What [`ContrastiveProblem`] records at each evaluation, beyond the core history row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContrastiveRecord<F> {
    /// D(X | W H_X).
    pub d_target: F,
    /// D(Y | W H_Y).
    pub d_background: F,
    /// J = D_X − α D_Y.
    pub objective: F,
    /// Rows of W counted as collapsed ([`crate::count_collapsed`]).
    pub collapsed_features: usize,
}

impl<'a, F: NmfFloat> ContrastiveProblem<'a, F> {
    /// A problem on target `x` and background `y` (same features, same order).
    ///
    /// # Errors
    /// [`ContrastiveError::FeatureCountMismatch`] if the row counts differ,
    /// [`ContrastiveError::BadAlpha`] if α is negative or not finite.
    pub fn new(x: &'a Data<F>, y: &'a Data<F>, alpha: F, loss: ContrastiveLoss, par: Par) -> Result<Self> {
        if x.nrows() != y.nrows() {
            return Err(ContrastiveError::FeatureCountMismatch {
                target: x.nrows(),
                background: y.nrows(),
            });
        }
        check_alpha(alpha)?;
        Ok(Self {
            x,
            y,
            alpha,
            loss,
            ws: LossWorkspace::new(par),
            bufs: std::array::from_fn(|_| Mat::new()),
            records: Vec::new(),
            target_mass: crate::solver::rows_with_mass(x),
        })
    }

    /// The target X (m×n_x).
    pub fn target(&self) -> &'a Data<F> {
        self.x
    }
    /// The background Y (m×n_y).
    pub fn background(&self) -> &'a Data<F> {
        self.y
    }
    /// α.
    pub fn alpha(&self) -> F {
        self.alpha
    }
    /// The loss.
    pub fn loss(&self) -> ContrastiveLoss {
        self.loss
    }
    /// The parallelism of the dense products.
    pub fn par(&self) -> Par {
        self.ws.par()
    }

    /// Collapsed features of a basis for this target ([`crate::count_collapsed`], with the
    /// target's row mass computed once).
    ///
    /// # Panics
    /// If `w` does not have one row per feature.
    pub fn collapsed_features(&self, w: MatRef<'_, F>) -> usize {
        crate::solver::collapsed_rows(w, &self.target_mass)
    }

    /// One record per call of [`Problem::evaluate`] so far, in order.
    pub fn records(&self) -> &[ContrastiveRecord<F>] {
        &self.records
    }
    /// Takes the records, leaving none.
    pub fn take_records(&mut self) -> Vec<ContrastiveRecord<F>> {
        std::mem::take(&mut self.records)
    }

    /// Checks the shapes of an iterate.
    ///
    /// # Errors
    /// [`nmf_core::NmfError::ShapeMismatch`].
    pub fn check_state(&self, s: &ContrastiveState<F>) -> Result<()> {
        let (m, k) = (self.x.nrows(), s.w.ncols());
        let checks = [
            ("W", s.w.nrows(), s.w.ncols(), m, k),
            ("H_target", s.h_target.nrows(), s.h_target.ncols(), k, self.x.ncols()),
            (
                "H_background",
                s.h_background.nrows(),
                s.h_background.ncols(),
                k,
                self.y.ncols(),
            ),
        ];
        for (what, r, c, er, ec) in checks {
            if r != er || c != ec {
                return Err(nmf_core::NmfError::ShapeMismatch {
                    what,
                    expected_rows: er,
                    expected_cols: ec,
                    got_rows: r,
                    got_cols: c,
                }
                .into());
            }
        }
        Ok(())
    }

    /// D(X | W H_X) and D(Y | W H_Y).
    pub fn terms(&mut self, s: &ContrastiveState<F>) -> ContrastiveTerms<F> {
        contrastive_terms(self.loss, self.x, self.y, s, &mut self.ws)
    }

    /// J = D_X − α D_Y.
    pub fn objective(&mut self, s: &ContrastiveState<F>) -> F {
        let t = self.terms(s);
        t.d_target - self.alpha * t.d_background
    }

    /// The paper's logged score, normalised per entry (SPEC §1.4–1.5):
    /// −(D_X/(m·n_x) − α·D_Y/(m·n_y)); larger is better. For Poisson this equals the
    /// reference code's `LL_X/(m N_X) − α LL_Y/(m N_Y)` up to a constant of the data.
    pub fn score(&mut self, s: &ContrastiveState<F>) -> F {
        let t = self.terms(s);
        let m = F::from_count(self.x.nrows());
        let (nx, ny) = (F::from_count(self.x.ncols()), F::from_count(self.y.ncols()));
        -(t.d_target / (m * nx) - self.alpha * t.d_background / (m * ny))
    }
}

/// Resizes `m` to r×c (zeros) unless it already has that shape.
pub(crate) fn ensure_shape<F: NmfFloat>(m: &mut Mat<F>, r: usize, c: usize) {
    if m.nrows() != r || m.ncols() != c {
        *m = Mat::zeros(r, c);
    }
}

pub(crate) fn check_alpha<F: NmfFloat>(alpha: F) -> Result<()> {
    if !alpha.is_finite() || alpha < F::zero() {
        return Err(ContrastiveError::BadAlpha(alpha.to_f64_lossy()));
    }
    Ok(())
}

pub(crate) fn contrastive_terms<F: NmfFloat>(
    loss: ContrastiveLoss,
    x: &Data<F>,
    y: &Data<F>,
    s: &ContrastiveState<F>,
    ws: &mut LossWorkspace<F>,
) -> ContrastiveTerms<F> {
    ContrastiveTerms {
        d_target: loss.value(x, s.w.as_ref(), s.h_target.as_ref(), ws),
        d_background: loss.value(y, s.w.as_ref(), s.h_background.as_ref(), ws),
    }
}

impl<F: NmfFloat> Problem<F> for ContrastiveProblem<'_, F> {
    type State = ContrastiveState<F>;

    fn evaluate(&mut self, s: &ContrastiveState<F>) -> nmf_core::Result<Evaluation<F>> {
        let t = self.terms(s);
        let objective = t.d_target - self.alpha * t.d_background;
        let relative_error = nmf_core::metrics::relative_error(self.x, s.w.as_ref(), s.h_target.as_ref(), self.par());
        let (m, k, nx, ny) = (s.w.nrows(), s.w.ncols(), s.h_target.ncols(), s.h_background.ncols());
        let [nwx, pwx, nwy, pwy, nhx, phx, nhy, phy] = &mut self.bufs;
        for (b, r, c) in [
            (&mut *nwx, m, k),
            (&mut *pwx, m, k),
            (&mut *nwy, m, k),
            (&mut *pwy, m, k),
        ] {
            ensure_shape(b, r, c);
        }
        for (b, r, c) in [
            (&mut *nhx, k, nx),
            (&mut *phx, k, nx),
            (&mut *nhy, k, ny),
            (&mut *phy, k, ny),
        ] {
            ensure_shape(b, r, c);
        }
        let floor = F::epsilon();
        let (w, hx, hy) = (s.w.as_ref(), s.h_target.as_ref(), s.h_background.as_ref());
        let l = self.loss;
        l.grad_parts(Block::W, self.x, w, hx, floor, nwx.as_mut(), pwx.as_mut(), &mut self.ws);
        l.grad_parts(Block::W, self.y, w, hy, floor, nwy.as_mut(), pwy.as_mut(), &mut self.ws);
        l.grad_parts(Block::H, self.x, w, hx, floor, nhx.as_mut(), phx.as_mut(), &mut self.ws);
        l.grad_parts(Block::H, self.y, w, hy, floor, nhy.as_mut(), phy.as_mut(), &mut self.ws);
        // ∇_W J = (pos_X − neg_X) − α (pos_Y − neg_Y) = (pos_X + α neg_Y) − (neg_X + α pos_Y).
        let a = self.alpha;
        let pos_w = Mat::from_fn(m, k, |i, j| pwx[(i, j)] + a * nwy[(i, j)]);
        let neg_w = Mat::from_fn(m, k, |i, j| nwx[(i, j)] + a * pwy[(i, j)]);
        let sq = projected_gradient_sq_norm(w, pos_w.as_ref(), neg_w.as_ref())
            + projected_gradient_sq_norm(hx, phx.as_ref(), nhx.as_ref())
            + projected_gradient_sq_norm(hy, phy.as_ref(), nhy.as_ref());
        self.records.push(ContrastiveRecord {
            d_target: t.d_target,
            d_background: t.d_background,
            objective,
            collapsed_features: crate::solver::collapsed_rows(w, &self.target_mass),
        });
        Ok(Evaluation {
            objective,
            relative_error,
            kkt_norm: sq.sqrt(),
        })
    }
}

/// Lets an [`nmf_core::Executor`] drive a borrowed problem, so that its
/// [`records`](ContrastiveProblem::records) can be read after the run.
impl<F: NmfFloat> Problem<F> for &mut ContrastiveProblem<'_, F> {
    type State = ContrastiveState<F>;

    fn evaluate(&mut self, s: &ContrastiveState<F>) -> nmf_core::Result<Evaluation<F>> {
        (**self).evaluate(s)
    }
}

/// A [`ContrastiveProblem`] or a mutable borrow of one: what the bcNMF solvers accept.
pub trait AsContrastiveProblem<F: NmfFloat>: Problem<F, State = ContrastiveState<F>> {
    /// The problem.
    fn contrastive(&self) -> &ContrastiveProblem<'_, F>;
}

impl<F: NmfFloat> AsContrastiveProblem<F> for ContrastiveProblem<'_, F> {
    fn contrastive(&self) -> &ContrastiveProblem<'_, F> {
        self
    }
}

impl<F: NmfFloat> AsContrastiveProblem<F> for &mut ContrastiveProblem<'_, F> {
    fn contrastive(&self) -> &ContrastiveProblem<'_, F> {
        self
    }
}
