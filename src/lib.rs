//! fabric-ai turns the telemetry of a compute fabric into decisions, over Kafka.
//!
//! Telemetry and job events come in on Kafka topics ([`event`]), are grouped into event-time
//! windows per node ([`window`]), and each closed window is answered by an engine
//! ([`engine`]) whose findings are published as decision events ([`processor`], [`bus`]).
//! Actuators' outcomes and the windows that follow close the loop ([`feedback`]), which also
//! recommends moves between clusters.

#![deny(missing_docs)]

pub mod bus;
pub mod config;
pub mod demo;
pub mod engine;
pub mod event;
pub mod feedback;
pub mod ops;
pub mod pipeline;
pub mod processor;
pub mod replay;
pub mod simulate;
pub mod stats;
pub mod topics;
pub mod window;
