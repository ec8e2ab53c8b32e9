//! The workload processor: one window per cluster and job type (default 10 minutes) holding
//! the job lifecycles of the window (arrivals, completions, failures, runtimes) and the
//! telemetry of the nodes those jobs ran on, plus a history of arrivals per window for
//! seasonality.
//!
//! The join is on event time: telemetry is summed per node and window whatever job events have
//! arrived, and when the watermark closes a window, the nodes on which a job of the type ran
//! during it (by the job events then known, all of them up to the watermark) contribute their
//! sums. So the request does not depend on which topic the consumer happened to read first.
//! Known limit: a node window and a job window closed apart by the wall-clock wait (a stalled
//! watermark) do not meet, and the job window's request then carries no node telemetry.

use crate::config::{Config, WorkloadConfig};
use crate::engine::{EngineRequest, WorkloadRequest};
use crate::event::{JobEvent, JobState, JobType, Metric, TelemetrySample};
use crate::processor::agg::History;
use crate::processor::jobs::JobTracker;
use crate::processor::{Pending, Processor};
use crate::window::{Origin, PartitionId, Recorded, WindowSpec, WindowStore};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::time::Instant;

/// What one cluster and job type did in a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobWindow {
    arrivals_ms: Vec<i64>,
    completions: u32,
    failures: u32,
    runtimes_s: Vec<f64>,
}

/// Telemetry of one node in a window: sums per metric, [`Metric::ALL`] order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeWindow {
    sum: [f64; 9],
    samples: u32,
}

type Key = (String, JobType);

/// Per (cluster, job type) windows and arrival histories.
#[derive(Debug)]
pub struct WorkloadProcessor {
    config: WorkloadConfig,
    store: WindowStore<Key, JobWindow>,
    nodes: WindowStore<(Arc<str>, Arc<str>), NodeWindow>,
    history: HashMap<Key, History<u32>>,
}

impl WorkloadProcessor {
    /// A processor for `config`.
    pub fn new(config: &Config) -> WorkloadProcessor {
        WorkloadProcessor {
            config: config.workload.clone(),
            store: WindowStore::new(
                WindowSpec::tumbling(config.workload.interval),
                super::limits(config),
            ),
            nodes: WindowStore::new(
                WindowSpec::tumbling(config.workload.interval),
                super::limits(config),
            ),
            history: HashMap::new(),
        }
    }
}

impl Processor for WorkloadProcessor {
    fn name(&self) -> &'static str {
        "workload"
    }

    fn on_sample(
        &mut self,
        sample: &TelemetrySample,
        origin: Option<Origin>,
        now: Instant,
        _jobs: &JobTracker,
    ) -> Recorded {
        // Late or refused samples are reported by the processors that window telemetry.
        let key = (sample.cluster_id.clone(), sample.node_id.clone());
        let ts = sample.event_time.timestamp_millis();
        self.nodes.record(&key, ts, origin, now, |w| {
            for m in Metric::ALL {
                w.sum[m.index()] += sample.metric(m);
            }
            w.samples += 1;
        });
        Recorded::Added { windows: 0 }
    }

    fn on_job(
        &mut self,
        job: &JobEvent,
        origin: Option<Origin>,
        now: Instant,
        jobs: &JobTracker,
    ) -> Recorded {
        let ts = job.event_time.timestamp_millis();
        let key = (job.cluster_id.clone(), job.job_type);
        let started = match job.state {
            JobState::Completed | JobState::Failed | JobState::Cancelled => {
                jobs.started_at(&job.job_id)
            }
            _ => None,
        };
        self.store
            .record(&key, ts, origin, now, |w| match job.state {
                JobState::Submitted => w.arrivals_ms.push(ts),
                JobState::Started => {}
                JobState::Completed | JobState::Failed | JobState::Cancelled => {
                    if job.state == JobState::Failed {
                        w.failures += 1;
                    } else if job.state == JobState::Completed {
                        w.completions += 1;
                    }
                    if let Some(start) = started {
                        w.runtimes_s.push((ts - start).max(0) as f64 / 1000.0);
                    }
                }
            })
    }

    fn close(&mut self, watermark_ms: i64, now: Instant, jobs: &JobTracker) -> Vec<Pending> {
        let resolution = self.store.spec().size_ms() as f64 / 60_000.0;
        let cap = self.config.history_windows;
        // Per (cluster, window start), the closed node windows.
        let mut node_windows: HashMap<(String, i64), Vec<ClosedNode>> = HashMap::new();
        for n in self.nodes.take_closed(watermark_ms, now) {
            let ((cluster, node), start) = (n.key, n.start_ms);
            node_windows
                .entry((cluster.to_string(), start))
                .or_default()
                .push(ClosedNode {
                    node: node.to_string(),
                    agg: n.agg,
                    origins: n.origins,
                });
        }
        let mut out = Vec::new();
        for mut w in self.store.take_closed(watermark_ms, now) {
            // Job events of one window come from several partitions, read in whatever order
            // they interleave; sorted, the request does not depend on it.
            w.agg.arrivals_ms.sort_unstable();
            w.agg.runtimes_s.sort_by(f64::total_cmp);
            let history = self.history.entry(w.key.clone()).or_default();
            let past = history.to_vec();
            if w.revision == 0 {
                history.push(w.agg.arrivals_ms.len() as u32, cap);
            }
            let (mut sum, mut samples) = ([0.0; 9], 0u32);
            for n in node_windows
                .get(&(w.key.0.clone(), w.start_ms))
                .into_iter()
                .flatten()
            {
                if jobs.ran_during(&w.key.0, &n.node, w.key.1, w.start_ms, w.end_ms) {
                    for (total, s) in sum.iter_mut().zip(n.agg.sum) {
                        *total += s;
                    }
                    samples += n.agg.samples;
                    for o in &n.origins {
                        crate::window::note_origin(&mut w.origins, *o);
                    }
                }
            }
            let node_mean = (samples > 0).then(|| sum.map(|s| s / f64::from(samples)));
            out.push(Pending::Ask {
                request: EngineRequest::Workload(WorkloadRequest {
                    cluster_id: w.key.0.clone(),
                    job_type: w.key.1,
                    window: self.store.spec().bounds(w.start_ms),
                    arrivals_ms: w.agg.arrivals_ms,
                    completions: w.agg.completions,
                    failures: w.agg.failures,
                    runtimes_s: w.agg.runtimes_s,
                    node_mean,
                    arrival_history: past,
                    resolution_minutes: resolution,
                })
                .into(),
                origins: w.origins,
                revision: w.revision,
            });
        }
        out
    }

    fn held_offsets(&self) -> HashMap<PartitionId, i64> {
        let mut held = self.store.held_offsets();
        super::merge_held(&mut held, self.nodes.held_offsets());
        held
    }

    fn drop_partition(&mut self, partition: PartitionId) -> usize {
        self.store.drop_partition(partition) + self.nodes.drop_partition(partition)
    }

    fn open_keys(&self) -> usize {
        self.store.open_keys() + self.nodes.open_keys()
    }

    fn open_windows(&self) -> usize {
        self.store.open_windows() + self.nodes.open_windows()
    }
}

/// A closed node window, waiting to be matched with the job windows of its cluster.
struct ClosedNode {
    node: String,
    agg: NodeWindow,
    origins: Vec<Origin>,
}
