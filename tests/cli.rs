//! The command line: every subcommand has `--help`, configuration errors name the field, and
//! against the real broker `simulate --truth` then `run --config` finds what the truth file
//! says was injected, and `run` stops with status 0 on SIGTERM.

mod common;

use fabric_ai::event::{self, Anomaly, Encoding};
use fabric_ai::simulate::incident::GroundTruth;
use fabric_ai::topics::TopicRole;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn fabric_ai() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fabric-ai"))
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        vec![],
        vec!["demo"],
        vec!["run"],
        vec!["replay"],
        vec!["simulate"],
        vec!["topics"],
        vec!["topics", "apply"],
        vec!["config"],
        vec!["config", "check"],
        vec!["config", "defaults"],
        vec!["engine"],
        vec!["engine", "serve"],
    ] {
        let out = fabric_ai().args(&args).arg("--help").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}");
        assert!(text.contains("Usage: fabric-ai"), "{args:?}: {text}");
    }
}

#[test]
fn config_errors_name_the_field_and_fail_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[anomaly]\nintervall = \"2m\"\n", "intervall"),
        (
            "[windows]\nout_of_orderness = \"soon\"\n",
            "out_of_orderness",
        ),
        ("[kafka.client]\n\"group.id\" = \"x\"\n", "group.id"),
        (
            "[processing]\nmax_in_flight = 0\n",
            "processing.max_in_flight",
        ),
    ];
    for (text, field) in cases {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        for sub in [vec!["config", "check"], vec!["run", "--config"]] {
            let out = fabric_ai().args(&sub).arg(&path).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{sub:?} accepted {text}");
            assert!(stderr.contains(field), "{sub:?} {text}: {stderr}");
        }
    }
    let out = fabric_ai()
        .args(["run", "--config", "/nonexistent/fabric-ai.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/fabric-ai.toml"));
}

#[test]
fn config_defaults_pass_config_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = fabric_ai().args(["config", "defaults"]).output().unwrap();
    assert!(out.status.success());
    let path = dir.path().join("defaults.toml");
    std::fs::write(&path, &out.stdout).unwrap();
    let check = fabric_ai()
        .args(["config", "check"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_then_run_finds_the_ground_truth_and_stops_on_sigterm() {
    let mut config = common::unique_config("cli");
    config.windows.idle_timeout = Duration::from_secs(3);
    let catalogue = common::create_topics(&config, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let truth_path = dir.path().join("truth.json");

    let status = fabric_ai()
        .args([
            "simulate",
            "--clusters",
            "1",
            "--nodes",
            "5",
            "--duration",
            "30m",
        ])
        .args(["--start", "2026-05-01T00:00:00Z", "--seed", "5"])
        .args([
            "--incident",
            "spike:cluster-0/node-03:18m15s",
            "--incident",
            "level_shift:cluster-0/node-00:22m45s:cpu:0.35",
        ])
        .args(["--bootstrap-servers", &config.kafka.bootstrap_servers])
        .args(["--topic-prefix", &config.kafka.topic_prefix, "--truth"])
        .arg(&truth_path)
        .status()
        .unwrap();
    assert!(status.success());
    let truth: GroundTruth = serde_json::from_slice(&std::fs::read(&truth_path).unwrap()).unwrap();
    assert_eq!(truth.incidents.len(), 2);

    let config_path = dir.path().join("fabric-ai.toml");
    std::fs::write(&config_path, config.to_toml()).unwrap();
    let mut run = fabric_ai()
        .args(["run", "--config"])
        .arg(&config_path)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let topic = catalogue.name(TopicRole::Anomalies).to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut anomalies: Vec<Anomaly> = Vec::new();
    while anomalies.len() < truth.incidents.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        anomalies = common::read_all(&config, &topic)
            .into_iter()
            .map(|(_, p)| event::decode(&p, Encoding::Json).unwrap())
            .collect();
    }
    // Give a wrongly placed anomaly time to show up too.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let status = Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = run.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "run exits 0 on SIGTERM");

    let anomalies: Vec<Anomaly> = common::read_all(&config, &topic)
        .into_iter()
        .map(|(_, p)| event::decode(&p, Encoding::Json).unwrap())
        .collect();
    assert_eq!(anomalies.len(), truth.incidents.len(), "{anomalies:#?}");
    for entry in &truth.incidents {
        let scope = format!("{}/{}", entry.incident.cluster_id, entry.incident.node_id);
        let found = anomalies
            .iter()
            .find(|a| a.header.scope == scope)
            .unwrap_or_else(|| panic!("{scope}"));
        // The first sample at or after the injection time is in the anomaly's window.
        assert!(found.header.window.start <= entry.starts_at, "{found:?}");
        assert!(entry.starts_at < found.header.window.end, "{found:?}");
        assert!(found.detected_at >= entry.starts_at, "{found:?}");
    }
    let committed = common::committed(
        &config,
        &config.kafka.group_id,
        catalogue.name(TopicRole::Telemetry),
        3,
    );
    assert!(
        committed.iter().any(|o| *o > 0),
        "offsets committed on shutdown: {committed:?}"
    );
}

#[tokio::test]
async fn engine_serve_takes_its_token_from_the_environment_and_stops_on_sigterm() {
    // A named token variable that is not set refuses to start rather than run unprotected.
    let out = fabric_ai()
        .args(["engine", "serve", "--listen", "127.0.0.1:0"])
        .args(["--token-env", "FABRIC_AI_TEST_UNSET_TOKEN"])
        .env_remove("FABRIC_AI_TEST_UNSET_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("FABRIC_AI_TEST_UNSET_TOKEN"));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut serve = fabric_ai()
        .args(["engine", "serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--token-env", "FABRIC_AI_TEST_TOKEN"])
        .env("FABRIC_AI_TEST_TOKEN", "t0ken")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let started = Instant::now();
    while client.get(url("/health")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "engine serve did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = client
        .post(url("/optimize/scaling"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);
    let authorised = client
        .post(url("/optimize/scaling"))
        .bearer_auth("t0ken")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(authorised.status(), reqwest::StatusCode::BAD_REQUEST);

    let status = Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = serve.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "engine serve exits 0 on SIGTERM");
}
