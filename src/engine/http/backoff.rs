//! How long to wait before the next attempt: jittered exponential backoff, or what the
//! engine asked for in `Retry-After`.
//!
//! Equal jitter: the n-th retry waits between half and all of `initial * 2^(n-1)`, capped at
//! the configured maximum. Half is fixed so retries always back off; the random half keeps
//! many clients that failed together from retrying together.

use rand::Rng;
use std::time::{Duration, SystemTime};

/// Exponential backoff with equal jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
}

impl Backoff {
    /// Backoff starting at `initial` and never above `max` (taken as at least `initial`).
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max: max.max(initial),
        }
    }

    /// The ceiling of the wait before retry number `retry` (1 for the first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.initial.saturating_mul(1u32 << doublings).min(self.max)
    }

    /// The wait before retry number `retry` (1 for the first retry): uniformly in
    /// `[ceiling / 2, ceiling]`.
    pub fn delay(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(retry);
        let half = ceiling / 2;
        half + (ceiling - half).mul_f64(rng.gen::<f64>())
    }
}

/// Reads a `Retry-After` header value: delay-seconds (`"120"`) or an HTTP-date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`), which is measured from `now`. A date in the past is
/// a zero wait; anything unreadable is `None`, and the caller falls back to its backoff.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is still "a very long time".
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn delays_stay_between_half_and_all_of_a_doubling_ceiling() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for (retry, ceiling) in [(1, 100), (2, 200), (3, 400), (4, 800)] {
            let ceiling = Duration::from_millis(ceiling);
            assert_eq!(backoff.ceiling(retry), ceiling);
            for _ in 0..200 {
                let delay = backoff.delay(retry, &mut rng);
                assert!(
                    delay >= ceiling / 2 && delay <= ceiling,
                    "{retry}: {delay:?}"
                );
            }
        }
    }

    #[test]
    fn delays_are_jittered() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let delays: Vec<Duration> = (0..20).map(|_| backoff.delay(2, &mut rng)).collect();
        assert!(delays.iter().any(|d| *d != delays[0]), "{delays:?}");
    }

    #[test]
    fn the_ceiling_is_capped_at_the_maximum_even_after_many_retries() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert_eq!(backoff.ceiling(5), Duration::from_secs(10));
        assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(10));
        for retry in [5, 40, u32::MAX] {
            let delay = backoff.delay(retry, &mut rng);
            assert!(delay >= Duration::from_secs(5), "{delay:?}");
            assert!(delay <= Duration::from_secs(10), "{delay:?}");
        }
    }

    #[test]
    fn a_maximum_below_the_initial_wait_is_raised_to_it() {
        let backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!(backoff.ceiling(3), Duration::from_secs(2));
    }

    #[test]
    fn retry_after_in_seconds_is_read() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn retry_after_as_an_http_date_is_measured_from_now() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn unreadable_retry_after_values_are_none() {
        let now = SystemTime::now();
        for value in ["", "-1", "1.5", "soon", "Wed, 21 Oct 2015"] {
            assert_eq!(parse_retry_after(value, now), None, "{value:?}");
        }
    }
}
