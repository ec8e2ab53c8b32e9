//! The performance processor: one window per cluster (default 5 minutes) holding per-node
//! aggregates; each closed window asks for recommendations with the cluster's running and
//! queued jobs at the window's end, its goals and its constraints.

use crate::config::{Config, PerformanceConfig};
use crate::engine::{EngineRequest, PerformanceRequest};
use crate::event::TelemetrySample;
use crate::processor::agg::MeanAgg;
use crate::processor::jobs::JobTracker;
use crate::processor::{Pending, Processor};
use crate::window::{Origin, PartitionId, Recorded, WindowSpec, WindowStore};
use std::collections::{BTreeMap, HashMap};
use tokio::time::Instant;

/// Per-cluster windows of per-node aggregates.
#[derive(Debug)]
pub struct PerformanceProcessor {
    config: PerformanceConfig,
    store: WindowStore<String, BTreeMap<String, MeanAgg>>,
}

impl PerformanceProcessor {
    /// A processor for `config`.
    pub fn new(config: &Config) -> PerformanceProcessor {
        PerformanceProcessor {
            config: config.performance.clone(),
            store: WindowStore::new(
                WindowSpec::tumbling(config.performance.interval),
                super::limits(config),
            ),
        }
    }
}

impl Processor for PerformanceProcessor {
    fn name(&self) -> &'static str {
        "performance"
    }

    fn on_sample(
        &mut self,
        sample: &TelemetrySample,
        origin: Option<Origin>,
        now: Instant,
        _jobs: &JobTracker,
    ) -> Recorded {
        let ts = sample.event_time.timestamp_millis();
        self.store
            .record(&*sample.cluster_id, ts, origin, now, |nodes| {
                match nodes.get_mut(&*sample.node_id) {
                    Some(agg) => agg.add(sample),
                    None => {
                        let mut agg = MeanAgg::default();
                        agg.add(sample);
                        nodes.insert(sample.node_id.to_string(), agg);
                    }
                }
            })
    }

    fn close(&mut self, watermark_ms: i64, now: Instant, jobs: &JobTracker) -> Vec<Pending> {
        self.store
            .take_closed(watermark_ms, now)
            .into_iter()
            .map(|w| {
                let at = w.end_ms - 1;
                let nodes = w
                    .agg
                    .iter()
                    .map(|(node, agg)| (node.clone(), agg.node(jobs.active_on(&w.key, node, at))))
                    .collect();
                Pending::Ask {
                    request: EngineRequest::Performance(PerformanceRequest {
                        window: self.store.spec().bounds(w.start_ms),
                        queued_jobs: jobs.queued_in(&w.key, at),
                        cluster_id: w.key,
                        nodes,
                        goals: self.config.goals,
                        constraints: self.config.constraints,
                    })
                    .into(),
                    origins: w.origins,
                    revision: w.revision,
                }
            })
            .collect()
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
