//! Against the real broker's SASL_SSL listener (TLS with the test CA of `scripts/kafka-local`,
//! SCRAM-SHA-512): the pipeline runs end to end with only `[kafka.client]` settings, a wrong
//! password and an untrusted broker certificate stop it with the reason in bounded time, and
//! the password never shows in what `fabric-ai run` prints.
//!
//! The listener comes from `KAFKA_SECURE_BOOTSTRAP` (one ip:port, default `127.0.0.1:9094`),
//! the CA from `KAFKA_SECURE_CA` (default `target/kafka-local/tls/ca.pem` of this checkout).
//! The user is the fixed one `scripts/kafka-local` creates. Without that broker the tests fail.

mod common;

use fabric_ai::config::Config;
use fabric_ai::pipeline::PipelineError;
use fabric_ai::simulate::{SimConfig, Simulator};
use fabric_ai::stats::Stats;
use fabric_ai::topics::TopicRole;
use std::sync::Arc;
use std::time::Duration;

/// The SCRAM user and password `scripts/kafka-local` creates at format time.
const USER: &str = "fabric-ai";
const PASSWORD: &str = "fabric-ai-test-secret";

/// How long a refused client may take to stop the pipeline. librdkafka refuses on the first
/// connection attempt; this only bounds a hang.
const REFUSAL_BOUND: Duration = Duration::from_secs(60);

/// The secure listener's address; fails the test, saying how to start it, when nothing
/// listens there.
fn secure_bootstrap() -> String {
    let address =
        std::env::var("KAFKA_SECURE_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9094".to_string());
    let socket: std::net::SocketAddr = address
        .parse()
        .expect("KAFKA_SECURE_BOOTSTRAP is one ip:port");
    if let Err(e) = std::net::TcpStream::connect_timeout(&socket, Duration::from_secs(5)) {
        panic!(
            "no SASL_SSL listener at {address} ({e}); start the broker with \
             `scripts/kafka-local start`"
        );
    }
    address
}

fn secure_ca() -> String {
    let ca = std::env::var("KAFKA_SECURE_CA").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/kafka-local/tls/ca.pem").to_string()
    });
    assert!(
        std::path::Path::new(&ca).is_file(),
        "no CA file at {ca}; start the broker with `scripts/kafka-local start` (it writes the CA)"
    );
    ca
}

/// A unique configuration for the secure listener: SASL_SSL, SCRAM-SHA-512 as `USER` with
/// `password`, trusting the test CA when `trust_ca`.
fn secure_config(test: &str, password: &str, trust_ca: bool) -> Config {
    let mut config = common::unique_config(test);
    config.kafka.bootstrap_servers = secure_bootstrap();
    let mut settings = vec![
        ("security.protocol", "SASL_SSL".to_string()),
        ("sasl.mechanisms", "SCRAM-SHA-512".to_string()),
        ("sasl.username", USER.to_string()),
        ("sasl.password", password.to_string()),
    ];
    if trust_ca {
        settings.push(("ssl.ca.location", secure_ca()));
    }
    for (key, value) in settings {
        config.kafka.client.insert(key.to_string(), value);
    }
    config
}

/// Runs the pipeline with `config` and expects it to stop by itself, refused.
async fn refused_reason(config: Config) -> String {
    let stats = Arc::new(Stats::default());
    let run = fabric_ai::pipeline::run(config, stats, std::future::pending());
    match tokio::time::timeout(REFUSAL_BOUND, run).await {
        Err(_) => {
            panic!("the pipeline still ran after {REFUSAL_BOUND:?}: the refusal was not seen")
        }
        Ok(Ok(())) => panic!("the pipeline stopped cleanly instead of reporting the refusal"),
        Ok(Err(PipelineError::Refused { reason })) => reason,
        Ok(Err(other)) => panic!("the pipeline stopped with another error: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_flow_end_to_end_over_tls_and_scram() {
    let mut config = secure_config("security", PASSWORD, true);
    config.windows.idle_timeout = Duration::from_secs(3);
    common::publish_everything(&mut config);
    // Topics are created through the secure listener too: the admin client gets the settings.
    common::create_topics(&config, 2).await;

    let mut sim = Simulator::new(SimConfig {
        clusters: 1,
        nodes: 2,
        period: Duration::from_secs(10),
        start: chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap(),
        duration: Some(Duration::from_secs(10 * 60)),
        seed: 5,
        job_interarrival: Some(Duration::from_secs(60)),
        incidents: Vec::new(),
    });
    let stats = common::run_to_completion(&config, &mut sim).await;
    assert!(stats.windows_closed > 0, "no window closed: {stats:?}");
    assert!(stats.decisions_out > 0, "no decision: {stats:?}");

    let published = common::decisions(&config, &[TopicRole::Audit]);
    assert!(
        !published.is_empty(),
        "no decision could be read back over the secure listener"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_stops_the_pipeline_with_the_authentication_failure() {
    let config = secure_config("security-badpw", "not-the-password", true);
    let reason = refused_reason(config).await;
    assert!(
        reason.contains("Authentication failed"),
        "unexpected reason: {reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_trust_the_test_ca_is_refused() {
    // No ssl.ca.location: librdkafka trusts the system's CAs only, which never signed the
    // broker's certificate.
    let config = secure_config("security-noca", PASSWORD, false);
    let reason = refused_reason(config).await;
    assert!(
        reason.contains("certificate verify failed"),
        "unexpected reason: {reason}"
    );
}

#[test]
fn run_with_a_wrong_password_exits_with_the_reason_and_never_prints_the_password() {
    let secret = "wrong-but-secret-a7c1e9";
    let config = secure_config("security-cli", PASSWORD, true);
    let mut shown = config.clone();
    shown.kafka.client.remove("sasl.password");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fabric-ai.toml");
    std::fs::write(&path, shown.to_toml()).unwrap();

    // The password comes from the environment, as a deployment would pass it. The output goes
    // to files: a full pipe would block the child.
    let stdout_path = dir.path().join("stdout");
    let stderr_path = dir.path().join("stderr");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fabric-ai"))
        .args(["run", "--config"])
        .arg(&path)
        .env("FABRIC_AI__KAFKA__CLIENT__SASL.PASSWORD", secret)
        .env("RUST_LOG", "debug")
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("start fabric-ai run");
    let deadline = std::time::Instant::now() + REFUSAL_BOUND;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("fabric-ai run still ran after {REFUSAL_BOUND:?} with a wrong password");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = std::fs::read_to_string(&stdout_path).unwrap();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();

    assert!(!status.success(), "exited 0 with a wrong password");
    assert!(
        stderr.contains("kafka refused the client") && stderr.contains("Authentication failed"),
        "the reason is not in the output: {stderr}"
    );
    assert!(
        !stdout.contains(secret) && !stderr.contains(secret),
        "the password was printed"
    );
}
