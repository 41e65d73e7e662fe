//! The executor's stopping rule, history and observers, driven by MU.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nmf_core::{Data, Frobenius, HistoryRow, KullbackLeibler, NmfParams, Observer, StopReason, StoppingRule};
use nmf_solvers::Mu;

fn data() -> Data<f64> {
    Data::sparse(common::pbmc_small::<f64>()).unwrap()
}

#[test]
fn max_iterations_is_a_status_and_history_has_one_row_per_iteration() {
    let fit = NmfParams::new(3)
        .max_iter(25)
        .tol(0.0)
        .check()
        .unwrap()
        .fit(&data(), Frobenius, Mu::new())
        .unwrap();
    assert_eq!(fit.stop_reason, StopReason::MaxIterations);
    assert!(!fit.converged());
    let its: Vec<usize> = fit.history.rows().iter().map(|r| r.iteration).collect();
    assert_eq!(its, (0..=25).collect::<Vec<_>>());
    assert!(fit.history.rows().windows(2).all(|p| p[1].seconds >= p[0].seconds));
    assert_eq!(fit.history.rows()[0].kkt_residual, 1.0);
    assert_eq!(fit.history.last().unwrap().objective, fit.evaluation.objective);
    let tsv = fit.history.to_tsv();
    assert!(tsv.starts_with("iteration\tseconds\tobjective\trelative_error\tkkt_residual\n"));
    assert_eq!(tsv.lines().count(), 27);
}

#[test]
fn relative_decrease_rule_stops_between_checks_and_matches_its_definition() {
    let tol = 1e-3;
    let fit = NmfParams::new(3)
        .max_iter(5000)
        .tol(tol)
        .check()
        .unwrap()
        .fit(&data(), KullbackLeibler, Mu::new())
        .unwrap();
    assert_eq!(fit.stop_reason, StopReason::ObjectiveConverged);
    assert!(fit.converged());
    assert_eq!(fit.iterations % 10, 0);
    let obj = fit.history.objectives();
    let n = obj.len() - 1;
    assert!((obj[n - 10] - obj[n]) / obj[0] < tol);
    // The previous check did not satisfy the rule.
    assert!((obj[n - 20] - obj[n - 10]) / obj[0] >= tol);
}

#[test]
fn kkt_rule_stops_when_the_relative_residual_is_small() {
    let rule = StoppingRule {
        max_iter: 5000,
        tol: 0.0,
        kkt_tol: 0.2,
        ..StoppingRule::default()
    };
    let fit = NmfParams::new(3)
        .stopping(rule)
        .check()
        .unwrap()
        .fit(&data(), Frobenius, Mu::new())
        .unwrap();
    assert_eq!(fit.stop_reason, StopReason::KktConverged);
    assert!(fit.kkt_residual <= 0.2);
    assert!(fit.history.rows()[fit.history.rows().len() - 11].kkt_residual > 0.2);
}

#[test]
fn time_limit_and_cancellation_stop_the_run() {
    let fit = NmfParams::new(3)
        .max_iter(usize::MAX)
        .tol(0.0)
        .time_limit(Duration::from_millis(200))
        .check()
        .unwrap()
        .fit(&data(), KullbackLeibler, Mu::new())
        .unwrap();
    assert_eq!(fit.stop_reason, StopReason::TimeLimit);
    assert!(fit.iterations > 0);

    struct CancelAt(Arc<AtomicBool>, usize);
    impl Observer<f64> for CancelAt {
        fn observe(&mut self, row: &HistoryRow<f64>, _: usize) {
            if row.iteration == self.1 {
                self.0.store(true, Ordering::Relaxed);
            }
        }
    }
    let flag = Arc::new(AtomicBool::new(false));
    let mut obs = CancelAt(flag.clone(), 7);
    let params = NmfParams::new(3)
        .max_iter(1000)
        .tol(0.0)
        .cancel_flag(flag)
        .check()
        .unwrap();
    let fit = params
        .fit_observed(&data(), Frobenius, Mu::new(), Some(&mut obs))
        .unwrap();
    assert_eq!(fit.stop_reason, StopReason::Cancelled);
    assert_eq!(fit.iterations, 7);
}

#[test]
fn record_every_thins_the_history_but_keeps_the_last_iterate() {
    let rule = StoppingRule {
        max_iter: 45,
        tol: 0.0,
        record_every: 20,
        ..StoppingRule::default()
    };
    let fit = NmfParams::new(3)
        .stopping(rule)
        .check()
        .unwrap()
        .fit(&data(), Frobenius, Mu::new())
        .unwrap();
    let its: Vec<usize> = fit.history.rows().iter().map(|r| r.iteration).collect();
    assert_eq!(its, vec![0, 10, 20, 30, 40, 45]);
}
