//! The consumer context: logs rebalances and tells the processing loop which partitions were
//! assigned (so they hold the watermark until they deliver) and revoked (so it drops their
//! state instead of committing for partitions it no longer owns).

use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::{ClientContext, TopicPartitionList};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// A partition as librdkafka names it.
pub type TopicPartition = (String, i32);

/// Assignment changes since the loop last looked.
#[derive(Debug, Default)]
pub struct Changes {
    /// Newly assigned partitions.
    pub assigned: Vec<TopicPartition>,
    /// Revoked partitions.
    pub revoked: Vec<TopicPartition>,
}

/// Rebalance bookkeeping shared between librdkafka's callback thread and the processing loop.
#[derive(Debug, Default)]
pub struct RebalanceContext {
    dirty: AtomicBool,
    changes: Mutex<Changes>,
}

impl RebalanceContext {
    /// Assignment changes since the last call; cheap (one atomic load) when there are none.
    pub fn take_changes(&self) -> Option<Changes> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return None;
        }
        let mut guard = match self.changes.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        Some(std::mem::take(&mut *guard))
    }

    fn record(&self, f: impl FnOnce(&mut Changes)) {
        match self.changes.lock() {
            Ok(mut guard) => f(&mut guard),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
        self.dirty.store(true, Ordering::Release);
    }
}

fn list(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_owned(), e.partition()))
        .collect()
}

fn describe(tpl: &TopicPartitionList) -> String {
    tpl.elements()
        .iter()
        .map(|e| format!("{}[{}]", e.topic(), e.partition()))
        .collect::<Vec<_>>()
        .join(",")
}

impl ClientContext for RebalanceContext {}

impl ConsumerContext for RebalanceContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => {
                tracing::info!(partitions = %describe(tpl), "partitions revoked");
                self.record(|c| c.revoked.extend(list(tpl)));
            }
            Rebalance::Assign(tpl) => {
                tracing::info!(partitions = %describe(tpl), "partitions assigned");
                self.record(|c| c.assigned.extend(list(tpl)));
            }
            Rebalance::Error(error) => tracing::warn!(%error, "rebalance failed"),
        }
    }
}
