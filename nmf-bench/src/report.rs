//! What a comparison writes: `compare.json`, `compare.tsv`, an aligned text table, and
//! `convergence.svg`.

use std::fmt::Write as _;

use nmf_core::metrics::MatchedCosine;
use nmf_core::Data;
use plotters::prelude::*;
use serde_json::{json, Value};

use crate::runner::{CompareConfig, RunReport};
use crate::summary::{finite, header, summary, SummaryPieces};

/// The columns of `compare.tsv`, in order.
pub const TSV_COLUMNS: [&str; 11] = [
    "solver",
    "iterations",
    "seconds",
    "objective",
    "relative_error",
    "kl_divergence",
    "kkt_residual",
    "stop_reason",
    "mean_cosine",
    "min_cosine",
    "ari",
];

/// One summary object per run (the fields of `summary.json`, plus `status`, the shared
/// stopping rule, `recovery` when truth is known, and `oracle` when given).
pub fn compare_json(
    data: &Data<f64>,
    cfg: &CompareConfig,
    reports: &[RunReport],
    oracle: Option<&MatchedCosine>,
) -> Vec<Value> {
    let loss = cfg.loss.name();
    let par = cfg.par();
    reports
        .iter()
        .map(|r| {
            let mut s = match &r.fit {
                Some(fit) => summary(&SummaryPieces {
                    solver: r.solver.name(),
                    loss: &loss,
                    rank: cfg.rank,
                    data,
                    fit,
                    seconds: fit.seconds,
                    seed: cfg.seed,
                    par,
                }),
                None => header(r.solver.name(), &loss, cfg.rank, data, cfg.seed, par),
            };
            s.insert("status".into(), json!(r.status.as_str()));
            if let Some(reason) = r.status.reason() {
                s.insert("reason".into(), json!(reason));
            }
            s.insert("init".into(), json!(cfg.init.name()));
            s.insert("shared_init".into(), json!(true));
            s.insert("sparse".into(), json!(data.is_sparse()));
            s.insert("max_iter".into(), json!(cfg.max_iter));
            s.insert("tol".into(), json!(cfg.tol));
            s.insert("check_every".into(), json!(cfg.check_every));
            s.insert(
                "time_limit".into(),
                cfg.time_limit.map_or(Value::Null, |t| json!(t.as_secs_f64())),
            );
            if let Some(rec) = &r.recovery {
                let num = |x: Option<f64>| x.map_or(Value::Null, finite);
                s.insert(
                    "recovery".into(),
                    json!({
                        "mean_cosine": num(rec.mean_cosine),
                        "min_cosine": num(rec.min_cosine),
                        "ari": num(rec.ari),
                    }),
                );
            }
            if let Some(o) = oracle {
                s.insert(
                    "oracle".into(),
                    json!({
                        "method": "nnls W given true H",
                        "mean_cosine": finite(o.mean),
                        "min_cosine": finite(o.min),
                    }),
                );
            }
            Value::Object(s)
        })
        .collect()
}

/// The cells of one row of the table, from a summary object of [`compare_json`]: numbers
/// in short form, `NA` where unknown, `skipped`/`failed` as the stop reason of such runs.
pub fn row_cells(summary: &Value) -> Vec<String> {
    let num = |v: Option<&Value>, prec: usize| match v.and_then(Value::as_f64) {
        Some(x) if x != 0.0 && !(1e-3..1e6).contains(&x.abs()) => format!("{x:.prec$e}"),
        Some(x) => format!("{x:.prec$}"),
        None => "NA".into(),
    };
    let rec = summary.get("recovery");
    let status = summary.get("status").and_then(Value::as_str).unwrap_or("ok");
    vec![
        summary.get("solver").and_then(Value::as_str).unwrap_or("?").to_string(),
        summary
            .get("iterations")
            .and_then(Value::as_u64)
            .map_or("NA".into(), |i| i.to_string()),
        num(summary.get("seconds"), 3),
        num(summary.get("objective"), 6),
        num(summary.get("relative_error"), 6),
        num(summary.get("kl_divergence"), 6),
        num(summary.get("kkt_residual"), 4),
        if status == "ok" {
            summary
                .get("stop_reason")
                .and_then(Value::as_str)
                .unwrap_or("NA")
                .to_string()
        } else {
            status.to_string()
        },
        num(rec.and_then(|r| r.get("mean_cosine")), 4),
        num(rec.and_then(|r| r.get("min_cosine")), 4),
        num(rec.and_then(|r| r.get("ari")), 4),
    ]
}

/// `compare.tsv`: a header of [`TSV_COLUMNS`] and one row per run.
pub fn compare_tsv(summaries: &[Value]) -> String {
    let mut s = TSV_COLUMNS.join("\t");
    s.push('\n');
    for v in summaries {
        s.push_str(&row_cells(v).join("\t"));
        s.push('\n');
    }
    s
}

/// The same rows as [`compare_tsv`], as a text table with aligned columns (numbers right
/// aligned), for a terminal.
pub fn text_table(summaries: &[Value]) -> String {
    let rows: Vec<Vec<String>> = summaries.iter().map(row_cells).collect();
    let widths: Vec<usize> = (0..TSV_COLUMNS.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len())
                .chain([TSV_COLUMNS[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let left = |c: usize| c == 0 || c == 7;
    let mut s = String::new();
    let mut line = |cells: &[&str]| {
        let mut l = String::new();
        for (c, cell) in cells.iter().enumerate() {
            if c > 0 {
                l.push_str("  ");
            }
            if left(c) {
                let _ = write!(l, "{cell:<w$}", w = widths[c]);
            } else {
                let _ = write!(l, "{cell:>w$}", w = widths[c]);
            }
        }
        s.push_str(l.trim_end());
        s.push('\n');
    };
    line(&TSV_COLUMNS);
    for r in &rows {
        line(&r.iter().map(String::as_str).collect::<Vec<_>>());
    }
    s
}

/// Distinct colours for up to seven curves (then they repeat).
const COLORS: [RGBColor; 7] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
];

/// The colour of the `i`-th curve of [`convergence_svg`], as `#rrggbb`.
pub fn curve_color(i: usize) -> String {
    let RGBColor(r, g, b) = COLORS[i % COLORS.len()];
    format!("#{r:02X}{g:02X}{b:02X}")
}

/// `convergence.svg`: objective (log scale) against seconds, one labelled curve per run
/// that finished, with a legend. Runs without a fit are left out.
///
/// # Errors
/// A drawing failure, as text.
pub fn convergence_svg(title: &str, reports: &[RunReport]) -> Result<String, String> {
    let series: Vec<(&str, Vec<(f64, f64)>)> = reports
        .iter()
        .filter_map(|r| {
            let fit = r.fit.as_ref()?;
            let pts = fit
                .history
                .rows()
                .iter()
                .filter(|row| row.objective > 0.0 && row.objective.is_finite())
                .map(|row| (row.seconds, row.objective))
                .collect();
            Some((r.solver.name(), pts))
        })
        .collect();
    plot_curves(title, &series)
}

/// Draws `(x = seconds, y = objective)` curves on a log-y chart with a legend.
///
/// # Errors
/// A drawing failure, as text.
pub fn plot_curves(title: &str, series: &[(&str, Vec<(f64, f64)>)]) -> Result<String, String> {
    let all = series.iter().flat_map(|(_, p)| p.iter());
    let (mut x_max, mut y_min, mut y_max) = (0.0f64, f64::INFINITY, 0.0f64);
    for &(x, y) in all {
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    if !y_min.is_finite() || y_max <= 0.0 {
        (y_min, y_max) = (1.0, 10.0);
    }
    if x_max <= 0.0 {
        x_max = 1.0;
    }
    let (y_lo, y_hi) = if y_max > y_min {
        (y_min / (y_max / y_min).powf(0.05), y_max * (y_max / y_min).powf(0.05))
    } else {
        (y_min * 0.9, y_max * 1.1)
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..x_max * 1.02, (y_lo..y_hi).log_scale())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("seconds")
            .y_desc("objective (log scale)")
            .y_label_formatter(&|v| format!("{v:.3e}"))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (name, pts)) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// One line of a [`plot_panels`] chart: points, and optionally a ± spread drawn as a
/// vertical bar at each point.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// (x, y) points, in x order; non-finite points are left out.
    pub points: Vec<(f64, f64)>,
    /// Half-width of the bar at each point (same length as `points`), e.g. a standard
    /// deviation.
    pub spread: Option<Vec<f64>>,
}

/// One chart of a [`plot_panels`] figure, with its own y axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Y-axis label.
    pub y_label: String,
    /// Its lines.
    pub series: Vec<Series>,
}

/// Panels stacked vertically over a shared x axis (e.g. scores against rank), each with a
/// linear y axis fitted to its data, lines with point markers and a legend.
///
/// # Errors
/// A drawing failure, as text.
pub fn plot_panels(title: &str, x_label: &str, panels: &[Panel]) -> Result<String, String> {
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let xs = panels.iter().flat_map(|p| {
        p.series
            .iter()
            .flat_map(|s| s.points.iter().filter(finite).map(|q| q.0))
    });
    let (x_min, x_max) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    let (x_lo, x_hi) = if x_min.is_finite() && x_max > x_min {
        let pad = (x_max - x_min) * 0.05;
        (x_min - pad, x_max + pad)
    } else if x_min.is_finite() {
        (x_min - 1.0, x_min + 1.0)
    } else {
        (0.0, 1.0)
    };
    let height = 60 + 300 * panels.len().max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, height)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let root = root.titled(title, ("sans-serif", 20)).map_err(|e| e.to_string())?;
        let areas = root.split_evenly((panels.len().max(1), 1));
        for (panel, area) in panels.iter().zip(&areas) {
            let mut ys = panel.series.iter().flat_map(|s| {
                s.points
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| finite(p))
                    .flat_map(move |(i, p)| {
                        let d = s
                            .spread
                            .as_ref()
                            .and_then(|v| v.get(i))
                            .copied()
                            .filter(|d| d.is_finite())
                            .unwrap_or(0.0);
                        [p.1 - d, p.1 + d]
                    })
            });
            let first = ys.next();
            let (y_min, y_max) = ys.fold(first.map_or((0.0, 1.0), |y| (y, y)), |(a, b), y| (a.min(y), b.max(y)));
            let pad = if y_max > y_min {
                (y_max - y_min) * 0.08
            } else {
                y_min.abs().max(1.0) * 0.05
            };
            let mut chart = ChartBuilder::on(area)
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(85)
                .build_cartesian_2d(x_lo..x_hi, (y_min - pad)..(y_max + pad))
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .x_desc(x_label)
                .y_desc(panel.y_label.as_str())
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| format!("{v:.4}"))
                .draw()
                .map_err(|e| e.to_string())?;
            for (i, s) in panel.series.iter().enumerate() {
                let color = COLORS[i % COLORS.len()];
                let pts: Vec<(f64, f64)> = s.points.iter().filter(finite).copied().collect();
                chart
                    .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
                    .map_err(|e| e.to_string())?
                    .label(s.name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                    .map_err(|e| e.to_string())?;
                if let Some(spread) = &s.spread {
                    let bars = s.points.iter().zip(spread).filter(|(p, d)| finite(p) && d.is_finite());
                    chart
                        .draw_series(
                            bars.map(|(&(x, y), &d)| {
                                PathElement::new(vec![(x, y - d), (x, y + d)], color.stroke_width(1))
                            }),
                        )
                        .map_err(|e| e.to_string())?;
                }
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 13))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}
