//! What a closed window asks an engine, and what the engine answers: one type pair per
//! endpoint. Utilisations are fractions 0..1 and times are epoch milliseconds in these
//! in-process types.

use crate::engine::builtin::anomaly::{MetricAlarm, NodeBaseline};
use crate::event::{
    HorizonForecast, JobType, Metric, RecommendationType, ScalingAction, WindowBounds,
};
use std::collections::BTreeMap;

/// The window's samples of one node and the node's learned baseline before the window.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyRequest {
    /// Cluster.
    pub cluster_id: String,
    /// Node.
    pub node_id: String,
    /// The window.
    pub window: WindowBounds,
    /// Samples sorted by event time: (ms, values in [`Metric::ALL`] order).
    pub samples: Vec<(i64, [f64; 9])>,
    /// What normal looked like before this window (boxed: it is the bulk of the request).
    pub baseline: Box<NodeBaseline>,
}

/// Alarms, most deviant first.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyAnswer {
    /// One per deviating metric.
    pub alarms: Vec<MetricAlarm>,
}

/// Aggregates of one node over a window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NodeAggregate {
    /// Samples seen.
    pub samples: u32,
    /// Mean per metric, [`Metric::ALL`] order.
    pub mean: [f64; 9],
    /// Maximum per metric.
    pub max: [f64; 9],
    /// Jobs running on the node at the window's end (from job events).
    pub active_jobs: u32,
}

/// Goal weights of the performance optimisation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Goals {
    /// Weight of throughput.
    pub throughput: f64,
    /// Weight of latency.
    pub latency: f64,
    /// Weight of balance between nodes.
    pub balance: f64,
    /// Weight of energy.
    pub energy: f64,
}

/// Limits the recommendations must respect.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraints {
    /// Highest acceptable CPU utilisation of a node.
    pub max_cpu: f64,
    /// Highest acceptable memory utilisation of a node.
    pub max_memory: f64,
    /// Lowest acceptable availability (fraction of nodes that must stay up).
    pub min_availability: f64,
}

/// One cluster's window for `/optimize/performance`.
#[derive(Debug, Clone, PartialEq)]
pub struct PerformanceRequest {
    /// Cluster.
    pub cluster_id: String,
    /// The window.
    pub window: WindowBounds,
    /// Per-node aggregates, by node id.
    pub nodes: BTreeMap<String, NodeAggregate>,
    /// Jobs queued (submitted, not started) in the cluster at the window's end.
    pub queued_jobs: u32,
    /// Goal weights.
    pub goals: Goals,
    /// Constraints.
    pub constraints: Constraints,
}

/// One recommendation of the performance engine.
#[derive(Debug, Clone, PartialEq)]
pub struct RecommendationFinding {
    /// Kind.
    pub recommendation_type: RecommendationType,
    /// What to do.
    pub action: String,
    /// Nodes concerned.
    pub target_nodes: Vec<String>,
    /// Expected gains by goal.
    pub expected_gains: BTreeMap<String, f64>,
    /// `low`, `medium`, `high`.
    pub risk: String,
    /// Confidence 0..1.
    pub confidence: f64,
    /// Why.
    pub reasons: Vec<String>,
}

/// Recommendations, possibly none.
#[derive(Debug, Clone, PartialEq)]
pub struct PerformanceAnswer {
    /// The recommendations.
    pub recommendations: Vec<RecommendationFinding>,
}

/// Jobs of one type in one cluster over a window, for `/analyze/workload`.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadRequest {
    /// Cluster.
    pub cluster_id: String,
    /// Job type.
    pub job_type: JobType,
    /// The window.
    pub window: WindowBounds,
    /// Event times of submissions in the window, sorted.
    pub arrivals_ms: Vec<i64>,
    /// Jobs that completed in the window.
    pub completions: u32,
    /// Jobs that failed in the window.
    pub failures: u32,
    /// Runtimes (start to end) of jobs that ended in the window, seconds.
    pub runtimes_s: Vec<f64>,
    /// Mean telemetry of the nodes these jobs ran on during the window, [`Metric::ALL`] order.
    pub node_mean: Option<[f64; 9]>,
    /// Arrivals per window of the previous windows, oldest first (for seasonality).
    pub arrival_history: Vec<u32>,
    /// Window length, minutes (the history's resolution).
    pub resolution_minutes: f64,
}

/// A workload classification.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadAnswer {
    /// Classes that apply.
    pub classes: Vec<String>,
    /// Detected period of arrivals, minutes.
    pub seasonality_period_minutes: Option<f64>,
    /// Strength of that period, 0..1.
    pub seasonality_strength: Option<f64>,
    /// Confidence 0..1.
    pub confidence: f64,
    /// Why.
    pub reasons: Vec<String>,
}

/// One resource's history for `/predict/resources`.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionRequest {
    /// Cluster.
    pub cluster_id: String,
    /// Node, or none for the cluster as a whole.
    pub node_id: Option<String>,
    /// Resource.
    pub resource: Metric,
    /// The window that just closed (its mean is the last history point).
    pub window: WindowBounds,
    /// Window means, oldest first, ending with this window.
    pub history: Vec<f64>,
    /// Spacing of the history, minutes.
    pub resolution_minutes: f64,
    /// Horizons wanted, minutes after the window's end.
    pub horizons_minutes: Vec<u32>,
}

/// A forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionAnswer {
    /// One per requested horizon.
    pub horizons: Vec<HorizonForecast>,
    /// Confidence 0..1.
    pub confidence: f64,
    /// Why.
    pub reasons: Vec<String>,
}

/// One cluster's capacity question for `/optimize/scaling`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingRequest {
    /// Cluster.
    pub cluster_id: String,
    /// The window.
    pub window: WindowBounds,
    /// Nodes that reported in the window.
    pub capacity: u32,
    /// Mean CPU utilisation over the cluster in the window.
    pub load: f64,
    /// Jobs queued at the window's end.
    pub queue_length: u32,
    /// Mean CPU utilisation per past window, oldest first, ending with this one.
    pub usage_history: Vec<f64>,
    /// Recent desired capacities, oldest first (for scale-down stabilisation).
    pub recent_desired: Vec<u32>,
    /// Utilisation to aim for.
    pub target_utilisation: f64,
    /// Changes within this fraction of the current capacity are not worth making.
    pub tolerance: f64,
    /// Fewest nodes.
    pub min_capacity: u32,
    /// Most nodes.
    pub max_capacity: u32,
    /// Running cost of one node, per hour.
    pub cost_per_node_hour: f64,
    /// Window length, minutes.
    pub resolution_minutes: f64,
    /// Demand per past window in replicas' worth (the demand metric summed over the nodes,
    /// divided by the capacity of one replica), oldest first, ending with this one. Empty from
    /// a caller that does not send it: `capacity × usage_history` stands in.
    pub demand_history: Vec<f64>,
    /// Windows ahead a decision must cover: 1 plus the start-up delay in windows, rounded up.
    pub lead_windows: u32,
}

/// A capacity decision.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingAnswer {
    /// What to do.
    pub action: ScalingAction,
    /// Capacity asked for.
    pub target_capacity: u32,
    /// Desired capacity before stabilisation (kept for the next request).
    pub desired_capacity: u32,
    /// Change in running cost per hour.
    pub cost_delta_per_hour: f64,
    /// Confidence 0..1.
    pub confidence: f64,
    /// Why.
    pub reasons: Vec<String>,
}

/// Any request.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineRequest {
    /// `/detect/anomaly`
    Anomaly(AnomalyRequest),
    /// `/optimize/performance`
    Performance(PerformanceRequest),
    /// `/analyze/workload`
    Workload(WorkloadRequest),
    /// `/predict/resources`
    Prediction(PredictionRequest),
    /// `/optimize/scaling`
    Scaling(ScalingRequest),
}

impl EngineRequest {
    /// The window the request is about.
    pub fn window(&self) -> WindowBounds {
        match self {
            EngineRequest::Anomaly(r) => r.window,
            EngineRequest::Performance(r) => r.window,
            EngineRequest::Workload(r) => r.window,
            EngineRequest::Prediction(r) => r.window,
            EngineRequest::Scaling(r) => r.window,
        }
    }

    /// What the request is about: `cluster/node` for a node, `cluster` for a cluster,
    /// `cluster/<job type>` for a workload class (the audit's scope of its answer).
    pub fn scope(&self) -> String {
        match self {
            EngineRequest::Anomaly(r) => crate::event::node_key(&r.cluster_id, &r.node_id),
            EngineRequest::Performance(r) => r.cluster_id.clone(),
            EngineRequest::Workload(r) => {
                let job_type = serde_json::to_value(r.job_type)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                format!("{}/{job_type}", r.cluster_id)
            }
            EngineRequest::Prediction(r) => match &r.node_id {
                Some(node) => crate::event::node_key(&r.cluster_id, node),
                None => r.cluster_id.clone(),
            },
            EngineRequest::Scaling(r) => r.cluster_id.clone(),
        }
    }
}

/// Any answer.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineAnswer {
    /// `/detect/anomaly`
    Anomaly(AnomalyAnswer),
    /// `/optimize/performance`
    Performance(PerformanceAnswer),
    /// `/analyze/workload`
    Workload(WorkloadAnswer),
    /// `/predict/resources`
    Prediction(PredictionAnswer),
    /// `/optimize/scaling`
    Scaling(ScalingAnswer),
}
