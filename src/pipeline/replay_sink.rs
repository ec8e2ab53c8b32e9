//! Where a replay's outputs go: JSON-lines files, one per output topic role, or topics of
//! their own under another prefix than the live ones.
//!
//! Writing to topics refuses the live output topics (the configuration's `topic_prefix`)
//! unless the caller allows it explicitly, so a replay cannot act on the fabric by accident.
//! Output topics that do not exist are created by the caller (`replay` uses `topics apply`'s
//! plan for the output roles); the sink waits for every message's acknowledgement at the end,
//! and fails if any was refused.

use super::output::Output;
use super::replay::{io, ReplayError};
use crate::config::Config;
use crate::replay::observer::ReplayObserver;
use crate::stats::Stats;
use crate::topics::{Catalogue, TopicRole};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where a replay's outputs go.
pub(super) trait Sink {
    /// Writes outputs in order, showing each to `observer`.
    fn write(
        &mut self,
        outputs: &[Output],
        observer: &mut dyn ReplayObserver,
    ) -> Result<(), ReplayError>;

    /// Makes sure everything written is durable.
    fn flush(&mut self) -> Result<(), ReplayError>;

    /// The catalogue naming the topics outputs go to, when they go to topics.
    fn catalogue(&self) -> Option<&Catalogue> {
        None
    }
}

/// One JSON-lines file per output role.
pub(super) struct FileSink {
    dir: PathBuf,
    files: BTreeMap<TopicRole, BufWriter<std::fs::File>>,
    /// A decision written is counted as published and acknowledged.
    stats: Arc<Stats>,
}

impl FileSink {
    /// Writes into `dir`, creating it if needed.
    pub fn new(dir: &Path, stats: Arc<Stats>) -> Result<FileSink, ReplayError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        Ok(FileSink {
            dir: dir.to_owned(),
            files: BTreeMap::new(),
            stats,
        })
    }

    fn path(&self, role: TopicRole) -> PathBuf {
        self.dir.join(format!("{}.jsonl", role.as_str()))
    }
}

impl Sink for FileSink {
    fn write(
        &mut self,
        outputs: &[Output],
        observer: &mut dyn ReplayObserver,
    ) -> Result<(), ReplayError> {
        for output in outputs {
            observer.on_output(output.role, &output.payload);
            let path = self.path(output.role);
            let file = match self.files.entry(output.role) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    let file = std::fs::File::create(&path).map_err(io(&path))?;
                    e.insert(BufWriter::new(file))
                }
            };
            file.write_all(&output.payload).map_err(io(&path))?;
            file.write_all(b"\n").map_err(io(&path))?;
            if output.decision {
                Stats::bump(&self.stats.decisions_out);
                Stats::bump(&self.stats.decisions_acked);
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ReplayError> {
        let roles: Vec<TopicRole> = self.files.keys().copied().collect();
        for role in roles {
            let path = self.path(role);
            if let Some(file) = self.files.get_mut(&role) {
                file.flush().map_err(io(&path))?;
            }
        }
        Ok(())
    }
}

/// Keeps the first refusal of the broker.
#[derive(Default)]
struct Acks {
    failed: Mutex<Option<String>>,
}

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, _)) = result {
            if let Ok(mut failed) = self.failed.lock() {
                failed.get_or_insert_with(|| error.to_string());
            }
        }
    }
}

/// Output topics under a prefix of the replay's own.
pub(super) struct TopicSink {
    catalogue: Catalogue,
    producer: ThreadedProducer<Acks>,
    stats: Arc<Stats>,
}

/// How long the final flush may take.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);

impl TopicSink {
    /// Writes to the topics named under `prefix`; refuses the live prefix unless
    /// `allow_live`.
    pub fn new(
        config: &Config,
        prefix: &str,
        allow_live: bool,
        stats: Arc<Stats>,
    ) -> Result<TopicSink, ReplayError> {
        if prefix == config.kafka.topic_prefix && !allow_live {
            return Err(ReplayError::LiveOutput {
                prefix: prefix.to_owned(),
            });
        }
        let catalogue = Catalogue::built_in(prefix)?;
        let producer = crate::bus::producer_config(&config.kafka)
            .create_with_context(Acks::default())
            .map_err(|source| ReplayError::Output {
                reason: format!("create producer: {source}"),
            })?;
        Ok(TopicSink {
            catalogue,
            producer,
            stats,
        })
    }
}

impl Sink for TopicSink {
    fn write(
        &mut self,
        outputs: &[Output],
        observer: &mut dyn ReplayObserver,
    ) -> Result<(), ReplayError> {
        for output in outputs {
            observer.on_output(output.role, &output.payload);
            let topic = self.catalogue.name(output.role);
            let mut record = BaseRecord::to(topic)
                .key(output.key.as_slice())
                .payload(output.payload.as_slice());
            loop {
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        record = back;
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err((error, _)) => {
                        return Err(ReplayError::Output {
                            reason: format!("produce to {topic}: {error}"),
                        })
                    }
                }
            }
            if output.decision {
                Stats::bump(&self.stats.decisions_out);
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ReplayError> {
        self.producer
            .flush(FLUSH_TIMEOUT)
            .map_err(|error| ReplayError::Output {
                reason: format!("flush: {error}"),
            })?;
        let failed = self
            .producer
            .context()
            .failed
            .lock()
            .ok()
            .and_then(|f| f.clone());
        if let Some(reason) = failed {
            return Err(ReplayError::Output { reason });
        }
        // Flushed without a refusal: every decision sent is acknowledged.
        self.stats
            .decisions_acked
            .store(self.stats.snapshot().decisions_out, Ordering::Relaxed);
        Ok(())
    }

    fn catalogue(&self) -> Option<&Catalogue> {
        Some(&self.catalogue)
    }
}
