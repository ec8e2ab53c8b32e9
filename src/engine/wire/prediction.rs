//! `POST /predict/resources`: one resource's history of window means for a node or a
//! cluster; the answer is one forecast per requested horizon and a confidence.

use crate::engine::wire::{check, fields, WireError};
use crate::engine::{PredictionAnswer, PredictionRequest};
use crate::event::{HorizonForecast, Metric, WindowBounds};
use serde::{Deserialize, Serialize};

/// The request: `{"cluster_id", "node_id", "resource", "window", "history",
/// "resolution_minutes", "horizons_minutes"}`; `node_id` is null or absent for a cluster.
#[derive(Serialize, Deserialize)]
#[serde(remote = "PredictionRequest")]
pub(super) struct Request {
    cluster_id: String,
    #[serde(default)]
    node_id: Option<String>,
    #[serde(with = "fields::metric_name")]
    resource: Metric,
    window: WindowBounds,
    #[serde(with = "fields::nullable_vec")]
    history: Vec<f64>,
    #[serde(with = "fields::nullable")]
    resolution_minutes: f64,
    horizons_minutes: Vec<u32>,
}

/// Reads a request through [`Request`].
#[derive(Deserialize)]
#[serde(transparent)]
pub(super) struct RequestIn(#[serde(with = "Request")] pub(super) PredictionRequest);

/// Writes a request through [`Request`].
#[derive(Serialize)]
#[serde(transparent)]
pub(super) struct RequestOut<'a>(#[serde(with = "Request")] pub(super) &'a PredictionRequest);

/// The answer: `{"horizons": [{"horizon_minutes", "mean", "lower_80", "upper_80",
/// "lower_95", "upper_95"}], "confidence", "reasons"}`.
#[derive(Serialize, Deserialize)]
#[serde(remote = "PredictionAnswer")]
pub(super) struct Answer {
    horizons: Vec<HorizonForecast>,
    confidence: f64,
    reasons: Vec<String>,
}

/// Reads an answer through [`Answer`].
#[derive(Deserialize)]
#[serde(transparent)]
pub(super) struct AnswerIn(#[serde(with = "Answer")] pub(super) PredictionAnswer);

/// Writes an answer through [`Answer`].
#[derive(Serialize)]
#[serde(transparent)]
pub(super) struct AnswerOut<'a>(#[serde(with = "Answer")] pub(super) &'a PredictionAnswer);

/// Confidence is a fraction and each horizon's intervals nest around its mean:
/// `lower_95 <= lower_80 <= mean <= upper_80 <= upper_95`.
///
/// Known limit: the forecast's unit is the requested resource's, which the answer does not
/// repeat, so a utilisation forecast above 1 is not caught here, and neither is an answer
/// with other horizons than were asked for; the caller, which has the request, checks those.
pub(super) fn validate(answer: &PredictionAnswer) -> Result<(), WireError> {
    check::fraction("confidence", answer.confidence)?;
    for (i, h) in answer.horizons.iter().enumerate() {
        let f = |name: &str| format!("horizons[{i}].{name}");
        let chain = [
            ("lower_95", h.lower_95),
            ("lower_80", h.lower_80),
            ("mean", h.mean),
            ("upper_80", h.upper_80),
            ("upper_95", h.upper_95),
        ];
        for (name, v) in chain {
            check::finite(&f(name), v)?;
        }
        for pair in chain.windows(2) {
            check::ordered(&f(pair[0].0), pair[0].1, &f(pair[1].0), pair[1].1)?;
        }
    }
    Ok(())
}
