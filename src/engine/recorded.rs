//! Answers recorded by an earlier run, so a replay can reproduce it engine included.
//!
//! A run records every answered window on the audit topic (`processing.record_answers`, on by
//! default): an audit record of kind `window_answered` whose details carry the endpoint, the
//! digest of the request as it went on the wire, who answered (`source`, the engine's name and
//! any fallback reason) and the answer itself in the engine's JSON contract. A replay given
//! those records answers each window it closes by looking its request digest up: the same
//! input and configuration rebuild the same requests, so every window finds the answer it got
//! live, from the AI Engine or from the built-in fallback alike. A window whose request is not
//! found (different input, configuration or version) is answered by the built-in engine with
//! the fallback reason `not_recorded`, counted and audited as any fallback.

use crate::engine::wire::{self, Endpoint};
use crate::engine::EngineAnswer;
use crate::event::output::{AuditKind, AuditRecord};
use crate::event::Source;
use std::collections::HashMap;

/// The audit detail keys of a `window_answered` record.
pub mod keys {
    /// The endpoint's short name (`anomaly`, `scaling`, ...).
    pub const ENDPOINT: &str = "endpoint";
    /// Digest of the request's wire body.
    pub const REQUEST_DIGEST: &str = "request_digest";
    /// `engine` or `builtin`.
    pub const SOURCE: &str = "source";
    /// The answering engine's name.
    pub const ENGINE: &str = "engine";
    /// Why the built-in engine answered, when it stood in for the remote one.
    pub const FALLBACK_REASON: &str = "fallback_reason";
    /// The short label of that reason.
    pub const FALLBACK_LABEL: &str = "fallback_label";
    /// The answer, as the endpoint's JSON response body.
    pub const ANSWER: &str = "answer";
}

/// One recorded answer and who gave it.
#[derive(Debug, Clone)]
pub struct RecordedAnswer {
    /// The answer.
    pub answer: EngineAnswer,
    /// Who answered live.
    pub source: Source,
    /// The fallback reason live, if the built-in engine stood in.
    pub fallback: Option<String>,
    /// Its short label.
    pub fallback_label: Option<String>,
}

/// Why recorded answers could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordedError {
    /// An audit record is not valid JSON of an audit record.
    #[error("{origin}: not an audit record: {source}")]
    NotAudit {
        /// Where it was read (file and line, or topic, partition and offset).
        origin: String,
        /// The decoding error.
        source: serde_json::Error,
    },
    /// A `window_answered` record lacks a field or carries an invalid answer.
    #[error("{origin}: recorded answer unusable: {reason}")]
    Unusable {
        /// Where it was read.
        origin: String,
        /// What is wrong.
        reason: String,
    },
}

/// Recorded answers by endpoint and request digest.
#[derive(Debug, Default, Clone)]
pub struct RecordedAnswers {
    by_request: HashMap<(Endpoint, String), RecordedAnswer>,
}

impl RecordedAnswers {
    /// No answers.
    pub fn new() -> RecordedAnswers {
        RecordedAnswers::default()
    }

    /// Adds the answer an audit record carries; records of other kinds are skipped. Returns
    /// whether it was one.
    pub fn add_audit_json(&mut self, origin: &str, bytes: &[u8]) -> Result<bool, RecordedError> {
        let record: AuditRecord =
            serde_json::from_slice(bytes).map_err(|source| RecordedError::NotAudit {
                origin: origin.to_owned(),
                source,
            })?;
        self.add(origin, &record)
    }

    /// Adds the answer `record` carries, if it is a `window_answered` record.
    pub fn add(&mut self, origin: &str, record: &AuditRecord) -> Result<bool, RecordedError> {
        if record.kind != AuditKind::WindowAnswered {
            return Ok(false);
        }
        let unusable = |reason: String| RecordedError::Unusable {
            origin: origin.to_owned(),
            reason,
        };
        let field = |key: &str| {
            record
                .details
                .get(key)
                .ok_or_else(|| unusable(format!("no `{key}` detail")))
        };
        let endpoint_name = field(keys::ENDPOINT)?;
        let endpoint = Endpoint::ALL
            .into_iter()
            .find(|e| e.name() == endpoint_name)
            .ok_or_else(|| unusable(format!("unknown endpoint `{endpoint_name}`")))?;
        let digest = field(keys::REQUEST_DIGEST)?.clone();
        let source = match field(keys::SOURCE)?.as_str() {
            "engine" => Source::Engine,
            "builtin" => Source::Builtin,
            other => return Err(unusable(format!("unknown source `{other}`"))),
        };
        let answer = wire::decode_answer(endpoint, field(keys::ANSWER)?.as_bytes())
            .map_err(|e| unusable(e.to_string()))?;
        self.by_request.insert(
            (endpoint, digest),
            RecordedAnswer {
                answer,
                source,
                fallback: record.details.get(keys::FALLBACK_REASON).cloned(),
                fallback_label: record.details.get(keys::FALLBACK_LABEL).cloned(),
            },
        );
        Ok(true)
    }

    /// The answer recorded for a request to `endpoint` whose wire body has `digest`.
    pub fn get(&self, endpoint: Endpoint, digest: &str) -> Option<&RecordedAnswer> {
        self.by_request.get(&(endpoint, digest.to_owned()))
    }

    /// Number of answers held.
    pub fn len(&self) -> usize {
        self.by_request.len()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.by_request.is_empty()
    }
}
