//! How well a replica timeline served a per-minute demand series, and two baseline timelines.
//!
//! The capacity model: a timeline gives the replica count wanted at each minute. Minute 0's
//! count is the starting fleet and is ready at once. An added replica serves from `startup`
//! minutes after the minute it was added; a removed replica stops at once, and a removal
//! first cancels replicas still starting (newest first). A minute is under capacity when its
//! demand exceeds `ready replicas × capacity per replica`. Provisioned replica-minutes count
//! starting replicas too, since they are paid for.
//!
//! Baselines: [`hpa_timeline`] is a reactive Kubernetes-style autoscaler, and
//! [`perfect_foresight_timeline`] knows the demand in advance and is never short.

use std::collections::VecDeque;
use thiserror::Error;

/// Why a timeline cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ScalingMetricsError {
    /// The timeline must give a replica count for every minute of demand.
    #[error("invalid timeline: {replicas} replica counts for {demand} minutes of demand")]
    LengthMismatch {
        /// Minutes of demand.
        demand: usize,
        /// Replica counts given.
        replicas: usize,
    },
    /// Demand must be a finite, non-negative number.
    #[error("invalid demand at minute {minute}: {value}")]
    InvalidDemand {
        /// The offending minute.
        minute: usize,
        /// Its value.
        value: f64,
    },
    /// The capacity of one replica must be finite and positive.
    #[error("invalid fleet: capacity per replica {0} is not a positive number")]
    InvalidCapacity(f64),
}

/// The replicas a timeline scales.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fleet {
    /// Demand one ready replica serves per minute, in the demand's unit.
    pub capacity_per_replica: f64,
    /// Minutes from adding a replica to its serving.
    pub startup_minutes: usize,
}

/// What a timeline cost and how often it fell short.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingReport {
    /// Minutes evaluated.
    pub minutes: usize,
    /// Minutes whose demand exceeded the ready capacity.
    pub minutes_under_capacity: usize,
    /// Sum over those minutes of demand minus ready capacity.
    pub unserved_demand: f64,
    /// Sum over minutes of the replicas provisioned (ready or starting).
    pub replica_minutes: u64,
    /// Minutes at which the wanted replica count differs from the minute before.
    pub changes: usize,
    /// Largest replica count wanted.
    pub peak_replicas: u32,
}

/// Evaluates a replica timeline (`replicas[m]` wanted at minute `m`) against `demand`.
pub fn evaluate(
    demand: &[f64],
    replicas: &[u32],
    fleet: Fleet,
) -> Result<ScalingReport, ScalingMetricsError> {
    check(demand, fleet)?;
    if demand.len() != replicas.len() {
        return Err(ScalingMetricsError::LengthMismatch {
            demand: demand.len(),
            replicas: replicas.len(),
        });
    }

    let mut report = ScalingReport {
        minutes: demand.len(),
        minutes_under_capacity: 0,
        unserved_demand: 0.0,
        replica_minutes: 0,
        changes: 0,
        peak_replicas: replicas.iter().copied().max().unwrap_or(0),
    };
    let mut ready = replicas.first().copied().unwrap_or(0);
    // Replicas still starting: (minute they start serving, how many), oldest first.
    let mut starting: VecDeque<(usize, u32)> = VecDeque::new();

    for (minute, (&load, &wanted)) in demand.iter().zip(replicas).enumerate() {
        let provisioned = ready + starting.iter().map(|&(_, n)| n).sum::<u32>();
        if minute > 0 && wanted != replicas[minute - 1] {
            report.changes += 1;
        }
        if wanted > provisioned {
            starting.push_back((minute + fleet.startup_minutes, wanted - provisioned));
        } else {
            let mut excess = provisioned - wanted;
            while excess > 0 {
                match starting.back_mut() {
                    Some((_, n)) if *n > excess => {
                        *n -= excess;
                        excess = 0;
                    }
                    Some(&mut (_, n)) => {
                        excess -= n;
                        starting.pop_back();
                    }
                    None => {
                        ready -= excess;
                        excess = 0;
                    }
                }
            }
        }
        while starting.front().is_some_and(|&(at, _)| at <= minute) {
            let (_, n) = starting.pop_front().expect("front was just checked");
            ready += n;
        }

        report.replica_minutes += u64::from(wanted);
        let capacity = f64::from(ready) * fleet.capacity_per_replica;
        if load > capacity {
            report.minutes_under_capacity += 1;
            report.unserved_demand += load - capacity;
        }
    }
    Ok(report)
}

fn check(demand: &[f64], fleet: Fleet) -> Result<(), ScalingMetricsError> {
    let capacity = fleet.capacity_per_replica;
    if !(capacity.is_finite() && capacity > 0.0) {
        return Err(ScalingMetricsError::InvalidCapacity(capacity));
    }
    match demand.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        Some(minute) => Err(ScalingMetricsError::InvalidDemand {
            minute,
            value: demand[minute],
        }),
        None => Ok(()),
    }
}

/// The settings of the reactive baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HpaPolicy {
    /// Wanted utilisation of the replicas, fraction of capacity (Kubernetes' target).
    pub target_utilisation: f64,
    /// No change while `|utilisation / target - 1|` is at most this (Kubernetes: 0.1).
    pub tolerance: f64,
    /// A scale-down goes only to the highest recommendation of this many most recent
    /// minutes (Kubernetes: 5 minutes).
    pub scale_down_stabilisation_minutes: usize,
    /// Fewest replicas ever wanted.
    pub min_replicas: u32,
    /// Most replicas ever wanted.
    pub max_replicas: u32,
    /// The starting fleet.
    pub initial_replicas: u32,
}

impl Default for HpaPolicy {
    /// Kubernetes' defaults with a 70% utilisation target, 1..=1000 replicas, starting at 1.
    fn default() -> Self {
        HpaPolicy {
            target_utilisation: 0.7,
            tolerance: 0.1,
            scale_down_stabilisation_minutes: 5,
            min_replicas: 1,
            max_replicas: 1000,
            initial_replicas: 1,
        }
    }
}

/// The timeline a reactive Kubernetes-style autoscaler produces.
///
/// At minute `m > 0` it sees the previous minute's utilisation, `demand[m-1] / (current ×
/// capacity)` where `current` is the count it last asked for, and recommends
/// `ceil(current × utilisation / target)` unless the ratio is within the tolerance of 1; the
/// recommendation is clamped to `min..=max`. Scale-up applies at once; scale-down applies the
/// highest recommendation of the stabilisation window. Known limit: utilisation is computed
/// over every replica asked for, including those still starting, where Kubernetes would
/// count ready pods only; this keeps the baseline from over-reacting while replicas start.
/// With `current = 0` the recommendation is `ceil(demand / (capacity × target))`.
pub fn hpa_timeline(demand: &[f64], fleet: Fleet, policy: HpaPolicy) -> Vec<u32> {
    let mut timeline = Vec::with_capacity(demand.len());
    let mut recent: VecDeque<u32> = VecDeque::new();
    let mut current = policy
        .initial_replicas
        .clamp(policy.min_replicas, policy.max_replicas);

    for minute in 0..demand.len() {
        if minute > 0 {
            let load = demand[minute - 1];
            let per_target = fleet.capacity_per_replica * policy.target_utilisation;
            let recommendation = if current == 0 {
                (load / per_target).ceil()
            } else {
                let ratio = load / (f64::from(current) * per_target);
                if (ratio - 1.0).abs() <= policy.tolerance {
                    f64::from(current)
                } else {
                    (f64::from(current) * ratio).ceil()
                }
            };
            let recommendation = clamp_count(recommendation, policy);

            recent.push_back(recommendation);
            while recent.len() > policy.scale_down_stabilisation_minutes.max(1) {
                recent.pop_front();
            }
            current = if recommendation >= current {
                recommendation
            } else {
                recent
                    .iter()
                    .copied()
                    .max()
                    .unwrap_or(recommendation)
                    .min(current)
            };
        }
        timeline.push(current);
    }
    timeline
}

fn clamp_count(count: f64, policy: HpaPolicy) -> u32 {
    // Saturating float-to-int conversion, then the policy's bounds.
    (count.max(0.0).min(f64::from(u32::MAX)) as u32).clamp(policy.min_replicas, policy.max_replicas)
}

/// The timeline of an autoscaler that knows the demand in advance: at minute `m` it wants the
/// most replicas any minute in `m..=m + startup` needs at full capacity, so every replica a
/// minute needs was asked for at least `startup` minutes before and is ready. It is never
/// under capacity in [`evaluate`]; `min_replicas` is its floor.
pub fn perfect_foresight_timeline(demand: &[f64], fleet: Fleet, min_replicas: u32) -> Vec<u32> {
    let needed: Vec<u32> = demand
        .iter()
        .map(|&load| {
            let count = (load / fleet.capacity_per_replica).ceil();
            (count.max(0.0).min(f64::from(u32::MAX)) as u32).max(min_replicas)
        })
        .collect();
    (0..needed.len())
        .map(|m| {
            let last = (m + fleet.startup_minutes).min(needed.len() - 1);
            needed[m..=last]
                .iter()
                .copied()
                .max()
                .unwrap_or(min_replicas)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLEET: Fleet = Fleet {
        capacity_per_replica: 10.0,
        startup_minutes: 2,
    };

    #[test]
    fn added_replicas_serve_only_after_the_startup_delay() {
        // One replica serves 10; the second is asked for at minute 1 and serves from minute 3.
        let demand = [5.0, 15.0, 15.0, 15.0, 15.0];
        let report = evaluate(&demand, &[1, 2, 2, 2, 2], FLEET).expect("valid");
        assert_eq!(report.minutes_under_capacity, 2);
        assert!((report.unserved_demand - 10.0).abs() < 1e-9);
        assert_eq!(report.replica_minutes, 9);
        assert_eq!(report.changes, 1);
        assert_eq!(report.peak_replicas, 2);
    }

    #[test]
    fn removed_replicas_stop_serving_at_once() {
        let demand = [15.0, 15.0, 15.0];
        let report = evaluate(&demand, &[2, 1, 2], FLEET).expect("valid");
        // Minute 1 has one replica; minute 2's re-added replica is still starting.
        assert_eq!(report.minutes_under_capacity, 2);
        assert_eq!(report.changes, 2);
    }

    #[test]
    fn a_scale_down_cancels_starting_replicas_before_ready_ones() {
        // Minute 1 asks for 3 (two start), minute 2 drops to 2: one starting one is cancelled,
        // the other serves from minute 3, so minute 3 has 2 ready replicas for 20 demand.
        let demand = [10.0, 10.0, 10.0, 20.0];
        let report = evaluate(&demand, &[1, 3, 2, 2], FLEET).expect("valid");
        assert_eq!(report.minutes_under_capacity, 0);
        assert_eq!(report.replica_minutes, 8);
    }

    #[test]
    fn mismatched_lengths_and_negative_demand_are_rejected() {
        assert!(matches!(
            evaluate(&[1.0, 2.0], &[1], FLEET),
            Err(ScalingMetricsError::LengthMismatch { .. })
        ));
        assert!(matches!(
            evaluate(&[1.0, -2.0], &[1, 1], FLEET),
            Err(ScalingMetricsError::InvalidDemand { minute: 1, .. })
        ));
    }

    #[test]
    fn the_hpa_scales_up_on_last_minutes_load_beyond_the_tolerance() {
        let policy = HpaPolicy {
            target_utilisation: 0.5,
            initial_replicas: 2,
            ..HpaPolicy::default()
        };
        // 2 replicas × 10 × 0.5 = 10 at target. 10.5 is within 10%; 30 asks ceil(2 × 3) = 6.
        let timeline = hpa_timeline(&[10.5, 30.0, 30.0], FLEET, policy);
        assert_eq!(timeline, vec![2, 2, 6]);
    }

    #[test]
    fn the_hpa_scales_down_only_to_the_highest_recommendation_of_five_minutes() {
        let policy = HpaPolicy {
            target_utilisation: 1.0,
            initial_replicas: 4,
            ..HpaPolicy::default()
        };
        // Demand drops from 40 to 10 at minute 2. Minute 3 first recommends 1, but the
        // recommendation of 4 made at minute 2 stays in the five-minute window until minute 7.
        let demand = [40.0, 40.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0];
        let timeline = hpa_timeline(&demand, FLEET, policy);
        assert_eq!(timeline, vec![4, 4, 4, 4, 4, 4, 4, 1, 1]);
    }

    #[test]
    fn perfect_foresight_is_never_under_capacity() {
        let demand: Vec<f64> = (0..120).map(|m| f64::from((m * 37 % 90) as u32)).collect();
        let timeline = perfect_foresight_timeline(&demand, FLEET, 1);
        let report = evaluate(&demand, &timeline, FLEET).expect("valid");
        assert_eq!(report.minutes_under_capacity, 0);

        let hpa = hpa_timeline(&demand, FLEET, HpaPolicy::default());
        let reactive = evaluate(&demand, &hpa, FLEET).expect("valid");
        assert!(reactive.minutes_under_capacity > 0);
    }

    #[test]
    fn perfect_foresight_asks_for_replicas_startup_minutes_ahead() {
        let timeline = perfect_foresight_timeline(&[5.0, 5.0, 5.0, 25.0, 5.0], FLEET, 1);
        assert_eq!(timeline, vec![1, 3, 3, 3, 1]);
    }
}
