//! `POST /detect/anomaly`: one node's samples of a window and its baseline before the window;
//! the answer is the alarms, most deviant first.

use crate::engine::builtin::anomaly::{MetricAlarm, NodeBaseline};
use crate::engine::wire::{check, fields, WireError};
use crate::engine::{AnomalyAnswer, AnomalyRequest};
use crate::event::{AnomalyType, Metric, WindowBounds};
use serde::{Deserialize, Serialize};

/// The request: `{"cluster_id", "node_id", "window", "samples": [{"event_time", "values"}],
/// "baseline"}`.
#[derive(Serialize, Deserialize)]
#[serde(remote = "AnomalyRequest")]
pub(super) struct Request {
    cluster_id: String,
    node_id: String,
    window: WindowBounds,
    #[serde(with = "samples")]
    samples: Vec<(i64, [f64; 9])>,
    baseline: Box<NodeBaseline>,
}

/// Reads a request through [`Request`].
#[derive(Deserialize)]
#[serde(transparent)]
pub(super) struct RequestIn(#[serde(with = "Request")] pub(super) AnomalyRequest);

/// Writes a request through [`Request`].
#[derive(Serialize)]
#[serde(transparent)]
pub(super) struct RequestOut<'a>(#[serde(with = "Request")] pub(super) &'a AnomalyRequest);

/// One sample: its event time and its nine values keyed by metric name.
#[derive(Serialize, Deserialize)]
struct Sample {
    #[serde(with = "fields::time_ms")]
    event_time: i64,
    #[serde(with = "fields::metric_values")]
    values: [f64; 9],
}

mod samples {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[(i64, [f64; 9])], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            v.iter()
                .map(|&(event_time, values)| Sample { event_time, values }),
        )
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(i64, [f64; 9])>, D::Error> {
        let samples = Vec::<Sample>::deserialize(d)?;
        Ok(samples
            .into_iter()
            .map(|s| (s.event_time, s.values))
            .collect())
    }
}

/// The answer: `{"alarms": [..]}`.
#[derive(Serialize, Deserialize)]
#[serde(remote = "AnomalyAnswer")]
pub(super) struct Answer {
    #[serde(with = "alarms")]
    alarms: Vec<MetricAlarm>,
}

/// Reads an answer through [`Answer`].
#[derive(Deserialize)]
#[serde(transparent)]
pub(super) struct AnswerIn(#[serde(with = "Answer")] pub(super) AnomalyAnswer);

/// Writes an answer through [`Answer`].
#[derive(Serialize)]
#[serde(transparent)]
pub(super) struct AnswerOut<'a>(#[serde(with = "Answer")] pub(super) &'a AnomalyAnswer);

#[derive(Serialize, Deserialize)]
#[serde(remote = "MetricAlarm")]
struct Alarm {
    #[serde(with = "fields::metric_name")]
    metric: Metric,
    #[serde(rename = "at", with = "fields::time_ms")]
    at_ms: i64,
    value: f64,
    baseline: f64,
    score: f64,
    z: f64,
    shape: AnomalyType,
}

#[derive(Serialize, Deserialize)]
struct AlarmItem(#[serde(with = "Alarm")] MetricAlarm);

mod alarms {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[MetricAlarm], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().cloned().map(AlarmItem))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<MetricAlarm>, D::Error> {
        Ok(Vec::<AlarmItem>::deserialize(d)?
            .into_iter()
            .map(|a| a.0)
            .collect())
    }
}

/// Scores are fractions, deviations are not negative, and every number is finite.
pub(super) fn validate(answer: &AnomalyAnswer) -> Result<(), WireError> {
    for (i, alarm) in answer.alarms.iter().enumerate() {
        check::finite(&format!("alarms[{i}].value"), alarm.value)?;
        check::finite(&format!("alarms[{i}].baseline"), alarm.baseline)?;
        check::fraction(&format!("alarms[{i}].score"), alarm.score)?;
        check::non_negative(&format!("alarms[{i}].z"), alarm.z)?;
    }
    Ok(())
}
