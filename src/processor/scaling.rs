//! The scaling processor: one window per cluster (default 10 minutes) counting the nodes that
//! reported and their load; each closed window asks for a capacity decision with the queue at
//! the window's end, the usage history and the capacities wanted recently (stabilisation).

use crate::config::{Config, ScalingConfig};
use crate::engine::{EngineAnswer, EngineRequest, ScalingRequest};
use crate::event::TelemetrySample;
use crate::processor::agg::{ExactSum, History};
use crate::processor::jobs::JobTracker;
use crate::processor::{Pending, Processor};
use crate::window::{Origin, PartitionId, Recorded, WindowSpec, WindowStore};
use std::collections::{BTreeSet, HashMap};
use tokio::time::Instant;

/// Nodes seen and CPU load of one cluster in a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadWindow {
    nodes: BTreeSet<String>,
    cpu_sum: ExactSum,
    samples: u32,
}

/// Per-cluster windows, usage histories and recent desired capacities.
#[derive(Debug)]
pub struct ScalingProcessor {
    config: ScalingConfig,
    store: WindowStore<String, LoadWindow>,
    usage: HashMap<String, History<f64>>,
    desired: HashMap<String, History<u32>>,
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
            desired: HashMap::new(),
        }
    }

    fn stabilisation_windows(&self) -> usize {
        let interval = self.config.interval.as_secs().max(1);
        self.config
            .scale_down_stabilisation
            .as_secs()
            .div_ceil(interval) as usize
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
        self.store.record(&sample.cluster_id, ts, origin, now, |w| {
            if !w.nodes.contains(&sample.node_id) {
                w.nodes.insert(sample.node_id.clone());
            }
            w.cpu_sum.add(sample.cpu_util);
            w.samples += 1;
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
            let c = &self.config;
            out.push(Pending::Ask {
                request: EngineRequest::Scaling(ScalingRequest {
                    cluster_id: w.key.clone(),
                    window: self.store.spec().bounds(w.start_ms),
                    capacity: w.agg.nodes.len() as u32,
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
