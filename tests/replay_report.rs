//! The replay report through the command line: a replay compared with an earlier one as its
//! baseline, `--fail-if` gating on the comparison (exit 4 when a rule trips, 0 when none
//! does, 2 for a rule that does not parse, 1 for a rule whose path is not in the report), and
//! the HTML page as headless Chromium renders it. Needs no broker; the Chromium test needs
//! Debian's `chromium` package and fails without it.

use chrono::{TimeZone, Utc};
use fabric_ai::event::{self, Encoding};
use fabric_ai::simulate::{Incident, SimConfig, Simulator};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Writes a simulated fleet's telemetry and job events as JSON lines; returns the two files.
fn record(dir: &Path) -> (PathBuf, PathBuf) {
    let mut sim = Simulator::new(SimConfig {
        clusters: 2,
        nodes: 3,
        period: Duration::from_secs(10),
        start: Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap(),
        duration: Some(Duration::from_secs(90 * 60)),
        seed: 11,
        job_interarrival: Some(Duration::from_secs(60)),
        incidents: [
            "spike:cluster-0/node-01:30m5s",
            "spike:cluster-0/node-00:20m5s",
            "spike:cluster-0/node-02:40m5s",
            "spike:cluster-1/node-00:25m5s",
            "spike:cluster-1/node-01:35m5s",
            "level_shift:cluster-1/node-02:50m5s",
        ]
        .iter()
        .map(|text| Incident::parse(text).unwrap())
        .collect(),
    });
    let telemetry = dir.join("telemetry.jsonl");
    let jobs = dir.join("jobs.jsonl");
    let mut t = std::fs::File::create(&telemetry).unwrap();
    let mut j = std::fs::File::create(&jobs).unwrap();
    while let Some(tick) = sim.next_tick() {
        for s in &tick.samples {
            t.write_all(&event::encode(s, Encoding::Json).unwrap())
                .unwrap();
            t.write_all(b"\n").unwrap();
        }
        for e in &tick.jobs {
            j.write_all(&event::encode(e, Encoding::Json).unwrap())
                .unwrap();
            j.write_all(b"\n").unwrap();
        }
    }
    (telemetry, jobs)
}

/// A configuration that publishes every decision, with `anomaly` settings given as TOML.
fn config(dir: &Path, name: &str, anomaly: &str) -> PathBuf {
    let path = dir.join(name);
    let text = format!(
        "[anomaly]\n{anomaly}\n\n[gating]\nmin_confidence = 0.0\n\
         load_balancing = 0.0\nresource_allocation = 0.0\nmigration = 0.0\nscaling = 0.0\n\
         energy_optimization = 0.0\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// The detector settings of the baseline run (the defaults).
const BASE: &str = "z_threshold = 6.0";
/// A detector that learns for 400 samples (over an hour here) before it may alarm, at a lower
/// threshold: the incidents in the first hour go unseen. (A lower threshold alone changes
/// little: the detector also wants a minimum absolute deviation.)
const CHANGED: &str = "z_threshold = 3.0\nwarmup_samples = 400";

/// Runs `fabric-ai replay` on the recorded files with `extra` arguments.
fn replay(inputs: &(PathBuf, PathBuf), config: &Path, out: &Path, extra: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_fabric-ai"))
        .arg("replay")
        .arg("--telemetry")
        .arg(&inputs.0)
        .arg("--jobs")
        .arg(&inputs.1)
        .arg("--config")
        .arg(config)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    eprintln!("stderr: {}", String::from_utf8_lossy(&output.stderr));
    output
}

fn report(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("report.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The first run, the baseline of the others.
fn baseline_run(dir: &Path) -> ((PathBuf, PathBuf), PathBuf) {
    let inputs = record(dir);
    let first = dir.join("first");
    let base = config(dir, "base.toml", BASE);
    let output = replay(&inputs, &base, &first, &[]);
    assert_eq!(output.status.code(), Some(0));
    (inputs, first)
}

#[test]
fn an_identical_replay_agrees_fully_and_passes_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let (inputs, first) = baseline_run(dir.path());
    let again = dir.path().join("again");
    let output = replay(
        &inputs,
        &config(dir.path(), "same.toml", BASE),
        &again,
        &[
            "--baseline",
            first.to_str().unwrap(),
            "--fail-if",
            "baseline.overall.agreement<0.99",
        ],
    );
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("baseline: agreement 1.0"), "{stderr}");

    let r = report(&again);
    let overall = &r["sections"]["baseline"]["overall"];
    assert_eq!(overall["agreement"], 1.0);
    assert!(overall["matched"].as_u64().unwrap() > 50, "{overall}");
    assert_eq!(overall["matched"], overall["baseline"]);
    assert_eq!(overall["baseline"], overall["replayed"]);
    assert_eq!(
        r["sections"]["baseline"]["differences"],
        Value::Array(vec![])
    );
    for kind in ["anomalies", "predictions", "scaling_decisions"] {
        let k = &r["sections"]["baseline"]["kinds"][kind];
        assert!(k["matched"].as_u64().unwrap() > 0, "{kind}: {k}");
    }
    // Every published decision is in the comparison once (no revisions in this input).
    assert_eq!(overall["replayed"], r["summary"]["decisions_out"]);
    assert!(again.join("report.html").is_file());
}

#[test]
fn a_changed_detector_threshold_shows_differences_and_trips_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let (inputs, first) = baseline_run(dir.path());
    let changed = dir.path().join("changed");
    let reports = dir.path().join("reports");
    let output = replay(
        &inputs,
        &config(dir.path(), "changed.toml", CHANGED),
        &changed,
        &[
            "--baseline",
            first.to_str().unwrap(),
            "--report",
            reports.to_str().unwrap(),
            "--fail-if",
            "baseline.overall.agreement<0.99",
            "--fail-if",
            "summary.dead_letters>0",
        ],
    );
    assert_eq!(output.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("fail-if tripped: sections.baseline.overall.agreement<0.99 (actual 0."),
        "{stderr}"
    );
    assert!(!stderr.contains("summary.dead_letters"), "{stderr}");
    assert!(!changed.join("report.json").exists());

    let r = report(&reports);
    let b = &r["sections"]["baseline"];
    let anomalies = &b["kinds"]["anomalies"];
    // The detector still learning during the incidents misses the baseline's anomalies.
    assert!(anomalies["missing"].as_u64().unwrap() > 0, "{anomalies}");
    assert!(anomalies["agreement"].as_f64().unwrap() < 1.0);
    let o = &b["overall"];
    let n = |k: &str| o[k].as_u64().unwrap();
    let agreement =
        n("matched") as f64 / (n("matched") + n("changed") + n("missing") + n("extra")) as f64;
    assert_eq!(o["agreement"].as_f64().unwrap(), agreement);
    assert_eq!(n("matched") + n("changed") + n("missing"), n("baseline"));
    assert_eq!(n("matched") + n("changed") + n("extra"), n("replayed"));
    let diffs = b["differences"].as_array().unwrap();
    let listed = diffs.len() as u64 + b["differences_truncated"].as_u64().unwrap();
    assert_eq!(listed, n("changed") + n("missing") + n("extra"));
    let missing = diffs
        .iter()
        .find(|d| d["status"] == "missing" && d["kind"] == "anomalies")
        .unwrap();
    let severity = missing["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "severity")
        .unwrap();
    assert!(severity["baseline"].is_string() && severity["replayed"].is_null());
    // The other processors do not depend on the detector's settings.
    assert_eq!(b["kinds"]["predictions"]["agreement"], 1.0);
}

#[test]
fn a_malformed_rule_is_refused_before_the_replay_runs() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = record(dir.path());
    let out = dir.path().join("out");
    let base = config(dir.path(), "base.toml", BASE);
    let output = replay(
        &inputs,
        &base,
        &out,
        &["--fail-if", "baseline.overall.agreement"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no operator"));
    assert!(!out.exists(), "the replay ran");
}

#[test]
fn a_rule_on_a_section_that_is_not_there_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = record(dir.path());
    let out = dir.path().join("out");
    let base = config(dir.path(), "base.toml", BASE);
    let output = replay(
        &inputs,
        &base,
        &out,
        &["--fail-if", "baseline.overall.agreement<0.99"],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--fail-if `sections.baseline.overall.agreement<0.99`"),
        "{stderr}"
    );
    // The report is written before the rules are checked.
    assert!(out.join("report.json").is_file());
}

#[test]
fn a_baseline_that_is_not_there_fails_before_the_replay_runs() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = record(dir.path());
    let out = dir.path().join("out");
    let base = config(dir.path(), "base.toml", BASE);
    let missing = dir.path().join("nowhere.jsonl");
    let output = replay(
        &inputs,
        &base,
        &out,
        &["--baseline", missing.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nowhere.jsonl"));
    assert!(!out.exists(), "the replay ran");
}

/// Dumps the DOM of `page` as headless Chromium renders it.
fn chromium_dom(page: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let run = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output();
    let output = match run {
        Ok(output) => output,
        Err(error) => panic!(
            "cannot run chromium ({error}); install it with \
             `DEBIAN_FRONTEND=noninteractive apt-get install -y chromium` (.ci/run does)"
        ),
    };
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_html_report_renders_in_headless_chromium_with_charts_markers_and_tables() {
    // The late-learning detector's run is the baseline here, so the charted run has its
    // anomalies (markers) and they are extra against the baseline (diff rows).
    let dir = tempfile::tempdir().unwrap();
    let inputs = record(dir.path());
    let late = dir.path().join("late");
    let output = replay(
        &inputs,
        &config(dir.path(), "late.toml", CHANGED),
        &late,
        &[],
    );
    assert_eq!(output.status.code(), Some(0));
    let changed = dir.path().join("charted");
    let output = replay(
        &inputs,
        &config(dir.path(), "base.toml", BASE),
        &changed,
        &["--baseline", late.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(0));
    let page = changed.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page has a URL"
    );
    assert!(!html.contains("<script"), "the page has a script");

    let dom = chromium_dom(&page);
    assert!(dom.contains("id=\"series-charts\""), "{dom}");
    assert_eq!(dom.matches("<svg class=\"chart\"").count(), 6);
    assert!(dom.contains("class=\"marker anomaly-marker\""));
    assert!(dom.contains("class=\"marker decision-marker\""));
    assert!(dom.contains("<polyline class=\"line\""));
    assert!(dom.contains("id=\"run-summary\""));
    assert!(dom.contains("id=\"baseline-table\""));
    assert!(dom.contains("id=\"diff-table\""));
    assert!(dom.contains("<tr class=\"diff extra\">"));

    // With a forecasts section (inserted here; the forecast evaluation adds it in a real
    // run), the page has the horizon table and its bar chart.
    let mut report: Value =
        serde_json::from_str(&std::fs::read_to_string(changed.join("report.json")).unwrap())
            .unwrap();
    report["sections"]["forecasts"] = serde_json::json!({
        "overall": {"horizons": [
            {"horizon": 1, "points": 40, "mase": 0.8, "smape_median": 5.0, "coverage_80": 0.82,
             "coverage_95": 0.96, "naive_mase": 1.0, "naive_smape_median": 6.5},
            {"horizon": 3, "points": 38, "mase": null, "smape_median": 7.0, "coverage_80": null,
             "coverage_95": null, "naive_mase": 1.3, "naive_smape_median": 8.0}
        ]},
        "by_resource": []
    });
    let report = fabric_ai::replay::report::Report {
        summary: report["summary"].clone(),
        sections: report["sections"].as_object().unwrap().clone(),
    };
    let synthetic = dir.path().join("synthetic.html");
    fabric_ai::replay::html::write_html(&synthetic, &report, &[]).unwrap();
    let dom = chromium_dom(&synthetic);
    assert!(dom.contains("id=\"horizon-table\""), "{dom}");
    assert!(dom.contains("id=\"horizon-chart\""));
    assert_eq!(dom.matches("class=\"bar bar-model\"").count(), 1);
    assert_eq!(dom.matches("class=\"bar bar-naive\"").count(), 2);
    assert!(dom.contains("No telemetry was replayed."));
}
