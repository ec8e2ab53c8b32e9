//! Counters of the transport, read as a [`TransportStats`] snapshot for metrics.
//!
//! Updated with relaxed atomics: each counter is exact, but a snapshot taken during calls
//! may see one counter updated and another not yet.

use super::error::FailureKind;
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the transport's counters since it was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransportStats {
    /// Calls started (`post` and `health`), refused ones included.
    pub calls: u64,
    /// Calls that ended with a 2xx answer.
    pub successes: u64,
    /// Requests sent again after a retriable failure.
    pub retries: u64,
    /// Attempts that had to wait for the rate limiter.
    pub rate_limit_waits: u64,
    /// Times the circuit breaker opened.
    pub breaker_trips: u64,
    /// Failed calls by kind.
    pub failures: FailureCounts,
}

/// Failed calls, one counter per [`FailureKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FailureCounts {
    /// `breaker_open`.
    pub breaker_open: u64,
    /// `deadline`.
    pub deadline: u64,
    /// `connect`.
    pub connect: u64,
    /// `status_*`, all codes together.
    pub status: u64,
    /// `too_large`.
    pub too_large: u64,
    /// `rate_limited`.
    pub rate_limited: u64,
}

/// The live counters behind [`TransportStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) calls: AtomicU64,
    pub(crate) successes: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) rate_limit_waits: AtomicU64,
    breaker_open: AtomicU64,
    deadline: AtomicU64,
    connect: AtomicU64,
    status: AtomicU64,
    too_large: AtomicU64,
    rate_limited: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    /// Counts a failed call.
    pub(crate) fn failed(&self, kind: &FailureKind) {
        bump(match kind {
            FailureKind::BreakerOpen { .. } => &self.breaker_open,
            FailureKind::Deadline { .. } => &self.deadline,
            FailureKind::Connect { .. } => &self.connect,
            FailureKind::Status { .. } => &self.status,
            FailureKind::TooLarge { .. } => &self.too_large,
            FailureKind::RateLimited => &self.rate_limited,
        });
    }

    /// The counters now, with the breaker's trip count.
    pub(crate) fn snapshot(&self, breaker_trips: u64) -> TransportStats {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        TransportStats {
            calls: read(&self.calls),
            successes: read(&self.successes),
            retries: read(&self.retries),
            rate_limit_waits: read(&self.rate_limit_waits),
            breaker_trips,
            failures: FailureCounts {
                breaker_open: read(&self.breaker_open),
                deadline: read(&self.deadline),
                connect: read(&self.connect),
                status: read(&self.status),
                too_large: read(&self.too_large),
                rate_limited: read(&self.rate_limited),
            },
        }
    }
}
