//! The workload processor: one window per cluster and job type (default 10 minutes) holding
//! the job lifecycles of the window (arrivals, completions, failures, runtimes) and the
//! telemetry of the nodes those jobs ran on, plus a history of arrivals per window for
//! seasonality.

use crate::config::{Config, WorkloadConfig};
use crate::engine::{EngineRequest, WorkloadRequest};
use crate::event::{JobEvent, JobState, JobType, Metric, TelemetrySample};
use crate::processor::agg::History;
use crate::processor::jobs::JobTracker;
use crate::processor::{Pending, Processor};
use crate::window::{Origin, PartitionId, Recorded, WindowSpec, WindowStore};
use std::collections::HashMap;
use tokio::time::Instant;

/// What one cluster and job type did in a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobWindow {
    arrivals_ms: Vec<i64>,
    completions: u32,
    failures: u32,
    runtimes_s: Vec<f64>,
    node_sum: [f64; 9],
    node_samples: u32,
}

type Key = (String, JobType);

/// Per (cluster, job type) windows and arrival histories.
#[derive(Debug)]
pub struct WorkloadProcessor {
    config: WorkloadConfig,
    store: WindowStore<Key, JobWindow>,
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
        _now: Instant,
        jobs: &JobTracker,
    ) -> Recorded {
        self.add_node_telemetry(sample, origin, jobs);
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

    fn close(&mut self, watermark_ms: i64, now: Instant, _jobs: &JobTracker) -> Vec<Pending> {
        let resolution = self.store.spec().size_ms() as f64 / 60_000.0;
        let cap = self.config.history_windows;
        let mut out = Vec::new();
        for mut w in self.store.take_closed(watermark_ms, now) {
            w.agg.arrivals_ms.sort_unstable();
            let history = self.history.entry(w.key.clone()).or_default();
            let past = history.to_vec();
            if w.revision == 0 {
                history.push(w.agg.arrivals_ms.len() as u32, cap);
            }
            let node_mean = (w.agg.node_samples > 0)
                .then(|| w.agg.node_sum.map(|s| s / f64::from(w.agg.node_samples)));
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
        self.store.held_offsets()
    }

    fn drop_partition(&mut self, partition: PartitionId) -> usize {
        self.store
            .drop_where(|_, origins| origins.iter().any(|o| o.partition == partition))
    }

    fn open_keys(&self) -> usize {
        self.store.open_keys()
    }

    fn open_windows(&self) -> usize {
        self.store.open_windows()
    }
}

impl WorkloadProcessor {
    /// Adds a sample to the windows of the job types running on its node at its time: the
    /// telemetry of the nodes the jobs ran on. Windows are only opened by job events.
    pub fn add_node_telemetry(
        &mut self,
        sample: &TelemetrySample,
        origin: Option<Origin>,
        jobs: &JobTracker,
    ) {
        let ts = sample.event_time.timestamp_millis();
        for job_type in jobs.types_on(&sample.cluster_id, &sample.node_id, ts) {
            let key = (sample.cluster_id.clone(), job_type);
            self.store.update_existing(&key, ts, origin, |w| {
                for m in Metric::ALL {
                    w.node_sum[m.index()] += sample.metric(m);
                }
                w.node_samples += 1;
            });
        }
    }
}
