//! k-means and silhouette: recovery of separated blobs, the n_init contract, monotone Lloyd
//! iterations, determinism, scikit-learn's silhouette on a fixed data set, typed errors.

use faer::Mat;
use nmf_core::cluster::{silhouette_samples, silhouette_score, ClusterError, KMeansParams};
use nmf_core::metrics::adjusted_rand_index;
use nmf_core::NmfFloat;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// `groups` Gaussian blobs of `per` points in `dims` dimensions, centres on a grid of spacing
/// `spread`, unit noise. Returns the points (rows) and the true group of each.
fn blobs<F: NmfFloat>(groups: usize, per: usize, dims: usize, spread: f64, seed: u64) -> (Mat<F>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 1.0).unwrap();
    let n = groups * per;
    let truth: Vec<usize> = (0..n).map(|i| i % groups).collect();
    let mut x = Mat::zeros(n, dims);
    for i in 0..n {
        for j in 0..dims {
            let centre = if j % groups == truth[i] { spread } else { 0.0 } + spread * (truth[i] / dims) as f64;
            x[(i, j)] = F::lit(centre + noise.sample(&mut rng));
        }
    }
    (x, truth)
}

fn separated_blobs_are_recovered<F: NmfFloat>() {
    for seed in 0..3 {
        let (x, truth) = blobs::<F>(4, 40, 5, 12.0, seed);
        let fit = KMeansParams::new(4)
            .n_init(5)
            .seed(seed)
            .check()
            .unwrap()
            .fit(x.as_ref())
            .unwrap();
        assert_eq!(adjusted_rand_index(&fit.labels, &truth).unwrap(), 1.0, "seed {seed}");
        assert!(fit.converged);
        assert_eq!(fit.centers.nrows(), 4);
        assert_eq!(fit.centers.ncols(), 5);
        // Centres are the cluster means and the inertia is the sum of squared distances.
        let mut inertia = 0.0;
        for i in 0..x.nrows() {
            let c = fit.labels[i];
            inertia += (0..5)
                .map(|j| (x[(i, j)] - fit.centers[(c, j)]).to_f64_lossy().powi(2))
                .sum::<f64>();
        }
        let rel = (inertia - fit.inertia.to_f64_lossy()).abs() / inertia;
        assert!(rel < 1e-4, "inertia {} vs recomputed {inertia}", fit.inertia);
    }
}

#[test]
fn separated_blobs_are_recovered_f64() {
    separated_blobs_are_recovered::<f64>();
}

#[test]
fn separated_blobs_are_recovered_f32() {
    separated_blobs_are_recovered::<f32>();
}

#[test]
fn best_of_n_init_is_the_lowest_single_start() {
    // Overlapping blobs, more clusters than groups, classic k-means++: starts disagree.
    let (x, _) = blobs::<f64>(6, 30, 4, 2.5, 11);
    let params = |n_init: usize, seed: u64| {
        KMeansParams::new(9)
            .n_init(n_init)
            .seed(seed)
            .local_trials(Some(1))
            .check()
            .unwrap()
    };
    let best = params(12, 100).fit(x.as_ref()).unwrap();
    assert_eq!(best.start_inertias.len(), 12);
    let mut distinct = best.start_inertias.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    assert!(distinct.len() > 1, "starts should differ on this data: {distinct:?}");
    for r in 0..12 {
        let single = params(1, 100 + r as u64).fit(x.as_ref()).unwrap();
        assert_eq!(
            single.inertia, best.start_inertias[r],
            "start {r} equals a single start seeded seed + r"
        );
        assert!(best.inertia <= single.inertia);
    }
    assert_eq!(best.inertia, best.start_inertias[best.best_start]);
}

#[test]
fn inertia_never_rises_over_lloyd_iterations() {
    let mut longest = 0;
    for seed in 0..8 {
        let (x, _) = blobs::<f64>(5, 60, 3, 1.5, seed);
        let fit = KMeansParams::new(7)
            .n_init(1)
            .tol(0.0)
            .local_trials(Some(1))
            .seed(seed)
            .check()
            .unwrap()
            .fit(x.as_ref())
            .unwrap();
        assert_eq!(fit.inertia_trace.len(), fit.n_iter + 1);
        assert_eq!(*fit.inertia_trace.last().unwrap(), fit.inertia);
        for w in fit.inertia_trace.windows(2) {
            assert!(
                w[1] <= w[0] * (1.0 + 1e-12),
                "seed {seed}: inertia rose {} -> {}",
                w[0],
                w[1]
            );
        }
        longest = longest.max(fit.n_iter);
    }
    // The property was exercised over real Lloyd runs, not a single step.
    assert!(longest >= 5, "longest run only {longest} iterations");
}

#[test]
fn same_seed_same_result() {
    let (x, _) = blobs::<f64>(5, 30, 3, 2.0, 3);
    let p = KMeansParams::new(5).n_init(4).seed(9).check().unwrap();
    let a = p.fit(x.as_ref()).unwrap();
    let b = p.fit(x.as_ref()).unwrap();
    assert_eq!(a.labels, b.labels);
    assert_eq!(a.centers, b.centers);
    assert_eq!(a.inertia, b.inertia);
    assert_eq!(a.start_inertias, b.start_inertias);
}

#[test]
fn degenerate_points_repair_empty_clusters_deterministically() {
    // Five identical points and k = 3: seeding can only pick the same point, so two clusters
    // start empty. The fit must end, with zero inertia and labels in range.
    let x = Mat::from_fn(5, 2, |_, j| j as f64 + 1.0);
    let fit = KMeansParams::new(3).n_init(3).check().unwrap().fit(x.as_ref()).unwrap();
    assert_eq!(fit.inertia, 0.0);
    assert!(fit.labels.iter().all(|&l| l < 3));
    // Two distinct locations, three clusters: one location gets split, inertia stays 0.
    let y = Mat::from_fn(6, 1, |i, _| if i < 3 { 0.0 } else { 5.0 });
    let fit = KMeansParams::new(3).n_init(2).check().unwrap().fit(y.as_ref()).unwrap();
    assert_eq!(fit.inertia, 0.0);
    assert_ne!(fit.labels[0], fit.labels[5]);
}

struct Reference {
    points: Mat<f64>,
    labels: Vec<usize>,
    samples: Vec<f64>,
    score: f64,
}

fn reference() -> Reference {
    let text = include_str!("fixtures/silhouette_reference.txt");
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let head: Vec<usize> = lines
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect();
    let (n, d) = (head[0], head[1]);
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|_| {
            lines
                .next()
                .unwrap()
                .split_whitespace()
                .map(|v| v.parse().unwrap())
                .collect()
        })
        .collect();
    let mut field = |name: &str| -> Vec<String> {
        let l = lines.next().unwrap();
        let mut it = l.split_whitespace();
        assert_eq!(it.next(), Some(name));
        it.map(str::to_owned).collect()
    };
    let labels = field("labels").iter().map(|v| v.parse().unwrap()).collect();
    let samples = field("samples").iter().map(|v| v.parse().unwrap()).collect();
    let score = field("score")[0].parse().unwrap();
    Reference {
        points: Mat::from_fn(n, d, |i, j| rows[i][j]),
        labels,
        samples,
        score,
    }
}

#[test]
fn silhouette_matches_scikit_learn() {
    let r = reference();
    let s = silhouette_samples(r.points.as_ref(), &r.labels).unwrap();
    assert_eq!(s.len(), r.samples.len());
    for (i, (a, b)) in s.iter().zip(&r.samples).enumerate() {
        assert!((a - b).abs() < 1e-12, "point {i}: {a} vs scikit-learn {b}");
    }
    // The isolated point alone in its cluster has silhouette 0.
    assert_eq!(*s.last().unwrap(), 0.0);
    let score = silhouette_score(r.points.as_ref(), &r.labels).unwrap();
    assert!((score - r.score).abs() < 1e-12, "{score} vs scikit-learn {}", r.score);
}

#[test]
fn silhouette_of_kmeans_on_blobs_is_high() {
    let (x, truth) = blobs::<f64>(3, 20, 3, 15.0, 5);
    let s_true = silhouette_score(x.as_ref(), &truth).unwrap();
    assert!(s_true > 0.8, "{s_true}");
    // A random relabelling has a silhouette near 0 or below.
    let shuffled: Vec<usize> = (0..truth.len()).map(|i| (i * 7 / 3) % 3).collect();
    assert!(silhouette_score(x.as_ref(), &shuffled).unwrap() < 0.2);
}

#[test]
fn typed_errors() {
    let bad = |p: KMeansParams, name: &str| match p.check() {
        Err(ClusterError::BadParam { name: n, .. }) => assert_eq!(n, name),
        other => panic!("{name}: expected BadParam, got {other:?}"),
    };
    bad(KMeansParams::new(0), "k");
    bad(KMeansParams::new(2).n_init(0), "n_init");
    bad(KMeansParams::new(2).max_iter(0), "max_iter");
    bad(KMeansParams::new(2).tol(f64::NAN), "tol");
    bad(KMeansParams::new(2).tol(-1.0), "tol");
    bad(KMeansParams::new(2).local_trials(Some(0)), "local_trials");

    let p = KMeansParams::new(4).check().unwrap();
    let x = Mat::from_fn(3, 2, |i, j| (i + j) as f64);
    assert_eq!(
        p.fit(x.as_ref()).unwrap_err(),
        ClusterError::TooFewPoints { k: 4, points: 3 }
    );
    assert_eq!(
        p.fit(Mat::<f64>::zeros(0, 2).as_ref()).unwrap_err(),
        ClusterError::EmptyInput { points: 0, dims: 2 }
    );
    let mut nan = Mat::from_fn(6, 2, |i, j| (i * j) as f32);
    nan[(4, 1)] = f32::NAN;
    assert!(matches!(
        p.fit(nan.as_ref()),
        Err(ClusterError::NonFinite { point: 4, dim: 1, .. })
    ));

    let y = Mat::from_fn(4, 2, |i, j| (i * 3 + j) as f64);
    assert_eq!(
        silhouette_score(y.as_ref(), &[0, 1, 0]).unwrap_err(),
        ClusterError::LabelCountMismatch { points: 4, labels: 3 }
    );
    assert_eq!(
        silhouette_score(y.as_ref(), &[1, 1, 1, 1]).unwrap_err(),
        ClusterError::SilhouetteLabelCount { distinct: 1, max: 3 }
    );
    assert_eq!(
        silhouette_samples(y.as_ref(), &[0, 1, 2, 3]).unwrap_err(),
        ClusterError::SilhouetteLabelCount { distinct: 4, max: 3 }
    );
    // Converts into the crate-wide error.
    let e: nmf_core::NmfError = ClusterError::TooFewPoints { k: 2, points: 1 }.into();
    assert!(e.to_string().contains("2 clusters from 1 points"));
}
