//! A seeded telemetry and job-event generator with injectable incidents.
//!
//! [`Simulator`] produces, tick by tick, one [`TelemetrySample`] per node and the job events of
//! that tick: a daily load curve, Gaussian noise, jobs arriving, queueing, running and ending
//! on nodes, and the [`Incident`]s asked for. The same configuration and seed always produce
//! the same events. [`sink`] writes them to Kafka (or a file) at a chosen speed-up.

pub mod incident;
pub mod model;
pub mod sink;

pub use incident::{Incident, IncidentKind};
pub use model::{SimConfig, Simulator, Tick};
