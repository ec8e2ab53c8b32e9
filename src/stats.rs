//! Counters of what a running pipeline has done, shared with whoever watches it (the demo's
//! view, tests, and later the metrics endpoint).

use std::sync::atomic::{AtomicU64, Ordering};

/// Monotonic counters; read with [`Stats::snapshot`].
#[derive(Debug, Default)]
pub struct Stats {
    /// Input messages decoded and accepted.
    pub events_ok: AtomicU64,
    /// Input messages sent to the dead-letter topic.
    pub dead_letters: AtomicU64,
    /// Events whose windows had already closed.
    pub late_events: AtomicU64,
    /// Events refused because the open-key limit was reached.
    pub refused_keys: AtomicU64,
    /// Events that revised an already emitted window (within the allowed lateness).
    pub revisions: AtomicU64,
    /// Windows closed.
    pub windows_closed: AtomicU64,
    /// Windows re-read after a restart whose decisions an earlier transaction published.
    pub replayed_windows: AtomicU64,
    /// Decisions handed to the producer.
    pub decisions_out: AtomicU64,
    /// Decisions held back by confidence gating (audited only).
    pub decisions_rejected: AtomicU64,
    /// Windows the built-in engine answered because the remote engine could not.
    pub fallbacks: AtomicU64,
    /// Decisions published and acknowledged.
    pub decisions_acked: AtomicU64,
    /// Offset commits issued.
    pub commits: AtomicU64,
    /// Highest number of open keys any one processor has held at once (a high-water mark,
    /// not a counter): stays at or below `processing.max_open_keys`.
    pub peak_open_keys: AtomicU64,
    /// Times the input partitions were paused because outputs and engine requests in flight
    /// reached `processing.max_in_flight`.
    pub pauses: AtomicU64,
    /// Highest number of outputs and engine requests in flight at once (a high-water mark):
    /// stays at or below `processing.max_in_flight` plus one input's outputs.
    pub peak_in_flight: AtomicU64,
    /// From the moment the watermark passes a window's end to the broker's acknowledgement of
    /// the last output made from it (decisions and audit records), one sample per window
    /// (see `pipeline::close_clock`).
    pub close_to_ack: crate::ops::quantiles::Quantiles,
    /// The labelled metrics (see `ops::metrics`).
    pub families: crate::ops::metrics::Families,
    /// What readiness is judged from (see `ops::health`).
    pub health: crate::ops::health::Health,
}

/// A point-in-time copy of [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    /// See [`Stats::events_ok`].
    pub events_ok: u64,
    /// See [`Stats::dead_letters`].
    pub dead_letters: u64,
    /// See [`Stats::late_events`].
    pub late_events: u64,
    /// See [`Stats::refused_keys`].
    pub refused_keys: u64,
    /// See [`Stats::revisions`].
    pub revisions: u64,
    /// See [`Stats::windows_closed`].
    pub windows_closed: u64,
    /// See [`Stats::replayed_windows`].
    pub replayed_windows: u64,
    /// See [`Stats::decisions_out`].
    pub decisions_out: u64,
    /// See [`Stats::decisions_rejected`].
    pub decisions_rejected: u64,
    /// See [`Stats::fallbacks`].
    pub fallbacks: u64,
    /// See [`Stats::decisions_acked`].
    pub decisions_acked: u64,
    /// See [`Stats::commits`].
    pub commits: u64,
    /// See [`Stats::peak_open_keys`].
    pub peak_open_keys: u64,
    /// See [`Stats::pauses`].
    pub pauses: u64,
    /// See [`Stats::peak_in_flight`].
    pub peak_in_flight: u64,
    /// Windows timed by [`Stats::close_to_ack`].
    pub windows_acked: u64,
    /// Median of [`Stats::close_to_ack`], microseconds (0 before the first sample).
    pub close_to_ack_p50_us: u64,
    /// 99th percentile of [`Stats::close_to_ack`], microseconds.
    pub close_to_ack_p99_us: u64,
}

impl Stats {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Raises a high-water mark to `value` if it is higher.
    pub fn raise(mark: &AtomicU64, value: u64) {
        mark.fetch_max(value, Ordering::Relaxed);
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            events_ok: get(&self.events_ok),
            dead_letters: get(&self.dead_letters),
            late_events: get(&self.late_events),
            refused_keys: get(&self.refused_keys),
            revisions: get(&self.revisions),
            windows_closed: get(&self.windows_closed),
            replayed_windows: get(&self.replayed_windows),
            decisions_out: get(&self.decisions_out),
            decisions_rejected: get(&self.decisions_rejected),
            fallbacks: get(&self.fallbacks),
            decisions_acked: get(&self.decisions_acked),
            commits: get(&self.commits),
            peak_open_keys: get(&self.peak_open_keys),
            pauses: get(&self.pauses),
            peak_in_flight: get(&self.peak_in_flight),
            windows_acked: self.close_to_ack.count(),
            close_to_ack_p50_us: self.close_to_ack.quantile_us(0.5),
            close_to_ack_p99_us: self.close_to_ack.quantile_us(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_high_water_mark_keeps_the_highest_value_raised() {
        let stats = Stats::default();
        Stats::raise(&stats.peak_open_keys, 7);
        Stats::raise(&stats.peak_open_keys, 3);
        assert_eq!(stats.snapshot().peak_open_keys, 7);
        Stats::raise(&stats.peak_open_keys, 9);
        assert_eq!(stats.snapshot().peak_open_keys, 9);
    }
}
