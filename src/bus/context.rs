//! The consumer context: logs rebalances and tells the processing loop which partitions were
//! revoked, so it can drop their state instead of committing for partitions it no longer owns.

use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::{ClientContext, TopicPartitionList};
use std::sync::Mutex;

/// Rebalance bookkeeping shared between librdkafka's callback thread and the processing loop.
#[derive(Debug, Default)]
pub struct RebalanceContext {
    revoked: Mutex<Vec<(String, i32)>>,
}

impl RebalanceContext {
    /// Partitions revoked since the last call.
    pub fn take_revoked(&self) -> Vec<(String, i32)> {
        match self.revoked.lock() {
            Ok(mut revoked) => std::mem::take(&mut *revoked),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
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
                let list = tpl
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect::<Vec<_>>();
                match self.revoked.lock() {
                    Ok(mut revoked) => revoked.extend(list),
                    Err(poisoned) => poisoned.into_inner().extend(list),
                }
            }
            Rebalance::Assign(tpl) => {
                tracing::info!(partitions = %describe(tpl), "partitions assigned")
            }
            Rebalance::Error(error) => tracing::warn!(%error, "rebalance failed"),
        }
    }
}
