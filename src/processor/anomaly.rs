//! The anomaly processor: per-node tumbling windows (default 2 minutes), each sent with the
//! node's learned baseline; and silence detection, which reports a node that stops sending.
//!
//! The processor keeps the baselines itself, advancing them with the built-in detector as each
//! window closes, so the request for a window always carries the baseline as it was before that
//! window, whichever engine answers. A revision (late events within the allowed lateness)
//! is answered against the baseline saved before the window's first emission; it does not
//! advance the node's baseline again.
//!
//! A node is silent when its last sample is `anomaly.silence_after` behind the watermark, or,
//! when the watermark stalls, when nothing came from it for `silence_after + windows.max_wait`
//! on the wall clock. It is reported once, as a `node_silent` anomaly in the window where the
//! silence was established, and then forgotten (baseline included); if it reports again it is
//! learned afresh.

use crate::config::{AnomalyConfig, Config};
use crate::engine::builtin::anomaly::{detect_scored, NodeBaseline};
use crate::engine::{AnomalyRequest, EngineRequest};
use crate::event::{
    node_key, Anomaly, AnomalyType, DecisionHeader, Metric, Severity, Source, TelemetrySample,
    WindowBounds,
};
use crate::processor::jobs::JobTracker;
use crate::processor::{Decision, Pending, Processor};
use crate::replay::observer::SampleScore;
use crate::window::{Origin, PartitionId, Recorded, WindowSpec, WindowStore};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The decision kind used in anomaly ids.
pub const KIND: &str = "anomaly";
/// The decision kind used in node-silent anomaly ids.
pub const SILENT_KIND: &str = "anomaly.node_silent";

/// A node, the anomaly processor's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeKey {
    /// Cluster id (shared with the sample it came from: a clone is a reference count).
    pub cluster: Arc<str>,
    /// Node id.
    pub node: Arc<str>,
}

/// A window's samples in compact form: event time and the metrics in [`Metric::ALL`] order.
type Samples = Vec<(i64, [f64; 9])>;

#[derive(Debug, Clone, Copy)]
struct LastSeen {
    event_ms: i64,
    wall: Instant,
    partition: Option<PartitionId>,
}

/// Per-node windows plus the per-node state that outlives them.
#[derive(Debug)]
pub struct AnomalyProcessor {
    config: AnomalyConfig,
    max_wait: Duration,
    lateness_ms: i64,
    store: WindowStore<NodeKey, Samples>,
    baselines: HashMap<NodeKey, NodeBaseline>,
    /// Baselines before a window's first emission, kept while it may still be revised.
    before: BTreeMap<(i64, NodeKey), NodeBaseline>,
    last_seen: HashMap<NodeKey, LastSeen>,
    /// Per input partition, the largest event time recorded from it. A node is silent by
    /// event time only once its own partition has moved on past it: a partition just moved
    /// here by a rebalance re-reads older data while the watermark (held by the others) is
    /// ahead, and its nodes are not silent.
    partition_time: HashMap<PartitionId, i64>,
    /// Wall clock and watermark of the last search for silent nodes.
    silence_checked: Option<(Instant, i64)>,
    /// Per-sample scores of first emissions, kept only once [`Processor::keep_scores`] was
    /// called (replay evaluations) and handed over by [`Processor::take_scores`].
    scores: Option<Vec<SampleScore>>,
    /// Offsets held so a restart re-reads enough to warm the detector up again.
    relearn: super::relearn::RelearnHistory,
}

/// The search for silent nodes walks every node, so it runs when the watermark has moved a
/// window on or this much wall-clock time has passed, not on every event. A node is then
/// reported up to one window (event time) or this long (wall clock) after it fell silent; the
/// anomaly itself does not depend on when it is found.
const SILENCE_CHECK_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

impl AnomalyProcessor {
    /// A processor for `config`.
    pub fn new(config: &Config) -> AnomalyProcessor {
        let spec = WindowSpec::tumbling(config.anomaly.interval);
        AnomalyProcessor {
            config: config.anomaly.clone(),
            max_wait: config.windows.max_wait,
            lateness_ms: config.windows.allowed_lateness.as_millis() as i64,
            store: WindowStore::new(spec, super::limits(config)),
            baselines: HashMap::new(),
            before: BTreeMap::new(),
            last_seen: HashMap::new(),
            partition_time: HashMap::new(),
            silence_checked: None,
            scores: None,
            relearn: super::relearn::RelearnHistory::new(
                config.anomaly.relearn_history.as_millis() as i64,
            ),
        }
    }

    /// Asks about every window the watermark has closed.
    fn close_windows(&mut self, watermark_ms: i64, now: Instant) -> Vec<Pending> {
        let closed = self.store.take_closed(watermark_ms, now);
        let mut out = Vec::with_capacity(closed.len());
        for mut window in closed {
            window.agg.sort_by_key(|(ts, _)| *ts);
            let bounds = self.store.spec().bounds(window.start_ms);
            let id = (window.start_ms, window.key.clone());
            let baseline_before =
                if window.revision == 0 {
                    let baseline = self.baselines.entry(window.key.clone()).or_default();
                    let before = baseline.clone();
                    let mut window_scores = self.scores.as_ref().map(|_| Vec::new());
                    detect_scored(&self.config, baseline, &window.agg, window_scores.as_mut());
                    if let (Some(kept), Some(window_scores)) = (self.scores.as_mut(), window_scores)
                    {
                        kept.extend(window.agg.iter().zip(window_scores).map(
                            |((ts, _), score)| SampleScore {
                                cluster_id: window.key.cluster.to_string(),
                                node_id: window.key.node.to_string(),
                                event_ms: *ts,
                                score,
                            },
                        ));
                    }
                    if self.lateness_ms > 0 {
                        self.before.insert(id, before.clone());
                    }
                    before
                } else {
                    self.before.get(&id).cloned().unwrap_or_default()
                };
            out.push(Pending::Ask {
                request: EngineRequest::Anomaly(AnomalyRequest {
                    cluster_id: window.key.cluster.to_string(),
                    node_id: window.key.node.to_string(),
                    window: bounds,
                    samples: window.agg,
                    baseline: Box::new(baseline_before),
                })
                .into(),
                origins: window.origins,
                revision: window.revision,
            });
        }
        // Saved baselines of windows past the allowed lateness can no longer be needed.
        let keep_from = watermark_ms.saturating_sub(self.lateness_ms + self.store.spec().size_ms());
        self.before = self.before.split_off(&(
            keep_from,
            NodeKey {
                cluster: "".into(),
                node: "".into(),
            },
        ));
        out
    }

    fn silent_nodes(&mut self, watermark_ms: i64, now: Instant) -> Vec<Pending> {
        let step_ms = self.store.spec().size_ms();
        let due = self.silence_checked.is_none_or(|(at, w)| {
            watermark_ms >= w.saturating_add(step_ms)
                || now.saturating_duration_since(at) >= SILENCE_CHECK_EVERY
        });
        if !due {
            return Vec::new();
        }
        self.silence_checked = Some((now, watermark_ms));
        let after_ms = self.config.silence_after.as_millis() as i64;
        let wall_limit = self.config.silence_after + self.max_wait;
        let mut silent: Vec<(NodeKey, LastSeen)> = self
            .last_seen
            .iter()
            .filter(|(_, seen)| {
                let horizon = seen
                    .partition
                    .and_then(|p| self.partition_time.get(&p))
                    .map_or(watermark_ms, |t| watermark_ms.min(*t));
                seen.event_ms + after_ms <= horizon
                    || now.saturating_duration_since(seen.wall) >= wall_limit
            })
            .map(|(k, s)| (k.clone(), *s))
            .collect();
        silent.sort_by(|a, b| a.0.cmp(&b.0));
        let spec = *self.store.spec();
        silent
            .into_iter()
            .map(|(key, seen)| {
                self.last_seen.remove(&key);
                self.baselines.remove(&key);
                let established = seen.event_ms + after_ms;
                let start = spec.starts_for(established).last().unwrap_or(established);
                let window = spec.bounds(start);
                Pending::Ready {
                    decisions: vec![Decision::Anomaly(silent_anomaly(
                        &key,
                        window,
                        seen.event_ms,
                    ))],
                }
            })
            .collect()
    }
}

fn silent_anomaly(key: &NodeKey, window: WindowBounds, last_ms: i64) -> Anomaly {
    let last = chrono::DateTime::from_timestamp_millis(last_ms).unwrap_or(window.start);
    let reasons = vec![format!(
        "no telemetry from {} since {}",
        node_key(&key.cluster, &key.node),
        crate::event::time::format(&last)
    )];
    let scope = node_key(&key.cluster, &key.node);
    Anomaly {
        header: DecisionHeader::new(
            SILENT_KIND,
            &key.cluster,
            scope,
            window,
            0.9,
            Source::Builtin,
            reasons,
        ),
        node_id: key.node.to_string(),
        anomaly_type: AnomalyType::NodeSilent,
        severity: Severity::from_score(0.9),
        score: 0.9,
        detected_at: last,
        metrics: Vec::new(),
    }
}

impl Processor for AnomalyProcessor {
    fn name(&self) -> &'static str {
        "anomaly"
    }

    fn on_sample(
        &mut self,
        sample: &TelemetrySample,
        origin: Option<Origin>,
        now: Instant,
        _jobs: &JobTracker,
    ) -> Recorded {
        let key = NodeKey {
            cluster: sample.cluster_id.clone(),
            node: sample.node_id.clone(),
        };
        let values = Metric::ALL.map(|m| sample.metric(m));
        let ts = sample.event_time.timestamp_millis();
        let recorded = self
            .store
            .record(&key, ts, origin, now, |samples| samples.push((ts, values)));
        if let Some(o) = origin {
            self.relearn.note(o.partition, ts, o.offset);
        }
        if !matches!(recorded, Recorded::Refused | Recorded::Late) {
            let partition = origin.map(|o| o.partition);
            if let Some(p) = partition {
                let t = self.partition_time.entry(p).or_insert(ts);
                *t = (*t).max(ts);
            }
            let seen = self.last_seen.entry(key).or_insert(LastSeen {
                event_ms: ts,
                wall: now,
                partition,
            });
            seen.event_ms = seen.event_ms.max(ts);
            seen.wall = now;
            seen.partition = partition;
        }
        recorded
    }

    fn close(&mut self, watermark_ms: i64, now: Instant, _jobs: &JobTracker) -> Vec<Pending> {
        let mut out = self.close_windows(watermark_ms, now);
        out.extend(self.silent_nodes(watermark_ms, now));
        out
    }

    fn flush(&mut self, now: Instant, _jobs: &JobTracker) -> Vec<Pending> {
        self.close_windows(i64::MAX, now)
    }

    fn held_offsets(&self) -> HashMap<PartitionId, i64> {
        let mut held = self.store.held_offsets();
        super::merge_held(&mut held, self.relearn.held().collect());
        held
    }

    fn drop_partition(&mut self, partition: PartitionId) -> usize {
        // The node now belongs to another member: its silence and baseline are theirs.
        let moved: Vec<NodeKey> = self
            .last_seen
            .iter()
            .filter(|(_, s)| s.partition == Some(partition))
            .map(|(k, _)| k.clone())
            .collect();
        for key in moved {
            self.last_seen.remove(&key);
            self.baselines.remove(&key);
        }
        self.partition_time.remove(&partition);
        self.relearn.forget(partition);
        self.store.drop_partition(partition)
    }

    fn open_keys(&self) -> usize {
        self.store.open_keys()
    }

    fn open_windows(&self) -> usize {
        self.store.open_windows()
    }

    fn keep_scores(&mut self) {
        self.scores.get_or_insert_with(Vec::new);
    }

    fn take_scores(&mut self) -> Vec<SampleScore> {
        self.scores.as_mut().map(std::mem::take).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn sample(node: &str, ms: i64) -> TelemetrySample {
        TelemetrySample {
            cluster_id: "c".into(),
            node_id: node.into(),
            event_time: chrono::DateTime::from_timestamp_millis(ms).unwrap(),
            cpu_util: 0.4,
            memory_util: 0.5,
            disk_util: 0.2,
            network_util: 0.1,
            latency_p99_ms: 20.0,
            throughput_ops: 400.0,
            energy_watts: 200.0,
            queue_length: 0,
            error_rate: 0.0,
            labels: None,
        }
    }

    fn origin(partition: i32, offset: i64) -> Option<Origin> {
        Some(Origin {
            partition: PartitionId {
                topic: 0,
                partition,
            },
            offset,
        })
    }

    fn silent(out: &[Pending]) -> Vec<String> {
        out.iter()
            .filter_map(|p| match p {
                Pending::Ready { decisions } => Some(decisions[0].key().to_owned()),
                Pending::Ask { .. } => None,
            })
            .collect()
    }

    #[test]
    fn a_node_is_silent_only_once_its_own_partition_has_moved_past_it() {
        let mut p = AnomalyProcessor::new(&Config::default());
        let jobs = JobTracker::new(10);
        let now = Instant::now();
        let minute = 60_000;
        // Partition 0 is at minute 20; partition 1 (just moved here) re-reads minute 2.
        p.on_sample(&sample("ahead", 20 * minute), origin(0, 1), now, &jobs);
        p.on_sample(&sample("quiet", 2 * minute), origin(0, 2), now, &jobs);
        p.on_sample(&sample("rereading", 2 * minute), origin(1, 1), now, &jobs);
        let out = p.close(20 * minute, now, &jobs);
        assert_eq!(silent(&out), vec!["c/quiet".to_string()]);
    }

    fn asks(out: &[Pending]) -> Vec<u32> {
        out.iter()
            .filter_map(|p| match p {
                Pending::Ask { revision, .. } => Some(*revision),
                Pending::Ready { .. } => None,
            })
            .collect()
    }

    #[test]
    fn scores_are_kept_only_when_asked_and_revisions_do_not_score_again() {
        let mut config = Config::default();
        config.windows.allowed_lateness = Duration::from_secs(600);
        let jobs = JobTracker::new(10);
        let now = Instant::now();
        let mut plain = AnomalyProcessor::new(&config);
        let mut keeping = AnomalyProcessor::new(&config);
        keeping.keep_scores();
        for p in [&mut plain, &mut keeping] {
            for i in 0..12 {
                p.on_sample(&sample("n", i * 10_000), origin(0, i), now, &jobs);
            }
            assert_eq!(asks(&p.close(130_000, now, &jobs)), vec![0]);
        }
        assert!(plain.take_scores().is_empty());
        let scores = keeping.take_scores();
        assert_eq!(scores.len(), 12);
        assert_eq!(scores[11].event_ms, 110_000);
        assert_eq!(
            (scores[0].cluster_id.as_str(), scores[0].node_id.as_str()),
            ("c", "n")
        );
        // Taken once: the next call has nothing new.
        assert!(keeping.take_scores().is_empty());

        // A late sample revises the closed window; it is not scored again.
        keeping.on_sample(&sample("n", 115_000), origin(0, 12), now, &jobs);
        assert_eq!(asks(&keeping.close(140_000, now, &jobs)), vec![1]);
        assert!(keeping.take_scores().is_empty());
    }
}
