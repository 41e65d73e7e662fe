//! `nmf fit --consensus R`: cNMF consensus factors of R restarts (nmf-select) written with
//! the outputs of `nmf fit`.

use std::time::Instant;

use nmf_bench::summary::finite;
use nmf_core::metrics::kl_divergence;
use nmf_core::{Data, Init, Loss, NmfFloat, NmfProblem, NmfState, Problem, Solver};
use nmf_select::{consensus_fit, ConsensusFitParams, ConsensusParams, FitSettings};
use serde_json::{json, Value};

use crate::cli::{FitArgs, InitChoice};
use crate::error::CliError;
use crate::fit::{params, solver_name, summary};
use crate::output::{factor_table, objective_curve, write_file};
use crate::progress::Progress;

/// Fits `restarts` seeded restarts (seeds `seed + 1000·rank + r`, as `nmf rank` uses) and
/// writes their consensus: W.tsv (consensus spectra, columns summing to 1), H.tsv (NNLS
/// usages), history.tsv and convergence.svg of the restart with the lowest objective, and
/// summary.json whose scores are those of the consensus factors, with a `consensus` object.
///
/// # Errors
/// As `nmf fit`, plus the consensus's own errors (a too strict density filter).
pub fn run<F, L, S>(
    args: &FitArgs,
    data: &Data<F>,
    loss: L,
    make_solver: impl Fn() -> S + Sync,
    restarts: usize,
    (features, samples, read_seconds): (&[String], &[String], f64),
) -> Result<(), CliError>
where
    F: NmfFloat,
    L: Loss<F>,
    S: for<'a> Solver<F, NmfProblem<'a, F, L>>,
{
    let valid = params::<F>(args, args.seed)?;
    // nndsvd and nndsvda barely depend on the seed: restarts from them would coincide.
    let init = match args.init {
        InitChoice::Random => Init::Random,
        InitChoice::Nndsvdar => Init::NndsvdAr,
        InitChoice::Nndsvd | InitChoice::Nndsvda => Init::Random,
    };
    let pw = valid.penalty_w();
    let ph = valid.penalty_h();
    let settings = ConsensusFitParams {
        restarts,
        seed: args.seed,
        threads: args.threads,
        fit: FitSettings {
            init: init.clone(),
            stopping: valid.stopping().clone(),
            penalty_w: (pw.l1(), pw.l2()),
            penalty_h: (ph.l1(), ph.l2()),
        },
        consensus: ConsensusParams::default(),
    };
    let bar = Progress::new(restarts, "consensus restarts", args.quiet);
    let start = Instant::now();
    let out = consensus_fit(data, args.rank, loss.clone(), make_solver, &settings, &|_| {
        bar.step("restart done")
    });
    bar.finish();
    let out = out?;
    let seconds = start.elapsed().as_secs_f64();

    let (w, h) = (out.factors.w.as_ref(), out.factors.h.as_ref());
    write_file(&args.out, "W.tsv", &factor_table("feature", features, w, false))?;
    write_file(&args.out, "H.tsv", &factor_table("sample", samples, h, true))?;
    let best = (0..out.fits.len())
        .min_by(|&a, &b| {
            let (x, y) = (out.fits[a].evaluation.objective, out.fits[b].evaluation.objective);
            x.to_f64_lossy().total_cmp(&y.to_f64_lossy())
        })
        .expect("at least one restart");
    let best_fit = &out.fits[best];
    write_file(&args.out, "history.tsv", &best_fit.history.to_tsv())?;
    let curve = objective_curve(&best_fit.history);
    let title = format!(
        "nmf fit --consensus {restarts}: {} loss, rank {} (best restart)",
        loss.name(),
        args.rank
    );
    let name = solver_name(args.solver);
    let svg = nmf_bench::report::plot_curves(&title, &[(name.as_str(), curve)])
        .map_err(|e| CliError::Nmf(nmf_core::NmfError::Unsupported(format!("drawing convergence.svg: {e}"))))?;
    write_file(&args.out, "convergence.svg", &svg)?;

    let par = valid.par();
    let mut problem = NmfProblem::new(data, loss.clone(), pw, ph, par)?;
    let eval = problem.evaluate(&NmfState {
        w: out.factors.w.clone(),
        h: out.factors.h.clone(),
    })?;
    // Relative to the best restart's initial point: (consensus / best final) · (best final / best initial).
    let best_kkt = best_fit.evaluation.kkt_norm.to_f64_lossy();
    let kkt_residual = if best_kkt > 0.0 {
        eval.kkt_norm.to_f64_lossy() / best_kkt * best_fit.kkt_residual.to_f64_lossy()
    } else {
        f64::NAN
    };
    let runs: Vec<(u64, nmf_core::NmfFit<F>)> = out.seeds.iter().copied().zip(out.fits.iter().cloned()).collect();
    let mut s = summary(args, data, &loss, &runs, best, out.seeds[best], seconds, read_seconds);
    if let Value::Object(map) = &mut s {
        for (key, value) in [
            ("objective", finite(eval.objective.to_f64_lossy())),
            ("relative_error", finite(eval.relative_error.to_f64_lossy())),
            ("kl_divergence", finite(kl_divergence(data, w, h, par).to_f64_lossy())),
            ("kkt_residual", finite(kkt_residual)),
            ("init", json!(init.name())),
            ("factors", json!("consensus")),
            (
                "consensus",
                json!({
                    "restarts": restarts,
                    "restart_seeds": "seed + 1000 * rank + r",
                    "spectra": out.factors.total,
                    "kept_spectra": out.factors.kept,
                    "density_threshold": settings.consensus.density_threshold,
                    "local_neighborhood": settings.consensus.local_neighborhood,
                    "silhouette": out.factors.silhouette.map_or(Value::Null, finite),
                    "stability": out.stability.map_or(Value::Null, finite),
                    "usages": "nnls",
                    "history_of": "the restart with the lowest objective",
                }),
            ),
        ] {
            map.insert(key.into(), value);
        }
    }
    let text = serde_json::to_string_pretty(&s).map_err(|e| CliError::Usage(e.to_string()))?;
    write_file(&args.out, "summary.json", &(text + "\n"))?;
    if !args.quiet {
        eprintln!(
            "nmf: consensus of {restarts} restarts ({} of {} spectra kept, silhouette {}), relative error {:.4}, written to {}",
            out.factors.kept,
            out.factors.total,
            out.factors
                .silhouette
                .map_or("NA".to_string(), |v| format!("{v:.3}")),
            eval.relative_error.to_f64_lossy(),
            args.out.display()
        );
    }
    Ok(())
}
