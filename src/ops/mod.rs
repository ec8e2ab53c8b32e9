//! Running fabric-ai in production: the Prometheus metrics and the health endpoints.

pub mod health;
pub mod loop_metrics;
pub mod metrics;
pub mod quantiles;
pub mod server;
