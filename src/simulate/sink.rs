//! Writing a simulation to Kafka, paced to a speed-up of event time over wall time.

use crate::config::Config;
use crate::event;
use crate::simulate::Simulator;
use crate::topics::{Catalogue, TopicRole};
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Why a simulation could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The producer could not be created or a message was not delivered.
    #[error("produce to {topic}: {reason}")]
    Produce {
        /// The topic.
        topic: String,
        /// The client's reason.
        reason: String,
    },
    /// An event could not be encoded.
    #[error(transparent)]
    Encode(#[from] event::codec::EncodeError),
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkReport {
    /// Ticks simulated.
    pub ticks: u64,
    /// Telemetry samples written.
    pub samples: u64,
    /// Job events written.
    pub job_events: u64,
}

/// Messages in flight before the writer waits for acknowledgements.
const MAX_IN_FLIGHT: usize = 5_000;

/// Writes every tick of `sim` to the telemetry and job-event topics until the simulation ends
/// or `shutdown` resolves. `speedup` is event seconds per wall second; `None` writes as fast as
/// the broker takes it. `on_tick` sees each tick's event time (the demo prints injections).
pub async fn write_to_kafka(
    sim: &mut Simulator,
    config: &Config,
    speedup: Option<f64>,
    shutdown: impl Future<Output = ()>,
    mut on_tick: impl FnMut(&crate::simulate::Tick),
) -> Result<SinkReport, SinkError> {
    let catalogue =
        Catalogue::built_in(&config.kafka.topic_prefix).map_err(|e| SinkError::Produce {
            topic: "*".into(),
            reason: e.to_string(),
        })?;
    let producer: FutureProducer = crate::bus::producer_config(&config.kafka)
        .create()
        .map_err(|e| SinkError::Produce {
            topic: "*".into(),
            reason: e.to_string(),
        })?;
    let mut report = SinkReport::default();
    let mut inflight = FuturesUnordered::new();
    let started = Instant::now();
    tokio::pin!(shutdown);

    while let Some(tick) = sim.next_tick() {
        if let Some(speedup) = speedup.filter(|s| *s > 0.0) {
            let event_elapsed = Duration::from_secs_f64(
                (tick.at.map(|a| a - sim.start()).unwrap_or_default())
                    .to_std()
                    .unwrap_or_default()
                    .as_secs_f64()
                    / speedup,
            );
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep_until(started + event_elapsed) => {}
            }
        }
        on_tick(&tick);
        for sample in &tick.samples {
            let topic = catalogue.name(TopicRole::Telemetry);
            let payload = event::encode(sample, config.encoding(TopicRole::Telemetry))?;
            inflight.push(send(&producer, topic, sample.key(), payload)?);
            report.samples += 1;
        }
        for job in &tick.jobs {
            let topic = catalogue.name(TopicRole::JobEvents);
            let payload = event::encode(job, config.encoding(TopicRole::JobEvents))?;
            inflight.push(send(&producer, topic, job.key(), payload)?);
            report.job_events += 1;
        }
        report.ticks += 1;
        while inflight.len() > MAX_IN_FLIGHT {
            if let Some(result) = inflight.next().await {
                result?;
            }
        }
    }
    while let Some(result) = inflight.next().await {
        result?;
    }
    let _ = producer.flush(Duration::from_secs(10));
    Ok(report)
}

fn send(
    producer: &FutureProducer,
    topic: &str,
    key: String,
    payload: Vec<u8>,
) -> Result<impl Future<Output = Result<(), SinkError>>, SinkError> {
    let delivery = producer
        .send_result(FutureRecord::to(topic).key(&key).payload(&payload))
        .map_err(|(e, _)| SinkError::Produce {
            topic: topic.to_owned(),
            reason: e.to_string(),
        })?;
    let topic = topic.to_owned();
    Ok(async move {
        match delivery.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err((e, _))) => Err(SinkError::Produce {
                topic,
                reason: e.to_string(),
            }),
            Err(_) => Err(SinkError::Produce {
                topic,
                reason: "delivery cancelled".into(),
            }),
        }
    })
}
