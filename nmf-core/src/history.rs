//! The convergence history and the observer hook.

use crate::NmfFloat;

/// One recorded iterate. Iteration 0 is the initial point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryRow<F> {
    /// Iteration number.
    pub iteration: usize,
    /// Wall-clock seconds since the run started.
    pub seconds: f64,
    /// Objective (data fit plus penalties).
    pub objective: F,
    /// ‖X − W H‖_F / ‖X‖_F over observed entries.
    pub relative_error: F,
    /// Projected-gradient norm relative to the initial point's.
    pub kkt_residual: F,
}

/// The rows recorded during a run, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct History<F> {
    rows: Vec<HistoryRow<F>>,
}

impl<F: NmfFloat> History<F> {
    /// An empty history.
    pub fn new() -> Self {
        Self { rows: Vec::new() }
    }
    /// Appends a row.
    pub fn push(&mut self, row: HistoryRow<F>) {
        self.rows.push(row);
    }
    /// All rows.
    pub fn rows(&self) -> &[HistoryRow<F>] {
        &self.rows
    }
    /// The last row.
    pub fn last(&self) -> Option<&HistoryRow<F>> {
        self.rows.last()
    }
    /// The objective column.
    pub fn objectives(&self) -> Vec<F> {
        self.rows.iter().map(|r| r.objective).collect()
    }
    /// Tab-separated text: a header `iteration seconds objective relative_error kkt_residual`
    /// and one line per row.
    pub fn to_tsv(&self) -> String {
        let mut s = String::from("iteration\tseconds\tobjective\trelative_error\tkkt_residual\n");
        for r in &self.rows {
            s.push_str(&format!(
                "{}\t{:.6}\t{:e}\t{:e}\t{:e}\n",
                r.iteration,
                r.seconds,
                r.objective.to_f64_lossy(),
                r.relative_error.to_f64_lossy(),
                r.kkt_residual.to_f64_lossy()
            ));
        }
        s
    }
}

/// Called with every recorded row (progress bars, logging, live plots).
pub trait Observer<F> {
    /// A row was recorded; `max_iter` is the iteration budget.
    fn observe(&mut self, row: &HistoryRow<F>, max_iter: usize);
}
