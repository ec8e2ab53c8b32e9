//! Reading recorded topics for a replay: every partition of a topic between two bounds, each
//! partition read by its own consumer in its own throw-away group, so live consumer groups
//! and their committed offsets are never touched.
//!
//! A bound is the beginning or the end of the partition, an offset, or a time: a time is
//! turned into the earliest offset whose message timestamp is at or after it (Kafka's
//! offsets-for-times lookup). The end is exclusive and fixed when the read starts (the high
//! watermark then, at the latest), so a replay of a topic that is still being written ends.
//! Messages come in offset order per partition; the replay merges partitions by event time.

use crate::config::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::ClientContext;
use rdkafka::{Offset, TopicPartitionList};
use std::time::{Duration, Instant};

/// Where a read starts or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The first offset kept (start) or the high watermark when the read starts (end).
    Edge,
    /// This offset (clamped into the partition's range).
    Offset(i64),
    /// The first message whose timestamp is at or after this time, in milliseconds.
    Time(i64),
}

impl Bound {
    /// Reads `offset:N`, an RFC 3339 time, or `beginning` / `end`.
    pub fn parse(text: &str) -> Result<Bound, String> {
        if text == "beginning" || text == "end" {
            return Ok(Bound::Edge);
        }
        if let Some(n) = text.strip_prefix("offset:") {
            return n
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .map(Bound::Offset)
                .ok_or_else(|| format!("`{text}`: offset must be a whole number >= 0"));
        }
        crate::event::time::parse(text)
            .map(|t| Bound::Time(t.timestamp_millis()))
            .ok_or_else(|| {
                format!("`{text}`: expected an RFC 3339 time, `offset:N`, `beginning` or `end`")
            })
    }
}

/// A message read from a partition.
#[derive(Debug, Clone)]
pub struct KafkaRecord {
    /// Its offset.
    pub offset: i64,
    /// Its key.
    pub key: Option<Vec<u8>>,
    /// Its payload (empty for a null payload).
    pub payload: Vec<u8>,
    /// Its timestamp, in milliseconds, when it has one.
    pub timestamp_ms: Option<i64>,
}

/// Why a topic could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A client call failed.
    #[error("{topic}: {operation}: {source}")]
    Kafka {
        /// The topic.
        topic: String,
        /// What was being done.
        operation: &'static str,
        /// The client error.
        source: KafkaError,
    },
    /// The topic does not exist.
    #[error("{0}: no such topic")]
    NoTopic(String),
    /// Nothing arrived for too long although the end was not reached.
    #[error("{topic} partition {partition}: no message for {waited:?} before offset {end}")]
    Stalled {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// How long it waited.
        waited: Duration,
        /// The end it was reading up to.
        end: i64,
    },
}

/// The replay consumers' context: reaching the end of a partition is how a read ends, not an
/// error worth a log line; everything else is logged as usual.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReplayContext;

impl ClientContext for ReplayContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if !matches!(error, KafkaError::PartitionEOF(_)) {
            tracing::error!(%error, reason, "replay consumer");
        }
    }
}

impl ConsumerContext for ReplayContext {}

/// How long a partition may deliver nothing before its read fails as stalled.
const STALL_AFTER: Duration = Duration::from_secs(30);
/// Timeout of metadata, watermark and offsets-for-times calls.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// One partition being read from `start` (inclusive) to `end` (exclusive).
pub struct PartitionReader {
    topic: String,
    partition: i32,
    consumer: BaseConsumer<ReplayContext>,
    next_offset: i64,
    end: i64,
}

impl std::fmt::Debug for PartitionReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionReader")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("next_offset", &self.next_offset)
            .field("end", &self.end)
            .finish()
    }
}

impl PartitionReader {
    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The partition number.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// Messages left to read.
    pub fn remaining(&self) -> u64 {
        (self.end - self.next_offset).max(0) as u64
    }

    /// The next message, or `None` once the end is reached.
    pub fn next_record(&mut self) -> Result<Option<KafkaRecord>, ReadError> {
        let started = Instant::now();
        while self.next_offset < self.end {
            let Some(result) = self.consumer.poll(Duration::from_millis(200)) else {
                if started.elapsed() >= STALL_AFTER {
                    return Err(ReadError::Stalled {
                        topic: self.topic.clone(),
                        partition: self.partition,
                        waited: STALL_AFTER,
                        end: self.end,
                    });
                }
                continue;
            };
            let message = match result {
                Ok(message) => message,
                // Caught up with the log, whose end is at or past ours: nothing is left.
                Err(KafkaError::PartitionEOF(_)) => break,
                Err(source) => return Err(self.kafka("poll", source)),
            };
            let offset = message.offset();
            if offset < self.next_offset {
                continue;
            }
            // Transaction markers and aborted records leave gaps in the offsets.
            self.next_offset = offset + 1;
            if offset >= self.end {
                break;
            }
            return Ok(Some(KafkaRecord {
                offset,
                key: message.key().map(<[u8]>::to_vec),
                payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                timestamp_ms: message.timestamp().to_millis(),
            }));
        }
        self.next_offset = self.end;
        Ok(None)
    }

    fn kafka(&self, operation: &'static str, source: KafkaError) -> ReadError {
        ReadError::Kafka {
            topic: self.topic.clone(),
            operation,
            source,
        }
    }
}

/// Opens a reader on every partition of `topic`, from `start` to `end`, in partition order.
/// Only committed messages are read (`read_committed`), as a live consumer of the topic sees
/// them.
pub fn open_topic(
    kafka: &KafkaConfig,
    topic: &str,
    start: Bound,
    end: Bound,
) -> Result<Vec<PartitionReader>, ReadError> {
    let error = |operation: &'static str| {
        move |source: KafkaError| ReadError::Kafka {
            topic: topic.to_owned(),
            operation,
            source,
        }
    };
    let group = format!(
        "{}-replay-{}-{}",
        kafka.group_id,
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let client = || {
        crate::bus::consumer_config(kafka, &group)
            .set("isolation.level", "read_committed")
            // The end of the log says the read is over even when the last offsets before the
            // end are transaction markers, which are never delivered.
            .set("enable.partition.eof", "true")
            .create_with_context::<_, BaseConsumer<ReplayContext>>(ReplayContext)
            .map_err(error("create consumer"))
    };
    let probe = client()?;
    let metadata = probe
        .fetch_metadata(Some(topic), CALL_TIMEOUT)
        .map_err(error("fetch metadata"))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(ReadError::NoTopic(topic.to_owned()));
    }
    let mut readers = Vec::with_capacity(partitions.len());
    for partition in partitions {
        let (low, high) = probe
            .fetch_watermarks(topic, partition, CALL_TIMEOUT)
            .map_err(error("fetch watermarks"))?;
        let resolve = |bound: Bound, edge: i64| -> Result<i64, ReadError> {
            Ok(match bound {
                Bound::Edge => edge,
                Bound::Offset(n) => n.clamp(low, high),
                Bound::Time(ms) => offset_for_time(&probe, topic, partition, ms)
                    .map_err(error("offsets for times"))?
                    .unwrap_or(high),
            })
        };
        let from = resolve(start, low)?;
        let to = resolve(end, high)?.max(from);
        let consumer = client()?;
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(topic, partition, Offset::Offset(from))
            .map_err(error("assign"))?;
        consumer.assign(&assignment).map_err(error("assign"))?;
        readers.push(PartitionReader {
            topic: topic.to_owned(),
            partition,
            consumer,
            next_offset: from,
            end: to,
        });
    }
    Ok(readers)
}

/// The earliest offset of `partition` whose timestamp is at or after `ms`; `None` when there
/// is none (every message is older).
fn offset_for_time(
    consumer: &BaseConsumer<ReplayContext>,
    topic: &str,
    partition: i32,
    ms: i64,
) -> Result<Option<i64>, KafkaError> {
    let mut query = TopicPartitionList::new();
    query.add_partition_offset(topic, partition, Offset::Offset(ms))?;
    let found = consumer.offsets_for_times(query, CALL_TIMEOUT)?;
    Ok(found.elements().first().and_then(|e| match e.offset() {
        Offset::Offset(o) => Some(o),
        _ => None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_offsets_times_or_edges() {
        assert_eq!(Bound::parse("offset:42"), Ok(Bound::Offset(42)));
        assert_eq!(Bound::parse("beginning"), Ok(Bound::Edge));
        assert_eq!(
            Bound::parse("2026-04-04T04:00:00Z"),
            Ok(Bound::Time(1_775_275_200_000))
        );
        assert!(Bound::parse("offset:-1").is_err());
        assert!(Bound::parse("yesterday").unwrap_err().contains("RFC 3339"));
    }
}
