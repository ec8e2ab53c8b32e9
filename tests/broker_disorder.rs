//! Against the real broker: telemetry shuffled within the out-of-orderness bound, then samples
//! sent after their windows closed, some within the allowed lateness and some beyond it. The
//! published windows are exactly those a reference computes offline from the same input, each
//! with the number of samples it must have counted; a sample within the lateness re-emits its
//! window with the same id and a higher revision; every sample beyond it is counted and
//! audited, and changes nothing.
//!
//! Only the scaling processor runs, with one-minute windows per cluster: its decision carries
//! `current_capacity`, the number of distinct nodes in the window, and every sample here has a
//! node id of its own, so a decision shows exactly how many samples its window counted. The
//! input is one partition, so the order the shuffle creates is the order the pipeline reads.

mod common;

use fabric_ai::event::{self, AuditKind, AuditRecord, Encoding, ScalingDecision, TelemetrySample};
use fabric_ai::stats::Stats;
use fabric_ai::topics::TopicRole;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// Start of the input, aligned to the minute.
const BASE_MS: i64 = 1_770_000_000_000;
const WINDOW_MS: i64 = 60_000;
const DISORDER_MS: i64 = 20_000;
const LATENESS_MS: i64 = 60_000;
const CLUSTERS: [&str; 3] = ["c0", "c1", "c2"];

fn sample(cluster: &str, node: &str, ts_ms: i64) -> TelemetrySample {
    common::steady_sample(cluster, node, ts_ms, 0.5)
}

fn record(s: &TelemetrySample) -> common::Record {
    common::sample_record(s)
}

fn window_start(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(WINDOW_MS) * WINDOW_MS
}

/// Six minutes of samples every 5 s per cluster, about a fifth left out at random so windows
/// count differently, ordered by time plus a random delay below the disorder bound.
fn shuffled_on_time_input(rng: &mut rand_chacha::ChaCha8Rng) -> Vec<TelemetrySample> {
    let mut keyed = Vec::new();
    for (c, cluster) in CLUSTERS.iter().enumerate() {
        for k in 0..72 {
            if rng.gen_bool(0.2) {
                continue;
            }
            let ts = BASE_MS + k * 5_000 + c as i64 * 1_000;
            let delay = rng.gen_range(0..DISORDER_MS);
            keyed.push((ts + delay, sample(cluster, &format!("n{k}"), ts)));
        }
    }
    keyed.sort_by_key(|(at, s)| (*at, s.key()));
    keyed.into_iter().map(|(_, s)| s).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disorder_within_the_bound_gives_the_reference_windows_and_late_samples_are_audited() {
    let mut config = common::unique_config("disorder");
    common::publish_everything(&mut config);
    config.processors.enable_anomaly = false;
    config.processors.enable_performance = false;
    config.processors.enable_workload = false;
    config.processors.enable_prediction = false;
    config.scaling.interval = Duration::from_millis(WINDOW_MS as u64);
    config.windows.out_of_orderness = Duration::from_millis(DISORDER_MS as u64);
    config.windows.allowed_lateness = Duration::from_millis(LATENESS_MS as u64);
    config.windows.idle_timeout = Duration::from_secs(3);
    // No window may close by the wall clock: only event time decides here.
    config.windows.max_wait = Duration::from_secs(600);
    let catalogue = common::create_topics(&config, 1).await;
    let topic = catalogue.name(TopicRole::Telemetry).to_owned();

    // The on-time input: disordered, but never by more than the bound.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let on_time = shuffled_on_time_input(&mut rng);
    let mut max_seen = BASE_MS;
    let mut displaced = 0;
    for s in &on_time {
        let ts = s.event_time.timestamp_millis();
        assert!(ts > max_seen - DISORDER_MS, "the shuffle exceeds the bound");
        displaced += usize::from(ts < max_seen);
        max_seen = max_seen.max(ts);
    }
    assert!(displaced > 50, "only {displaced} samples out of order");

    // The reference: samples per (cluster, window start), and which windows the watermark
    // passes once all of it is read.
    let mut counts: BTreeMap<(String, i64), u32> = BTreeMap::new();
    for s in &on_time {
        let start = window_start(s.event_time.timestamp_millis());
        *counts.entry((s.cluster_id.to_string(), start)).or_default() += 1;
    }
    let watermark = max_seen - DISORDER_MS;
    let closed_first = counts
        .keys()
        .filter(|(_, start)| start + WINDOW_MS <= watermark)
        .count() as u64;
    let purged_through = watermark - LATENESS_MS;

    // Phase 1: the on-time input.
    let records: Vec<common::Record> = on_time.iter().map(record).collect();
    common::produce_batch(&config, &topic, &records).await;
    let stats = Arc::new(Stats::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let pipeline = tokio::spawn(fabric_ai::pipeline::run(
        config.clone(),
        stats.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    let n1 = on_time.len() as u64;
    common::wait_until(
        "the on-time input read and its closable windows closed",
        Duration::from_secs(60),
        || {
            let s = stats.snapshot();
            s.events_ok == n1 && s.windows_closed == closed_first
        },
    )
    .await;
    assert_eq!(stats.snapshot().late_events, 0, "disorder within the bound");

    // Phase 2: samples behind the watermark. Too late: their windows are past the allowed
    // lateness. Within the lateness: their window closed but is kept, so it is revised.
    let too_late = [
        sample("c0", "late-a", BASE_MS + 10_000),
        sample("c1", "late-b", BASE_MS + 70_000),
        sample("c2", "late-c", BASE_MS + 130_000),
        sample("c0", "late-d", BASE_MS + 190_000),
    ];
    for s in &too_late {
        let end = window_start(s.event_time.timestamp_millis()) + WINDOW_MS;
        assert!(end <= purged_through, "{s:?} is not beyond the lateness");
    }
    let revising = [
        sample("c0", "rev-a", BASE_MS + 250_000),
        sample("c1", "rev-b", BASE_MS + 245_000),
        sample("c0", "rev-c", BASE_MS + 251_000),
    ];
    let mut revisions: BTreeMap<(String, i64), u32> = BTreeMap::new();
    for s in &revising {
        let key = (
            s.cluster_id.to_string(),
            window_start(s.event_time.timestamp_millis()),
        );
        let end = key.1 + WINDOW_MS;
        assert!(end > purged_through && end <= watermark, "{s:?}");
        assert!(counts.contains_key(&key), "{s:?} revises no window");
        *revisions.entry(key).or_default() += 1;
    }
    let late_records: Vec<common::Record> = too_late.iter().chain(&revising).map(record).collect();
    let late_offsets = common::produce_batch(&config, &topic, &late_records).await;
    let too_late_offsets: BTreeSet<i64> = late_offsets[..too_late.len()]
        .iter()
        .map(|(_, o)| *o)
        .collect();
    let n2 = n1 + late_records.len() as u64;
    common::wait_until("the late samples handled", Duration::from_secs(60), || {
        let s = stats.snapshot();
        s.events_ok == n2 && s.windows_closed == closed_first + revising.len() as u64
    })
    .await;

    // Phase 3: one sample of another cluster far ahead moves the watermark past every window.
    let flush = sample("zz-flush", "flush", BASE_MS + 600_000);
    common::produce_batch(&config, &topic, &[record(&flush)]).await;
    let all_windows = counts.len() as u64 + revising.len() as u64;
    common::wait_until(
        "every window closed and acknowledged",
        Duration::from_secs(60),
        || {
            let s = stats.snapshot();
            s.events_ok == n2 + 1
                && s.windows_closed == all_windows
                && s.decisions_acked == s.decisions_out
        },
    )
    .await;
    stop.send(()).unwrap();
    pipeline.await.unwrap().expect("pipeline ran cleanly");

    // The published windows are exactly the reference: every window once at revision 0 with
    // its on-time count, and once more per revising sample with one more sample each time.
    let mut expected: Vec<(String, i64, u32, u32)> = Vec::new();
    for ((cluster, start), count) in &counts {
        expected.push((cluster.clone(), *start, 0, *count));
        let extra = revisions
            .get(&(cluster.clone(), *start))
            .copied()
            .unwrap_or(0);
        for r in 1..=extra {
            expected.push((cluster.clone(), *start, r, count + r));
        }
    }
    expected.sort();
    let decisions: Vec<ScalingDecision> =
        common::read_all(&config, catalogue.name(TopicRole::ScalingDecisions))
            .into_iter()
            .map(|(_, p)| event::decode(&p, Encoding::Json).unwrap())
            .collect();
    let mut published: Vec<(String, i64, u32, u32)> = decisions
        .iter()
        .map(|d| {
            let h = &d.header;
            assert_eq!(
                h.window.end.timestamp_millis() - h.window.start.timestamp_millis(),
                WINDOW_MS
            );
            assert_eq!(
                h.id,
                event::decision_id("scaling", &h.scope, &h.window),
                "every revision keeps the window's id"
            );
            (
                h.scope.clone(),
                h.window.start.timestamp_millis(),
                h.revision,
                d.current_capacity,
            )
        })
        .collect();
    published.sort();
    assert_eq!(published, expected);

    // Every too-late sample is counted once and audited once, by its source offset.
    let s = stats.snapshot();
    assert_eq!(s.late_events, too_late.len() as u64);
    assert_eq!(s.revisions, revising.len() as u64);
    assert_eq!(s.refused_keys, 0);
    let audits: Vec<AuditRecord> = common::read_all(&config, catalogue.name(TopicRole::Audit))
        .into_iter()
        .map(|(_, p)| event::decode(&p, Encoding::Json).unwrap())
        .collect();
    let late: Vec<&AuditRecord> = audits
        .iter()
        .filter(|a| a.kind == AuditKind::LateEvent)
        .collect();
    assert_eq!(late.len(), too_late.len(), "{audits:?}");
    let audited_offsets: BTreeSet<i64> = late
        .iter()
        .map(|a| a.details["offset"].parse().unwrap())
        .collect();
    assert_eq!(audited_offsets, too_late_offsets);
    for a in &late {
        assert_eq!(a.details["source_topic"], topic);
        assert_eq!(a.details["processor"], "scaling");
        let original = too_late.iter().find(|s| s.key() == a.scope).unwrap();
        assert_eq!(a.event_time, Some(original.event_time));
    }
}
