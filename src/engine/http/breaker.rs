//! A circuit breaker: after a run of failed calls the engine is left alone for a while, then
//! one probe call decides whether it is back.
//!
//! Pure and synchronous: every method takes the current time as an argument, so the
//! transitions can be tested without a clock, and the transport keeps one breaker behind a
//! mutex for all endpoints. Times are [`tokio::time::Instant`]s, so tests with paused time
//! drive it too.
//!
//! ```text
//! Closed --(failures in a row)--> Open --(open_for elapsed)--> HalfOpen (one probe)
//!   ^                              ^                              |
//!   |                              +-------(probe fails)----------+
//!   +-----------------------------------(probe succeeds)---------+
//! ```

use std::time::Duration;
use tokio::time::Instant;

/// Where a breaker is, as seen by metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; failures in a row are counted.
    Closed,
    /// Calls are refused without being sent.
    Open,
    /// One probe call may go through (or is out); all others are refused.
    HalfOpen,
}

impl BreakerState {
    /// A short stable name for metrics (`closed`, `open`, `half_open`).
    pub fn label(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// Leave to make one call. Handed back with its outcome to [`Breaker::record`], or to
/// [`Breaker::abandon`] when the call ended without telling anything about the engine.
#[derive(Debug)]
#[must_use = "a permit must be handed back to record or abandon"]
pub struct Permit {
    probe: bool,
}

impl Permit {
    /// Whether this call is the half-open probe whose outcome decides the breaker's state.
    pub fn is_probe(&self) -> bool {
        self.probe
    }
}

/// Why a call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Until the breaker lets a probe through; zero while a probe is already out.
    pub retry_in: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inner {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probe_out: bool },
}

/// The breaker. See the module doc for the transitions.
#[derive(Debug, Clone)]
pub struct Breaker {
    failures_to_open: u32,
    open_for: Duration,
    inner: Inner,
    trips: u64,
}

impl Breaker {
    /// A closed breaker that opens after `failures_to_open` failures in a row (at least 1)
    /// and stays open for `open_for`.
    pub fn new(failures_to_open: u32, open_for: Duration) -> Breaker {
        Breaker {
            failures_to_open: failures_to_open.max(1),
            open_for,
            inner: Inner::Closed { failures: 0 },
            trips: 0,
        }
    }

    /// The state as of the last transition. An open breaker whose open period has passed
    /// still reads `Open` here until the next [`Breaker::allow`]; use
    /// [`Breaker::state_at`] for the state a call made now would find.
    pub fn state(&self) -> BreakerState {
        match self.inner {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { .. } => BreakerState::Open,
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// The state a call made at `now` would find.
    pub fn state_at(&self, now: Instant) -> BreakerState {
        match self.inner {
            Inner::Open { until } if now >= until => BreakerState::HalfOpen,
            _ => self.state(),
        }
    }

    /// How many times the breaker has opened, re-openings after a failed probe included.
    pub fn trips(&self) -> u64 {
        self.trips
    }

    /// Asks to make a call at `now`.
    pub fn allow(&mut self, now: Instant) -> Result<Permit, Refused> {
        match self.inner {
            Inner::Closed { .. } => Ok(Permit { probe: false }),
            Inner::Open { until } if now < until => Err(Refused {
                retry_in: until - now,
            }),
            // The open period is over and no probe is out: this call is the probe.
            Inner::Open { .. } | Inner::HalfOpen { probe_out: false } => {
                self.inner = Inner::HalfOpen { probe_out: true };
                Ok(Permit { probe: true })
            }
            Inner::HalfOpen { probe_out: true } => Err(Refused {
                retry_in: Duration::ZERO,
            }),
        }
    }

    /// Records the outcome of the call made with `permit`, ended at `now`.
    ///
    /// While half-open only the probe's outcome counts; a call let through while the
    /// breaker was still closed and ending after it opened changes nothing.
    pub fn record(&mut self, permit: Permit, success: bool, now: Instant) {
        match (&mut self.inner, permit.probe) {
            (Inner::Closed { failures }, false) => {
                if success {
                    *failures = 0;
                } else {
                    *failures += 1;
                    if *failures >= self.failures_to_open {
                        self.open(now);
                    }
                }
            }
            (Inner::HalfOpen { .. }, true) => {
                if success {
                    self.inner = Inner::Closed { failures: 0 };
                } else {
                    self.open(now);
                }
            }
            // A late answer to a call let through in an earlier state.
            _ => {}
        }
    }

    /// Hands back a permit whose call ended without an outcome that says anything about the
    /// engine (cancelled, or stopped before a request went out). A probe's slot is freed so
    /// the next call can probe instead.
    pub fn abandon(&mut self, permit: Permit) {
        if let (Inner::HalfOpen { probe_out }, true) = (&mut self.inner, permit.probe) {
            *probe_out = false;
        }
    }

    fn open(&mut self, now: Instant) {
        self.inner = Inner::Open {
            until: later(now, self.open_for),
        };
        self.trips += 1;
    }
}

/// `now + by`, or about thirty years from now when that does not fit in an instant (an
/// absurdly long configured duration means "practically never").
pub(crate) fn later(now: Instant, by: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(30 * 365 * 24 * 3600);
    now.checked_add(by.min(FAR))
        .or_else(|| now.checked_add(Duration::from_secs(24 * 3600)))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN_FOR: Duration = Duration::from_secs(60);

    fn tripped(now: Instant) -> Breaker {
        let mut breaker = Breaker::new(2, OPEN_FOR);
        for _ in 0..2 {
            let permit = breaker.allow(now).unwrap();
            breaker.record(permit, false, now);
        }
        assert_eq!(breaker.state(), BreakerState::Open);
        breaker
    }

    #[test]
    fn a_new_breaker_is_closed_and_lets_calls_through() {
        let now = Instant::now();
        let mut breaker = Breaker::new(3, OPEN_FOR);
        assert_eq!(breaker.state(), BreakerState::Closed);
        let permit = breaker.allow(now).unwrap();
        assert!(!permit.is_probe());
        breaker.record(permit, true, now);
        assert_eq!(breaker.trips(), 0);
    }

    #[test]
    fn failures_in_a_row_open_it_and_count_a_trip() {
        let now = Instant::now();
        let mut breaker = Breaker::new(3, OPEN_FOR);
        for _ in 0..2 {
            let permit = breaker.allow(now).unwrap();
            breaker.record(permit, false, now);
            assert_eq!(breaker.state(), BreakerState::Closed);
        }
        let permit = breaker.allow(now).unwrap();
        breaker.record(permit, false, now);
        assert_eq!(breaker.state(), BreakerState::Open);
        assert_eq!(breaker.trips(), 1);
    }

    #[test]
    fn a_success_resets_the_run_of_failures() {
        let now = Instant::now();
        let mut breaker = Breaker::new(2, OPEN_FOR);
        for success in [false, true, false, true, false] {
            let permit = breaker.allow(now).unwrap();
            breaker.record(permit, success, now);
        }
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[test]
    fn an_open_breaker_refuses_until_the_open_period_has_passed() {
        let now = Instant::now();
        let mut breaker = tripped(now);
        let refused = breaker.allow(now + Duration::from_secs(10)).unwrap_err();
        assert_eq!(refused.retry_in, Duration::from_secs(50));
        assert_eq!(breaker.state_at(now + OPEN_FOR), BreakerState::HalfOpen);
        let probe = breaker.allow(now + OPEN_FOR).unwrap();
        assert!(probe.is_probe());
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        breaker.abandon(probe);
    }

    #[test]
    fn half_open_lets_exactly_one_probe_through() {
        let now = Instant::now();
        let mut breaker = tripped(now);
        let later = now + OPEN_FOR;
        let probe = breaker.allow(later).unwrap();
        for _ in 0..3 {
            assert_eq!(breaker.allow(later).unwrap_err().retry_in, Duration::ZERO);
        }
        breaker.record(probe, true, later);
    }

    #[test]
    fn a_successful_probe_closes_it() {
        let now = Instant::now();
        let mut breaker = tripped(now);
        let later = now + OPEN_FOR;
        let probe = breaker.allow(later).unwrap();
        breaker.record(probe, true, later);
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(!breaker.allow(later).unwrap().is_probe());
        assert_eq!(breaker.trips(), 1);
    }

    #[test]
    fn a_failed_probe_reopens_it_for_a_fresh_open_period() {
        let now = Instant::now();
        let mut breaker = tripped(now);
        let later = now + OPEN_FOR + Duration::from_secs(5);
        let probe = breaker.allow(later).unwrap();
        breaker.record(probe, false, later);
        assert_eq!(breaker.state(), BreakerState::Open);
        assert_eq!(breaker.trips(), 2);
        let refused = breaker.allow(later + Duration::from_secs(1)).unwrap_err();
        assert_eq!(refused.retry_in, OPEN_FOR - Duration::from_secs(1));
        assert!(breaker.allow(later + OPEN_FOR).unwrap().is_probe());
    }

    #[test]
    fn an_abandoned_probe_lets_the_next_call_probe() {
        let now = Instant::now();
        let mut breaker = tripped(now);
        let later = now + OPEN_FOR;
        let probe = breaker.allow(later).unwrap();
        breaker.abandon(probe);
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert!(breaker.allow(later).unwrap().is_probe());
    }

    #[test]
    fn late_outcomes_of_calls_from_before_the_trip_change_nothing() {
        let now = Instant::now();
        let mut breaker = Breaker::new(1, OPEN_FOR);
        let early = breaker.allow(now).unwrap();
        let failing = breaker.allow(now).unwrap();
        breaker.record(failing, false, now);
        assert_eq!(breaker.state(), BreakerState::Open);
        breaker.record(early, true, now);
        assert_eq!(breaker.state(), BreakerState::Open);

        let later = now + OPEN_FOR;
        let straggler = Permit { probe: false };
        let probe = breaker.allow(later).unwrap();
        breaker.record(straggler, true, later);
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        breaker.record(probe, false, later);
        assert_eq!(breaker.state(), BreakerState::Open);
    }

    #[test]
    fn an_absurd_open_period_does_not_overflow() {
        let now = Instant::now();
        let mut breaker = Breaker::new(1, Duration::MAX);
        let permit = breaker.allow(now).unwrap();
        breaker.record(permit, false, now);
        let refused = breaker.allow(now + Duration::from_secs(3600)).unwrap_err();
        assert!(refused.retry_in > Duration::from_secs(365 * 24 * 3600));
    }

    #[tokio::test(start_paused = true)]
    async fn paused_tokio_time_drives_the_open_period() {
        let mut breaker = tripped(Instant::now());
        tokio::time::advance(OPEN_FOR - Duration::from_millis(1)).await;
        assert!(breaker.allow(Instant::now()).is_err());
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(breaker.allow(Instant::now()).unwrap().is_probe());
    }
}
