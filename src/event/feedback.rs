//! The events of the two feedback loops and of federation: what actuators report back
//! ([`Outcome`]), what fabric-ai learns from it ([`Effectiveness`]), how right a forecast was
//! ([`PredictionAccuracy`]), and the per-cluster window summary that federation shares
//! between clusters ([`ClusterSummary`]).

use crate::event::error::{check, DecodeError};
use crate::event::time;
use crate::event::WindowBounds;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an actuator did with a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// Carried out.
    Applied,
    /// Declined (by policy or a person).
    Rejected,
    /// Tried, and it did not work.
    Failed,
}

impl OutcomeStatus {
    /// Lowercase name, as on the wire and in metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Applied => "applied",
            OutcomeStatus::Rejected => "rejected",
            OutcomeStatus::Failed => "failed",
        }
    }
}

/// An actuator's report on one decision, read from the outcomes topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The `id` of the decision acted on.
    pub decision_id: String,
    /// What happened.
    pub status: OutcomeStatus,
    /// When it happened (applied: when the change took effect).
    #[serde(with = "time::rfc3339")]
    pub at: DateTime<Utc>,
    /// Who acted.
    pub actuator: String,
    /// Free text from the actuator, if any.
    #[serde(default)]
    pub detail: Option<String>,
}

impl Outcome {
    /// Rejects an outcome without a decision id or actuator, or with an implausible time.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check::id("decision_id", &self.decision_id)?;
        check::id("actuator", &self.actuator)?;
        check::event_time("at", &self.at)?;
        Ok(())
    }
}

/// Whether an applied decision moved its target metric, measured on the cluster's windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effectiveness {
    /// Deterministic id: the decision id and the metric.
    pub id: String,
    /// Output schema version.
    pub schema_version: u32,
    /// The decision that was applied.
    pub decision_id: String,
    /// Its kind: a recommendation type (`load_balancing`, ...) or `scaling_decision`.
    pub decision_kind: String,
    /// Cluster measured.
    pub cluster_id: String,
    /// The decision's scope.
    pub scope: String,
    /// When the actuator applied it.
    #[serde(with = "time::rfc3339")]
    pub applied_at: DateTime<Utc>,
    /// Who applied it.
    pub actuator: String,
    /// The target metric (`cpu_util`, `cpu_util_max`, `queued_jobs`, `energy_watts`).
    pub metric: String,
    /// The window the "before" value comes from: the last one the decision saw.
    pub window_before: WindowBounds,
    /// The window the "after" value comes from: the first one starting after `applied_at`.
    pub window_after: WindowBounds,
    /// The metric in `window_before`.
    pub before: f64,
    /// The metric in `window_after`.
    pub after: f64,
    /// `after - before`.
    pub change: f64,
    /// `change / before`, or none when `before` is 0.
    pub relative_change: Option<f64>,
    /// Whether the metric moved the way the decision meant it to.
    pub improved: bool,
}

/// One horizon of one published forecast, compared with what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionAccuracy {
    /// Deterministic id: the prediction id and the horizon.
    pub id: String,
    /// Output schema version.
    pub schema_version: u32,
    /// The prediction's id.
    pub prediction_id: String,
    /// Cluster.
    pub cluster_id: String,
    /// The prediction's scope.
    pub scope: String,
    /// Node, or none for the cluster as a whole.
    pub node_id: Option<String>,
    /// Resource, as a metric field name.
    pub resource: String,
    /// Minutes after the prediction's window.
    pub horizon_minutes: u32,
    /// The window the forecast was for.
    pub target_window: WindowBounds,
    /// Point forecast.
    pub predicted: f64,
    /// The window's actual mean.
    pub actual: f64,
    /// `actual - predicted`.
    pub error: f64,
    /// `|error| / |actual|`, or none when `actual` is 0.
    pub abs_pct_error: Option<f64>,
    /// Whether `actual` fell in the 80% interval.
    pub within_80: bool,
    /// Whether `actual` fell in the 95% interval.
    pub within_95: bool,
}

/// One cluster over one performance window, as federation sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterSummary {
    /// Output schema version.
    pub schema_version: u32,
    /// Cluster.
    pub cluster_id: String,
    /// The window.
    pub window: WindowBounds,
    /// Nodes that reported in the window.
    pub nodes: u32,
    /// Samples in the window.
    pub samples: u32,
    /// Mean CPU utilisation over the cluster's nodes, 0..1.
    pub cpu_util: f64,
    /// Mean CPU utilisation of the hottest node, 0..1.
    pub cpu_util_max: f64,
    /// Mean memory utilisation over the cluster's nodes, 0..1.
    pub memory_util: f64,
    /// Jobs queued at the window's end.
    pub queued_jobs: u32,
    /// Jobs running at the window's end.
    pub active_jobs: u32,
    /// Sum of the nodes' mean power draw, watts.
    pub energy_watts: f64,
}

impl ClusterSummary {
    /// Rejects a summary no fabric-ai member would write.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check::id("cluster_id", &self.cluster_id)?;
        check::fraction("cpu_util", self.cpu_util)?;
        check::fraction("cpu_util_max", self.cpu_util_max)?;
        check::fraction("memory_util", self.memory_util)?;
        check::non_negative("energy_watts", self.energy_watts)?;
        if self.window.end <= self.window.start {
            return Err(DecodeError::Invalid {
                field: "window",
                reason: "end must be after start".into(),
            });
        }
        Ok(())
    }

    /// The value of a summary field by name, as used for effectiveness targets.
    pub fn value(&self, metric: &str) -> Option<f64> {
        match metric {
            "cpu_util" => Some(self.cpu_util),
            "cpu_util_max" => Some(self.cpu_util_max),
            "memory_util" => Some(self.memory_util),
            "queued_jobs" => Some(f64::from(self.queued_jobs)),
            "energy_watts" => Some(self.energy_watts),
            _ => None,
        }
    }
}
