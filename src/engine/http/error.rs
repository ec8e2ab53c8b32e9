//! Why a call to the engine failed, and why a transport could not be built.
//!
//! Every [`FailureKind`] has a short stable [`FailureKind::label`] for audit records and
//! metric labels; the `Display` text is for people and may change.

use crate::config::ConfigError;
use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// What a call was doing when its deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for one of the `max_in_flight` slots.
    InFlightSlot,
    /// Sending the request and waiting for the answer's status and headers.
    Request,
    /// Reading the answer's body.
    Body,
    /// The backoff before the next attempt would have ended past the deadline.
    Backoff,
    /// The engine's `Retry-After` would have ended past the deadline.
    RetryAfter,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::InFlightSlot => "waiting for an in-flight slot",
            Phase::Request => "waiting for the answer",
            Phase::Body => "reading the answer body",
            Phase::Backoff => "backing off before a retry",
            Phase::RetryAfter => "waiting as retry-after asked",
        })
    }
}

/// Why a call failed. Classified by [`FailureKind::label`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FailureKind {
    /// The circuit breaker is open (or its one probe is out); no request was sent.
    #[error("circuit breaker open: engine not called, next probe in {retry_in:?}")]
    BreakerOpen {
        /// Until the breaker lets a probe through; zero while a probe is already out.
        retry_in: Duration,
    },
    /// The call's one deadline (all attempts, waits and the body read) passed.
    #[error("deadline exceeded {phase}{}", last_failure(last))]
    Deadline {
        /// What the call was doing.
        phase: Phase,
        /// The failure of the attempt before, if one had failed.
        last: Option<String>,
    },
    /// No connection could be made, or it broke before the answer was read; after retries.
    #[error("connection failed: {message}")]
    Connect {
        /// The transport error and its causes.
        message: String,
    },
    /// The engine answered with a status outside 2xx. 429, 502, 503 and 504 are retried;
    /// every other status, 500 included, is final: a 500 is taken as the engine failing on
    /// this request, which a retry would repeat.
    #[error("engine answered status {code}")]
    Status {
        /// The HTTP status code.
        code: u16,
    },
    /// The answer was larger than `max_answer_bytes` (by `Content-Length` or as read).
    #[error("answer too large: over {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The rate limiter had no slot for the call before its deadline.
    #[error("rate limited: no request slot before the deadline")]
    RateLimited,
}

/// ` (last failure: ...)` when there was one.
fn last_failure(last: &Option<String>) -> String {
    last.as_ref()
        .map(|l| format!(" (last failure: {l})"))
        .unwrap_or_default()
}

impl FailureKind {
    /// A short stable name for audit records and metric labels: `breaker_open`, `deadline`,
    /// `connect`, `status_<code>` (e.g. `status_503`), `too_large`, `rate_limited`.
    pub fn label(&self) -> Cow<'static, str> {
        match self {
            FailureKind::BreakerOpen { .. } => "breaker_open".into(),
            FailureKind::Deadline { .. } => "deadline".into(),
            FailureKind::Connect { .. } => "connect".into(),
            FailureKind::Status { code } => format!("status_{code}").into(),
            FailureKind::TooLarge { .. } => "too_large".into(),
            FailureKind::RateLimited => "rate_limited".into(),
        }
    }

    /// What the failure says about the engine's health, for the circuit breaker: `false`
    /// counts as a failed call, `true` as a sign of life (the engine answered a 4xx other
    /// than 429: it is up, the request was at fault), `None` says nothing (no request sent).
    pub(crate) fn engine_verdict(&self, attempts: u32) -> Option<bool> {
        match self {
            _ if attempts == 0 => None,
            FailureKind::Status { code } if *code < 500 && *code != 429 => Some(true),
            _ => Some(false),
        }
    }
}

/// A failed call: why, after how many requests, and how long it took.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("engine call failed after {attempts} attempt(s) in {latency:?}: {kind}")]
pub struct CallFailure {
    /// Why.
    #[source]
    pub kind: FailureKind,
    /// Requests sent (0 when the breaker or the limits stopped the call first).
    pub attempts: u32,
    /// From the call's start to its failure.
    pub latency: Duration,
}

/// Why a transport could not be built. Always the operator's to fix.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The configuration is invalid.
    #[error("invalid engine config: {0}")]
    Config(#[from] ConfigError),
    /// `ca_file` could not be read.
    #[error("read engine.ca_file {path}: {source}")]
    ReadCa {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `ca_file` holds no usable PEM certificate.
    #[error("parse engine.ca_file {path}: {reason}")]
    BadCa {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The variable named by `token_env` is unset or unusable.
    #[error("read engine.token_env variable {name}: {reason}")]
    TokenEnv {
        /// The variable's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The HTTP client refused its settings (e.g. the TLS backend rejected the roots).
    #[error("build http client: {0}")]
    Client(#[source] reqwest::Error),
}
