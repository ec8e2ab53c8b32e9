//! The HTTP transport to the AI Engine: bytes in, bytes out, with the resilience the old
//! control plane had and some it lacked.
//!
//! [`HttpTransport::post`] sends a JSON body to one endpoint and returns the answer's bytes
//! (the JSON shapes live elsewhere). Per call:
//!
//! - **One deadline** (the endpoint's timeout) covers everything: waiting for the rate
//!   limiter and an in-flight slot, every attempt, every backoff and the body read.
//! - **Circuit breaker** ([`breaker`]), shared by all endpoints and asked once per call:
//!   `breaker_failures` failed calls in a row open it for `breaker_open_for`; then one probe
//!   call decides. While open, calls fail at once with `breaker_open`, sending nothing.
//! - **Rate limit** (`governor`, `rate_limit_per_second` with `rate_limit_burst`), awaited
//!   before every attempt, retries included.
//! - **In-flight bound** (`max_in_flight` requests awaiting an answer); a slot is held per
//!   attempt, not across backoff waits.
//! - **Retries** ([`backoff`]): connection failures and 429, 502, 503, 504 are retried up to
//!   `max_attempts` requests, after a jittered exponential backoff or at least the
//!   `Retry-After` of a 429 or 503. A wait that would end past the deadline is not started:
//!   the call fails with `deadline` at once. A 500 and all other statuses are final.
//! - **Answer size**: a `Content-Length` over `max_answer_bytes` fails at once; a body
//!   without one is read as a stream and the read stops at the limit.
//!
//! Failures carry a stable [`FailureKind::label`] and the transport keeps counters
//! ([`TransportStats`]) for metrics.
//!
//! Known limits:
//! - A call that fails with a 4xx other than 429 counts as a sign of life for the breaker
//!   (the engine answered), so a client-side bug does not open it; nor does a call stopped
//!   by the local limits before any request was sent.
//! - The rate limiter runs on the monotonic wall clock, not on tokio's: paused-time tests
//!   do not advance it.
//! - A cancelled call (its future dropped) hands a half-open probe back unused, so the
//!   next call probes instead; it records no outcome.
//! - Proxy environment variables are ignored, and redirects are not followed.

pub mod backoff;
pub mod breaker;
pub mod client;
pub mod config;
pub mod error;
pub mod secret;
pub mod stats;

pub use breaker::{Breaker, BreakerState};
pub use client::{HttpTransport, Reply};
pub use config::{EndpointTimeouts, EngineHttpConfig};
pub use error::{BuildError, CallFailure, FailureKind, Phase};
pub use secret::Secret;
pub use stats::{FailureCounts, TransportStats};
