//! Round trips of every request and answer, the answer checks, and the examples in
//! `docs/engine-api.md`.

use super::*;
use crate::config::AnomalyConfig;
use crate::engine::builtin::anomaly::{detect, NodeBaseline};
use crate::engine::builtin::BuiltinEngine;
use crate::engine::request::{Constraints, Goals, NodeAggregate};
use crate::engine::{
    AnomalyRequest, Engine, PerformanceRequest, PredictionRequest, ScalingRequest, WorkloadRequest,
};
use crate::event::{JobType, Metric, WindowBounds};
use chrono::{TimeZone, Utc};

const START_MS: i64 = 1_772_366_400_000; // 2026-03-01T12:00:00Z

fn window(minutes: i64) -> WindowBounds {
    let start = Utc.timestamp_millis_opt(START_MS).unwrap();
    WindowBounds {
        start,
        end: start + chrono::Duration::minutes(minutes),
    }
}

fn values(cpu: f64) -> [f64; 9] {
    [cpu, 0.52, 0.1, 0.2, 12.5, 1500.0, 210.0, 3.0, 0.001]
}

/// An anomaly request whose baseline was learned from `warmup` samples and whose window
/// holds a CPU spike.
fn anomaly_request(warmup: i64, cpu: impl Fn(i64) -> f64) -> AnomalyRequest {
    let config = AnomalyConfig::default();
    let mut baseline = NodeBaseline::default();
    let before: Vec<_> = (0..warmup)
        .map(|i| (START_MS - (warmup - i) * 10_000, values(cpu(i))))
        .collect();
    detect(&config, &mut baseline, &before);
    AnomalyRequest {
        cluster_id: "c1".into(),
        node_id: "n7".into(),
        window: window(2),
        samples: vec![
            (START_MS + 10_000, values(cpu(warmup))),
            (START_MS + 20_000, values(0.97)),
            (START_MS + 30_000, values(cpu(warmup + 1))),
        ],
        baseline: Box::new(baseline),
    }
}

fn node(cpu: f64, jobs: u32) -> NodeAggregate {
    NodeAggregate {
        samples: 30,
        mean: values(cpu),
        max: values((cpu + 0.05).min(1.0)),
        active_jobs: jobs,
    }
}

fn performance_request() -> PerformanceRequest {
    PerformanceRequest {
        cluster_id: "c1".into(),
        window: window(5),
        nodes: [("n1", node(0.95, 3)), ("n2", node(0.2, 0))]
            .into_iter()
            .map(|(id, n)| (id.to_owned(), n))
            .collect(),
        queued_jobs: 2,
        goals: Goals {
            throughput: 1.0,
            latency: 1.0,
            balance: 0.5,
            energy: 0.25,
        },
        constraints: Constraints {
            max_cpu: 0.85,
            max_memory: 0.8,
            min_availability: 0.5,
        },
    }
}

fn workload_request() -> WorkloadRequest {
    WorkloadRequest {
        cluster_id: "c1".into(),
        job_type: JobType::Batch,
        window: window(10),
        arrivals_ms: vec![START_MS + 5_000, START_MS + 65_250, START_MS + 400_000],
        completions: 2,
        failures: 1,
        runtimes_s: vec![431.5, 12.25],
        node_mean: Some(values(0.71)),
        arrival_history: vec![3, 0, 4, 1, 3, 0, 4, 1],
        resolution_minutes: 10.0,
    }
}

fn prediction_request() -> PredictionRequest {
    PredictionRequest {
        cluster_id: "c1".into(),
        node_id: Some("n7".into()),
        resource: Metric::Cpu,
        window: window(15),
        history: vec![0.41, 0.44, 0.43, 0.47, 0.5, 0.52],
        resolution_minutes: 15.0,
        horizons_minutes: vec![15, 60],
    }
}

fn scaling_request() -> ScalingRequest {
    ScalingRequest {
        cluster_id: "c1".into(),
        window: window(10),
        capacity: 4,
        load: 0.91,
        queue_length: 6,
        usage_history: vec![0.7, 0.82, 0.91],
        recent_desired: vec![4, 5],
        target_utilisation: 0.7,
        tolerance: 0.1,
        min_capacity: 2,
        max_capacity: 10,
        cost_per_node_hour: 1.25,
        resolution_minutes: 10.0,
        demand_history: vec![2.8, 3.28, 3.64],
        lead_windows: 2,
    }
}

/// One request per endpoint, with numbers that need every bit to round-trip.
fn awkward_requests() -> Vec<EngineRequest> {
    let mut prediction = prediction_request();
    prediction.history.push(0.1 + 0.2);
    prediction.history.push(f64::MIN_POSITIVE);
    prediction.node_id = None;
    let mut workload = workload_request();
    workload.node_mean = None;
    workload.runtimes_s.push(1.0 / 3.0);
    vec![
        EngineRequest::Anomaly(anomaly_request(30, |i| {
            0.4 + 0.01 * ((i * 7919 % 13) as f64 / 6.0 - 1.0)
        })),
        EngineRequest::Performance(performance_request()),
        EngineRequest::Workload(workload),
        EngineRequest::Prediction(prediction),
        EngineRequest::Scaling(scaling_request()),
    ]
}

fn doc_requests() -> Vec<EngineRequest> {
    vec![
        EngineRequest::Performance(performance_request()),
        EngineRequest::Workload(workload_request()),
        EngineRequest::Prediction(prediction_request()),
        EngineRequest::Anomaly(anomaly_request(120, |i| [0.4, 0.42, 0.41][i as usize % 3])),
        EngineRequest::Scaling(scaling_request()),
    ]
}

fn answer(request: &EngineRequest) -> EngineAnswer {
    BuiltinEngine::default()
        .answer(request)
        .expect("the built-in engine answers every sample")
}

#[test]
fn every_request_round_trips_exactly() {
    for request in awkward_requests().into_iter().chain(doc_requests()) {
        let endpoint = Endpoint::of(&request);
        let bytes = encode_request(&request).unwrap();
        let back = decode_request(endpoint, &bytes).unwrap();
        assert_eq!(back, request, "{}", endpoint.name());
    }
}

#[test]
fn every_answer_round_trips_exactly_and_is_not_empty() {
    for request in awkward_requests().into_iter().chain(doc_requests()) {
        let answer = answer(&request);
        let endpoint = Endpoint::of_answer(&answer);
        assert_eq!(endpoint, Endpoint::of(&request));
        let bytes = encode_answer(&answer).unwrap();
        assert_eq!(decode_answer(endpoint, &bytes).unwrap(), answer);
    }
    // The samples are built so that no answer is trivially empty.
    let answers: Vec<_> = doc_requests().iter().map(answer).collect();
    assert!(matches!(&answers[0], EngineAnswer::Performance(a) if !a.recommendations.is_empty()));
    assert!(matches!(&answers[3], EngineAnswer::Anomaly(a) if !a.alarms.is_empty()));
}

#[test]
fn a_decoded_anomaly_request_gives_the_same_answer() {
    let request = awkward_requests().remove(0);
    let bytes = encode_request(&request).unwrap();
    let decoded = decode_request(Endpoint::Anomaly, &bytes).unwrap();
    assert_eq!(answer(&decoded), answer(&request));
}

#[test]
fn model_information_is_kept_but_not_required() {
    let answer = answer(&EngineRequest::Scaling(scaling_request()));
    let model = ModelInfo {
        name: "m".into(),
        version: "7".into(),
    };
    let bytes = encode_answer_with_model(&answer, Some(&model)).unwrap();
    let decoded = decode_answer_with_model(Endpoint::Scaling, &bytes).unwrap();
    assert_eq!(decoded.model, Some(model));
    assert_eq!(decoded.answer, answer);
    let plain = decode_answer_with_model(Endpoint::Scaling, &encode_answer(&answer).unwrap());
    assert_eq!(plain.unwrap().model, None);
}

#[test]
fn non_finite_request_numbers_are_written_as_null_and_read_as_nan() {
    let mut request = scaling_request();
    request.load = f64::NAN;
    request.usage_history = vec![0.5, f64::INFINITY];
    let bytes = encode_request(&EngineRequest::Scaling(request)).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert!(json["load"].is_null());
    assert_eq!(json["usage_history"], serde_json::json!([0.5, null]));
    let EngineRequest::Scaling(back) = decode_request(Endpoint::Scaling, &bytes).unwrap() else {
        panic!("decoded as another endpoint");
    };
    assert!(back.load.is_nan());
    assert!(back.usage_history[1].is_nan());
}

#[test]
fn unknown_fields_are_ignored_in_requests_and_answers() {
    let request = EngineRequest::Performance(performance_request());
    let mut json: serde_json::Value = serde_json::from_slice(&encode_request(&request).unwrap())
        .expect("the encoder writes JSON");
    json["trace_id"] = "abc".into();
    json["goals"]["fairness"] = 1.0.into();
    json["nodes"]["n1"]["mean"]["gpu_util"] = 0.3.into();
    let bytes = serde_json::to_vec(&json).unwrap();
    assert_eq!(
        decode_request(Endpoint::Performance, &bytes).unwrap(),
        request
    );

    let answer = answer(&EngineRequest::Prediction(prediction_request()));
    let mut json: serde_json::Value =
        serde_json::from_slice(&encode_answer(&answer).unwrap()).expect("the encoder writes JSON");
    json["explanation"] = serde_json::json!({"text": "trend"});
    json["horizons"][0]["p50"] = 0.5.into();
    let bytes = serde_json::to_vec(&json).unwrap();
    assert_eq!(decode_answer(Endpoint::Prediction, &bytes).unwrap(), answer);
}

#[test]
fn zone_less_timestamps_read_as_utc() {
    let request = EngineRequest::Workload(workload_request());
    let text = String::from_utf8(encode_request(&request).unwrap()).unwrap();
    assert!(text.contains("\"2026-03-01T12:00:00.000Z\""), "{text}");
    let zone_less = text
        .replace("2026-03-01T12:00:00.000Z", "2026-03-01T12:00:00")
        .replace("2026-03-01T12:00:05.000Z", "2026-03-01 12:00:05.000")
        .replace("2026-03-01T12:01:05.250Z", "2026-03-01T13:01:05.250+01:00");
    assert_ne!(zone_less, text);
    let back = decode_request(Endpoint::Workload, zone_less.as_bytes()).unwrap();
    assert_eq!(back, request);

    let alarm = r#"{"alarms": [{"metric": "cpu_util", "at": "2026-03-01 12:00:20",
        "value": 0.97, "baseline": 0.41, "score": 0.9, "z": 8.0, "shape": "spike"}]}"#;
    let EngineAnswer::Anomaly(a) = decode_answer(Endpoint::Anomaly, alarm.as_bytes()).unwrap()
    else {
        panic!("decoded as another endpoint");
    };
    assert_eq!(a.alarms[0].at_ms, START_MS + 20_000);
}

#[test]
fn invalid_answers_give_a_reason_naming_the_field() {
    let prediction = r#"{"horizons": [
        {"horizon_minutes": 15, "mean": 0.5, "lower_80": 0.4, "upper_80": 0.6,
         "lower_95": 0.3, "upper_95": 0.7},
        {"horizon_minutes": 60, "mean": 0.5, "lower_80": 0.9, "upper_80": 0.6,
         "lower_95": 0.3, "upper_95": 0.7}],
        "confidence": 0.8, "reasons": []}"#;
    let recommendation = r#"{"recommendation_type": "migration", "action": "move",
        "target_nodes": ["n1"], "expected_gains": {"balance": 0.1}, "risk": "low",
        "confidence": 0.8, "reasons": []}"#;
    let scaling = r#"{"action": "scale_out", "target_capacity": 5, "desired_capacity": 5,
        "cost_delta_per_hour": 1.25, "confidence": 0.8, "reasons": []}"#;
    let cases: Vec<(Endpoint, String, &str)> = vec![
        (
            Endpoint::Prediction,
            prediction.to_owned(),
            "answer invalid: `horizons[1].lower_80` out of range: 0.9 is above `horizons[1].mean` 0.5",
        ),
        (
            Endpoint::Prediction,
            prediction.replace("\"confidence\": 0.8, ", ""),
            "answer invalid: `confidence` missing",
        ),
        (
            Endpoint::Prediction,
            prediction.replace(
                "\"mean\": 0.5, \"lower_80\": 0.4",
                "\"mean\": null, \"lower_80\": 0.4",
            ),
            "answer invalid: `horizons[0].mean` is not valid",
        ),
        (
            Endpoint::Scaling,
            scaling.replace("0.8", "1.5"),
            "answer invalid: `confidence` out of range 0..1: 1.5",
        ),
        (
            Endpoint::Scaling,
            scaling.replace("0.8", "-0.1"),
            "answer invalid: `confidence` out of range 0..1",
        ),
        (
            Endpoint::Scaling,
            scaling.replace("\"target_capacity\": 5", "\"target_capacity\": -1"),
            "answer invalid: `target_capacity` is not valid: invalid value: integer `-1`, expected u32",
        ),
        (
            Endpoint::Scaling,
            scaling.replace("scale_out", "scale_sideways"),
            "answer invalid: `action` is not valid",
        ),
        (
            Endpoint::Scaling,
            scaling.replace("1.25", "\"1.25\""),
            "answer invalid: `cost_delta_per_hour` is not valid",
        ),
        (
            Endpoint::Workload,
            r#"{"classes": [], "confidence": "high", "reasons": []}"#.to_owned(),
            "answer invalid: `confidence` is not valid",
        ),
        (
            Endpoint::Workload,
            r#"{"classes": [], "seasonality_strength": 1.2, "confidence": 0.9, "reasons": []}"#
                .to_owned(),
            "answer invalid: `seasonality_strength` out of range 0..1",
        ),
        (
            Endpoint::Workload,
            r#"{"classes": [], "seasonality_period_minutes": -60, "confidence": 0.9,
                "reasons": []}"#
                .to_owned(),
            "answer invalid: `seasonality_period_minutes` is negative",
        ),
        (
            Endpoint::Performance,
            format!(
                r#"{{"recommendations": [{recommendation}, {}]}}"#,
                recommendation.replace("\"low\"", "\"extreme\"")
            ),
            "answer invalid: `recommendations[1].risk` is not one of low, medium, high",
        ),
        (
            Endpoint::Performance,
            format!(
                r#"{{"recommendations": [{}]}}"#,
                recommendation.replace("\"migration\"", "\"cross_cluster_move\"")
            ),
            "answer invalid: `recommendations[0].recommendation_type` is not one of load_balancing",
        ),
        (
            Endpoint::Performance,
            format!(
                r#"{{"recommendations": [{}]}}"#,
                recommendation.replace("\"confidence\": 0.8, ", "")
            ),
            "answer invalid: `recommendations[0].confidence` missing",
        ),
        (
            Endpoint::Anomaly,
            r#"{"alarms": [{"metric": "cpu_util", "at": "2026-03-01T12:00:20Z", "value": 0.97,
                "baseline": 0.41, "score": 2, "z": 8.0, "shape": "spike"}]}"#
                .to_owned(),
            "answer invalid: `alarms[0].score` out of range 0..1",
        ),
        (
            Endpoint::Anomaly,
            r#"{"alarms": [{"metric": "gpu_util", "at": "2026-03-01T12:00:20Z", "value": 0.97,
                "baseline": 0.41, "score": 0.9, "z": 8.0, "shape": "spike"}]}"#
                .to_owned(),
            "answer invalid: `alarms[0].metric` is not valid: unknown metric `gpu_util`",
        ),
        (
            Endpoint::Anomaly,
            r#"{"alarms": [{"metric": "cpu_util", "at": "yesterday", "value": 0.97,
                "baseline": 0.41, "score": 0.9, "z": 8.0, "shape": "spike"}]}"#
                .to_owned(),
            "answer invalid: `alarms[0].at` is not valid: invalid timestamp `yesterday`",
        ),
        (
            Endpoint::Anomaly,
            "{}".to_owned(),
            "answer invalid: `alarms` missing",
        ),
        (
            Endpoint::Anomaly,
            "[]".to_owned(),
            "answer invalid: `.` is not valid",
        ),
        (Endpoint::Scaling, "<html>".to_owned(), "answer not JSON: "),
        (
            Endpoint::Scaling,
            scaling.replace("1.25", "1e400"),
            "answer not JSON: number out of range",
        ),
    ];
    for (endpoint, body, expected) in cases {
        let error = decode_answer(endpoint, body.as_bytes()).expect_err(&body);
        let message = error.to_string();
        assert!(
            message.starts_with(expected),
            "{message}\n  expected: {expected}\n  {body}"
        );
    }
}

#[test]
fn a_valid_hand_written_answer_is_accepted() {
    let scaling = r#"{"action": "scale_out", "target_capacity": 5, "desired_capacity": 6,
        "cost_delta_per_hour": -1.25, "confidence": 1, "reasons": ["queue"]}"#;
    let EngineAnswer::Scaling(a) = decode_answer(Endpoint::Scaling, scaling.as_bytes()).unwrap()
    else {
        panic!("decoded as another endpoint");
    };
    assert_eq!((a.target_capacity, a.desired_capacity), (5, 6));
    assert_eq!(a.confidence, 1.0);
}

#[test]
fn invalid_requests_name_the_field() {
    let request = EngineRequest::Anomaly(anomaly_request(6, |_| 0.4));
    let text = String::from_utf8(encode_request(&request).unwrap()).unwrap();
    let broken = text.replacen("\"cpu_util\":{\"seen\"", "\"cpu\":{\"seen\"", 1);
    assert_ne!(broken, text);
    let error = decode_request(Endpoint::Anomaly, broken.as_bytes()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "request invalid: `baseline.metrics` is not valid: missing metric `cpu_util`"
    );
    let error = decode_request(Endpoint::Scaling, b"{\"cluster_id\": 7}").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("request invalid: `cluster_id`"),
        "{error}"
    );
}

#[test]
fn endpoints_have_distinct_paths_and_names() {
    let paths: std::collections::BTreeSet<_> = Endpoint::ALL.iter().map(|e| e.path()).collect();
    let names: std::collections::BTreeSet<_> = Endpoint::ALL.iter().map(|e| e.name()).collect();
    assert_eq!((paths.len(), names.len()), (5, 5));
    for request in doc_requests() {
        let endpoint = Endpoint::of(&request);
        assert_eq!(Endpoint::of_answer(&answer(&request)), endpoint);
    }
    assert_eq!(Endpoint::Anomaly.path(), "/detect/anomaly");
    assert_eq!(Endpoint::Anomaly.name(), "anomaly");
}

/// The examples in `docs/engine-api.md`, generated here. When the contract changes, this
/// test fails and writes the new examples to `engine-api-examples.md` in the temporary
/// directory, to paste.
#[test]
fn documented_examples_match_the_encoder() {
    let pretty = |bytes: Vec<u8>| String::from_utf8(bytes).expect("JSON is UTF-8");
    let model = ModelInfo {
        name: "builtin".into(),
        version: "0.1.0".into(),
    };
    let mut expected = String::new();
    for request in doc_requests() {
        let endpoint = Endpoint::of(&request);
        let answer = answer(&request);
        let request = pretty(write_request(&request, Layout::Pretty).unwrap());
        let answer = pretty(write_answer(&answer, Some(&model), Layout::Pretty).unwrap());
        expected.push_str(&format!(
            "### `POST {}`\n\nRequest:\n\n```json\n{request}\n```\n\nAnswer:\n\n```json\n{answer}\n```\n\n",
            endpoint.path()
        ));
    }
    let docs_path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/engine-api.md");
    let docs = std::fs::read_to_string(docs_path).unwrap_or_default();
    if !docs.contains(expected.trim_end()) {
        let out = std::env::temp_dir().join("engine-api-examples.md");
        std::fs::write(&out, &expected).unwrap();
        panic!(
            "docs/engine-api.md examples are out of date; the current ones are in {}",
            out.display()
        );
    }
}
