//! The replay report as one self-contained HTML page (`report.html`): inline CSS and inline
//! SVG drawn here, no script and no URL of any kind, so it opens offline and from an archived
//! CI artefact.
//!
//! The page shows, in order: the run summary (`#run-summary`), one chart per charted node
//! (`#series-charts`, each an `svg.chart` with `.anomaly-marker` circles at each anomaly's
//! `detected_at` and `.decision-marker` ticks at each of its cluster's decisions), and then,
//! when the report has them, the forecast accuracy per horizon (`#horizon-table`,
//! `#horizon-chart`), the label scores (`#labels-table`, `#profiles-table`), the scaling
//! comparison (`#scaling-table`), and the baseline comparison per kind (`#baseline-table`)
//! with the first [`MAX_DIFF_ROWS`] differences (`#diff-table`). Any other section is shown
//! as its JSON. Every text from the data is escaped.

use super::report::{Report, ReportError};
use super::series::Chart;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;

/// Differences listed in the page's diff table.
pub const MAX_DIFF_ROWS: usize = 200;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

const STYLE: &str = "
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d232a; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #c9d1d9; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f3f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 12px 0 20px; } figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { background: #fbfcfd; border: 1px solid #d8dee4; max-width: 100%; height: auto; }
.frame { fill: none; stroke: #8c959f; } .axis { font-size: 11px; fill: #57606a; }
.band { fill: #9ecbff; fill-opacity: 0.35; stroke: none; }
.line { fill: none; stroke: #0969da; stroke-width: 1.2; }
.anomaly-marker { fill: #cf222e; stroke: #fff; stroke-width: 1; }
.decision-marker { stroke: #8250df; stroke-width: 1.5; stroke-dasharray: 4 3; }
.bar-model { fill: #0969da; } .bar-naive { fill: #afb8c1; }
.legend { font-size: 12px; color: #57606a; } .muted { color: #57606a; }
.missing { color: #cf222e; } .extra { color: #1a7f37; } .changed { color: #9a6700; }
pre { background: #f6f8fa; padding: 8px; overflow: auto; }
";

/// Writes the page for `report` and `charts` to `path`.
pub fn write_html(path: &Path, report: &Report, charts: &[Chart]) -> Result<(), ReportError> {
    std::fs::write(path, render(report, charts)).map_err(|error| ReportError::Io {
        path: path.display().to_string(),
        error,
    })
}

/// The page for `report` and `charts`.
pub fn render(report: &Report, charts: &[Chart]) -> String {
    let mut page = String::with_capacity(64 * 1024);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str("<title>fabric-ai replay report</title>\n<style>");
    page.push_str(STYLE);
    page.push_str("</style>\n</head>\n<body>\n<h1>fabric-ai replay report</h1>\n");

    summary(&mut page, &report.summary);
    series(&mut page, charts);
    let known = ["series", "forecasts", "labels", "scaling", "baseline"];
    if let Some(s) = report.sections.get("forecasts") {
        forecasts(&mut page, s);
    }
    if let Some(s) = report.sections.get("labels") {
        labels(&mut page, s);
    }
    if let Some(s) = report.sections.get("scaling") {
        scaling(&mut page, s);
    }
    if let Some(s) = report.sections.get("baseline") {
        baseline(&mut page, s);
    }
    for (name, section) in &report.sections {
        if !known.contains(&name.as_str()) {
            let pretty = serde_json::to_string_pretty(section).unwrap_or_default();
            let _ = write!(
                page,
                "<section class=\"other-section\" id=\"section-{id}\">\n<h2>{name}</h2>\n\
                 <pre>{json}</pre>\n</section>\n",
                id = escape(name),
                name = escape(name),
                json = escape(&pretty)
            );
        }
    }
    page.push_str("</body>\n</html>\n");
    page
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A JSON value as table text: numbers to at most 4 decimals, `null` as a dash.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "–".to_owned(),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) => {
                let text = format!("{f:.4}");
                text.trim_end_matches('0').trim_end_matches('.').to_owned()
            }
            _ => n.to_string(),
        },
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A field of a JSON object, `null` when absent.
fn get(value: Option<&Value>, field: &str) -> Value {
    value
        .and_then(|v| v.get(field))
        .cloned()
        .unwrap_or(Value::Null)
}

/// A table with a header row; each cell is escaped, numbers right-aligned.
fn table(page: &mut String, id: &str, headers: &[&str], rows: &[Vec<Value>]) {
    let _ = write!(page, "<table id=\"{id}\">\n<thead><tr>");
    for h in headers {
        let _ = write!(page, "<th>{}</th>", escape(h));
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        page.push_str("<tr>");
        for v in row {
            let class = if v.is_number() { " class=\"num\"" } else { "" };
            let _ = write!(page, "<td{class}>{}</td>", escape(&cell(Some(v))));
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody>\n</table>\n");
}

fn summary(page: &mut String, summary: &Value) {
    page.push_str("<section id=\"run-summary\">\n<h2>Run</h2>\n");
    let rows: Vec<Vec<Value>> = summary
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| vec![Value::String(k.clone()), v.clone()])
        .collect();
    table(page, "summary-table", &["counter", "value"], &rows);
    page.push_str("</section>\n");
}

fn time_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn series(page: &mut String, charts: &[Chart]) {
    page.push_str("<section id=\"series-charts\">\n<h2>Series</h2>\n");
    if charts.is_empty() {
        page.push_str("<p class=\"muted\">No telemetry was replayed.</p>\n");
    } else {
        page.push_str(
            "<p class=\"legend\">Line: mean per point; band: lowest to highest sample; red \
             dots: anomalies (at detected_at); dashed purple ticks: the cluster's decisions \
             (at the end of their window).</p>\n",
        );
    }
    for (i, chart) in charts.iter().enumerate() {
        chart_svg(page, i, chart);
    }
    page.push_str("</section>\n");
}

fn chart_svg(page: &mut String, index: usize, chart: &Chart) {
    let (t0, t1) = match (chart.points.first(), chart.points.last()) {
        (Some(a), Some(b)) => (a.at_ms, b.at_ms),
        _ => (0, 0),
    };
    let mut lo = chart
        .points
        .iter()
        .map(|p| p.min)
        .fold(f64::INFINITY, f64::min);
    let mut hi = chart
        .points
        .iter()
        .map(|p| p.max)
        .fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        let pad = (hi.abs() * 0.1).max(0.5);
        (lo, hi) = (lo - pad, hi + pad);
    }
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |t: i64| {
        if t1 > t0 {
            LEFT + (t - t0) as f64 / (t1 - t0) as f64 * plot_w
        } else {
            LEFT + plot_w / 2.0
        }
    };
    let y = |v: f64| TOP + (1.0 - (v - lo) / (hi - lo)) * plot_h;
    let caption = format!(
        "{}/{}: {} ({} points of {} samples; {} anomalies, {} decisions)",
        chart.cluster_id,
        chart.node_id,
        chart.metric,
        chart.points.len(),
        chart.samples_per_point,
        chart.anomalies.len(),
        chart.decisions.len()
    );
    let _ = write!(
        page,
        "<figure class=\"series-chart\" data-node=\"{node}\">\n<figcaption>{caption}\
         </figcaption>\n<svg class=\"chart\" id=\"chart-{index}\" viewBox=\"0 0 {WIDTH} \
         {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" aria-label=\"{caption}\">\n",
        node = escape(&format!("{}/{}", chart.cluster_id, chart.node_id)),
        caption = escape(&caption),
    );
    let _ = writeln!(
        page,
        "<rect class=\"frame\" x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_w}\" height=\"{plot_h}\"/>"
    );
    let axis = |page: &mut String, x: f64, y: f64, anchor: &str, text: &str| {
        let _ = writeln!(
            page,
            "<text class=\"axis\" x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\">{}</text>",
            escape(text)
        );
    };
    axis(page, LEFT - 4.0, TOP + 10.0, "end", &cell(Some(&hi.into())));
    axis(
        page,
        LEFT - 4.0,
        TOP + plot_h,
        "end",
        &cell(Some(&lo.into())),
    );
    axis(page, LEFT, HEIGHT - 8.0, "start", &time_text(t0));
    axis(page, WIDTH - RIGHT, HEIGHT - 8.0, "end", &time_text(t1));

    if !chart.points.is_empty() {
        let mut band = String::new();
        for p in &chart.points {
            let _ = write!(band, "{:.1},{:.1} ", x(p.at_ms), y(p.max));
        }
        for p in chart.points.iter().rev() {
            let _ = write!(band, "{:.1},{:.1} ", x(p.at_ms), y(p.min));
        }
        let _ = writeln!(
            page,
            "<polygon class=\"band\" points=\"{}\"/>",
            band.trim_end()
        );
        let mut line = String::new();
        for p in &chart.points {
            let _ = write!(line, "{:.1},{:.1} ", x(p.at_ms), y(p.mean));
        }
        let _ = writeln!(
            page,
            "<polyline class=\"line\" points=\"{}\"/>",
            line.trim_end()
        );
    }

    for d in &chart.decisions {
        let dx = x(d.at_ms.clamp(t0, t1.max(t0)));
        let _ = writeln!(
            page,
            "<line class=\"marker decision-marker\" x1=\"{dx:.1}\" x2=\"{dx:.1}\" y1=\"{TOP}\" \
             y2=\"{:.1}\"><title>{}</title></line>",
            TOP + plot_h,
            escape(&format!("{} {}", time_text(d.at_ms), d.label))
        );
    }
    for a in &chart.anomalies {
        // The marker sits on the line at the point covering its time.
        let at = chart.points.partition_point(|p| p.at_ms <= a.at_ms);
        let value = chart
            .points
            .get(at.saturating_sub(1))
            .map(|p| p.mean)
            .unwrap_or(lo);
        let _ = writeln!(
            page,
            "<circle class=\"marker anomaly-marker\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\">\
             <title>{}</title></circle>",
            x(a.at_ms.clamp(t0, t1.max(t0))),
            y(value),
            escape(&format!("{} {}", time_text(a.at_ms), a.label))
        );
    }
    page.push_str("</svg>\n</figure>\n");
}

const HORIZON_FIELDS: [&str; 8] = [
    "horizon",
    "points",
    "mase",
    "naive_mase",
    "smape_median",
    "naive_smape_median",
    "coverage_80",
    "coverage_95",
];

fn horizon_rows(horizons: Option<&Value>) -> Vec<Vec<Value>> {
    horizons
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|h| HORIZON_FIELDS.iter().map(|f| get(Some(h), f)).collect())
        .collect()
}

fn forecasts(page: &mut String, section: &Value) {
    page.push_str("<section id=\"forecasts\">\n<h2>Forecast accuracy per horizon</h2>\n");
    let overall = section.get("overall").and_then(|o| o.get("horizons"));
    table(
        page,
        "horizon-table",
        &HORIZON_FIELDS,
        &horizon_rows(overall),
    );
    horizon_bars(page, overall);
    for r in section
        .get("by_resource")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = cell(r.get("resource"));
        let _ = writeln!(page, "<h3>{}</h3>", escape(&name));
        let id = format!("horizon-table-{}", escape(&name));
        table(page, &id, &HORIZON_FIELDS, &horizon_rows(r.get("horizons")));
    }
    page.push_str("</section>\n");
}

/// Bars of MASE per horizon, the forecaster's next to the naive forecast's.
fn horizon_bars(page: &mut String, horizons: Option<&Value>) {
    let rows: Vec<(String, Option<f64>, Option<f64>)> = horizons
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|h| {
            let f = |name: &str| h.get(name).and_then(Value::as_f64);
            (cell(h.get("horizon")), f("mase"), f("naive_mase"))
        })
        .collect();
    let top = rows
        .iter()
        .flat_map(|(_, a, b)| [*a, *b])
        .flatten()
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let (w, h) = (WIDTH, 200.0);
    let plot_h = h - TOP - BOTTOM;
    let slot = (w - LEFT - RIGHT) / rows.len().max(1) as f64;
    let _ = writeln!(
        page,
        "<p class=\"legend\">MASE per horizon: blue the forecaster, grey the naive forecast \
         (lower is better; missing bars are undefined).</p>\n<svg class=\"chart bars\" \
         id=\"horizon-chart\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" \
         role=\"img\" aria-label=\"MASE per horizon\">"
    );
    let _ = writeln!(
        page,
        "<rect class=\"frame\" x=\"{LEFT}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{plot_h}\"/>",
        w - LEFT - RIGHT
    );
    let _ = writeln!(
        page,
        "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
        LEFT - 4.0,
        TOP + 10.0,
        escape(&cell(Some(&top.into())))
    );
    for (i, (label, model, naive)) in rows.iter().enumerate() {
        let x0 = LEFT + i as f64 * slot;
        let bar_w = slot * 0.35;
        for (j, (value, class)) in [(model, "bar bar-model"), (naive, "bar bar-naive")]
            .iter()
            .enumerate()
        {
            if let Some(v) = value {
                let bh = v / top * plot_h;
                let _ = writeln!(
                    page,
                    "<rect class=\"{class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bar_w:.1}\" \
                     height=\"{bh:.1}\"><title>horizon {} {}: {}</title></rect>",
                    x0 + slot * 0.12 + j as f64 * bar_w,
                    TOP + plot_h - bh,
                    escape(label),
                    if j == 0 { "forecaster" } else { "naive" },
                    escape(&cell(Some(&(*v).into())))
                );
            }
        }
        let _ = writeln!(
            page,
            "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x0 + slot / 2.0,
            h - 8.0,
            escape(label)
        );
    }
    page.push_str("</svg>\n");
}

fn labels(page: &mut String, section: &Value) {
    page.push_str("<section id=\"labels\">\n<h2>Anomalies against labels</h2>\n");
    let fields = [
        "threshold",
        "series",
        "windows",
        "precision",
        "recall",
        "mean_time_to_detect_s",
    ];
    let row: Vec<Value> = fields.iter().map(|f| get(Some(section), f)).collect();
    table(page, "labels-table", &fields, &[row]);
    let profile_fields = ["raw", "normalized", "best_threshold", "best_normalized"];
    let rows: Vec<Vec<Value>> = section
        .get("profiles")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, p)| {
            std::iter::once(Value::String(name.clone()))
                .chain(profile_fields.iter().map(|f| get(Some(p), f)))
                .collect()
        })
        .collect();
    table(
        page,
        "profiles-table",
        &[
            "profile",
            "raw",
            "normalized",
            "best_threshold",
            "best_normalized",
        ],
        &rows,
    );
    let per = ["series", "windows", "detected", "false_alarms"];
    let rows: Vec<Vec<Value>> = section
        .get("per_series")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| per.iter().map(|f| get(Some(s), f)).collect())
        .collect();
    table(page, "per-series-table", &per, &rows);
    page.push_str("</section>\n");
}

fn scaling(page: &mut String, section: &Value) {
    page.push_str("<section id=\"scaling\">\n<h2>Scaling against baselines</h2>\n");
    let policies = ["fabric", "hpa", "perfect_foresight"];
    let metrics = ["minutes_under_capacity", "replica_minutes", "changes"];
    let mut rows = Vec::new();
    for c in section
        .get("clusters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for p in policies {
            let mut row = vec![
                get(Some(c), "cluster_id"),
                p.into(),
                get(Some(c), "minutes"),
            ];
            row.extend(metrics.iter().map(|m| get(c.get(p), m)));
            rows.push(row);
        }
    }
    let mut headers = vec!["cluster", "policy", "minutes"];
    headers.extend(metrics);
    table(page, "scaling-table", &headers, &rows);
    page.push_str("</section>\n");
}

fn baseline(page: &mut String, section: &Value) {
    page.push_str("<section id=\"baseline\">\n<h2>Against the baseline</h2>\n");
    let _ = writeln!(
        page,
        "<p>Confidence tolerance {}.</p>",
        escape(&cell(section.get("tolerance")))
    );
    let fields = [
        "baseline",
        "replayed",
        "matched",
        "changed",
        "missing",
        "extra",
        "agreement",
    ];
    let kinds = section.get("kinds").and_then(Value::as_object);
    let rows: Vec<Vec<Value>> = kinds
        .into_iter()
        .flatten()
        .map(|(name, counts)| (name.as_str(), Some(counts)))
        .chain(std::iter::once(("overall", section.get("overall"))))
        .map(|(name, counts)| {
            std::iter::once(Value::from(name))
                .chain(fields.iter().map(|f| get(counts, f)))
                .collect()
        })
        .collect();
    let mut headers = vec!["kind"];
    headers.extend(fields);
    table(page, "baseline-table", &headers, &rows);

    let diffs: Vec<&Value> = section
        .get("differences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let truncated = section
        .get("differences_truncated")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let total = diffs.len() as u64 + truncated;
    let _ = writeln!(
        page,
        "<h3>Differences</h3>\n<p>{} differences; the first {} are listed.</p>",
        total,
        total.min(MAX_DIFF_ROWS as u64)
    );
    page.push_str(
        "<table id=\"diff-table\">\n<thead><tr><th>window start</th><th>kind</th>\
         <th>scope</th><th>status</th><th>fields (baseline → replayed)</th><th>id</th></tr>\
         </thead>\n<tbody>\n",
    );
    for d in diffs.iter().take(MAX_DIFF_ROWS) {
        let status = cell(d.get("status"));
        let mut fields = String::new();
        for f in d
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let _ = write!(
                fields,
                "{}: {} → {}<br>",
                escape(&cell(f.get("field"))),
                escape(&cell(f.get("baseline"))),
                escape(&cell(f.get("replayed")))
            );
        }
        let _ = writeln!(
            page,
            "<tr class=\"diff {status}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            escape(&cell(d.get("window_start"))),
            escape(&cell(d.get("kind"))),
            escape(&cell(d.get("scope"))),
            escape(&status),
            fields,
            escape(&cell(d.get("id"))),
            status = escape(&status),
        );
    }
    page.push_str("</tbody>\n</table>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::series::{Mark, Point};
    use serde_json::json;

    fn report(sections: Value) -> Report {
        Report {
            summary: json!({"events": 3, "dead_letters": 0}),
            sections: sections.as_object().cloned().unwrap_or_default(),
        }
    }

    fn chart() -> Chart {
        Chart {
            cluster_id: "c<1>".into(),
            node_id: "n&1".into(),
            metric: "cpu_util",
            samples_per_point: 1,
            points: (0..10)
                .map(|i| Point {
                    at_ms: i * 10_000,
                    mean: 0.5,
                    min: 0.4,
                    max: 0.6 + i as f64 * 0.01,
                })
                .collect(),
            anomalies: vec![Mark {
                at_ms: 30_000,
                label: "spike <high>".into(),
            }],
            decisions: vec![Mark {
                at_ms: 60_000,
                label: "scale_out 3 -> 4".into(),
            }],
        }
    }

    #[test]
    fn text_from_the_data_is_escaped_everywhere() {
        let page = render(
            &report(json!({"odd\"<name>": {"x": "</pre><script>"}})),
            &[chart()],
        );
        assert!(page.contains("c&lt;1&gt;/n&amp;1"));
        assert!(page.contains("spike &lt;high&gt;"));
        assert!(page.contains("scale_out 3 -&gt; 4"));
        assert!(!page.contains("<script>"));
        assert!(!page.contains("odd\"<name>"));
    }

    #[test]
    fn a_chart_has_its_line_band_and_one_marker_per_mark() {
        let page = render(&report(json!({})), &[chart()]);
        assert_eq!(page.matches("<svg class=\"chart\"").count(), 1);
        assert_eq!(page.matches("class=\"marker anomaly-marker\"").count(), 1);
        assert_eq!(page.matches("class=\"marker decision-marker\"").count(), 1);
        assert!(page.contains("<polyline class=\"line\""));
        assert!(page.contains("<polygon class=\"band\""));
        assert!(!page.contains("http://") && !page.contains("https://"));
    }

    #[test]
    fn sections_present_get_their_tables_and_absent_ones_none() {
        let empty = render(&report(json!({})), &[]);
        for id in [
            "horizon-table",
            "labels-table",
            "scaling-table",
            "diff-table",
        ] {
            assert!(!empty.contains(&format!("id=\"{id}\"")), "{id}");
        }
        let full = render(
            &report(json!({
                "labels": {"threshold": 0.5, "series": 1, "windows": 2, "precision": null,
                           "recall": 0.5, "mean_time_to_detect_s": 30.0,
                           "profiles": {"standard": {"raw": -0.11, "normalized": 40.0,
                                        "best_threshold": 0.6, "best_normalized": 55.5}},
                           "per_series": [{"series": "s1", "windows": 2, "detected": 1,
                                           "false_alarms": 1}]},
                "scaling": {"clusters": [{"cluster_id": "c1", "minutes": 60,
                    "fabric": {"minutes_under_capacity": 2, "replica_minutes": 180, "changes": 3},
                    "hpa": {"minutes_under_capacity": 5, "replica_minutes": 170, "changes": 6},
                    "perfect_foresight": {"minutes_under_capacity": 0, "replica_minutes": 160,
                                          "changes": 2}}]},
                "baseline": {"tolerance": 0.05,
                    "kinds": {"anomalies": {"baseline": 1, "replayed": 1, "matched": 0,
                              "changed": 1, "missing": 0, "extra": 0, "agreement": 0.0}},
                    "overall": {"baseline": 1, "replayed": 1, "matched": 0, "changed": 1,
                                "missing": 0, "extra": 0, "agreement": 0.0},
                    "differences": [{"id": "a", "kind": "anomalies", "scope": "c1/n1",
                        "window_start": "2026-01-01T00:00:00Z", "status": "changed",
                        "fields": [{"field": "severity", "baseline": "high",
                                    "replayed": "low"}]}],
                    "differences_truncated": 0}
            })),
            &[],
        );
        for id in [
            "labels-table",
            "profiles-table",
            "per-series-table",
            "scaling-table",
            "baseline-table",
            "diff-table",
        ] {
            assert!(full.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(full.contains("<tr class=\"diff changed\">"));
        assert!(full.contains("severity: high → low"));
        assert!(full.contains("<td class=\"num\">55.5</td>"));
        // Three policies per cluster.
        assert_eq!(full.matches("<td>c1</td>").count(), 3);
    }

    #[test]
    fn at_most_the_first_rows_of_differences_are_listed() {
        let diffs: Vec<Value> = (0..MAX_DIFF_ROWS + 10)
            .map(|i| json!({"id": format!("d{i}"), "status": "extra", "fields": []}))
            .collect();
        let page = render(
            &report(json!({"baseline": {"differences": diffs, "differences_truncated": 5}})),
            &[],
        );
        assert_eq!(
            page.matches("<tr class=\"diff extra\">").count(),
            MAX_DIFF_ROWS
        );
        assert!(page.contains("215 differences; the first 200 are listed."));
    }
}
