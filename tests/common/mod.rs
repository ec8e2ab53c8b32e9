//! Helpers for tests that talk to the real broker started by `scripts/kafka-local`.
//!
//! The broker address comes from `KAFKA_BOOTSTRAP` (default `127.0.0.1:9092`). There is no
//! skipping: a test that needs the broker fails, with a message saying how to start it, when
//! the broker does not answer.

#![allow(dead_code)]

use fabric_ai::config::Config;
use fabric_ai::topics::Catalogue;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use std::time::{Duration, Instant};

/// A child process that is killed when dropped, so a failing test leaves none behind.
pub struct Reaped(pub std::process::Child);

/// Starts `fabric-ai run --config path` as a child process (stderr discarded).
pub fn spawn_run(path: &std::path::Path) -> Reaped {
    Reaped(
        std::process::Command::new(env!("CARGO_BIN_EXE_fabric-ai"))
            .args(["run", "--config"])
            .arg(path)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start fabric-ai run"),
    )
}

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The broker under test.
pub fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

/// A configuration with unique topic and group names for one test.
pub fn unique_config(test: &str) -> Config {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut config = Config::default();
    config.kafka.bootstrap_servers = bootstrap();
    config.kafka.topic_prefix = format!("{test}-{}.", &id[..8]);
    config.kafka.group_id = format!("{test}-{}", &id[..8]);
    config
}

/// Publishes every decision whatever its confidence, for tests that compare decision sets:
/// gating is deterministic, so it would only shrink what they compare.
pub fn publish_everything(config: &mut Config) {
    config.gating = fabric_ai::engine::gate::GatingConfig {
        min_confidence: 0.0,
        load_balancing: 0.0,
        resource_allocation: 0.0,
        migration: 0.0,
        scaling: 0.0,
        energy_optimization: 0.0,
        cross_cluster: 0.0,
    };
}

/// Creates every topic of the catalogue for `config`, with `partitions` each.
pub async fn create_topics(config: &Config, partitions: i32) -> Catalogue {
    let admin = fabric_ai::bus::admin::admin_client(&config.kafka).expect("admin client");
    let catalogue = Catalogue::built_in(&config.kafka.topic_prefix)
        .unwrap()
        .with_partitions(partitions);
    let plan = match fabric_ai::bus::admin::plan(&admin, &catalogue).await {
        Ok(plan) => plan,
        Err(e) => panic!(
            "the Kafka broker at {} does not answer ({e}); start it with `scripts/kafka-local start`",
            bootstrap()
        ),
    };
    fabric_ai::bus::admin::apply(&admin, &plan)
        .await
        .expect("create topics");
    wait_for_topics(config, &catalogue);
    catalogue
}

fn wait_for_topics(config: &Config, catalogue: &Catalogue) {
    let consumer: BaseConsumer = client(config).create().expect("consumer");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metadata = consumer
            .fetch_metadata(None, Duration::from_secs(5))
            .expect("metadata");
        let ready = catalogue.iter().all(|spec| {
            metadata.topics().iter().any(|t| {
                t.name() == spec.name
                    && t.partitions().len() == spec.partitions as usize
                    && t.partitions().iter().all(|p| p.leader() >= 0)
            })
        });
        if ready {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "topics did not appear in metadata"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A reader with the configuration's client settings (`kafka.client`: TLS, SASL), so the
/// helpers reach whichever listener the test's configuration points at.
fn client(config: &Config) -> ClientConfig {
    let mut c = fabric_ai::bus::base_client_config(&config.kafka);
    c.set("group.id", format!("{}-reader", config.kafka.group_id))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    c
}

/// A message as (key, payload).
pub type Record = (Vec<u8>, Vec<u8>);

/// The high watermark of a partition. A topic created moments ago may answer "not leader" for
/// a while (its leader is still being elected); that is retried for up to 30 s.
fn watermark_high(consumer: &BaseConsumer, topic: &str, partition: i32) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match consumer.fetch_watermarks(topic, partition, Duration::from_secs(30)) {
            Ok((_, high)) => return high,
            Err(e) if Instant::now() < deadline => {
                eprintln!("watermarks of {topic}/{partition}: {e}; retrying");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("watermarks of {topic}/{partition}: {e}"),
        }
    }
}

/// Every message on `topic` up to its current end.
pub fn read_all(config: &Config, topic: &str) -> Vec<Record> {
    let consumer: BaseConsumer = client(config).create().expect("consumer");
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(30))
        .expect("topic metadata");
    let partitions: Vec<i32> = metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| p.id())
        .collect();
    let mut ends = Vec::new();
    let mut tpl = TopicPartitionList::new();
    for p in &partitions {
        let high = watermark_high(&consumer, topic, *p);
        ends.push((*p, high));
        tpl.add_partition_offset(topic, *p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).expect("assign");
    // Read until the consumer's position passes each partition's end: transaction markers
    // take offsets too, so counting messages would never reach the end offsets.
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let m = message.expect("consume");
            out.push((
                m.key().unwrap_or_default().to_vec(),
                m.payload().unwrap_or_default().to_vec(),
            ));
            continue;
        }
        let positions = consumer.position().expect("position");
        let done = ends.iter().all(|(p, high)| {
            *high == 0
                || matches!(
                    positions.find_partition(topic, *p).map(|e| e.offset()),
                    Some(Offset::Offset(o)) if o >= *high
                )
        });
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "read {} messages of {topic}, not at its end",
            out.len()
        );
    }
    out
}

/// The high watermark (end offset) of every partition of `topic`.
pub fn high_watermarks(config: &Config, topic: &str) -> Vec<i64> {
    let consumer: BaseConsumer = client(config).create().expect("consumer");
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(30))
        .expect("topic metadata");
    let mut partitions: Vec<i32> = metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| p.id())
        .collect();
    partitions.sort();
    partitions
        .iter()
        .map(|p| {
            consumer
                .fetch_watermarks(topic, *p, Duration::from_secs(30))
                .expect("wm")
                .1
        })
        .collect()
}

/// Committed offsets of `group` on `topic`, per partition (negative when none).
pub fn committed(config: &Config, group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let mut c = client(config);
    c.set("group.id", group);
    let consumer: BaseConsumer = c.create().expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let offsets = consumer
        .committed_offsets(tpl, Duration::from_secs(30))
        .expect("committed");
    (0..partitions)
        .map(
            |p| match offsets.find_partition(topic, p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => o,
                _ => -1,
            },
        )
        .collect()
}

/// Polls `condition` every 50 ms until it holds, failing with `what` after `timeout`.
pub async fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Produces raw messages to `topic`, waiting for each acknowledgement.
pub async fn produce_raw(config: &Config, topic: &str, messages: &[(Option<&[u8]>, &[u8])]) {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let producer: FutureProducer = fabric_ai::bus::producer_config(&config.kafka)
        .create()
        .expect("producer");
    for (key, payload) in messages {
        let mut record = FutureRecord::<[u8], [u8]>::to(topic).payload(payload);
        if let Some(key) = key {
            record = record.key(key);
        }
        producer
            .send(record, Duration::from_secs(30))
            .await
            .expect("delivered");
    }
}

/// A published decision: its topic role, its id and its bytes.
pub type Published = (fabric_ai::topics::TopicRole, String, Vec<u8>);

/// Every decision on the `roles` output topics, in publication order per topic.
pub fn decisions(config: &Config, roles: &[fabric_ai::topics::TopicRole]) -> Vec<Published> {
    let catalogue = Catalogue::built_in(&config.kafka.topic_prefix).unwrap();
    let mut out = Vec::new();
    for role in roles {
        for (_, payload) in read_all(config, catalogue.name(*role)) {
            let json: serde_json::Value = serde_json::from_slice(&payload).unwrap();
            out.push((*role, json["id"].as_str().unwrap().to_owned(), payload));
        }
    }
    out
}

/// Writes `sim` to the input topics in the background at `speedup` times event time (so a
/// test can act while input is still arriving); the task ends with the writer's report.
pub fn write_in_background(
    config: &Config,
    mut sim: fabric_ai::simulate::Simulator,
    speedup: f64,
) -> tokio::task::JoinHandle<
    Result<fabric_ai::simulate::sink::SinkReport, fabric_ai::simulate::sink::SinkError>,
> {
    let config = config.clone();
    tokio::spawn(async move {
        fabric_ai::simulate::sink::write_to_kafka(
            &mut sim,
            &config,
            Some(speedup),
            std::future::pending(),
            |_| {},
        )
        .await
    })
}

/// Writes `sim` to the input topics, runs the pipeline in-process until every input is
/// processed and every decision acknowledged, and stops it; returns its counters.
pub async fn run_to_completion(
    config: &Config,
    sim: &mut fabric_ai::simulate::Simulator,
) -> fabric_ai::stats::StatsSnapshot {
    use fabric_ai::stats::Stats;
    use std::sync::Arc;
    let report = fabric_ai::simulate::sink::write_to_kafka(
        sim,
        config,
        None,
        std::future::pending(),
        |_| {},
    )
    .await
    .unwrap();
    let stats = Arc::new(Stats::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(fabric_ai::pipeline::run(
        config.clone(),
        stats.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    let total = report.samples + report.job_events;
    wait_until("the run to finish", Duration::from_secs(120), || {
        let s = stats.snapshot();
        s.events_ok == total && s.decisions_acked == s.decisions_out && s.windows_closed > 0
    })
    .await;
    // Let every partition turn idle, so the watermark reaches the end of the input the way it
    // does in any run that stays up that long, then let the last decisions be acknowledged.
    tokio::time::sleep(config.windows.idle_timeout + Duration::from_secs(2)).await;
    wait_until(
        "the last decisions acknowledged",
        Duration::from_secs(30),
        || {
            let s = stats.snapshot();
            s.decisions_acked == s.decisions_out
        },
    )
    .await;
    stop.send(()).unwrap();
    run.await.unwrap().unwrap();
    stats.snapshot()
}

/// Produces keyed messages to `topic` without waiting for each acknowledgement in turn (the
/// idempotent producer keeps their order per partition); returns each one's (partition,
/// offset), in input order.
pub async fn produce_batch(config: &Config, topic: &str, messages: &[Record]) -> Vec<(i32, i64)> {
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let producer: FutureProducer = fabric_ai::bus::producer_config(&config.kafka)
        .create()
        .expect("producer");
    let mut deliveries = Vec::with_capacity(messages.len());
    for (key, payload) in messages {
        let mut record = FutureRecord::<[u8], [u8]>::to(topic)
            .key(key.as_slice())
            .payload(payload.as_slice());
        let delivery = loop {
            match producer.send_result(record) {
                Ok(delivery) => break delivery,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((e, _)) => panic!("produce to {topic}: {e}"),
            }
        };
        deliveries.push(delivery);
    }
    futures::future::join_all(deliveries)
        .await
        .into_iter()
        .map(|d| {
            let d = d.expect("delivery not dropped").expect("delivered");
            (d.partition, d.offset)
        })
        .collect()
}

/// A valid, unremarkable telemetry sample of `cluster/node` at `ts_ms` with `cpu` utilisation.
pub fn steady_sample(
    cluster: &str,
    node: &str,
    ts_ms: i64,
    cpu: f64,
) -> fabric_ai::event::TelemetrySample {
    fabric_ai::event::TelemetrySample {
        cluster_id: cluster.into(),
        node_id: node.into(),
        event_time: chrono::DateTime::from_timestamp_millis(ts_ms).unwrap(),
        cpu_util: cpu,
        memory_util: 0.5,
        disk_util: 0.2,
        network_util: 0.1,
        latency_p99_ms: 20.0,
        throughput_ops: 400.0,
        energy_watts: 200.0,
        queue_length: 0,
        error_rate: 0.0,
        labels: None,
    }
}

/// `sample` as a keyed JSON record, as producers write it.
pub fn sample_record(sample: &fabric_ai::event::TelemetrySample) -> Record {
    (
        sample.key().into_bytes(),
        fabric_ai::event::encode(sample, fabric_ai::event::Encoding::Json).unwrap(),
    )
}
