//! Against the real broker: simulate with a fixed seed, run the pipeline, and find exactly one
//! anomaly per injected spike and level shift, on the right node and window, and none for
//! nodes without incidents; offsets are committed only up to what open windows still need.

mod common;

use chrono::{TimeZone, Utc};
use fabric_ai::event::{self, Anomaly, AnomalyType, Encoding};
use fabric_ai::simulate::{Incident, SimConfig, Simulator};
use fabric_ai::stats::Stats;
use fabric_ai::topics::TopicRole;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_incidents_become_one_anomaly_each_on_the_right_node_and_window() {
    let mut config = common::unique_config("pipeline");
    // Job events are sparse: a job-event partition that never receives one stops holding the
    // watermark back after this long.
    config.windows.idle_timeout = Duration::from_secs(3);
    let catalogue = common::create_topics(&config, 3).await;

    let start = Utc.with_ymd_and_hms(2026, 2, 1, 8, 0, 0).unwrap();
    let mut sim = Simulator::new(SimConfig {
        clusters: 2,
        nodes: 4,
        period: Duration::from_secs(10),
        start,
        duration: Some(Duration::from_secs(40 * 60)),
        seed: 11,
        job_interarrival: Some(Duration::from_secs(60)),
        incidents: vec![
            Incident::parse("spike:cluster-0/node-01:18m5s").unwrap(),
            Incident::parse("level_shift:cluster-1/node-02:20m35s").unwrap(),
            Incident::parse("spike:cluster-1/node-03:30m15s:cpu:0.45").unwrap(),
        ],
    });
    let report = fabric_ai::simulate::sink::write_to_kafka(
        &mut sim,
        &config,
        None,
        std::future::pending(),
        |_| {},
    )
    .await
    .expect("simulation written");
    let total = report.samples + report.job_events;

    let stats = Arc::new(Stats::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let pipeline = tokio::spawn(fabric_ai::pipeline::run(
        config.clone(),
        stats.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    common::wait_until(
        "every input processed and every decision acknowledged",
        Duration::from_secs(90),
        || {
            let s = stats.snapshot();
            // 8 nodes x 40 minutes in 2-minute windows: all but the last window per node close.
            s.events_ok == total
                && s.windows_closed >= 8 * 19
                && s.decisions_acked == s.decisions_out
        },
    )
    .await;
    // One more commit interval, so the final committable offsets are written.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    eprintln!("stats before stop: {:?}", stats.snapshot());
    stop.send(()).unwrap();
    pipeline.await.unwrap().expect("pipeline ran cleanly");

    let anomalies: Vec<Anomaly> = common::read_all(&config, catalogue.name(TopicRole::Anomalies))
        .into_iter()
        .map(|(key, payload)| {
            let a: Anomaly = event::decode(&payload, Encoding::Json).unwrap();
            assert_eq!(key, a.header.scope.as_bytes(), "keyed by cluster and node");
            a
        })
        .collect();
    let at = |m| Utc.with_ymd_and_hms(2026, 2, 1, 8, m, 0).unwrap();
    let mut found: Vec<_> = anomalies
        .iter()
        .map(|a| {
            (
                a.header.scope.as_str(),
                a.header.window.start,
                a.header.window.end,
                a.anomaly_type,
            )
        })
        .collect();
    found.sort_by_key(|f| (f.0, f.1));
    assert_eq!(
        found,
        vec![
            ("cluster-0/node-01", at(18), at(20), AnomalyType::Spike),
            ("cluster-1/node-02", at(20), at(22), AnomalyType::LevelShift),
            ("cluster-1/node-03", at(30), at(32), AnomalyType::Spike),
        ]
    );
    for a in &anomalies {
        assert!(a.header.confidence > 0.5 && a.header.confidence <= 1.0);
        assert!(a.metrics.iter().any(|m| m.metric == "cpu_util"), "{a:?}");
        assert_eq!(
            a.header.id,
            event::decision_id("anomaly", &a.header.scope, &a.header.window)
        );
    }

    // The last windows are still open (the watermark has not passed them), so the committed
    // offsets stop short of the end of each telemetry partition, but past its beginning.
    let topic = catalogue.name(TopicRole::Telemetry);
    let committed = common::committed(&config, &config.kafka.group_id, topic, 3);
    let ends = common::high_watermarks(&config, topic);
    for (p, (offset, end)) in committed.iter().zip(&ends).enumerate() {
        if *end == 0 {
            continue;
        }
        assert!(
            *offset > 0 && offset < end,
            "partition {p}: committed {committed:?}, ends {ends:?}"
        );
    }
}
