//! Performance recommendations for a cluster window: load balancing between hot and cold
//! nodes, migration off nodes that break a constraint, and consolidation of idle nodes for
//! energy. Each comes with expected gains and a risk.
//!
//! A node is hot when its mean CPU or memory is above the constraint (`max_cpu`,
//! `max_memory`), cold when its CPU is under half the constraint and it has room for the
//! excess, idle when its CPU is under 0.1 with no job running. Confidence grows with how far a
//! node is past its constraint and with the samples behind the means.

use crate::engine::request::{NodeAggregate, RecommendationFinding};
use crate::engine::{PerformanceAnswer, PerformanceRequest};
use crate::event::{Metric, RecommendationType};
use std::collections::BTreeMap;

const CPU: usize = Metric::Cpu as usize;
const MEMORY: usize = Metric::Memory as usize;
const ENERGY: usize = Metric::Energy as usize;
const IDLE_CPU: f64 = 0.1;

/// Answers a performance request.
pub fn optimize(request: &PerformanceRequest) -> PerformanceAnswer {
    let c = request.constraints;
    let nodes = &request.nodes;
    let support = |n: &NodeAggregate| f64::from(n.samples) / (f64::from(n.samples) + 3.0);

    let mut hot: Vec<(&String, &NodeAggregate)> = nodes
        .iter()
        .filter(|(_, n)| n.mean[CPU] > c.max_cpu || n.mean[MEMORY] > c.max_memory)
        .collect();
    hot.sort_by(|a, b| b.1.mean[CPU].total_cmp(&a.1.mean[CPU]).then(a.0.cmp(b.0)));
    let mut cold: Vec<(&String, &NodeAggregate)> = nodes
        .iter()
        .filter(|(_, n)| n.mean[CPU] < c.max_cpu / 2.0 && n.mean[MEMORY] < c.max_memory)
        .collect();
    cold.sort_by(|a, b| a.1.mean[CPU].total_cmp(&b.1.mean[CPU]).then(a.0.cmp(b.0)));

    let mut recommendations = Vec::new();
    if let (Some((hot_id, h)), Some((cold_id, k))) = (hot.first(), cold.first()) {
        let excess = (h.mean[CPU] - c.max_cpu)
            .max(h.mean[MEMORY] - c.max_memory)
            .max(0.0);
        let room = c.max_cpu - k.mean[CPU];
        let moved = excess.min(room / 2.0).max(0.0);
        let confidence = (0.6 + 2.0 * excess).min(0.95) * support(h);
        recommendations.push(RecommendationFinding {
            recommendation_type: RecommendationType::LoadBalancing,
            action: format!(
                "move {:.0}% CPU load from {hot_id} to {cold_id}",
                moved * 100.0
            ),
            target_nodes: vec![(*hot_id).clone(), (*cold_id).clone()],
            expected_gains: BTreeMap::from([
                ("balance".to_string(), round(moved)),
                (
                    "latency".to_string(),
                    round(moved / h.mean[CPU].max(1e-9) / 2.0),
                ),
            ]),
            risk: if h.active_jobs > 4 { "medium" } else { "low" }.to_string(),
            confidence,
            reasons: vec![format!(
                "{hot_id} runs at cpu {:.2} / memory {:.2} against limits {:.2} / {:.2}; \
                 {cold_id} is at cpu {:.2}",
                h.mean[CPU], h.mean[MEMORY], c.max_cpu, c.max_memory, k.mean[CPU]
            )],
        });
        if h.active_jobs > 0 && excess > 0.05 {
            recommendations.push(RecommendationFinding {
                recommendation_type: RecommendationType::Migration,
                action: format!(
                    "migrate one of {} jobs from {hot_id} to {cold_id}",
                    h.active_jobs
                ),
                target_nodes: vec![(*hot_id).clone(), (*cold_id).clone()],
                expected_gains: BTreeMap::from([(
                    "balance".to_string(),
                    round(h.mean[CPU] / f64::from(h.active_jobs.max(1))),
                )]),
                risk: "medium".to_string(),
                confidence: (0.7 + excess).min(0.95) * support(h),
                reasons: vec![format!(
                    "{hot_id} exceeds its limit by {excess:.2} with {} jobs running",
                    h.active_jobs
                )],
            });
        }
    }

    let idle: Vec<(&String, &NodeAggregate)> = nodes
        .iter()
        .filter(|(_, n)| n.mean[CPU] < IDLE_CPU && n.active_jobs == 0)
        .collect();
    let must_stay = (nodes.len() as f64 * c.min_availability).ceil() as usize;
    let spare = nodes.len().saturating_sub(must_stay.max(1));
    if idle.len() >= 2 && spare > 0 {
        let releasable: Vec<&(&String, &NodeAggregate)> = idle.iter().skip(1).take(spare).collect();
        let watts: f64 = releasable.iter().map(|(_, n)| n.mean[ENERGY]).sum();
        let total: f64 = nodes.values().map(|n| n.mean[ENERGY]).sum();
        recommendations.push(RecommendationFinding {
            recommendation_type: RecommendationType::EnergyOptimization,
            action: format!(
                "consolidate {} idle nodes onto {}",
                releasable.len(),
                idle[0].0
            ),
            target_nodes: idle.iter().map(|(id, _)| (*id).clone()).collect(),
            expected_gains: BTreeMap::from([(
                "energy".to_string(),
                round(if total > 0.0 { watts / total } else { 0.0 }),
            )]),
            risk: "low".to_string(),
            confidence: 0.7 * support(idle[0].1) + 0.1,
            reasons: vec![format!(
                "{} nodes under {IDLE_CPU} CPU with no jobs; {:.0} W could be saved",
                idle.len(),
                watts
            )],
        });
    }
    PerformanceAnswer { recommendations }
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::request::{Constraints, Goals};

    fn node(cpu: f64, jobs: u32) -> NodeAggregate {
        let mut mean = [0.0; 9];
        mean[CPU] = cpu;
        mean[MEMORY] = 0.4;
        mean[ENERGY] = 150.0 + 150.0 * cpu;
        NodeAggregate {
            samples: 30,
            mean,
            max: mean,
            active_jobs: jobs,
        }
    }

    fn request(nodes: &[(&str, NodeAggregate)]) -> PerformanceRequest {
        PerformanceRequest {
            cluster_id: "c".into(),
            window: crate::window::WindowSpec::tumbling(std::time::Duration::from_secs(300))
                .bounds(0),
            nodes: nodes.iter().map(|(id, n)| (id.to_string(), *n)).collect(),
            queued_jobs: 0,
            goals: Goals {
                throughput: 1.0,
                latency: 1.0,
                balance: 1.0,
                energy: 1.0,
            },
            constraints: Constraints {
                max_cpu: 0.85,
                max_memory: 0.8,
                min_availability: 0.5,
            },
        }
    }

    #[test]
    fn a_hot_and_a_cold_node_give_load_balancing_and_migration() {
        let answer = optimize(&request(&[
            ("a", node(0.95, 3)),
            ("b", node(0.2, 0)),
            ("c", node(0.5, 1)),
        ]));
        let kinds: Vec<_> = answer
            .recommendations
            .iter()
            .map(|r| r.recommendation_type)
            .collect();
        assert_eq!(
            kinds,
            vec![
                RecommendationType::LoadBalancing,
                RecommendationType::Migration
            ]
        );
        assert_eq!(answer.recommendations[0].target_nodes, vec!["a", "b"]);
        assert!(answer.recommendations[0].confidence > 0.7);
    }

    #[test]
    fn idle_nodes_are_consolidated_within_availability() {
        let answer = optimize(&request(&[
            ("a", node(0.02, 0)),
            ("b", node(0.03, 0)),
            ("c", node(0.5, 2)),
        ]));
        assert_eq!(answer.recommendations.len(), 1);
        let r = &answer.recommendations[0];
        assert_eq!(
            r.recommendation_type,
            RecommendationType::EnergyOptimization
        );
        assert!(r.expected_gains["energy"] > 0.0);
    }

    #[test]
    fn a_balanced_cluster_gets_no_recommendation() {
        let answer = optimize(&request(&[("a", node(0.5, 1)), ("b", node(0.55, 1))]));
        assert!(answer.recommendations.is_empty());
    }
}
