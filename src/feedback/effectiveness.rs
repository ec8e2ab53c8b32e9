//! Effectiveness: did an applied decision help? Published recommendations and scaling
//! decisions are remembered with their cluster's latest window summary (the "before"). When an
//! actuator reports one as applied, the first summary of that cluster whose window starts at or
//! after the application is the "after", and an [`Effectiveness`] event compares the decision
//! kind's target metric in the two.
//!
//! | decision | target metric | better when |
//! | --- | --- | --- |
//! | load balancing, migration, scaling `migrate` | `cpu_util_max` (hottest node) | lower |
//! | resource allocation | `queued_jobs` | lower |
//! | energy optimisation, scale in or down, consolidate | `energy_watts` | lower |
//! | scaling recommendation, scale out or up, cross-cluster move | `cpu_util` | lower |
//!
//! Memory is bounded by `feedback.max_tracked_decisions` (oldest forgotten first) and lives in
//! the process only: an outcome for a decision made before a restart, or forgotten, counts as
//! `unknown` and gets no event.

use crate::event::output::SCHEMA_VERSION;
use crate::event::{
    ClusterSummary, Effectiveness, Outcome, OutcomeStatus, RecommendationType, ScalingAction,
};
use crate::processor::Decision;
use std::collections::{HashMap, VecDeque};

/// A published decision waiting for its outcome.
#[derive(Debug, Clone)]
struct Tracked {
    kind: String,
    metric: &'static str,
    cluster_id: String,
    scope: String,
    before: Option<ClusterSummary>,
}

/// An applied decision waiting for a window after its application.
#[derive(Debug, Clone)]
struct Applied {
    decision_id: String,
    tracked: Tracked,
    at: chrono::DateTime<chrono::Utc>,
    actuator: String,
}

/// What became of one outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeSeen {
    /// The decision's kind, or `unknown` when it is not remembered.
    pub kind: String,
    /// The reported status.
    pub status: OutcomeStatus,
}

/// Remembered decisions, waiting applications and the latest summary per cluster.
#[derive(Debug)]
pub struct EffectivenessTracker {
    tracked: HashMap<String, Tracked>,
    order: VecDeque<String>,
    waiting: HashMap<String, Vec<Applied>>,
    waiting_count: usize,
    latest: HashMap<String, ClusterSummary>,
    max: usize,
}

/// The kind label and target metric of a decision, or none when nothing is acted on.
fn target(decision: &Decision) -> Option<(String, &'static str)> {
    match decision {
        Decision::Recommendation(r) => {
            let metric = match r.recommendation_type {
                RecommendationType::LoadBalancing | RecommendationType::Migration => "cpu_util_max",
                RecommendationType::ResourceAllocation => "queued_jobs",
                RecommendationType::EnergyOptimization => "energy_watts",
                RecommendationType::Scaling | RecommendationType::CrossClusterMove => "cpu_util",
            };
            Some((r.recommendation_type.as_str().to_owned(), metric))
        }
        Decision::Scaling(s) => {
            let metric = match s.action {
                ScalingAction::NoAction => return None,
                ScalingAction::Migrate => "cpu_util_max",
                ScalingAction::ScaleIn | ScalingAction::ScaleDown | ScalingAction::Consolidate => {
                    "energy_watts"
                }
                ScalingAction::ScaleOut | ScalingAction::ScaleUp => "cpu_util",
            };
            Some(("scaling_decision".to_owned(), metric))
        }
        Decision::Anomaly(_) | Decision::Prediction(_) | Decision::Insight(_) => None,
    }
}

impl EffectivenessTracker {
    /// A tracker remembering at most `max` decisions (and as many waiting applications).
    pub fn new(max: usize) -> EffectivenessTracker {
        EffectivenessTracker {
            tracked: HashMap::new(),
            order: VecDeque::new(),
            waiting: HashMap::new(),
            waiting_count: 0,
            latest: HashMap::new(),
            max,
        }
    }

    /// Decisions remembered and applications waiting.
    pub fn sizes(&self) -> (usize, usize) {
        (self.tracked.len(), self.waiting_count)
    }

    /// Remembers a published decision an actuator may act on.
    pub fn on_decision(&mut self, decision: &Decision) {
        let Some((kind, metric)) = target(decision) else {
            return;
        };
        let header = decision.header();
        if self.tracked.contains_key(&header.id) {
            return;
        }
        while self.tracked.len() >= self.max {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.tracked.remove(&oldest);
                }
                None => break,
            }
        }
        self.order.push_back(header.id.clone());
        self.tracked.insert(
            header.id.clone(),
            Tracked {
                kind,
                metric,
                cluster_id: header.cluster_id.clone(),
                scope: header.scope.clone(),
                before: self.latest.get(&header.cluster_id).cloned(),
            },
        );
    }

    /// Takes an actuator's report; an applied decision starts waiting for its "after".
    pub fn on_outcome(&mut self, outcome: &Outcome) -> OutcomeSeen {
        let Some(tracked) = self.tracked.remove(&outcome.decision_id) else {
            return OutcomeSeen {
                kind: "unknown".into(),
                status: outcome.status,
            };
        };
        self.order.retain(|id| id != &outcome.decision_id);
        let seen = OutcomeSeen {
            kind: tracked.kind.clone(),
            status: outcome.status,
        };
        if outcome.status == OutcomeStatus::Applied && self.waiting_count < self.max {
            self.waiting_count += 1;
            self.waiting
                .entry(tracked.cluster_id.clone())
                .or_default()
                .push(Applied {
                    decision_id: outcome.decision_id.clone(),
                    tracked,
                    at: outcome.at,
                    actuator: outcome.actuator.clone(),
                });
        }
        seen
    }

    /// Takes a cluster's new window summary: the "after" of applications it follows, and the
    /// "before" of decisions to come.
    pub fn on_summary(&mut self, summary: &ClusterSummary) -> Vec<Effectiveness> {
        let mut out = Vec::new();
        if let Some(list) = self.waiting.get_mut(&summary.cluster_id) {
            let (ready, rest): (Vec<Applied>, Vec<Applied>) =
                list.drain(..).partition(|a| summary.window.start >= a.at);
            *list = rest;
            self.waiting_count -= ready.len();
            for applied in ready {
                let before = applied
                    .tracked
                    .before
                    .clone()
                    .unwrap_or_else(|| summary.clone());
                out.extend(compare(applied, &before, summary));
            }
            if list.is_empty() {
                self.waiting.remove(&summary.cluster_id);
            }
        }
        self.latest
            .insert(summary.cluster_id.clone(), summary.clone());
        out
    }
}

fn compare(
    applied: Applied,
    before: &ClusterSummary,
    after: &ClusterSummary,
) -> Option<Effectiveness> {
    let metric = applied.tracked.metric;
    let (b, a) = (before.value(metric)?, after.value(metric)?);
    let change = a - b;
    Some(Effectiveness {
        id: format!("{}:{metric}", applied.decision_id),
        schema_version: SCHEMA_VERSION,
        decision_id: applied.decision_id,
        decision_kind: applied.tracked.kind,
        cluster_id: applied.tracked.cluster_id,
        scope: applied.tracked.scope,
        applied_at: applied.at,
        actuator: applied.actuator,
        metric: metric.to_owned(),
        window_before: before.window,
        window_after: after.window,
        before: b,
        after: a,
        change,
        relative_change: (b.abs() > f64::EPSILON).then(|| change / b),
        improved: change < 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DecisionHeader, Recommendation, Source, WindowBounds};
    use chrono::{TimeZone, Utc};

    const MIN5: i64 = 300_000;

    fn bounds(start_ms: i64) -> WindowBounds {
        WindowBounds {
            start: Utc.timestamp_millis_opt(start_ms).unwrap(),
            end: Utc.timestamp_millis_opt(start_ms + MIN5).unwrap(),
        }
    }

    fn summary(start_ms: i64, hottest: f64) -> ClusterSummary {
        ClusterSummary {
            schema_version: 1,
            cluster_id: "c1".into(),
            window: bounds(start_ms),
            nodes: 2,
            samples: 60,
            cpu_util: 0.5,
            cpu_util_max: hottest,
            memory_util: 0.4,
            queued_jobs: 0,
            active_jobs: 3,
            energy_watts: 400.0,
        }
    }

    fn balance(start_ms: i64) -> Decision {
        Decision::Recommendation(Recommendation {
            header: DecisionHeader::new(
                "recommendation.load_balancing",
                "c1",
                "c1".into(),
                bounds(start_ms),
                0.9,
                Source::Builtin,
                vec![],
            ),
            recommendation_type: RecommendationType::LoadBalancing,
            action: "move".into(),
            target_nodes: vec![],
            expected_gains: Default::default(),
            risk: "low".into(),
            target_cluster: None,
        })
    }

    fn outcome(id: &str, status: OutcomeStatus, at_ms: i64) -> Outcome {
        Outcome {
            decision_id: id.into(),
            status,
            at: Utc.timestamp_millis_opt(at_ms).unwrap(),
            actuator: "a1".into(),
            detail: None,
        }
    }

    #[test]
    fn an_applied_decision_is_compared_with_the_first_window_after_it() {
        let mut t = EffectivenessTracker::new(10);
        assert!(t.on_summary(&summary(0, 0.95)).is_empty());
        let d = balance(0);
        let id = d.header().id.clone();
        t.on_decision(&d);
        let seen = t.on_outcome(&outcome(&id, OutcomeStatus::Applied, MIN5 + 1));
        assert_eq!(seen.kind, "load_balancing");
        assert!(
            t.on_summary(&summary(MIN5, 0.9)).is_empty(),
            "that window started before the change"
        );
        let out = t.on_summary(&summary(2 * MIN5, 0.6));
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(
            (e.metric.as_str(), e.before, e.after),
            ("cpu_util_max", 0.95, 0.6)
        );
        assert!(e.improved && (e.change + 0.35).abs() < 1e-12);
        assert_eq!(e.window_before, bounds(0));
        assert_eq!(t.sizes(), (0, 0));
    }

    #[test]
    fn rejected_and_unknown_outcomes_give_no_event() {
        let mut t = EffectivenessTracker::new(10);
        t.on_summary(&summary(0, 0.95));
        let d = balance(0);
        t.on_decision(&d);
        let seen = t.on_outcome(&outcome(&d.header().id, OutcomeStatus::Rejected, MIN5));
        assert_eq!(seen.kind, "load_balancing");
        assert_eq!(
            t.on_outcome(&outcome("nope", OutcomeStatus::Applied, MIN5))
                .kind,
            "unknown"
        );
        assert!(t.on_summary(&summary(2 * MIN5, 0.5)).is_empty());
    }

    #[test]
    fn the_oldest_decision_is_forgotten_at_the_bound() {
        let mut t = EffectivenessTracker::new(1);
        let (first, second) = (balance(0), balance(MIN5));
        t.on_decision(&first);
        t.on_decision(&second);
        assert_eq!(t.sizes().0, 1);
        let seen = t.on_outcome(&outcome(&first.header().id, OutcomeStatus::Applied, MIN5));
        assert_eq!(seen.kind, "unknown");
    }
}
