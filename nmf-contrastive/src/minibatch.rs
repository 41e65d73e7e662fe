//! Minibatch training for large inputs (SPEC §1.6): the products W·H are formed one batch of
//! samples at a time, so their memory is O(m·batch), never m×n.
//!
//! One epoch: for each batch of target columns (a seeded random permutation), one H_X
//! multiplicative step with the current W, then W·H recomputed for the batch **after** the
//! update (the reference code re-uses the stale product; Lemma 3 needs the fresh one) and
//! the parts of the W update accumulated; the same over the background with H_Y; then one W
//! update. W is frozen during the epoch and the columns of H are independent, so an epoch is
//! exactly one full-batch [`ContrastiveMu`] iteration (up to round-off), whatever the batch
//! size: minibatching bounds memory, it is not a stochastic approximation.

use faer::prelude::{IntoConst, ReborrowMut};
use faer::{Accum, Mat, MatMut, MatRef};
use nmf_core::data::CscRef;
use nmf_core::linalg::{csc_t_times, csc_times, gemm, wh_at_pattern};
use nmf_core::{Data, IterInfo, LossWorkspace, Matrix, NmfError, NmfFloat, Result, Solver};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::problem::{AsContrastiveProblem, ContrastiveLoss, ContrastiveProblem, ContrastiveState};
use crate::solver::{check_state_core, w_update, ContrastiveMu, Rule};

/// bcNMF by minibatch epochs: the updates, damping, ε conventions, W floor, normalisation,
/// stopping rule and collapse count of the wrapped [`ContrastiveMu`], with the products
/// formed `batch_size` samples at a time (see the module docs). One
/// [`Solver::next_iter`] is one epoch.
///
/// Squared error accumulates `X_b H_bᵀ` and `H_b H_bᵀ` (k×k) per batch; Poisson accumulates
/// `(X_b ⊘ W H_b) H_bᵀ` (ratios only at the nonzeros of sparse data) and the row sums of
/// H_b. Every buffer is sized in [`Solver::init`]. Observation masks are not supported.
#[derive(Debug, Clone)]
pub struct ContrastiveMinibatch<F: NmfFloat> {
    mu: ContrastiveMu<F>,
    batch_size: usize,
    seed: u64,
    ws: Option<Workspace<F>>,
}

#[derive(Debug, Clone)]
struct Workspace<F> {
    rng: ChaCha8Rng,
    loss: LossWorkspace<F>,
    perm_x: Vec<usize>,
    perm_y: Vec<usize>,
    /// The batch's columns of H, and the numerator / denominator of their update (k×b).
    hb: Mat<F>,
    neg_h: Mat<F>,
    pos_h: Mat<F>,
    /// b×k: the transposed output of the sparse products.
    tmp_bk: Mat<F>,
    /// Dense batch X_b (m×b; dense data only) and W·H_b or the ratios (m×b; dense Poisson).
    xb: Mat<F>,
    yb: Mat<F>,
    /// Sparse batch: pattern, values, and W·H_b / ratios at the nonzeros.
    col_ptr: Vec<usize>,
    row_idx: Vec<usize>,
    vals: Vec<F>,
    ratios: Vec<F>,
    /// Wᵀ (k×m), WᵀW (k×k), column sums of W (Poisson H denominator).
    wt: Mat<F>,
    gram_w: Mat<F>,
    colsum_w: Vec<F>,
    /// m×k scratch for the sparse W-part product (it overwrites its output).
    tmp_mk: Mat<F>,
    /// Accumulated W parts: [neg_W(D_X), pos_W(D_X), neg_W(D_Y), pos_W(D_Y)].
    parts: [Mat<F>; 4],
    /// Squared error: Σ H_b H_bᵀ per input; Poisson: Σ rowsum(H_b) in column 0.
    hh: [Mat<F>; 2],
    /// Which passes ran since the last W update (target, background).
    fresh: [bool; 2],
}

impl<F: NmfFloat> ContrastiveMinibatch<F> {
    /// Minibatch epochs with the settings of `mu`, `batch_size` samples per batch and the
    /// permutations drawn from `ChaCha8Rng::seed_from_u64(seed)` (reset at each
    /// [`Solver::init`]).
    ///
    /// # Errors
    /// [`crate::ContrastiveError::BadParam`] if `batch_size` is 0.
    pub fn new(mu: ContrastiveMu<F>, batch_size: usize, seed: u64) -> crate::Result<Self> {
        if batch_size == 0 {
            return Err(crate::ContrastiveError::BadParam {
                name: "batch_size",
                value: 0.0,
                expected: "at least 1",
            });
        }
        Ok(Self {
            mu,
            batch_size,
            seed,
            ws: None,
        })
    }
    /// Samples per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }
    /// The wrapped full-batch settings.
    pub fn settings(&self) -> &ContrastiveMu<F> {
        &self.mu
    }
    /// Rows of W counted as collapsed after the last epoch ([`crate::count_collapsed`]).
    pub fn collapsed_features(&self) -> usize {
        self.mu.collapsed_features()
    }

    /// The H_X pass of an epoch: one H_X step per target batch with the current W (D_X never
    /// increases), accumulating the target's W parts.
    ///
    /// # Errors
    /// If called before [`Solver::init`].
    pub fn step_target(&mut self, p: &ContrastiveProblem<'_, F>, s: &mut ContrastiveState<F>) -> Result<()> {
        let rule = self.mu.rule(p.loss());
        let ws = self.ws.as_mut().ok_or_else(not_init)?;
        ws.prepare_w(p.loss(), s.w.as_ref());
        ws.pass(
            0,
            p.loss(),
            p.target(),
            s.w.as_ref(),
            &mut s.h_target,
            self.batch_size,
            &rule,
        );
        ws.fresh[0] = true;
        Ok(())
    }

    /// The H_Y pass of an epoch (D_Y never increases), accumulating the background's W parts.
    ///
    /// # Errors
    /// If called before [`Solver::init`].
    pub fn step_background(&mut self, p: &ContrastiveProblem<'_, F>, s: &mut ContrastiveState<F>) -> Result<()> {
        let rule = self.mu.rule(p.loss());
        let ws = self.ws.as_mut().ok_or_else(not_init)?;
        ws.prepare_w(p.loss(), s.w.as_ref());
        ws.pass(
            1,
            p.loss(),
            p.background(),
            s.w.as_ref(),
            &mut s.h_background,
            self.batch_size,
            &rule,
        );
        ws.fresh[1] = true;
        Ok(())
    }

    /// The W update of an epoch from the parts accumulated by the two passes (J never
    /// increases), then the floor.
    ///
    /// # Errors
    /// If called before [`Solver::init`], or unless both passes ran since the last W update
    /// (the accumulated parts would be stale).
    pub fn step_basis(&mut self, p: &ContrastiveProblem<'_, F>, s: &mut ContrastiveState<F>) -> Result<()> {
        let rule = self.mu.rule(p.loss());
        let floor = self.mu.floor();
        let ws = self.ws.as_mut().ok_or_else(not_init)?;
        if ws.fresh != [true, true] {
            return Err(NmfError::Unsupported(
                "ContrastiveMinibatch::step_basis needs a target and a background pass since the last W update".into(),
            ));
        }
        let [nwx, pwx, nwy, pwy] = &mut ws.parts;
        for (pos, hh) in [(&mut *pwx, &ws.hh[0]), (&mut *pwy, &ws.hh[1])] {
            match p.loss() {
                // pos_W = W · Σ_b H_b H_bᵀ.
                ContrastiveLoss::SquaredError => gemm(
                    pos.as_mut(),
                    Accum::Replace,
                    s.w.as_ref(),
                    hh.as_ref(),
                    F::one(),
                    p.par(),
                ),
                // pos_W = 1 · rowsum(H)ᵀ.
                ContrastiveLoss::Poisson => {
                    for l in 0..pos.ncols() {
                        pos.col_mut(l).fill(hh[(l, 0)]);
                    }
                }
            }
        }
        w_update(&mut s.w, [&*nwx, &*pwx, &*nwy, &*pwy], p.alpha(), &rule, floor);
        ws.fresh = [false, false];
        Ok(())
    }
}

fn not_init() -> NmfError {
    NmfError::Unsupported("ContrastiveMinibatch used before init".into())
}

/// The batch of columns being processed, gathered into the workspace.
#[derive(Clone, Copy)]
enum Batch<'a, F> {
    Dense(MatRef<'a, F>),
    Sparse(CscRef<'a, F>),
}

impl<F: NmfFloat> Workspace<F> {
    /// What depends on W only, once per pass (W is frozen during the epoch).
    fn prepare_w(&mut self, loss: ContrastiveLoss, w: MatRef<'_, F>) {
        self.wt.copy_from(w.transpose());
        match loss {
            ContrastiveLoss::SquaredError => gemm(
                self.gram_w.as_mut(),
                Accum::Replace,
                w.transpose(),
                w,
                F::one(),
                self.loss.par(),
            ),
            ContrastiveLoss::Poisson => nmf_core::linalg::col_sums(w, &mut self.colsum_w),
        }
    }

    /// One pass over the columns of `data` / `h` in batches; `side` 0 = target, 1 = background.
    #[allow(clippy::too_many_arguments)]
    fn pass(
        &mut self,
        side: usize,
        loss: ContrastiveLoss,
        data: &Data<F>,
        w: MatRef<'_, F>,
        h: &mut Mat<F>,
        batch: usize,
        rule: &Rule<F>,
    ) {
        let par = self.loss.par();
        let perm = if side == 0 { &mut self.perm_x } else { &mut self.perm_y };
        perm.shuffle(&mut self.rng);
        let (neg_w, hh) = (&mut self.parts[2 * side], &mut self.hh[side]);
        neg_w.fill(F::zero());
        hh.fill(F::zero());
        let n = h.ncols();
        let mut b0 = 0;
        while b0 < n {
            let cols = &perm[b0..(b0 + batch).min(n)];
            let c = cols.len();
            b0 += c;
            // Gather X_b and H_b.
            let xb = match data.matrix() {
                Matrix::Dense(d) => {
                    for (jj, &j) in cols.iter().enumerate() {
                        self.xb.col_mut(jj).copy_from(d.col(j));
                    }
                    Batch::Dense(self.xb.as_ref().subcols(0, c))
                }
                Matrix::Sparse(sp) => {
                    self.col_ptr.clear();
                    self.row_idx.clear();
                    self.vals.clear();
                    self.col_ptr.push(0);
                    for &j in cols {
                        let r = sp.col_ptr()[j]..sp.col_ptr()[j + 1];
                        self.row_idx.extend_from_slice(&sp.row_idx()[r.clone()]);
                        self.vals.extend_from_slice(&sp.values()[r]);
                        self.col_ptr.push(self.row_idx.len());
                    }
                    self.ratios.resize(self.vals.len(), F::zero());
                    Batch::Sparse(CscRef {
                        nrows: sp.nrows(),
                        ncols: c,
                        col_ptr: &self.col_ptr,
                        row_idx: &self.row_idx,
                        values: &self.vals,
                    })
                }
            };
            for (jj, &j) in cols.iter().enumerate() {
                self.hb.col_mut(jj).copy_from(h.col(j));
            }
            let mut hb = self.hb.as_mut().subcols_mut(0, c);
            let (mut neg, mut pos) = (
                self.neg_h.as_mut().subcols_mut(0, c),
                self.pos_h.as_mut().subcols_mut(0, c),
            );
            let yb_cols = c.min(self.yb.ncols());
            let mut yb = self.yb.as_mut().subcols_mut(0, yb_cols);
            let mut tmp_bk = self.tmp_bk.as_mut().subrows_mut(0, c);
            // The H step: neg = Wᵀ A, A = X_b (squared error) or X_b ⊘ W H_b (Poisson).
            match loss {
                ContrastiveLoss::SquaredError => {
                    wt_times(xb, w, neg.rb_mut(), tmp_bk.rb_mut(), par);
                    gemm(
                        pos.rb_mut(),
                        Accum::Replace,
                        self.gram_w.as_ref(),
                        hb.as_ref(),
                        F::one(),
                        par,
                    );
                }
                ContrastiveLoss::Poisson => {
                    let a = poisson_ratios(
                        xb,
                        w,
                        self.wt.as_ref(),
                        hb.as_ref(),
                        yb.rb_mut(),
                        &mut self.ratios,
                        rule,
                        par,
                    );
                    wt_times(a, w, neg.rb_mut(), tmp_bk.rb_mut(), par);
                    for jj in 0..c {
                        for l in 0..pos.nrows() {
                            pos[(l, jj)] = self.colsum_w[l];
                        }
                    }
                }
            }
            for jj in 0..c {
                for l in 0..hb.nrows() {
                    hb[(l, jj)] *= rule.ratio(neg[(l, jj)], pos[(l, jj)]);
                }
            }
            for (jj, &j) in cols.iter().enumerate() {
                h.col_mut(j).copy_from(hb.as_ref().col(jj));
            }
            // The W parts with the updated H_b (and, for Poisson, W H_b recomputed).
            let a = match loss {
                ContrastiveLoss::SquaredError => {
                    gemm(
                        hh.as_mut(),
                        Accum::Add,
                        hb.as_ref(),
                        hb.as_ref().transpose(),
                        F::one(),
                        par,
                    );
                    xb
                }
                ContrastiveLoss::Poisson => {
                    for l in 0..hb.nrows() {
                        let mut sum = F::zero();
                        for jj in 0..c {
                            sum += hb[(l, jj)];
                        }
                        hh[(l, 0)] += sum;
                    }
                    poisson_ratios(
                        xb,
                        w,
                        self.wt.as_ref(),
                        hb.as_ref(),
                        yb.rb_mut(),
                        &mut self.ratios,
                        rule,
                        par,
                    )
                }
            };
            match a {
                Batch::Dense(a) => gemm(neg_w.as_mut(), Accum::Add, a, hb.as_ref().transpose(), F::one(), par),
                Batch::Sparse(a) => {
                    csc_times(a, hb.as_ref().transpose(), self.tmp_mk.as_mut());
                    *neg_w += &self.tmp_mk;
                }
            }
        }
    }
}

/// `out (k×b) ← Wᵀ A` for a dense or sparse batch A (m×b).
fn wt_times<F: NmfFloat>(a: Batch<'_, F>, w: MatRef<'_, F>, out: MatMut<'_, F>, tmp_bk: MatMut<'_, F>, par: faer::Par) {
    match a {
        Batch::Dense(a) => gemm(out, Accum::Replace, w.transpose(), a, F::one(), par),
        Batch::Sparse(a) => {
            let mut tmp_bk = tmp_bk;
            csc_t_times(a, w, tmp_bk.rb_mut());
            let mut out = out;
            out.copy_from(tmp_bk.transpose());
        }
    }
}

/// The Poisson ratios `X_b ⊘ max(W H_b, y_floor)`: in `yb` for a dense batch, at the
/// nonzeros (in `ratios`) for a sparse one. The same floor as the full-batch kernel.
#[allow(clippy::too_many_arguments)]
fn poisson_ratios<'r, F: NmfFloat>(
    xb: Batch<'r, F>,
    w: MatRef<'_, F>,
    wt: MatRef<'_, F>,
    hb: MatRef<'_, F>,
    yb: MatMut<'r, F>,
    ratios: &'r mut [F],
    rule: &Rule<F>,
    par: faer::Par,
) -> Batch<'r, F> {
    match xb {
        Batch::Dense(x) => {
            let mut yb = yb;
            gemm(yb.rb_mut(), Accum::Replace, w, hb, F::one(), par);
            for jj in 0..x.ncols() {
                for i in 0..x.nrows() {
                    yb[(i, jj)] = x[(i, jj)] / yb[(i, jj)].max(rule.y_floor);
                }
            }
            Batch::Dense(yb.into_const())
        }
        Batch::Sparse(x) => {
            wh_at_pattern(x, wt, hb, ratios);
            for (r, xv) in ratios.iter_mut().zip(x.values) {
                *r = *xv / r.max(rule.y_floor);
            }
            Batch::Sparse(CscRef { values: ratios, ..x })
        }
    }
}

impl<F: NmfFloat, P: AsContrastiveProblem<F>> Solver<F, P> for ContrastiveMinibatch<F> {
    fn name(&self) -> String {
        "bcnmf-minibatch".into()
    }

    fn init(&mut self, p: &P, s: &mut ContrastiveState<F>) -> Result<()> {
        let p = p.contrastive();
        check_state_core(p, s)?;
        if p.target().mask().is_some() || p.background().mask().is_some() {
            return Err(NmfError::Unsupported(
                "minibatch bcNMF with an observation mask (use the full-batch solver)".into(),
            ));
        }
        let (m, k) = (s.w.nrows(), s.w.ncols());
        let (x, y) = (p.target(), p.background());
        let b = self.batch_size.min(x.ncols().max(y.ncols()));
        let dense = !x.is_sparse() || !y.is_sparse();
        let poisson_dense = p.loss() == ContrastiveLoss::Poisson && dense;
        // Largest number of stored entries in any `b` columns of either input.
        let max_nnz = [x, y]
            .iter()
            .filter_map(|d| match d.matrix() {
                Matrix::Sparse(sp) => {
                    let mut per_col: Vec<usize> = sp.col_ptr().windows(2).map(|w| w[1] - w[0]).collect();
                    per_col.sort_unstable_by(|a, b| b.cmp(a));
                    Some(per_col.iter().take(b).sum::<usize>())
                }
                Matrix::Dense(_) => None,
            })
            .max()
            .unwrap_or(0);
        let mut ws = Workspace {
            rng: ChaCha8Rng::seed_from_u64(self.seed),
            loss: LossWorkspace::new(p.par()),
            perm_x: (0..x.ncols()).collect(),
            perm_y: (0..y.ncols()).collect(),
            hb: Mat::zeros(k, b),
            neg_h: Mat::zeros(k, b),
            pos_h: Mat::zeros(k, b),
            tmp_bk: Mat::zeros(b, k),
            xb: Mat::zeros(if dense { m } else { 0 }, if dense { b } else { 0 }),
            yb: Mat::zeros(if poisson_dense { m } else { 0 }, if poisson_dense { b } else { 0 }),
            col_ptr: Vec::with_capacity(b + 1),
            row_idx: Vec::with_capacity(max_nnz),
            vals: Vec::with_capacity(max_nnz),
            ratios: Vec::with_capacity(max_nnz),
            wt: Mat::zeros(k, m),
            gram_w: Mat::zeros(k, k),
            colsum_w: vec![F::zero(); k],
            tmp_mk: Mat::zeros(m, k),
            parts: std::array::from_fn(|_| Mat::zeros(m, k)),
            hh: std::array::from_fn(|_| Mat::zeros(k, k)),
            fresh: [false, false],
        };
        self.mu.begin(p, s, &mut ws.loss);
        self.ws = Some(ws);
        Ok(())
    }

    fn next_iter(&mut self, p: &P, s: &mut ContrastiveState<F>) -> Result<IterInfo<F>> {
        let p = p.contrastive();
        self.step_target(p, s)?;
        self.step_background(p, s)?;
        self.step_basis(p, s)?;
        let mut ws = self.ws.take().ok_or_else(not_init)?;
        let info = self.mu.end_iter(p, s, &mut ws.loss);
        self.ws = Some(ws);
        Ok(info)
    }
}

/// Lets an [`nmf_core::Executor`] drive a borrowed solver, so that its state (collapse count,
/// guard) can be read after the run.
impl<F: NmfFloat, P: AsContrastiveProblem<F>> Solver<F, P> for &mut ContrastiveMinibatch<F> {
    fn name(&self) -> String {
        <ContrastiveMinibatch<F> as Solver<F, P>>::name(self)
    }
    fn init(&mut self, p: &P, s: &mut ContrastiveState<F>) -> Result<()> {
        <ContrastiveMinibatch<F> as Solver<F, P>>::init(self, p, s)
    }
    fn next_iter(&mut self, p: &P, s: &mut ContrastiveState<F>) -> Result<IterInfo<F>> {
        <ContrastiveMinibatch<F> as Solver<F, P>>::next_iter(self, p, s)
    }
}
