//! Multiplicative (majorization–minimization) updates for bcNMF (SPEC §1.3–1.5).

use faer::Mat;
use nmf_core::{Block, Data, IterInfo, LossWorkspace, NmfError, NmfFloat, Result, Solver};

use crate::problem::{
    contrastive_terms, ensure_shape, AsContrastiveProblem, ContrastiveLoss, ContrastiveProblem, ContrastiveState,
};

/// How the updates guard against division by zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EpsilonMode {
    /// Denominators floored at the smallest positive normal number, W H floored at the
    /// machine epsilon where it is divided by: the same conventions as
    /// `nmf_solvers::Mu` (`Epsilon::Safe`), so α = 0 reproduces plain MU to round-off.
    #[default]
    Safe,
    /// The reference code's conventions (SPEC §1.3–1.4): ε = 1e-10 (SSE) / 1e-16 (Poisson)
    /// added to every denominator; Poisson ratios clamped to ≥ ε. Where the reference divides
    /// by `W H + ε`, W H is floored at ε instead (identical whenever W H ≫ ε).
    Reference,
}

/// A row of W whose largest entry is at most this fraction of W's largest entry counts as a
/// collapsed feature (SPEC §1.12).
pub const COLLAPSE_RELATIVE: f64 = 1e-8;

/// bcNMF multiplicative updates, Gauss–Seidel order H_X → H_Y → W:
///
/// ```text
/// H_X ← H_X ⊙ ρ_X^γ,  ρ_X = neg_H(D_X) ⊘ pos_H(D_X)           (plain MU for D(X|W H_X))
/// H_Y ← H_Y ⊙ ρ_Y^γ,  ρ_Y = neg_H(D_Y) ⊘ pos_H(D_Y)           (plain MU for D(Y|W H_Y): it *decreases* D_Y)
/// W   ← W ⊙ [ (neg_W(D_X) + α pos_W(D_Y)) ⊘ (pos_W(D_X) + α neg_W(D_Y)) ]^γ
/// ```
///
/// where `∇D = pos − neg` are the gradient parts of [`nmf_core::Loss::grad_parts`]:
/// squared error gives the Gram-form rules of SPEC §1.3, Poisson those of §1.4 (ratios only
/// at the nonzeros of sparse data, with W H recomputed after the H steps). Each block step is
/// an MM step (Lemmas 1–3) and so never increases its own objective (D_X for H_X, D_Y for
/// H_Y, J for W); a damping exponent γ ∈ (0, 1] keeps that (SPEC §1.5).
///
/// **Stopping.** J is not monotone (the H_Y step raises it). Every `check_every` iterations
/// the solver evaluates D_X and D_Y and reports [`IterInfo::converged`] when the relative
/// change of *each* since the previous check is below `tol` (0 disables: fixed iterations).
///
/// **Collapse guard.** Poisson bcNMF is unbounded below: rows of W for features with more
/// α-weighted background than target mass go to 0 (SPEC §1.2, §1.12). An optional floor
/// `W ≥ w_floor` bounds J but does not stop the runaway (J still falls to the floor's
/// bound); the optional [`ContrastiveMu::collapse_guard`] stops it.
/// [`ContrastiveMu::collapsed_features`] counts the collapsed features ([`count_collapsed`]).
#[derive(Debug, Clone)]
pub struct ContrastiveMu<F: NmfFloat> {
    damping: Option<F>,
    epsilon: EpsilonMode,
    w_floor: F,
    normalize_columns: bool,
    tol: F,
    check_every: usize,
    iter: usize,
    last_terms: Option<(F, F)>,
    collapsed: usize,
    guard: F,
    guard_tripped: bool,
    ws: Option<Workspace<F>>,
}

#[derive(Debug, Clone)]
struct Workspace<F> {
    loss: LossWorkspace<F>,
    neg_hx: Mat<F>,
    pos_hx: Mat<F>,
    neg_hy: Mat<F>,
    pos_hy: Mat<F>,
    neg_wx: Mat<F>,
    pos_wx: Mat<F>,
    neg_wy: Mat<F>,
    pos_wy: Mat<F>,
}

impl<F: NmfFloat> Default for ContrastiveMu<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: NmfFloat> ContrastiveMu<F> {
    /// The default solver: loss-dependent damping, safe ε, no floor, no normalisation, no
    /// convergence test (tol = 0).
    pub fn new() -> Self {
        Self {
            damping: None,
            epsilon: EpsilonMode::Safe,
            w_floor: F::zero(),
            normalize_columns: false,
            tol: F::zero(),
            check_every: 10,
            iter: 0,
            last_terms: None,
            collapsed: 0,
            guard: F::zero(),
            guard_tripped: false,
            ws: None,
        }
    }
    /// The damping exponent γ ∈ (0, 1] (default: 1 for squared error, 0.5 for Poisson).
    ///
    /// # Errors
    /// [`crate::ContrastiveError::BadDamping`].
    pub fn damping(mut self, gamma: F) -> crate::Result<Self> {
        check_damping(gamma)?;
        self.damping = Some(gamma);
        Ok(self)
    }
    /// The ε conventions.
    pub fn epsilon(mut self, mode: EpsilonMode) -> Self {
        self.epsilon = mode;
        self
    }
    /// A floor applied to W after each W step (0 = off).
    ///
    /// # Errors
    /// [`crate::ContrastiveError::BadParam`] if negative or not finite.
    pub fn w_floor(mut self, floor: F) -> crate::Result<Self> {
        if !floor.is_finite() || floor < F::zero() {
            return Err(crate::ContrastiveError::BadParam {
                name: "w_floor",
                value: floor.to_f64_lossy(),
                expected: "finite and >= 0",
            });
        }
        self.w_floor = floor;
        Ok(self)
    }
    /// Objective-neutral normalisation of W's columns (unit Euclidean norm, scale moved into
    /// the rows of both H_X and H_Y) after every iteration.
    pub fn normalize_columns(mut self, on: bool) -> Self {
        self.normalize_columns = on;
        self
    }
    /// The convergence test: both relative changes of D_X and D_Y below `tol` between two
    /// checks `check_every` iterations apart (`tol` = 0: never).
    ///
    /// # Errors
    /// [`crate::ContrastiveError::BadParam`].
    pub fn stopping(mut self, tol: F, check_every: usize) -> crate::Result<Self> {
        if !tol.is_finite() || tol < F::zero() {
            return Err(crate::ContrastiveError::BadParam {
                name: "tol",
                value: tol.to_f64_lossy(),
                expected: "finite and >= 0",
            });
        }
        if check_every == 0 {
            return Err(crate::ContrastiveError::BadParam {
                name: "check_every",
                value: 0.0,
                expected: "at least 1",
            });
        }
        self.tol = tol;
        self.check_every = check_every;
        Ok(self)
    }
    /// The damping in force for `loss`.
    pub fn damping_for(&self, loss: ContrastiveLoss) -> F {
        self.damping.unwrap_or_else(|| loss.default_damping())
    }
    /// Rows of W counted as collapsed after the last iteration (see the type docs).
    pub fn collapsed_features(&self) -> usize {
        self.collapsed
    }
    /// The collapse guard (SPEC §1.12; 0 = off, the default). At every check (`check_every`
    /// iterations, see [`ContrastiveMu::stopping`]) the run stops, reporting
    /// [`IterInfo::converged`] with [`ContrastiveMu::collapse_guard_tripped`] set, when J fell
    /// since the previous check while D_X **rose** by more than `threshold` (relative).
    ///
    /// This is the SPEC's "J falls faster than a threshold" made specific: in the Poisson
    /// runaway J falls without bound because rows of W the target needs go to zero, so D_X
    /// and D_Y both grow (D_Y faster, by α). A healthy run also sees J fall fast, early, but
    /// with D_X falling too; bcNMF's deliberate trade of target fit for background misfit
    /// moves D_X by a few per cent at most. See [`crate::ContrastiveStopReason::CollapseGuard`].
    ///
    /// # Errors
    /// [`crate::ContrastiveError::BadParam`] if negative or not finite.
    pub fn collapse_guard(mut self, threshold: F) -> crate::Result<Self> {
        if !threshold.is_finite() || threshold < F::zero() {
            return Err(crate::ContrastiveError::BadParam {
                name: "collapse_guard",
                value: threshold.to_f64_lossy(),
                expected: "finite and >= 0",
            });
        }
        self.guard = threshold;
        Ok(self)
    }
    /// Whether the collapse guard stopped the last run.
    pub fn collapse_guard_tripped(&self) -> bool {
        self.guard_tripped
    }
    /// D_X and D_Y at the last convergence check, if any.
    pub fn last_terms(&self) -> Option<(F, F)> {
        self.last_terms
    }

    pub(crate) fn rule(&self, loss: ContrastiveLoss) -> Rule<F> {
        Rule::new(self.damping_for(loss), self.epsilon, loss)
    }

    /// Performs only the H_X step (D_X never increases).
    ///
    /// # Errors
    /// If called before [`Solver::init`].
    pub fn step_target(&mut self, p: &ContrastiveProblem<'_, F>, s: &mut ContrastiveState<F>) -> Result<()> {
        let rule = self.rule(p.loss());
        let ws = self.ws.as_mut().ok_or_else(not_init)?;
        h_step(
            p.loss(),
            p.target(),
            s.w.as_ref(),
            &mut s.h_target,
            (&mut ws.neg_hx, &mut ws.pos_hx),
            &mut ws.loss,
            &rule,
        );
        Ok(())
    }
    /// Performs only the H_Y step (D_Y never increases).
    ///
    /// # Errors
    /// If called before [`Solver::init`].
    pub fn step_background(&mut self, p: &ContrastiveProblem<'_, F>, s: &mut ContrastiveState<F>) -> Result<()> {
        let rule = self.rule(p.loss());
        let ws = self.ws.as_mut().ok_or_else(not_init)?;
        let bufs = (&mut ws.neg_hy, &mut ws.pos_hy);
        h_step(
            p.loss(),
            p.background(),
            s.w.as_ref(),
            &mut s.h_background,
            bufs,
            &mut ws.loss,
            &rule,
        );
        Ok(())
    }
    /// Performs only the W step (J never increases), then applies the floor.
    ///
    /// # Errors
    /// If called before [`Solver::init`].
    pub fn step_basis(&mut self, p: &ContrastiveProblem<'_, F>, s: &mut ContrastiveState<F>) -> Result<()> {
        let rule = self.rule(p.loss());
        let ws = self.ws.as_mut().ok_or_else(not_init)?;
        let (loss, alpha) = (p.loss(), p.alpha());
        let (w, hx, hy) = (s.w.as_ref(), s.h_target.as_ref(), s.h_background.as_ref());
        loss.grad_parts(
            Block::W,
            p.target(),
            w,
            hx,
            rule.y_floor,
            ws.neg_wx.as_mut(),
            ws.pos_wx.as_mut(),
            &mut ws.loss,
        );
        if alpha != F::zero() {
            let (nwy, pwy) = (ws.neg_wy.as_mut(), ws.pos_wy.as_mut());
            loss.grad_parts(Block::W, p.background(), w, hy, rule.y_floor, nwy, pwy, &mut ws.loss);
        }
        let parts = [&ws.neg_wx, &ws.pos_wx, &ws.neg_wy, &ws.pos_wy];
        w_update(&mut s.w, parts, alpha, &rule, self.w_floor);
        Ok(())
    }

    /// Resets the per-run record (iteration count, collapse count, last D_X and D_Y).
    pub(crate) fn begin(&mut self, p: &ContrastiveProblem<'_, F>, s: &ContrastiveState<F>, lws: &mut LossWorkspace<F>) {
        self.iter = 0;
        self.collapsed = p.collapsed_features(s.w.as_ref());
        self.guard_tripped = false;
        self.last_terms = if self.tol > F::zero() || self.guard > F::zero() {
            let t = contrastive_terms(p.loss(), p.target(), p.background(), s, lws);
            Some((t.d_target, t.d_background))
        } else {
            None
        };
    }

    /// What follows the three block steps of an iteration: normalisation, the collapse
    /// count and the convergence test. Shared with [`crate::ContrastiveMinibatch`].
    pub(crate) fn end_iter(
        &mut self,
        p: &ContrastiveProblem<'_, F>,
        s: &mut ContrastiveState<F>,
        lws: &mut LossWorkspace<F>,
    ) -> IterInfo<F> {
        if self.normalize_columns {
            s.normalize_columns();
        }
        self.iter += 1;
        self.collapsed = p.collapsed_features(s.w.as_ref());
        let mut info = IterInfo::none();
        let watching = self.tol > F::zero() || self.guard > F::zero();
        if watching && self.iter % self.check_every == 0 {
            let t = contrastive_terms(p.loss(), p.target(), p.background(), s, lws);
            if let Some((dx, dy)) = self.last_terms {
                let rel = |old: F, new: F| {
                    let scale = old.abs().max(F::min_positive_value());
                    (old - new).abs() / scale
                };
                let a = p.alpha();
                let j_fell = t.d_target - a * t.d_background < dx - a * dy;
                // J falling *because* the target fit gets worse: the runaway, not a transient.
                if self.guard > F::zero() && j_fell && t.d_target - dx > self.guard * dx {
                    self.guard_tripped = true;
                    info.converged = true;
                } else if self.tol > F::zero() {
                    info.converged = rel(dx, t.d_target) < self.tol && rel(dy, t.d_background) < self.tol;
                }
            }
            self.last_terms = Some((t.d_target, t.d_background));
        }
        info
    }

    pub(crate) fn floor(&self) -> F {
        self.w_floor
    }
}

/// The W step from its gradient parts, `[neg_W(D_X), pos_W(D_X), neg_W(D_Y), pos_W(D_Y)]`:
/// `W ← max(W ⊙ ρ^γ, floor)`, `ρ = (neg_X + α pos_Y) ⊘ (pos_X + α neg_Y)`.
pub(crate) fn w_update<F: NmfFloat>(w: &mut Mat<F>, parts: [&Mat<F>; 4], alpha: F, rule: &Rule<F>, floor: F) {
    let [neg_wx, pos_wx, neg_wy, pos_wy] = parts;
    for j in 0..w.ncols() {
        for i in 0..w.nrows() {
            let (mut num, mut den) = (neg_wx[(i, j)], pos_wx[(i, j)]);
            if alpha != F::zero() {
                num += alpha * pos_wy[(i, j)];
                den += alpha * neg_wy[(i, j)];
            }
            let v = w[(i, j)] * rule.ratio(num, den);
            w[(i, j)] = v.max(floor);
        }
    }
}

/// [`ContrastiveProblem::check_state`] as a core error (what [`Solver::init`] returns).
pub(crate) fn check_state_core<F: NmfFloat>(p: &ContrastiveProblem<'_, F>, s: &ContrastiveState<F>) -> Result<()> {
    p.check_state(s).map_err(|e| match e {
        crate::ContrastiveError::Core(c) => c,
        other => NmfError::Unsupported(other.to_string()),
    })
}

fn not_init() -> NmfError {
    NmfError::Unsupported("ContrastiveMu used before init".into())
}

pub(crate) fn check_damping<F: NmfFloat>(gamma: F) -> crate::Result<()> {
    if !(gamma > F::zero() && gamma <= F::one()) {
        return Err(crate::ContrastiveError::BadDamping(gamma.to_f64_lossy()));
    }
    Ok(())
}

/// The ε conventions and damping of one MU ratio, shared by every update of the crate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule<F> {
    gamma: F,
    add: F,
    den_floor: F,
    pub(crate) y_floor: F,
    ratio_floor: F,
}

impl<F: NmfFloat> Rule<F> {
    pub(crate) fn new(gamma: F, mode: EpsilonMode, loss: ContrastiveLoss) -> Self {
        match mode {
            EpsilonMode::Safe => Rule {
                gamma,
                add: F::zero(),
                den_floor: F::min_positive_value(),
                y_floor: F::epsilon(),
                ratio_floor: F::zero(),
            },
            EpsilonMode::Reference => {
                let eps = loss.reference_epsilon();
                Rule {
                    gamma,
                    add: eps,
                    den_floor: F::zero(),
                    y_floor: eps,
                    ratio_floor: if loss == ContrastiveLoss::Poisson {
                        eps
                    } else {
                        F::zero()
                    },
                }
            }
        }
    }

    #[inline]
    pub(crate) fn ratio(&self, num: F, den: F) -> F {
        let mut r = (num / (den + self.add).max(self.den_floor)).max(self.ratio_floor);
        if self.gamma != F::one() {
            r = r.powf(self.gamma);
        }
        r
    }
}

/// One MU step of H for D(data | W H) with W fixed: the H_X / H_Y step of bcNMF, and the
/// Poisson transform.
pub(crate) fn h_step<F: NmfFloat>(
    loss: ContrastiveLoss,
    data: &Data<F>,
    w: faer::MatRef<'_, F>,
    h: &mut Mat<F>,
    (neg, pos): (&mut Mat<F>, &mut Mat<F>),
    lws: &mut LossWorkspace<F>,
    rule: &Rule<F>,
) {
    loss.grad_parts(
        Block::H,
        data,
        w,
        h.as_ref(),
        rule.y_floor,
        neg.as_mut(),
        pos.as_mut(),
        lws,
    );
    for j in 0..h.ncols() {
        for i in 0..h.nrows() {
            h[(i, j)] *= rule.ratio(neg[(i, j)], pos[(i, j)]);
        }
    }
}

/// Collapsed features (SPEC §1.12): rows of `w` whose largest entry is ≤
/// [`COLLAPSE_RELATIVE`] × the largest entry of `w`, among the features in which the target
/// has mass. Features with no target mass are left out: their row of W goes to zero in any
/// NMF, contrastive or not, and says nothing about the Poisson runaway (where the fit
/// sacrifices features the target does express).
///
/// # Panics
/// If `w` does not have one row per feature of `target`.
pub fn count_collapsed<F: NmfFloat>(w: faer::MatRef<'_, F>, target: &Data<F>) -> usize {
    collapsed_rows(w, &rows_with_mass(target))
}

/// Which rows (features) of `x` have a nonzero observed entry.
pub(crate) fn rows_with_mass<F: NmfFloat>(x: &Data<F>) -> Vec<bool> {
    let mut mass = vec![false; x.nrows()];
    match x.matrix() {
        nmf_core::Matrix::Dense(d) => {
            for j in 0..d.ncols() {
                for (i, m) in mass.iter_mut().enumerate() {
                    *m |= d[(i, j)] != F::zero();
                }
            }
        }
        nmf_core::Matrix::Sparse(sp) => {
            for &i in sp.row_idx() {
                mass[i] = true;
            }
        }
    }
    mass
}

pub(crate) fn collapsed_rows<F: NmfFloat>(w: faer::MatRef<'_, F>, has_mass: &[bool]) -> usize {
    assert_eq!(w.nrows(), has_mass.len(), "W must have one row per feature");
    let mut top = F::zero();
    for j in 0..w.ncols() {
        for i in 0..w.nrows() {
            top = top.max(w[(i, j)]);
        }
    }
    let thr = top * F::lit(COLLAPSE_RELATIVE);
    (0..w.nrows())
        .filter(|&i| has_mass[i] && (0..w.ncols()).all(|j| w[(i, j)] <= thr))
        .count()
}

impl<F: NmfFloat, P: AsContrastiveProblem<F>> Solver<F, P> for ContrastiveMu<F> {
    fn name(&self) -> String {
        "bcnmf-mu".into()
    }

    fn init(&mut self, p: &P, s: &mut ContrastiveState<F>) -> Result<()> {
        let p = p.contrastive();
        check_state_core(p, s)?;
        let (m, k, nx, ny) = (s.w.nrows(), s.w.ncols(), s.h_target.ncols(), s.h_background.ncols());
        let mut ws = Workspace {
            loss: LossWorkspace::new(p.par()),
            neg_hx: Mat::new(),
            pos_hx: Mat::new(),
            neg_hy: Mat::new(),
            pos_hy: Mat::new(),
            neg_wx: Mat::new(),
            pos_wx: Mat::new(),
            neg_wy: Mat::new(),
            pos_wy: Mat::new(),
        };
        ensure_shape(&mut ws.neg_hx, k, nx);
        ensure_shape(&mut ws.pos_hx, k, nx);
        ensure_shape(&mut ws.neg_hy, k, ny);
        ensure_shape(&mut ws.pos_hy, k, ny);
        for b in [&mut ws.neg_wx, &mut ws.pos_wx, &mut ws.neg_wy, &mut ws.pos_wy] {
            ensure_shape(b, m, k);
        }
        self.begin(p, s, &mut ws.loss);
        self.ws = Some(ws);
        Ok(())
    }

    fn next_iter(&mut self, p: &P, s: &mut ContrastiveState<F>) -> Result<IterInfo<F>> {
        let p = p.contrastive();
        self.step_target(p, s)?;
        self.step_background(p, s)?;
        self.step_basis(p, s)?;
        let mut ws = self.ws.take().ok_or_else(not_init)?;
        let info = self.end_iter(p, s, &mut ws.loss);
        self.ws = Some(ws);
        Ok(info)
    }
}

/// Lets an [`nmf_core::Executor`] drive a borrowed solver, so that its state (collapse count,
/// guard) can be read after the run.
impl<F: NmfFloat, P: AsContrastiveProblem<F>> Solver<F, P> for &mut ContrastiveMu<F> {
    fn name(&self) -> String {
        <ContrastiveMu<F> as Solver<F, P>>::name(self)
    }
    fn init(&mut self, p: &P, s: &mut ContrastiveState<F>) -> Result<()> {
        <ContrastiveMu<F> as Solver<F, P>>::init(self, p, s)
    }
    fn next_iter(&mut self, p: &P, s: &mut ContrastiveState<F>) -> Result<IterInfo<F>> {
        <ContrastiveMu<F> as Solver<F, P>>::next_iter(self, p, s)
    }
}
