//! Who answers a window: the remote AI Engine when it is enabled and able, fabric-ai's
//! built-in engine otherwise.
//!
//! Every window gets an answer. When the remote engine is disabled, its circuit breaker is
//! open, it cannot be reached, its deadline passes or its answer is invalid, the built-in
//! engine answers instead and the [`Provenance`] says why, so the decision carries
//! `source = builtin` and its audit record the reason.

use crate::engine::builtin::BuiltinEngine;
use crate::engine::recorded::RecordedAnswers;
use crate::engine::wire::Endpoint;
use crate::engine::{Engine, EngineAnswer, EngineError, EngineRequest};
use crate::event::Source;
use futures::future::BoxFuture;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A remote engine's answer, with what it cost.
#[derive(Debug, Clone)]
pub struct RemoteReply {
    /// The answer, already checked against the request's kind.
    pub answer: EngineAnswer,
    /// HTTP attempts made.
    pub attempts: u32,
    /// From the call to the decoded answer.
    pub latency: Duration,
}

/// Why a remote engine gave no usable answer.
#[derive(Debug, Clone)]
pub struct RemoteFailure {
    /// Low-cardinality class (`breaker_open`, `deadline`, `connect`, `status_500`,
    /// `too_large`, `invalid_answer`, ...), for metrics.
    pub label: String,
    /// The class with its detail, for the audit record.
    pub reason: String,
    /// HTTP attempts made (0 when none was sent).
    pub attempts: u32,
    /// Time spent before giving up.
    pub latency: Duration,
}

/// An engine reached over the network: answers asynchronously and may fail.
pub trait RemoteEngine: Send + Sync + 'static {
    /// Short name, recorded on audit records (`http`).
    fn name(&self) -> &'static str;

    /// Asks about one window; `body` is the request's wire encoding.
    fn ask(
        &self,
        request: Arc<EngineRequest>,
        body: bytes::Bytes,
    ) -> BoxFuture<'static, Result<RemoteReply, RemoteFailure>>;

    /// The circuit breaker's state now (`closed`, `open`, `half_open`).
    fn breaker_state(&self) -> &'static str;

    /// The transport's counters (calls, retries, rate-limit waits, breaker trips), when it
    /// keeps them.
    fn transport_stats(&self) -> Option<crate::engine::http::TransportStats> {
        None
    }
}

/// How a window's answer came about, for its audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    /// The engine that answered (`builtin`, or the remote engine's name).
    pub engine: &'static str,
    /// First 128 bits of SHA-256 over the request's wire encoding, in hex.
    pub request_digest: String,
    /// Time to the answer, fallback included.
    pub latency: Duration,
    /// HTTP attempts made (0 for the built-in engine alone).
    pub attempts: u32,
    /// The remote engine's breaker state after the call; `none` without a remote engine.
    pub breaker: &'static str,
    /// Why the built-in engine answered although a remote engine is configured.
    pub fallback: Option<String>,
    /// Low-cardinality class of `fallback`.
    pub fallback_label: Option<String>,
}

/// One window's answer, its source, and how it came about.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The answer; an error only when the built-in engine cannot answer either.
    pub answer: Result<EngineAnswer, EngineError>,
    /// Engine or built-in.
    pub source: Source,
    /// For the audit record.
    pub provenance: Provenance,
}

/// The built-in engine, and the remote one when enabled.
#[derive(Clone)]
pub struct Answerer {
    builtin: Arc<BuiltinEngine>,
    remote: Option<Arc<dyn RemoteEngine>>,
    /// Whether built-in answers record their latency (off in replays, whose output must not
    /// depend on the machine's speed).
    timed: bool,
    /// Answers of an earlier run, consulted before the built-in engine (replays).
    recorded: Option<Arc<RecordedAnswers>>,
}

impl std::fmt::Debug for Answerer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answerer")
            .field("remote", &self.remote.as_ref().map(|r| r.name()))
            .finish()
    }
}

impl Answerer {
    /// Answers with `builtin` alone, or asks `remote` first.
    pub fn new(builtin: BuiltinEngine, remote: Option<Arc<dyn RemoteEngine>>) -> Answerer {
        Answerer {
            builtin: Arc::new(builtin),
            remote,
            timed: true,
            recorded: None,
        }
    }

    /// The same, with built-in answers recording a latency of zero.
    pub fn untimed(mut self) -> Answerer {
        self.timed = false;
        self
    }

    /// Answers every window from `recorded` (a replay of an earlier run), the built-in
    /// engine standing in, with the reason `not_recorded`, for a request not found there.
    pub fn with_recorded(mut self, recorded: Arc<RecordedAnswers>) -> Answerer {
        self.recorded = Some(recorded);
        self
    }

    fn answer_recorded(
        &self,
        recorded: &RecordedAnswers,
        request: &EngineRequest,
        request_digest: String,
    ) -> Answered {
        let found = recorded.get(Endpoint::of(request), &request_digest);
        let provenance = |fallback: Option<String>, fallback_label: Option<String>| Provenance {
            engine: "recorded",
            request_digest: request_digest.clone(),
            latency: Duration::ZERO,
            attempts: 0,
            breaker: "none",
            fallback,
            fallback_label,
        };
        match found {
            Some(r) => Answered {
                answer: Ok(r.answer.clone()),
                source: r.source,
                provenance: provenance(r.fallback.clone(), r.fallback_label.clone()),
            },
            None => Answered {
                answer: self.builtin.answer(request),
                source: Source::Builtin,
                provenance: provenance(
                    Some("no answer recorded for this request".to_owned()),
                    Some("not_recorded".to_owned()),
                ),
            },
        }
    }

    /// The remote engine's transport counters, when there is one.
    pub fn transport_stats(&self) -> Option<crate::engine::http::TransportStats> {
        self.remote.as_ref().and_then(|r| r.transport_stats())
    }

    /// Whether answers come over the network (and so asynchronously).
    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// The built-in engine's answer, computed now.
    pub fn answer_builtin(&self, request: &EngineRequest) -> Answered {
        let started = Instant::now();
        let digest = digest(&wire_body(request).unwrap_or_default());
        if let Some(recorded) = &self.recorded {
            return self.answer_recorded(recorded, request, digest);
        }
        let answer = self.builtin.answer(request);
        Answered {
            answer,
            source: Source::Builtin,
            provenance: Provenance {
                engine: self.builtin.name(),
                request_digest: digest,
                latency: if self.timed {
                    started.elapsed()
                } else {
                    Duration::ZERO
                },
                attempts: 0,
                breaker: "none",
                fallback: None,
                fallback_label: None,
            },
        }
    }

    /// Asks the remote engine, falling back to the built-in one; without a remote engine the
    /// future is ready at once.
    pub fn ask(&self, request: Arc<EngineRequest>) -> BoxFuture<'static, Answered> {
        let Some(remote) = self.remote.clone() else {
            let answered = self.answer_builtin(&request);
            return Box::pin(std::future::ready(answered));
        };
        let builtin = self.builtin.clone();
        Box::pin(async move {
            let started = Instant::now();
            let (result, request_digest) = match wire_body(&request) {
                Ok(body) => {
                    let request_digest = digest(&body);
                    let body = bytes::Bytes::from(body);
                    (remote.ask(request.clone(), body).await, request_digest)
                }
                Err(error) => {
                    let failure = RemoteFailure {
                        label: "unencodable_request".to_owned(),
                        reason: error.to_string(),
                        attempts: 0,
                        latency: Duration::ZERO,
                    };
                    (Err(failure), String::new())
                }
            };
            let breaker = remote.breaker_state();
            match result {
                Ok(reply) => Answered {
                    answer: Ok(reply.answer),
                    source: Source::Engine,
                    provenance: Provenance {
                        engine: remote.name(),
                        request_digest,
                        latency: reply.latency,
                        attempts: reply.attempts,
                        breaker,
                        fallback: None,
                        fallback_label: None,
                    },
                },
                Err(failure) => {
                    tracing::debug!(
                        reason = %failure.reason,
                        attempts = failure.attempts,
                        "engine failed; the built-in engine answers"
                    );
                    Answered {
                        answer: builtin.answer(&request),
                        source: Source::Builtin,
                        provenance: Provenance {
                            engine: builtin.name(),
                            request_digest,
                            latency: started.elapsed(),
                            attempts: failure.attempts,
                            breaker,
                            fallback: Some(failure.reason),
                            fallback_label: Some(failure.label),
                        },
                    }
                }
            }
        })
    }
}

/// The request as sent to a remote engine.
fn wire_body(request: &EngineRequest) -> Result<Vec<u8>, crate::engine::wire::WireError> {
    crate::engine::wire::encode_request(request)
}

/// First 128 bits of SHA-256 over `bytes`, in hex.
fn digest(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..16])
}
