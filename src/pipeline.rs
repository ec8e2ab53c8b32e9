//! The `run` job: consume telemetry and job events, window them, publish decisions, and commit
//! only what is safe.
//!
//! One task owns everything: the consumer, the windows, the offset ledger. Its loop selects,
//! in priority order, between shutdown, broker acknowledgements of outputs, a periodic tick
//! (idle watermark advance, window close, commit) and the next input message. Acknowledgements
//! come before input so that pending outputs drain before more are created; input is not read
//! at all while `processing.max_in_flight` outputs await acknowledgement, which bounds memory
//! when the broker is slow.
//!
//! Delivery is at least once: an input offset is committed only after every window it fed has
//! closed and every output it led to is acknowledged. After a crash the restart re-reads from
//! the committed offsets, rebuilds the open windows, and re-emits any decision whose
//! acknowledgement was lost, with the same deterministic id.
//!
//! Known limit: per-node detector baselines are kept in memory and are not rebuilt on restart
//! or when a partition moves to another member; the new owner relearns them during its warm-up
//! (`anomaly.warmup_samples`), so it cannot alarm on a node until it has seen that many samples.

use crate::bus::context::RebalanceContext;
use crate::bus::ledger::OffsetLedger;
use crate::bus::{consumer_config, producer_config};
use crate::config::Config;
use crate::event::codec::EncodeError;
use crate::event::{
    self, AuditKind, AuditRecord, DeadLetter, DecodeError, Encoding, JobEvent, TelemetrySample,
    WireEvent,
};
use crate::processor::{AnomalyProcessor, WindowResult};
use crate::stats::Stats;
use crate::topics::{Catalogue, CatalogueError, TopicRole};
use crate::window::{Origin, PartitionId, Recorded, Watermarks};
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::TopicPartitionList;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Why the pipeline stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A Kafka client could not be created or used.
    #[error("kafka {operation}: {source}")]
    Kafka {
        /// What was being done.
        operation: &'static str,
        /// The client error.
        source: KafkaError,
    },
    /// The broker did not take an output; stopping keeps its inputs uncommitted.
    #[error("deliver to {topic}: {reason}")]
    Delivery {
        /// The output topic.
        topic: String,
        /// The broker's or client's reason.
        reason: String,
    },
    /// An output could not be encoded (a bug: a type and its schema disagree).
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The topic catalogue is invalid.
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
}

fn kafka(operation: &'static str) -> impl FnOnce(KafkaError) -> PipelineError {
    move |source| PipelineError::Kafka { operation, source }
}

/// An encoded message on its way out, with the input offsets it keeps uncommitted.
#[derive(Debug)]
struct Output {
    role: TopicRole,
    key: Vec<u8>,
    payload: Vec<u8>,
    holds: Vec<Origin>,
    decision: bool,
}

/// What came back for an output.
struct Acked {
    topic: String,
    holds: Vec<Origin>,
    decision: bool,
    result: Result<(), String>,
}

type Pending = FuturesUnordered<Pin<Box<dyn Future<Output = Acked> + Send>>>;

/// Inputs, in the order their [`PartitionId::topic`] index refers to.
const INPUTS: [TopicRole; 2] = [TopicRole::Telemetry, TopicRole::JobEvents];

/// Runs the pipeline until `shutdown` resolves, then drains acknowledgements and commits.
pub async fn run(
    config: Config,
    stats: Arc<Stats>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), PipelineError> {
    let catalogue = Catalogue::built_in(&config.kafka.topic_prefix)?;
    let consumer: StreamConsumer<RebalanceContext> =
        consumer_config(&config.kafka, &config.kafka.group_id)
            .create_with_context(RebalanceContext::default())
            .map_err(kafka("create consumer"))?;
    let producer: FutureProducer = producer_config(&config.kafka)
        .create()
        .map_err(kafka("create producer"))?;
    let inputs: Vec<&str> = INPUTS.iter().map(|r| catalogue.name(*r)).collect();
    consumer.subscribe(&inputs).map_err(kafka("subscribe"))?;
    tracing::info!(topics = ?inputs, group = %config.kafka.group_id, "pipeline started");

    let mut state = State::new(config, catalogue, stats);
    let mut pending = Pending::new();
    let mut tick = tokio::time::interval(state.config.processing.commit_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    let max_in_flight = state.config.processing.max_in_flight;

    loop {
        tokio::select! {
            // Shutdown first, then acknowledgements before new input: draining bounds memory.
            biased;
            _ = &mut shutdown => break,
            Some(acked) = pending.next(), if !pending.is_empty() => state.on_acked(acked)?,
            _ = tick.tick() => {
                let outputs = state.on_tick(&consumer);
                state.send(&producer, &mut pending, outputs).await?;
                state.commit(&consumer, CommitMode::Async);
            }
            message = consumer.recv(), if pending.len() < max_in_flight => {
                let outputs = state.on_message(&consumer, message);
                state.send(&producer, &mut pending, outputs).await?;
            }
        }
    }

    tracing::info!(
        pending = pending.len(),
        "pipeline stopping: draining acknowledgements"
    );
    let drain_timeout = state.drain_timeout();
    let drain = async {
        while let Some(acked) = pending.next().await {
            state.on_acked(acked)?;
        }
        Ok::<(), PipelineError>(())
    };
    match tokio::time::timeout(drain_timeout, drain).await {
        Ok(result) => result?,
        Err(_) => tracing::warn!("drain timed out; unacknowledged inputs stay uncommitted"),
    }
    state.commit(&consumer, CommitMode::Sync);
    tracing::info!("pipeline stopped");
    Ok(())
}

/// Everything the loop mutates, apart from the clients.
struct State {
    config: Config,
    catalogue: Catalogue,
    stats: Arc<Stats>,
    anomaly: AnomalyProcessor,
    watermarks: Watermarks,
    ledger: OffsetLedger,
}

impl State {
    fn new(config: Config, catalogue: Catalogue, stats: Arc<Stats>) -> State {
        let anomaly =
            AnomalyProcessor::new(config.anomaly.clone(), config.processing.max_open_keys);
        let watermarks =
            Watermarks::new(config.windows.out_of_orderness, config.windows.idle_timeout);
        State {
            config,
            catalogue,
            stats,
            anomaly,
            watermarks,
            ledger: OffsetLedger::default(),
        }
    }

    /// Half the session timeout: long enough to drain, short enough that the group does not
    /// evict the member first.
    fn drain_timeout(&self) -> Duration {
        self.config.kafka.session_timeout / 2
    }

    fn on_message(
        &mut self,
        consumer: &StreamConsumer<RebalanceContext>,
        message: Result<BorrowedMessage<'_>, KafkaError>,
    ) -> Vec<Output> {
        self.apply_rebalance(consumer);
        let message = match message {
            Ok(m) => m,
            Err(error) => {
                tracing::warn!(%error, "consume failed");
                return Vec::new();
            }
        };
        let Some(topic_index) = INPUTS
            .iter()
            .position(|r| self.catalogue.name(*r) == message.topic())
        else {
            tracing::warn!(topic = message.topic(), "message from an unexpected topic");
            return Vec::new();
        };
        let pid = PartitionId {
            topic: topic_index as u16,
            partition: message.partition(),
        };
        let origin = Origin {
            partition: pid,
            offset: message.offset(),
        };
        self.ledger.consumed(pid, message.offset());
        let payload = message.payload().unwrap_or_default();
        let role = INPUTS[pid.topic as usize];
        let encoding = self.config.encoding(role);

        let mut outputs = Vec::new();
        let now = Instant::now();
        match role {
            TopicRole::Telemetry => {
                match decode_valid::<TelemetrySample>(payload, encoding, |s| s.validate()) {
                    Ok(sample) => {
                        Stats::bump(&self.stats.events_ok);
                        let ts = sample.event_time.timestamp_millis();
                        let recorded = if self.config.anomaly.enabled {
                            self.anomaly.record(&sample, Some(origin))
                        } else {
                            Recorded::Added { windows: 0 }
                        };
                        match recorded {
                            Recorded::Added { .. } => {}
                            Recorded::Late => {
                                Stats::bump(&self.stats.late_events);
                                outputs.push(self.audit_input(
                                    AuditKind::LateEvent,
                                    &sample,
                                    origin,
                                    "window already closed",
                                ));
                            }
                            Recorded::Refused => {
                                Stats::bump(&self.stats.refused_keys);
                                outputs.push(self.audit_input(
                                    AuditKind::KeyRefused,
                                    &sample,
                                    origin,
                                    "open-key limit reached",
                                ));
                            }
                        }
                        self.watermarks.observe(pid, ts, now);
                    }
                    Err(error) => outputs.push(self.dead_letter(&message, origin, &error)),
                }
            }
            TopicRole::JobEvents => {
                match decode_valid::<JobEvent>(payload, encoding, |j| j.validate()) {
                    Ok(_job) => Stats::bump(&self.stats.events_ok),
                    Err(error) => outputs.push(self.dead_letter(&message, origin, &error)),
                }
            }
            _ => {}
        }
        outputs.extend(self.close_windows(now));
        outputs
    }

    fn on_tick(&mut self, consumer: &StreamConsumer<RebalanceContext>) -> Vec<Output> {
        self.apply_rebalance(consumer);
        self.close_windows(Instant::now())
    }

    /// Registers assigned partitions with the watermarks and drops the state of revoked ones.
    fn apply_rebalance(&mut self, consumer: &StreamConsumer<RebalanceContext>) {
        let Some(changes) = consumer.context().take_changes() else {
            return;
        };
        let now = Instant::now();
        for (topic, partition) in changes.revoked {
            let Some(pid) = self.partition_id(&topic, partition) else {
                continue;
            };
            self.ledger.forget(pid);
            self.watermarks.remove(pid);
            let dropped = self.anomaly.drop_partition(pid);
            tracing::info!(
                topic,
                partition,
                dropped_windows = dropped,
                "dropped state of revoked partition"
            );
        }
        for (topic, partition) in changes.assigned {
            if let Some(pid) = self.partition_id(&topic, partition) {
                self.watermarks.assign(pid, now);
            }
        }
    }

    fn partition_id(&self, topic: &str, partition: i32) -> Option<PartitionId> {
        let index = INPUTS
            .iter()
            .position(|r| self.catalogue.name(*r) == topic)?;
        Some(PartitionId {
            topic: index as u16,
            partition,
        })
    }

    fn close_windows(&mut self, now: Instant) -> Vec<Output> {
        let Some(watermark) = self.watermarks.advance(now) else {
            return Vec::new();
        };
        let mut outputs = Vec::new();
        for WindowResult {
            outputs: anomalies,
            origins,
        } in self.anomaly.close(watermark)
        {
            Stats::bump(&self.stats.windows_closed);
            for anomaly in anomalies {
                let key = anomaly.header.scope.clone().into_bytes();
                match self.encode(TopicRole::Anomalies, &anomaly) {
                    Ok(payload) => outputs.push(Output {
                        role: TopicRole::Anomalies,
                        key,
                        payload,
                        holds: origins.clone(),
                        decision: true,
                    }),
                    Err(error) => tracing::error!(%error, "anomaly not encodable; dropped"),
                }
            }
        }
        outputs
    }

    fn encode<T: WireEvent>(&self, role: TopicRole, event: &T) -> Result<Vec<u8>, EncodeError> {
        event::encode(event, self.config.encoding(role))
    }

    fn dead_letter(
        &self,
        message: &BorrowedMessage<'_>,
        origin: Origin,
        error: &DecodeError,
    ) -> Output {
        Stats::bump(&self.stats.dead_letters);
        tracing::debug!(topic = message.topic(), partition = message.partition(), offset = message.offset(), %error, "dead letter");
        let letter = DeadLetter {
            schema_version: event::output::SCHEMA_VERSION,
            source_topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().unwrap_or_default().to_vec(),
            reason: error.to_string(),
            error_kind: error.kind().to_owned(),
            message_timestamp: message
                .timestamp()
                .to_millis()
                .and_then(event::time::from_millis),
        };
        let payload = self
            .encode(TopicRole::DeadLetters, &letter)
            .unwrap_or_else(|e| {
                // A dead letter must never be lost; JSON of these plain fields cannot fail, but if
                // the configured encoding does, fall back to the reason alone.
                tracing::error!(error = %e, "dead letter not encodable in the configured encoding");
                letter.reason.clone().into_bytes()
            });
        Output {
            role: TopicRole::DeadLetters,
            key: message.key().map(<[u8]>::to_vec).unwrap_or_default(),
            payload,
            holds: vec![origin],
            decision: false,
        }
    }

    fn audit_input(
        &self,
        kind: AuditKind,
        sample: &TelemetrySample,
        origin: Origin,
        reason: &str,
    ) -> Output {
        let scope = sample.key();
        let id = format!(
            "{:?}:{}:{}:{}",
            kind, origin.partition.topic, origin.partition.partition, origin.offset
        );
        let record = AuditRecord {
            id,
            schema_version: event::output::SCHEMA_VERSION,
            kind,
            decision_id: None,
            scope: scope.clone(),
            window: None,
            event_time: Some(sample.event_time),
            details: BTreeMap::from([
                ("reason".to_string(), reason.to_string()),
                (
                    "watermark".to_string(),
                    self.watermarks.current().unwrap_or_default().to_string(),
                ),
            ]),
        };
        let payload = self.encode(TopicRole::Audit, &record).unwrap_or_default();
        Output {
            role: TopicRole::Audit,
            key: scope.into_bytes(),
            payload,
            holds: vec![origin],
            decision: false,
        }
    }

    async fn send(
        &mut self,
        producer: &FutureProducer,
        pending: &mut Pending,
        outputs: Vec<Output>,
    ) -> Result<(), PipelineError> {
        for output in outputs {
            let topic = self.catalogue.name(output.role).to_owned();
            let mut record = FutureRecord::to(&topic)
                .key(&output.key)
                .payload(&output.payload);
            let delivery = loop {
                match producer.send_result(record) {
                    Ok(delivery) => break delivery,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        record = back;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((error, _)) => {
                        return Err(PipelineError::Delivery {
                            topic,
                            reason: error.to_string(),
                        })
                    }
                }
            };
            for origin in &output.holds {
                self.ledger.hold(origin.partition, origin.offset);
            }
            if output.decision {
                Stats::bump(&self.stats.decisions_out);
            }
            let (holds, decision) = (output.holds, output.decision);
            pending.push(Box::pin(async move {
                let result = match delivery.await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err((error, _))) => Err(error.to_string()),
                    Err(_) => Err("producer dropped the delivery".to_string()),
                };
                Acked {
                    topic,
                    holds,
                    decision,
                    result,
                }
            }));
        }
        Ok(())
    }

    fn on_acked(&mut self, acked: Acked) -> Result<(), PipelineError> {
        if let Err(reason) = acked.result {
            // The idempotent producer already retried until its delivery timeout; the inputs
            // stay uncommitted and a restart re-reads them.
            return Err(PipelineError::Delivery {
                topic: acked.topic,
                reason,
            });
        }
        for origin in &acked.holds {
            self.ledger.release(origin.partition, origin.offset);
        }
        if acked.decision {
            Stats::bump(&self.stats.decisions_acked);
        }
        Ok(())
    }

    fn commit(&mut self, consumer: &StreamConsumer<RebalanceContext>, mode: CommitMode) {
        let offsets = self.ledger.to_commit(&self.anomaly.held_offsets());
        if offsets.is_empty() {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for (pid, offset) in &offsets {
            let topic = self.catalogue.name(INPUTS[pid.topic as usize]);
            if let Err(error) =
                tpl.add_partition_offset(topic, pid.partition, rdkafka::Offset::Offset(*offset))
            {
                tracing::warn!(%error, "cannot list offset for commit");
            }
        }
        match consumer.commit(&tpl, mode) {
            Ok(()) => {
                Stats::bump(&self.stats.commits);
                offsets
                    .iter()
                    .for_each(|(pid, offset)| self.ledger.committed(*pid, *offset));
            }
            // Not fatal: the next tick commits again, and until then a restart only re-reads.
            Err(error) => tracing::warn!(%error, "offset commit failed"),
        }
    }
}

fn decode_valid<T: WireEvent>(
    payload: &[u8],
    encoding: Encoding,
    validate: impl FnOnce(&T) -> Result<(), DecodeError>,
) -> Result<T, DecodeError> {
    let event = event::decode::<T>(payload, encoding)?;
    validate(&event)?;
    Ok(event)
}
