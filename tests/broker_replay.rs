//! Against the real broker and a real HTTP engine: a live run is replayed from its input
//! topics with the answers recorded on its audit topic, and the replay reproduces every live
//! decision exactly, the engine's answers and the built-in engine's stand-ins alike. The same
//! replay with the built-in engine decides differently (so the recorded answers are what
//! reproduces the run); the comparison with the live decision topics (`--baseline-topics`)
//! finds every live decision matched; bounds by time and offset select what is read; a replay
//! to topics under another prefix publishes there, and one aimed at the live topics is
//! refused.

mod common;

use chrono::{TimeZone, Utc};
use fabric_ai::config::{AnomalyConfig, Config};
use fabric_ai::engine::server::{self, ServerOptions};
use fabric_ai::simulate::{Incident, SimConfig, Simulator};
use fabric_ai::topics::{Catalogue, TopicRole};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const OUTPUTS: [TopicRole; 5] = [
    TopicRole::Anomalies,
    TopicRole::Recommendations,
    TopicRole::Predictions,
    TopicRole::WorkloadInsights,
    TopicRole::ScalingDecisions,
];

fn simulation() -> Simulator {
    Simulator::new(SimConfig {
        clusters: 2,
        nodes: 3,
        period: Duration::from_secs(10),
        start: Utc.with_ymd_and_hms(2026, 7, 1, 8, 0, 0).unwrap(),
        duration: Some(Duration::from_secs(60 * 60)),
        seed: 45,
        job_interarrival: Some(Duration::from_secs(60)),
        incidents: [
            "spike:cluster-0/node-01:18m5s",
            "level_shift:cluster-1/node-02:38m35s",
        ]
        .iter()
        .map(|i| Incident::parse(i).unwrap())
        .collect(),
    })
}

/// An engine that differs from the built-in one (a more sensitive detector) and fails every
/// seventh request with a 500, which is not retried: those windows fall back.
async fn start_engine() -> (String, tokio::task::JoinHandle<()>, Arc<AtomicUsize>) {
    let options = ServerOptions {
        anomaly: AnomalyConfig {
            z_threshold: 3.0,
            ..AnomalyConfig::default()
        },
        ..ServerOptions::default()
    };
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let router = server::router(options).layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            async move {
                if n % 7 == 6 {
                    use axum::response::IntoResponse;
                    return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "flaky")
                        .into_response();
                }
                next.run(request).await
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (url, handle, count)
}

/// Decisions by id as JSON, from JSON-lines files in `dir`.
fn replayed(dir: &Path) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for role in OUTPUTS {
        let path = dir.join(format!("{}.jsonl", role.as_str()));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let json: Value = serde_json::from_str(line).unwrap();
            out.insert(json["id"].as_str().unwrap().to_owned(), json);
        }
    }
    out
}

/// Decisions by id as JSON, from the output topics of `config`.
fn live(config: &Config) -> BTreeMap<String, Value> {
    common::decisions(config, &OUTPUTS)
        .into_iter()
        .map(|(_, id, payload)| (id, serde_json::from_slice(&payload).unwrap()))
        .collect()
}

fn replay_cli(config_file: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fabric-ai"))
        .arg("replay")
        .arg("--topics")
        .arg("--no-progress")
        .arg("--config")
        .arg(config_file)
        .args(args)
        .output()
        .expect("run fabric-ai replay")
}

fn end_ms(decision: &Value) -> i64 {
    let end = decision["window"]["end"].as_str().unwrap();
    chrono::DateTime::parse_from_rfc3339(end)
        .unwrap()
        .timestamp_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_run_replayed_with_its_recorded_answers_is_reproduced_exactly() {
    let (url, engine, requests) = start_engine().await;
    let mut config = common::unique_config("brreplay");
    common::publish_everything(&mut config);
    config.windows.idle_timeout = Duration::from_secs(3);
    config.engine.enabled = true;
    config.engine.url = url;
    config.engine.backoff_initial = Duration::from_millis(10);
    common::create_topics(&config, 3).await;
    common::run_to_completion(&config, &mut simulation()).await;
    engine.abort();
    let live = live(&config);
    assert!(live.len() > 50, "too few live decisions: {}", live.len());
    assert!(requests.load(Ordering::Relaxed) > 50);
    let sources: Vec<&str> = live
        .values()
        .map(|d| d["source"].as_str().unwrap())
        .collect();
    assert!(sources.contains(&"engine") && sources.contains(&"builtin"));

    // The replay reads the topics as they are; the engine is gone, its answers recorded.
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("fabric.toml");
    let mut replay_config = config.clone();
    replay_config.engine.enabled = false;
    std::fs::write(&config_file, replay_config.to_toml()).unwrap();
    let out = dir.path().join("recorded");
    let run = replay_cli(
        &config_file,
        &[
            "--answers",
            "topic",
            "--out",
            out.to_str().unwrap(),
            "--baseline-topics",
            &config.kafka.topic_prefix,
        ],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "replay failed: {stderr}");
    let replay = replayed(&out);

    // Every live decision, exactly; the replay closes at the end the last windows a live run
    // still holds open when it is stopped, and nothing else.
    for (id, decision) in &live {
        assert_eq!(replay.get(id), Some(decision), "decision {id} differs");
    }
    // The comparison with the live decision topics says the same.
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let overall = &report["sections"]["baseline"]["overall"];
    assert_eq!(
        overall["matched"].as_u64(),
        Some(live.len() as u64),
        "{overall}"
    );
    assert_eq!(overall["missing"].as_u64(), Some(0), "{overall}");
    assert_eq!(overall["changed"].as_u64(), Some(0), "{overall}");
    let last_live_end = live.values().map(end_ms).max().unwrap();
    for (id, decision) in replay.iter().filter(|(id, _)| !live.contains_key(*id)) {
        assert!(
            end_ms(decision) > last_live_end,
            "replay-only decision {id} is not one of the last windows: {decision}"
        );
    }

    // Bounds: by time (message timestamps are when the live input was written) and by offset.
    let events = |stderr: &str| -> u64 {
        let at = stderr.find("replayed ").expect("summary line") + "replayed ".len();
        stderr[at..].split(' ').next().unwrap().parse().unwrap()
    };
    let all = events(&stderr);
    let bounded = |extra: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["--out", dir.path().to_str().unwrap()];
        args.extend_from_slice(extra);
        let run = replay_cli(&config_file, &args);
        let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
        assert!(run.status.success(), "{stderr}");
        events(&stderr)
    };
    assert_eq!(bounded(&["--start", "2000-01-01T00:00:00Z"]), all);
    assert_eq!(bounded(&["--start", "2100-01-01T00:00:00Z"]), 0);
    assert_eq!(bounded(&["--end", "offset:0"]), 0);
    // Ten fewer from each of the six input partitions that holds more than ten.
    let skipped = all - bounded(&["--start", "offset:10"]);
    assert!(
        skipped % 10 == 0 && (10..=60).contains(&skipped),
        "{skipped} of {all}"
    );

    // With the built-in engine instead, the anomalies differ: the answers made the difference.
    let builtin = dir.path().join("builtin");
    let run = replay_cli(&config_file, &["--out", builtin.to_str().unwrap()]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let builtin = replayed(&builtin);
    let differing = live
        .iter()
        .filter(|(id, d)| builtin.get(*id) != Some(*d))
        .count();
    assert!(
        differing > 0,
        "the built-in replay matched the engine's run"
    );

    // Outputs to topics: the live prefix is refused; another one gets the decisions.
    let run = replay_cli(
        &config_file,
        &[
            "--answers",
            "topic",
            "--out-topics",
            &config.kafka.topic_prefix,
        ],
    );
    assert!(!run.status.success());
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("live topic prefix"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let prefix = format!("{}replay.", config.kafka.topic_prefix);
    let run = replay_cli(
        &config_file,
        &["--answers", "topic", "--out-topics", &prefix],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let catalogue = Catalogue::built_in(&prefix).unwrap();
    let mut on_topics = BTreeMap::new();
    for role in OUTPUTS {
        for (_, payload) in common::read_all(&config, catalogue.name(role)) {
            let json: Value = serde_json::from_slice(&payload).unwrap();
            on_topics.insert(json["id"].as_str().unwrap().to_owned(), json);
        }
    }
    assert_eq!(on_topics, replay);
}
