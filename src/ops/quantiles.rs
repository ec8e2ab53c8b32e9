//! A lock-free histogram of durations precise enough to read quantiles from (p50, p99),
//! where the Prometheus histogram's power-of-two buckets are too coarse to.
//!
//! Values are kept in microseconds in log-linear buckets: exact below 16 µs, then 16
//! buckets per power of two, so a quantile is within 1/16 (6.25%) of the true value, up to
//! about 12 days. Recording is one relaxed atomic add; reading walks the 608 buckets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sub-buckets per power of two, as a power of two.
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
/// Highest power of two kept apart; larger values share the last bucket.
const MAX_EXP: u32 = 40;
const BUCKETS: usize = (MAX_EXP as usize - SUB_BITS as usize + 2) * SUB;

/// Counts of durations by bucket; see the module doc for the layout.
#[derive(Debug)]
pub struct Quantiles {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
}

impl Default for Quantiles {
    fn default() -> Self {
        Quantiles {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
        }
    }
}

/// Bucket of a value in microseconds.
fn bucket(us: u64) -> usize {
    if us < SUB as u64 {
        return us as usize;
    }
    let exp = 63 - us.leading_zeros();
    if exp > MAX_EXP {
        return BUCKETS - 1;
    }
    let sub = ((us >> (exp - SUB_BITS)) as usize) & (SUB - 1);
    (exp - SUB_BITS + 1) as usize * SUB + sub
}

/// Largest value in microseconds that falls into bucket `index`.
fn upper(index: usize) -> u64 {
    if index < SUB {
        return index as u64;
    }
    let exp = (index / SUB) as u32 + SUB_BITS - 1;
    let sub = (index % SUB) as u64;
    ((SUB as u64 + sub + 1) << (exp - SUB_BITS)) - 1
}

impl Quantiles {
    /// Counts one duration.
    pub fn record(&self, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket(us)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Durations counted.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The `q` quantile (0 to 1) in microseconds: the upper bound of the bucket holding the
    /// sample of that rank, so never below the true value; 0 when nothing was counted.
    pub fn quantile_us(&self, q: f64) -> u64 {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return upper(index);
            }
        }
        upper(BUCKETS - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_falls_in_a_bucket_whose_upper_bound_is_within_a_sixteenth() {
        for us in (0..100_000u64).chain([1 << 20, (1 << 33) + 12_345, 1 << 39]) {
            let b = bucket(us);
            assert!(upper(b) >= us, "{us} above its bucket's bound {}", upper(b));
            assert!(
                upper(b) as f64 <= us as f64 * (1.0 + 1.0 / 16.0) + 1.0,
                "{us}"
            );
            if b > 0 {
                assert!(upper(b - 1) < us, "{us} also fits the bucket below");
            }
        }
    }

    #[test]
    fn quantiles_are_read_from_the_recorded_durations() {
        let q = Quantiles::default();
        assert_eq!(q.quantile_us(0.5), 0);
        for ms in 1..=100u64 {
            q.record(Duration::from_millis(ms));
        }
        assert_eq!(q.count(), 100);
        let p50 = q.quantile_us(0.5);
        let p99 = q.quantile_us(0.99);
        assert!((50_000..=53_125).contains(&p50), "p50 {p50}");
        assert!((99_000..=105_188).contains(&p99), "p99 {p99}");
    }
}
