//! Every event round-trips through JSON and Avro, and the Rust types agree with `schemas/`.

use chrono::{TimeZone, Utc};
use fabric_ai::event::codec::{schema_of, SCHEMA_FILES};
use fabric_ai::event::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Debug;

fn window() -> WindowBounds {
    WindowBounds {
        start: Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2026, 3, 1, 12, 2, 0).unwrap(),
    }
}

fn header(kind: &str) -> DecisionHeader {
    DecisionHeader::new(
        kind,
        "c1",
        "c1/n7".into(),
        window(),
        0.83,
        Source::Builtin,
        vec!["cpu_util 0.97 against a baseline of 0.41".into()],
    )
}

fn telemetry(labels: bool) -> TelemetrySample {
    TelemetrySample {
        cluster_id: "c1".into(),
        node_id: "n7".into(),
        event_time: Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 10).unwrap(),
        cpu_util: 0.41,
        memory_util: 0.5,
        disk_util: 0.1,
        network_util: 0.2,
        latency_p99_ms: 12.5,
        throughput_ops: 1500.0,
        energy_watts: 210.0,
        queue_length: 3,
        error_rate: 0.001,
        labels: labels.then(|| BTreeMap::from([("rack".to_string(), "r4".to_string())])),
    }
}

fn job(node: Option<&str>) -> JobEvent {
    JobEvent {
        job_id: "j-1".into(),
        cluster_id: "c1".into(),
        node_id: node.map(str::to_owned),
        job_type: JobType::Mpi,
        state: JobState::Started,
        priority: 5,
        requested_cores: 16.0,
        requested_memory_gib: 64.0,
        requested_gpus: 2,
        event_time: Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 3).unwrap(),
    }
}

fn anomaly() -> Anomaly {
    Anomaly {
        header: header("anomaly"),
        node_id: "n7".into(),
        anomaly_type: AnomalyType::Spike,
        severity: Severity::High,
        score: 0.83,
        detected_at: Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 40).unwrap(),
        metrics: vec![AffectedMetric {
            metric: "cpu_util".into(),
            value: 0.97,
            baseline: 0.41,
            score: 0.83,
        }],
    }
}

fn recommendation() -> Recommendation {
    Recommendation {
        header: header("recommendation"),
        recommendation_type: RecommendationType::LoadBalancing,
        action: "move 2 jobs from n7 to n3".into(),
        target_nodes: vec!["n7".into(), "n3".into()],
        expected_gains: BTreeMap::from([("latency".to_string(), 0.12)]),
        risk: "low".into(),
        target_cluster: None,
    }
}

fn prediction(node: Option<&str>) -> ResourcePrediction {
    ResourcePrediction {
        header: header("prediction"),
        node_id: node.map(str::to_owned),
        resource: "cpu_util".into(),
        horizons: vec![HorizonForecast {
            horizon_minutes: 15,
            mean: 0.5,
            lower_80: 0.4,
            upper_80: 0.6,
            lower_95: 0.35,
            upper_95: 0.65,
        }],
    }
}

fn insight(optionals: bool) -> WorkloadInsight {
    WorkloadInsight {
        header: header("workload"),
        job_type: "batch".into(),
        classes: vec!["cpu_intensive".into(), "bursty".into()],
        arrivals: 12,
        completions: 9,
        failures: 1,
        mean_runtime_s: optionals.then_some(431.5),
        seasonality_period_minutes: optionals.then_some(1440.0),
        seasonality_strength: optionals.then_some(0.7),
    }
}

fn scaling() -> ScalingDecision {
    ScalingDecision {
        header: header("scaling"),
        action: ScalingAction::ScaleOut,
        current_capacity: 8,
        target_capacity: 10,
        cost_delta_per_hour: 4.2,
    }
}

fn audit(optionals: bool) -> AuditRecord {
    AuditRecord {
        id: "a1".into(),
        schema_version: 1,
        kind: AuditKind::LateEvent,
        decision_id: optionals.then(|| "d1".to_string()),
        scope: "c1/n7".into(),
        window: optionals.then(window),
        event_time: optionals.then(|| Utc.with_ymd_and_hms(2026, 3, 1, 11, 0, 0).unwrap()),
        details: BTreeMap::from([("reason".to_string(), "beyond lateness".to_string())]),
    }
}

fn dead_letter(key: bool) -> DeadLetter {
    DeadLetter {
        schema_version: 1,
        source_topic: "telemetry".into(),
        partition: 2,
        offset: 99,
        key: key.then(|| b"c1/n7".to_vec()),
        payload: vec![0xff, b'{', 0, 7],
        reason: "invalid json: expected value".into(),
        error_kind: "json".into(),
        message_timestamp: key.then(|| Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()),
    }
}

/// Encodes and decodes `event` in both encodings, and checks its JSON fields against the schema.
fn outcome(detail: bool) -> Outcome {
    Outcome {
        decision_id: "0f3a".into(),
        status: OutcomeStatus::Applied,
        at: Utc.with_ymd_and_hms(2026, 3, 1, 12, 3, 0).unwrap(),
        actuator: "autoscaler".into(),
        detail: detail.then(|| "moved 2 jobs".into()),
    }
}

fn effectiveness(relative: bool) -> Effectiveness {
    Effectiveness {
        id: "0f3a:cpu_util_max".into(),
        schema_version: 1,
        decision_id: "0f3a".into(),
        decision_kind: "load_balancing".into(),
        cluster_id: "c1".into(),
        scope: "c1".into(),
        applied_at: Utc.with_ymd_and_hms(2026, 3, 1, 12, 3, 0).unwrap(),
        actuator: "autoscaler".into(),
        metric: "cpu_util_max".into(),
        window_before: window(),
        window_after: WindowBounds {
            start: Utc.with_ymd_and_hms(2026, 3, 1, 12, 5, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 3, 1, 12, 10, 0).unwrap(),
        },
        before: 0.95,
        after: if relative { 0.6 } else { 0.0 },
        change: -0.35,
        relative_change: relative.then_some(-0.368),
        improved: true,
    }
}

fn accuracy(node: Option<&str>) -> PredictionAccuracy {
    PredictionAccuracy {
        id: "9b1c:15".into(),
        schema_version: 1,
        prediction_id: "9b1c".into(),
        cluster_id: "c1".into(),
        scope: "c1/n7/cpu_util".into(),
        node_id: node.map(str::to_owned),
        resource: "cpu_util".into(),
        horizon_minutes: 15,
        target_window: window(),
        predicted: 0.5,
        actual: 0.55,
        error: 0.05,
        abs_pct_error: node.map(|_| 0.09),
        within_80: true,
        within_95: true,
    }
}

fn summary() -> ClusterSummary {
    ClusterSummary {
        schema_version: 1,
        cluster_id: "c1".into(),
        window: window(),
        nodes: 4,
        samples: 120,
        cpu_util: 0.9,
        cpu_util_max: 0.97,
        memory_util: 0.5,
        queued_jobs: 3,
        active_jobs: 8,
        energy_watts: 1200.0,
    }
}

fn round_trip<T: WireEvent + PartialEq + Debug>(event: T) {
    for encoding in [Encoding::Json, Encoding::Avro { schema_id: 42 }] {
        let bytes = encode(&event, encoding).expect("encodes");
        let back: T = decode(&bytes, encoding).expect("decodes");
        assert_eq!(back, event, "{} through {encoding:?}", T::SCHEMA);
    }
    let json = serde_json::to_value(&event).expect("serialises");
    let schema: Value = serde_json::from_str(
        SCHEMA_FILES
            .iter()
            .find(|(n, _)| *n == T::SCHEMA)
            .unwrap()
            .1,
    )
    .unwrap();
    assert_fields_agree(T::SCHEMA, &json, &schema);
}

/// The JSON object has no field the schema lacks, and every schema field it omits is nullable.
fn assert_fields_agree(path: &str, json: &Value, schema: &Value) {
    let fields = schema["fields"].as_array().expect("record has fields");
    let object = json.as_object().expect("json object");
    for key in object.keys() {
        assert!(
            fields.iter().any(|f| f["name"] == *key),
            "{path}.{key} is not in the schema"
        );
    }
    for field in fields {
        let name = field["name"].as_str().unwrap();
        let ty = &field["type"];
        match object.get(name) {
            None => assert!(
                ty.as_array()
                    .is_some_and(|u| u.contains(&Value::from("null"))),
                "{path}.{name} is required by the schema but missing in JSON"
            ),
            Some(value) => {
                let record = if ty["type"] == "record" {
                    Some(ty)
                } else if ty["type"] == "array" && ty["items"]["type"] == "record" {
                    Some(&ty["items"])
                } else {
                    None
                };
                if let Some(record) = record {
                    let items = value
                        .as_array()
                        .cloned()
                        .unwrap_or_else(|| vec![value.clone()]);
                    for item in items {
                        assert_fields_agree(&format!("{path}.{name}"), &item, record);
                    }
                }
            }
        }
    }
}

#[test]
fn every_event_round_trips_through_json_and_avro() {
    round_trip(telemetry(true));
    round_trip(telemetry(false));
    round_trip(job(Some("n7")));
    round_trip(job(None));
    round_trip(anomaly());
    round_trip(recommendation());
    round_trip(prediction(Some("n7")));
    round_trip(prediction(None));
    round_trip(insight(true));
    round_trip(insight(false));
    round_trip(scaling());
    round_trip(audit(true));
    round_trip(audit(false));
    round_trip(dead_letter(true));
    round_trip(dead_letter(false));
    round_trip(outcome(true));
    round_trip(outcome(false));
    round_trip(effectiveness(true));
    round_trip(effectiveness(false));
    round_trip(accuracy(Some("n7")));
    round_trip(accuracy(None));
    round_trip(summary());
    let mut cross = recommendation();
    cross.recommendation_type = RecommendationType::CrossClusterMove;
    cross.target_cluster = Some("c2".into());
    round_trip(cross);
}

#[test]
fn every_schema_file_parses_and_names_its_event() {
    assert_eq!(SCHEMA_FILES.len(), 13);
    for (stem, text) in SCHEMA_FILES {
        let schema = apache_avro::Schema::parse_str(text).expect(stem);
        let apache_avro::Schema::Record(record) = schema else {
            panic!("{stem} is not a record")
        };
        let expected: String = stem
            .split('_')
            .map(|w| w[..1].to_uppercase() + &w[1..])
            .collect();
        assert_eq!(record.name.name, expected);
    }
    let _ = schema_of::<TelemetrySample>();
}

#[test]
fn json_timestamps_carry_an_offset_and_avro_uses_millis() {
    let json = String::from_utf8(encode(&telemetry(false), Encoding::Json).unwrap()).unwrap();
    assert!(
        json.contains("\"event_time\":\"2026-03-01T12:00:10.000Z\""),
        "{json}"
    );
    let avro = encode(&telemetry(false), Encoding::Avro { schema_id: 7 }).unwrap();
    assert_eq!(&avro[..5], &[0, 0, 0, 0, 7]);
}

#[test]
fn avro_with_another_schema_id_is_rejected() {
    let avro = encode(&telemetry(false), Encoding::Avro { schema_id: 7 }).unwrap();
    let err = decode::<TelemetrySample>(&avro, Encoding::Avro { schema_id: 8 }).unwrap_err();
    assert_eq!(err.kind(), "framing");
}

#[test]
fn decision_ids_depend_only_on_kind_scope_and_window() {
    let a = decision_id("anomaly", "c1/n7", &window());
    assert_eq!(a, decision_id("anomaly", "c1/n7", &window()));
    assert_ne!(a, decision_id("anomaly", "c1/n8", &window()));
    assert_ne!(a, decision_id("scaling", "c1/n7", &window()));
    assert_eq!(a.len(), 32);
}

#[test]
fn zone_less_input_timestamps_are_read_as_utc() {
    let mut json = serde_json::to_value(telemetry(false)).unwrap();
    json["event_time"] = "2026-03-01 12:00:10".into();
    let sample: TelemetrySample = decode(json.to_string().as_bytes(), Encoding::Json).unwrap();
    assert_eq!(sample.event_time, telemetry(false).event_time);
}
