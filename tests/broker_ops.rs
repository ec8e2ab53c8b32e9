//! Against the real broker, `fabric-ai run` as operators run it: its `/metrics` counters move
//! as the input implies while it runs, `/healthz` and `/readyz` answer, SIGTERM in the middle
//! of the input stops it with status 0 within the drain bound, and the restart publishes
//! every decision a single uninterrupted run publishes, none of them twice.

mod common;

use chrono::{TimeZone, Utc};
use fabric_ai::config::Config;
use fabric_ai::simulate::{SimConfig, Simulator};
use fabric_ai::topics::TopicRole;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

const OUTPUTS: [TopicRole; 3] = [
    TopicRole::Anomalies,
    TopicRole::Predictions,
    TopicRole::ScalingDecisions,
];

fn simulation() -> Simulator {
    Simulator::new(SimConfig {
        clusters: 2,
        nodes: 3,
        period: Duration::from_secs(10),
        start: Utc.with_ymd_and_hms(2026, 8, 1, 6, 0, 0).unwrap(),
        duration: Some(Duration::from_secs(60 * 60)),
        seed: 8,
        job_interarrival: Some(Duration::from_secs(90)),
        incidents: Vec::new(),
    })
}

fn config(test: &str) -> Config {
    let mut config = common::unique_config(test);
    common::publish_everything(&mut config);
    config.windows.idle_timeout = Duration::from_secs(3);
    config.processing.commit_interval = Duration::from_millis(300);
    config.processors.enable_performance = false;
    config.processors.enable_workload = false;
    config
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `GET path` on the ops endpoints: (status, body), or `None` when nothing answers yet.
async fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let response = reqwest::get(format!("http://127.0.0.1:{port}{path}"))
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

/// The value of an unlabelled sample `name` in an exposition.
fn sample(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_and_a_sigterm_restart_loses_and_repeats_nothing() {
    let reference = config("opsref");
    common::create_topics(&reference, 3).await;
    common::run_to_completion(&reference, &mut simulation()).await;
    let expected: BTreeSet<String> = common::decisions(&reference, &OUTPUTS)
        .into_iter()
        .map(|(_, id, _)| id)
        .collect();
    assert!(
        expected.len() > 50,
        "reference too small: {}",
        expected.len()
    );

    let mut config = config("ops");
    let port = free_port();
    config.ops.listen = format!("127.0.0.1:{port}");
    common::create_topics(&config, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fabric-ai.toml");
    std::fs::write(&path, config.to_toml()).unwrap();
    let mut first = common::spawn_run(&path);

    let writer = common::write_in_background(&config, simulation(), 400.0);

    // Alive at once, ready once partitions are assigned; counters move with the input.
    common::wait_until("healthz", Duration::from_secs(30), || {
        futures::executor::block_on(get(port, "/healthz")).is_some_and(|(s, _)| s == 200)
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let early = loop {
        let (status, text) = get(port, "/metrics").await.expect("metrics answer");
        assert_eq!(status, 200);
        if sample(&text, "fabric_windows_asked_total") > 0 {
            break text;
        }
        assert!(Instant::now() < deadline, "no window closed:\n{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (ready, body) = get(port, "/readyz").await.unwrap();
    assert_eq!(ready, 200, "{body}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, later) = get(port, "/metrics").await.unwrap();
    for name in ["fabric_events_accepted_total", "fabric_windows_asked_total"] {
        assert!(
            sample(&later, name) > sample(&early, name),
            "{name} did not move:\n{later}"
        );
    }
    assert!(
        sample(&later, "fabric_decisions_acked_total") > 0,
        "{later}"
    );
    assert!(
        later.contains("fabric_events_total{topic=\"telemetry\",outcome=\"ok\"}"),
        "{later}"
    );
    assert!(
        later.contains("fabric_decisions_total{kind=\"predictions\""),
        "{later}"
    );
    assert!(!later.contains("node-0"), "node ids must not be labels");

    // SIGTERM while the input is still arriving: exit 0 within the drain bound.
    assert!(!writer.is_finished(), "the input must still be arriving");
    let stopped_at = Instant::now();
    Command::new("kill")
        .args(["-TERM", &first.0.id().to_string()])
        .status()
        .unwrap();
    let status = first.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let bound = config.kafka.session_timeout / 2 + Duration::from_secs(5);
    assert!(
        stopped_at.elapsed() < bound,
        "took {:?}",
        stopped_at.elapsed()
    );

    // The restart takes over from the committed offsets and finishes the input.
    let mut second = common::spawn_run(&path);
    writer.await.unwrap().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        let ids: BTreeSet<String> = common::decisions(&config, &OUTPUTS)
            .into_iter()
            .map(|(_, id, _)| id)
            .collect();
        if ids.is_superset(&expected) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(config.windows.idle_timeout + Duration::from_secs(2)).await;
    Command::new("kill")
        .args(["-TERM", &second.0.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(second.0.wait().unwrap().code(), Some(0));

    let got = common::decisions(&config, &OUTPUTS);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, id, _) in &got {
        *counts.entry(id).or_default() += 1;
    }
    let ids: BTreeSet<String> = counts.keys().map(|k| k.to_string()).collect();
    let missing: Vec<_> = expected.difference(&ids).collect();
    let extra: Vec<_> = ids.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "published twice: {repeated:?}");
}
