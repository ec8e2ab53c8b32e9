//! Kafka plumbing: client settings, the offset ledger behind safe commits, rebalance
//! notifications and topic administration.

pub mod admin;
pub mod context;
pub mod ledger;

use crate::config::KafkaConfig;
use rdkafka::ClientConfig;

/// Settings shared by every client: the bootstrap servers and the operator's passthrough
/// (TLS, SASL, tuning), which validation has already checked for clashes.
pub fn base_client_config(kafka: &KafkaConfig) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &kafka.bootstrap_servers);
    for (key, value) in &kafka.client {
        config.set(key, value);
    }
    config
}

/// A consumer that never commits on its own: fabric-ai commits only offsets whose effects are
/// acknowledged.
pub fn consumer_config(kafka: &KafkaConfig, group_id: &str) -> ClientConfig {
    let mut config = base_client_config(kafka);
    // Incremental rebalancing: a member keeps its partitions (and their windows) when another
    // joins or leaves, and only moved partitions are re-read. Overridable in `kafka.client`.
    if !kafka.client.contains_key("partition.assignment.strategy") {
        config.set("partition.assignment.strategy", "cooperative-sticky");
    }
    config
        .set("group.id", group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set(
            "session.timeout.ms",
            kafka.session_timeout.as_millis().to_string(),
        );
    config
}

/// An idempotent producer that waits for all in-sync replicas, so an acknowledged output is
/// durable and a retried one is not duplicated by the producer itself. Batches are compressed
/// with lz4 unless `kafka.client` says otherwise: the outputs are JSON (an audit record carries
/// its window's whole request), and uncompressed they were 80 MB for the benchmark's 300,000
/// events, which the broker then had to write before acknowledging (docs/benchmarks.md).
pub fn producer_config(kafka: &KafkaConfig) -> ClientConfig {
    let mut config = base_client_config(kafka);
    if !kafka.client.contains_key("compression.type") {
        config.set("compression.type", "lz4");
    }
    config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "200000");
    config
}
