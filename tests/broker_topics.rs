//! Against the real broker: `fabric-ai topics apply` creates what is missing, is idempotent,
//! reports drift without changing anything, and `--dry-run` creates nothing.

mod common;

use rdkafka::admin::{AdminOptions, AlterConfig, NewTopic, ResourceSpecifier, TopicReplication};
use std::process::Command;

fn apply(prefix: &str, extra: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fabric-ai"))
        .args([
            "topics",
            "apply",
            "--bootstrap-servers",
            &common::bootstrap(),
            "--topic-prefix",
            prefix,
        ])
        .args(extra)
        .output()
        .expect("run fabric-ai");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.code().is_some(), "{stdout}");
    (out.status.code().unwrap_or(-1), stdout)
}

fn lines_starting(stdout: &str, word: &str) -> usize {
    stdout.lines().filter(|l| l.starts_with(word)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_apply_creates_then_changes_nothing_and_reports_drift() {
    let config = common::unique_config("topics");
    let prefix = config.kafka.topic_prefix.clone();

    // One topic per role.
    let all = fabric_ai::topics::TopicRole::ALL.len();
    let (code, dry) = apply(&prefix, &["--dry-run"]);
    assert_eq!(code, 0, "{dry}");
    assert_eq!(lines_starting(&dry, "create"), all, "{dry}");
    assert!(dry.contains(&format!("dry run: {all} to create")), "{dry}");
    let (_, still_missing) = apply(&prefix, &["--dry-run"]);
    assert_eq!(
        lines_starting(&still_missing, "create"),
        all,
        "dry run created something"
    );

    let (code, first) = apply(&prefix, &[]);
    assert_eq!(code, 0, "{first}");
    assert!(first.contains(&format!("{all} created")), "{first}");

    let (code, second) = apply(&prefix, &[]);
    assert_eq!(code, 0, "{second}");
    assert_eq!(lines_starting(&second, "ok"), all, "{second}");
    assert!(second.contains("0 created"), "{second}");

    // Drift: change a declared config entry behind fabric-ai's back.
    let admin = fabric_ai::bus::admin::admin_client(&config.kafka).unwrap();
    let audit = format!("{prefix}fabric.audit");
    let alter = AlterConfig::new(ResourceSpecifier::Topic(&audit)).set("retention.ms", "1000");
    let results = admin
        .alter_configs([&alter], &AdminOptions::new())
        .await
        .unwrap();
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    // The change reaches the broker's metadata a moment after the controller accepts it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let described = admin
            .describe_configs([&ResourceSpecifier::Topic(&audit)], &AdminOptions::new())
            .await
            .unwrap();
        let applied = described.iter().flatten().any(|r| {
            r.get("retention.ms")
                .is_some_and(|e| e.value.as_deref() == Some("1000"))
        });
        if applied {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "retention.ms never became 1000"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    let (code, drifted) = apply(&prefix, &[]);
    assert_eq!(
        code, 0,
        "drift is reported, not fatal, by default: {drifted}"
    );
    let drift_line = drifted
        .lines()
        .find(|l| l.starts_with("drift"))
        .expect(&drifted);
    assert!(
        drift_line.contains(&audit) && drift_line.contains("retention.ms"),
        "{drift_line}"
    );
    assert_eq!(lines_starting(&drifted, "ok"), all - 1);
    let (code, _) = apply(&prefix, &["--fail-on-drift"]);
    assert_eq!(code, 3);

    // Nothing was changed back or deleted by apply.
    let (_, again) = apply(&prefix, &[]);
    assert_eq!(lines_starting(&again, "drift"), 1, "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_with_another_partition_count_is_drift_not_recreated() {
    let config = common::unique_config("topicparts");
    let prefix = config.kafka.topic_prefix.clone();
    let admin = fabric_ai::bus::admin::admin_client(&config.kafka).unwrap();
    let anomalies = format!("{prefix}fabric.anomalies");
    let topic = NewTopic::new(&anomalies, 2, TopicReplication::Fixed(1))
        .set("retention.ms", "2592000000")
        .set("cleanup.policy", "delete");
    let created = admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .unwrap();
    assert!(created.iter().all(|r| r.is_ok()), "{created:?}");

    let (code, out) = apply(&prefix, &[]);
    assert_eq!(code, 0, "{out}");
    let others = fabric_ai::topics::TopicRole::ALL.len() - 1;
    assert!(out.contains(&format!("{others} created")), "{out}");
    let drift = out.lines().find(|l| l.starts_with("drift")).expect(&out);
    assert!(drift.contains("partitions: declared 6, live 2"), "{drift}");
}
