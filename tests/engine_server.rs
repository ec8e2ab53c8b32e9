//! The reference engine server over real HTTP on loopback: every endpoint answers exactly as
//! the built-in engine does in-process, tokens are enforced, oversized and garbage bodies are
//! refused with 413 and 400, and `/health` answers without a token.

mod support;

use fabric_ai::config::AnomalyConfig;
use fabric_ai::engine::builtin::BuiltinEngine;
use fabric_ai::engine::server::ServerOptions;
use fabric_ai::engine::wire::{self, Endpoint};
use fabric_ai::engine::*;
use reqwest::StatusCode;
use support::reference::ReferenceServer;
use support::samples::requests;

const TOKEN: &str = "s3cret-token";

fn with_token() -> ServerOptions {
    ServerOptions {
        token: Some(TOKEN.into()),
        ..ServerOptions::default()
    }
}

async fn post(
    server: &ReferenceServer,
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
    let server = ReferenceServer::start(with_token()).await;
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
    let server = ReferenceServer::start(with_token()).await;
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
    let server = ReferenceServer::start(ServerOptions::default()).await;
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
    let server = ReferenceServer::start(options).await;
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
    let server = ReferenceServer::start(with_token()).await;
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
    let server = ReferenceServer::start(with_token()).await;
    let response = reqwest::get(server.url("/health")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "engine": "builtin"})
    );
    server.stop().await;
}
