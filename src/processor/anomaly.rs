//! The anomaly processor: per-node tumbling windows (default 2 minutes), each answered by the
//! built-in detector against the node's learned baseline.

use crate::config::AnomalyConfig;
use crate::engine::builtin::anomaly::{detect, NodeBaseline};
use crate::event::{
    AffectedMetric, Anomaly, AnomalyType, DecisionHeader, Metric, Severity, Source, TelemetrySample,
};
use crate::processor::WindowResult;
use crate::window::{Origin, Recorded, WindowSpec, WindowStore};
use std::collections::HashMap;

/// The decision kind used in anomaly ids.
pub const KIND: &str = "anomaly";

/// A node, the anomaly processor's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeKey {
    /// Cluster id.
    pub cluster: String,
    /// Node id.
    pub node: String,
}

/// A window's samples in compact form: event time and the metrics in [`Metric::ALL`] order.
type Samples = Vec<(i64, [f64; 9])>;

/// Per-node windows plus the per-node baselines that outlive them.
#[derive(Debug)]
pub struct AnomalyProcessor {
    config: AnomalyConfig,
    store: WindowStore<NodeKey, Samples>,
    baselines: HashMap<NodeKey, NodeBaseline>,
}

impl AnomalyProcessor {
    /// A processor with tumbling windows of `config.interval`, holding at most `max_keys`
    /// nodes' windows.
    pub fn new(config: AnomalyConfig, max_keys: usize) -> AnomalyProcessor {
        let spec = WindowSpec::tumbling(config.interval);
        AnomalyProcessor {
            config,
            store: WindowStore::new(spec, max_keys),
            baselines: HashMap::new(),
        }
    }

    /// Adds a validated sample read from `origin`.
    pub fn record(&mut self, sample: &TelemetrySample, origin: Option<Origin>) -> Recorded {
        let key = NodeKey {
            cluster: sample.cluster_id.clone(),
            node: sample.node_id.clone(),
        };
        let values = Metric::ALL.map(|m| sample.metric(m));
        let ts = sample.event_time.timestamp_millis();
        self.store
            .record(&key, ts, origin, |samples| samples.push((ts, values)))
    }

    /// Closes every window the watermark has passed and detects anomalies in each, in order.
    pub fn close(&mut self, watermark_ms: i64) -> Vec<WindowResult<Anomaly>> {
        let closed = self.store.take_closed(watermark_ms);
        let mut results = Vec::with_capacity(closed.len());
        for mut window in closed {
            window.agg.sort_by_key(|(ts, _)| *ts);
            let baseline = self.baselines.entry(window.key.clone()).or_default();
            let detection = detect(&self.config, baseline, &window.agg);
            let bounds = self.store.spec().bounds(window.start_ms);
            let outputs = anomaly_from(&window.key, bounds, detection.alarms)
                .into_iter()
                .collect();
            results.push(WindowResult {
                outputs,
                origins: window.origins,
            });
        }
        results
    }

    /// Drops the open windows fed by `partition` (revoked in a rebalance); returns how many.
    pub fn drop_partition(&mut self, partition: crate::window::PartitionId) -> usize {
        self.store
            .drop_where(|_, origins| origins.iter().any(|o| o.partition == partition))
    }

    /// Nodes with an open window.
    pub fn open_keys(&self) -> usize {
        self.store.open_keys()
    }

    /// Open windows.
    pub fn open_windows(&self) -> usize {
        self.store.open_windows()
    }

    /// Lowest offset per partition still needed by an open window.
    pub fn held_offsets(&self) -> HashMap<crate::window::PartitionId, i64> {
        self.store.held_offsets()
    }
}

fn anomaly_from(
    key: &NodeKey,
    window: crate::event::WindowBounds,
    alarms: Vec<crate::engine::builtin::anomaly::MetricAlarm>,
) -> Option<Anomaly> {
    let top = alarms.first()?;
    let score = top.score;
    let detected_at = alarms.iter().map(|a| a.at_ms).min().unwrap_or(top.at_ms);
    let anomaly_type = top.shape;
    let reasons = alarms
        .iter()
        .map(|a| {
            format!(
                "{} {} at {:.3} against a baseline of {:.3} ({:.1} standard deviations)",
                a.metric.field(),
                shape_word(a.shape),
                a.value,
                a.baseline,
                a.z
            )
        })
        .collect();
    let metrics = alarms
        .iter()
        .map(|a| AffectedMetric {
            metric: a.metric.field().to_owned(),
            value: a.value,
            baseline: a.baseline,
            score: a.score,
        })
        .collect();
    let scope = crate::event::node_key(&key.cluster, &key.node);
    Some(Anomaly {
        header: DecisionHeader::new(
            KIND,
            &key.cluster,
            scope,
            window,
            score,
            Source::Builtin,
            reasons,
        ),
        node_id: key.node.clone(),
        anomaly_type,
        severity: Severity::from_score(score),
        score,
        detected_at: chrono::DateTime::from_timestamp_millis(detected_at).unwrap_or(window.start),
        metrics,
    })
}

fn shape_word(shape: AnomalyType) -> &'static str {
    match shape {
        AnomalyType::Spike => "spiked",
        AnomalyType::LevelShift => "shifted",
        AnomalyType::Outlier => "deviated",
        AnomalyType::NodeSilent => "went silent",
    }
}
