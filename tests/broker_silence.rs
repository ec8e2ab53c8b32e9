//! Against the real broker, in real time with settings of a few seconds: one node stops while
//! another keeps reporting, then the other stops too and nothing more arrives. The first is
//! reported silent once the watermark, carried by the second, is `silence_after` past its last
//! sample. The second's last window is never passed by the watermark, so only the wall-clock
//! wait (`windows.max_wait`) can close it; it closes, and that node is reported silent by the
//! wall clock. Each silent node gets exactly one `node_silent` anomaly.
//!
//! The prediction processor runs beside the anomaly processor, with the same window size,
//! because it publishes a decision for every closed window: that is how the test sees that
//! the last window closed.

mod common;

use fabric_ai::event::{self, Anomaly, AnomalyType, Encoding, ResourcePrediction};
use fabric_ai::stats::Stats;
use fabric_ai::topics::TopicRole;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Start of the input, aligned to the window size.
const BASE_MS: i64 = 1_770_000_000_000;
const WINDOW: Duration = Duration::from_secs(2);
const MAX_WAIT: Duration = Duration::from_secs(2);
const SILENCE_AFTER: Duration = Duration::from_secs(3);

fn sample(node: &str, ts_ms: i64, i: i64) -> common::Record {
    let cpu = 0.40 + 0.01 * (i % 3) as f64;
    common::sample_record(&common::steady_sample("c1", node, ts_ms, cpu))
}

fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

fn window_of(ts_ms: i64) -> (i64, i64) {
    let start = ts_ms.div_euclid(ms(WINDOW)) * ms(WINDOW);
    (start, start + ms(WINDOW))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_nodes_last_window_closes_by_the_wall_clock_and_it_is_reported_silent() {
    let mut config = common::unique_config("silence");
    common::publish_everything(&mut config);
    config.processors.enable_performance = false;
    config.processors.enable_workload = false;
    config.processors.enable_scaling = false;
    config.anomaly.interval = WINDOW;
    config.anomaly.silence_after = SILENCE_AFTER;
    config.prediction.interval = WINDOW;
    config.prediction.resources = vec!["cpu_util".into()];
    config.windows.out_of_orderness = Duration::from_secs(1);
    config.windows.idle_timeout = Duration::from_secs(2);
    config.windows.max_wait = MAX_WAIT;
    let catalogue = common::create_topics(&config, 2).await;

    // "quiet" reports for 5 s of event time, "steady" for 16 s; then nothing.
    let quiet_last = BASE_MS + 4_500;
    let steady_last = BASE_MS + 15_500;
    let mut records = Vec::new();
    for i in 0..32 {
        let ts = BASE_MS + i * 500;
        if ts <= quiet_last {
            records.push(sample("quiet", ts, i));
        }
        records.push(sample("steady", ts, i));
    }
    common::produce_batch(&config, catalogue.name(TopicRole::Telemetry), &records).await;

    // Windows each processor closes: every node window, and (prediction) every cluster one.
    let quiet_windows = (window_of(quiet_last).0 - BASE_MS) / ms(WINDOW) + 1;
    let steady_windows = (window_of(steady_last).0 - BASE_MS) / ms(WINDOW) + 1;
    let expected_closes = (quiet_windows + steady_windows) * 2 + steady_windows;

    let stats = Arc::new(Stats::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let pipeline = tokio::spawn(fabric_ai::pipeline::run(
        config.clone(),
        stats.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    common::wait_until(
        "every window closed, the last ones by the wall clock",
        Duration::from_secs(60),
        || stats.snapshot().windows_closed == expected_closes as u64,
    )
    .await;
    let all_closed = started.elapsed();
    let anomalies_topic = catalogue.name(TopicRole::Anomalies);
    let silent_of = |records: &[common::Record]| -> Vec<Anomaly> {
        records
            .iter()
            .map(|(_, p)| event::decode::<Anomaly>(p, Encoding::Json).unwrap())
            .filter(|a| a.anomaly_type == AnomalyType::NodeSilent)
            .collect()
    };
    let mut silent_at = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while silent_at.is_none() {
        assert!(Instant::now() < deadline, "no node_silent for both nodes");
        if silent_of(&common::read_all(&config, anomalies_topic)).len() >= 2 {
            silent_at = Some(started.elapsed());
        } else {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    common::wait_until("decisions acknowledged", Duration::from_secs(30), || {
        let s = stats.snapshot();
        s.decisions_acked == s.decisions_out
    })
    .await;
    // Two more ticks: a node reported twice would show up by now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.send(()).unwrap();
    pipeline.await.unwrap().expect("pipeline ran cleanly");

    // The watermark never passes the steady node's last window (its end is after the last
    // sample), so it closed by the wall clock: no earlier than its size plus the maximum wait
    // after its first sample was read, which was after the pipeline started.
    assert!(
        all_closed >= WINDOW + MAX_WAIT,
        "closed after {all_closed:?}, before the wall-clock wait could have run out"
    );
    assert!(
        silent_at.unwrap() >= SILENCE_AFTER + MAX_WAIT,
        "steady reported silent after {silent_at:?}, before silence_after + max_wait"
    );

    let predictions: Vec<ResourcePrediction> =
        common::read_all(&config, catalogue.name(TopicRole::Predictions))
            .into_iter()
            .map(|(_, p)| event::decode(&p, Encoding::Json).unwrap())
            .collect();
    let windows_of = |node: &str| -> BTreeSet<(i64, i64)> {
        predictions
            .iter()
            .filter(|p| p.node_id.as_deref() == Some(node))
            .map(|p| {
                (
                    p.header.window.start.timestamp_millis(),
                    p.header.window.end.timestamp_millis(),
                )
            })
            .collect()
    };
    let last_steady = window_of(steady_last);
    assert!(
        last_steady.1 > steady_last - ms(config.windows.out_of_orderness),
        "the watermark could have passed the last window"
    );
    assert!(
        windows_of("steady").contains(&last_steady),
        "the steady node's last window was not closed"
    );
    assert!(windows_of("quiet").contains(&window_of(quiet_last)));

    // One node_silent per node, in the window where its silence was established.
    let silent = silent_of(&common::read_all(&config, anomalies_topic));
    let mut found: Vec<(String, (i64, i64), i64)> = silent
        .iter()
        .map(|a| {
            assert_eq!(
                a.header.id,
                event::decision_id("anomaly.node_silent", &a.header.scope, &a.header.window)
            );
            (
                a.node_id.clone(),
                (
                    a.header.window.start.timestamp_millis(),
                    a.header.window.end.timestamp_millis(),
                ),
                a.detected_at.timestamp_millis(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            (
                "quiet".to_string(),
                window_of(quiet_last + ms(SILENCE_AFTER)),
                quiet_last
            ),
            (
                "steady".to_string(),
                window_of(steady_last + ms(SILENCE_AFTER)),
                steady_last
            ),
        ]
    );
}
