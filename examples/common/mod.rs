//! Helpers shared by the benchmark examples (`bench_contender`, `bench_consume`): the topic
//! catalogue's creation and removal, the synthetic samples and their production.

use anyhow::Context;
use fabric_ai::config::Config;
use fabric_ai::event::TelemetrySample;
use fabric_ai::topics::{Catalogue, TopicRole};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::{Duration, Instant};

/// Event time of the first round: the start of the hour two days before now, aligned to every
/// default window size. Recent on purpose: the broker deletes records whose timestamp (set to
/// the event time) is older than the topic's retention (7 days for telemetry), every 5
/// minutes, and a fixed date in the past emptied the topic in the middle of a harness run.
pub fn base_ms() -> i64 {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| {
        let hour = 3_600_000;
        (chrono::Utc::now().timestamp_millis() - 48 * hour).div_euclid(hour) * hour
    })
}
/// Creates the catalogue's topics and waits until the telemetry topic has leaders.
pub async fn create_topics(config: &Config, partitions: i32) -> anyhow::Result<()> {
    let admin = fabric_ai::bus::admin::admin_client(&config.kafka)?;
    let catalogue = Catalogue::built_in(&config.kafka.topic_prefix)?.with_partitions(partitions);
    let plan = fabric_ai::bus::admin::plan(&admin, &catalogue)
        .await
        .context("broker metadata (is the broker up? scripts/kafka-local start)")?;
    fabric_ai::bus::admin::apply(&admin, &plan).await?;
    let topic = catalogue.name(TopicRole::Telemetry);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metadata = admin
            .inner()
            .fetch_metadata(Some(topic), Duration::from_secs(5))?;
        let ready = metadata.topics().iter().any(|t| {
            t.partitions().len() == partitions as usize
                && t.partitions().iter().all(|p| p.leader() >= 0)
        });
        if ready {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "topic {topic} has no leaders");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Deletes every topic whose name starts with the run's prefix: the catalogue's, the Kafka
/// Streams output and the internal topics of its application ids (named after the prefix).
pub async fn delete_topics(config: &Config) {
    let Ok(admin) = fabric_ai::bus::admin::admin_client(&config.kafka) else {
        return;
    };
    let prefix = &config.kafka.topic_prefix;
    let names: Vec<String> = match admin.inner().fetch_metadata(None, Duration::from_secs(10)) {
        Ok(metadata) => metadata
            .topics()
            .iter()
            .map(|t| t.name().to_owned())
            .filter(|n| n.starts_with(prefix.as_str()))
            .collect(),
        Err(error) => {
            eprintln!("could not list the benchmark topics: {error}");
            return;
        }
    };
    if names.is_empty() {
        return;
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let opts = rdkafka::admin::AdminOptions::new();
    if let Err(error) = admin.delete_topics(&names, &opts).await {
        eprintln!("could not delete the benchmark topics: {error}");
    }
}

/// One node's sample at `offset_ms` past the base time: about 250 bytes of JSON.
pub fn sample(node: usize, i: usize, offset_ms: i64) -> TelemetrySample {
    let wobble = ((node * 31 + i * 17) % 100) as f64 / 1_000.0;
    TelemetrySample {
        cluster_id: format!("cluster-{}", node % 10).into(),
        node_id: format!("node-{node:07}").into(),
        event_time: chrono::DateTime::from_timestamp_millis(base_ms() + offset_ms)
            .unwrap_or_default(),
        cpu_util: 0.40 + wobble,
        memory_util: 0.55 + wobble,
        disk_util: 0.20 + wobble,
        network_util: 0.10 + wobble,
        latency_p99_ms: 20.0 + wobble * 100.0,
        throughput_ops: 400.0 + wobble * 1000.0,
        energy_watts: 210.0 + wobble * 100.0,
        queue_length: (i % 4) as u32,
        error_rate: wobble / 100.0,
        labels: None,
    }
}

/// Produces one record, waiting while the producer's queue is full.
pub async fn send(
    producer: &FutureProducer,
    deliveries: &mut Vec<rdkafka::producer::DeliveryFuture>,
    mut record: FutureRecord<'_, String, Vec<u8>>,
) -> anyhow::Result<()> {
    let delivery = loop {
        match producer.send_result(record) {
            Ok(delivery) => break delivery,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err((error, _)) => return Err(error.into()),
        }
    };
    deliveries.push(delivery);
    if deliveries.len() >= 50_000 {
        await_all(deliveries).await?;
    }
    Ok(())
}

/// Waits for every delivery in `deliveries`.
pub async fn await_all(
    deliveries: &mut Vec<rdkafka::producer::DeliveryFuture>,
) -> anyhow::Result<()> {
    for result in futures::future::join_all(deliveries.drain(..)).await {
        match result {
            Ok(Ok(_)) => {}
            Ok(Err((error, _))) => return Err(error.into()),
            Err(_) => anyhow::bail!("producer dropped a delivery"),
        }
    }
    Ok(())
}
