//! Against the real broker: two instances in one consumer group share the partitions; one is
//! stopped in the middle of the run and its partitions move to the other. No window is lost:
//! together they publish a prediction for every node and cluster window, a scaling decision for
//! every cluster window and the anomalies (the injected spikes, one of them on a node whose
//! partition moves), the same ids a single instance publishes alone.

mod common;

use chrono::{TimeZone, Utc};
use fabric_ai::config::Config;
use fabric_ai::simulate::{Incident, SimConfig, Simulator};
use fabric_ai::stats::Stats;
use fabric_ai::topics::TopicRole;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const OUTPUTS: [TopicRole; 3] = [
    TopicRole::Anomalies,
    TopicRole::Predictions,
    TopicRole::ScalingDecisions,
];

fn simulation() -> Simulator {
    Simulator::new(SimConfig {
        clusters: 2,
        nodes: 4,
        period: Duration::from_secs(10),
        start: Utc.with_ymd_and_hms(2026, 4, 4, 4, 0, 0).unwrap(),
        duration: Some(Duration::from_secs(80 * 60)),
        seed: 33,
        job_interarrival: Some(Duration::from_secs(120)),
        incidents: [
            "spike:cluster-0/node-03:18m5s",
            "spike:cluster-1/node-01:62m25s",
        ]
        .iter()
        .map(|i| Incident::parse(i).unwrap())
        .collect(),
    })
}

fn config(test: &str) -> Config {
    let mut config = common::unique_config(test);
    common::publish_everything(&mut config);
    config.windows.idle_timeout = Duration::from_secs(3);
    config.kafka.session_timeout = Duration::from_secs(6);
    config.processing.commit_interval = Duration::from_millis(500);
    config.processors.enable_performance = false;
    config.processors.enable_workload = false;
    config
}

fn ids(published: &[common::Published]) -> BTreeSet<String> {
    published.iter().map(|(_, id, _)| id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_leaving_mid_run_loses_no_window() {
    let reference = config("rebalref");
    common::create_topics(&reference, 4).await;
    common::run_to_completion(&reference, &mut simulation()).await;
    let published = common::decisions(&reference, &OUTPUTS);
    let spikes = published
        .iter()
        .filter(|(role, _, _)| *role == TopicRole::Anomalies)
        .count();
    assert!(
        spikes >= 2,
        "the reference reports both spikes, got {spikes} anomalies"
    );
    let expected = ids(&published);
    assert!(expected.len() > 100);

    let config = config("rebal");
    common::create_topics(&config, 4).await;
    let start = |config: &Config| {
        let stats = Arc::new(Stats::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(fabric_ai::pipeline::run(
            config.clone(),
            stats.clone(),
            async {
                let _ = stopped.await;
            },
        ));
        (stats, stop, task)
    };
    let (stats_a, stop_a, task_a) = start(&config);
    let (stats_b, stop_b, task_b) = start(&config);

    // Feed the input slowly enough that B leaves while windows are open on its partitions.
    let writer = common::write_in_background(&config, simulation(), 500.0);
    common::wait_until("both members processing", Duration::from_secs(60), || {
        stats_a.snapshot().events_ok > 100 && stats_b.snapshot().events_ok > 100
    })
    .await;
    stop_b.send(()).unwrap();
    task_b.await.unwrap().expect("B stopped cleanly");
    assert!(
        !writer.is_finished(),
        "B must leave while input is still arriving"
    );
    let b_processed = stats_b.snapshot().events_ok;

    let report = writer.await.unwrap().unwrap();
    let total = report.samples + report.job_events;
    common::wait_until("A to take over and finish", Duration::from_secs(90), || {
        let a = stats_a.snapshot();
        a.events_ok + b_processed >= total && a.decisions_acked == a.decisions_out
    })
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !ids(&common::decisions(&config, &OUTPUTS)).is_superset(&expected)
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // As in the reference: every partition idle, the last decisions out.
    tokio::time::sleep(config.windows.idle_timeout + Duration::from_secs(2)).await;
    common::wait_until("A's last decisions", Duration::from_secs(30), || {
        let a = stats_a.snapshot();
        a.decisions_acked == a.decisions_out
    })
    .await;
    stop_a.send(()).unwrap();
    task_a.await.unwrap().expect("A stopped cleanly");

    let got = ids(&common::decisions(&config, &OUTPUTS));
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(missing.is_empty(), "lost windows: {missing:?}");
    assert!(extra.is_empty(), "unexpected decisions: {extra:?}");
}
