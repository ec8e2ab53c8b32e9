//! The decisions fabric-ai publishes, and the records it keeps about its own work.
//!
//! Every decision starts with a [`DecisionHeader`]: a deterministic id so consumers can
//! deduplicate re-emissions after a crash, the window it came from, a confidence, whether the
//! engine or the built-in algorithms produced it, and reasons a person can read.

use crate::event::time;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Version of the output schemas; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The event-time window a decision was computed from, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WindowBounds {
    /// Inclusive start.
    #[serde(with = "time::rfc3339")]
    pub start: DateTime<Utc>,
    /// Exclusive end.
    #[serde(with = "time::rfc3339")]
    pub end: DateTime<Utc>,
}

/// Who produced a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The external AI Engine answered.
    Engine,
    /// fabric-ai's own algorithms answered.
    Builtin,
}

/// The fields every decision carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionHeader {
    /// Deterministic id from (kind, scope, window); see [`decision_id`].
    pub id: String,
    /// [`SCHEMA_VERSION`] at the time of writing.
    pub schema_version: u32,
    /// 0 for the first emission; a late event that changes the window re-emits with +1.
    pub revision: u32,
    /// Cluster the decision concerns.
    pub cluster_id: String,
    /// What the decision is about: `cluster/node`, `cluster`, or `cluster/job_type`.
    pub scope: String,
    /// The window the decision was computed from.
    pub window: WindowBounds,
    /// Confidence in 0..1.
    pub confidence: f64,
    /// Engine or built-in.
    pub source: Source,
    /// Why, in words.
    pub reasons: Vec<String>,
}

impl DecisionHeader {
    /// A header for a first emission, with its id derived from `kind`, `scope` and `window`.
    pub fn new(
        kind: &str,
        cluster_id: &str,
        scope: String,
        window: WindowBounds,
        confidence: f64,
        source: Source,
        reasons: Vec<String>,
    ) -> Self {
        DecisionHeader {
            id: decision_id(kind, &scope, &window),
            schema_version: SCHEMA_VERSION,
            revision: 0,
            cluster_id: cluster_id.to_owned(),
            scope,
            window,
            confidence,
            source,
            reasons,
        }
    }
}

/// The id of a decision: the first 128 bits of SHA-256 over kind, scope and window bounds, in
/// hex. The same window always yields the same id, across restarts and replays.
pub fn decision_id(kind: &str, scope: &str, window: &WindowBounds) -> String {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    hasher.update([0]);
    hasher.update(scope.as_bytes());
    hasher.update([0]);
    hasher.update(window.start.timestamp_millis().to_be_bytes());
    hasher.update(window.end.timestamp_millis().to_be_bytes());
    hex::encode(&hasher.finalize()[..16])
}

/// How bad an anomaly is, from its score: above 0.8 critical, 0.6 high, 0.4 medium, 0.2 low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Score at or below 0.2.
    Normal,
    /// Score above 0.2.
    Low,
    /// Score above 0.4.
    Medium,
    /// Score above 0.6.
    High,
    /// Score above 0.8.
    Critical,
}

impl Severity {
    /// The band a score in 0..1 falls in.
    pub fn from_score(score: f64) -> Severity {
        match score {
            s if s > 0.8 => Severity::Critical,
            s if s > 0.6 => Severity::High,
            s if s > 0.4 => Severity::Medium,
            s if s > 0.2 => Severity::Low,
            _ => Severity::Normal,
        }
    }

    /// Lowercase name, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Normal => "normal",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// What shape an anomaly has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyType {
    /// A short excursion that returned to normal.
    Spike,
    /// A lasting change of level.
    LevelShift,
    /// A deviation whose shape is not known yet (it ended the window).
    Outlier,
    /// A node that stopped reporting.
    NodeSilent,
}

/// One metric's part in an anomaly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AffectedMetric {
    /// Metric field name, e.g. `cpu_util`.
    pub metric: String,
    /// The most deviant value observed, in the metric's unit.
    pub value: f64,
    /// What the detector expected, in the metric's unit.
    pub baseline: f64,
    /// This metric's anomaly score, 0..1.
    pub score: f64,
}

/// Something unusual on one node within one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// Id, window, confidence, source, reasons.
    #[serde(flatten)]
    pub header: DecisionHeader,
    /// Node the anomaly was seen on.
    pub node_id: String,
    /// Shape of the anomaly.
    pub anomaly_type: AnomalyType,
    /// Band of the score.
    pub severity: Severity,
    /// Overall anomaly score, 0..1 (the largest metric score).
    pub score: f64,
    /// Event time of the first anomalous sample.
    #[serde(with = "time::rfc3339")]
    pub detected_at: DateTime<Utc>,
    /// The metrics that deviated, most deviant first.
    pub metrics: Vec<AffectedMetric>,
}

/// The kinds of recommendation the performance processor makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationType {
    /// Move load from hot nodes to cold ones.
    LoadBalancing,
    /// Change what jobs are given.
    ResourceAllocation,
    /// Move a job to another node.
    Migration,
    /// Add or remove capacity.
    Scaling,
    /// Consolidate idle nodes to save energy.
    EnergyOptimization,
    /// Move load or jobs from a hot cluster to a cold one (federation).
    CrossClusterMove,
}

impl RecommendationType {
    /// Lowercase name, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RecommendationType::LoadBalancing => "load_balancing",
            RecommendationType::ResourceAllocation => "resource_allocation",
            RecommendationType::Migration => "migration",
            RecommendationType::Scaling => "scaling",
            RecommendationType::EnergyOptimization => "energy_optimization",
            RecommendationType::CrossClusterMove => "cross_cluster_move",
        }
    }
}

/// A cluster-wide recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Id, window, confidence, source, reasons.
    #[serde(flatten)]
    pub header: DecisionHeader,
    /// Kind of recommendation; its confidence threshold depends on it.
    pub recommendation_type: RecommendationType,
    /// What to do, as a short imperative phrase.
    pub action: String,
    /// Nodes the action applies to.
    pub target_nodes: Vec<String>,
    /// Expected gains by goal (e.g. `throughput`, `energy_watts`), as fractions of today.
    pub expected_gains: BTreeMap<String, f64>,
    /// Risk of acting: `low`, `medium` or `high`.
    pub risk: String,
    /// The cluster to move load to (`cross_cluster_move` only).
    #[serde(default)]
    pub target_cluster: Option<String>,
}

/// One horizon of a forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonForecast {
    /// Minutes after the window's end.
    pub horizon_minutes: u32,
    /// Point forecast, in the resource's unit.
    pub mean: f64,
    /// Lower bound of the 80% interval.
    pub lower_80: f64,
    /// Upper bound of the 80% interval.
    pub upper_80: f64,
    /// Lower bound of the 95% interval.
    pub lower_95: f64,
    /// Upper bound of the 95% interval.
    pub upper_95: f64,
}

/// A multi-horizon forecast of one resource for a node or a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourcePrediction {
    /// Id, window, confidence, source, reasons.
    #[serde(flatten)]
    pub header: DecisionHeader,
    /// Node forecast, or none for the cluster as a whole.
    pub node_id: Option<String>,
    /// Resource, as a metric field name (`cpu_util`, ...).
    pub resource: String,
    /// Forecasts, shortest horizon first.
    pub horizons: Vec<HorizonForecast>,
}

/// What a cluster's workload of one job type looks like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadInsight {
    /// Id, window, confidence, source, reasons.
    #[serde(flatten)]
    pub header: DecisionHeader,
    /// Job type the insight covers.
    pub job_type: String,
    /// Classes that apply: `cpu_intensive`, `bursty`, `periodic`, ...
    pub classes: Vec<String>,
    /// Jobs submitted in the window.
    pub arrivals: u32,
    /// Jobs that completed in the window.
    pub completions: u32,
    /// Jobs that failed in the window.
    pub failures: u32,
    /// Mean runtime of jobs that ended in the window, seconds.
    pub mean_runtime_s: Option<f64>,
    /// Detected period of the arrivals, minutes.
    pub seasonality_period_minutes: Option<f64>,
    /// Strength of that period, 0..1.
    pub seasonality_strength: Option<f64>,
}

/// What a scaling decision asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalingAction {
    /// Bigger nodes.
    ScaleUp,
    /// Smaller nodes.
    ScaleDown,
    /// More nodes.
    ScaleOut,
    /// Fewer nodes.
    ScaleIn,
    /// Move work between nodes.
    Migrate,
    /// Pack work onto fewer nodes.
    Consolidate,
    /// Leave things as they are.
    NoAction,
}

/// A capacity decision for a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingDecision {
    /// Id, window, confidence, source, reasons.
    #[serde(flatten)]
    pub header: DecisionHeader,
    /// What to do.
    pub action: ScalingAction,
    /// Capacity now, in nodes.
    pub current_capacity: u32,
    /// Capacity asked for, in nodes.
    pub target_capacity: u32,
    /// Change in running cost, currency units per hour (negative saves).
    pub cost_delta_per_hour: f64,
}

/// What an audit record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A decision was published.
    DecisionAccepted,
    /// A decision was held back by confidence gating.
    DecisionRejected,
    /// An event arrived after its window's allowed lateness.
    LateEvent,
    /// A new key was refused because the open-key limit was reached.
    KeyRefused,
    /// A window was answered; the details carry the request digest and the answer, so a
    /// replay can reproduce the run (see `engine::recorded`).
    WindowAnswered,
}

/// A record of something fabric-ai did or declined to do, for audit consumers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Deterministic id of this record.
    pub id: String,
    /// [`SCHEMA_VERSION`] at the time of writing.
    pub schema_version: u32,
    /// What happened.
    pub kind: AuditKind,
    /// The decision concerned, if any.
    pub decision_id: Option<String>,
    /// Scope concerned: `cluster/node`, `cluster`, ...
    pub scope: String,
    /// The window concerned, if any.
    pub window: Option<WindowBounds>,
    /// Event time of the input concerned, if any.
    #[serde(default, with = "time::rfc3339_opt")]
    pub event_time: Option<DateTime<Utc>>,
    /// Details as key/value text: engine, latency, attempts, gating outcome, reason.
    pub details: BTreeMap<String, String>,
}

/// An input message that could not be processed, kept whole with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// [`SCHEMA_VERSION`] at the time of writing.
    pub schema_version: u32,
    /// Topic the message was read from.
    pub source_topic: String,
    /// Partition it was read from.
    pub partition: i32,
    /// Its offset there.
    pub offset: i64,
    /// Its key, unchanged (base64 in JSON).
    #[serde(default, with = "crate::event::bytes::opt")]
    pub key: Option<Vec<u8>>,
    /// Its payload, unchanged (base64 in JSON).
    #[serde(with = "crate::event::bytes::plain")]
    pub payload: Vec<u8>,
    /// Why it was rejected.
    pub reason: String,
    /// Low-cardinality class of the reason (`json`, `avro`, `invalid_field`, ...).
    pub error_kind: String,
    /// The broker timestamp of the message, if it had one.
    #[serde(default, with = "time::rfc3339_opt")]
    pub message_timestamp: Option<DateTime<Utc>>,
}
