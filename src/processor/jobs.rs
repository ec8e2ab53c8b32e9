//! The join of job events with telemetry: which jobs ran on which node, and which waited in a
//! cluster's queue, at any event time still of interest.
//!
//! Each job is kept with the event times of its submission, start and end. Jobs that ended
//! more than the retention before the watermark are forgotten, so memory follows the jobs in
//! flight, not the jobs ever seen; at most `max_jobs` are kept (new ones beyond are counted and
//! ignored).

use crate::event::{JobEvent, JobState, JobType};
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Clone, PartialEq)]
struct JobRecord {
    cluster: String,
    node: Option<String>,
    job_type: JobType,
    submitted_ms: Option<i64>,
    started_ms: Option<i64>,
    ended_ms: Option<i64>,
}

impl JobRecord {
    fn running_at(&self, at_ms: i64) -> bool {
        self.started_ms.is_some_and(|s| s <= at_ms) && self.ended_ms.is_none_or(|e| e > at_ms)
    }

    fn queued_at(&self, at_ms: i64) -> bool {
        self.submitted_ms.is_some_and(|s| s <= at_ms)
            && self.started_ms.is_none_or(|s| s > at_ms)
            && self.ended_ms.is_none_or(|e| e > at_ms)
    }
}

/// Job lifecycles by job id, indexed by cluster and by node, queryable by time.
#[derive(Debug, Default)]
pub struct JobTracker {
    jobs: HashMap<String, JobRecord>,
    by_node: HashMap<(String, String), BTreeSet<String>>,
    by_cluster: HashMap<String, BTreeSet<String>>,
    max_jobs: usize,
    /// Job events ignored because `max_jobs` was reached.
    pub refused: u64,
}

impl JobTracker {
    /// A tracker keeping at most `max_jobs` jobs.
    pub fn new(max_jobs: usize) -> JobTracker {
        JobTracker {
            jobs: HashMap::new(),
            by_node: HashMap::new(),
            by_cluster: HashMap::new(),
            max_jobs,
            refused: 0,
        }
    }

    /// Records a job event; returns the job's start time when the event ends it (for runtimes).
    pub fn record(&mut self, job: &JobEvent) -> Option<i64> {
        if !self.jobs.contains_key(&job.job_id) && self.jobs.len() >= self.max_jobs {
            self.refused += 1;
            return None;
        }
        let at = job.event_time.timestamp_millis();
        let record = self
            .jobs
            .entry(job.job_id.clone())
            .or_insert_with(|| JobRecord {
                cluster: job.cluster_id.clone(),
                node: None,
                job_type: job.job_type,
                submitted_ms: None,
                started_ms: None,
                ended_ms: None,
            });
        self.by_cluster
            .entry(job.cluster_id.clone())
            .or_default()
            .insert(job.job_id.clone());
        if let Some(node) = &job.node_id {
            if record.node.as_ref() != Some(node) {
                if let Some(old) = record.node.take() {
                    if let Some(set) = self.by_node.get_mut(&(record.cluster.clone(), old)) {
                        set.remove(&job.job_id);
                    }
                }
                record.node = Some(node.clone());
                self.by_node
                    .entry((job.cluster_id.clone(), node.clone()))
                    .or_default()
                    .insert(job.job_id.clone());
            }
        }
        match job.state {
            JobState::Submitted => record.submitted_ms = Some(at),
            JobState::Started => record.started_ms = Some(at),
            JobState::Completed | JobState::Failed | JobState::Cancelled => {
                record.ended_ms = Some(at);
                return record.started_ms;
            }
        }
        None
    }

    fn on_node<'a>(
        &'a self,
        cluster: &str,
        node: &str,
    ) -> impl Iterator<Item = &'a JobRecord> + 'a {
        self.by_node
            .get(&(cluster.to_owned(), node.to_owned()))
            .into_iter()
            .flatten()
            .filter_map(|id| self.jobs.get(id))
    }

    /// Jobs running on `node` of `cluster` at `at_ms`.
    pub fn active_on(&self, cluster: &str, node: &str, at_ms: i64) -> u32 {
        self.on_node(cluster, node)
            .filter(|j| j.running_at(at_ms))
            .count() as u32
    }

    /// Job types running on `node` of `cluster` at `at_ms`, sorted, without repeats.
    pub fn types_on(&self, cluster: &str, node: &str, at_ms: i64) -> Vec<JobType> {
        let mut types: Vec<JobType> = self
            .on_node(cluster, node)
            .filter(|j| j.running_at(at_ms))
            .map(|j| j.job_type)
            .collect();
        types.sort();
        types.dedup();
        types
    }

    /// Whether a job of `job_type` ran on `node` of `cluster` at some time in
    /// `[start_ms, end_ms)`.
    pub fn ran_during(
        &self,
        cluster: &str,
        node: &str,
        job_type: JobType,
        start_ms: i64,
        end_ms: i64,
    ) -> bool {
        self.on_node(cluster, node).any(|j| {
            j.job_type == job_type
                && j.started_ms.is_some_and(|s| s < end_ms)
                && j.ended_ms.is_none_or(|e| e > start_ms)
        })
    }

    /// Jobs submitted but not started in `cluster` at `at_ms`.
    pub fn queued_in(&self, cluster: &str, at_ms: i64) -> u32 {
        self.by_cluster
            .get(cluster)
            .into_iter()
            .flatten()
            .filter_map(|id| self.jobs.get(id))
            .filter(|j| j.queued_at(at_ms))
            .count() as u32
    }

    /// Forgets jobs that ended before `before_ms`.
    pub fn purge(&mut self, before_ms: i64) {
        let gone: Vec<String> = self
            .jobs
            .iter()
            .filter(|(_, j)| j.ended_ms.is_some_and(|e| e < before_ms))
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            let Some(job) = self.jobs.remove(&id) else {
                continue;
            };
            if let Some(set) = self.by_cluster.get_mut(&job.cluster) {
                set.remove(&id);
                if set.is_empty() {
                    self.by_cluster.remove(&job.cluster);
                }
            }
            if let Some(node) = job.node {
                let key = (job.cluster, node);
                if let Some(set) = self.by_node.get_mut(&key) {
                    set.remove(&id);
                    if set.is_empty() {
                        self.by_node.remove(&key);
                    }
                }
            }
        }
    }

    /// When a job started, if known.
    pub fn started_at(&self, job_id: &str) -> Option<i64> {
        self.jobs.get(job_id).and_then(|j| j.started_ms)
    }

    /// Jobs kept.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Whether no job is kept.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn event(id: &str, node: Option<&str>, state: JobState, at_s: i64) -> JobEvent {
        JobEvent {
            job_id: id.into(),
            cluster_id: "c".into(),
            node_id: node.map(str::to_owned),
            job_type: JobType::Batch,
            state,
            priority: 0,
            requested_cores: 1.0,
            requested_memory_gib: 1.0,
            requested_gpus: 0,
            event_time: DateTime::from_timestamp(at_s, 0).unwrap(),
        }
    }

    #[test]
    fn jobs_are_queued_then_active_then_gone_by_event_time() {
        let mut t = JobTracker::new(100);
        t.record(&event("j", None, JobState::Submitted, 10));
        t.record(&event("j", Some("n1"), JobState::Started, 20));
        assert_eq!(
            t.record(&event("j", Some("n1"), JobState::Completed, 50)),
            Some(20_000)
        );
        assert_eq!(
            (t.queued_in("c", 15_000), t.active_on("c", "n1", 15_000)),
            (1, 0)
        );
        assert_eq!(
            (t.queued_in("c", 30_000), t.active_on("c", "n1", 30_000)),
            (0, 1)
        );
        assert_eq!(t.active_on("c", "n1", 50_000), 0);
        t.purge(60_000);
        assert!(t.is_empty());
    }

    #[test]
    fn the_job_limit_bounds_memory() {
        let mut t = JobTracker::new(1);
        t.record(&event("a", None, JobState::Submitted, 1));
        t.record(&event("b", None, JobState::Submitted, 1));
        assert_eq!((t.len(), t.refused), (1, 1));
    }
}
