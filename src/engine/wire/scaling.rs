//! `POST /optimize/scaling`: one cluster's capacity, load and history over a window with the
//! scaling policy; the answer is an action, a target capacity and a confidence.

use crate::engine::wire::{check, fields, WireError};
use crate::engine::{ScalingAnswer, ScalingRequest};
use crate::event::{ScalingAction, WindowBounds};
use serde::{Deserialize, Serialize};

/// The request: the cluster's capacity (nodes), load (mean CPU fraction), queue and history,
/// and the policy (`target_utilisation`, `tolerance`, capacity bounds, cost).
#[derive(Serialize, Deserialize)]
#[serde(remote = "ScalingRequest")]
pub(super) struct Request {
    cluster_id: String,
    window: WindowBounds,
    capacity: u32,
    #[serde(with = "fields::nullable")]
    load: f64,
    queue_length: u32,
    #[serde(with = "fields::nullable_vec")]
    usage_history: Vec<f64>,
    recent_desired: Vec<u32>,
    #[serde(with = "fields::nullable")]
    target_utilisation: f64,
    #[serde(with = "fields::nullable")]
    tolerance: f64,
    min_capacity: u32,
    max_capacity: u32,
    #[serde(with = "fields::nullable")]
    cost_per_node_hour: f64,
    #[serde(with = "fields::nullable")]
    resolution_minutes: f64,
    #[serde(default, with = "fields::nullable_vec")]
    demand_history: Vec<f64>,
    #[serde(default = "one")]
    lead_windows: u32,
}

/// A request without `lead_windows` covers the next window only.
fn one() -> u32 {
    1
}

/// Reads a request through [`Request`].
#[derive(Deserialize)]
#[serde(transparent)]
pub(super) struct RequestIn(#[serde(with = "Request")] pub(super) ScalingRequest);

/// Writes a request through [`Request`].
#[derive(Serialize)]
#[serde(transparent)]
pub(super) struct RequestOut<'a>(#[serde(with = "Request")] pub(super) &'a ScalingRequest);

/// The answer: `{"action", "target_capacity", "desired_capacity", "cost_delta_per_hour",
/// "confidence", "reasons"}`.
#[derive(Serialize, Deserialize)]
#[serde(remote = "ScalingAnswer")]
pub(super) struct Answer {
    action: ScalingAction,
    target_capacity: u32,
    desired_capacity: u32,
    cost_delta_per_hour: f64,
    confidence: f64,
    reasons: Vec<String>,
}

/// Reads an answer through [`Answer`].
#[derive(Deserialize)]
#[serde(transparent)]
pub(super) struct AnswerIn(#[serde(with = "Answer")] pub(super) ScalingAnswer);

/// Writes an answer through [`Answer`].
#[derive(Serialize)]
#[serde(transparent)]
pub(super) struct AnswerOut<'a>(#[serde(with = "Answer")] pub(super) &'a ScalingAnswer);

/// Confidence is a fraction and the cost change is finite; counts cannot be negative by type.
pub(super) fn validate(answer: &ScalingAnswer) -> Result<(), WireError> {
    check::fraction("confidence", answer.confidence)?;
    check::finite("cost_delta_per_hour", answer.cost_delta_per_hour)?;
    Ok(())
}
