//! Input and output events, and how they are written on the wire.
//!
//! Inputs are [`TelemetrySample`], [`JobEvent`] and actuators' [`Outcome`]s; outputs are the five
//! decision kinds plus [`AuditRecord`], [`DeadLetter`], [`Effectiveness`] and
//! [`PredictionAccuracy`]; [`ClusterSummary`] is both, on the federation topic. The Avro schemas in
//! `schemas/` are the source of truth; [`codec`] encodes each type as JSON or as Confluent-framed
//! Avro, and the schema round-trip test keeps the Rust types and the schemas in agreement.

pub mod avro;
pub mod bytes;
pub mod codec;
pub mod error;
pub mod feedback;
pub mod job;
pub mod output;
pub mod telemetry;
pub mod time;

pub use codec::{decode, encode, Encoding, WireEvent};
pub use error::DecodeError;
pub use feedback::{ClusterSummary, Effectiveness, Outcome, OutcomeStatus, PredictionAccuracy};
pub use job::{JobEvent, JobState, JobType};
pub use output::{
    decision_id, AffectedMetric, Anomaly, AnomalyType, AuditKind, AuditRecord, DeadLetter,
    DecisionHeader, HorizonForecast, Recommendation, RecommendationType, ResourcePrediction,
    ScalingAction, ScalingDecision, Severity, Source, WindowBounds, WorkloadInsight,
};
pub use telemetry::{node_key, Metric, TelemetrySample};
