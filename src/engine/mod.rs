//! Engines answer closed windows with findings.
//!
//! Every closed window becomes one [`EngineRequest`] (one batched request per window and
//! scope). [`builtin::BuiltinEngine`] holds fabric-ai's own algorithms and answers in-process
//! through the synchronous [`Engine`] trait. [`remote::HttpEngine`] asks the AI Engine over
//! HTTP: the JSON contract is [`wire`], the retrying, rate-limited, circuit-broken client is
//! [`http`], and [`fallback::Answerer`] lets the built-in engine answer whenever the remote one
//! cannot. [`gate`] decides which answers are acted on. [`server`] is the reference engine
//! (`fabric-ai engine serve`): the built-in algorithms behind the HTTP contract. [`recorded`]
//! answers a replay with the answers an earlier run recorded on its audit topic.

pub mod builtin;
pub mod fallback;
pub mod gate;
pub mod http;
pub mod recorded;
pub mod remote;
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
