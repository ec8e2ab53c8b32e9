//! The engine HTTP transport against real loopback servers that misbehave on purpose: slow,
//! failing, rate-limiting, dripping, oversized, refusing. Each case checks the outcome's
//! kind, that the call ended within its deadline (plus a generous second) and how many
//! requests it took.
//!
//! The servers ([`support::http`]) speak HTTP/1.1 by hand, one request per connection, so a
//! test controls every byte and its timing.

mod support;

use bytes::Bytes;
use fabric_ai::engine::http::{
    BreakerState, EngineHttpConfig, FailureKind, HttpTransport, Phase, Secret,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::http::{
    assert_within, config_for, ok, oversized_server, refusing_url, status, too_many_requests,
    Action, Server,
};

fn transport(config: &EngineHttpConfig) -> HttpTransport {
    HttpTransport::new(config).expect("test config builds")
}

fn body() -> Bytes {
    Bytes::from_static(br#"{"window":"w1"}"#)
}

#[tokio::test]
async fn an_endpoint_sleeping_past_the_deadline_fails_with_deadline_after_one_attempt() {
    let server = Server::start(|_| Action::Sleep(Duration::from_secs(5), Box::new(ok("{}")))).await;
    let transport = transport(&server.config());
    let deadline = Duration::from_secs(1);

    let started = Instant::now();
    let failure = transport
        .post("/detect/anomaly", deadline, body())
        .await
        .unwrap_err();

    assert_within(started, deadline);
    assert!(started.elapsed() >= deadline, "{:?}", started.elapsed());
    assert!(
        matches!(
            failure.kind,
            FailureKind::Deadline {
                phase: Phase::Request,
                ..
            }
        ),
        "{failure}"
    );
    assert_eq!(failure.kind.label(), "deadline");
    assert_eq!(failure.attempts, 1);
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_500_is_final_after_exactly_one_attempt() {
    let server = Server::start(|_| status(500)).await;
    let transport = transport(&server.config());
    let deadline = Duration::from_secs(5);

    let started = Instant::now();
    let failure = transport
        .post("/optimize/performance", deadline, body())
        .await
        .unwrap_err();

    assert_within(started, deadline);
    assert_eq!(failure.kind, FailureKind::Status { code: 500 });
    assert_eq!(failure.kind.label(), "status_500");
    assert_eq!(failure.attempts, 1);
    // Give a wrongly scheduled retry time to arrive before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn two_503s_then_a_200_succeed_on_the_third_attempt() {
    let server = Server::start(|n| if n < 2 { status(503) } else { ok("{\"a\":1}") }).await;
    let transport = transport(&server.config());
    let deadline = Duration::from_secs(5);

    let started = Instant::now();
    let reply = transport
        .post("/optimize/scaling", deadline, body())
        .await
        .unwrap();

    assert_within(started, deadline);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, Bytes::from_static(b"{\"a\":1}"));
    assert_eq!(reply.attempts, 3);
    assert!(
        reply.latency >= Duration::from_millis(50),
        "{:?}",
        reply.latency
    );
    assert_eq!(server.requests(), 3);
    let stats = transport.stats();
    assert_eq!((stats.calls, stats.successes, stats.retries), (1, 1, 2));
}

#[tokio::test]
async fn a_429_with_retry_after_waits_that_long_before_the_retry() {
    let server = Server::start(|n| {
        if n == 0 {
            too_many_requests(1)
        } else {
            ok("{}")
        }
    })
    .await;
    let transport = transport(&server.config());
    let deadline = Duration::from_secs(5);

    let started = Instant::now();
    let reply = transport
        .post("/analyze/workload", deadline, body())
        .await
        .unwrap();

    assert_within(started, deadline);
    assert_eq!(reply.attempts, 2);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let gap = seen[1].at - seen[0].at;
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
}

#[tokio::test]
async fn a_retry_after_past_the_deadline_fails_with_deadline_without_waiting() {
    let server = Server::start(|_| Action::Respond {
        status: 503,
        headers: vec![("retry-after", "30".into())],
        body: Vec::new(),
    })
    .await;
    let transport = transport(&server.config());
    let deadline = Duration::from_secs(2);

    let started = Instant::now();
    let failure = transport
        .post("/predict/resources", deadline, body())
        .await
        .unwrap_err();

    assert!(started.elapsed() < deadline, "{:?}", started.elapsed());
    assert!(
        matches!(
            failure.kind,
            FailureKind::Deadline {
                phase: Phase::RetryAfter,
                ..
            }
        ),
        "{failure}"
    );
    assert!(failure.kind.to_string().contains("503"), "{failure}");
    assert_eq!(failure.attempts, 1);
}

#[tokio::test]
async fn a_refused_connection_fails_with_connect_after_max_attempts() {
    let config = config_for(&refusing_url().await);
    let transport = transport(&config);
    let deadline = Duration::from_secs(5);

    let started = Instant::now();
    let failure = transport
        .post("/detect/anomaly", deadline, body())
        .await
        .unwrap_err();

    assert_within(started, deadline);
    assert!(
        matches!(failure.kind, FailureKind::Connect { .. }),
        "{failure}"
    );
    assert_eq!(failure.kind.label(), "connect");
    assert_eq!(failure.attempts, config.max_attempts);
    assert_eq!(transport.stats().failures.connect, 1);
}

#[tokio::test]
async fn a_body_dripping_past_the_deadline_fails_with_deadline() {
    let server = Server::start(|_| Action::Drip {
        len: 100,
        every: Duration::from_millis(200),
    })
    .await;
    let transport = transport(&server.config());
    let deadline = Duration::from_secs(1);

    let started = Instant::now();
    let failure = transport
        .post("/detect/anomaly", deadline, body())
        .await
        .unwrap_err();

    assert_within(started, deadline);
    assert!(
        matches!(
            failure.kind,
            FailureKind::Deadline {
                phase: Phase::Body,
                ..
            }
        ),
        "{failure}"
    );
    assert_eq!(failure.attempts, 1);
}

async fn oversized(with_length: bool) {
    let (server, config) = oversized_server(with_length).await;
    let transport = transport(&config);
    let deadline = Duration::from_secs(5);

    let started = Instant::now();
    let failure = transport
        .post("/optimize/performance", deadline, body())
        .await
        .unwrap_err();

    assert_within(started, deadline);
    assert_eq!(failure.kind, FailureKind::TooLarge { limit: 4 * 1024 });
    assert_eq!(failure.kind.label(), "too_large");
    assert_eq!(failure.attempts, 1);
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn an_oversized_body_with_content_length_is_too_large() {
    oversized(true).await;
}

#[tokio::test]
async fn an_oversized_body_without_content_length_is_too_large() {
    oversized(false).await;
}

#[tokio::test]
async fn a_body_exactly_at_the_limit_is_accepted() {
    let server = Server::start(|_| Action::Large {
        len: 4 * 1024,
        with_length: false,
    })
    .await;
    let config = EngineHttpConfig {
        max_answer_bytes: 4 * 1024,
        ..server.config()
    };
    let reply = transport(&config)
        .post("/optimize/performance", Duration::from_secs(5), body())
        .await
        .unwrap();
    assert_eq!(reply.body.len(), 4 * 1024);
}

#[tokio::test]
async fn a_404_is_not_retried() {
    let server = Server::start(|_| status(404)).await;
    let transport = transport(&server.config());
    let deadline = Duration::from_secs(5);

    let started = Instant::now();
    let failure = transport
        .post("/no/such/endpoint", deadline, body())
        .await
        .unwrap_err();

    assert_within(started, deadline);
    assert_eq!(failure.kind, FailureKind::Status { code: 404 });
    assert_eq!(failure.attempts, 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn the_token_arrives_as_a_bearer_header_with_the_json_body() {
    let server = Server::start(|_| ok("{}")).await;
    let config = EngineHttpConfig {
        url: format!("http://{}/", server.addr),
        token: Some(Secret::new("t0ken.abc")),
        ..server.config()
    };
    let reply = transport(&config)
        .post("/detect/anomaly", Duration::from_secs(5), body())
        .await
        .unwrap();

    assert_eq!(reply.attempts, 1);
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/detect/anomaly");
    assert_eq!(request.headers["authorization"], "Bearer t0ken.abc");
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.body, body().to_vec());
}

#[tokio::test]
async fn the_token_can_come_from_an_environment_variable() {
    let server = Server::start(|_| ok("{}")).await;
    let name = "FABRIC_AI_TEST_ENGINE_TOKEN_FROM_ENV";
    std::env::set_var(name, "from-env");
    let config = EngineHttpConfig {
        token_env: Some(name.into()),
        ..server.config()
    };
    transport(&config).health().await.unwrap();
    assert_eq!(server.seen()[0].headers["authorization"], "Bearer from-env");

    let missing = EngineHttpConfig {
        token_env: Some("FABRIC_AI_TEST_ENGINE_TOKEN_NEVER_SET".into()),
        ..server.config()
    };
    let err = HttpTransport::new(&missing).unwrap_err();
    assert!(err.to_string().contains("engine.token_env"), "{err}");
}

#[tokio::test]
async fn health_is_a_get_of_slash_health() {
    let server = Server::start(|_| ok("{\"status\":\"ok\"}")).await;
    let reply = transport(&server.config()).health().await.unwrap();
    assert_eq!(reply.status, 200);
    let seen = server.seen();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("GET", "/health")
    );
}

#[tokio::test]
async fn the_rate_limit_spaces_requests_at_the_server() {
    let server = Server::start(|_| ok("{}")).await;
    let config = EngineHttpConfig {
        rate_limit_per_second: 5.0,
        rate_limit_burst: 1,
        ..server.config()
    };
    let transport = transport(&config);

    for _ in 0..10 {
        transport
            .post("/detect/anomaly", Duration::from_secs(10), body())
            .await
            .unwrap();
    }

    let seen = server.seen();
    assert_eq!(seen.len(), 10);
    let span = seen[9].at - seen[0].at;
    // Nine gaps of 200 ms; a little slack for the limiter's rounding.
    assert!(
        span >= Duration::from_millis(1600),
        "10 requests in {span:?}"
    );
    assert!(transport.stats().rate_limit_waits >= 8);
}

#[tokio::test]
async fn a_rate_limit_slot_beyond_the_deadline_fails_with_rate_limited() {
    let server = Server::start(|_| ok("{}")).await;
    let config = EngineHttpConfig {
        rate_limit_per_second: 0.1,
        rate_limit_burst: 1,
        ..server.config()
    };
    let transport = transport(&config);
    transport
        .post("/detect/anomaly", Duration::from_secs(5), body())
        .await
        .unwrap();

    let deadline = Duration::from_millis(500);
    let started = Instant::now();
    let failure = transport
        .post("/detect/anomaly", deadline, body())
        .await
        .unwrap_err();

    assert_within(started, deadline);
    assert_eq!(failure.kind, FailureKind::RateLimited);
    assert_eq!(failure.attempts, 0);
    assert_eq!(server.requests(), 1);
}

/// A server failing with 500 until `healthy` is set.
async fn switchable(pause: Duration) -> (Server, Arc<AtomicBool>) {
    let healthy = Arc::new(AtomicBool::new(false));
    let flag = healthy.clone();
    let server = Server::start(move |_| {
        let answer = if flag.load(Ordering::SeqCst) {
            ok("{}")
        } else {
            status(500)
        };
        Action::Sleep(pause, Box::new(answer))
    })
    .await;
    (server, healthy)
}

fn breaker_config(server: &Server) -> EngineHttpConfig {
    EngineHttpConfig {
        breaker_failures: 2,
        breaker_open_for: Duration::from_secs(1),
        ..server.config()
    }
}

async fn trip(transport: &HttpTransport) {
    for _ in 0..2 {
        let failure = transport
            .post("/optimize/scaling", Duration::from_secs(5), body())
            .await
            .unwrap_err();
        assert_eq!(failure.kind, FailureKind::Status { code: 500 });
    }
    assert_eq!(transport.breaker_state(), BreakerState::Open);
}

#[tokio::test]
async fn the_breaker_opens_refuses_without_calling_then_a_good_probe_closes_it() {
    let (server, healthy) = switchable(Duration::ZERO).await;
    let transport = transport(&breaker_config(&server));

    trip(&transport).await;
    let started = Instant::now();
    let failure = transport
        .post("/optimize/scaling", Duration::from_secs(5), body())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(500));
    assert!(
        matches!(failure.kind, FailureKind::BreakerOpen { .. }),
        "{failure}"
    );
    assert_eq!(failure.kind.label(), "breaker_open");
    assert_eq!(failure.attempts, 0);
    assert_eq!(server.requests(), 2);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(transport.breaker_state(), BreakerState::HalfOpen);
    healthy.store(true, Ordering::SeqCst);
    let reply = transport
        .post("/optimize/scaling", Duration::from_secs(5), body())
        .await
        .unwrap();
    assert_eq!(reply.attempts, 1);
    assert_eq!(server.requests(), 3);
    assert_eq!(transport.breaker_state(), BreakerState::Closed);
    let stats = transport.stats();
    assert_eq!(stats.breaker_trips, 1);
    assert_eq!(stats.failures.breaker_open, 1);
    assert_eq!(stats.failures.status, 2);
}

#[tokio::test]
async fn a_failing_half_open_probe_reopens_the_breaker() {
    let (server, _healthy) = switchable(Duration::ZERO).await;
    let transport = transport(&breaker_config(&server));

    trip(&transport).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let failure = transport
        .post("/optimize/scaling", Duration::from_secs(5), body())
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Status { code: 500 });
    assert_eq!(server.requests(), 3);
    assert_eq!(transport.breaker_state(), BreakerState::Open);

    let failure = transport
        .post("/optimize/scaling", Duration::from_secs(5), body())
        .await
        .unwrap_err();
    assert!(
        matches!(failure.kind, FailureKind::BreakerOpen { .. }),
        "{failure}"
    );
    assert_eq!(server.requests(), 3);
    assert_eq!(transport.stats().breaker_trips, 2);
}

#[tokio::test]
async fn half_open_lets_one_probe_through_while_refusing_the_others() {
    let (server, healthy) = switchable(Duration::from_millis(500)).await;
    let transport = transport(&breaker_config(&server));

    trip(&transport).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    healthy.store(true, Ordering::SeqCst);
    let probe = transport.post("/optimize/scaling", Duration::from_secs(5), body());
    let other = async {
        // Let the probe take the half-open slot first.
        tokio::time::sleep(Duration::from_millis(100)).await;
        transport
            .post("/optimize/scaling", Duration::from_secs(5), body())
            .await
    };
    let (probe, other) = tokio::join!(probe, other);

    assert_eq!(probe.unwrap().attempts, 1);
    let other = other.unwrap_err();
    assert!(
        matches!(other.kind, FailureKind::BreakerOpen { .. }),
        "{other}"
    );
    assert_eq!(server.requests(), 3);
    assert_eq!(transport.breaker_state(), BreakerState::Closed);
}

#[tokio::test]
async fn the_server_never_sees_more_than_max_in_flight_requests() {
    let server =
        Server::start(|_| Action::Sleep(Duration::from_millis(500), Box::new(ok("{}")))).await;
    let config = EngineHttpConfig {
        max_in_flight: 2,
        ..server.config()
    };
    let transport = transport(&config);

    let calls = (0..6).map(|_| transport.post("/detect/anomaly", Duration::from_secs(10), body()));
    let replies = futures::future::join_all(calls).await;

    assert!(replies.iter().all(Result::is_ok), "{replies:?}");
    assert_eq!(server.requests(), 6);
    assert_eq!(server.max_concurrent.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn waiting_for_an_in_flight_slot_counts_against_the_deadline() {
    let server = Server::start(|_| Action::Sleep(Duration::from_secs(3), Box::new(ok("{}")))).await;
    let config = EngineHttpConfig {
        max_in_flight: 1,
        ..server.config()
    };
    let transport = transport(&config);

    let slow = transport.post("/detect/anomaly", Duration::from_secs(10), body());
    let deadline = Duration::from_millis(800);
    let waiting = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        let result = transport.post("/detect/anomaly", deadline, body()).await;
        (started.elapsed(), result)
    };
    let (slow, (took, waiting)) = tokio::join!(slow, waiting);

    assert!(slow.is_ok());
    let failure = waiting.unwrap_err();
    assert!(took <= deadline + Duration::from_secs(1), "took {took:?}");
    assert!(took >= deadline, "took {took:?}");
    assert!(
        matches!(
            failure.kind,
            FailureKind::Deadline {
                phase: Phase::InFlightSlot,
                ..
            }
        ),
        "{failure}"
    );
    assert_eq!(failure.attempts, 0);
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn an_unreadable_ca_file_is_a_build_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = EngineHttpConfig {
        ca_file: Some(dir.path().join("absent.pem")),
        ..EngineHttpConfig::default()
    };
    let err = HttpTransport::new(&missing).unwrap_err();
    assert!(err.to_string().contains("engine.ca_file"), "{err}");

    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let junk = EngineHttpConfig {
        ca_file: Some(junk),
        ..EngineHttpConfig::default()
    };
    let err = HttpTransport::new(&junk).unwrap_err();
    assert!(err.to_string().contains("engine.ca_file"), "{err}");
}

#[tokio::test]
async fn a_pem_ca_file_is_added_as_a_trusted_root() {
    // A self-signed test certificate (no private key is kept anywhere).
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/engine-test-ca.pem");
    let config = EngineHttpConfig {
        url: "https://localhost:8095".into(),
        ca_file: Some(path),
        ..EngineHttpConfig::default()
    };
    HttpTransport::new(&config).unwrap();
}

#[tokio::test]
async fn a_504_on_every_attempt_fails_with_that_status_after_max_attempts() {
    let server = Server::start(|_| status(504)).await;
    let transport = transport(&server.config());
    let deadline = Duration::from_secs(5);

    let started = Instant::now();
    let failure = transport
        .post("/predict/resources", deadline, body())
        .await
        .unwrap_err();

    assert_within(started, deadline);
    assert_eq!(failure.kind.label(), "status_504");
    assert_eq!(failure.attempts, 3);
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn answered_4xx_calls_do_not_open_the_breaker() {
    let server = Server::start(|_| status(400)).await;
    let transport = transport(&breaker_config(&server));
    for _ in 0..4 {
        let failure = transport
            .post("/detect/anomaly", Duration::from_secs(5), body())
            .await
            .unwrap_err();
        assert_eq!(failure.kind, FailureKind::Status { code: 400 });
    }
    assert_eq!(transport.breaker_state(), BreakerState::Closed);
    assert_eq!(server.requests(), 4);
}

#[tokio::test]
async fn a_cancelled_probe_lets_the_next_call_probe() {
    let (server, healthy) = switchable(Duration::from_millis(300)).await;
    let transport = transport(&breaker_config(&server));

    trip(&transport).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let cancelled = tokio::time::timeout(
        Duration::from_millis(100),
        transport.post("/optimize/scaling", Duration::from_secs(5), body()),
    )
    .await;
    assert!(cancelled.is_err(), "the probe should still be waiting");

    healthy.store(true, Ordering::SeqCst);
    let reply = transport
        .post("/optimize/scaling", Duration::from_secs(5), body())
        .await
        .unwrap();
    assert_eq!(reply.attempts, 1);
    assert_eq!(transport.breaker_state(), BreakerState::Closed);
}
