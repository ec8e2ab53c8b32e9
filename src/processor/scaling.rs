//! The scaling processor: one window per cluster (default 10 minutes) counting the nodes that
//! reported, their load and their demand; each closed window asks for a capacity decision with
//! the queue at the window's end, the usage and demand histories and the capacities wanted
//! recently (stabilisation).
//!
//! Demand follows the capacity model of `[scaling]`: the sum over the window's nodes of each
//! node's mean of `demand_metric`, divided by `capacity_per_replica`, so it counts replicas
//! kept busy (with `cpu_util` and 1, busy nodes). With a demand metric other than `cpu_util`
//! the current capacity is the target of the cluster's last decision, since the nodes that
//! report need not be the replicas being scaled (a replayed demand series is one node); the
//! nodes that reported stand in before the first decision. Per cluster, the state is two
//! histories of `history_windows` numbers, the desired capacities of the windows before this
//! one within `scale_down_stabilisation` (with the deciding window they span it: 5 minutes
//! of 1-minute windows keep 4) and the last target.

use crate::config::{Config, ScalingConfig};
use crate::engine::{EngineAnswer, EngineRequest, ScalingRequest};
use crate::event::{Metric, TelemetrySample};
use crate::processor::agg::{ExactSum, History};
use crate::processor::jobs::JobTracker;
use crate::processor::{Pending, Processor};
use crate::window::{Origin, PartitionId, Recorded, WindowSpec, WindowStore};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tokio::time::Instant;

/// Nodes seen, CPU load and demand of one cluster in a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadWindow {
    nodes: BTreeSet<String>,
    cpu_sum: ExactSum,
    samples: u32,
    /// Per node: sum and count of its demand metric.
    demand: BTreeMap<String, (f64, u32)>,
}

impl LoadWindow {
    /// Sum over nodes of each node's mean demand.
    fn demand(&self) -> f64 {
        self.demand
            .values()
            .map(|&(sum, n)| sum / f64::from(n.max(1)))
            .sum()
    }
}

/// Per-cluster windows, usage histories and recent desired capacities.
#[derive(Debug)]
pub struct ScalingProcessor {
    config: ScalingConfig,
    store: WindowStore<String, LoadWindow>,
    usage: HashMap<String, History<f64>>,
    demand: HashMap<String, History<f64>>,
    desired: HashMap<String, History<u32>>,
    /// The target of each cluster's last decision.
    last_target: HashMap<String, u32>,
    demand_metric: Metric,
}

impl ScalingProcessor {
    /// A processor for `config`.
    pub fn new(config: &Config) -> ScalingProcessor {
        ScalingProcessor {
            config: config.scaling.clone(),
            store: WindowStore::new(
                WindowSpec::tumbling(config.scaling.interval),
                super::limits(config),
            ),
            usage: HashMap::new(),
            demand: HashMap::new(),
            desired: HashMap::new(),
            last_target: HashMap::new(),
            // Validated by the configuration.
            demand_metric: Metric::parse(&config.scaling.demand_metric).unwrap_or(Metric::Cpu),
        }
    }

    /// 1 plus the start-up delay in windows, rounded up.
    fn lead_windows(&self) -> u32 {
        let interval = self.config.interval.as_millis().max(1);
        let startup = self.config.startup_delay.as_millis();
        1 + startup.div_ceil(interval) as u32
    }

    /// Earlier windows whose desired capacities a decision keeps to: the stabilisation
    /// interval in windows, rounded up, less the deciding window itself.
    fn stabilisation_windows(&self) -> usize {
        let interval = self.config.interval.as_secs().max(1);
        self.config
            .scale_down_stabilisation
            .as_secs()
            .div_ceil(interval)
            .saturating_sub(1) as usize
    }
}

impl Processor for ScalingProcessor {
    fn name(&self) -> &'static str {
        "scaling"
    }

    fn on_sample(
        &mut self,
        sample: &TelemetrySample,
        origin: Option<Origin>,
        now: Instant,
        _jobs: &JobTracker,
    ) -> Recorded {
        let ts = sample.event_time.timestamp_millis();
        let metric = self.demand_metric;
        self.store
            .record(&*sample.cluster_id, ts, origin, now, |w| {
                if !w.nodes.contains(&*sample.node_id) {
                    w.nodes.insert(sample.node_id.to_string());
                }
                w.cpu_sum.add(sample.cpu_util);
                w.samples += 1;
                let value = sample.metric(metric);
                match w.demand.get_mut(&*sample.node_id) {
                    Some(d) => *d = (d.0 + value, d.1 + 1),
                    None => {
                        w.demand.insert(sample.node_id.to_string(), (value, 1));
                    }
                }
            })
    }

    fn close(&mut self, watermark_ms: i64, now: Instant, jobs: &JobTracker) -> Vec<Pending> {
        let resolution = self.store.spec().size_ms() as f64 / 60_000.0;
        let mut out = Vec::new();
        for w in self.store.take_closed(watermark_ms, now) {
            let load = w.agg.cpu_sum.value() / f64::from(w.agg.samples.max(1));
            let usage = self.usage.entry(w.key.clone()).or_default();
            let mut history = usage.to_vec();
            history.push(load);
            if w.revision == 0 {
                usage.push(load, self.config.history_windows);
            }
            let demand = w.agg.demand() / self.config.capacity_per_replica;
            let demands = self.demand.entry(w.key.clone()).or_default();
            let mut demand_history = demands.to_vec();
            demand_history.push(demand);
            if w.revision == 0 {
                demands.push(demand, self.config.history_windows);
            }
            // `prepare` replaces this with the last target when demand is not CPU.
            let capacity = w.agg.nodes.len() as u32;
            let lead_windows = self.lead_windows();
            let c = &self.config;
            out.push(Pending::Ask {
                request: EngineRequest::Scaling(ScalingRequest {
                    cluster_id: w.key.clone(),
                    window: self.store.spec().bounds(w.start_ms),
                    capacity,
                    load,
                    queue_length: jobs.queued_in(&w.key, w.end_ms - 1),
                    usage_history: history,
                    // Filled in by `prepare`, once the earlier windows are answered.
                    recent_desired: Vec::new(),
                    target_utilisation: c.target_utilisation,
                    tolerance: c.tolerance,
                    min_capacity: c.min_capacity,
                    max_capacity: c.max_capacity,
                    cost_per_node_hour: c.cost_per_node_hour,
                    resolution_minutes: resolution,
                    demand_history,
                    lead_windows,
                })
                .into(),
                origins: w.origins,
                revision: w.revision,
            });
        }
        out
    }

    fn answers_feed_requests(&self) -> bool {
        true
    }

    fn prepare(&self, request: &mut EngineRequest) {
        if let EngineRequest::Scaling(r) = request {
            if let Some(&target) = self.last_target.get(&r.cluster_id) {
                if self.demand_metric != Metric::Cpu {
                    r.capacity = target;
                }
            }
            r.recent_desired = self
                .desired
                .get(&r.cluster_id)
                .map(History::to_vec)
                .unwrap_or_default();
        }
    }

    fn absorb(&mut self, request: &EngineRequest, answer: &EngineAnswer) {
        if let (EngineRequest::Scaling(r), EngineAnswer::Scaling(a)) = (request, answer) {
            let keep = self.stabilisation_windows();
            self.desired
                .entry(r.cluster_id.clone())
                .or_default()
                .push(a.desired_capacity, keep);
            self.last_target
                .insert(r.cluster_id.clone(), a.target_capacity);
        }
    }

    fn held_offsets(&self) -> HashMap<PartitionId, i64> {
        self.store.held_offsets()
    }

    fn drop_partition(&mut self, partition: PartitionId) -> usize {
        self.store.drop_partition(partition)
    }

    fn open_keys(&self) -> usize {
        self.store.open_keys()
    }

    fn open_windows(&self) -> usize {
        self.store.open_windows()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn processor(interval_secs: u64, stabilisation_secs: u64) -> ScalingProcessor {
        let mut config = Config::default();
        config.scaling.interval = Duration::from_secs(interval_secs);
        config.scaling.scale_down_stabilisation = Duration::from_secs(stabilisation_secs);
        ScalingProcessor::new(&config)
    }

    #[test]
    fn the_stabilisation_interval_counts_the_deciding_window() {
        // 5 minutes of 1-minute windows: this one and the 4 before it.
        assert_eq!(processor(60, 300).stabilisation_windows(), 4);
        // A 5-minute window spans 5 minutes of stabilisation alone.
        assert_eq!(processor(300, 300).stabilisation_windows(), 0);
        // A part of a window counts as a whole one.
        assert_eq!(processor(600, 1800).stabilisation_windows(), 2);
    }
}
