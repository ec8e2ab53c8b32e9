//! Turning an engine's answer to a window's request into decision events.

use crate::engine::{EngineAnswer, EngineRequest};
use crate::event::{
    self, node_key, AffectedMetric, Anomaly, AnomalyType, DecisionHeader, Encoding, Recommendation,
    ResourcePrediction, ScalingDecision, Severity, Source, WorkloadInsight,
};
use crate::topics::TopicRole;

/// Any decision, ready to publish.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// To the anomalies topic.
    Anomaly(Anomaly),
    /// To the recommendations topic.
    Recommendation(Recommendation),
    /// To the predictions topic.
    Prediction(ResourcePrediction),
    /// To the workload-insights topic.
    Insight(WorkloadInsight),
    /// To the scaling-decisions topic.
    Scaling(ScalingDecision),
}

impl Decision {
    /// The common header.
    pub fn header(&self) -> &DecisionHeader {
        match self {
            Decision::Anomaly(d) => &d.header,
            Decision::Recommendation(d) => &d.header,
            Decision::Prediction(d) => &d.header,
            Decision::Insight(d) => &d.header,
            Decision::Scaling(d) => &d.header,
        }
    }

    /// The output topic's role.
    pub fn role(&self) -> TopicRole {
        match self {
            Decision::Anomaly(_) => TopicRole::Anomalies,
            Decision::Recommendation(_) => TopicRole::Recommendations,
            Decision::Prediction(_) => TopicRole::Predictions,
            Decision::Insight(_) => TopicRole::WorkloadInsights,
            Decision::Scaling(_) => TopicRole::ScalingDecisions,
        }
    }

    /// The message key: the decision's scope.
    pub fn key(&self) -> &str {
        &self.header().scope
    }

    /// Encodes the decision.
    pub fn encode(&self, encoding: Encoding) -> Result<Vec<u8>, event::codec::EncodeError> {
        match self {
            Decision::Anomaly(d) => event::encode(d, encoding),
            Decision::Recommendation(d) => event::encode(d, encoding),
            Decision::Prediction(d) => event::encode(d, encoding),
            Decision::Insight(d) => event::encode(d, encoding),
            Decision::Scaling(d) => event::encode(d, encoding),
        }
    }
}

/// Who answered and which emission of the window this is.
#[derive(Debug, Clone, Copy)]
struct Stamp {
    source: Source,
    revision: u32,
}

fn header(
    kind: &str,
    cluster: &str,
    scope: String,
    window: event::WindowBounds,
    confidence: f64,
    reasons: Vec<String>,
    stamp: Stamp,
) -> DecisionHeader {
    let confidence = confidence.clamp(0.0, 1.0);
    let mut h = DecisionHeader::new(
        kind,
        cluster,
        scope,
        window,
        confidence,
        stamp.source,
        reasons,
    );
    h.revision = stamp.revision;
    h
}

/// The decisions of one answered window. An answer of the wrong kind gives none.
pub fn decisions_from(
    request: &EngineRequest,
    answer: &EngineAnswer,
    revision: u32,
    source: Source,
) -> Vec<Decision> {
    let stamp = Stamp { source, revision };
    match (request, answer) {
        (EngineRequest::Anomaly(r), EngineAnswer::Anomaly(a)) => {
            let Some(top) = a.alarms.first() else {
                return Vec::new();
            };
            let reasons = a
                .alarms
                .iter()
                .map(|m| {
                    format!(
                        "{} {} at {:.3} against a baseline of {:.3} ({:.1} standard deviations)",
                        m.metric.field(),
                        shape_word(m.shape),
                        m.value,
                        m.baseline,
                        m.z
                    )
                })
                .collect();
            let scope = node_key(&r.cluster_id, &r.node_id);
            let detected = a.alarms.iter().map(|m| m.at_ms).min().unwrap_or(top.at_ms);
            vec![Decision::Anomaly(Anomaly {
                header: header(
                    super::anomaly::KIND,
                    &r.cluster_id,
                    scope,
                    r.window,
                    top.score,
                    reasons,
                    stamp,
                ),
                node_id: r.node_id.clone(),
                anomaly_type: top.shape,
                severity: Severity::from_score(top.score),
                score: top.score,
                detected_at: chrono::DateTime::from_timestamp_millis(detected)
                    .unwrap_or(r.window.start),
                metrics: a
                    .alarms
                    .iter()
                    .map(|m| AffectedMetric {
                        metric: m.metric.field().to_owned(),
                        value: m.value,
                        baseline: m.baseline,
                        score: m.score,
                    })
                    .collect(),
            })]
        }
        (EngineRequest::Performance(r), EngineAnswer::Performance(a)) => a
            .recommendations
            .iter()
            .map(|f| {
                let kind_name = serde_json::to_value(f.recommendation_type)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                Decision::Recommendation(Recommendation {
                    header: header(
                        &format!("recommendation.{kind_name}"),
                        &r.cluster_id,
                        r.cluster_id.clone(),
                        r.window,
                        f.confidence,
                        f.reasons.clone(),
                        stamp,
                    ),
                    recommendation_type: f.recommendation_type,
                    action: f.action.clone(),
                    target_nodes: f.target_nodes.clone(),
                    expected_gains: f.expected_gains.clone(),
                    risk: f.risk.clone(),
                    target_cluster: None,
                })
            })
            .collect(),
        (EngineRequest::Workload(r), EngineAnswer::Workload(a)) => {
            let job_type = serde_json::to_value(r.job_type)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let scope = format!("{}/{job_type}", r.cluster_id);
            let ended: Vec<f64> = r.runtimes_s.clone();
            vec![Decision::Insight(WorkloadInsight {
                header: header(
                    "workload",
                    &r.cluster_id,
                    scope,
                    r.window,
                    a.confidence,
                    a.reasons.clone(),
                    stamp,
                ),
                job_type,
                classes: a.classes.clone(),
                arrivals: r.arrivals_ms.len() as u32,
                completions: r.completions,
                failures: r.failures,
                mean_runtime_s: (!ended.is_empty())
                    .then(|| ended.iter().sum::<f64>() / ended.len() as f64),
                seasonality_period_minutes: a.seasonality_period_minutes,
                seasonality_strength: a.seasonality_strength,
            })]
        }
        (EngineRequest::Prediction(r), EngineAnswer::Prediction(a)) => {
            if a.horizons.is_empty() {
                return Vec::new();
            }
            let scope = match &r.node_id {
                Some(node) => format!("{}/{}", node_key(&r.cluster_id, node), r.resource.field()),
                None => format!("{}/{}", r.cluster_id, r.resource.field()),
            };
            vec![Decision::Prediction(ResourcePrediction {
                header: header(
                    "prediction",
                    &r.cluster_id,
                    scope,
                    r.window,
                    a.confidence,
                    a.reasons.clone(),
                    stamp,
                ),
                node_id: r.node_id.clone(),
                resource: r.resource.field().to_owned(),
                horizons: a.horizons.clone(),
            })]
        }
        (EngineRequest::Scaling(r), EngineAnswer::Scaling(a)) => {
            vec![Decision::Scaling(ScalingDecision {
                header: header(
                    "scaling",
                    &r.cluster_id,
                    r.cluster_id.clone(),
                    r.window,
                    a.confidence,
                    a.reasons.clone(),
                    stamp,
                ),
                action: a.action,
                current_capacity: r.capacity,
                target_capacity: a.target_capacity,
                cost_delta_per_hour: a.cost_delta_per_hour,
            })]
        }
        _ => Vec::new(),
    }
}

fn shape_word(shape: AnomalyType) -> &'static str {
    match shape {
        AnomalyType::Spike => "spiked",
        AnomalyType::LevelShift => "shifted",
        AnomalyType::Outlier => "deviated",
        AnomalyType::NodeSilent => "went silent",
    }
}
