//! The `series` evaluation: what the report page charts. It keeps a downsampled copy of the
//! telemetry of a bounded number of nodes, the anomalies found on them, and the decisions
//! made for their clusters.
//!
//! Memory is bounded: at most [`MAX_NODES`] nodes are kept (the first seen; later nodes are
//! counted, not kept), each in at most [`MAX_POINTS`] buckets of all nine metrics (when a
//! node's buckets overflow, neighbours are merged pairwise, so each bucket covers a power of
//! two samples), and at most [`MAX_MARKS`] anomaly and decision marks in all. That is a few
//! megabytes whatever the length of the replay. Node names are counted up to [`MAX_SEEN`], and one
//! anomaly counter is kept per node that has anomalies. Samples are taken in the order the replay
//! reads them, which is event time.
//!
//! At the end, [`SeriesHandle::charts`] picks up to [`MAX_CHARTS`] nodes (those with the most
//! anomalies, then in the order they were first seen) and, per node, one metric: `cpu_util`
//! when it varies on that node, otherwise the metric that varies most (a labelled series
//! mapped into `throughput_ops` charts `throughput_ops`).

use super::observer::{Evaluation, ReplayObserver};
use crate::event::{Metric, TelemetrySample};
use crate::topics::TopicRole;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// Nodes whose telemetry is kept.
pub const MAX_NODES: usize = 32;
/// Buckets kept per node; a chart has at most this many points.
pub const MAX_POINTS: usize = 1_000;
/// Anomaly and decision marks kept, in all.
pub const MAX_MARKS: usize = 10_000;
/// Nodes charted.
pub const MAX_CHARTS: usize = 6;
/// Distinct nodes counted in `nodes_seen`; beyond it the count stops growing.
pub const MAX_SEEN: usize = 100_000;

const METRICS: usize = Metric::ALL.len();

/// Several consecutive samples of one node.
#[derive(Debug, Clone)]
struct Bucket {
    first_ms: i64,
    n: u32,
    sum: [f64; METRICS],
    min: [f64; METRICS],
    max: [f64; METRICS],
}

impl Bucket {
    fn of(sample: &TelemetrySample, at_ms: i64) -> Bucket {
        let values = Metric::ALL.map(|m| sample.metric(m));
        Bucket {
            first_ms: at_ms,
            n: 1,
            sum: values,
            min: values,
            max: values,
        }
    }

    fn merge(&mut self, other: &Bucket) {
        self.first_ms = self.first_ms.min(other.first_ms);
        self.n += other.n;
        for i in 0..METRICS {
            self.sum[i] += other.sum[i];
            self.min[i] = self.min[i].min(other.min[i]);
            self.max[i] = self.max[i].max(other.max[i]);
        }
    }
}

/// Running mean and variance of one metric (Welford).
#[derive(Debug, Clone, Copy, Default)]
struct Spread {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Spread {
    fn add(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    fn variance(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            self.m2 / (self.n - 1) as f64
        }
    }
}

#[derive(Debug, Clone)]
struct NodeSeries {
    cluster_id: String,
    node_id: String,
    buckets: Vec<Bucket>,
    /// Samples per bucket; doubles at each merge.
    width: u32,
    spread: [Spread; METRICS],
}

impl NodeSeries {
    fn push(&mut self, sample: &TelemetrySample, at_ms: i64) {
        for (i, m) in Metric::ALL.iter().enumerate() {
            self.spread[i].add(sample.metric(*m));
        }
        let bucket = Bucket::of(sample, at_ms);
        match self.buckets.last_mut() {
            Some(last) if last.n < self.width => last.merge(&bucket),
            _ => self.buckets.push(bucket),
        }
        if self.buckets.len() > MAX_POINTS {
            let old = std::mem::take(&mut self.buckets);
            for pair in old.chunks(2) {
                let mut b = pair[0].clone();
                if let Some(second) = pair.get(1) {
                    b.merge(second);
                }
                self.buckets.push(b);
            }
            self.width *= 2;
        }
    }

    /// `cpu_util` when it varies, else the metric that varies most.
    fn charted_metric(&self) -> Metric {
        if self.spread[Metric::Cpu.index()].variance() > 0.0 {
            return Metric::Cpu;
        }
        let mut best = Metric::Cpu;
        for m in Metric::ALL {
            if self.spread[m.index()].variance() > self.spread[best.index()].variance() {
                best = m;
            }
        }
        best
    }
}

/// A point of a chart: one bucket of samples of the charted metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Event time of the bucket's first sample, ms since the epoch.
    pub at_ms: i64,
    /// Mean over the bucket.
    pub mean: f64,
    /// Lowest value in the bucket.
    pub min: f64,
    /// Highest value in the bucket.
    pub max: f64,
}

/// Something marked on a chart at an instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// When, ms since the epoch (an anomaly's `detected_at`, a decision's window end).
    pub at_ms: i64,
    /// What, in a few words (`spike high`, `scale_out 3 -> 4`).
    pub label: String,
}

/// One node's chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The node's cluster.
    pub cluster_id: String,
    /// The node.
    pub node_id: String,
    /// Field name of the charted metric.
    pub metric: &'static str,
    /// Samples per point (a power of two).
    pub samples_per_point: u32,
    /// The points, in time order.
    pub points: Vec<Point>,
    /// Anomalies on this node.
    pub anomalies: Vec<Mark>,
    /// Decisions for the node's cluster (scaling decisions other than `no_action`,
    /// recommendations).
    pub decisions: Vec<Mark>,
}

#[derive(Debug, Default)]
struct SeriesData {
    nodes: Vec<NodeSeries>,
    index: BTreeMap<String, usize>,
    nodes_seen: BTreeSet<String>,
    anomaly_counts: BTreeMap<String, u64>,
    anomalies: BTreeMap<String, Vec<Mark>>,
    decisions: BTreeMap<String, Vec<Mark>>,
    marks: usize,
    marks_dropped: u64,
    decisions_seen: u64,
    anomalies_seen: u64,
}

impl SeriesData {
    fn on_sample(&mut self, sample: &TelemetrySample) {
        let key = sample.key();
        let at_ms = sample.event_time.timestamp_millis();
        if let Some(&i) = self.index.get(&key) {
            self.nodes[i].push(sample, at_ms);
            return;
        }
        if self.nodes.len() >= MAX_NODES {
            if self.nodes_seen.len() < MAX_SEEN {
                self.nodes_seen.insert(key);
            }
            return;
        }
        self.nodes_seen.insert(key.clone());
        self.index.insert(key, self.nodes.len());
        let mut node = NodeSeries {
            cluster_id: sample.cluster_id.to_string(),
            node_id: sample.node_id.to_string(),
            buckets: Vec::new(),
            width: 1,
            spread: [Spread::default(); METRICS],
        };
        node.push(sample, at_ms);
        self.nodes.push(node);
    }

    fn mark(&mut self, into: MarkKind, key: String, mark: Mark) {
        if self.marks >= MAX_MARKS {
            self.marks_dropped += 1;
            return;
        }
        self.marks += 1;
        let map = match into {
            MarkKind::Anomaly => &mut self.anomalies,
            MarkKind::Decision => &mut self.decisions,
        };
        map.entry(key).or_default().push(mark);
    }

    fn on_decision(&mut self, role: TopicRole, payload: &[u8]) {
        let Ok(value) = serde_json::from_slice::<Value>(payload) else {
            return;
        };
        let text = |name: &str| value.get(name).and_then(Value::as_str).unwrap_or_default();
        let time = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .and_then(crate::event::time::parse)
                .map(|t| t.timestamp_millis())
        };
        let cluster = text("cluster_id").to_owned();
        match role {
            TopicRole::Anomalies => {
                let Some(at_ms) = time(value.get("detected_at")) else {
                    return;
                };
                let key = crate::event::node_key(&cluster, text("node_id"));
                self.anomalies_seen += 1;
                *self.anomaly_counts.entry(key.clone()).or_default() += 1;
                let label = format!("{} {}", text("anomaly_type"), text("severity"));
                self.mark(MarkKind::Anomaly, key, Mark { at_ms, label });
            }
            TopicRole::ScalingDecisions | TopicRole::Recommendations => {
                if text("action") == "no_action" {
                    return;
                }
                let Some(at_ms) = time(value.get("window").and_then(|w| w.get("end"))) else {
                    return;
                };
                let label = if role == TopicRole::ScalingDecisions {
                    let capacity = |name: &str| value.get(name).and_then(Value::as_u64);
                    format!(
                        "{} {} -> {}",
                        text("action"),
                        capacity("current_capacity").unwrap_or_default(),
                        capacity("target_capacity").unwrap_or_default()
                    )
                } else {
                    format!("{}: {}", text("recommendation_type"), text("action"))
                };
                self.decisions_seen += 1;
                self.mark(MarkKind::Decision, cluster, Mark { at_ms, label });
            }
            _ => {}
        }
    }

    fn charts(&self) -> Vec<Chart> {
        let mut order: Vec<usize> = (0..self.nodes.len()).collect();
        let count = |i: &usize| {
            let n = &self.nodes[*i];
            let key = crate::event::node_key(&n.cluster_id, &n.node_id);
            self.anomaly_counts.get(&key).copied().unwrap_or(0)
        };
        // Stable: equal counts keep the order nodes were first seen in.
        order.sort_by_key(|i| std::cmp::Reverse(count(i)));
        order
            .into_iter()
            .take(MAX_CHARTS)
            .map(|i| {
                let n = &self.nodes[i];
                let metric = n.charted_metric();
                let m = metric.index();
                let key = crate::event::node_key(&n.cluster_id, &n.node_id);
                Chart {
                    cluster_id: n.cluster_id.clone(),
                    node_id: n.node_id.clone(),
                    metric: metric.field(),
                    samples_per_point: n.width,
                    points: n
                        .buckets
                        .iter()
                        .map(|b| Point {
                            at_ms: b.first_ms,
                            mean: b.sum[m] / f64::from(b.n),
                            min: b.min[m],
                            max: b.max[m],
                        })
                        .collect(),
                    anomalies: self.anomalies.get(&key).cloned().unwrap_or_default(),
                    decisions: self
                        .decisions
                        .get(&n.cluster_id)
                        .cloned()
                        .unwrap_or_default(),
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy)]
enum MarkKind {
    Anomaly,
    Decision,
}

/// The `series` evaluation. It is boxed into the replay's observers; keep a
/// [`SeriesHandle`] (from [`SeriesCollector::handle`]) to read the charts afterwards.
#[derive(Debug, Default)]
pub struct SeriesCollector {
    data: Rc<RefCell<SeriesData>>,
}

/// Reads what a [`SeriesCollector`] collected, after the replay.
#[derive(Debug, Clone)]
pub struct SeriesHandle {
    data: Rc<RefCell<SeriesData>>,
}

impl SeriesCollector {
    /// A collector that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle on the same data.
    pub fn handle(&self) -> SeriesHandle {
        SeriesHandle {
            data: self.data.clone(),
        }
    }
}

impl SeriesHandle {
    /// The charts, chosen as the module doc says.
    pub fn charts(&self) -> Vec<Chart> {
        self.data.borrow().charts()
    }
}

impl ReplayObserver for SeriesCollector {
    fn on_input(&mut self, role: TopicRole, payload: &[u8]) {
        if role != TopicRole::Telemetry {
            return;
        }
        // A line that does not decode is a dead letter; the chart leaves it out.
        if let Ok(sample) = serde_json::from_slice::<TelemetrySample>(payload) {
            self.data.borrow_mut().on_sample(&sample);
        }
    }

    fn on_output(&mut self, role: TopicRole, payload: &[u8]) {
        self.data.borrow_mut().on_decision(role, payload);
    }
}

impl Evaluation for SeriesCollector {
    fn name(&self) -> &'static str {
        "series"
    }

    /// Counts only; the points go to the HTML page, not to `report.json`.
    fn section(&self) -> Value {
        let data = self.data.borrow();
        let charts = data.charts();
        json!({
            "nodes_seen": data.nodes_seen.len(),
            "nodes_kept": data.nodes.len(),
            "charted": charts.len(),
            "points": charts.iter().map(|c| c.points.len()).sum::<usize>(),
            "anomalies": data.anomalies_seen,
            "decisions": data.decisions_seen,
            "marks_dropped": data.marks_dropped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn sample(node: &str, i: i64, cpu: f64, throughput: f64) -> Vec<u8> {
        let t = Utc
            .timestamp_millis_opt(1_767_225_600_000 + i * 10_000)
            .unwrap();
        let s = TelemetrySample {
            cluster_id: "c1".into(),
            node_id: node.into(),
            event_time: t,
            cpu_util: cpu,
            memory_util: 0.5,
            disk_util: 0.5,
            network_util: 0.5,
            latency_p99_ms: 10.0,
            throughput_ops: throughput,
            energy_watts: 200.0,
            queue_length: 0,
            error_rate: 0.0,
            labels: None,
        };
        serde_json::to_vec(&s).unwrap()
    }

    #[test]
    fn a_long_series_is_downsampled_to_the_point_cap_keeping_extremes() {
        let mut c = SeriesCollector::new();
        for i in 0..5_000 {
            let cpu = if i == 3_333 {
                0.99
            } else {
                0.5 + (i % 7) as f64 * 0.01
            };
            c.on_input(TopicRole::Telemetry, &sample("n1", i, cpu, 100.0));
        }
        let charts = c.handle().charts();
        assert_eq!(charts.len(), 1);
        let chart = &charts[0];
        assert!(chart.points.len() <= MAX_POINTS, "{}", chart.points.len());
        assert!(chart.points.len() > MAX_POINTS / 2);
        assert_eq!(chart.metric, "cpu_util");
        let peak = chart.points.iter().map(|p| p.max).fold(0.0, f64::max);
        assert_eq!(peak, 0.99);
        assert!(chart.points.windows(2).all(|w| w[0].at_ms < w[1].at_ms));
    }

    #[test]
    fn a_node_whose_cpu_is_flat_charts_the_metric_that_varies() {
        let mut c = SeriesCollector::new();
        for i in 0..50 {
            c.on_input(TopicRole::Telemetry, &sample("n1", i, 0.5, (i * 3) as f64));
        }
        assert_eq!(c.handle().charts()[0].metric, "throughput_ops");
    }

    #[test]
    fn nodes_with_most_anomalies_are_charted_first_and_nodes_beyond_the_cap_are_counted() {
        let mut c = SeriesCollector::new();
        for n in 0..MAX_NODES + 3 {
            c.on_input(TopicRole::Telemetry, &sample(&format!("n{n}"), 0, 0.5, 1.0));
        }
        let anomaly = serde_json::json!({
            "cluster_id": "c1", "node_id": "n9", "anomaly_type": "spike",
            "severity": "high", "detected_at": "2026-01-01T00:00:00Z"
        });
        c.on_output(TopicRole::Anomalies, anomaly.to_string().as_bytes());
        let scaling = serde_json::json!({
            "cluster_id": "c1", "action": "scale_out", "current_capacity": 3,
            "target_capacity": 4,
            "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:05:00Z"}
        });
        c.on_output(TopicRole::ScalingDecisions, scaling.to_string().as_bytes());
        let charts = c.handle().charts();
        assert_eq!(charts.len(), MAX_CHARTS);
        assert_eq!(charts[0].node_id, "n9");
        assert_eq!(charts[0].anomalies[0].label, "spike high");
        assert_eq!(charts[1].node_id, "n0");
        assert_eq!(charts[1].decisions[0].label, "scale_out 3 -> 4");
        let s = c.section();
        assert_eq!(s["nodes_seen"], MAX_NODES + 3);
        assert_eq!(s["nodes_kept"], MAX_NODES);
        assert_eq!(s["anomalies"], 1);
    }
}
