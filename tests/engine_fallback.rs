//! The remote engine behind [`Answerer`] against real loopback servers that misbehave on
//! purpose. Whatever the server does, every window gets an answer: the engine's when it is
//! usable, the built-in engine's otherwise, within the endpoint's deadline (plus a generous
//! second), with the fallback's reason and label on the provenance, and with the digest of
//! the request as it went on the wire.
//!
//! The reference server and the misbehaving ones answer from the built-in engine, so in every
//! case the answer must equal [`BuiltinEngine::answer`] of the same request.

mod support;

use fabric_ai::engine::builtin::BuiltinEngine;
use fabric_ai::engine::fallback::{Answered, Answerer};
use fabric_ai::engine::http::EngineHttpConfig;
use fabric_ai::engine::remote::HttpEngine;
use fabric_ai::engine::server::ServerOptions;
use fabric_ai::engine::wire::{self, Endpoint};
use fabric_ai::engine::{Engine, EngineRequest};
use fabric_ai::event::Source;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::http::{
    assert_within, config_for, ok, oversized_server, refusing_url, status, too_many_requests,
    Action, Server,
};
use support::reference::ReferenceServer;
use support::samples::{request, requests};

fn answerer(config: &EngineHttpConfig) -> Answerer {
    let engine = HttpEngine::new(config).expect("test config builds");
    Answerer::new(BuiltinEngine::default(), Some(Arc::new(engine)))
}

/// Asks once; returns the answer and the wall time the call took.
async fn ask(answerer: &Answerer, request: &EngineRequest) -> (Answered, Duration) {
    let started = Instant::now();
    let answered = answerer.ask(Arc::new(request.clone())).await;
    (answered, started.elapsed())
}

/// The built-in engine's answer to `request`, as JSON text.
fn builtin_json(request: &EngineRequest) -> String {
    let answer = BuiltinEngine::default().answer(request).unwrap();
    String::from_utf8(wire::encode_answer(&answer).unwrap()).unwrap()
}

/// The built-in answer to `request` as JSON, changed by `edit` before it is served.
fn edited_json(request: &EngineRequest, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut value: serde_json::Value = serde_json::from_str(&builtin_json(request)).unwrap();
    edit(&mut value);
    value.to_string()
}

/// Asks about `request` once, of a server answering every request with 200 and `body`.
async fn ask_served(request: &EngineRequest, body: String) -> Answered {
    let server = Server::start(move |_| ok(&body)).await;
    let (answered, _) = ask(&answerer(&server.config()), request).await;
    assert_eq!(server.requests(), 1);
    answered
}

/// A config for `url` whose anomaly deadline is `deadline`.
fn with_anomaly_deadline(url: &str, deadline: Duration) -> EngineHttpConfig {
    let mut config = config_for(url);
    config.timeouts.anomaly = deadline;
    config
}

/// What must hold whoever answered: an answer equal to the built-in one, and the digest of
/// the request's wire encoding, as 32 lowercase hex characters.
fn assert_answered(answered: &Answered, request: &EngineRequest) {
    let answer = answered
        .answer
        .as_ref()
        .expect("every window gets an answer");
    assert_eq!(answer, &BuiltinEngine::default().answer(request).unwrap());

    let digest = &answered.provenance.request_digest;
    assert_eq!(digest.len(), 32, "{digest}");
    assert!(
        digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{digest}"
    );
    let body = wire::encode_request(request).unwrap();
    assert_eq!(digest, &hex::encode(&Sha256::digest(&body)[..16]));
}

/// The built-in engine answered because of `label`; returns the fallback's reason.
fn assert_fell_back<'a>(answered: &'a Answered, request: &EngineRequest, label: &str) -> &'a str {
    assert_answered(answered, request);
    assert_eq!(answered.source, Source::Builtin, "{answered:?}");
    let provenance = &answered.provenance;
    assert_eq!(provenance.engine, "builtin");
    assert_eq!(
        provenance.fallback_label.as_deref(),
        Some(label),
        "{provenance:?}"
    );
    provenance.fallback.as_deref().expect("a fallback says why")
}

#[tokio::test]
async fn the_reference_server_answers_every_endpoint_as_the_builtin_engine_would() {
    let server = ReferenceServer::start(ServerOptions::default()).await;
    let answerer = answerer(&config_for(&server.base));

    let mut digests = Vec::new();
    for request in requests() {
        let (answered, took) = ask(&answerer, &request).await;

        let endpoint = Endpoint::of(&request).name();
        assert_answered(&answered, &request);
        assert_eq!(answered.source, Source::Engine, "{endpoint}: {answered:?}");
        let provenance = &answered.provenance;
        assert_eq!(provenance.engine, "http", "{endpoint}");
        assert_eq!(provenance.attempts, 1, "{endpoint}");
        assert_eq!(provenance.fallback, None, "{endpoint}");
        assert_eq!(provenance.fallback_label, None, "{endpoint}");
        assert_eq!(provenance.breaker, "closed", "{endpoint}");
        assert!(provenance.latency <= took, "{endpoint}: {provenance:?}");
        digests.push(provenance.request_digest.clone());
    }
    digests.sort();
    digests.dedup();
    assert_eq!(digests.len(), 5, "each request has its own digest");
    server.stop().await;
}

/// A server doing `action` with every request, behind a 500 ms anomaly deadline: the
/// built-in engine answers after one attempt, with `deadline` and a reason containing `phase`.
async fn falls_back_at_the_deadline(action: fn() -> Action, phase: &str) {
    let request = request(Endpoint::Anomaly);
    let server = Server::start(move |_| action()).await;
    let deadline = Duration::from_millis(500);
    let answerer = answerer(&with_anomaly_deadline(
        &format!("http://{}", server.addr),
        deadline,
    ));

    let started = Instant::now();
    let (answered, took) = ask(&answerer, &request).await;

    assert_within(started, deadline);
    assert!(took >= deadline, "gave up after {took:?}");
    let reason = assert_fell_back(&answered, &request, "deadline");
    assert!(reason.contains(phase), "{reason}");
    assert_eq!(answered.provenance.attempts, 1);
}

#[tokio::test]
async fn a_server_sleeping_past_the_deadline_gets_the_builtin_answer_with_deadline() {
    let answer = || {
        let answer = builtin_json(&request(Endpoint::Anomaly));
        Action::Sleep(Duration::from_secs(5), Box::new(ok(&answer)))
    };
    falls_back_at_the_deadline(answer, "waiting for the answer").await;
}

#[tokio::test]
async fn a_500_gets_the_builtin_answer_after_one_attempt() {
    let request = request(Endpoint::Anomaly);
    let server = Server::start(|_| status(500)).await;
    let answerer = answerer(&server.config());

    let started = Instant::now();
    let (answered, _) = ask(&answerer, &request).await;

    assert_within(started, Duration::from_secs(15));
    let reason = assert_fell_back(&answered, &request, "status_500");
    assert!(reason.contains("500"), "{reason}");
    assert_eq!(answered.provenance.attempts, 1);
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_429_with_retry_after_then_the_answer_is_the_engines_answer_on_the_second_attempt() {
    let request = request(Endpoint::Anomaly);
    let answer = builtin_json(&request);
    let server = Server::start(move |n| {
        if n == 0 {
            too_many_requests(1)
        } else {
            ok(&answer)
        }
    })
    .await;
    let answerer = answerer(&server.config());

    let (answered, took) = ask(&answerer, &request).await;

    assert_answered(&answered, &request);
    assert_eq!(answered.source, Source::Engine, "{answered:?}");
    assert_eq!(answered.provenance.engine, "http");
    assert_eq!(answered.provenance.attempts, 2);
    assert_eq!(answered.provenance.fallback, None);
    assert!(took >= Duration::from_secs(1), "retried after {took:?}");
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_refused_connection_gets_the_builtin_answer_with_connect() {
    let request = request(Endpoint::Anomaly);
    let config = config_for(&refusing_url().await);
    let answerer = answerer(&config);

    let started = Instant::now();
    let (answered, _) = ask(&answerer, &request).await;

    assert_within(started, config.timeouts.anomaly);
    assert_fell_back(&answered, &request, "connect");
    assert_eq!(answered.provenance.attempts, config.max_attempts);
}

#[tokio::test]
async fn an_answer_that_is_not_json_gets_the_builtin_answer_with_invalid_answer() {
    let request = request(Endpoint::Anomaly);
    let answered = ask_served(&request, "not json".to_owned()).await;

    let reason = assert_fell_back(&answered, &request, "invalid_answer");
    assert!(reason.contains("not JSON"), "{reason}");
    assert_eq!(answered.provenance.attempts, 1);
}

#[tokio::test]
async fn an_answer_missing_confidence_gets_the_builtin_answer_naming_the_field() {
    let request = request(Endpoint::Scaling);
    let answer = edited_json(&request, |v| {
        v.as_object_mut().unwrap().remove("confidence").unwrap();
    });
    let answered = ask_served(&request, answer).await;

    let reason = assert_fell_back(&answered, &request, "invalid_answer");
    assert!(reason.contains("`confidence`"), "{reason}");
}

#[tokio::test]
async fn a_forecast_for_other_horizons_gets_the_builtin_answer_with_invalid_answer() {
    let request = request(Endpoint::Prediction);
    let answer = edited_json(&request, |v| {
        let horizons = v["horizons"].as_array_mut().unwrap();
        assert!(horizons.len() > 1, "the sample asks for several horizons");
        horizons.pop();
    });
    // The trimmed answer is well formed: only the comparison with the request rejects it.
    assert!(wire::decode_answer(Endpoint::Prediction, answer.as_bytes()).is_ok());
    let answered = ask_served(&request, answer).await;

    let reason = assert_fell_back(&answered, &request, "invalid_answer");
    assert!(reason.contains("`horizons`"), "{reason}");
}

#[tokio::test]
async fn a_body_dripping_past_the_deadline_gets_the_builtin_answer_with_deadline() {
    let drip = || Action::Drip {
        len: 100,
        every: Duration::from_millis(200),
    };
    falls_back_at_the_deadline(drip, "reading the answer body").await;
}

#[tokio::test]
async fn an_oversized_answer_gets_the_builtin_answer_with_too_large() {
    let request = request(Endpoint::Anomaly);
    for with_length in [true, false] {
        let (_server, config) = oversized_server(with_length).await;
        let answerer = answerer(&config);

        let (answered, _) = ask(&answerer, &request).await;

        assert_fell_back(&answered, &request, "too_large");
        assert_eq!(answered.provenance.attempts, 1, "with_length {with_length}");
    }
}

#[tokio::test]
async fn an_open_breaker_gets_the_builtin_answer_without_calling_the_server() {
    let request = request(Endpoint::Anomaly);
    let server = Server::start(|_| status(500)).await;
    let config = EngineHttpConfig {
        breaker_failures: 2,
        breaker_open_for: Duration::from_secs(1),
        ..server.config()
    };
    let answerer = answerer(&config);

    let mut digests = Vec::new();
    for _ in 0..2 {
        let (answered, _) = ask(&answerer, &request).await;
        assert_fell_back(&answered, &request, "status_500");
        digests.push(answered.provenance.request_digest);
    }
    let (answered, took) = ask(&answerer, &request).await;

    let reason = assert_fell_back(&answered, &request, "breaker_open");
    assert!(reason.contains("circuit breaker open"), "{reason}");
    assert_eq!(answered.provenance.attempts, 0);
    assert_eq!(answered.provenance.breaker, "open");
    assert!(took < Duration::from_secs(1), "refused after {took:?}");
    assert_eq!(server.requests(), 2);
    digests.push(answered.provenance.request_digest);
    assert!(digests.iter().all(|d| d == &digests[0]), "{digests:?}");
}
