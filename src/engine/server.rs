//! The reference engine server: the five engine endpoints over HTTP, answered by
//! [`BuiltinEngine`], so the wire contract in [`wire`] has a working counterpart to test
//! clients against and to run beside fabric-ai.
//!
//! Every `POST` goes through the same steps: check the bearer token (when one is configured),
//! read the body within `max_request_bytes`, [`wire::decode_request`], answer,
//! [`wire::encode_answer_with_model`]. Failures answer with a JSON body
//! `{"error": "<code>", "reason": "<text>"}` and status 401 (token missing or wrong), 413
//! (body too large), 400 (body does not decode) or 422 (the engine cannot answer).
//!
//! `GET /health` is open even when a token is configured, so a load balancer or an
//! orchestrator can probe liveness without holding the secret; it reveals nothing but that
//! the server runs.

use crate::config::AnomalyConfig;
use crate::engine::builtin::BuiltinEngine;
use crate::engine::wire::{self, Endpoint, ModelInfo};
use crate::engine::Engine;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// Largest request body accepted unless configured otherwise: 1 MiB.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 1 << 20;

/// How the server runs.
#[derive(Clone)]
pub struct ServerOptions {
    /// Bearer token every `POST` must present; none accepts every request.
    pub token: Option<String>,
    /// Bodies larger than this are refused with 413 before they are read whole.
    pub max_request_bytes: usize,
    /// Detector settings of the built-in anomaly engine.
    pub anomaly: AnomalyConfig,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            token: None,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            anomaly: AnomalyConfig::default(),
        }
    }
}

// Hand-written so the token never reaches a log line.
impl fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerOptions")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("max_request_bytes", &self.max_request_bytes)
            .field("anomaly", &self.anomaly)
            .finish()
    }
}

/// What every handler shares.
struct Shared {
    engine: BuiltinEngine,
    token: Option<String>,
    model: ModelInfo,
}

/// The server's routes, for [`serve`] and for tests that drive it in-process.
pub fn router(options: ServerOptions) -> Router {
    let shared = Arc::new(Shared {
        engine: BuiltinEngine::new(options.anomaly),
        token: options.token,
        model: ModelInfo {
            name: "builtin".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
    });
    let mut api = Router::new();
    for endpoint in Endpoint::ALL {
        api =
            api.route(
                endpoint.path(),
                post(
                    move |State(shared): State<Arc<Shared>>,
                          body: Result<Bytes, BytesRejection>| async move {
                        answer(&shared, endpoint, body)
                    },
                ),
            );
    }
    // The token check is a route layer, so it runs before the body is read: an
    // unauthenticated caller cannot make the server buffer a megabyte.
    api.route_layer(middleware::from_fn_with_state(shared.clone(), authorize))
        .layer(DefaultBodyLimit::max(options.max_request_bytes))
        .route("/health", get(health))
        .with_state(shared)
}

/// Serves the engine on `listener` until `shutdown` resolves, then lets requests in flight
/// finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    if options.token.is_none() {
        tracing::warn!(%addr, "engine server has no token; every request is accepted");
    }
    tracing::info!(
        %addr,
        max_request_bytes = options.max_request_bytes,
        "engine server listening"
    );
    axum::serve(listener, router(options))
        .with_graceful_shutdown(shutdown)
        .await?;
    tracing::info!(%addr, "engine server stopped");
    Ok(())
}

async fn health() -> Response {
    json_response(
        StatusCode::OK,
        serde_json::json!({"status": "ok", "engine": "builtin"}),
    )
}

async fn authorize(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let Some(expected) = &shared.token else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let reason = match presented {
        None => "missing bearer token",
        Some(token) if !same_token(token.as_bytes(), expected.as_bytes()) => "wrong bearer token",
        Some(_) => return next.run(request).await,
    };
    tracing::debug!(path = %request.uri().path(), reason, "engine request refused");
    let mut response = error_response(StatusCode::UNAUTHORIZED, "unauthorized", reason);
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Compares a presented token with the expected one in time that depends only on the
/// expected token's length, not on where the first difference is.
fn same_token(presented: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(presented.len() != expected.len());
    for (i, e) in expected.iter().enumerate() {
        diff |= presented.get(i).copied().unwrap_or(0) ^ e;
    }
    diff == 0
}

fn answer(shared: &Shared, endpoint: Endpoint, body: Result<Bytes, BytesRejection>) -> Response {
    let bytes = match body {
        Ok(bytes) => bytes,
        Err(rejection) => {
            let status = rejection.status();
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "too_large"
            } else {
                "unreadable"
            };
            tracing::debug!(endpoint = endpoint.name(), %status, "engine request body refused");
            return error_response(status, code, &rejection.body_text());
        }
    };
    let request = match wire::decode_request(endpoint, &bytes) {
        Ok(request) => request,
        Err(error) => {
            tracing::debug!(endpoint = endpoint.name(), %error, "engine request invalid");
            return error_response(StatusCode::BAD_REQUEST, "invalid", &error.to_string());
        }
    };
    let answer = match shared.engine.answer(&request) {
        Ok(answer) => answer,
        Err(error) => {
            return error_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unanswerable",
                &error.to_string(),
            )
        }
    };
    match wire::encode_answer_with_model(&answer, Some(&shared.model)) {
        Ok(body) => {
            tracing::trace!(
                endpoint = endpoint.name(),
                bytes = body.len(),
                "engine answered"
            );
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
        Err(error) => {
            tracing::warn!(endpoint = endpoint.name(), %error, "engine answer not encodable");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                &error.to_string(),
            )
        }
    }
}

fn error_response(status: StatusCode, code: &str, reason: &str) -> Response {
    json_response(status, serde_json::json!({"error": code, "reason": reason}))
}

fn json_response(status: StatusCode, value: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(same_token(b"s3cret", b"s3cret"));
        assert!(!same_token(b"s3cres", b"s3cret"));
        assert!(!same_token(b"s3cre", b"s3cret"));
        assert!(!same_token(b"s3cret\0", b"s3cret"));
        assert!(!same_token(b"", b"s3cret"));
    }

    #[test]
    fn debug_output_hides_the_token() {
        let options = ServerOptions {
            token: Some("hunter2".into()),
            ..ServerOptions::default()
        };
        assert!(!format!("{options:?}").contains("hunter2"));
    }
}
