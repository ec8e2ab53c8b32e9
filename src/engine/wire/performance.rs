//! `POST /optimize/performance`: one cluster's per-node aggregates of a window with the goal
//! weights and limits; the answer is a list of recommendations, possibly empty.

use crate::engine::request::{Constraints, Goals, NodeAggregate, RecommendationFinding};
use crate::engine::wire::{check, fields, WireError};
use crate::engine::{PerformanceAnswer, PerformanceRequest};
use crate::event::{RecommendationType, WindowBounds};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The request: `{"cluster_id", "window", "nodes": {"<node>": {..}}, "queued_jobs", "goals",
/// "constraints"}`.
#[derive(Serialize, Deserialize)]
#[serde(remote = "PerformanceRequest")]
pub(super) struct Request {
    cluster_id: String,
    window: WindowBounds,
    #[serde(with = "nodes")]
    nodes: BTreeMap<String, NodeAggregate>,
    queued_jobs: u32,
    #[serde(with = "GoalsDef")]
    goals: Goals,
    #[serde(with = "ConstraintsDef")]
    constraints: Constraints,
}

/// Reads a request through [`Request`].
#[derive(Deserialize)]
#[serde(transparent)]
pub(super) struct RequestIn(#[serde(with = "Request")] pub(super) PerformanceRequest);

/// Writes a request through [`Request`].
#[derive(Serialize)]
#[serde(transparent)]
pub(super) struct RequestOut<'a>(#[serde(with = "Request")] pub(super) &'a PerformanceRequest);

#[derive(Serialize, Deserialize)]
#[serde(remote = "NodeAggregate")]
struct NodeAggregateDef {
    samples: u32,
    #[serde(with = "fields::metric_values")]
    mean: [f64; 9],
    #[serde(with = "fields::metric_values")]
    max: [f64; 9],
    active_jobs: u32,
}

#[derive(Serialize, Deserialize)]
struct Node(#[serde(with = "NodeAggregateDef")] NodeAggregate);

mod nodes {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        v: &BTreeMap<String, NodeAggregate>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(v.iter().map(|(id, n)| (id, Node(*n))))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, NodeAggregate>, D::Error> {
        let nodes = BTreeMap::<String, Node>::deserialize(d)?;
        Ok(nodes.into_iter().map(|(id, n)| (id, n.0)).collect())
    }
}

// The in-process `Goals` and `Constraints` refuse unknown fields (they are configuration);
// on the wire unknown fields are ignored, so they get their own representation here.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Goals")]
struct GoalsDef {
    #[serde(with = "fields::nullable")]
    throughput: f64,
    #[serde(with = "fields::nullable")]
    latency: f64,
    #[serde(with = "fields::nullable")]
    balance: f64,
    #[serde(with = "fields::nullable")]
    energy: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Constraints")]
struct ConstraintsDef {
    #[serde(with = "fields::nullable")]
    max_cpu: f64,
    #[serde(with = "fields::nullable")]
    max_memory: f64,
    #[serde(with = "fields::nullable")]
    min_availability: f64,
}

/// The answer: `{"recommendations": [..]}`.
#[derive(Serialize, Deserialize)]
#[serde(remote = "PerformanceAnswer")]
pub(super) struct Answer {
    #[serde(with = "recommendations")]
    recommendations: Vec<RecommendationFinding>,
}

/// Reads an answer through [`Answer`].
#[derive(Deserialize)]
#[serde(transparent)]
pub(super) struct AnswerIn(#[serde(with = "Answer")] pub(super) PerformanceAnswer);

/// Writes an answer through [`Answer`].
#[derive(Serialize)]
#[serde(transparent)]
pub(super) struct AnswerOut<'a>(#[serde(with = "Answer")] pub(super) &'a PerformanceAnswer);

#[derive(Serialize, Deserialize)]
#[serde(remote = "RecommendationFinding")]
struct Finding {
    recommendation_type: RecommendationType,
    action: String,
    target_nodes: Vec<String>,
    expected_gains: BTreeMap<String, f64>,
    risk: String,
    confidence: f64,
    reasons: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct FindingItem(#[serde(with = "Finding")] RecommendationFinding);

mod recommendations {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[RecommendationFinding], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().cloned().map(FindingItem))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<RecommendationFinding>, D::Error> {
        Ok(Vec::<FindingItem>::deserialize(d)?
            .into_iter()
            .map(|f| f.0)
            .collect())
    }
}

/// Recommendation types an engine may answer for one cluster's window.
pub const PER_CLUSTER_TYPES: [&str; 5] = [
    "load_balancing",
    "resource_allocation",
    "migration",
    "scaling",
    "energy_optimization",
];

/// Risks the contract knows.
pub const RISKS: [&str; 3] = ["low", "medium", "high"];

/// Every confidence is a fraction, every risk is `low`, `medium` or `high`, gains are finite.
pub(super) fn validate(answer: &PerformanceAnswer) -> Result<(), WireError> {
    for (i, r) in answer.recommendations.iter().enumerate() {
        check::fraction(&format!("recommendations[{i}].confidence"), r.confidence)?;
        check::one_of(&format!("recommendations[{i}].risk"), &r.risk, &RISKS)?;
        // Moves between clusters are federation's; one cluster's window cannot ask for them.
        check::one_of(
            &format!("recommendations[{i}].recommendation_type"),
            r.recommendation_type.as_str(),
            &PER_CLUSTER_TYPES,
        )?;
        for (goal, gain) in &r.expected_gains {
            check::finite(
                &format!("recommendations[{i}].expected_gains.{goal}"),
                *gain,
            )?;
        }
    }
    Ok(())
}
