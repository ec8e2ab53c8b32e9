//! The reference engine server over real HTTP on loopback: every endpoint answers exactly as
//! the built-in engine does in-process, tokens are enforced, oversized and garbage bodies are
//! refused with 413 and 400, and `/health` answers without a token.

use chrono::{TimeZone, Utc};
use fabric_ai::config::AnomalyConfig;
use fabric_ai::engine::builtin::anomaly::{detect, NodeBaseline};
use fabric_ai::engine::builtin::BuiltinEngine;
use fabric_ai::engine::request::{Constraints, Goals, NodeAggregate};
use fabric_ai::engine::server::{serve, ServerOptions};
use fabric_ai::engine::wire::{self, Endpoint};
use fabric_ai::engine::*;
use fabric_ai::event::{JobType, Metric, WindowBounds};
use reqwest::StatusCode;
use tokio::sync::oneshot;

const START_MS: i64 = 1_772_366_400_000; // 2026-03-01T12:00:00Z
const TOKEN: &str = "s3cret-token";

/// A server on an ephemeral loopback port; stops when dropped.
struct Server {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    async fn start(options: ServerOptions) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, options, async {
            let _ = stopped.await;
        }));
        Server {
            base,
            stop: Some(stop),
            task: Some(task),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let task = self.task.take().unwrap();
        task.await.unwrap().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn with_token() -> ServerOptions {
    ServerOptions {
        token: Some(TOKEN.into()),
        ..ServerOptions::default()
    }
}

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

fn node(cpu: f64, jobs: u32) -> NodeAggregate {
    NodeAggregate {
        samples: 30,
        mean: values(cpu),
        max: values((cpu + 0.05).min(1.0)),
        active_jobs: jobs,
    }
}

/// One request per endpoint, each chosen so the answer is not empty.
fn requests() -> Vec<EngineRequest> {
    let config = AnomalyConfig::default();
    let mut baseline = NodeBaseline::default();
    let warmup: Vec<_> = (0..30)
        .map(|i| {
            let cpu = 0.4 + 0.01 * ((i * 7919 % 13) as f64 / 6.0 - 1.0);
            (START_MS - (30 - i) * 10_000, values(cpu))
        })
        .collect();
    detect(&config, &mut baseline, &warmup);
    vec![
        EngineRequest::Anomaly(AnomalyRequest {
            cluster_id: "c1".into(),
            node_id: "n7".into(),
            window: window(2),
            samples: (0..12)
                .map(|i| {
                    (
                        START_MS + i * 10_000,
                        values(if i == 3 { 0.95 } else { 0.4 }),
                    )
                })
                .collect(),
            baseline: Box::new(baseline),
        }),
        EngineRequest::Performance(PerformanceRequest {
            cluster_id: "c1".into(),
            window: window(5),
            nodes: [
                ("n1", node(0.95, 3)),
                ("n2", node(0.2, 0)),
                ("n3", node(0.5, 1)),
            ]
            .into_iter()
            .map(|(id, n)| (id.to_owned(), n))
            .collect(),
            queued_jobs: 2,
            goals: Goals {
                throughput: 1.0,
                latency: 1.0,
                balance: 1.0,
                energy: 1.0,
            },
            constraints: Constraints {
                max_cpu: 0.85,
                max_memory: 0.8,
                min_availability: 0.99,
            },
        }),
        EngineRequest::Workload(WorkloadRequest {
            cluster_id: "c1".into(),
            job_type: JobType::Batch,
            window: window(10),
            arrivals_ms: (0..8).map(|i| START_MS + i * i * 7_000).collect(),
            completions: 5,
            failures: 1,
            runtimes_s: vec![431.5, 12.25, 1.0 / 3.0],
            node_mean: Some(values(0.71)),
            arrival_history: (0..24).map(|i| [3, 0, 4, 1][i % 4]).collect(),
            resolution_minutes: 10.0,
        }),
        EngineRequest::Prediction(PredictionRequest {
            cluster_id: "c1".into(),
            node_id: None,
            resource: Metric::Memory,
            window: window(15),
            history: (0..40).map(|i| 0.3 + 0.005 * f64::from(i)).collect(),
            resolution_minutes: 15.0,
            horizons_minutes: vec![15, 60, 240],
        }),
        EngineRequest::Scaling(ScalingRequest {
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
        }),
    ]
}

async fn post(
    server: &Server,
    endpoint: Endpoint,
    token: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(server.url(endpoint.path()))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn json_body(response: reqwest::Response) -> serde_json::Value {
    let bytes = response.bytes().await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn every_endpoint_answers_exactly_as_the_builtin_engine() {
    let server = Server::start(with_token()).await;
    let engine = BuiltinEngine::new(AnomalyConfig::default());
    for request in requests() {
        let endpoint = Endpoint::of(&request);
        let body = wire::encode_request(&request).unwrap();
        let response = post(&server, endpoint, Some(TOKEN), body).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", endpoint.name());
        let content_type = response.headers()[reqwest::header::CONTENT_TYPE].clone();
        assert_eq!(content_type, "application/json");
        let bytes = response.bytes().await.unwrap();
        let decoded = wire::decode_answer_with_model(endpoint, &bytes).unwrap();
        let expected = engine.answer(&request).unwrap();
        assert_eq!(decoded.answer, expected, "{}", endpoint.name());
        assert_eq!(decoded.model.map(|m| m.name), Some("builtin".to_owned()));
        let empty = match &expected {
            EngineAnswer::Anomaly(a) => a.alarms.is_empty(),
            EngineAnswer::Performance(a) => a.recommendations.is_empty(),
            EngineAnswer::Prediction(a) => a.horizons.is_empty(),
            EngineAnswer::Workload(a) => a.classes.is_empty(),
            EngineAnswer::Scaling(_) => false,
        };
        assert!(
            !empty,
            "{}: the sample should give a finding",
            endpoint.name()
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_refused_with_401() {
    let server = Server::start(with_token()).await;
    let request = requests().remove(4);
    let body = wire::encode_request(&request).unwrap();
    for token in [
        None,
        Some("wrong"),
        Some("s3cret-token-but-longer"),
        Some(""),
    ] {
        let response = post(&server, Endpoint::Scaling, token, body.clone()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let error = json_body(response).await;
        assert_eq!(error["error"], "unauthorized", "{error}");
    }
    let response = post(&server, Endpoint::Scaling, Some(TOKEN), body).await;
    assert_eq!(response.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn without_a_configured_token_every_request_is_served() {
    let server = Server::start(ServerOptions::default()).await;
    let body = wire::encode_request(&requests().remove(4)).unwrap();
    let response = post(&server, Endpoint::Scaling, None, body).await;
    assert_eq!(response.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn an_oversized_request_is_refused_with_413() {
    let options = ServerOptions {
        max_request_bytes: 4096,
        ..with_token()
    };
    let server = Server::start(options).await;
    let mut request = requests().remove(3);
    if let EngineRequest::Prediction(p) = &mut request {
        p.history = vec![0.5; 2000];
    }
    let body = wire::encode_request(&request).unwrap();
    assert!(body.len() > 4096);
    let response = post(&server, Endpoint::Prediction, Some(TOKEN), body).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json_body(response).await["error"], "too_large");

    // The same request within the limit is served.
    let small = wire::encode_request(&requests().remove(3)).unwrap();
    assert!(small.len() <= 4096);
    let response = post(&server, Endpoint::Prediction, Some(TOKEN), small).await;
    assert_eq!(response.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn garbage_is_refused_with_400_and_the_reason() {
    let server = Server::start(with_token()).await;
    let response = post(
        &server,
        Endpoint::Anomaly,
        Some(TOKEN),
        b"not json".to_vec(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error = json_body(response).await;
    assert_eq!(error["error"], "invalid");
    assert!(
        error["reason"]
            .as_str()
            .unwrap()
            .starts_with("request not JSON"),
        "{error}"
    );

    // Well-formed JSON for another endpoint names the first field that does not fit.
    let scaling = wire::encode_request(&requests().remove(4)).unwrap();
    let response = post(&server, Endpoint::Prediction, Some(TOKEN), scaling).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let reason = json_body(response).await["reason"].clone();
    assert!(
        reason.as_str().unwrap().starts_with("request invalid: `"),
        "{reason}"
    );
    server.stop().await;
}

#[tokio::test]
async fn health_answers_without_a_token() {
    let server = Server::start(with_token()).await;
    let response = reqwest::get(server.url("/health")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "engine": "builtin"})
    );
    server.stop().await;
}
