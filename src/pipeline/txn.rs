//! Exactly-once delivery: outputs and consumed offsets committed together in Kafka
//! transactions (KIP-98), with consumer-group fencing (KIP-447) through the group metadata.
//!
//! The transactional id is `processing.transactional_id`, or `<group_id>-<host name>` when
//! unset. It must be stable across restarts of one instance, so the restart fences the crashed
//! process and aborts its open transaction at once, and unique across the instances of a
//! group.

use super::state::State;
use super::PipelineError;
use crate::bus::context::RebalanceContext;
use crate::config::Config;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, Producer};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(30);

/// The transactional id of this instance.
pub(super) fn transactional_id(config: &Config) -> String {
    if let Some(id) = &config.processing.transactional_id {
        return id.clone();
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{}-{host}", config.kafka.group_id)
}

/// The open transaction.
pub(super) struct Transaction {
    dirty: bool,
}

fn txn_err(operation: &'static str) -> impl FnOnce(KafkaError) -> PipelineError {
    move |source| PipelineError::Transaction { operation, source }
}

/// Runs a blocking librdkafka transaction call off the async threads.
async fn blocking<T: Send + 'static>(
    producer: &FutureProducer,
    operation: &'static str,
    call: impl FnOnce(&FutureProducer) -> Result<T, KafkaError> + Send + 'static,
) -> Result<T, PipelineError> {
    let producer = producer.clone();
    tokio::task::spawn_blocking(move || call(&producer))
        .await
        .map_err(|_| PipelineError::Transaction {
            operation,
            source: KafkaError::Canceled,
        })?
        .map_err(txn_err(operation))
}

impl Transaction {
    /// Initialises the producer's transactions (fencing any older instance with the same id)
    /// and begins the first transaction.
    pub(super) async fn begin(producer: &FutureProducer) -> Result<Transaction, PipelineError> {
        blocking(producer, "init", |p| p.init_transactions(TIMEOUT)).await?;
        producer.begin_transaction().map_err(txn_err("begin"))?;
        Ok(Transaction { dirty: true })
    }

    /// Commits the consumed offsets and the outputs produced since the last commit, then
    /// begins the next transaction.
    pub(super) async fn commit(
        &mut self,
        producer: &FutureProducer,
        consumer: &StreamConsumer<RebalanceContext>,
        state: &mut State,
    ) -> Result<(), PipelineError> {
        let offsets = state.committable(true);
        if offsets.is_empty() && !self.dirty && !state.produced_since_commit() {
            return Ok(());
        }
        let tpl = state.offset_list(&offsets, true);
        let metadata = consumer
            .group_metadata()
            .ok_or_else(|| PipelineError::Transaction {
                operation: "group metadata",
                source: KafkaError::Canceled,
            })?;
        let result = async {
            if tpl.count() > 0 {
                let tpl = tpl.clone();
                blocking(producer, "send offsets", move |p| {
                    p.send_offsets_to_transaction(&tpl, &metadata, TIMEOUT)
                })
                .await?;
            }
            blocking(producer, "commit", |p| p.commit_transaction(TIMEOUT)).await
        }
        .await;
        if let Err(error) = result {
            // Nothing of this transaction becomes visible; stopping makes the restart resume
            // from the last committed transaction.
            let _ = blocking(producer, "abort", |p| p.abort_transaction(TIMEOUT)).await;
            return Err(error);
        }
        state.committed(&offsets);
        producer.begin_transaction().map_err(txn_err("begin"))?;
        self.dirty = false;
        Ok(())
    }

    /// Commits the last transaction at shutdown.
    pub(super) async fn finish(
        &mut self,
        producer: &FutureProducer,
        consumer: &StreamConsumer<RebalanceContext>,
        state: &mut State,
    ) -> Result<(), PipelineError> {
        self.dirty = true;
        let offsets = state.committable(true);
        let tpl = state.offset_list(&offsets, true);
        if tpl.count() > 0 {
            let metadata = consumer
                .group_metadata()
                .ok_or_else(|| PipelineError::Transaction {
                    operation: "group metadata",
                    source: KafkaError::Canceled,
                })?;
            blocking(producer, "send offsets", move |p| {
                p.send_offsets_to_transaction(&tpl, &metadata, TIMEOUT)
            })
            .await?;
        }
        blocking(producer, "commit", |p| p.commit_transaction(TIMEOUT)).await?;
        state.committed(&offsets);
        Ok(())
    }
}
