//! `TelemetrySample`: one node's resource readings at one instant.

use crate::event::error::{check, DecodeError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One node's readings at one event time. Utilisations are fractions in 0..1, never percent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetrySample {
    /// Cluster the node belongs to.
    pub cluster_id: Arc<str>,
    /// Node within the cluster; `(cluster_id, node_id)` is the partitioning key.
    pub node_id: Arc<str>,
    /// When the readings were taken, by the node's clock.
    #[serde(with = "crate::event::time::rfc3339")]
    pub event_time: DateTime<Utc>,
    /// CPU utilisation, fraction 0..1.
    pub cpu_util: f64,
    /// Memory utilisation, fraction 0..1.
    pub memory_util: f64,
    /// Disk utilisation (busy time), fraction 0..1.
    pub disk_util: f64,
    /// Network utilisation of link capacity, fraction 0..1.
    pub network_util: f64,
    /// 99th percentile request latency, milliseconds.
    pub latency_p99_ms: f64,
    /// Completed operations per second.
    pub throughput_ops: f64,
    /// Power draw, watts.
    pub energy_watts: f64,
    /// Jobs or requests waiting on the node.
    pub queue_length: u32,
    /// Fraction of operations that failed, 0..1.
    pub error_rate: f64,
    /// Free-form labels (rack, zone, hardware class).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

impl TelemetrySample {
    /// Rejects values no healthy producer sends: non-finite numbers, fractions outside 0..1,
    /// negative quantities, absurd timestamps and empty or oversized identifiers.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check::id("cluster_id", &self.cluster_id)?;
        check::id("node_id", &self.node_id)?;
        check::event_time("event_time", &self.event_time)?;
        check::fraction("cpu_util", self.cpu_util)?;
        check::fraction("memory_util", self.memory_util)?;
        check::fraction("disk_util", self.disk_util)?;
        check::fraction("network_util", self.network_util)?;
        check::non_negative("latency_p99_ms", self.latency_p99_ms)?;
        check::non_negative("throughput_ops", self.throughput_ops)?;
        check::non_negative("energy_watts", self.energy_watts)?;
        check::fraction("error_rate", self.error_rate)?;
        Ok(())
    }

    /// The Kafka key: keeps every sample of a node on one partition.
    pub fn key(&self) -> String {
        node_key(&self.cluster_id, &self.node_id)
    }

    /// The value of one metric.
    pub fn metric(&self, metric: Metric) -> f64 {
        match metric {
            Metric::Cpu => self.cpu_util,
            Metric::Memory => self.memory_util,
            Metric::Disk => self.disk_util,
            Metric::Network => self.network_util,
            Metric::LatencyP99 => self.latency_p99_ms,
            Metric::Throughput => self.throughput_ops,
            Metric::Energy => self.energy_watts,
            Metric::QueueLength => f64::from(self.queue_length),
            Metric::ErrorRate => self.error_rate,
        }
    }
}

/// The key of a node: `cluster/node`.
pub fn node_key(cluster_id: &str, node_id: &str) -> String {
    format!("{cluster_id}/{node_id}")
}

/// The metrics a sample carries, in a fixed order used for compact per-window storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// `cpu_util`
    Cpu,
    /// `memory_util`
    Memory,
    /// `disk_util`
    Disk,
    /// `network_util`
    Network,
    /// `latency_p99_ms`
    LatencyP99,
    /// `throughput_ops`
    Throughput,
    /// `energy_watts`
    Energy,
    /// `queue_length`
    QueueLength,
    /// `error_rate`
    ErrorRate,
}

impl Metric {
    /// Every metric, in storage order.
    pub const ALL: [Metric; 9] = [
        Metric::Cpu,
        Metric::Memory,
        Metric::Disk,
        Metric::Network,
        Metric::LatencyP99,
        Metric::Throughput,
        Metric::Energy,
        Metric::QueueLength,
        Metric::ErrorRate,
    ];

    /// The field name the metric has on a `TelemetrySample`.
    pub fn field(self) -> &'static str {
        match self {
            Metric::Cpu => "cpu_util",
            Metric::Memory => "memory_util",
            Metric::Disk => "disk_util",
            Metric::Network => "network_util",
            Metric::LatencyP99 => "latency_p99_ms",
            Metric::Throughput => "throughput_ops",
            Metric::Energy => "energy_watts",
            Metric::QueueLength => "queue_length",
            Metric::ErrorRate => "error_rate",
        }
    }

    /// Parses a metric from its field name or its short name (`cpu`, `memory`, ...).
    pub fn parse(text: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| {
            m.field() == text
                || serde_json::to_value(m)
                    .ok()
                    .and_then(|v| v.as_str().map(|s| s == text))
                    == Some(true)
        })
    }

    /// Position in [`Metric::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}
