//! Planted target/background pairs (nmf-synth): bcNMF finds the target-enriched subgroup that
//! plain NMF on the target misses (SPEC §1.14, issue 6).
//!
//! Measure: ARI between the subgroup labels (which enriched module a target cell carries)
//! and argmax over the K = 2 topics of each target cell's column of H_X — KMeans-free
//! (argmax of a column is unchanged by per-cell normalisation) — and ARI of KMeans(2) on
//! the per-cell topic proportions (SPEC §1.9 protocol (a), `cluster_ari`). Plain NMF = the same fit at α = 0 (identical to nmf_solvers::Mu, see updates.rs).

mod common;
use common::log1p_cpm;

use faer::Mat;
use nmf_contrastive::{
    cluster_ari, ContrastiveFit, ContrastiveLoss, ContrastiveParams, ContrastiveStopReason, POISSON_COLLAPSE_GUARD,
};
use nmf_core::metrics::{adjusted_rand_index, argmax_labels};
use nmf_core::{Data, StopReason};
use nmf_synth::{simulate_pair, PairSpec, PlantedPair, PlantedSpec};

fn pair(seed: u64) -> PlantedPair<f64> {
    // The paper's simulation design (SPEC §1.8) on nmf-synth: 5 modules on 300 features
    // (50 each), 3 shared by target and background, 2 target-enriched; every target cell
    // carries one of the two enriched modules (alternating), with 5% of its mass: the
    // subgroup is weak next to the shared structure. 200 target, 200 background cells.
    let spec = PairSpec::new(PlantedSpec::new(300, 200, 5), 200, 2)
        .enriched_fraction(1.0)
        .enriched_weight(0.05);
    simulate_pair(&spec, seed).unwrap()
}

fn fit(x: &Data<f64>, y: &Data<f64>, alpha: f64, loss: ContrastiveLoss, paper: bool) -> ContrastiveFit<f64> {
    ContrastiveParams::new(2, alpha)
        .loss(loss)
        .max_iter(300)
        .tol(if paper { 0.0 } else { 1e-6 })
        .paper_compatible(paper)
        .seed(1)
        .check()
        .unwrap()
        .fit(x, y)
        .unwrap()
}

fn ari(fit: &ContrastiveFit<f64>, truth: &[usize]) -> f64 {
    adjusted_rand_index(&argmax_labels(fit.h_target.as_ref()), truth).unwrap()
}

/// The paper's protocol: KMeans(2) on per-cell topic proportions (SPEC §1.9 variant (a)).
fn ari_kmeans(fit: &ContrastiveFit<f64>, truth: &[usize]) -> f64 {
    cluster_ari(fit.h_target.as_ref(), truth, 2, 10, 42, true).unwrap().ari
}

#[test]
fn bcnmf_recovers_enriched_subgroup_sse_log1p_cpm() {
    for seed in [1u64, 2, 3] {
        let p = pair(seed);
        let truth = p.subgroup_labels();
        let (x, y) = (log1p_cpm(&p.x), log1p_cpm(&p.y));
        for paper in [true, false] {
            let bc = fit(&x, &y, 2.0, ContrastiveLoss::SquaredError, paper);
            let plain = fit(&x, &y, 0.0, ContrastiveLoss::SquaredError, paper);
            let (a_bc, a_plain) = (ari(&bc, &truth), ari(&plain, &truth));
            println!(
                "seed {seed} paper={paper}: ARI(argmax H_X) bcNMF(alpha=2) {a_bc:.3} ({} it, {:?}), plain NMF {a_plain:.3} ({} it); ARI(KMeans(2) on proportions) {:.3} / {:.3}",
                bc.iterations, bc.stop_reason, plain.iterations, ari_kmeans(&bc, &truth), ari_kmeans(&plain, &truth)
            );
            let enriched = Mat::from_fn(p.w_true.nrows(), p.enriched.len(), |i, l| p.w_true[(i, p.enriched[l])]);
            let cos_bc = nmf_core::metrics::matched_cosine(enriched.as_ref(), bc.w.as_ref()).unwrap();
            let cos_plain = nmf_core::metrics::matched_cosine(enriched.as_ref(), plain.w.as_ref()).unwrap();
            println!(
                "  matched cosine of W to the enriched modules (log scale vs true loadings): bcNMF min {:.3}, plain NMF min {:.3}",
                cos_bc.min, cos_plain.min
            );
            assert!(cos_bc.min >= 0.9, "seed {seed}: bcNMF matched cosine {}", cos_bc.min);
            assert!(
                cos_plain.min < 0.5,
                "seed {seed}: plain NMF matched cosine {}",
                cos_plain.min
            );
            assert!(a_bc >= 0.9, "seed {seed} paper={paper}: bcNMF ARI {a_bc}");
            assert!(a_plain < 0.2, "seed {seed} paper={paper}: plain NMF ARI {a_plain}");
            let (k_bc, k_plain) = (ari_kmeans(&bc, &truth), ari_kmeans(&plain, &truth));
            assert!(k_bc >= 0.9, "seed {seed} paper={paper}: bcNMF KMeans ARI {k_bc}");
            assert!(
                k_plain < 0.2,
                "seed {seed} paper={paper}: plain NMF KMeans ARI {k_plain}"
            );
        }
    }
}

/// SPEC §1.12 on the planted pair at α = 2 (where α·background mass exceeds target mass for
/// many features): paper mode collapses, the W floor alone (the default) bounds J but does not
/// stop the runaway and reports the collapsed features, and the collapse guard stops it early
/// with its own reason.
#[test]
fn poisson_collapse_is_detected_and_guarded() {
    let p = pair(1);
    let (x, y) = (Data::sparse(p.x.clone()).unwrap(), Data::sparse(p.y.clone()).unwrap());
    let truth = p.subgroup_labels();
    let run = |alpha: f64, paper: bool, guard: Option<f64>| {
        let mut params = ContrastiveParams::new(2, alpha)
            .loss(ContrastiveLoss::Poisson)
            .max_iter(300)
            .tol(if paper { 0.0 } else { 1e-6 })
            .paper_compatible(paper)
            .seed(1);
        if let Some(g) = guard {
            params = params.collapse_guard(g);
        }
        params.check().unwrap().fit(&x, &y).unwrap()
    };
    let describe = |name: &str, f: &ContrastiveFit<f64>| {
        let (first, last) = (f.trace[0], *f.trace.last().unwrap());
        println!(
            "{name}: stop {} after {} it, {} collapsed features, J {:.3e} -> {:.3e}, D_X {:.3e} -> {:.3e}, D_Y {:.3e} -> {:.3e}, ARI {:.3}",
            f.stop_reason, f.iterations, f.collapsed_features, first.objective, last.objective,
            first.d_target, last.d_target, first.d_background, last.d_background, ari(f, &truth)
        );
        (first, last)
    };
    let guard = Some(POISSON_COLLAPSE_GUARD);
    for f in [run(2.0, true, None), run(2.0, false, None), run(2.0, false, guard)] {
        assert_eq!(f.trace.len(), f.history.rows().len());
        for (t, h) in f.trace.iter().zip(f.history.rows()) {
            assert_eq!((t.iteration, t.objective), (h.iteration, h.objective));
            assert!((t.objective - (t.d_target - 2.0 * t.d_background)).abs() <= 1e-9 * t.d_background);
        }
        assert_eq!(f.trace.last().unwrap().collapsed_features, f.collapsed_features);
    }
    // Paper mode: rows of W the target expresses collapse, J runs away while D_X grows.
    let paper = run(2.0, true, None);
    let (first, last) = describe("paper mode", &paper);
    assert_eq!(
        paper.stop_reason,
        ContrastiveStopReason::Executor(StopReason::MaxIterations)
    );
    assert!(paper.collapsed_features > 0);
    assert!(last.objective < 5.0 * first.objective && first.objective < 0.0);
    assert!(last.d_target > 5.0 * first.d_target);
    // The default, the floor alone: J stays finite (bounded by the floor) but runs away all
    // the same, and the collapse is reported.
    let floor_only = run(2.0, false, None);
    let (first, last) = describe("default, floor only", &floor_only);
    assert!(last.objective.is_finite() && last.objective < 5.0 * first.objective);
    assert!(floor_only.collapsed_features > 0);
    // The guard stops the runaway at an early check, with its own reason.
    let guarded = run(2.0, false, guard);
    let (first, last) = describe("floor + guard", &guarded);
    assert_eq!(guarded.stop_reason, ContrastiveStopReason::CollapseGuard);
    assert!(!guarded.stop_reason.converged());
    assert_eq!(guarded.stop_reason.as_str(), "collapse_guard");
    assert!(guarded.iterations <= 30, "{}", guarded.iterations);
    assert!(last.d_target > first.d_target && last.objective < first.objective);
    // A healthy Poisson fit (α = 0.5: no feature has twice the target's mass in the
    // background) never trips the guard, and collapses nothing.
    let healthy = run(0.5, false, guard);
    describe("alpha = 0.5, floor + guard", &healthy);
    assert_eq!(
        healthy.stop_reason,
        ContrastiveStopReason::Executor(StopReason::SolverConverged)
    );
    assert_eq!(healthy.collapsed_features, 0);
}
