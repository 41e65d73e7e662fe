//! A progress bar on stderr, as an observer of the fit's history.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nmf_core::{HistoryRow, NmfFloat, Observer};

/// Shows iterations and the current objective; draws nothing when stderr is not a terminal
/// or when `quiet` is set.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `max_iter` iterations, labelled `label`.
    pub fn new(max_iter: usize, label: &str, quiet: bool) -> Self {
        let target = if quiet || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(max_iter as u64), target);
        let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        Self { bar }
    }
    /// Advances the bar by one step (e.g. one finished fit of `nmf rank`); callable from
    /// worker threads.
    pub fn step(&self, message: &str) {
        self.bar.inc(1);
        self.bar.set_message(message.to_string());
    }
    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl<F: NmfFloat> Observer<F> for Progress {
    fn observe(&mut self, row: &HistoryRow<F>, _max_iter: usize) {
        self.bar.set_position(row.iteration as u64);
        self.bar
            .set_message(format!("objective {:.6e}", row.objective.to_f64_lossy()));
    }
}
