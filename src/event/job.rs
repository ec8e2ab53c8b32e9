//! `JobEvent`: a step in a job's life (submitted, started, completed, failed, cancelled).

use crate::event::error::{check, DecodeError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The kind of work a job does; the workload processor groups by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobType {
    /// Throughput-oriented work with no user waiting.
    Batch,
    /// Latency-sensitive sessions.
    Interactive,
    /// Tightly coupled parallel jobs across nodes.
    Mpi,
    /// Long-running containers.
    Container,
    /// Continuous stream processing.
    Stream,
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Accepted by the scheduler, waiting for resources.
    Submitted,
    /// Running on a node.
    Started,
    /// Finished successfully.
    Completed,
    /// Finished with an error.
    Failed,
    /// Stopped before it finished.
    Cancelled,
}

/// One step in a job's life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEvent {
    /// Scheduler's job identifier.
    pub job_id: String,
    /// Cluster the job runs in.
    pub cluster_id: String,
    /// Node the job runs on, once placed.
    #[serde(default)]
    pub node_id: Option<String>,
    /// Kind of work.
    pub job_type: JobType,
    /// The step this event reports.
    pub state: JobState,
    /// Scheduler priority; higher runs first.
    pub priority: i32,
    /// Requested CPU cores.
    pub requested_cores: f64,
    /// Requested memory, GiB.
    pub requested_memory_gib: f64,
    /// Requested GPUs.
    pub requested_gpus: u32,
    /// When the step happened.
    #[serde(with = "crate::event::time::rfc3339")]
    pub event_time: DateTime<Utc>,
}

impl JobEvent {
    /// Rejects empty identifiers, negative requests and absurd timestamps.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check::id("job_id", &self.job_id)?;
        check::id("cluster_id", &self.cluster_id)?;
        if let Some(node) = &self.node_id {
            check::id("node_id", node)?;
        }
        check::non_negative("requested_cores", self.requested_cores)?;
        check::non_negative("requested_memory_gib", self.requested_memory_gib)?;
        check::event_time("event_time", &self.event_time)?;
        Ok(())
    }

    /// The Kafka key: the node when placed, so job events meet that node's telemetry on the
    /// same partition; the cluster otherwise.
    pub fn key(&self) -> String {
        match &self.node_id {
            Some(node) => crate::event::telemetry::node_key(&self.cluster_id, node),
            None => self.cluster_id.clone(),
        }
    }
}
