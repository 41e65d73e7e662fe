//! Planted problems from nmf-synth, where the true rank and modules are known.

use std::time::Instant;

use nmf_core::metrics::matched_cosine;
use nmf_core::{KullbackLeibler, StoppingRule};
use nmf_select::{consensus_fit, ConsensusFitParams, ConsensusParams, FitSettings, RankParams, RankRule};
use nmf_solvers::Mu;
use nmf_synth::{simulate, PlantedSpec};

/// Masked cross-validation (and bi-cross-validation) on Poisson counts from 4 planted
/// modules: the held-out error is lowest at k = 4 over k = 2..6. Fewer factors miss a
/// module; more fit noise that the held-out entries do not share.
#[test]
fn masked_cv_error_is_lowest_at_the_planted_rank() {
    let spec = PlantedSpec::new(300, 120, 4).depth(2000.0);
    let planted = simulate::<f64>(&spec, 11).unwrap();
    let data = planted.data_dense().unwrap();
    let start = Instant::now();
    let report = RankParams::<f64>::new(2..=6)
        .restarts(2)
        .cv_repeats(3)
        .cv_fraction(0.1)
        .max_iter(300)
        .tol(1e-6)
        .seed(5)
        .rule(RankRule::CvMinimum)
        .check()
        .unwrap()
        .run(&data, KullbackLeibler, Mu::new)
        .unwrap();
    let seconds = start.elapsed().as_secs_f64();
    println!("planted rank 4, 300 x 120, KL-MU: {seconds:.1} s");
    println!("rank  cv_error      cv_sd         bcv_error");
    for r in &report.rows {
        println!(
            "{:>4}  {:.6e}  {:.3e}  {:.6e}",
            r.rank,
            r.cv_error.unwrap(),
            r.cv_error_sd.unwrap(),
            r.bcv_error.unwrap_or(f64::NAN)
        );
    }
    assert_eq!(report.suggestion.rank, 4, "{:?}", report.suggestion);
    assert_eq!(report.suggestion.rule, RankRule::CvMinimum);
    // Bi-cross-validation agrees, and missing a module costs far more than fitting noise.
    let bcv = report
        .suggestion
        .candidates
        .iter()
        .find(|c| c.0 == RankRule::BcvMinimum)
        .unwrap();
    assert_eq!(bcv.1, Some(4));
    let cv = |k: usize| report.rows[k - 2].cv_error.unwrap();
    assert!(cv(3) > 2.0 * cv(4) && cv(5) > cv(4) && cv(6) > cv(4));
}

/// cNMF consensus of 20 short random restarts on a harder planted problem (overlapping
/// modules, low depth): the consensus spectra match the truth at least as well as the best
/// single restart (lowest objective) does.
#[test]
fn consensus_factors_recover_modules_as_well_as_the_best_restart() {
    let spec = PlantedSpec::new(400, 150, 5).depth(300.0).overlap(0.3);
    let planted = simulate::<f64>(&spec, 3).unwrap();
    let data = planted.data_dense().unwrap();
    let params = ConsensusFitParams::<f64> {
        restarts: 20,
        seed: 9,
        threads: 2,
        fit: FitSettings {
            stopping: StoppingRule {
                max_iter: 40,
                tol: 0.0,
                check_every: 10,
                record_every: 10,
                ..StoppingRule::default()
            },
            ..FitSettings::default()
        },
        consensus: ConsensusParams::default(),
    };
    let start = Instant::now();
    let run = consensus_fit(&data, 5, KullbackLeibler, Mu::new, &params, &|_| {}).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    let truth = planted.w_true.as_ref();
    let cos: Vec<f64> = run
        .fits
        .iter()
        .map(|f| matched_cosine(truth, f.state.w.as_ref()).unwrap().mean)
        .collect();
    let best = (0..cos.len())
        .min_by(|&a, &b| {
            run.fits[a]
                .evaluation
                .objective
                .total_cmp(&run.fits[b].evaluation.objective)
        })
        .unwrap();
    let consensus = matched_cosine(truth, run.factors.w.as_ref()).unwrap();
    println!(
        "consensus of 20 restarts ({seconds:.1} s): mean cosine {:.4} (min {:.4}); best-objective restart {:.4}; restarts {:.4}..{:.4}; kept {}/{} spectra, silhouette {:.3}, stability {:.3}",
        consensus.mean,
        consensus.min,
        cos[best],
        cos.iter().cloned().fold(f64::INFINITY, f64::min),
        cos.iter().cloned().fold(0.0, f64::max),
        run.factors.kept,
        run.factors.total,
        run.factors.silhouette.unwrap(),
        run.stability.unwrap()
    );
    assert!(consensus.mean >= cos[best], "{} < {}", consensus.mean, cos[best]);
    let best_any = cos.iter().cloned().fold(0.0, f64::max);
    assert!(consensus.mean >= best_any - 1e-3 && consensus.min > 0.99);
    // Some restarts merged two modules: the consensus did not follow them.
    assert!(cos.iter().any(|&c| c < 0.9));
    // The consensus is a distribution per factor and H is the exact NNLS refit.
    for l in 0..5 {
        let s: f64 = run.factors.w.col(l).iter().sum();
        assert!((s - 1.0).abs() < 1e-12);
    }
    let h_again = nmf_solvers::transform(&data, run.factors.w.as_ref(), (0.0, 0.0), nmf_core::faer::Par::Seq).unwrap();
    assert_eq!(h_again, run.factors.h);
}
