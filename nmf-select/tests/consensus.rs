//! Consensus matrix, cophenetic correlation and dispersion against hand-computed cases.

use nmf_select::{average_linkage_cophenetic, condensed_index, cophenetic_correlation, ConsensusMatrix};

/// Four points with distances (condensed order 01, 02, 03, 12, 13, 23)
/// D = (0.2, 0.8, 0.9, 0.7, 1.0, 0.4).
///
/// Average linkage: merge {0,1} at 0.2 (the smallest distance), then {2,3} at 0.4 (the
/// smallest left: d({0,1},2) = (0.8+0.7)/2 = 0.75, d({0,1},3) = (0.9+1.0)/2 = 0.95, d(2,3) =
/// 0.4), then the two at the mean of the four cross distances (0.8+0.9+0.7+1.0)/4 = 0.85.
/// Cophenetic distances Dc = (0.2, 0.85, 0.85, 0.85, 0.85, 0.4).
///
/// Both have mean 4/6 = 2/3. Deviations: D − 2/3 = (−7/15, 2/15, 7/30, 1/30, 1/3, −4/15),
/// Dc − 2/3 = (−7/15, 11/60, 11/60, 11/60, 11/60, −4/15).
/// Σ dD·dDc = 49/225 + (11/60)(2/15 + 7/30 + 1/30 + 1/3) + 16/225
/// = 49/225 + (11/60)(11/15) + 16/225 = 127/300; Σ dD² = 49/225 + 4/225 + 49/900 + 1/900 + 1/9 + 16/225 = 71/150;
/// Σ dDc² = 49/225 + 4·121/3600 + 16/225 = 127/300.
/// ρ = (127/300) / √((71/150)(127/300)) = √(127/142) = 0.945709…
#[test]
fn cophenetic_correlation_matches_the_hand_computation() {
    let d = [0.2, 0.8, 0.9, 0.7, 1.0, 0.4];
    let coph = average_linkage_cophenetic(&d, 4);
    let expected = [0.2, 0.85, 0.85, 0.85, 0.85, 0.4];
    for (c, e) in coph.iter().zip(expected) {
        assert!((c - e).abs() < 1e-12, "{coph:?}");
    }
    let rho = cophenetic_correlation(&d, 4).unwrap();
    assert!((rho - (127.0f64 / 142.0).sqrt()).abs() < 1e-12, "{rho}");
}

#[test]
fn condensed_index_walks_the_upper_triangle_row_by_row() {
    let n = 5;
    let mut t = 0;
    for i in 0..n {
        for j in i + 1..n {
            assert_eq!(condensed_index(n, i, j), t);
            t += 1;
        }
    }
    assert_eq!(t, n * (n - 1) / 2);
}

/// Runs [0,0,1] and [0,1,1]: C̄_01 = 1/2, C̄_02 = 0, C̄_12 = 1/2. Dispersion
/// (1/9)(3·1 [diagonal] + 2·(4(½−½)² + 4(0−½)² + 4(½−½)²)) = (3 + 2)/9 = 5/9.
#[test]
fn consensus_and_dispersion_of_two_runs() {
    let mut c = ConsensusMatrix::new(3);
    c.add(&[0, 0, 1]);
    c.add(&[0, 1, 1]);
    assert_eq!(c.runs(), 2);
    assert_eq!(
        (c.get(0, 1), c.get(1, 0), c.get(0, 2), c.get(1, 2), c.get(2, 2)),
        (0.5, 0.5, 0.0, 0.5, 1.0)
    );
    assert!((c.dispersion() - 5.0 / 9.0).abs() < 1e-15);
    assert_eq!(c.distances(), vec![0.5, 1.0, 0.5]);
}

/// Identical crisp runs (label names permuted between runs) give a perfect consensus.
#[test]
fn crisp_consensus_is_perfect_whatever_the_label_names() {
    let mut c = ConsensusMatrix::new(6);
    c.add(&[0, 0, 1, 1, 2, 2]);
    c.add(&[2, 2, 0, 0, 1, 1]);
    assert_eq!(c.dispersion(), 1.0);
    assert!((c.cophenetic().unwrap() - 1.0).abs() < 1e-12);
    // One sample that wanders lowers both.
    c.add(&[0, 1, 1, 1, 2, 2]);
    assert!(c.dispersion() < 1.0);
    assert!(c.cophenetic().unwrap() < 1.0);
}

#[test]
fn degenerate_cases() {
    // Fewer than three samples: no correlation.
    assert_eq!(cophenetic_correlation(&[0.3], 2), None);
    // Every run puts everything together: D ≡ 0 is reproduced exactly, ρ = 1.
    let mut c = ConsensusMatrix::new(4);
    c.add(&[1, 1, 1, 1]);
    assert_eq!(c.cophenetic(), Some(1.0));
    assert_eq!(c.dispersion(), 1.0);
}
