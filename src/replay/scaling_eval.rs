//! The `scaling` evaluation: per cluster, the capacity the scaling decisions asked for against
//! the demand that followed, beside an HPA-style reactive autoscaler and perfect foresight
//! (`replay::scaling_metrics`).
//!
//! Units are replicas, the unit of the decisions, under the capacity model of `[scaling]`:
//! demand at each minute is the sum over the cluster's nodes of their `demand_metric` (a
//! node's mean over its samples in that minute, else its last sample, carried for at most one
//! scaling interval, then 0), divided by `capacity_per_replica`. With the defaults
//! (`cpu_util`, 1) that is busy nodes, one node serving a demand of 1 (100% CPU). A minute is
//! under capacity when that demand exceeds the ready replicas.
//!
//! fabric-ai's timeline: the `target_capacity` of each published decision from its window's end
//! onward (the latest revision of a window wins); before the first decision, that decision's
//! `current_capacity`. The HPA baseline starts from the same fleet and uses the configured
//! target utilisation, tolerance, scale-down stabilisation and capacity bounds; perfect
//! foresight has the configured minimum as its floor. Every timeline's added replicas serve
//! `startup_delay` (whole minutes, rounded down) after they are asked for.
//!
//! Known limits: the fleet in the data does not follow the decisions (a replay cannot add
//! nodes), so demand is what the reporting nodes did; memory holds, per cluster, one entry per
//! node and minute with samples, plus every published decision.

use crate::config::ScalingConfig;
use crate::event::{decode, Encoding, Metric, ScalingDecision, TelemetrySample};
use crate::replay::observer::{Evaluation, ReplayObserver};
use crate::replay::scaling_metrics::{
    evaluate, hpa_timeline, perfect_foresight_timeline, Fleet, HpaPolicy, ScalingReport,
};
use crate::topics::TopicRole;
use serde::Serialize;
use std::collections::BTreeMap;

const MINUTE_MS: i64 = 60_000;

/// One node's demand metric in one minute: sum and count of its samples.
type MinuteCpu = BTreeMap<String, (f64, u32)>;

/// One cluster's decisions: (window end ms, revision) → (current, target capacity).
type Decisions = BTreeMap<(i64, u32), (u32, u32)>;

/// What a policy's timeline did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyRow {
    /// Minutes whose busy-node demand exceeded the ready nodes.
    pub minutes_under_capacity: usize,
    /// Nodes provisioned per minute, summed.
    pub replica_minutes: u64,
    /// Minutes at which the wanted node count changed.
    pub changes: usize,
}

impl From<&ScalingReport> for PolicyRow {
    fn from(r: &ScalingReport) -> PolicyRow {
        PolicyRow {
            minutes_under_capacity: r.minutes_under_capacity,
            replica_minutes: r.replica_minutes,
            changes: r.changes,
        }
    }
}

/// One cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterRow {
    /// The cluster.
    pub cluster_id: String,
    /// Minutes from its first sample's minute to its last's, inclusive.
    pub minutes: usize,
    /// The published decisions.
    pub fabric: PolicyRow,
    /// The HPA-style reactive baseline.
    pub hpa: PolicyRow,
    /// The demand known in advance.
    pub perfect_foresight: PolicyRow,
}

/// The `scaling` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScalingSection {
    /// Clusters with telemetry and at least one decision, in id order.
    pub clusters: Vec<ClusterRow>,
}

/// Collects per-minute CPU per node and the published scaling decisions.
#[derive(Debug)]
pub struct ScalingEvaluation {
    config: ScalingConfig,
    /// Per cluster, per minute (ms / 60 000), per node.
    cpu: BTreeMap<String, BTreeMap<i64, MinuteCpu>>,
    /// Per cluster, its decisions.
    decisions: BTreeMap<String, Decisions>,
    demand_metric: Metric,
}

impl ScalingEvaluation {
    /// An evaluation with the scaling processor's configuration.
    pub fn new(config: ScalingConfig) -> ScalingEvaluation {
        ScalingEvaluation {
            cpu: BTreeMap::new(),
            decisions: BTreeMap::new(),
            // Validated by the configuration.
            demand_metric: Metric::parse(&config.demand_metric).unwrap_or(Metric::Cpu),
            config,
        }
    }

    /// Busy nodes per minute, from the cluster's first sample minute to its last.
    fn demand(&self, minutes: &BTreeMap<i64, MinuteCpu>) -> (i64, Vec<f64>) {
        let (Some(&first), Some(&last)) = (minutes.keys().next(), minutes.keys().next_back())
        else {
            return (0, Vec::new());
        };
        let carry = (self.config.interval.as_millis() as i64 / MINUTE_MS).max(1);
        // Per node: (last minute it reported, its CPU then).
        let mut last_seen: BTreeMap<&str, (i64, f64)> = BTreeMap::new();
        let mut demand = Vec::with_capacity((last - first + 1) as usize);
        for minute in first..=last {
            if let Some(nodes) = minutes.get(&minute) {
                for (node, &(sum, count)) in nodes {
                    last_seen.insert(node, (minute, sum / f64::from(count.max(1))));
                }
            }
            let busy: f64 = last_seen
                .values()
                .filter(|(at, _)| minute - at < carry)
                .map(|(_, cpu)| cpu)
                .sum();
            demand.push(busy);
        }
        (first, demand)
    }

    /// Scores what the replay showed.
    pub fn report(&self) -> ScalingSection {
        let c = &self.config;
        let mut clusters = Vec::new();
        for (cluster, minutes) in &self.cpu {
            let Some(decisions) = self.decisions.get(cluster).filter(|d| !d.is_empty()) else {
                continue;
            };
            let (first_minute, demand) = self.demand(minutes);
            if demand.is_empty() {
                continue;
            }
            // The latest revision per window end, in window order.
            let mut by_end: BTreeMap<i64, (u32, u32)> = BTreeMap::new();
            for (&(end, _), &caps) in decisions {
                by_end.insert(end, caps);
            }
            let initial = by_end.values().next().map_or(1, |&(current, _)| current);
            let fabric: Vec<u32> = (0..demand.len() as i64)
                .map(|m| {
                    let at = (first_minute + m) * MINUTE_MS;
                    by_end
                        .range(..=at)
                        .next_back()
                        .map_or(initial, |(_, &(_, target))| target)
                })
                .collect();
            let fleet = Fleet {
                capacity_per_replica: 1.0,
                startup_minutes: (c.startup_delay.as_secs() / 60) as usize,
            };
            let policy = HpaPolicy {
                target_utilisation: c.target_utilisation,
                tolerance: c.tolerance,
                scale_down_stabilisation_minutes: (c.scale_down_stabilisation.as_secs() / 60)
                    as usize,
                min_replicas: c.min_capacity,
                max_replicas: c.max_capacity.max(c.min_capacity),
                initial_replicas: initial,
            };
            let hpa = hpa_timeline(&demand, fleet, policy);
            let perfect = perfect_foresight_timeline(&demand, fleet, c.min_capacity);
            let row = |timeline: &[u32]| {
                evaluate(&demand, timeline, fleet)
                    .map(|r| PolicyRow::from(&r))
                    .ok()
            };
            if let (Some(fabric), Some(hpa), Some(perfect_foresight)) =
                (row(&fabric), row(&hpa), row(&perfect))
            {
                clusters.push(ClusterRow {
                    cluster_id: cluster.clone(),
                    minutes: demand.len(),
                    fabric,
                    hpa,
                    perfect_foresight,
                });
            }
        }
        ScalingSection { clusters }
    }
}

impl ReplayObserver for ScalingEvaluation {
    fn on_input(&mut self, role: TopicRole, payload: &[u8]) {
        if role != TopicRole::Telemetry {
            return;
        }
        // A line that does not decode or validate is a dead letter, not telemetry.
        let Ok(sample) = decode::<TelemetrySample>(payload, Encoding::Json) else {
            return;
        };
        if sample.validate().is_err() {
            return;
        }
        let minute = sample.event_time.timestamp_millis().div_euclid(MINUTE_MS);
        let value = sample.metric(self.demand_metric) / self.config.capacity_per_replica;
        let nodes = self
            .cpu
            .entry(sample.cluster_id.to_string())
            .or_default()
            .entry(minute)
            .or_default();
        let cpu = nodes.entry(sample.node_id.to_string()).or_default();
        cpu.0 += value;
        cpu.1 += 1;
    }

    fn on_output(&mut self, role: TopicRole, payload: &[u8]) {
        if role != TopicRole::ScalingDecisions {
            return;
        }
        if let Ok(d) = serde_json::from_slice::<ScalingDecision>(payload) {
            let end = d.header.window.end.timestamp_millis();
            self.decisions
                .entry(d.header.cluster_id)
                .or_default()
                .insert(
                    (end, d.header.revision),
                    (d.current_capacity, d.target_capacity),
                );
        }
    }
}

impl Evaluation for ScalingEvaluation {
    fn name(&self) -> &'static str {
        "scaling"
    }

    fn section(&self) -> serde_json::Value {
        serde_json::to_value(self.report())
            .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DecisionHeader, ScalingAction, Source};
    use crate::window::WindowSpec;
    use std::time::Duration;

    /// 2024-01-01: validation refuses event times before 2000.
    const BASE: i64 = 1_704_067_200_000;

    fn sample(minute: i64, node: &str, cpu: f64) -> Vec<u8> {
        let at = chrono::DateTime::from_timestamp_millis(BASE + minute * MINUTE_MS).unwrap();
        let mut s = crate::replay::input::neutral_sample("c", node, at);
        s.cpu_util = cpu;
        crate::event::encode(&s, Encoding::Json).unwrap()
    }

    fn decision(start_minute: i64, revision: u32, current: u32, target: u32) -> Vec<u8> {
        let window =
            WindowSpec::tumbling(Duration::from_secs(600)).bounds(BASE + start_minute * MINUTE_MS);
        let mut header = DecisionHeader::new(
            "scaling",
            "c",
            "c".into(),
            window,
            0.9,
            Source::Builtin,
            vec![],
        );
        header.revision = revision;
        serde_json::to_vec(&ScalingDecision {
            header,
            action: ScalingAction::NoAction,
            current_capacity: current,
            target_capacity: target,
            cost_delta_per_hour: 0.0,
        })
        .unwrap()
    }

    fn config() -> ScalingConfig {
        ScalingConfig {
            target_utilisation: 0.65,
            tolerance: 0.1,
            scale_down_stabilisation: Duration::from_secs(300),
            min_capacity: 1,
            max_capacity: 10,
            ..ScalingConfig::default()
        }
    }

    fn row(under: usize, replica_minutes: u64, changes: usize) -> PolicyRow {
        PolicyRow {
            minutes_under_capacity: under,
            replica_minutes,
            changes,
        }
    }

    #[test]
    fn decisions_are_compared_with_the_busy_nodes_that_followed_and_both_baselines() {
        let mut eval = ScalingEvaluation::new(config());
        // Two nodes, one sample a minute: 1 busy node for 20 minutes, then 1.8 for 10.
        for minute in 0..30 {
            let cpu = if minute < 20 { 0.5 } else { 0.9 };
            for node in ["a", "b"] {
                eval.on_input(TopicRole::Telemetry, &sample(minute, node, cpu));
            }
        }
        // Windows ending at minutes 10 and 20 keep 2 nodes; a revision of the second asks for
        // 1 from minute 20 on.
        eval.on_output(TopicRole::ScalingDecisions, &decision(0, 0, 2, 2));
        eval.on_output(TopicRole::ScalingDecisions, &decision(10, 0, 2, 2));
        eval.on_output(TopicRole::ScalingDecisions, &decision(10, 1, 2, 1));
        let section = eval.report();
        assert_eq!(section.clusters.len(), 1);
        let c = &section.clusters[0];
        assert_eq!((c.cluster_id.as_str(), c.minutes), ("c", 30));
        // 2 nodes for minutes 0..20, then 1 node short of 1.8 busy for 10 minutes.
        assert_eq!(c.fabric, row(10, 50, 1));
        // ceil of the busy nodes: 1 then 2, never short.
        assert_eq!(c.perfect_foresight, row(0, 40, 1));
        // Starts at 2; at minute 21 it sees 1.8 / (2 × 0.65) and goes to 3, then holds.
        assert_eq!(c.hpa, row(0, 2 * 21 + 3 * 9, 1));
    }

    #[test]
    fn a_cluster_without_decisions_is_not_listed() {
        let mut eval = ScalingEvaluation::new(config());
        eval.on_input(TopicRole::Telemetry, &sample(0, "a", 0.5));
        assert!(eval.report().clusters.is_empty());
    }
}
