//! `POST /analyze/workload`: the jobs of one type in one cluster over a window; the answer is
//! the classes that apply, the seasonality of arrivals if any, and a confidence.

use crate::engine::wire::{check, fields, WireError};
use crate::engine::{WorkloadAnswer, WorkloadRequest};
use crate::event::{JobType, WindowBounds};
use serde::{Deserialize, Serialize};

/// The request: `{"cluster_id", "job_type", "window", "arrivals": [times], "completions",
/// "failures", "runtimes_s", "node_mean", "arrival_history", "resolution_minutes"}`.
#[derive(Serialize, Deserialize)]
#[serde(remote = "WorkloadRequest")]
pub(super) struct Request {
    cluster_id: String,
    job_type: JobType,
    window: WindowBounds,
    #[serde(rename = "arrivals", with = "fields::time_ms_vec")]
    arrivals_ms: Vec<i64>,
    completions: u32,
    failures: u32,
    #[serde(with = "fields::nullable_vec")]
    runtimes_s: Vec<f64>,
    #[serde(default, with = "fields::metric_values_opt")]
    node_mean: Option<[f64; 9]>,
    arrival_history: Vec<u32>,
    #[serde(with = "fields::nullable")]
    resolution_minutes: f64,
}

/// Reads a request through [`Request`].
#[derive(Deserialize)]
#[serde(transparent)]
pub(super) struct RequestIn(#[serde(with = "Request")] pub(super) WorkloadRequest);

/// Writes a request through [`Request`].
#[derive(Serialize)]
#[serde(transparent)]
pub(super) struct RequestOut<'a>(#[serde(with = "Request")] pub(super) &'a WorkloadRequest);

/// The answer: `{"classes", "seasonality_period_minutes", "seasonality_strength",
/// "confidence", "reasons"}`; the two seasonality fields may be null or absent.
#[derive(Serialize, Deserialize)]
#[serde(remote = "WorkloadAnswer")]
pub(super) struct Answer {
    classes: Vec<String>,
    #[serde(default)]
    seasonality_period_minutes: Option<f64>,
    #[serde(default)]
    seasonality_strength: Option<f64>,
    confidence: f64,
    reasons: Vec<String>,
}

/// Reads an answer through [`Answer`].
#[derive(Deserialize)]
#[serde(transparent)]
pub(super) struct AnswerIn(#[serde(with = "Answer")] pub(super) WorkloadAnswer);

/// Writes an answer through [`Answer`].
#[derive(Serialize)]
#[serde(transparent)]
pub(super) struct AnswerOut<'a>(#[serde(with = "Answer")] pub(super) &'a WorkloadAnswer);

/// Confidence and strength are fractions; a period is not negative.
pub(super) fn validate(answer: &WorkloadAnswer) -> Result<(), WireError> {
    check::fraction("confidence", answer.confidence)?;
    if let Some(period) = answer.seasonality_period_minutes {
        check::non_negative("seasonality_period_minutes", period)?;
    }
    if let Some(strength) = answer.seasonality_strength {
        check::fraction("seasonality_strength", strength)?;
    }
    Ok(())
}
