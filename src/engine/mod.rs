//! Engines answer closed windows with findings.
//!
//! Every closed window becomes one [`EngineRequest`] (one batched request per window and
//! scope); an [`Engine`] answers it with an [`EngineAnswer`]. [`builtin::BuiltinEngine`] holds
//! fabric-ai's own algorithms and runs in-process.
//!
//! The trait is synchronous: the built-in engine answers in microseconds, and the pipeline
//! answers a window before it takes the next message. A remote engine must not block that
//! loop; it plugs in behind the same request and answer types.

pub mod builtin;
pub mod fallback;
pub mod gate;
pub mod http;
pub mod request;
pub mod server;
pub mod wire;

pub use request::{
    AnomalyAnswer, AnomalyRequest, EngineAnswer, EngineRequest, PerformanceAnswer,
    PerformanceRequest, PredictionAnswer, PredictionRequest, ScalingAnswer, ScalingRequest,
    WorkloadAnswer, WorkloadRequest,
};

/// Why an engine could not answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// The request is outside what the engine can answer (too little history, ...).
    #[error("engine cannot answer: {0}")]
    Unanswerable(String),
}

/// Answers window requests. Implementations must be deterministic for replay: the same
/// request gives the same answer.
pub trait Engine: Send + Sync {
    /// Short name, recorded on every decision's audit trail.
    fn name(&self) -> &'static str;

    /// Answers one request.
    fn answer(&self, request: &EngineRequest) -> Result<EngineAnswer, EngineError>;
}
