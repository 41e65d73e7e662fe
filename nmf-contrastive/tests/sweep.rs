//! The α sweep: held-out splits, the per-α fits, topic stability and held-out scores.

mod common;
use common::log1p_cpm;

use nmf_contrastive::{
    alpha_sweep, holdout_split, transform, ContrastiveError, ContrastiveLoss, ContrastiveParams, SweepParams,
    TransformParams,
};
use nmf_core::metrics::{matched_cosine, relative_error};
use nmf_core::Data;
use nmf_synth::{simulate_pair, PairSpec, PlantedSpec};

fn planted() -> (Data<f64>, Data<f64>) {
    let spec = PairSpec::new(PlantedSpec::new(200, 120, 4), 100, 1);
    let p = simulate_pair(&spec, 3).unwrap();
    (log1p_cpm(&p.x), log1p_cpm(&p.y))
}

#[test]
fn holdout_split_is_a_seeded_partition() {
    let p = SweepParams { holdout: 0.25, seed: 7 };
    let (held, train) = holdout_split(10, &p).unwrap();
    assert_eq!((held.len(), train.len()), (3, 7));
    let mut all: Vec<usize> = held.iter().chain(&train).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..10).collect::<Vec<_>>());
    assert_eq!(holdout_split(10, &p).unwrap(), (held.clone(), train));
    let other = holdout_split(10, &SweepParams { seed: 8, ..p }).unwrap().0;
    assert_ne!(other, held, "the seed moves the split");
    // At least one held out and one left, whatever the fraction.
    assert_eq!(
        holdout_split(2, &SweepParams { holdout: 0.99, seed: 0 })
            .unwrap()
            .0
            .len(),
        1
    );
    assert_eq!(
        holdout_split(5, &SweepParams { holdout: 1e-6, seed: 0 })
            .unwrap()
            .0
            .len(),
        1
    );
    for bad in [0.0, 1.0, -0.5, f64::NAN] {
        assert!(matches!(
            holdout_split(10, &SweepParams { holdout: bad, seed: 0 }),
            Err(ContrastiveError::BadParam { name: "holdout", .. })
        ));
    }
    assert!(holdout_split(1, &SweepParams::default()).is_err());
}

#[test]
fn sweep_fits_each_alpha_and_scores_held_out_samples() {
    let (x, y) = planted();
    let params = ContrastiveParams::new(4, 0.0).n_starts(3).seed(5).max_iter(150);
    let split = SweepParams { holdout: 0.2, seed: 11 };
    let alphas = [0.0, 1.0, 4.0];
    let sweep = alpha_sweep(&params, &alphas, &x, &y, &split, None).unwrap();
    assert_eq!(sweep.len(), 3);
    let (held, train) = holdout_split(x.ncols(), &split).unwrap();
    for r in &sweep {
        // The full fit is the plain fit at that α.
        let alone = params.clone().alpha(r.alpha).check().unwrap().fit(&x, &y).unwrap();
        assert_eq!(r.fit.w, alone.w);
        // Stability: the mean over the 3 pairs of starts of their matched cosine.
        let b = &r.fit.start_bases;
        assert_eq!(b.len(), 3);
        let pairs = [(0, 1), (0, 2), (1, 2)];
        let manual = pairs
            .iter()
            .map(|&(i, j)| matched_cosine(b[i].as_ref(), b[j].as_ref()).unwrap().mean)
            .sum::<f64>()
            / 3.0;
        let s = r.stability.unwrap();
        assert!((s - manual).abs() < 1e-12 && s > 0.0 && s <= 1.0 + 1e-12);
        // Held out: the basis fitted on the training samples, scored on the others.
        assert_eq!(r.heldout.samples, held);
        let xt = x.select_columns(&train).unwrap();
        let xh = x.select_columns(&held).unwrap();
        let w = params.clone().alpha(r.alpha).check().unwrap().fit(&xt, &y).unwrap().w;
        let h = transform(
            &xh,
            w.as_ref(),
            ContrastiveLoss::SquaredError,
            &TransformParams::default(),
        )
        .unwrap()
        .h;
        let rel = relative_error(&xh, w.as_ref(), h.as_ref(), faer::Par::Seq);
        assert!((r.heldout.relative_error - rel).abs() < 1e-12);
        println!(
            "alpha {}: stability {:.4}, held-out relative error {:.4}, divergence/sample {:.3}",
            r.alpha, s, r.heldout.relative_error, r.heldout.divergence_per_sample
        );
    }
    // Plain NMF (α = 0) is fitted for reconstruction: the contrastive fits give some of it up.
    assert!(sweep[0].heldout.relative_error < sweep[2].heldout.relative_error);
    assert!(matches!(
        alpha_sweep(&params, &[], &x, &y, &split, None),
        Err(ContrastiveError::BadParam { name: "alphas", .. })
    ));
}
