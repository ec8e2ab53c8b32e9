//! The node and job model behind the simulator.

use crate::event::{JobEvent, JobState, JobType, Metric, TelemetrySample};
use crate::simulate::incident::{GroundTruth, Incident, IncidentKind, TruthEntry};
use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;
use std::f64::consts::PI;
use std::time::Duration;

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Number of clusters, named `cluster-0`, `cluster-1`, ...
    pub clusters: usize,
    /// Nodes per cluster, named `node-00`, `node-01`, ...
    pub nodes: usize,
    /// Time between two samples of a node.
    pub period: Duration,
    /// Event time of the first tick.
    pub start: DateTime<Utc>,
    /// Event time covered; `None` runs until stopped.
    pub duration: Option<Duration>,
    /// Seed of the random generator.
    pub seed: u64,
    /// Mean time between job arrivals per cluster; `None` turns job churn off.
    pub job_interarrival: Option<Duration>,
    /// Incidents to inject.
    pub incidents: Vec<Incident>,
}

/// Names of a cluster.
pub fn cluster_name(i: usize) -> String {
    format!("cluster-{i}")
}

/// Names of a node.
pub fn node_name(j: usize) -> String {
    format!("node-{j:02}")
}

#[derive(Debug, Clone)]
struct Job {
    id: String,
    job_type: JobType,
    node: usize,
    runtime_ticks: u64,
    end_tick: u64,
    fails: bool,
    cores: f64,
    memory_gib: f64,
    priority: i32,
}

#[derive(Debug)]
struct NodeState {
    base_cpu: f64,
    base_mem: f64,
    running: u32,
}

/// Everything produced at one tick.
#[derive(Debug, Clone, Default)]
pub struct Tick {
    /// Event time of the tick.
    pub at: Option<DateTime<Utc>>,
    /// One sample per reporting node.
    pub samples: Vec<TelemetrySample>,
    /// Job events of the tick.
    pub jobs: Vec<JobEvent>,
}

/// The generator. Iterate with [`Simulator::next_tick`].
#[derive(Debug)]
pub struct Simulator {
    config: SimConfig,
    rng: ChaCha8Rng,
    tick: u64,
    nodes: Vec<Vec<NodeState>>,
    queued: Vec<VecDeque<Job>>,
    running: Vec<Vec<Job>>,
    next_job: u64,
}

impl Simulator {
    /// A simulator at its first tick.
    pub fn new(config: SimConfig) -> Simulator {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let nodes = (0..config.clusters)
            .map(|_| {
                (0..config.nodes)
                    .map(|_| NodeState {
                        base_cpu: rng.gen_range(0.25..0.45),
                        base_mem: rng.gen_range(0.35..0.5),
                        running: 0,
                    })
                    .collect()
            })
            .collect();
        let clusters = config.clusters;
        Simulator {
            config,
            rng,
            tick: 0,
            nodes,
            queued: (0..clusters).map(|_| VecDeque::new()).collect(),
            running: (0..clusters).map(|_| Vec::new()).collect(),
            next_job: 0,
        }
    }

    /// Event time of the first tick.
    pub fn start(&self) -> DateTime<Utc> {
        self.config.start
    }

    /// The ground truth of this simulation.
    pub fn ground_truth(&self) -> GroundTruth {
        GroundTruth {
            start: self.config.start,
            period: self.config.period,
            seed: self.config.seed,
            incidents: self
                .config
                .incidents
                .iter()
                .map(|i| TruthEntry {
                    incident: i.clone(),
                    starts_at: self.config.start
                        + chrono::Duration::from_std(i.at).unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// Event time of a tick.
    fn time_of(&self, tick: u64) -> Duration {
        self.config.period * u32::try_from(tick).unwrap_or(u32::MAX)
    }

    /// Produces the next tick, or `None` once the configured duration is covered.
    pub fn next_tick(&mut self) -> Option<Tick> {
        let offset = self.time_of(self.tick);
        if self.config.duration.is_some_and(|d| offset >= d) {
            return None;
        }
        let at = self.config.start + chrono::Duration::from_std(offset).unwrap_or_default();
        let mut tick = Tick {
            at: Some(at),
            ..Tick::default()
        };
        for c in 0..self.config.clusters {
            self.churn_jobs(c, at, &mut tick.jobs);
            for n in 0..self.config.nodes {
                if let Some(sample) = self.sample(c, n, offset, at) {
                    tick.samples.push(sample);
                }
            }
        }
        self.tick += 1;
        Some(tick)
    }

    fn churn_jobs(&mut self, c: usize, at: DateTime<Utc>, out: &mut Vec<JobEvent>) {
        let cluster = cluster_name(c);
        let tick = self.tick;
        // Jobs that end now.
        let (ended, still): (Vec<Job>, Vec<Job>) = std::mem::take(&mut self.running[c])
            .into_iter()
            .partition(|j| j.end_tick <= tick);
        self.running[c] = still;
        for job in ended {
            self.nodes[c][job.node].running -= 1;
            let state = if job.fails {
                JobState::Failed
            } else {
                JobState::Completed
            };
            out.push(job_event(&cluster, &job, state, at));
        }
        // Jobs that start now (one per tick per cluster at most: a simple scheduler).
        if let Some(mut job) = self.queued[c].pop_front() {
            job.end_tick = tick + job.runtime_ticks;
            self.nodes[c][job.node].running += 1;
            out.push(job_event(&cluster, &job, JobState::Started, at));
            self.running[c].push(job);
        }
        // Jobs that arrive now.
        let Some(interarrival) = self.config.job_interarrival else {
            return;
        };
        let p = self.config.period.as_secs_f64() / interarrival.as_secs_f64().max(1e-3);
        if self.rng.gen_bool(p.clamp(0.0, 1.0)) {
            let types = [
                JobType::Batch,
                JobType::Interactive,
                JobType::Mpi,
                JobType::Container,
                JobType::Stream,
            ];
            let job_type = types[self.rng.gen_range(0..types.len())];
            let runtime_ticks = (-(1.0 - self.rng.gen::<f64>()).ln() * 60.0).ceil() as u64 + 1;
            let job = Job {
                id: format!("{cluster}-job-{}", self.next_job),
                job_type,
                node: self.rng.gen_range(0..self.config.nodes.max(1)),
                runtime_ticks,
                end_tick: u64::MAX,
                fails: self.rng.gen_bool(0.05),
                cores: f64::from(self.rng.gen_range(1u8..=16)),
                memory_gib: f64::from(self.rng.gen_range(1u8..=64)),
                priority: self.rng.gen_range(0..10),
            };
            self.next_job += 1;
            out.push(job_event(&cluster, &job, JobState::Submitted, at));
            self.queued[c].push_back(job);
        }
    }

    fn sample(
        &mut self,
        c: usize,
        n: usize,
        offset: Duration,
        at: DateTime<Utc>,
    ) -> Option<TelemetrySample> {
        let cluster = cluster_name(c);
        let node = node_name(n);
        let mine: Vec<&Incident> = self
            .config
            .incidents
            .iter()
            .filter(|i| i.cluster_id == cluster && i.node_id == node)
            .collect();
        let silent = mine
            .iter()
            .any(|i| i.kind == IncidentKind::NodeSilent && i.active(offset, self.config.period));
        // Draw the noise even for a silent node, so silence does not shift other nodes' data.
        let noise: [f64; 9] = std::array::from_fn(|_| gaussian(&mut self.rng));
        if silent {
            return None;
        }

        let state = &self.nodes[c][n];
        let hour = (at.timestamp() % 86_400) as f64 / 3600.0;
        let daily = 0.1 * (2.0 * PI * (hour - 9.0) / 24.0).sin();
        let jobs = f64::from(state.running);
        let queued = self.queued[c].iter().filter(|j| j.node == n).count() as f64;
        let mut values = [0.0; 9];
        values[Metric::Cpu.index()] = state.base_cpu + daily + 0.03 * jobs + 0.01 * noise[0];
        values[Metric::Memory.index()] = state.base_mem + 0.02 * jobs + 0.005 * noise[1];
        values[Metric::Disk.index()] = 0.2 + 0.01 * noise[2];
        values[Metric::ErrorRate.index()] = 0.001 + 0.0003 * noise[8];
        values[Metric::QueueLength.index()] = queued;

        for incident in mine.iter().filter(|i| i.active(offset, self.config.period)) {
            let v = &mut values[incident.metric.index()];
            match incident.kind {
                IncidentKind::Spike | IncidentKind::LevelShift => *v += incident.magnitude,
                IncidentKind::SlowLeak => {
                    *v += incident.magnitude * (offset - incident.at).as_secs_f64() / 60.0
                }
                IncidentKind::NodeSilent => {}
            }
        }

        // Derived metrics follow the (possibly disturbed) CPU.
        let cpu = values[Metric::Cpu.index()].clamp(0.0, 1.0);
        values[Metric::Network.index()] += 0.15 + 0.2 * cpu + 0.01 * noise[3];
        values[Metric::LatencyP99.index()] += 20.0 * (1.0 + 2.0 * cpu.powi(3)) + 0.5 * noise[4];
        values[Metric::Throughput.index()] += 1000.0 * cpu + 10.0 * noise[5];
        values[Metric::Energy.index()] += 150.0 + 150.0 * cpu + 2.0 * noise[6];

        let fraction = |m: Metric| values[m.index()].clamp(0.0, 1.0);
        let positive = |m: Metric| values[m.index()].max(0.0);
        Some(TelemetrySample {
            cluster_id: cluster.into(),
            node_id: node.into(),
            event_time: at,
            cpu_util: fraction(Metric::Cpu),
            memory_util: fraction(Metric::Memory),
            disk_util: fraction(Metric::Disk),
            network_util: fraction(Metric::Network),
            latency_p99_ms: positive(Metric::LatencyP99),
            throughput_ops: positive(Metric::Throughput),
            energy_watts: positive(Metric::Energy),
            queue_length: positive(Metric::QueueLength).round() as u32,
            error_rate: fraction(Metric::ErrorRate),
            labels: None,
        })
    }
}

fn job_event(cluster: &str, job: &Job, state: JobState, at: DateTime<Utc>) -> JobEvent {
    JobEvent {
        job_id: job.id.clone(),
        cluster_id: cluster.to_owned(),
        node_id: Some(node_name(job.node)),
        job_type: job.job_type,
        state,
        priority: job.priority,
        requested_cores: job.cores,
        requested_memory_gib: job.memory_gib,
        requested_gpus: u32::from(job.job_type == JobType::Mpi),
        event_time: at,
    }
}

/// A standard normal draw (Box-Muller).
fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn config(seed: u64) -> SimConfig {
        SimConfig {
            clusters: 2,
            nodes: 3,
            period: Duration::from_secs(10),
            start: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            duration: Some(Duration::from_secs(600)),
            seed,
            job_interarrival: Some(Duration::from_secs(60)),
            incidents: vec![Incident::parse("node_silent:cluster-1/node-02:5m").unwrap()],
        }
    }

    fn run(seed: u64) -> Vec<Tick> {
        let mut sim = Simulator::new(config(seed));
        std::iter::from_fn(|| sim.next_tick()).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_data() {
        let (a, b) = (run(7), run(7));
        assert_eq!(a.len(), 60);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.samples, y.samples);
            assert_eq!(x.jobs, y.jobs);
        }
        assert_ne!(run(8)[10].samples, a[10].samples);
    }

    #[test]
    fn samples_are_valid_and_a_silent_node_stops_reporting() {
        let ticks = run(7);
        for t in &ticks {
            for s in &t.samples {
                s.validate().unwrap();
            }
        }
        assert_eq!(ticks[29].samples.len(), 6);
        assert_eq!(ticks[30].samples.len(), 5);
        assert!(ticks
            .iter()
            .flat_map(|t| &t.jobs)
            .any(|j| j.state == JobState::Completed));
    }
}
