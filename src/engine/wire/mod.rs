//! The AI Engine wire contract: how every request and answer of the five endpoints is written
//! as JSON, and how answers are checked before anything acts on them. `docs/engine-api.md`
//! describes the same contract in prose, with examples.
//!
//! Representation rules, the same for every endpoint:
//!
//! - Utilisations (CPU, memory, disk, network, error rate) are fractions 0..1, never percent.
//! - Times are RFC 3339 strings with an offset; fabric-ai writes milliseconds and `Z`. On
//!   reading any offset is accepted and a zone-less timestamp is read as UTC.
//! - Durations have one representation: a number whose unit is in the field name
//!   (`resolution_minutes`, `runtimes_s`, `horizons_minutes`).
//! - Metrics are named by their telemetry field (`cpu_util`, `latency_p99_ms`, ...).
//! - Unknown fields are ignored on reading, so either side may add fields.
//! - Requests: a non-finite number (JSON has none) is written as `null` and read back as NaN.
//! - Answers are strict where acting on them would be unsafe: a missing field, a wrong type, a
//!   negative count, a fraction (confidence, score, strength) outside 0..1 or a number that is
//!   `null` makes the answer invalid, with a [`WireError`] naming the field.
//!
//! Floats survive a round trip bit for bit (serde_json's `float_roundtrip`), so
//! `decode_request(encode_request(r)) == r` and `decode_answer(encode_answer(a)) == a` for any
//! request and answer whose numbers are finite and whose times are whole milliseconds.

mod anomaly;
mod check;
mod error;
pub mod fields;
mod performance;
mod prediction;
mod scaling;
mod workload;

pub use error::{Body, WireError};
pub use performance::RISKS;

use crate::engine::{EngineAnswer, EngineRequest};
use serde::{Deserialize, Serialize};

/// One of the engine's five endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `POST /optimize/performance`
    Performance,
    /// `POST /analyze/workload`
    Workload,
    /// `POST /predict/resources`
    Prediction,
    /// `POST /detect/anomaly`
    Anomaly,
    /// `POST /optimize/scaling`
    Scaling,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 5] = [
        Endpoint::Performance,
        Endpoint::Workload,
        Endpoint::Prediction,
        Endpoint::Anomaly,
        Endpoint::Scaling,
    ];

    /// The HTTP path, relative to the engine's base URL.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Performance => "/optimize/performance",
            Endpoint::Workload => "/analyze/workload",
            Endpoint::Prediction => "/predict/resources",
            Endpoint::Anomaly => "/detect/anomaly",
            Endpoint::Scaling => "/optimize/scaling",
        }
    }

    /// Short lowercase name, for logs, metrics labels and audit records.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Performance => "performance",
            Endpoint::Workload => "workload",
            Endpoint::Prediction => "prediction",
            Endpoint::Anomaly => "anomaly",
            Endpoint::Scaling => "scaling",
        }
    }

    /// The endpoint that answers `request`.
    pub fn of(request: &EngineRequest) -> Endpoint {
        match request {
            EngineRequest::Performance(_) => Endpoint::Performance,
            EngineRequest::Workload(_) => Endpoint::Workload,
            EngineRequest::Prediction(_) => Endpoint::Prediction,
            EngineRequest::Anomaly(_) => Endpoint::Anomaly,
            EngineRequest::Scaling(_) => Endpoint::Scaling,
        }
    }

    /// The endpoint an answer belongs to.
    pub fn of_answer(answer: &EngineAnswer) -> Endpoint {
        match answer {
            EngineAnswer::Performance(_) => Endpoint::Performance,
            EngineAnswer::Workload(_) => Endpoint::Workload,
            EngineAnswer::Prediction(_) => Endpoint::Prediction,
            EngineAnswer::Anomaly(_) => Endpoint::Anomaly,
            EngineAnswer::Scaling(_) => Endpoint::Scaling,
        }
    }
}

/// What model produced an answer; optional in every answer, under `model`, and kept for the
/// audit trail only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Model name, e.g. `builtin`.
    pub name: String,
    /// Model version.
    pub version: String,
}

/// A decoded answer with the model information it carried, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAnswer {
    /// The answer, checked.
    pub answer: EngineAnswer,
    /// The answer's `model`, when present.
    pub model: Option<ModelInfo>,
}

/// Writes a request as the JSON body of its [`Endpoint::of`].
///
/// Fails only for an event time outside what RFC 3339 can write (years before 1 or after
/// 9999); requests built from validated events never have one.
pub fn encode_request(request: &EngineRequest) -> Result<Vec<u8>, WireError> {
    write_request(request, Layout::Compact)
}

/// Compact JSON on the wire; indented JSON for the examples in the docs.
#[derive(Debug, Clone, Copy)]
enum Layout {
    Compact,
    #[cfg_attr(not(test), allow(dead_code))]
    Pretty,
}

fn write_request(request: &EngineRequest, layout: Layout) -> Result<Vec<u8>, WireError> {
    let body = Body::Request;
    match request {
        EngineRequest::Anomaly(r) => error::to_vec(body, &anomaly::RequestOut(r), layout),
        EngineRequest::Performance(r) => error::to_vec(body, &performance::RequestOut(r), layout),
        EngineRequest::Workload(r) => error::to_vec(body, &workload::RequestOut(r), layout),
        EngineRequest::Prediction(r) => error::to_vec(body, &prediction::RequestOut(r), layout),
        EngineRequest::Scaling(r) => error::to_vec(body, &scaling::RequestOut(r), layout),
    }
}

/// Reads the JSON body of a request to `endpoint` (the server's side).
pub fn decode_request(endpoint: Endpoint, bytes: &[u8]) -> Result<EngineRequest, WireError> {
    let body = Body::Request;
    Ok(match endpoint {
        Endpoint::Anomaly => {
            EngineRequest::Anomaly(error::parse::<anomaly::RequestIn>(body, bytes)?.0)
        }
        Endpoint::Performance => {
            EngineRequest::Performance(error::parse::<performance::RequestIn>(body, bytes)?.0)
        }
        Endpoint::Workload => {
            EngineRequest::Workload(error::parse::<workload::RequestIn>(body, bytes)?.0)
        }
        Endpoint::Prediction => {
            EngineRequest::Prediction(error::parse::<prediction::RequestIn>(body, bytes)?.0)
        }
        Endpoint::Scaling => {
            EngineRequest::Scaling(error::parse::<scaling::RequestIn>(body, bytes)?.0)
        }
    })
}

/// Writes an answer as the JSON body of its endpoint's response, without model information.
pub fn encode_answer(answer: &EngineAnswer) -> Result<Vec<u8>, WireError> {
    encode_answer_with_model(answer, None)
}

/// Writes an answer with `model` under the key `model` (the server's side).
pub fn encode_answer_with_model(
    answer: &EngineAnswer,
    model: Option<&ModelInfo>,
) -> Result<Vec<u8>, WireError> {
    write_answer(answer, model, Layout::Compact)
}

fn write_answer(
    answer: &EngineAnswer,
    model: Option<&ModelInfo>,
    layout: Layout,
) -> Result<Vec<u8>, WireError> {
    #[derive(Serialize)]
    struct WithModel<'a, A> {
        #[serde(flatten)]
        answer: A,
        #[serde(skip_serializing_if = "Option::is_none")]
        model: Option<&'a ModelInfo>,
    }
    let body = Body::Answer;
    match answer {
        EngineAnswer::Anomaly(a) => {
            let answer = anomaly::AnswerOut(a);
            error::to_vec(body, &WithModel { answer, model }, layout)
        }
        EngineAnswer::Performance(a) => {
            let answer = performance::AnswerOut(a);
            error::to_vec(body, &WithModel { answer, model }, layout)
        }
        EngineAnswer::Workload(a) => {
            let answer = workload::AnswerOut(a);
            error::to_vec(body, &WithModel { answer, model }, layout)
        }
        EngineAnswer::Prediction(a) => {
            let answer = prediction::AnswerOut(a);
            error::to_vec(body, &WithModel { answer, model }, layout)
        }
        EngineAnswer::Scaling(a) => {
            let answer = scaling::AnswerOut(a);
            error::to_vec(body, &WithModel { answer, model }, layout)
        }
    }
}

/// Reads and checks the JSON body of an answer from `endpoint` (the client's side).
pub fn decode_answer(endpoint: Endpoint, bytes: &[u8]) -> Result<EngineAnswer, WireError> {
    Ok(decode_answer_with_model(endpoint, bytes)?.answer)
}

/// Reads and checks an answer, keeping its `model` information.
pub fn decode_answer_with_model(
    endpoint: Endpoint,
    bytes: &[u8],
) -> Result<DecodedAnswer, WireError> {
    let body = Body::Answer;
    let value: serde_json::Value = error::parse(body, bytes)?;

    #[derive(Deserialize)]
    struct Envelope {
        #[serde(default)]
        model: Option<ModelInfo>,
    }
    let envelope: Envelope = error::from_value(body, value.clone())?;

    let answer = match endpoint {
        Endpoint::Anomaly => {
            EngineAnswer::Anomaly(error::from_value::<anomaly::AnswerIn>(body, value)?.0)
        }
        Endpoint::Performance => {
            EngineAnswer::Performance(error::from_value::<performance::AnswerIn>(body, value)?.0)
        }
        Endpoint::Workload => {
            EngineAnswer::Workload(error::from_value::<workload::AnswerIn>(body, value)?.0)
        }
        Endpoint::Prediction => {
            EngineAnswer::Prediction(error::from_value::<prediction::AnswerIn>(body, value)?.0)
        }
        Endpoint::Scaling => {
            EngineAnswer::Scaling(error::from_value::<scaling::AnswerIn>(body, value)?.0)
        }
    };
    validate_answer(&answer)?;
    Ok(DecodedAnswer {
        answer,
        model: envelope.model,
    })
}

/// Checks what the types cannot: fractions in 0..1, finite numbers, nested intervals, known
/// risk words. [`decode_answer`] runs it; it is public so an in-process engine's answers can
/// be held to the same contract.
pub fn validate_answer(answer: &EngineAnswer) -> Result<(), WireError> {
    match answer {
        EngineAnswer::Anomaly(a) => anomaly::validate(a),
        EngineAnswer::Performance(a) => performance::validate(a),
        EngineAnswer::Workload(a) => workload::validate(a),
        EngineAnswer::Prediction(a) => prediction::validate(a),
        EngineAnswer::Scaling(a) => scaling::validate(a),
    }
}

#[cfg(test)]
mod tests;
