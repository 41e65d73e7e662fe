//! Real data (issue 6): the UCI mice-protein set (`data/mice_protein`, Higuera et al. 2015,
//! CC BY 4.0) in the contrastive split of Abid et al. 2018 used by the bcNMF paper (SPEC
//! §1.8): does bcNMF separate the Down-syndrome model (Ts65Dn) from control mice better than
//! plain NMF on the same target?
//!
//! Data as fitted (features = the 77 proteins, columns = measurements):
//! * target X (77 × 270): `abid_role == "target"`, saline-injected S/C mice, 135 Control +
//!   135 Ts65Dn measurements (9 + 9 mice × 15 replicates);
//! * background Y (77 × 135): `abid_role == "background"`, saline C/S Control mice.
//! * Missing entries (empty CSV fields) → the mean of that protein over the observed entries
//!   of **all 1080 rows** of the table (the paper imputes "NaN → column mean" on the full
//!   table before splitting; the rows outside target/background only enter through these
//!   means; 523 entries of X and Y are imputed). Entries are clipped at 0: the table's one
//!   negative value (RRP1_N = −0.062) lies outside these rows, so this changes nothing here
//!   but keeps the loader valid for other splits.
//!
//! Protocol (fixed before the assertions; exploration in the commit message):
//! * bcNMF = the paper's analysis settings: squared error, K = 15, α = 1, 100 iterations,
//!   paper-compatible mode (U[0,1) init, reference ε, no stopping rule), one start.
//!   Plain NMF = the same fit at α = 0 (identical to multiplicative-update NMF on X, see
//!   updates.rs).
//! * 40 fits each, seeds 0..40: a single 100-iteration fit depends strongly on its start, so
//!   the comparison is between the distributions over seeds, not one lucky seed.
//! * Genotype ARI of KMeans(2, n_init = 20, seed 42) on the rows of H_Xᵀ (SPEC §1.9), on raw
//!   usages (the reference `ari_from_target_coefficients`) and on per-sample topic
//!   proportions (the notebooks' variant (a)). The paper's 0.789 used a UMAP embedding first,
//!   which we leave out (SPEC §1.9).

use faer::Mat;
use nmf_contrastive::{cluster_ari, ContrastiveLoss, ContrastiveParams};
use nmf_core::Data;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mice_protein");

struct Mice {
    x: Mat<f64>,
    y: Mat<f64>,
    /// 1 = Ts65Dn, 0 = Control, per target column.
    genotype: Vec<usize>,
    /// Missing entries inside X and Y.
    missing: usize,
    /// Negative entries inside X and Y before clipping.
    negative: usize,
}

fn load() -> Mice {
    let mut rx = csv::Reader::from_path(format!("{DIR}/X_with_missing.csv")).unwrap();
    let header = rx.headers().unwrap().clone();
    assert_eq!(&header[0], "MouseID");
    let p = header.len() - 1;
    let rows: Vec<Vec<Option<f64>>> = rx
        .records()
        .map(|r| {
            r.unwrap()
                .iter()
                .skip(1)
                .map(|v| (!v.is_empty()).then(|| v.parse().unwrap()))
                .collect()
        })
        .collect();
    let means: Vec<f64> = (0..p)
        .map(|j| {
            let seen: Vec<f64> = rows.iter().filter_map(|r| r[j]).collect();
            seen.iter().sum::<f64>() / seen.len() as f64
        })
        .collect();

    let mut rl = csv::Reader::from_path(format!("{DIR}/labels.csv")).unwrap();
    let h = rl.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (role, gen, row) = (col("abid_role"), col("Genotype"), col("row"));
    let (mut target, mut background, mut genotype) = (vec![], vec![], vec![]);
    for (i, r) in rl.records().enumerate() {
        let r = r.unwrap();
        assert_eq!(r[row].parse::<usize>().unwrap(), i, "labels.csv rows align with X");
        match &r[role] {
            "target" => {
                target.push(i);
                genotype.push(match &r[gen] {
                    "Control" => 0,
                    "Ts65Dn" => 1,
                    g => panic!("unknown genotype {g}"),
                });
            }
            "background" => background.push(i),
            _ => {}
        }
    }
    let used = || target.iter().chain(&background);
    let missing = used().map(|&i| rows[i].iter().filter(|v| v.is_none()).count()).sum();
    let negative = used()
        .map(|&i| rows[i].iter().filter(|v| v.is_some_and(|v| v < 0.0)).count())
        .sum();
    let value = |i: usize, j: usize| rows[i][j].unwrap_or(means[j]).max(0.0);
    Mice {
        x: Mat::from_fn(p, target.len(), |j, c| value(target[c], j)),
        y: Mat::from_fn(p, background.len(), |j, c| value(background[c], j)),
        genotype,
        missing,
        negative,
    }
}

struct Aris {
    raw: Vec<f64>,
    norm: Vec<f64>,
}

fn genotype_aris(m: &Mice, x: &Data<f64>, y: &Data<f64>, alpha: f64, seeds: std::ops::Range<u64>) -> Aris {
    let (mut raw, mut norm) = (vec![], vec![]);
    for seed in seeds {
        let fit = ContrastiveParams::new(15, alpha)
            .loss(ContrastiveLoss::SquaredError)
            .max_iter(100)
            .paper_compatible(true)
            .seed(seed)
            .check()
            .unwrap()
            .fit(x, y)
            .unwrap();
        assert_eq!(fit.iterations, 100);
        raw.push(
            cluster_ari(fit.h_target.as_ref(), &m.genotype, 2, 20, 42, false)
                .unwrap()
                .ari,
        );
        norm.push(
            cluster_ari(fit.h_target.as_ref(), &m.genotype, 2, 20, 42, true)
                .unwrap()
                .ari,
        );
    }
    Aris { raw, norm }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn at_least_half(v: &[f64]) -> usize {
    v.iter().filter(|&&a| a >= 0.5).count()
}

#[test]
fn bcnmf_separates_genotype_better_than_plain_nmf() {
    let m = load();
    assert_eq!((m.x.nrows(), m.x.ncols(), m.y.ncols()), (77, 270, 135));
    assert_eq!(m.genotype.iter().sum::<usize>(), 135);
    println!(
        "mice protein: X 77x270 (135 Ts65Dn), Y 77x135; {} missing entries imputed, {} negative clipped",
        m.missing, m.negative
    );
    assert_eq!((m.missing, m.negative), (523, 0));
    let x = Data::dense(m.x.clone()).unwrap();
    let y = Data::dense(m.y.clone()).unwrap();

    let seeds = 0..40;
    let bc = genotype_aris(&m, &x, &y, 1.0, seeds.clone());
    let plain = genotype_aris(&m, &x, &y, 0.0, seeds.clone());
    println!(
        "Genotype ARI, KMeans(2, n_init 20) on H_X^T, K = 15, 100 iterations, {} seeds:",
        seeds.end
    );
    println!("                 raw usages            topic proportions");
    println!("                 mean   seeds >= 0.5   mean   seeds >= 0.5");
    for (name, a) in [("bcNMF alpha=1", &bc), ("plain NMF    ", &plain)] {
        println!(
            "{name}    {:.3}  {:2}/{}          {:.3}  {:2}/{}",
            mean(&a.raw),
            at_least_half(&a.raw),
            a.raw.len(),
            mean(&a.norm),
            at_least_half(&a.norm),
            a.norm.len()
        );
    }
    for (name, a) in [("bcNMF", &bc), ("plain", &plain)] {
        let f = |v: &[f64]| v[..10].iter().map(|a| format!("{a:.2}")).collect::<Vec<_>>().join(" ");
        println!("{name} seeds 0-9: raw [{}]  proportions [{}]", f(&a.raw), f(&a.norm));
    }

    // Raw usages (the reference protocol): bcNMF finds the genotype split about twice as
    // often. Measured: mean 0.443 vs 0.250, 23 vs 10 of 40 seeds at ARI >= 0.5.
    assert!(
        mean(&bc.raw) >= mean(&plain.raw) + 0.1,
        "raw: bcNMF {} vs plain {}",
        mean(&bc.raw),
        mean(&plain.raw)
    );
    assert!(at_least_half(&bc.raw) >= at_least_half(&plain.raw) + 8);
    assert!(mean(&bc.raw) >= 0.35);
    // Topic proportions help both; bcNMF stays ahead by a smaller margin. Measured: mean
    // 0.616 vs 0.546, 34 vs 28 of 40 seeds at ARI >= 0.5.
    assert!(
        mean(&bc.norm) >= mean(&plain.norm) + 0.03,
        "proportions: bcNMF {} vs plain {}",
        mean(&bc.norm),
        mean(&plain.norm)
    );
    assert!(mean(&bc.norm) >= 0.55);
}
