//! Confidence gating: which decisions are acted on.
//!
//! A decision whose confidence reaches its threshold is accepted and published on its
//! actionable topic; one below is rejected and goes to the audit topic only, with the
//! threshold it missed. Recommendations are judged by the threshold of their type, scaling
//! decisions by the `scaling` threshold, and everything else by `min_confidence`. The defaults
//! are the thresholds of the control plane fabric-ai replaces.

use crate::config::ConfigError;
use crate::event::RecommendationType;
use crate::processor::Decision;
use serde::{Deserialize, Serialize};

/// Confidence thresholds, each in 0..1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatingConfig {
    /// Threshold of anomalies, predictions and workload insights.
    pub min_confidence: f64,
    /// Recommendations that move load from hot nodes to cold ones.
    pub load_balancing: f64,
    /// Recommendations that change what jobs are given.
    pub resource_allocation: f64,
    /// Recommendations that move a job to another node.
    pub migration: f64,
    /// Scaling recommendations and scaling decisions.
    pub scaling: f64,
    /// Recommendations that consolidate idle nodes to save energy.
    pub energy_optimization: f64,
    /// Federation's recommendations to move load from a hot cluster to a cold one.
    pub cross_cluster: f64,
}

impl Default for GatingConfig {
    fn default() -> Self {
        GatingConfig {
            min_confidence: 0.7,
            load_balancing: 0.7,
            resource_allocation: 0.6,
            migration: 0.8,
            scaling: 0.75,
            energy_optimization: 0.65,
            cross_cluster: 0.7,
        }
    }
}

/// What gating decided for one decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gate {
    /// Published on its topic.
    Accepted {
        /// The threshold it reached.
        threshold: f64,
    },
    /// Audited only.
    Rejected {
        /// The threshold it missed.
        threshold: f64,
    },
}

impl Gate {
    /// Whether the decision is published.
    pub fn accepted(&self) -> bool {
        matches!(self, Gate::Accepted { .. })
    }

    /// `accepted` or `rejected`, for audit records and metrics.
    pub fn label(&self) -> &'static str {
        if self.accepted() {
            "accepted"
        } else {
            "rejected"
        }
    }

    /// The threshold the decision was judged against.
    pub fn threshold(&self) -> f64 {
        match self {
            Gate::Accepted { threshold } | Gate::Rejected { threshold } => *threshold,
        }
    }
}

impl GatingConfig {
    /// Refuses thresholds outside 0..1, naming the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fields = [
            ("gating.min_confidence", self.min_confidence),
            ("gating.load_balancing", self.load_balancing),
            ("gating.resource_allocation", self.resource_allocation),
            ("gating.migration", self.migration),
            ("gating.scaling", self.scaling),
            ("gating.energy_optimization", self.energy_optimization),
            ("gating.cross_cluster", self.cross_cluster),
        ];
        for (field, value) in fields {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError::Invalid {
                    field: field.to_owned(),
                    reason: format!("must be a confidence in 0..1, not {value}"),
                });
            }
        }
        Ok(())
    }

    /// The threshold that applies to `decision`.
    pub fn threshold(&self, decision: &Decision) -> f64 {
        match decision {
            Decision::Recommendation(r) => match r.recommendation_type {
                RecommendationType::LoadBalancing => self.load_balancing,
                RecommendationType::ResourceAllocation => self.resource_allocation,
                RecommendationType::Migration => self.migration,
                RecommendationType::Scaling => self.scaling,
                RecommendationType::EnergyOptimization => self.energy_optimization,
                RecommendationType::CrossClusterMove => self.cross_cluster,
            },
            Decision::Scaling(_) => self.scaling,
            Decision::Anomaly(_) | Decision::Prediction(_) | Decision::Insight(_) => {
                self.min_confidence
            }
        }
    }

    /// Judges one decision by its confidence.
    pub fn gate(&self, decision: &Decision) -> Gate {
        let threshold = self.threshold(decision);
        if decision.header().confidence >= threshold {
            Gate::Accepted { threshold }
        } else {
            Gate::Rejected { threshold }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DecisionHeader, Recommendation, Source, WindowBounds};
    use chrono::{TimeZone, Utc};

    fn recommendation(kind: RecommendationType, confidence: f64) -> Decision {
        let window = WindowBounds {
            start: Utc.timestamp_millis_opt(0).unwrap(),
            end: Utc.timestamp_millis_opt(300_000).unwrap(),
        };
        Decision::Recommendation(Recommendation {
            header: DecisionHeader::new(
                "recommendation",
                "c",
                "c".into(),
                window,
                confidence,
                Source::Builtin,
                vec![],
            ),
            recommendation_type: kind,
            action: "act".into(),
            target_nodes: vec![],
            expected_gains: Default::default(),
            risk: "low".into(),
            target_cluster: None,
        })
    }

    #[test]
    fn each_recommendation_type_is_judged_by_its_own_threshold() {
        let g = GatingConfig::default();
        let at = |kind, c| g.gate(&recommendation(kind, c)).accepted();
        assert!(at(RecommendationType::ResourceAllocation, 0.62));
        assert!(!at(RecommendationType::LoadBalancing, 0.62));
        assert!(!at(RecommendationType::Migration, 0.79));
        assert!(at(RecommendationType::Migration, 0.8));
        assert!(at(RecommendationType::EnergyOptimization, 0.65));
        assert!(!at(RecommendationType::Scaling, 0.74));
    }

    #[test]
    fn a_threshold_outside_zero_to_one_names_its_field() {
        let g = GatingConfig {
            migration: 1.5,
            ..GatingConfig::default()
        };
        let error = g.validate().unwrap_err().to_string();
        assert!(error.contains("gating.migration"), "{error}");
    }
}
