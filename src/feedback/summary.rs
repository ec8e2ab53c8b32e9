//! A cluster's performance window, summed up: what federation shares between clusters and
//! what effectiveness compares before and after a change.

use crate::engine::PerformanceRequest;
use crate::event::output::SCHEMA_VERSION;
use crate::event::{ClusterSummary, Metric};

/// The summary of one cluster's closed performance window. Means are over nodes (each node's
/// window mean counts once, however many samples it sent).
pub fn summarise(request: &PerformanceRequest) -> ClusterSummary {
    let nodes = request.nodes.values();
    let count = request.nodes.len();
    let mean_of = |m: Metric| {
        let sum: f64 = request.nodes.values().map(|n| n.mean[m.index()]).sum();
        if count == 0 {
            0.0
        } else {
            sum / count as f64
        }
    };
    ClusterSummary {
        schema_version: SCHEMA_VERSION,
        cluster_id: request.cluster_id.clone(),
        window: request.window,
        nodes: count as u32,
        samples: nodes.clone().map(|n| n.samples).sum(),
        cpu_util: mean_of(Metric::Cpu).clamp(0.0, 1.0),
        cpu_util_max: nodes
            .clone()
            .map(|n| n.mean[Metric::Cpu.index()])
            .fold(0.0, f64::max)
            .clamp(0.0, 1.0),
        memory_util: mean_of(Metric::Memory).clamp(0.0, 1.0),
        queued_jobs: request.queued_jobs,
        active_jobs: nodes.clone().map(|n| n.active_jobs).sum(),
        energy_watts: nodes.map(|n| n.mean[Metric::Energy.index()]).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::request::{Constraints, Goals, NodeAggregate};
    use crate::event::WindowBounds;
    use chrono::{TimeZone, Utc};
    use std::collections::BTreeMap;

    #[test]
    fn a_summary_averages_nodes_and_keeps_the_hottest() {
        let node = |cpu: f64, samples: u32| {
            let mut mean = [0.0; 9];
            mean[Metric::Cpu.index()] = cpu;
            mean[Metric::Energy.index()] = 100.0;
            NodeAggregate {
                samples,
                mean,
                max: mean,
                active_jobs: 2,
            }
        };
        let request = PerformanceRequest {
            cluster_id: "c1".into(),
            window: WindowBounds {
                start: Utc.timestamp_millis_opt(0).unwrap(),
                end: Utc.timestamp_millis_opt(300_000).unwrap(),
            },
            nodes: BTreeMap::from([("a".into(), node(0.9, 30)), ("b".into(), node(0.3, 1))]),
            queued_jobs: 4,
            goals: Goals {
                throughput: 1.0,
                latency: 1.0,
                balance: 1.0,
                energy: 1.0,
            },
            constraints: Constraints {
                max_cpu: 0.9,
                max_memory: 0.9,
                min_availability: 0.9,
            },
        };
        let s = summarise(&request);
        assert!(
            (s.cpu_util - 0.6).abs() < 1e-12,
            "node means count once each"
        );
        assert_eq!(s.cpu_util_max, 0.9);
        assert_eq!(
            (s.nodes, s.samples, s.active_jobs, s.queued_jobs),
            (2, 31, 4, 4)
        );
        assert_eq!(s.energy_watts, 200.0);
    }
}
