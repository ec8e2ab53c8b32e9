//! Windowed processors: each records input events into its own event-time windows and turns
//! every closed window into one engine request per scope, then the answer into decisions.
//!
//! | processor | scope | window (default) |
//! | --- | --- | --- |
//! | [`anomaly`] | node | 2 min |
//! | [`performance`] | cluster | 5 min |
//! | [`workload`] | cluster and job type | 10 min |
//! | [`prediction`] | node and cluster, per resource | 15 min |
//! | [`scaling`] | cluster | 10 min |
//!
//! Job events are joined to telemetry through the [`jobs::JobTracker`], by cluster, node and
//! event time, so requests carry the jobs actually running and queued.

pub mod agg;
pub mod anomaly;
pub mod decide;
pub mod jobs;
pub mod performance;
pub mod prediction;
pub mod relearn;
pub mod scaling;
pub mod workload;

pub use anomaly::AnomalyProcessor;
pub use decide::{decisions_from, Decision};

use crate::config::Config;
use crate::engine::{EngineAnswer, EngineRequest};
use crate::event::{JobEvent, TelemetrySample};
use crate::window::{Origin, PartitionId, Recorded, StoreLimits};
use jobs::JobTracker;
use std::collections::HashMap;
use tokio::time::Instant;

/// A closed window on its way to decisions.
#[derive(Debug, Clone)]
pub enum Pending {
    /// Needs an engine's answer.
    Ask {
        /// The batched request of the window and scope (boxed: requests differ in size).
        request: Box<EngineRequest>,
        /// Lowest offset per partition that fed the window.
        origins: Vec<Origin>,
        /// 0 first, higher after late updates.
        revision: u32,
    },
    /// Decided by the processor itself (e.g. a node gone silent).
    Ready {
        /// The decisions.
        decisions: Vec<Decision>,
    },
}

/// A windowed stage.
pub trait Processor: Send {
    /// Short name (`anomaly`, `performance`, ...).
    fn name(&self) -> &'static str;

    /// Records a validated telemetry sample.
    fn on_sample(
        &mut self,
        sample: &TelemetrySample,
        origin: Option<Origin>,
        now: Instant,
        jobs: &JobTracker,
    ) -> Recorded;

    /// Records a validated job event; processors that do not window job events ignore it.
    fn on_job(
        &mut self,
        _job: &JobEvent,
        _origin: Option<Origin>,
        _now: Instant,
        _jobs: &JobTracker,
    ) -> Recorded {
        Recorded::Added { windows: 0 }
    }

    /// Closes what the watermark (or the wall clock) allows, in event-time order.
    fn close(&mut self, watermark_ms: i64, now: Instant, jobs: &JobTracker) -> Vec<Pending>;

    /// Closes every window, at the end of a replay's input: what a live run's wall-clock wait
    /// would close. Processors that report absences (node silence) do not report them here.
    fn flush(&mut self, now: Instant, jobs: &JobTracker) -> Vec<Pending> {
        self.close(i64::MAX, now, jobs)
    }

    /// Learns from an answer (state that outlives windows, e.g. recent scaling targets).
    fn absorb(&mut self, _request: &EngineRequest, _answer: &EngineAnswer) {}

    /// Whether this processor's requests carry what earlier answers taught it. Such a
    /// processor's windows are asked one at a time, in order, each completed by
    /// [`Processor::prepare`] just before it is sent, so the outcome does not depend on how
    /// fast the engine answers.
    fn answers_feed_requests(&self) -> bool {
        false
    }

    /// Fills in, just before a request is sent, what earlier answers taught the processor.
    fn prepare(&self, _request: &mut EngineRequest) {}

    /// Lowest offset per partition still needed by a kept window.
    fn held_offsets(&self) -> HashMap<PartitionId, i64>;

    /// Drops the windows fed by a revoked partition; returns how many.
    fn drop_partition(&mut self, partition: PartitionId) -> usize;

    /// Keys with a kept window.
    fn open_keys(&self) -> usize;

    /// Kept windows.
    fn open_windows(&self) -> usize;

    /// From now on, keep the per-sample anomaly scores of every window judged for the first
    /// time (replay evaluations ask for them); processors other than anomaly have none. It
    /// changes no decision.
    fn keep_scores(&mut self) {}

    /// Per-sample anomaly scores computed since the last call, when the processor was asked
    /// to keep them (replay evaluations); processors other than anomaly have none.
    fn take_scores(&mut self) -> Vec<crate::replay::observer::SampleScore> {
        Vec::new()
    }
}

/// The store limits every processor shares.
pub fn limits(config: &Config) -> StoreLimits {
    StoreLimits {
        allowed_lateness: config.windows.allowed_lateness,
        max_wait: Some(config.windows.max_wait),
        max_keys: config.processing.max_open_keys,
    }
}

/// The enabled processors, in a fixed order (anomaly, performance, workload, prediction,
/// scaling).
pub fn build(config: &Config) -> Vec<Box<dyn Processor>> {
    let p = &config.processors;
    let mut out: Vec<Box<dyn Processor>> = Vec::new();
    if p.enable_anomaly {
        out.push(Box::new(AnomalyProcessor::new(config)));
    }
    if p.enable_performance {
        out.push(Box::new(performance::PerformanceProcessor::new(config)));
    }
    if p.enable_workload {
        out.push(Box::new(workload::WorkloadProcessor::new(config)));
    }
    if p.enable_prediction {
        out.push(Box::new(prediction::PredictionProcessor::new(config)));
    }
    if p.enable_scaling {
        out.push(Box::new(scaling::ScalingProcessor::new(config)));
    }
    out
}

/// Merges per-key held offsets, keeping the lowest per partition.
pub fn merge_held(into: &mut HashMap<PartitionId, i64>, from: HashMap<PartitionId, i64>) {
    for (p, o) in from {
        into.entry(p).and_modify(|x| *x = (*x).min(o)).or_insert(o);
    }
}
