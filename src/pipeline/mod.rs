//! The `run` job: consume telemetry and job events, window them in every enabled processor,
//! ask the engine about each closed window, publish the decisions, and commit only what is
//! safe.
//!
//! One task owns everything: the consumer, the processors' windows, the job join, the offset
//! ledger. With the built-in engine alone a closed window is answered at once; with the AI
//! Engine enabled (`engine.enabled`) its request goes out and the loop keeps reading, taking
//! answers in the order sent (see `asks`), the built-in engine answering whatever the remote
//! one cannot. Decisions are gated by confidence; every decision, accepted or rejected, gets
//! an audit record saying who answered, how, and why.
//!
//! The loop selects, in priority order, between shutdown, broker acknowledgements of
//! outputs, answers of the AI Engine, a periodic tick (rebalance changes, idle and wall-clock
//! closes, commit) and the next input message. Acknowledgements come before input so pending
//! outputs drain before more are created; while `processing.max_in_flight` outputs and windows
//! await acknowledgement or an answer the input partitions are paused (see `intake`), which
//! bounds memory when the broker or the engine is slow. When the brokers refuse the consumer
//! for good (rejected SASL credentials, an untrusted broker certificate), the next tick stops
//! the loop with [`PipelineError::Refused`] instead of letting librdkafka retry forever.
//!
//! `at_least_once`: an input offset is committed only after every window it fed has been
//! purged and every output it led to is acknowledged. After a crash the restart re-reads from
//! the committed offsets, rebuilds the open windows, and re-emits any decision whose
//! acknowledgement was lost, with the same deterministic id.
//!
//! `exactly_once`: outputs are produced in a Kafka transaction that also carries the consumed
//! offsets (up to what open windows still need); every commit interval the transaction is
//! committed and a new one begun. A `read_committed` consumer sees each decision once. A
//! transaction that cannot commit is aborted and the pipeline stops with an error, so the
//! restart resumes from the last committed transaction.
//!
//! Known limits: cross-window state (detector baselines, prediction and usage histories,
//! recent scaling targets) lives in memory; after a restart or a partition move it is
//! relearned, so decisions that depend on it can differ from an uninterrupted run until it is.
//! Cluster-scoped processors (performance, workload, scaling, cluster predictions) see the
//! nodes on this instance's partitions only: with several instances in a group, each answers
//! for the part of a cluster it holds.

mod asks;
mod close_clock;
mod intake;
mod output;
pub mod replay;
mod replay_sink;
mod state;
mod txn;

use crate::bus::context::RebalanceContext;
use crate::bus::{consumer_config, producer_config};
use crate::config::{Config, Guarantee};
use crate::engine::builtin::BuiltinEngine;
use crate::engine::fallback::Answerer;
use crate::event::codec::EncodeError;
use crate::stats::Stats;
use crate::topics::{Catalogue, CatalogueError};
use asks::Asks;
use futures::StreamExt;
use output::Pending;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;
use state::State;
use std::future::Future;
use std::sync::Arc;

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
    /// A transaction could not be committed; it was aborted.
    #[error("transaction {operation}: {source}")]
    Transaction {
        /// The step that failed.
        operation: &'static str,
        /// The client error.
        source: KafkaError,
    },
    /// An output could not be encoded (a bug: a type and its schema disagree).
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The engine client could not be built from `[engine]`.
    #[error("engine client: {0}")]
    Engine(#[from] crate::engine::http::BuildError),
    /// The topic catalogue is invalid.
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    /// The brokers refuse this client (rejected credentials, untrusted certificate); retrying
    /// cannot help, so the pipeline stops instead of reconnecting forever.
    #[error("kafka refused the client: {reason}")]
    Refused {
        /// librdkafka's reason.
        reason: String,
    },
    /// The operations endpoints cannot listen where `ops.listen` says.
    #[error("ops.listen {listen}: {source}")]
    Ops {
        /// The address.
        listen: String,
        /// The bind error.
        source: std::io::Error,
    },
}

/// Aborts the operations endpoints when the pipeline stops.
struct OpsTask(tokio::task::JoinHandle<()>);

impl Drop for OpsTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts the operations endpoints when `ops.listen` is set; a port that cannot be bound
/// stops the start-up.
async fn ops_endpoints(
    config: &Config,
    stats: &Arc<Stats>,
) -> Result<Option<OpsTask>, PipelineError> {
    if config.ops.listen.is_empty() {
        return Ok(None);
    }
    let listener = tokio::net::TcpListener::bind(&config.ops.listen)
        .await
        .map_err(|source| PipelineError::Ops {
            listen: config.ops.listen.clone(),
            source,
        })?;
    let task = tokio::spawn(crate::ops::server::serve(
        listener,
        stats.clone(),
        config.ops.stall_after,
    ));
    Ok(Some(OpsTask(task)))
}

/// The built-in engine, behind the remote one when `engine.enabled`.
fn answerer(config: &Config) -> Result<Answerer, PipelineError> {
    let builtin = BuiltinEngine::new(config.anomaly.clone());
    if !config.engine.enabled {
        return Ok(Answerer::new(builtin, None));
    }
    let remote = crate::engine::remote::HttpEngine::new(&config.engine)?;
    tracing::info!(url = %config.engine.url, "asking the AI Engine; built-in answers as fallback");
    Ok(Answerer::new(builtin, Some(Arc::new(remote))))
}

fn kafka(operation: &'static str) -> impl FnOnce(KafkaError) -> PipelineError {
    move |source| PipelineError::Kafka { operation, source }
}

/// Runs the pipeline until `shutdown` resolves, then drains acknowledgements and commits.
pub async fn run(
    config: Config,
    stats: Arc<Stats>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), PipelineError> {
    let catalogue = Catalogue::built_in(&config.kafka.topic_prefix)?;
    let roles = state::INPUTS
        .iter()
        .map(|r| (catalogue.name(*r).to_owned(), r.as_str()))
        .collect();
    let mut settings = consumer_config(&config.kafka, &config.kafka.group_id);
    settings.set("isolation.level", "read_committed");
    if !config.kafka.client.contains_key("statistics.interval.ms") {
        // Consumer lag per partition for the metrics.
        settings.set("statistics.interval.ms", "5000");
    }
    let consumer: StreamConsumer<RebalanceContext> = settings
        .create_with_context(RebalanceContext::observed(stats.clone(), roles))
        .map_err(kafka("create consumer"))?;
    let _ops = ops_endpoints(&config, &stats).await?;
    let mut producer_settings = producer_config(&config.kafka);
    let exactly_once = config.processing.guarantee == Guarantee::ExactlyOnce;
    if exactly_once {
        producer_settings.set("transactional.id", txn::transactional_id(&config));
    }
    let producer: FutureProducer = producer_settings
        .create()
        .map_err(kafka("create producer"))?;
    let inputs: Vec<&str> = state::INPUTS
        .iter()
        .filter(|r| config.federation.enable || **r != crate::topics::TopicRole::Federation)
        .map(|r| catalogue.name(*r))
        .collect();
    consumer.subscribe(&inputs).map_err(kafka("subscribe"))?;
    let mut transaction = if exactly_once {
        Some(txn::Transaction::begin(&producer).await?)
    } else {
        None
    };
    tracing::info!(
        topics = ?inputs,
        group = %config.kafka.group_id,
        guarantee = ?config.processing.guarantee,
        "pipeline started"
    );

    let answerer = answerer(&config)?;
    let mut state = State::new(config, catalogue, stats, answerer);
    let mut pending = Pending::new();
    let mut asks = Asks {
        defer_builtin: true,
        ..Asks::default()
    };
    let mut tick = tokio::time::interval(state.config.processing.commit_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    let max_in_flight = state.config.processing.max_in_flight;
    let mut intake = intake::Intake::default();

    loop {
        intake.regulate(
            &consumer,
            pending.len() + asks.unanswered(),
            max_in_flight,
            &state.stats,
        );
        state.input_paused(intake.is_paused());
        tokio::select! {
            // Shutdown first, then acknowledgements before new input: draining bounds memory.
            biased;
            _ = &mut shutdown => break,
            Some(acked) = pending.next(), if !pending.is_empty() => {
                if acked.result.is_ok() {
                    state.stats.health.set_broker_up(true);
                }
                state.on_acked(acked)?
            }
            Some(done) = asks.in_flight.next(), if !asks.in_flight.is_empty() => {
                let outputs = state.on_answer(&mut asks, done);
                state.send(&producer, &mut pending, outputs).await?;
                state.dispatch(&mut asks);
            }
            _ = tick.tick() => {
                // The tick comes before input in this select, so a busy loop still passes here.
                if let Some(reason) = consumer.context().refusal() {
                    return Err(PipelineError::Refused { reason });
                }
                state.stats.health.passed();
                let outputs = state.on_tick(&consumer, &mut asks);
                state.send(&producer, &mut pending, outputs).await?;
                state.dispatch(&mut asks);
                match transaction.as_mut() {
                    Some(t) => {
                        // Offsets go into the transaction: first publish what is being asked.
                        answer_all(&mut state, &mut asks, &producer, &mut pending).await?;
                        t.commit(&producer, &consumer, &mut state).await?
                    }
                    None => state.commit(&consumer, CommitMode::Async),
                }
            }
            // Closed windows before new input, a slice at a time, acknowledgements in between.
            _ = std::future::ready(()), if !asks.builtin.is_empty() => {
                let outputs = state.answer_deferred(&mut asks, asks::BUILTIN_SLICE);
                state.send(&producer, &mut pending, outputs).await?;
            }
            // Polled even while paused, so rebalances are served and the member stays alive.
            message = consumer.recv() => {
                if message.is_ok() {
                    state.stats.health.set_broker_up(true);
                }
                if intake.is_paused() {
                    // From a partition assigned since the pause: take it, pause that one too.
                    intake.pause(&consumer, &state.stats);
                }
                let outputs = state.on_message(&consumer, &mut asks, message);
                state.send(&producer, &mut pending, outputs).await?;
                state.dispatch(&mut asks);
            }
        }
    }

    tracing::info!(
        pending = pending.len(),
        "pipeline stopping: draining acknowledgements"
    );
    let drain_timeout = state.drain_timeout();
    let drain = async {
        answer_all(&mut state, &mut asks, &producer, &mut pending).await?;
        while let Some(acked) = pending.next().await {
            state.on_acked(acked)?;
        }
        Ok::<(), PipelineError>(())
    };
    let drained = match tokio::time::timeout(drain_timeout, drain).await {
        Ok(result) => {
            result?;
            true
        }
        Err(_) => {
            tracing::warn!("drain timed out; unacknowledged inputs stay uncommitted");
            false
        }
    };
    match transaction.as_mut() {
        Some(t) => t.finish(&producer, &consumer, &mut state).await?,
        None if drained => state.commit_final(&consumer),
        None => state.commit(&consumer, CommitMode::Sync),
    }
    tracing::info!("pipeline stopped");
    Ok(())
}

/// Waits for every window being asked about and hands its decisions to the producer.
async fn answer_all(
    state: &mut State,
    asks: &mut Asks,
    producer: &FutureProducer,
    pending: &mut Pending,
) -> Result<(), PipelineError> {
    while !asks.builtin.is_empty() {
        let outputs = state.answer_deferred(asks, asks::BUILTIN_SLICE);
        state.send(producer, pending, outputs).await?;
    }
    state.dispatch(asks);
    while let Some(done) = asks.in_flight.next().await {
        let outputs = state.on_answer(asks, done);
        state.send(producer, pending, outputs).await?;
        state.dispatch(asks);
    }
    Ok(())
}
