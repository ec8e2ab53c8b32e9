//! Against the real broker: with `processing.max_open_keys` at 50, ten known nodes report,
//! then a burst of 5,000 samples from 5,000 new nodes arrives. Each processor takes new keys
//! only up to the limit and refuses the rest; every refusal is counted and audited; no
//! processor ever holds more than 50 keys; the known nodes keep being processed and get their
//! decisions; once the burst's windows close, new nodes are accepted again.
//!
//! The anomaly and prediction processors run (prediction publishes a decision for every
//! window, so the test sees which keys were processed). The inputs come in phases, each read
//! completely before the next is written, so which keys exist when the burst arrives does not
//! depend on how the consumer interleaves partitions.

mod common;

use fabric_ai::event::{self, AuditKind, AuditRecord, Encoding, ResourcePrediction};
use fabric_ai::stats::Stats;
use fabric_ai::topics::TopicRole;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// Start of the input, aligned to the two-minute windows.
const BASE_MS: i64 = 1_770_000_000_000;
const WINDOW_MS: i64 = 120_000;
const LIMIT: usize = 50;
const KNOWN: usize = 10;
const BURST: usize = 5_000;

fn sample(node: &str, ts_ms: i64) -> common::Record {
    common::sample_record(&common::steady_sample("c1", node, ts_ms, 0.4))
}

fn known(i: usize) -> String {
    format!("known-{i}")
}

fn flood(i: usize) -> String {
    format!("flood-{i:04}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_new_keys_beyond_the_limit_is_refused_counted_and_audited() {
    let mut config = common::unique_config("flood");
    common::publish_everything(&mut config);
    config.processors.enable_performance = false;
    config.processors.enable_workload = false;
    config.processors.enable_scaling = false;
    config.prediction.interval = Duration::from_millis(WINDOW_MS as u64);
    config.prediction.resources = vec!["cpu_util".into()];
    config.processing.max_open_keys = LIMIT;
    config.windows.idle_timeout = Duration::from_secs(3);
    // Windows close by event time only, so the keys open when the burst arrives are known.
    config.windows.max_wait = Duration::from_secs(600);
    let catalogue = common::create_topics(&config, 3).await;
    let topic = catalogue.name(TopicRole::Telemetry).to_owned();

    let stats = Arc::new(Stats::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let pipeline = tokio::spawn(fabric_ai::pipeline::run(
        config.clone(),
        stats.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    let read = |n: u64| {
        let stats = stats.clone();
        move || stats.snapshot().events_ok == n
    };

    // Phase 1: the known nodes open their first window (0..2 min).
    let phase1: Vec<common::Record> = (0..6)
        .flat_map(|t| (0..KNOWN).map(move |i| sample(&known(i), BASE_MS + t * 10_000)))
        .collect();
    common::produce_batch(&config, &topic, &phase1).await;
    let mut total = phase1.len() as u64;
    common::wait_until("the known nodes read", Duration::from_secs(60), read(total)).await;

    // Phase 2: the burst, all inside the same window, so no window closes and frees a key.
    let burst: Vec<common::Record> = (0..BURST)
        .map(|i| sample(&flood(i), BASE_MS + 60_000 + (i % 40) as i64 * 1_000))
        .collect();
    common::produce_batch(&config, &topic, &burst).await;
    total += BURST as u64;
    common::wait_until("the burst read", Duration::from_secs(120), read(total)).await;
    // Anomaly keys are nodes: 10 known, so 40 new ones fit. Prediction keys are nodes and the
    // cluster: 11, so 39 fit.
    let anomaly_refused = BURST - (LIMIT - KNOWN);
    let prediction_refused = BURST - (LIMIT - KNOWN - 1);
    let s = stats.snapshot();
    assert_eq!(
        s.refused_keys,
        (anomaly_refused + prediction_refused) as u64
    );
    assert_eq!(
        s.peak_open_keys, LIMIT as u64,
        "the limit is reached, not passed"
    );
    assert_eq!(s.dead_letters, 0);

    // Phase 3: the known nodes go on into the next two windows; the first two close.
    let phase3: Vec<common::Record> = (13..30)
        .flat_map(|t| (0..KNOWN).map(move |i| sample(&known(i), BASE_MS + t * 10_000)))
        .collect();
    common::produce_batch(&config, &topic, &phase3).await;
    total += phase3.len() as u64;
    // Anomaly: window 1 of 10 known and 40 new nodes, window 2 of the known ones. Prediction:
    // the same with 39 new nodes, plus the cluster's two windows.
    let closes = (KNOWN + 40 + KNOWN) + (KNOWN + 39 + 1 + KNOWN + 1);
    common::wait_until(
        "the known nodes' windows closed and acknowledged",
        Duration::from_secs(60),
        || {
            let s = stats.snapshot();
            s.events_ok == total
                && s.windows_closed == closes as u64
                && s.decisions_acked == s.decisions_out
        },
    )
    .await;

    // Phase 4: with the burst's windows gone, a node never seen before is accepted.
    let newcomer = "newcomer";
    common::produce_batch(&config, &topic, &[sample(newcomer, BASE_MS + 295_000)]).await;
    total += 1;
    common::wait_until("the newcomer read", Duration::from_secs(60), read(total)).await;
    let s = stats.snapshot();
    assert_eq!(
        s.refused_keys,
        (anomaly_refused + prediction_refused) as u64,
        "the newcomer was refused after the burst had left"
    );
    assert!(s.peak_open_keys <= LIMIT as u64);
    stop.send(()).unwrap();
    pipeline.await.unwrap().expect("pipeline ran cleanly");

    // One KeyRefused audit per refusal and processor, each for a distinct input offset.
    let audits: Vec<AuditRecord> = common::read_all(&config, catalogue.name(TopicRole::Audit))
        .into_iter()
        .map(|(_, p)| event::decode::<AuditRecord>(&p, Encoding::Json).unwrap())
        // Decisions and answered windows have audit records of their own.
        .filter(|a| {
            !matches!(
                a.kind,
                AuditKind::DecisionAccepted
                    | AuditKind::DecisionRejected
                    | AuditKind::WindowAnswered
            )
        })
        .collect();
    let refused_by = |processor: &str| -> (BTreeSet<String>, usize) {
        let records: Vec<&AuditRecord> = audits
            .iter()
            .filter(|a| a.kind == AuditKind::KeyRefused && a.details["processor"] == processor)
            .collect();
        let offsets: BTreeSet<(&str, &str)> = records
            .iter()
            .map(|a| {
                (
                    a.details["partition"].as_str(),
                    a.details["offset"].as_str(),
                )
            })
            .collect();
        assert_eq!(
            offsets.len(),
            records.len(),
            "{processor}: one record per input"
        );
        (
            records.iter().map(|a| a.scope.clone()).collect(),
            records.len(),
        )
    };
    let (anomaly_scopes, anomaly_records) = refused_by("anomaly");
    let (prediction_scopes, prediction_records) = refused_by("prediction");
    assert_eq!(anomaly_records, anomaly_refused);
    assert_eq!(prediction_records, prediction_refused);
    assert_eq!(
        audits.len(),
        anomaly_records + prediction_records,
        "only refusals"
    );
    let flood_scopes: BTreeSet<String> = (0..BURST).map(|i| format!("c1/{}", flood(i))).collect();
    assert!(anomaly_scopes.is_subset(&flood_scopes) && prediction_scopes.is_subset(&flood_scopes));

    // The known nodes got a prediction for both closed windows; of the burst, exactly the
    // nodes the prediction processor did not refuse got one for the first window.
    let predictions: Vec<ResourcePrediction> =
        common::read_all(&config, catalogue.name(TopicRole::Predictions))
            .into_iter()
            .map(|(_, p)| event::decode(&p, Encoding::Json).unwrap())
            .collect();
    let predicted = |start: i64| -> BTreeSet<String> {
        predictions
            .iter()
            .filter(|p| p.header.window.start.timestamp_millis() == start)
            .filter_map(|p| p.node_id.as_ref().map(|n| format!("c1/{n}")))
            .collect()
    };
    let known_scopes: BTreeSet<String> = (0..KNOWN).map(|i| format!("c1/{}", known(i))).collect();
    let first = predicted(BASE_MS);
    let second = predicted(BASE_MS + WINDOW_MS);
    assert_eq!(second, known_scopes);
    assert!(known_scopes.is_subset(&first));
    let accepted: BTreeSet<String> = first.difference(&known_scopes).cloned().collect();
    assert_eq!(accepted.len(), LIMIT - KNOWN - 1);
    assert!(accepted.is_disjoint(&prediction_scopes));
    assert_eq!(
        accepted.union(&prediction_scopes).count(),
        BURST,
        "every burst node was either taken or refused"
    );
}
