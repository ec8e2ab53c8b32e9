//! `fabric-ai replay --labels`: the detector's per-sample scores of a replayed series, scored
//! against labelled windows, end to end through the command line (no broker).

use std::path::{Path, PathBuf};
use std::process::Command;

fn nab(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/nab-dev")
        .join(file)
}

/// A configuration with only the anomaly processor, so the replays stay quick.
fn anomaly_only(dir: &Path) -> PathBuf {
    let path = dir.join("anomaly-only.toml");
    std::fs::write(
        &path,
        "[processors]\nenable_performance = false\nenable_workload = false\n\
         enable_prediction = false\nenable_scaling = false\n",
    )
    .unwrap();
    path
}

/// Runs `fabric-ai replay` with `args`; returns (success, stderr).
fn replay(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let run = Command::new(env!("CARGO_BIN_EXE_fabric-ai"))
        .arg("replay")
        .args(args)
        .output()
        .unwrap();
    (
        run.status.success(),
        String::from_utf8_lossy(&run.stderr).into_owned(),
    )
}

/// The evaluation sections of the replay's `report.json`.
fn evaluation(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    report["sections"].clone()
}

fn fraction(v: &serde_json::Value) -> bool {
    v.is_null() || v.as_f64().is_some_and(|x| (0.0..=1.0).contains(&x))
}

#[test]
fn a_nab_series_is_scored_against_its_windows_and_every_sample_score_is_exported() {
    let dir = tempfile::tempdir().unwrap();
    let series = nab("realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv");
    let rows = std::fs::read_to_string(&series)
        .unwrap_or_else(|e| panic!("{} must exist (../shared/data): {e}", series.display()))
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count();
    let out = dir.path().join("out");
    let config = anomaly_only(dir.path());
    let windows = nab("windows.json");
    let (ok, stderr) = replay(&[
        "--series".as_ref(),
        series.as_os_str(),
        "--labels".as_ref(),
        windows.as_os_str(),
        "--export-scores".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("labels: 1 series"), "{stderr}");

    let labels = &evaluation(&out)["labels"];
    // The configuration's anomaly.threshold, the detector's alarm point.
    assert_eq!(labels["threshold"].as_f64(), Some(0.75));
    assert_eq!(labels["series"].as_u64(), Some(1));
    // windows.json gives this series two windows.
    assert_eq!(labels["windows"].as_u64(), Some(2));
    assert!(fraction(&labels["precision"]), "{labels}");
    assert!(fraction(&labels["recall"]), "{labels}");
    for profile in ["standard", "reward_low_fp", "reward_low_fn"] {
        let p = &labels["profiles"][profile];
        let normalized = p["normalized"].as_f64().unwrap();
        let best = p["best_normalized"].as_f64().unwrap();
        assert!(normalized <= 100.0 && best <= 100.0, "{profile}: {p}");
        // The best threshold is at least as good as the configured one.
        assert!(best >= normalized - 1e-9, "{profile}: {p}");
        assert!(fraction(&p["best_threshold"]), "{profile}: {p}");
    }
    let per_series = labels["per_series"].as_array().unwrap();
    assert_eq!(
        per_series[0]["series"].as_str(),
        Some("series/ec2_cpu_utilization_5f5533")
    );

    let scores = std::fs::read_to_string(out.join("anomaly_scores.csv")).unwrap();
    let mut lines = scores.lines();
    assert_eq!(lines.next(), Some("cluster_id,node_id,timestamp,score"));
    let data: Vec<&str> = lines.collect();
    assert_eq!(data.len(), rows);
    for line in &data {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(
            fields[..2],
            ["series", "ec2_cpu_utilization_5f5533"],
            "{line}"
        );
        let score: f64 = fields[3].parse().unwrap();
        // Scores lie in 0..=1: a new range scores exactly 1.
        assert!((0.0..=1.0).contains(&score), "{line}");
    }
}

#[test]
fn a_spike_inside_a_labelled_window_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    // A flat CPU series at 40% every 5 minutes, one spike to 95% at row 300, labelled
    // 295..=310.
    let at = |row: i64| {
        chrono::DateTime::from_timestamp(1_700_000_000 + row * 300, 0)
            .unwrap()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let mut csv = String::from("timestamp,value\n");
    for row in 0..400 {
        let value = if row == 300 { 95.0 } else { 40.0 };
        csv.push_str(&format!("{},{value}\n", at(row)));
    }
    let series = dir.path().join("flat_spike.csv");
    std::fs::write(&series, csv).unwrap();
    let labels = dir.path().join("labels.csv");
    std::fs::write(
        &labels,
        format!("start,end,scope\n{},{},flat_spike\n", at(295), at(310)),
    )
    .unwrap();
    let out = dir.path().join("out");
    let config = anomaly_only(dir.path());
    let (ok, stderr) = replay(&[
        "--series".as_ref(),
        series.as_os_str(),
        "--labels".as_ref(),
        labels.as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(ok, "{stderr}");

    let labels = &evaluation(&out)["labels"];
    assert_eq!(labels["windows"].as_u64(), Some(1), "{labels}");
    assert_eq!(labels["recall"].as_f64(), Some(1.0), "{labels}");
    assert_eq!(labels["precision"].as_f64(), Some(1.0), "{labels}");
    // Detected 5 rows (25 minutes) after the window opened.
    assert_eq!(labels["mean_time_to_detect_s"].as_f64(), Some(1500.0));
    let standard = labels["profiles"]["standard"]["normalized"]
        .as_f64()
        .unwrap();
    assert!(standard > 0.0, "{labels}");
    assert!(!out.join("anomaly_scores.csv").exists());
}

#[test]
fn a_series_missing_from_windows_json_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let series = dir.path().join("not_in_nab.csv");
    std::fs::write(&series, "timestamp,value\n2024-01-01 00:00:00,10\n").unwrap();
    let windows = nab("windows.json");
    let out = dir.path().join("out");
    let (ok, stderr) = replay(&[
        "--series".as_ref(),
        series.as_os_str(),
        "--labels".as_ref(),
        windows.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("`not_in_nab`"), "{stderr}");
}

#[test]
fn a_default_replay_scores_its_forecasts_and_scaling_decisions() {
    let dir = tempfile::tempdir().unwrap();
    // Four days of a real CPU series: enough 15-minute windows for forecasts to be scored.
    let full =
        std::fs::read_to_string(nab("realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv")).unwrap();
    let head: Vec<&str> = full.lines().take(1 + 4 * 288).collect();
    let series = dir.path().join("rds.csv");
    std::fs::write(&series, head.join("\n") + "\n").unwrap();
    let out = dir.path().join("out");
    let (ok, stderr) = replay(&[
        "--series".as_ref(),
        series.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("forecasts: h1"), "{stderr}");
    assert!(stderr.contains("scaling: series"), "{stderr}");

    let evaluation = evaluation(&out);
    let horizons = evaluation["forecasts"]["overall"]["horizons"]
        .as_array()
        .unwrap();
    // 15, 30 and 60 minutes ahead are 1, 2 and 4 windows of 15 minutes.
    let steps: Vec<u64> = horizons
        .iter()
        .map(|h| h["horizon"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, [1, 2, 4]);
    for h in horizons {
        assert!(h["points"].as_u64().unwrap() > 100, "{h}");
        assert!(h["mase"].as_f64().is_some_and(|m| m > 0.0), "{h}");
        assert!(h["naive_mase"].as_f64().is_some_and(|m| m > 0.0), "{h}");
        assert!(
            fraction(&h["coverage_80"]) && fraction(&h["coverage_95"]),
            "{h}"
        );
    }
    // Only CPU varies in a `--series` replay; the neutral resources are flat.
    let resources = evaluation["forecasts"]["by_resource"].as_array().unwrap();
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0]["resource"].as_str(), Some("cpu_util"));
    assert!(evaluation["forecasts"]["flat"].as_u64().unwrap() > 0);

    let clusters = evaluation["scaling"]["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1);
    let c = &clusters[0];
    let minutes = c["minutes"].as_u64().unwrap();
    assert!(minutes >= 4 * 1440 - 10, "{c}");
    // Perfect foresight is never short; every policy provisions at least one node a minute.
    assert_eq!(
        c["perfect_foresight"]["minutes_under_capacity"].as_u64(),
        Some(0)
    );
    for policy in ["fabric", "hpa", "perfect_foresight"] {
        assert!(
            c[policy]["replica_minutes"].as_u64().unwrap() >= minutes,
            "{c}"
        );
    }
}

/// A quality regression guard, not a timing: four nab-dev series (ELB requests, RDS CPU,
/// network in, a daily pattern with a jump) replayed through the command line as `run` would
/// judge them, scored with the NAB standard profile at the configured threshold. Measured
/// 91.1 when written, 91.2 with the settled range trigger (the same four series through
/// `fabric-ai replay`); the floor leaves room for small changes only.
#[test]
fn the_detector_keeps_its_measured_quality_on_four_nab_series() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let config = anomaly_only(dir.path());
    let windows = nab("windows.json");
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    for file in [
        "realAWSCloudwatch/elb_request_count_8c0756.csv",
        "realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv",
        "realAWSCloudwatch/ec2_network_in_5abac7.csv",
        "artificialWithAnomaly/art_daily_jumpsup.csv",
    ] {
        args.push("--series".into());
        args.push(nab(file).into());
    }
    for flag in [
        "--series-metric",
        "throughput_ops",
        "--series-divisor",
        "1",
        "--labels",
    ] {
        args.push(flag.into());
    }
    args.push(windows.into());
    args.push("--config".into());
    args.push(config.into());
    args.push("--out".into());
    args.push(out.clone().into());
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let (ok, stderr) = replay(&refs);
    assert!(ok, "{stderr}");
    let labels = &evaluation(&out)["labels"];
    assert_eq!(labels["windows"].as_u64(), Some(7), "{labels}");
    let standard = labels["profiles"]["standard"]["normalized"]
        .as_f64()
        .unwrap();
    assert!(standard >= 80.0, "standard score {standard}: {labels}");
}
