//! The AI Engine over HTTP: the wire contract ([`crate::engine::wire`]) on the resilient
//! transport ([`crate::engine::http`]).
//!
//! An answer counts only when it decodes, is of the endpoint's kind and fits the request (a
//! forecast with one entry per requested horizon, in the requested order); anything else is a
//! failure whose reason goes on the window's audit record while the built-in engine answers.

use crate::engine::fallback::{RemoteEngine, RemoteFailure, RemoteReply};
use crate::engine::http::{BuildError, CallFailure, EngineHttpConfig, HttpTransport};
use crate::engine::wire::{self, Endpoint};
use crate::engine::{EngineAnswer, EngineRequest};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// The remote engine at `engine.url`.
#[derive(Debug, Clone)]
pub struct HttpEngine {
    transport: Arc<HttpTransport>,
    timeouts: [Duration; 5],
}

impl HttpEngine {
    /// Builds the client of `config` (its token, CA and limits).
    pub fn new(config: &EngineHttpConfig) -> Result<HttpEngine, BuildError> {
        let t = &config.timeouts;
        Ok(HttpEngine {
            transport: Arc::new(HttpTransport::new(config)?),
            timeouts: [
                t.performance,
                t.workload,
                t.prediction,
                t.anomaly,
                t.scaling,
            ],
        })
    }

    /// The transport, for its counters and health checks.
    pub fn transport(&self) -> &HttpTransport {
        &self.transport
    }

    fn timeout(&self, endpoint: Endpoint) -> Duration {
        match endpoint {
            Endpoint::Performance => self.timeouts[0],
            Endpoint::Workload => self.timeouts[1],
            Endpoint::Prediction => self.timeouts[2],
            Endpoint::Anomaly => self.timeouts[3],
            Endpoint::Scaling => self.timeouts[4],
        }
    }
}

/// Why an answer that decoded still does not fit its request.
fn mismatch(request: &EngineRequest, answer: &EngineAnswer) -> Option<String> {
    if let (EngineRequest::Prediction(r), EngineAnswer::Prediction(a)) = (request, answer) {
        let asked: Vec<u32> = r.horizons_minutes.clone();
        let got: Vec<u32> = a.horizons.iter().map(|h| h.horizon_minutes).collect();
        if asked != got {
            return Some(format!(
                "answer invalid: `horizons` are {got:?} minutes, the request asked for {asked:?}"
            ));
        }
    }
    None
}

fn failed(call: CallFailure) -> RemoteFailure {
    RemoteFailure {
        label: call.kind.label().into_owned(),
        reason: call.kind.to_string(),
        attempts: call.attempts,
        latency: call.latency,
    }
}

impl RemoteEngine for HttpEngine {
    fn name(&self) -> &'static str {
        "http"
    }

    fn ask(
        &self,
        request: Arc<EngineRequest>,
        body: bytes::Bytes,
    ) -> BoxFuture<'static, Result<RemoteReply, RemoteFailure>> {
        let engine = self.clone();
        Box::pin(async move {
            let endpoint = Endpoint::of(&request);
            let reply = engine
                .transport
                .post(endpoint.path(), engine.timeout(endpoint), body)
                .await
                .map_err(failed)?;
            let invalid = |reason: String| RemoteFailure {
                label: "invalid_answer".to_owned(),
                reason,
                attempts: reply.attempts,
                latency: reply.latency,
            };
            let answer = wire::decode_answer(endpoint, &reply.body)
                .map_err(|error| invalid(error.to_string()))?;
            if let Some(reason) = mismatch(&request, &answer) {
                return Err(invalid(reason));
            }
            Ok(RemoteReply {
                answer,
                attempts: reply.attempts,
                latency: reply.latency,
            })
        })
    }

    fn breaker_state(&self) -> &'static str {
        self.transport.breaker_state().label()
    }

    fn transport_stats(&self) -> Option<crate::engine::http::TransportStats> {
        Some(self.transport.stats())
    }
}
