//! Interpretation helpers: Welch's t-test against scipy, its degenerate cases, top-feature
//! ordering, topic enrichment and the SPEC §1.9 clustering evaluation.

use faer::Mat;
use nmf_contrastive::topics::{
    cluster_ari, top_features, topic_enrichment, topic_proportions, welch_t_test, TopicError,
};
use nmf_core::cluster::ClusterError;

struct Case {
    name: String,
    a: Vec<f64>,
    b: Vec<f64>,
    t: f64,
    df: f64,
    p: f64,
}

fn cases() -> Vec<Case> {
    let text = include_str!("fixtures/welch_reference.txt");
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let nums = |l: &str, tag: &str| -> Vec<f64> {
        let mut it = l.split_whitespace();
        assert_eq!(it.next(), Some(tag));
        it.map(|v| v.parse().unwrap()).collect()
    };
    lines
        .chunks(4)
        .map(|c| {
            let stats: Vec<&str> = c[3].split_whitespace().collect();
            assert_eq!((stats[0], stats[2], stats[4]), ("t", "df", "p"));
            Case {
                name: c[0].strip_prefix("case ").unwrap().to_owned(),
                a: nums(c[1], "a"),
                b: nums(c[2], "b"),
                t: stats[1].parse().unwrap(),
                df: stats[3].parse().unwrap(),
                p: stats[5].parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn welch_matches_scipy() {
    let cases = cases();
    assert_eq!(cases.len(), 7);
    for c in &cases {
        let r = welch_t_test(&c.a, &c.b).unwrap();
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-10 * y.abs().max(1.0);
        assert!(close(r.t, c.t), "{}: t {} vs scipy {}", c.name, r.t, c.t);
        assert!(close(r.df, c.df), "{}: df {} vs scipy {}", c.name, r.df, c.df);
        // Absolute 1e-10, and relative 1e-8 so that tiny p-values are checked too.
        assert!(
            (r.p_value - c.p).abs() <= 1e-10 && (r.p_value - c.p).abs() <= 1e-8 * c.p,
            "{}: p {} vs scipy {}",
            c.name,
            r.p_value,
            c.p
        );
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!((r.mean_a - mean(&c.a)).abs() < 1e-12 && (r.mean_b - mean(&c.b)).abs() < 1e-12);
    }
    // The fixture spans tiny and large p-values and both signs of t.
    assert!(cases.iter().any(|c| c.p < 1e-20) && cases.iter().any(|c| c.p > 0.2));
    assert!(cases.iter().any(|c| c.t < 0.0) && cases.iter().any(|c| c.t > 0.0));
}

#[test]
fn welch_is_generic_and_antisymmetric() {
    let a = [1.5f32, 2.5, 2.0, 3.0];
    let b = [0.1f32, 0.4, 0.3];
    let ab = welch_t_test(&a, &b).unwrap();
    let ba = welch_t_test(&b, &a).unwrap();
    assert!((ab.t + ba.t).abs() < 1e-12 && (ab.df - ba.df).abs() < 1e-9);
    assert!((ab.p_value - ba.p_value).abs() < 1e-12);
    assert!(ab.t > 0.0 && ab.p_value > 0.0 && ab.p_value < 0.05);
}

#[test]
fn welch_degenerate_cases_are_never_nan() {
    // Both constant, same mean: no evidence of a difference.
    let r = welch_t_test(&[2.0, 2.0, 2.0], &[2.0, 2.0]).unwrap();
    assert_eq!((r.t, r.df, r.p_value), (0.0, 3.0, 1.0));
    // Both constant, different means: certain difference, sign of a − b.
    let r = welch_t_test(&[1.0, 1.0], &[3.0, 3.0, 3.0]).unwrap();
    assert_eq!((r.t, r.df, r.p_value), (f64::NEG_INFINITY, 3.0, 0.0));
    // One constant group: the ordinary formula with df = n_other − 1.
    let r = welch_t_test(&[1.0, 1.0, 1.0, 1.0], &[0.0, 1.0, 2.0, 4.0, 3.0]).unwrap();
    assert!((r.df - 4.0).abs() < 1e-12 && r.p_value.is_finite());
    // Huge values: no overflow to NaN in df.
    let r = welch_t_test(&[1e200, 2e200, 3e200], &[1e199, 2e199]).unwrap();
    assert!(r.t.is_finite() && r.df.is_finite() && r.p_value.is_finite());

    assert_eq!(
        welch_t_test(&[1.0], &[1.0, 2.0]).unwrap_err(),
        TopicError::TooFewSamples { group: "a", n: 1 }
    );
    assert_eq!(
        welch_t_test::<f64>(&[1.0, 2.0], &[]).unwrap_err(),
        TopicError::TooFewSamples { group: "b", n: 0 }
    );
    assert!(matches!(
        welch_t_test(&[1.0, f64::NAN], &[1.0, 2.0]),
        Err(TopicError::NonFinite { index: 1, .. })
    ));
}

#[test]
fn top_features_sorted_with_ties_by_index() {
    // Column 0: ties 3.0 at rows 1 and 4, and 5.0 at rows 2 and 0.
    let w = Mat::from_fn(6, 2, |i, k| {
        if k == 0 {
            [5.0, 3.0, 5.0, 1.0, 3.0, 0.0][i]
        } else {
            i as f64 * 0.5
        }
    });
    let top = top_features(w.as_ref(), 4).unwrap();
    assert_eq!(top.len(), 2);
    assert_eq!(top[0].indices, vec![0, 2, 1, 4]);
    assert_eq!(top[0].weights, vec![5.0, 5.0, 3.0, 3.0]);
    assert_eq!(top[1].indices, vec![5, 4, 3, 2]);
    // n beyond the number of features gives all of them; n = 0 none.
    assert_eq!(
        top_features(w.as_ref(), 100).unwrap()[0].indices,
        vec![0, 2, 1, 4, 3, 5]
    );
    assert!(top_features(w.as_ref(), 0).unwrap()[1].indices.is_empty());
    let mut bad = w.clone();
    bad[(3, 1)] = f64::INFINITY;
    assert!(matches!(
        top_features(bad.as_ref(), 2),
        Err(TopicError::NonFinite { index: 9, .. })
    ));
}

#[test]
fn enrichment_ranks_the_target_topic_first() {
    // Topic 1 is used by the target only; topics 0 and 2 equally by both.
    let wobble = |j: usize| ((j * 37 % 11) as f64) / 11.0;
    let h_t = Mat::from_fn(3, 40, |k, j| match k {
        1 => 2.0 + wobble(j),
        _ => 1.0 + wobble(j + k),
    });
    let h_b = Mat::from_fn(3, 30, |k, j| match k {
        1 => 0.1 * wobble(j),
        _ => 1.0 + wobble(j + 2 * k + 1),
    });
    for normalise in [false, true] {
        let tests = topic_enrichment(h_t.as_ref(), h_b.as_ref(), normalise).unwrap();
        assert_eq!(tests.len(), 3);
        let best = (0..3).max_by(|&a, &b| tests[a].t.total_cmp(&tests[b].t)).unwrap();
        assert_eq!(best, 1, "normalise={normalise}: {tests:?}");
        assert!(tests[1].p_value < 1e-10);
        // Each entry is the plain Welch test of that row.
        let row = |h: &Mat<f64>, k: usize| -> Vec<f64> {
            let h = if normalise {
                topic_proportions(h.as_ref())
            } else {
                h.clone()
            };
            h.row(k).iter().copied().collect()
        };
        let direct = welch_t_test(&row(&h_t, 0), &row(&h_b, 0)).unwrap();
        assert_eq!(tests[0], direct);
    }
    assert_eq!(
        topic_enrichment(h_t.as_ref(), Mat::<f64>::zeros(2, 5).as_ref(), false).unwrap_err(),
        TopicError::ShapeMismatch {
            what: "topics (rows) of the background coefficients",
            expected: 3,
            got: 2
        }
    );
    assert_eq!(
        topic_enrichment(h_t.as_ref(), Mat::<f64>::zeros(3, 1).as_ref(), false).unwrap_err(),
        TopicError::TooFewSamples {
            group: "background",
            n: 1
        }
    );
}

#[test]
fn proportions_sum_to_one_and_keep_zero_columns() {
    let h = Mat::from_fn(3, 4, |k, j| if j == 2 { 0.0 } else { (k + j + 1) as f64 });
    let p = topic_proportions(h.as_ref());
    for j in 0..4 {
        let s: f64 = p.col(j).iter().sum();
        assert!((s - if j == 2 { 0.0 } else { 1.0 }).abs() < 1e-15);
    }
}

#[test]
fn cluster_ari_follows_the_protocol() {
    // Two groups that differ in topic proportions but not in raw scale ordering: group 1
    // samples are 10× larger overall, and use topic 0 less. Row normalisation removes the
    // scale, raw usages are dominated by it.
    let n = 60;
    let truth: Vec<usize> = (0..n).map(|j| usize::from(j % 3 == 0)).collect();
    let scale = |j: usize| if j % 2 == 0 { 1.0 } else { 10.0 };
    let h = Mat::from_fn(2, n, |k, j| {
        let share = if truth[j] == 1 { 0.3 } else { 0.7 } + 0.02 * ((j * 7 % 5) as f64 - 2.0);
        scale(j) * if k == 0 { share } else { 1.0 - share }
    });
    let norm = cluster_ari(h.as_ref(), &truth, 2, 10, 42, true).unwrap();
    assert_eq!(norm.ari, 1.0);
    let raw = cluster_ari(h.as_ref(), &truth, 2, 10, 42, false).unwrap();
    assert!(raw.ari < 0.5, "raw usages should split by scale: {}", raw.ari);
    // Same seed, same clusters.
    assert_eq!(cluster_ari(h.as_ref(), &truth, 2, 10, 42, true).unwrap(), norm);

    assert!(matches!(
        cluster_ari(h.as_ref(), &truth[1..], 2, 10, 42, true),
        Err(TopicError::ShapeMismatch {
            expected: 60,
            got: 59,
            ..
        })
    ));
    assert!(matches!(
        cluster_ari(h.as_ref(), &truth, 0, 10, 42, true),
        Err(TopicError::Cluster(ClusterError::BadParam { name: "k", .. }))
    ));
    assert!(matches!(
        cluster_ari(h.as_ref(), &truth, 2, 0, 42, true),
        Err(TopicError::Cluster(ClusterError::BadParam { name: "n_init", .. }))
    ));
    let small = Mat::from_fn(2, 3, |k, j| (k + j) as f64);
    assert!(matches!(
        cluster_ari(small.as_ref(), &[0, 1, 0], 4, 10, 42, true),
        Err(TopicError::Cluster(ClusterError::TooFewPoints { k: 4, points: 3 }))
    ));
}
