//! Against the real broker: the loops that close the system and federation.
//!
//! - An actuator applies a published recommendation (an outcome on the outcomes topic); the
//!   windows after it give an `Effectiveness` event, and published forecasts give
//!   `PredictionAccuracy` events, with their metrics.
//! - Two clusters, one hot and one cold: their window summaries meet on the federation topic
//!   and give a gated, audited cross-cluster recommendation.

mod common;

use chrono::{TimeZone, Utc};
use fabric_ai::event::{
    self, AuditRecord, Effectiveness, Encoding, Outcome, OutcomeStatus, PredictionAccuracy,
    Recommendation, RecommendationType,
};
use fabric_ai::stats::Stats;
use fabric_ai::topics::{Catalogue, TopicRole};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MIN: i64 = 60_000;

/// Samples every 30 s of each `(cluster, node, cpu)` from `from_min` to `to_min` (minutes after
/// `t0`), time-ordered.
fn samples(
    t0: i64,
    from_min: i64,
    to_min: i64,
    nodes: &[(&str, &str, f64)],
) -> Vec<common::Record> {
    let mut out = Vec::new();
    let mut ts = t0 + from_min * MIN;
    while ts < t0 + to_min * MIN {
        for (cluster, node, cpu) in nodes {
            out.push(common::sample_record(&common::steady_sample(
                cluster, node, ts, *cpu,
            )));
        }
        ts += 30_000;
    }
    out
}

/// Reads `role` until `found` picks something out of it, or fails after `timeout`.
async fn find<T>(
    config: &fabric_ai::config::Config,
    role: TopicRole,
    timeout: Duration,
    mut found: impl FnMut(&[common::Record]) -> Option<T>,
) -> T {
    let catalogue = Catalogue::built_in(&config.kafka.topic_prefix).unwrap();
    let deadline = Instant::now() + timeout;
    loop {
        let records = common::read_all(config, catalogue.name(role));
        if let Some(t) = found(&records) {
            return t;
        }
        assert!(Instant::now() < deadline, "timed out reading {role:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn decoded<T: event::WireEvent>(records: &[common::Record]) -> Vec<T> {
    records
        .iter()
        .map(|(_, payload)| event::decode(payload, Encoding::Json).expect("decodes"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applied_recommendation_is_measured_and_forecasts_are_scored() {
    let mut config = common::unique_config("feedback");
    common::publish_everything(&mut config);
    config.windows.idle_timeout = Duration::from_secs(3);
    let catalogue = common::create_topics(&config, 2).await;
    let telemetry = catalogue.name(TopicRole::Telemetry).to_owned();
    let t0 = Utc
        .with_ymd_and_hms(2026, 4, 1, 9, 0, 0)
        .unwrap()
        .timestamp_millis();

    // Before: one node hot, one idle, for 35 minutes.
    let before = [("c1", "n1", 0.95), ("c1", "n2", 0.10)];
    common::produce_batch(&config, &telemetry, &samples(t0, 0, 35, &before)).await;
    let stats = Arc::new(Stats::default());
    let registry = fabric_ai::ops::metrics::registry(&stats);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let pipeline = tokio::spawn(fabric_ai::pipeline::run(
        config.clone(),
        stats.clone(),
        async {
            let _ = stopped.await;
        },
    ));

    let timeout = Duration::from_secs(90);
    let chosen: Recommendation = find(&config, TopicRole::Recommendations, timeout, |r| {
        decoded::<Recommendation>(r)
            .into_iter()
            .find(|d| d.recommendation_type == RecommendationType::LoadBalancing)
    })
    .await;

    // The actuator applies it after the last "before" sample; then the load is balanced.
    let applied_at = t0 + 35 * MIN;
    let outcome = Outcome {
        decision_id: chosen.header.id.clone(),
        status: OutcomeStatus::Applied,
        at: chrono::DateTime::from_timestamp_millis(applied_at).unwrap(),
        actuator: "test-actuator".into(),
        detail: Some("moved one job".into()),
    };
    let payload = event::encode(&outcome, Encoding::Json).unwrap();
    let outcomes = catalogue.name(TopicRole::Outcomes).to_owned();
    common::produce_raw(&config, &outcomes, &[(Some(b"c1"), &payload)]).await;
    // And a report on a decision nobody made: counted, no event.
    let stray = Outcome {
        decision_id: "not-a-decision".into(),
        ..outcome.clone()
    };
    let stray = event::encode(&stray, Encoding::Json).unwrap();
    common::produce_raw(&config, &outcomes, &[(None, &stray)]).await;
    // Give the outcome time to be read before the "after" windows close.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = [("c1", "n1", 0.50), ("c1", "n2", 0.45)];
    common::produce_batch(&config, &telemetry, &samples(t0, 35, 60, &after)).await;

    let effect: Effectiveness = find(&config, TopicRole::Effectiveness, timeout, |r| {
        decoded::<Effectiveness>(r)
            .into_iter()
            .find(|e| e.decision_id == chosen.header.id)
    })
    .await;
    assert_eq!(effect.decision_kind, "load_balancing");
    assert_eq!(effect.metric, "cpu_util_max");
    assert!(
        (effect.before - 0.95).abs() < 1e-9,
        "before: {}",
        effect.before
    );
    assert!(
        (effect.after - 0.50).abs() < 1e-9,
        "after: {}",
        effect.after
    );
    assert!(effect.improved && effect.change < 0.0);
    assert!(effect.window_after.start.timestamp_millis() >= applied_at);
    assert!(effect.window_before.end.timestamp_millis() <= applied_at);
    assert_eq!(effect.actuator, "test-actuator");

    let accuracy: Vec<PredictionAccuracy> =
        find(&config, TopicRole::PredictionAccuracy, timeout, |r| {
            let all = decoded::<PredictionAccuracy>(r);
            (all.len() >= 2).then_some(all)
        })
        .await;
    for a in &accuracy {
        assert!(config.prediction.resources.contains(&a.resource), "{a:?}");
        assert!((a.actual - a.predicted - a.error).abs() < 1e-9);
        assert!(a.target_window.start > chrono::DateTime::from_timestamp_millis(t0).unwrap());
    }
    // The idle node's CPU stayed at 0.10 for the first 35 minutes: its 15-minute forecast for
    // the second window is checked against exactly that.
    let idle = accuracy
        .iter()
        .find(|a| a.scope == "c1/n2/cpu_util" && a.horizon_minutes == 15)
        .expect("the idle node's cpu forecast was scored");
    assert!((idle.actual - 0.10).abs() < 1e-9, "{idle:?}");

    let text = fabric_ai::ops::metrics::render(&registry);
    for line in [
        "fabric_outcomes_total{kind=\"load_balancing\",status=\"applied\"} 1",
        "fabric_outcomes_total{kind=\"unknown\",status=\"applied\"} 1",
        "fabric_effectiveness_events_total{kind=\"load_balancing\",improved=\"true\"} 1",
        "fabric_prediction_accuracy_events_total{resource=\"cpu_util\",horizon_minutes=\"15\"}",
        "fabric_prediction_coverage{resource=\"cpu_util\",horizon_minutes=\"15\",interval=\"80\"}",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    stop.send(()).unwrap();
    pipeline.await.unwrap().expect("pipeline ran cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_and_a_cold_cluster_get_a_gated_cross_cluster_recommendation() {
    let mut config = common::unique_config("federation");
    config.windows.idle_timeout = Duration::from_secs(3);
    let catalogue = common::create_topics(&config, 2).await;
    let t0 = Utc
        .with_ymd_and_hms(2026, 4, 2, 9, 0, 0)
        .unwrap()
        .timestamp_millis();
    let nodes = [
        ("hot", "h1", 0.93),
        ("hot", "h2", 0.91),
        ("hot", "h3", 0.95),
        ("cold", "k1", 0.12),
        ("cold", "k2", 0.18),
        ("warm", "w1", 0.6),
    ];
    common::produce_batch(
        &config,
        catalogue.name(TopicRole::Telemetry),
        &samples(t0, 0, 31, &nodes),
    )
    .await;
    let stats = Arc::new(Stats::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let pipeline = tokio::spawn(fabric_ai::pipeline::run(
        config.clone(),
        stats.clone(),
        async {
            let _ = stopped.await;
        },
    ));

    let timeout = Duration::from_secs(90);
    let moves: Vec<Recommendation> = find(&config, TopicRole::Recommendations, timeout, |r| {
        let moves: Vec<Recommendation> = decoded::<Recommendation>(r)
            .into_iter()
            .filter(|d| d.recommendation_type == RecommendationType::CrossClusterMove)
            .collect();
        (moves.len() >= 2).then_some(moves)
    })
    .await;
    for m in &moves {
        assert_eq!(m.header.cluster_id, "hot");
        assert_eq!(m.target_cluster.as_deref(), Some("cold"), "warm is neither");
        assert!(m.header.confidence >= config.gating.cross_cluster);
        assert!(m.action.contains("from hot to cold"), "{}", m.action);
    }
    // Every window is judged once: the ids differ.
    assert_ne!(moves[0].header.id, moves[1].header.id);

    let audited: Vec<AuditRecord> = find(&config, TopicRole::Audit, timeout, |r| {
        let hits: Vec<AuditRecord> = decoded::<AuditRecord>(r)
            .into_iter()
            .filter(|a| a.details.get("processor").map(String::as_str) == Some("federation"))
            .collect();
        (hits.len() >= 2).then_some(hits)
    })
    .await;
    assert!(audited
        .iter()
        .any(|a| a.decision_id.as_deref() == Some(moves[0].header.id.as_str())));
    assert!(audited.iter().all(|a| a.details["gating"] == "accepted"));

    // The summaries all went to the federation topic's one partition, under one key.
    let summaries = common::read_all(&config, catalogue.name(TopicRole::Federation));
    assert!(
        summaries.len() >= 3 * 5,
        "3 clusters x 5 closed windows at least"
    );
    assert!(summaries.iter().all(|(key, _)| key == b"federation"));
    stop.send(()).unwrap();
    pipeline.await.unwrap().expect("pipeline ran cleanly");
}
