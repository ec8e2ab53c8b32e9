//! Small aggregates shared by the processors.

use crate::engine::request::NodeAggregate;
use crate::event::{Metric, TelemetrySample};

/// Count, sum and maximum of every metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanAgg {
    /// Samples added.
    pub count: u32,
    /// Sum per metric.
    pub sum: [f64; 9],
    /// Maximum per metric.
    pub max: [f64; 9],
}

impl Default for MeanAgg {
    fn default() -> Self {
        MeanAgg {
            count: 0,
            sum: [0.0; 9],
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
            self.sum[m.index()] += v;
            self.max[m.index()] = self.max[m.index()].max(v);
        }
    }

    /// Mean per metric (zeros when empty).
    pub fn mean(&self) -> [f64; 9] {
        let n = f64::from(self.count.max(1));
        self.sum.map(|s| s / n)
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
