//! Against the real broker: malformed telemetry and job events mixed with good ones. Every bad
//! message lands in the dead-letter topic with its bytes, origin and reason; every good one is
//! processed; the pipeline keeps going.

mod common;

use fabric_ai::event::{self, DeadLetter, Encoding, JobEvent, JobState, JobType, TelemetrySample};
use fabric_ai::stats::Stats;
use fabric_ai::topics::TopicRole;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

fn good_sample(i: i64) -> Vec<u8> {
    let sample = TelemetrySample {
        cluster_id: "c1".into(),
        node_id: format!("n{}", i % 3).into(),
        event_time: chrono::DateTime::from_timestamp(1_770_000_000 + i * 10, 0).unwrap(),
        cpu_util: 0.4,
        memory_util: 0.5,
        disk_util: 0.2,
        network_util: 0.1,
        latency_p99_ms: 20.0,
        throughput_ops: 400.0,
        energy_watts: 200.0,
        queue_length: 1,
        error_rate: 0.0,
        labels: None,
    };
    event::encode(&sample, Encoding::Json).unwrap()
}

fn good_job(i: i64) -> Vec<u8> {
    let job = JobEvent {
        job_id: format!("j{i}"),
        cluster_id: "c1".into(),
        node_id: Some("n1".into()),
        job_type: JobType::Batch,
        state: JobState::Submitted,
        priority: 1,
        requested_cores: 2.0,
        requested_memory_gib: 4.0,
        requested_gpus: 0,
        event_time: chrono::DateTime::from_timestamp(1_770_000_000 + i * 10, 0).unwrap(),
    };
    event::encode(&job, Encoding::Json).unwrap()
}

/// A valid sample with one field replaced by raw JSON text.
fn sample_with(field: &str, raw: &str) -> Vec<u8> {
    let mut json: serde_json::Value = serde_json::from_slice(&good_sample(0)).unwrap();
    json[field] = serde_json::Value::Null;
    json.to_string()
        .replace(&format!("\"{field}\":null"), &format!("\"{field}\":{raw}"))
        .into_bytes()
}

fn records<'a>(key: &'a [u8], v: &'a [Vec<u8>]) -> Vec<(Option<&'a [u8]>, &'a [u8])> {
    v.iter().map(|p| (Some(key), p.as_slice())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_go_to_the_dead_letter_topic_and_good_ones_are_processed() {
    let mut config = common::unique_config("dlq");
    config.windows.idle_timeout = Duration::from_secs(3);
    config.processing.max_message_bytes = 2_000;
    let catalogue = common::create_topics(&config, 2).await;

    let bad_telemetry: Vec<(&str, Vec<u8>)> = vec![
        ("not json", b"{not json".to_vec()),
        ("binary", vec![0xff, 0xfe, 0x00, 0x01]),
        (
            "missing fields",
            br#"{"cluster_id":"c1","node_id":"n1"}"#.to_vec(),
        ),
        ("wrong type", sample_with("cpu_util", "\"high\"")),
        ("NaN literal", sample_with("cpu_util", "NaN")),
        ("infinite number", sample_with("latency_p99_ms", "1e999")),
        ("utilisation above 1", sample_with("memory_util", "1.5")),
        ("negative utilisation", sample_with("disk_util", "-0.1")),
        ("negative latency", sample_with("latency_p99_ms", "-3")),
        (
            "unparseable time",
            sample_with("event_time", "\"yesterday\""),
        ),
        (
            "absurd time",
            sample_with("event_time", "\"9999-01-01T00:00:00Z\""),
        ),
        ("empty node id", sample_with("node_id", "\"\"")),
        ("empty payload", Vec::new()),
        ("oversized", {
            // A valid sample, padded past processing.max_message_bytes.
            let mut big = good_sample(1_000);
            big.splice(1..1, std::iter::repeat_n(b' ', 3_000));
            big
        }),
    ];
    let bad_jobs: Vec<(&str, Vec<u8>)> = vec![
        (
            "unknown state",
            String::from_utf8(good_job(0))
                .unwrap()
                .replace("submitted", "exploded")
                .into_bytes(),
        ),
        (
            "unknown job type",
            String::from_utf8(good_job(0))
                .unwrap()
                .replace("batch", "quantum")
                .into_bytes(),
        ),
        ("not json job", b"[]".to_vec()),
    ];

    // Interleave good and bad so the pipeline must keep going after each bad one.
    let mut telemetry: Vec<Vec<u8>> = Vec::new();
    for (i, (_, bad)) in bad_telemetry.iter().enumerate() {
        telemetry.push(good_sample(2 * i as i64));
        telemetry.push(bad.clone());
        telemetry.push(good_sample(2 * i as i64 + 1));
    }
    let mut jobs: Vec<Vec<u8>> = Vec::new();
    for (i, (_, bad)) in bad_jobs.iter().enumerate() {
        jobs.push(good_job(i as i64));
        jobs.push(bad.clone());
    }
    let key = b"c1/n1".as_slice();
    let telemetry_records = records(key, &telemetry);
    let job_records = records(key, &jobs);
    common::produce_raw(
        &config,
        catalogue.name(TopicRole::Telemetry),
        &telemetry_records,
    )
    .await;
    common::produce_raw(&config, catalogue.name(TopicRole::JobEvents), &job_records).await;

    let good = 2 * bad_telemetry.len() as u64 + bad_jobs.len() as u64;
    let bad = (bad_telemetry.len() + bad_jobs.len()) as u64;
    let stats = Arc::new(Stats::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let pipeline = tokio::spawn(fabric_ai::pipeline::run(
        config.clone(),
        stats.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    common::wait_until("all messages handled", Duration::from_secs(60), || {
        let s = stats.snapshot();
        s.events_ok == good && s.dead_letters == bad
    })
    .await;
    stop.send(()).unwrap();
    pipeline.await.unwrap().expect("pipeline ran cleanly");

    let letters: Vec<DeadLetter> =
        common::read_all(&config, catalogue.name(TopicRole::DeadLetters))
            .into_iter()
            .map(|(k, payload)| {
                assert_eq!(k, key, "dead letters keep the original key");
                event::decode(&payload, Encoding::Json).expect("dead letter decodes")
            })
            .collect();
    assert_eq!(letters.len() as u64, bad);

    let expected: BTreeSet<(String, Vec<u8>)> = bad_telemetry
        .iter()
        .map(|(_, p)| (catalogue.name(TopicRole::Telemetry).to_owned(), p.clone()))
        .chain(
            bad_jobs
                .iter()
                .map(|(_, p)| (catalogue.name(TopicRole::JobEvents).to_owned(), p.clone())),
        )
        .collect();
    let got: BTreeSet<(String, Vec<u8>)> = letters
        .iter()
        .map(|l| (l.source_topic.clone(), l.payload.clone()))
        .collect();
    assert_eq!(
        got, expected,
        "each bad message is kept byte for byte with its source topic"
    );

    let originals: Vec<(String, Vec<common::Record>)> =
        [TopicRole::Telemetry, TopicRole::JobEvents]
            .iter()
            .map(|r| {
                (
                    catalogue.name(*r).to_owned(),
                    common::read_all(&config, catalogue.name(*r)),
                )
            })
            .collect();
    assert!(
        letters
            .iter()
            .any(|l| l.error_kind == "too_large" && l.reason.contains("max_message_bytes")),
        "the oversized message is refused for its size"
    );
    for letter in &letters {
        assert!(
            !letter.reason.is_empty() && !letter.error_kind.is_empty(),
            "{letter:?}"
        );
        assert!(
            letter.offset >= 0 && (0..2).contains(&letter.partition),
            "{letter:?}"
        );
        // The recorded origin points at the original message.
        let (_, original) = originals
            .iter()
            .find(|(t, _)| t == &letter.source_topic)
            .unwrap();
        assert!(original.iter().any(|(_, p)| p == &letter.payload));
    }
    let reason_of = |payload: &[u8]| {
        letters
            .iter()
            .find(|l| l.payload == payload)
            .map(|l| l.reason.clone())
            .unwrap()
    };
    assert!(reason_of(&bad_telemetry[6].1).contains("memory_util"));
    assert!(reason_of(&bad_telemetry[10].1).contains("event_time"));
    assert_eq!(
        letters
            .iter()
            .find(|l| l.payload.is_empty())
            .unwrap()
            .error_kind,
        "empty"
    );
}
