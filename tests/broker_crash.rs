//! Against the real broker: under steady load, `kill -9` the processor in the middle of
//! windows, restart it, and compare its decisions with a run that was not interrupted.
//!
//! Decisions are compared by id (kind, scope and window), the identity consumers deduplicate
//! on. In `exactly_once` mode a `read_committed` reader sees every id of the uninterrupted run
//! exactly once; in `at_least_once` mode it sees the same set of ids, a re-emitted decision
//! carrying the same id. Performance and workload are off here because the job join is not
//! rebuilt across a restart (see the pipeline's known limits).

mod common;

use chrono::{TimeZone, Utc};
use fabric_ai::config::{Config, Guarantee};
use fabric_ai::event::{self, Anomaly, Encoding};
use fabric_ai::simulate::{Incident, SimConfig, Simulator};
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
        start: Utc.with_ymd_and_hms(2026, 3, 3, 3, 0, 0).unwrap(),
        duration: Some(Duration::from_secs(90 * 60)),
        seed: 21,
        job_interarrival: Some(Duration::from_secs(120)),
        incidents: [
            "spike:cluster-0/node-01:18m5s",
            "level_shift:cluster-1/node-02:33m35s",
            "spike:cluster-1/node-00:51m15s",
            "spike:cluster-0/node-02:72m25s",
        ]
        .iter()
        .map(|i| Incident::parse(i).unwrap())
        .collect(),
    })
}

fn config(test: &str, guarantee: Guarantee) -> Config {
    let mut config = common::unique_config(test);
    common::publish_everything(&mut config);
    config.windows.idle_timeout = Duration::from_secs(3);
    // The killed member leaves the group only when its session times out: keep it short.
    config.kafka.session_timeout = Duration::from_secs(6);
    config.processors.enable_performance = false;
    config.processors.enable_workload = false;
    config.processing.guarantee = guarantee;
    config.processing.commit_interval = Duration::from_millis(500);
    config.processing.transactional_id = Some(format!("{}-txn", config.kafka.group_id));
    config
}

async fn reference(config: &Config) -> Vec<common::Published> {
    common::create_topics(config, 3).await;
    common::run_to_completion(config, &mut simulation()).await;
    common::decisions(config, &OUTPUTS)
}

async fn crash_and_compare(guarantee: Guarantee) {
    let name = match guarantee {
        Guarantee::AtLeastOnce => "crashalo",
        Guarantee::ExactlyOnce => "crasheos",
    };
    let expected = reference(&config(&format!("{name}ref"), guarantee)).await;
    let expected_ids: BTreeSet<String> = expected.iter().map(|(_, id, _)| id.clone()).collect();
    assert!(
        expected_ids.len() > 100,
        "reference too small: {}",
        expected_ids.len()
    );

    // The interrupted run: the processor is killed while the input is still arriving.
    let config = config(name, guarantee);
    common::create_topics(&config, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fabric-ai.toml");
    std::fs::write(&path, config.to_toml()).unwrap();
    let mut first = common::spawn_run(&path);
    let writer = common::write_in_background(&config, simulation(), 600.0);
    let killed_at = Instant::now();
    let deadline = killed_at + Duration::from_secs(30);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let published = common::decisions(&config, &OUTPUTS).len();
        if published > 20 || Instant::now() > deadline {
            break;
        }
    }
    Command::new("kill")
        .args(["-KILL", &first.0.id().to_string()])
        .status()
        .unwrap();
    first.0.wait().unwrap();
    let before_restart = common::decisions(&config, &OUTPUTS).len();
    assert!(
        !writer.is_finished(),
        "the input must still be arriving when the processor dies"
    );
    assert!(
        before_restart > 0,
        "the processor must have published before it died"
    );

    let mut second = common::spawn_run(&path);
    writer.await.unwrap().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let ids: BTreeSet<String> = common::decisions(&config, &OUTPUTS)
            .into_iter()
            .map(|(_, id, _)| id)
            .collect();
        if ids.is_superset(&expected_ids) || Instant::now() > deadline {
            break;
        }
    }
    tokio::time::sleep(config.windows.idle_timeout + Duration::from_secs(2)).await;
    Command::new("kill")
        .args(["-TERM", &second.0.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(second.0.wait().unwrap().code(), Some(0));

    let got = common::decisions(&config, &OUTPUTS);
    let got_ids: BTreeSet<String> = got.iter().map(|(_, id, _)| id.clone()).collect();
    let missing: Vec<_> = expected_ids.difference(&got_ids).collect();
    let extra: Vec<_> = got_ids.difference(&expected_ids).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );

    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, id, _) in &got {
        *counts.entry(id).or_default() += 1;
    }
    let duplicated = counts.values().filter(|c| **c > 1).count();
    if guarantee == Guarantee::ExactlyOnce {
        assert_eq!(duplicated, 0, "read_committed sees each decision once");
    }

    // Anomalies keep their node across the crash. Their shape (spike or level shift) may not:
    // the restarted detector relearns each node's spread from the re-read windows only (the
    // known limit in docs/architecture.md, "Delivery"), and the shape
    // test compares against that spread.
    let shape = |list: &[common::Published]| -> BTreeMap<String, String> {
        list.iter()
            .filter(|(role, _, _)| *role == TopicRole::Anomalies)
            .map(|(_, id, payload)| {
                let a: Anomaly = event::decode(payload, Encoding::Json).unwrap();
                (id.clone(), a.header.scope)
            })
            .collect()
    };
    assert_eq!(shape(&got), shape(&expected));
    assert!(shape(&expected).len() >= 4, "{:?}", shape(&expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_restart_after_kill_gives_the_same_decisions() {
    crash_and_compare(Guarantee::AtLeastOnce).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_restart_after_kill_gives_each_decision_once() {
    crash_and_compare(Guarantee::ExactlyOnce).await;
}
