//! Against the real broker and a real HTTP engine: the same input gives the same decisions
//! through `fabric-ai engine serve` (the reference engine, over loopback HTTP) as through the
//! built-in engine in-process; only `source` differs. When the engine answers 500, every
//! window still gets its decision, from the built-in engine, and the audit says why. When the
//! engine is slow, the input partitions are paused while too much is in flight, and still
//! every window gets the same decision.

mod common;

use chrono::{TimeZone, Utc};
use fabric_ai::config::Config;
use fabric_ai::engine::http::Secret;
use fabric_ai::engine::server::{self, ServerOptions};
use fabric_ai::simulate::{Incident, SimConfig, Simulator};
use fabric_ai::topics::{Catalogue, TopicRole};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

const OUTPUTS: [TopicRole; 5] = [
    TopicRole::Anomalies,
    TopicRole::Recommendations,
    TopicRole::Predictions,
    TopicRole::WorkloadInsights,
    TopicRole::ScalingDecisions,
];

fn simulation() -> Simulator {
    Simulator::new(SimConfig {
        clusters: 2,
        nodes: 3,
        period: Duration::from_secs(10),
        start: Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap(),
        duration: Some(Duration::from_secs(70 * 60)),
        seed: 21,
        job_interarrival: Some(Duration::from_secs(45)),
        incidents: [
            "spike:cluster-0/node-01:18m5s",
            "level_shift:cluster-1/node-02:40m35s",
        ]
        .iter()
        .map(|i| Incident::parse(i).unwrap())
        .collect(),
    })
}

fn config(test: &str) -> Config {
    let mut config = common::unique_config(test);
    common::publish_everything(&mut config);
    config.windows.idle_timeout = Duration::from_secs(3);
    config
}

/// Decisions by id, each without its `source`, and the sources seen.
fn by_id(config: &Config) -> (BTreeMap<String, Value>, Vec<String>) {
    let mut out = BTreeMap::new();
    let mut sources = Vec::new();
    for (_, id, payload) in common::decisions(config, &OUTPUTS) {
        let mut json: Value = serde_json::from_slice(&payload).unwrap();
        let source = json.as_object_mut().unwrap().remove("source").unwrap();
        sources.push(source.as_str().unwrap().to_owned());
        out.insert(id, json);
    }
    (out, sources)
}

/// The same decision ids, each decision equal (reported one id at a time, not whole maps).
fn assert_same(expected: &BTreeMap<String, Value>, got: &BTreeMap<String, Value>) {
    let missing: Vec<_> = expected.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !expected.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    for (id, decision) in expected {
        assert_eq!(decision, &got[id], "decision {id} differs");
    }
}

/// Audit records of decisions, as their `details` maps.
fn decision_audits(config: &Config) -> Vec<BTreeMap<String, String>> {
    let catalogue = Catalogue::built_in(&config.kafka.topic_prefix).unwrap();
    common::read_all(config, catalogue.name(TopicRole::Audit))
        .into_iter()
        .map(|(_, payload)| serde_json::from_slice::<Value>(&payload).unwrap())
        .filter(|r| r["kind"] == "decision_accepted" || r["kind"] == "decision_rejected")
        .map(|r| serde_json::from_value(r["details"].clone()).unwrap())
        .collect()
}

/// Starts an engine on loopback; returns its URL and a handle that stops it when dropped.
async fn start_engine(router: axum::Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (url, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_engine_over_http_decides_as_the_builtin_engine_in_process() {
    let reference = config("engref");
    common::create_topics(&reference, 3).await;
    common::run_to_completion(&reference, &mut simulation()).await;
    let (expected, builtin_sources) = by_id(&reference);
    assert!(expected.len() > 50, "too few decisions: {}", expected.len());
    assert!(builtin_sources.iter().all(|s| s == "builtin"));

    let options = ServerOptions {
        token: Some("s3cret".into()),
        ..ServerOptions::default()
    };
    let (url, engine) = start_engine(server::router(options)).await;
    let mut config = config("enghttp");
    config.engine.enabled = true;
    config.engine.url = url;
    config.engine.token = Some(Secret::new("s3cret"));
    common::create_topics(&config, 3).await;
    common::run_to_completion(&config, &mut simulation()).await;
    engine.abort();

    let (got, sources) = by_id(&config);
    assert!(
        sources.iter().all(|s| s == "engine"),
        "every decision answered by the engine"
    );
    assert_same(&expected, &got);
    let audits = decision_audits(&config);
    assert_eq!(audits.len(), got.len());
    assert!(audits
        .iter()
        .all(|d| d["engine"] == "http" && !d.contains_key("fallback_reason")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_that_fails_leaves_every_window_to_the_builtin_engine_with_the_reason() {
    let reference = config("engfref");
    common::create_topics(&reference, 2).await;
    common::run_to_completion(&reference, &mut simulation()).await;
    let (expected, _) = by_id(&reference);

    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let failing = axum::Router::new().fallback(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async {
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "engine broke",
            )
        }
    });
    let (url, engine) = start_engine(failing).await;
    let mut config = config("engfail");
    config.engine.enabled = true;
    config.engine.url = url;
    config.engine.backoff_initial = Duration::from_millis(10);
    common::create_topics(&config, 2).await;
    common::run_to_completion(&config, &mut simulation()).await;
    engine.abort();

    let (got, sources) = by_id(&config);
    assert_same(&expected, &got);
    assert!(sources.iter().all(|s| s == "builtin"));
    let audits = decision_audits(&config);
    assert_eq!(audits.len(), got.len());
    // The first calls see the 500 (not retried); once the breaker opens after five of them,
    // calls are not even sent (a few may already be under way when it opens). Every decision
    // says why the built-in engine made it.
    let sent = hits.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        (5..20).contains(&sent),
        "{sent} requests reached the engine"
    );
    let reasons: Vec<&str> = audits
        .iter()
        .map(|d| d.get("fallback_reason").map(String::as_str).unwrap_or(""))
        .collect();
    assert!(
        reasons
            .iter()
            .all(|r| r.contains("status 500") || r.contains("breaker open")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("breaker open")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_engine_pauses_the_input_and_loses_no_decision() {
    let reference = config("engsref");
    common::create_topics(&reference, 2).await;
    common::run_to_completion(&reference, &mut simulation()).await;
    let (expected, _) = by_id(&reference);

    let slow = server::router(ServerOptions::default()).layer(axum::middleware::from_fn(
        |request: axum::extract::Request, next: axum::middleware::Next| async move {
            tokio::time::sleep(Duration::from_millis(40)).await;
            next.run(request).await
        },
    ));
    let (url, engine) = start_engine(slow).await;
    let mut config = config("engslow");
    config.engine.enabled = true;
    config.engine.url = url;
    config.processing.max_in_flight = 4;
    common::create_topics(&config, 2).await;
    let stats = common::run_to_completion(&config, &mut simulation()).await;
    engine.abort();

    let (got, sources) = by_id(&config);
    assert!(sources.iter().all(|s| s == "engine"));
    assert_same(&expected, &got);
    assert!(stats.pauses > 0, "the input was never paused: {stats:?}");
    assert!(stats.peak_in_flight >= 4, "{stats:?}");
}
