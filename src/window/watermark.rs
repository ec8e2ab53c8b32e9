//! Watermarks: how far event time has progressed, per partition and for the processor.
//!
//! A partition's watermark is the largest event time seen on it minus the allowed
//! out-of-orderness. The processor's watermark is the minimum over its assigned partitions that
//! are not idle; an assigned partition that has not delivered anything yet keeps the watermark
//! from advancing (a partition delivering older data meanwhile still moves it back), so a
//! partition read later than the others does not find its windows closed;
//! a partition that has been silent (wall clock) for the idle timeout stops holding it back.
//! When every partition is idle, the largest partition watermark wins, so windows still close
//! when the whole input pauses. The watermark moves back when a partition with older data is
//! assigned; the window stores judge lateness per key, so that is safe.

use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// A consumed partition: index of the topic among the consumed topics, and partition number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionId {
    /// Index of the topic in the processor's input list.
    pub topic: u16,
    /// Partition number.
    pub partition: i32,
}

#[derive(Debug, Clone, Copy)]
struct PartitionClock {
    max_event_ms: Option<i64>,
    last_data: Instant,
}

/// Per-partition event-time clocks and the processor watermark derived from them.
#[derive(Debug)]
pub struct Watermarks {
    out_of_orderness_ms: i64,
    idle_timeout: Duration,
    partitions: HashMap<PartitionId, PartitionClock>,
    current: Option<i64>,
    /// When input was paused, if it is: silence while paused is not idleness.
    paused_at: Option<Instant>,
}

impl Watermarks {
    /// Clocks with the given out-of-orderness and idle timeout.
    pub fn new(out_of_orderness: Duration, idle_timeout: Duration) -> Watermarks {
        Watermarks {
            out_of_orderness_ms: out_of_orderness.as_millis() as i64,
            idle_timeout,
            partitions: HashMap::new(),
            current: None,
            paused_at: None,
        }
    }

    /// Stops the idle clocks at `now`: the pipeline paused its input (backpressure), so no
    /// partition delivers, and none must turn idle for it. Without this, a pause longer than
    /// the idle timeout would leave every partition idle, and the first to deliver after the
    /// resume would close windows the others still have data for.
    pub fn pause(&mut self, now: Instant) {
        self.paused_at.get_or_insert(now);
    }

    /// Whether the idle clocks are stopped (input paused).
    pub fn is_paused(&self) -> bool {
        self.paused_at.is_some()
    }

    /// Restarts the idle clocks at `now`, excusing the time spent paused.
    pub fn resume(&mut self, now: Instant) {
        if let Some(at) = self.paused_at.take() {
            let paused = now.saturating_duration_since(at);
            for clock in self.partitions.values_mut() {
                clock.last_data += paused;
            }
        }
    }

    /// Notes that `partition` was assigned at wall-clock `now`: until it delivers data or
    /// turns idle, it holds the watermark back.
    pub fn assign(&mut self, partition: PartitionId, now: Instant) {
        self.partitions.entry(partition).or_insert(PartitionClock {
            max_event_ms: None,
            last_data: now,
        });
    }

    /// Notes an event on `partition` at `event_ms`, seen at wall-clock `now`.
    pub fn observe(&mut self, partition: PartitionId, event_ms: i64, now: Instant) {
        let clock = self.partitions.entry(partition).or_insert(PartitionClock {
            max_event_ms: Some(event_ms),
            last_data: now,
        });
        clock.max_event_ms = Some(clock.max_event_ms.map_or(event_ms, |m| m.max(event_ms)));
        clock.last_data = now;
    }

    /// Forgets a partition (revoked in a rebalance).
    pub fn remove(&mut self, partition: PartitionId) {
        self.partitions.remove(&partition);
    }

    /// Recomputes and returns the processor watermark at wall-clock `now`; `None` until any
    /// partition has data.
    pub fn advance(&mut self, now: Instant) -> Option<i64> {
        let now = self.paused_at.map_or(now, |at| at.min(now));
        let mut waiting = false;
        let mut slowest: Option<i64> = None;
        for clock in self.partitions.values() {
            if now.saturating_duration_since(clock.last_data) >= self.idle_timeout {
                continue;
            }
            match clock.max_event_ms {
                Some(m) => slowest = Some(slowest.map_or(m, |s| s.min(m))),
                None => waiting = true,
            }
        }
        let any_active = waiting || slowest.is_some();
        let candidate = if any_active {
            slowest.map(|ms| ms - self.out_of_orderness_ms)
        } else {
            self.partitions
                .values()
                .filter_map(|c| c.max_event_ms)
                .max()
                .map(|ms| ms - self.out_of_orderness_ms)
        };
        self.current = match (waiting, candidate, self.current) {
            // A partition that has not delivered yet keeps the watermark from advancing, but
            // one that delivered older data still moves it back.
            (true, Some(c), Some(current)) => Some(c.min(current)),
            (true, _, current) => current,
            (false, candidate, current) => candidate.or(current),
        };
        self.current
    }

    /// The last computed watermark.
    pub fn current(&self) -> Option<i64> {
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P0: PartitionId = PartitionId {
        topic: 0,
        partition: 0,
    };
    const P1: PartitionId = PartitionId {
        topic: 0,
        partition: 1,
    };

    fn marks() -> Watermarks {
        Watermarks::new(Duration::from_secs(30), Duration::from_secs(60))
    }

    #[tokio::test(start_paused = true)]
    async fn watermark_is_the_slowest_active_partition_minus_disorder() {
        let mut w = marks();
        let now = Instant::now();
        w.observe(P0, 100_000, now);
        w.observe(P1, 50_000, now);
        assert_eq!(w.advance(now), Some(20_000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_of_the_input_turns_no_partition_idle() {
        let mut w = Watermarks::new(Duration::ZERO, Duration::from_secs(10));
        let (a, b) = (P0, P1);
        let t0 = Instant::now();
        w.observe(a, 1_000, t0);
        w.observe(b, 5_000, t0);
        assert_eq!(w.advance(t0), Some(1_000));
        w.pause(t0 + Duration::from_secs(1));
        assert_eq!(
            w.advance(t0 + Duration::from_secs(60)),
            Some(1_000),
            "a minute paused is not silence"
        );
        w.resume(t0 + Duration::from_secs(61));
        w.observe(b, 9_000, t0 + Duration::from_secs(62));
        assert_eq!(
            w.advance(t0 + Duration::from_secs(62)),
            Some(1_000),
            "a is not idle yet"
        );
        assert_eq!(
            w.advance(t0 + Duration::from_secs(71)),
            Some(9_000),
            "ten seconds of silence after the resume are"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn idle_partition_stops_holding_the_watermark_back() {
        let mut w = marks();
        w.observe(P1, 50_000, Instant::now());
        tokio::time::advance(Duration::from_secs(61)).await;
        w.observe(P0, 200_000, Instant::now());
        assert_eq!(w.advance(Instant::now()), Some(170_000));
    }

    #[tokio::test(start_paused = true)]
    async fn all_idle_uses_the_most_advanced_partition() {
        let mut w = marks();
        w.observe(P0, 100_000, Instant::now());
        w.observe(P1, 50_000, Instant::now());
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(w.advance(Instant::now()), Some(70_000));
    }

    #[tokio::test(start_paused = true)]
    async fn an_assigned_partition_without_data_holds_the_watermark_until_idle() {
        let mut w = marks();
        w.assign(P1, Instant::now());
        w.observe(P0, 100_000, Instant::now());
        assert_eq!(w.advance(Instant::now()), None);
        tokio::time::advance(Duration::from_secs(30)).await;
        w.observe(P0, 130_000, Instant::now());
        assert_eq!(w.advance(Instant::now()), None);
        tokio::time::advance(Duration::from_secs(31)).await;
        w.observe(P0, 160_000, Instant::now());
        assert_eq!(w.advance(Instant::now()), Some(130_000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_partition_with_older_data_moves_the_watermark_back() {
        let mut w = marks();
        w.observe(P0, 100_000, Instant::now());
        assert_eq!(w.advance(Instant::now()), Some(70_000));
        w.assign(P1, Instant::now());
        assert_eq!(
            w.advance(Instant::now()),
            Some(70_000),
            "held until P1 delivers"
        );
        w.observe(P1, 10_000, Instant::now());
        assert_eq!(w.advance(Instant::now()), Some(-20_000));
    }

    #[tokio::test(start_paused = true)]
    async fn older_data_moves_the_watermark_back_while_another_partition_is_still_waiting() {
        // A rebalance hands over a telemetry and a job partition together; the telemetry one
        // re-reads old data before the job one delivers anything.
        let mut w = marks();
        w.observe(P0, 1_000_000, Instant::now());
        assert_eq!(w.advance(Instant::now()), Some(970_000));
        let p2 = PartitionId {
            topic: 1,
            partition: 0,
        };
        w.assign(P1, Instant::now());
        w.assign(p2, Instant::now());
        w.observe(P1, 100_000, Instant::now());
        assert_eq!(w.advance(Instant::now()), Some(70_000));
        // Still waiting for p2: newer data on P1 does not move it on.
        w.observe(P1, 900_000, Instant::now());
        assert_eq!(w.advance(Instant::now()), Some(70_000));
        w.observe(p2, 950_000, Instant::now());
        assert_eq!(w.advance(Instant::now()), Some(870_000));
    }
}
