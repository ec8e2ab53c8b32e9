//! Incidents the simulator injects, and their ground-truth record.

use crate::event::Metric;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The kinds of trouble the simulator can cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// One sample jumps by `magnitude`.
    Spike,
    /// From `at` on, the metric sits `magnitude` higher (for `duration`, or for good).
    LevelShift,
    /// From `at` on, the metric climbs by `magnitude` per minute (a memory leak).
    SlowLeak,
    /// From `at` on, the node sends nothing (for `duration`, or for good).
    NodeSilent,
}

/// One injected incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// What happens.
    pub kind: IncidentKind,
    /// Cluster of the node.
    pub cluster_id: String,
    /// The node.
    pub node_id: String,
    /// When, as an offset from the simulation start (human-readable, e.g. `"10m5s"`).
    #[serde(with = "humantime_serde")]
    pub at: Duration,
    /// Metric affected (ignored by `node_silent`).
    pub metric: Metric,
    /// Size of the change, in the metric's unit (per minute for `slow_leak`).
    pub magnitude: f64,
    /// How long it lasts; for good when absent. Spikes last one sample.
    #[serde(default, with = "humantime_serde")]
    pub duration: Option<Duration>,
}

impl Incident {
    /// Parses `KIND:CLUSTER/NODE:AT[:METRIC[:MAGNITUDE[:DURATION]]]`, for example
    /// `spike:cluster-0/node-01:10m5s:cpu:0.5` or `node_silent:cluster-1/node-00:20m`.
    pub fn parse(text: &str) -> Result<Incident, String> {
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() < 3 || parts.len() > 6 {
            return Err(format!(
                "incident `{text}`: expected KIND:CLUSTER/NODE:AT[:METRIC[:MAGNITUDE[:DURATION]]]"
            ));
        }
        let kind: IncidentKind = serde_json::from_value(parts[0].into())
            .map_err(|_| format!("incident `{text}`: unknown kind `{}`", parts[0]))?;
        let (cluster_id, node_id) = parts[1]
            .split_once('/')
            .ok_or_else(|| format!("incident `{text}`: node must be CLUSTER/NODE"))?;
        let at = humantime::parse_duration(parts[2])
            .map_err(|e| format!("incident `{text}`: time `{}`: {e}", parts[2]))?;
        let metric = match parts.get(3) {
            Some(m) => Metric::parse(m)
                .ok_or_else(|| format!("incident `{text}`: unknown metric `{m}`"))?,
            None if kind == IncidentKind::SlowLeak => Metric::Memory,
            None => Metric::Cpu,
        };
        let magnitude = match parts.get(4) {
            Some(m) => m
                .parse()
                .map_err(|_| format!("incident `{text}`: magnitude `{m}`"))?,
            None => default_magnitude(kind),
        };
        let duration = parts
            .get(5)
            .map(|d| {
                humantime::parse_duration(d)
                    .map_err(|e| format!("incident `{text}`: duration: {e}"))
            })
            .transpose()?;
        Ok(Incident {
            kind,
            cluster_id: cluster_id.to_owned(),
            node_id: node_id.to_owned(),
            at,
            metric,
            magnitude,
            duration,
        })
    }

    /// Whether the incident is in force at `offset` from the start (`period` is the sampling
    /// period, the length of a spike).
    pub fn active(&self, offset: Duration, period: Duration) -> bool {
        let length = match self.kind {
            IncidentKind::Spike => Some(period),
            _ => self.duration,
        };
        offset >= self.at && length.is_none_or(|l| offset < self.at + l)
    }
}

fn default_magnitude(kind: IncidentKind) -> f64 {
    match kind {
        IncidentKind::Spike => 0.5,
        IncidentKind::LevelShift => 0.3,
        IncidentKind::SlowLeak => 0.01,
        IncidentKind::NodeSilent => 0.0,
    }
}

/// The ground truth written beside a simulation: what was injected, with absolute times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// Event time of the first tick.
    #[serde(with = "crate::event::time::rfc3339")]
    pub start: DateTime<Utc>,
    /// Sampling period.
    #[serde(with = "humantime_serde")]
    pub period: Duration,
    /// Seed used.
    pub seed: u64,
    /// Injected incidents with their absolute event time.
    pub incidents: Vec<TruthEntry>,
}

/// One injected incident with its absolute event time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthEntry {
    /// The incident as configured.
    #[serde(flatten)]
    pub incident: Incident,
    /// Event time at which it starts.
    #[serde(with = "crate::event::time::rfc3339")]
    pub starts_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_short_form_with_defaults() {
        let i = Incident::parse("spike:c0/n1:10m5s").unwrap();
        assert_eq!(i.kind, IncidentKind::Spike);
        assert_eq!((i.cluster_id.as_str(), i.node_id.as_str()), ("c0", "n1"));
        assert_eq!(i.at, Duration::from_secs(605));
        assert_eq!((i.metric, i.magnitude), (Metric::Cpu, 0.5));
    }

    #[test]
    fn parses_metric_magnitude_and_duration() {
        let i = Incident::parse("level_shift:c0/n1:1m:memory_util:0.2:5m").unwrap();
        assert_eq!((i.metric, i.magnitude), (Metric::Memory, 0.2));
        assert_eq!(i.duration, Some(Duration::from_secs(300)));
        assert!(i.active(Duration::from_secs(60), Duration::from_secs(10)));
        assert!(!i.active(Duration::from_secs(360), Duration::from_secs(10)));
    }

    #[test]
    fn bad_incidents_say_what_is_wrong() {
        assert!(Incident::parse("meteor:c0/n1:1m")
            .unwrap_err()
            .contains("unknown kind"));
        assert!(Incident::parse("spike:c0n1:1m")
            .unwrap_err()
            .contains("CLUSTER/NODE"));
        assert!(Incident::parse("spike:c0/n1:soon")
            .unwrap_err()
            .contains("time"));
    }
}
