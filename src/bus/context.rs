//! The consumer context: logs rebalances and tells the processing loop which partitions were
//! assigned (so they hold the watermark until they deliver) and revoked (so it drops their
//! state instead of committing for partitions it no longer owns). It also keeps the first
//! refusal by the brokers (see [`is_refusal`]), which the loop turns into a stop.

use crate::stats::Stats;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, TopicPartitionList};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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
/// With counters attached, it also turns the client's statistics into consumer-lag gauges and
/// its "all brokers down" error into readiness.
#[derive(Debug, Default)]
pub struct RebalanceContext {
    dirty: AtomicBool,
    changes: Mutex<Changes>,
    stats: Option<Arc<Stats>>,
    /// Consumed topic names and the role label each gets in metrics.
    roles: Vec<(String, &'static str)>,
    /// The first error that retrying cannot fix, as librdkafka's reason; read by the loop.
    refusal: Mutex<Option<String>>,
}

/// Whether a client error means the brokers refuse this client for good: the broker rejected
/// the SASL credentials, or its certificate failed verification against the trusted CAs.
/// librdkafka retries both forever; neither changes without a new configuration. Other TLS
/// errors (a handshake cut short by a restarting broker) stay retried.
pub fn is_refusal(code: RDKafkaErrorCode, reason: &str) -> bool {
    match code {
        RDKafkaErrorCode::Authentication => true,
        RDKafkaErrorCode::SSL => reason.contains("certificate verify failed"),
        _ => false,
    }
}

impl RebalanceContext {
    /// A context that also reports consumer lag and broker reachability to `stats`; `roles`
    /// maps each consumed topic to its metrics label.
    pub fn observed(stats: Arc<Stats>, roles: Vec<(String, &'static str)>) -> RebalanceContext {
        RebalanceContext {
            stats: Some(stats),
            roles,
            ..RebalanceContext::default()
        }
    }

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

    /// The brokers' refusal of this client, if one was reported (see [`is_refusal`]).
    pub fn refusal(&self) -> Option<String> {
        match self.refusal.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn refuse(&self, reason: &str) {
        let mut guard = match self.refusal.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard.get_or_insert_with(|| reason.to_owned());
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

impl ClientContext for RebalanceContext {
    fn stats(&self, statistics: Statistics) {
        let Some(stats) = &self.stats else { return };
        for (topic, role) in &self.roles {
            let Some(t) = statistics.topics.get(topic) else {
                continue;
            };
            for (partition, p) in &t.partitions {
                // -1 is librdkafka's internal unassigned partition; lag -1 means unknown.
                if *partition < 0 || p.consumer_lag < 0 {
                    continue;
                }
                stats
                    .families
                    .consumer_lag
                    .get_or_create(&vec![
                        ("topic", (*role).to_owned()),
                        ("partition", partition.to_string()),
                    ])
                    .set(p.consumer_lag);
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if let Some(stats) = &self.stats {
            if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
                stats.health.set_broker_up(false);
            }
        }
        if let Some(code) = error.rdkafka_error_code() {
            if is_refusal(code, reason) {
                self.refuse(reason);
            }
        }
        tracing::error!(%error, reason, "kafka client error");
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_credentials_and_untrusted_certificates_are_refusals() {
        assert!(is_refusal(
            RDKafkaErrorCode::Authentication,
            "SASL authentication error: Authentication failed"
        ));
        assert!(is_refusal(
            RDKafkaErrorCode::SSL,
            "SSL handshake failed: error:0A000086:SSL routines::certificate verify failed"
        ));
    }

    #[test]
    fn transient_transport_and_handshake_errors_are_retried() {
        assert!(!is_refusal(
            RDKafkaErrorCode::SSL,
            "SSL handshake failed: Disconnected"
        ));
        assert!(!is_refusal(
            RDKafkaErrorCode::AllBrokersDown,
            "1/1 brokers are down"
        ));
        assert!(!is_refusal(
            RDKafkaErrorCode::BrokerTransportFailure,
            "Connection refused"
        ));
    }

    #[test]
    fn the_first_refusal_is_kept() {
        let context = RebalanceContext::default();
        assert_eq!(context.refusal(), None);
        context.error(
            KafkaError::Global(RDKafkaErrorCode::Authentication),
            "first",
        );
        context.error(
            KafkaError::Global(RDKafkaErrorCode::Authentication),
            "second",
        );
        assert_eq!(context.refusal().as_deref(), Some("first"));
    }
}
