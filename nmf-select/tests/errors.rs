//! Typed errors for bad input, and results independent of the thread count.

use nmf_core::faer::Mat;
use nmf_core::{Data, Frobenius, Init, KullbackLeibler, Mask, NmfError};
use nmf_select::{consensus_factors, ConsensusParams, RankParams, SelectError};
use nmf_solvers::{Hals, Mu};

fn small() -> Data<f64> {
    Data::dense(Mat::from_fn(12, 9, |i, j| 1.0 + ((i * 5 + j * 3) % 7) as f64)).unwrap()
}

#[test]
fn bad_ranges_are_typed_errors() {
    let check = |ranks: Vec<usize>| RankParams::<f64>::new(ranks).check().err();
    assert_eq!(check(vec![]), Some(SelectError::NoRanks));
    assert_eq!(check(vec![0, 1, 2]), Some(SelectError::RankZero));
    assert_eq!(
        check(vec![5, 4, 3]),
        Some(SelectError::RanksNotIncreasing { previous: 5, next: 4 })
    );
    assert_eq!(
        check(vec![2, 2]),
        Some(SelectError::RanksNotIncreasing { previous: 2, next: 2 })
    );
    let too_large = RankParams::<f64>::new([2, 10])
        .check()
        .unwrap()
        .run(&small(), Frobenius, Hals::new)
        .unwrap_err();
    assert_eq!(
        too_large,
        SelectError::RankTooLarge {
            rank: 10,
            rows: 12,
            cols: 9
        }
    );
}

#[test]
fn bad_parameters_are_typed_errors() {
    let param = |p: RankParams<f64>| match p.check() {
        Err(SelectError::BadParam { name, .. }) => name,
        other => panic!("expected BadParam, got {other:?}"),
    };
    assert_eq!(param(RankParams::new([2]).restarts(0)), "restarts");
    assert_eq!(param(RankParams::new([2]).restarts(1001)), "restarts");
    assert_eq!(param(RankParams::new([2]).cv_fraction(0.0)), "cv_fraction");
    assert_eq!(param(RankParams::new([2]).cv_fraction(0.7)), "cv_fraction");
    assert_eq!(param(RankParams::new([2]).bcv_folds(1, 2)), "bcv_folds");
    assert_eq!(
        param(RankParams::new([2]).max_consensus_samples(2)),
        "max_consensus_samples"
    );
    assert_eq!(param(RankParams::new([2]).cophenetic_drop(f64::NAN)), "cophenetic_drop");
    let dens = ConsensusParams {
        density_threshold: 0.0,
        ..ConsensusParams::default()
    };
    assert_eq!(param(RankParams::new([2]).consensus(dens)), "density_threshold");
    assert!(matches!(
        RankParams::<f64>::new([2]).max_iter(0).check(),
        Err(SelectError::Core(NmfError::Params(_)))
    ));
    let custom = nmf_select::FitSettings {
        init: Init::Custom {
            w: Mat::zeros(12, 2),
            h: Mat::zeros(2, 9),
        },
        ..Default::default()
    };
    assert!(matches!(
        RankParams::<f64>::new([2]).fit_settings(custom).check(),
        Err(SelectError::CustomInit)
    ));
}

#[test]
fn data_and_solver_problems_are_typed_errors() {
    // HALS has no KL updates: the solver's own typed error comes through.
    let err = RankParams::<f64>::new([2])
        .restarts(2)
        .check()
        .unwrap()
        .run(&small(), KullbackLeibler, Hals::new)
        .unwrap_err();
    assert!(
        matches!(err, SelectError::Core(NmfError::UnsupportedLoss { .. })),
        "{err:?}"
    );
    // Masked CV needs a dense copy; refused above the limit.
    let err = RankParams::<f64>::new([2])
        .restarts(2)
        .cv_max_entries(50)
        .check()
        .unwrap()
        .run(&small(), Frobenius, Hals::new)
        .unwrap_err();
    assert!(
        matches!(
            err,
            SelectError::TooLargeForCv {
                entries: 108,
                limit: 50,
                ..
            }
        ),
        "{err:?}"
    );
    // BCV of data with missing entries is not supported: said, not silently skipped.
    let x = Mat::from_fn(12, 9, |i, j| 1.0 + ((i * 5 + j * 3) % 7) as f64);
    let masked = Data::dense_masked(x, Mask::from_fn(12, 9, |i, j| (i + j) % 5 != 0)).unwrap();
    let err = RankParams::<f64>::new([2])
        .restarts(2)
        .check()
        .unwrap()
        .run(&masked, Frobenius, Hals::new)
        .unwrap_err();
    assert!(matches!(err, SelectError::Core(NmfError::Unsupported(_))), "{err:?}");
    // ... while masked CV alone works on it.
    let ok = RankParams::<f64>::new([2])
        .restarts(2)
        .bcv_repeats(0)
        .check()
        .unwrap()
        .run(&masked, Frobenius, Hals::new)
        .unwrap();
    assert!(ok.rows[0].cv_error.unwrap().is_finite());
    // A density filter that keeps nothing.
    let ws = [Mat::from_fn(12, 2, |i, l| ((i + l) % 3) as f64 + 0.5)];
    let refs: Vec<_> = ws.iter().map(|w| w.as_ref()).collect();
    let strict = ConsensusParams {
        density_threshold: 1e-9,
        ..ConsensusParams::default()
    };
    let err = consensus_factors(&small(), &refs, &strict, nmf_core::faer::Par::Seq).unwrap_err();
    assert!(
        matches!(
            err,
            SelectError::DensityFilterTooStrict {
                kept: 0,
                total: 2,
                k: 2
            }
        ),
        "{err:?}"
    );
}

/// Same seed, same report, on 1 thread or 2 (every fit is sequential; fits run in parallel),
/// on sparse input (masked CV densifies it, and says so).
#[test]
fn results_do_not_depend_on_the_thread_count() {
    let planted = nmf_synth::simulate::<f64>(&nmf_synth::PlantedSpec::new(60, 40, 3).depth(500.0), 2).unwrap();
    let data = planted.data_sparse().unwrap();
    let run = |threads| {
        RankParams::<f64>::new([2, 3, 4])
            .restarts(4)
            .max_iter(50)
            .threads(threads)
            .seed(3)
            .check()
            .unwrap()
            .run(&data, KullbackLeibler, Mu::new)
            .unwrap()
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(a.rows, b.rows);
    assert_eq!(a.suggestion, b.suggestion);
    assert!(a.notes.iter().any(|n| n.contains("dense copy")), "{:?}", a.notes);
    // A different seed gives different restarts.
    let c = RankParams::<f64>::new([2, 3, 4])
        .restarts(4)
        .max_iter(50)
        .seed(4)
        .check()
        .unwrap()
        .run(&data, KullbackLeibler, Mu::new)
        .unwrap();
    assert_ne!(a.rows[0].objectives, c.rows[0].objectives);
}

/// Above the sample limit the consensus uses a seeded subsample, and the report says so.
#[test]
fn consensus_memory_guard_subsamples_and_says_so() {
    let data = small();
    let report = RankParams::<f64>::new([2])
        .restarts(3)
        .max_consensus_samples(5)
        .cv_repeats(0)
        .bcv_repeats(0)
        .check()
        .unwrap()
        .run(&data, Frobenius, Hals::new)
        .unwrap();
    let sub = report.consensus_subsample.as_ref().unwrap();
    assert_eq!(sub.len(), 5);
    assert!(sub.windows(2).all(|p| p[0] < p[1]) && sub[4] < 9);
    assert!(report.notes.iter().any(|n| n.contains("subsample of 5 of 9")));
}
