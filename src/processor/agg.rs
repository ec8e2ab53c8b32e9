//! Small aggregates shared by the processors.

use crate::engine::request::NodeAggregate;
use crate::event::{Metric, TelemetrySample};

/// A sum that does not depend on the order of its terms: each term is rounded to a multiple
/// of 2^-40 and added as an integer. Samples of different nodes reach a cluster's window in
/// whatever order the partitions were read, and a floating-point sum would differ in its last
/// bits between two runs over the same input; this one is the same. The rounding (below
/// 1e-12) is far under any metric's resolution; terms beyond ±1e26 saturate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExactSum(i128);

const FIXED_ONE: f64 = (1u64 << 40) as f64;

impl ExactSum {
    /// Adds `v`.
    pub fn add(&mut self, v: f64) {
        self.0 = self.0.saturating_add((v * FIXED_ONE).round() as i128);
    }

    /// The sum.
    pub fn value(&self) -> f64 {
        self.0 as f64 / FIXED_ONE
    }
}

/// Count, sum and maximum of every metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanAgg {
    /// Samples added.
    pub count: u32,
    /// Sum per metric.
    pub sum: [ExactSum; 9],
    /// Maximum per metric.
    pub max: [f64; 9],
}

impl Default for MeanAgg {
    fn default() -> Self {
        MeanAgg {
            count: 0,
            sum: [ExactSum::default(); 9],
            max: [f64::MIN; 9],
        }
    }
}

impl MeanAgg {
    /// Adds a sample.
    pub fn add(&mut self, sample: &TelemetrySample) {
        self.count += 1;
        for m in Metric::ALL {
            let v = sample.metric(m);
            self.sum[m.index()].add(v);
            self.max[m.index()] = self.max[m.index()].max(v);
        }
    }

    /// Mean per metric (zeros when empty).
    pub fn mean(&self) -> [f64; 9] {
        let n = f64::from(self.count.max(1));
        self.sum.map(|s| s.value() / n)
    }

    /// As a node aggregate with `active_jobs`.
    pub fn node(&self, active_jobs: u32) -> NodeAggregate {
        let max = if self.count == 0 { [0.0; 9] } else { self.max };
        NodeAggregate {
            samples: self.count,
            mean: self.mean(),
            max,
            active_jobs,
        }
    }
}

/// A bounded history, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History<T> {
    items: std::collections::VecDeque<T>,
}

impl<T: Clone> History<T> {
    /// Appends, dropping the oldest beyond `cap`.
    pub fn push(&mut self, item: T, cap: usize) {
        self.items.push_back(item);
        while self.items.len() > cap {
            self.items.pop_front();
        }
    }

    /// The items, oldest first.
    pub fn to_vec(&self) -> Vec<T> {
        self.items.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_sums_do_not_depend_on_the_order_of_their_terms() {
        let terms = [0.1, 0.7, 1e-9, 0.333_333_333_333, 0.2, 0.9, 123.456];
        let mut forward = ExactSum::default();
        terms.iter().for_each(|t| forward.add(*t));
        let mut backward = ExactSum::default();
        terms.iter().rev().for_each(|t| backward.add(*t));
        assert_eq!(forward, backward);
        assert!((forward.value() - terms.iter().sum::<f64>()).abs() < 1e-9);
    }
}
