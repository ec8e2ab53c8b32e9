//! The prediction processor: windows per node and per cluster (default 15 minutes); each
//! closed window's mean of every configured resource is appended to that scope's history, and
//! one request per scope and resource asks for a multi-horizon forecast.

use crate::config::{Config, PredictionConfig};
use crate::engine::{EngineRequest, PredictionRequest};
use crate::event::{Metric, TelemetrySample};
use crate::processor::agg::{History, MeanAgg};
use crate::processor::jobs::JobTracker;
use crate::processor::{Pending, Processor};
use crate::window::{Origin, PartitionId, Recorded, WindowSpec, WindowStore};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::time::Instant;

/// Cluster, and node (none for the cluster as a whole).
type Key = (Arc<str>, Option<Arc<str>>);

/// Per-node and per-cluster windows and histories.
#[derive(Debug)]
pub struct PredictionProcessor {
    config: PredictionConfig,
    resources: Vec<Metric>,
    store: WindowStore<Key, MeanAgg>,
    history: HashMap<Key, History<[f64; 9]>>,
}

impl PredictionProcessor {
    /// A processor for `config` (resources already validated).
    pub fn new(config: &Config) -> PredictionProcessor {
        PredictionProcessor {
            config: config.prediction.clone(),
            resources: config
                .prediction
                .resources
                .iter()
                .filter_map(|r| Metric::parse(r))
                .collect(),
            store: WindowStore::new(
                WindowSpec::tumbling(config.prediction.interval),
                super::limits(config),
            ),
            history: HashMap::new(),
        }
    }
}

impl Processor for PredictionProcessor {
    fn name(&self) -> &'static str {
        "prediction"
    }

    fn on_sample(
        &mut self,
        sample: &TelemetrySample,
        origin: Option<Origin>,
        now: Instant,
        _jobs: &JobTracker,
    ) -> Recorded {
        let ts = sample.event_time.timestamp_millis();
        let node = (sample.cluster_id.clone(), Some(sample.node_id.clone()));
        let recorded = self
            .store
            .record(&node, ts, origin, now, |agg| agg.add(sample));
        if !matches!(recorded, Recorded::Refused) {
            let cluster = (sample.cluster_id.clone(), None);
            self.store
                .record(&cluster, ts, origin, now, |agg| agg.add(sample));
        }
        recorded
    }

    fn close(&mut self, watermark_ms: i64, now: Instant, _jobs: &JobTracker) -> Vec<Pending> {
        let resolution = self.store.spec().size_ms() as f64 / 60_000.0;
        let mut out = Vec::new();
        for w in self.store.take_closed(watermark_ms, now) {
            let history = self.history.entry(w.key.clone()).or_default();
            let mut points = history.to_vec();
            points.push(w.agg.mean());
            if w.revision == 0 {
                history.push(w.agg.mean(), self.config.history_windows);
            }
            let window = self.store.spec().bounds(w.start_ms);
            for &resource in &self.resources {
                out.push(Pending::Ask {
                    request: EngineRequest::Prediction(PredictionRequest {
                        cluster_id: w.key.0.to_string(),
                        node_id: w.key.1.as_deref().map(str::to_owned),
                        resource,
                        window,
                        history: points.iter().map(|p| p[resource.index()]).collect(),
                        resolution_minutes: resolution,
                        horizons_minutes: self.config.horizons_minutes.clone(),
                    })
                    .into(),
                    origins: w.origins.clone(),
                    revision: w.revision,
                });
            }
        }
        out
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
