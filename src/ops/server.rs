//! The operations endpoints: `/metrics` (OpenMetrics text), `/healthz` (alive) and `/readyz`
//! (ready, or 503 with the reason), served by axum on `ops.listen`.

use crate::ops::metrics;
use crate::stats::Stats;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
struct Shared {
    stats: Arc<Stats>,
    registry: Arc<prometheus_client::registry::Registry>,
    stall_after: Duration,
}

/// The router of the operations endpoints for `stats`.
pub fn router(stats: Arc<Stats>, stall_after: Duration) -> Router {
    let registry = Arc::new(metrics::registry(&stats));
    Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(Shared {
            stats,
            registry,
            stall_after,
        })
}

async fn metrics_text(State(shared): State<Shared>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics::render(&shared.registry),
    )
}

async fn ready(State(shared): State<Shared>) -> impl IntoResponse {
    match shared.stats.health.ready(shared.stall_after) {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        ),
    }
}

/// Serves the endpoints on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, stats: Arc<Stats>, stall_after: Duration) {
    let address = listener.local_addr().ok();
    tracing::info!(address = ?address, "operations endpoints up");
    if let Err(error) = axum::serve(listener, router(stats, stall_after)).await {
        tracing::error!(%error, "operations endpoints stopped");
    }
}
