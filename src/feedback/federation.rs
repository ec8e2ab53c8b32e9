//! Federation: recommendations that move load between clusters.
//!
//! Every member publishes each cluster's closed performance window as a [`ClusterSummary`] on
//! the federation topic under one fixed key, so the topic's single partition holds every
//! cluster's summaries and the one member assigned it sees them all. That member gathers the
//! summaries by window; a window closes once a summary at least `federation.grace` later (by
//! window start) arrives, or `windows.max_wait` of wall-clock time after its first summary.
//! Then the hottest cluster at or above `hot_cpu` is paired with the coldest at or below
//! `cold_cpu`, the next hottest with the next coldest, and so on; each pair gives a
//! `cross_cluster_move` recommendation, gated and audited like every other decision.
//!
//! The summaries a gathering window holds keep their offsets uncommitted, so a crash re-reads
//! them. A member that loses the partition drops what it gathered; the new owner re-reads it.

use crate::config::FederationConfig;
use crate::event::{
    ClusterSummary, DecisionHeader, Recommendation, RecommendationType, Source, WindowBounds,
};
use crate::processor::Decision;
use crate::window::{Origin, PartitionId};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::time::Instant;

/// The fixed message key of every summary: one partition for all clusters.
pub const FEDERATION_KEY: &str = "federation";

/// Summaries of one window, as they arrive.
#[derive(Debug)]
struct Gathering {
    window: WindowBounds,
    first_seen: Instant,
    clusters: BTreeMap<String, ClusterSummary>,
    origins: Vec<Origin>,
}

/// A closed federation window's recommendations and the input offsets they free.
#[derive(Debug, Default)]
pub struct Closed {
    /// Cross-cluster recommendations, before gating.
    pub decisions: Vec<Decision>,
    /// Where the window's summaries were read.
    pub origins: Vec<Origin>,
}

/// The federation processor's state.
#[derive(Debug)]
pub struct Federation {
    config: FederationConfig,
    max_wait: Duration,
    open: BTreeMap<i64, Gathering>,
    latest_start_ms: i64,
    /// Start of the latest window judged; summaries of it or earlier ones come too late.
    closed_through_ms: i64,
    /// Summaries ignored: a window already closed, or the cluster bound reached.
    pub ignored: u64,
}

impl Federation {
    /// A processor with `config`, closing windows at the latest `max_wait` after their first
    /// summary.
    pub fn new(config: FederationConfig, max_wait: Duration) -> Federation {
        Federation {
            config,
            max_wait,
            open: BTreeMap::new(),
            latest_start_ms: i64::MIN,
            closed_through_ms: i64::MIN,
            ignored: 0,
        }
    }

    /// Windows being gathered.
    pub fn open_windows(&self) -> usize {
        self.open.len()
    }

    /// Takes one summary read at `origin`; returns the windows it closes.
    pub fn on_summary(
        &mut self,
        summary: ClusterSummary,
        origin: Option<Origin>,
        now: Instant,
    ) -> Vec<Closed> {
        let start_ms = summary.window.start.timestamp_millis();
        if start_ms <= self.closed_through_ms {
            // Its window was already judged without it.
            self.ignored += 1;
            return self.close_due(now);
        }
        let gathering = self.open.entry(start_ms).or_insert_with(|| Gathering {
            window: summary.window,
            first_seen: now,
            clusters: BTreeMap::new(),
            origins: Vec::new(),
        });
        if gathering.clusters.len() >= self.config.max_clusters
            && !gathering.clusters.contains_key(&summary.cluster_id)
        {
            self.ignored += 1;
        } else {
            gathering
                .clusters
                .insert(summary.cluster_id.clone(), summary);
            gathering.origins.extend(origin);
        }
        self.latest_start_ms = self.latest_start_ms.max(start_ms);
        self.close_due(now)
    }

    /// Closes the windows that are due at `now`: a later summary arrived, or they waited long
    /// enough.
    pub fn close_due(&mut self, now: Instant) -> Vec<Closed> {
        let grace = self.grace_ms();
        let due: Vec<i64> = self
            .open
            .iter()
            .filter(|(_, g)| {
                g.window.end.timestamp_millis() + grace <= self.latest_start_ms
                    || now.duration_since(g.first_seen) >= self.max_wait
            })
            .map(|(start, _)| *start)
            .collect();
        let mut closed = Vec::new();
        for start in due {
            self.closed_through_ms = self.closed_through_ms.max(start);
            if let Some(g) = self.open.remove(&start) {
                closed.push(self.judge(g));
            }
        }
        closed
    }

    /// Closes every window (end of input).
    pub fn flush(&mut self) -> Vec<Closed> {
        let all = std::mem::take(&mut self.open);
        if let Some(last) = all.keys().next_back() {
            self.closed_through_ms = self.closed_through_ms.max(*last);
        }
        all.into_values().map(|g| self.judge(g)).collect()
    }

    /// Lowest offset per partition still needed by a gathering window.
    pub fn held_offsets(&self) -> HashMap<PartitionId, i64> {
        let mut held = HashMap::new();
        for o in self.open.values().flat_map(|g| &g.origins) {
            held.entry(o.partition)
                .and_modify(|x: &mut i64| *x = (*x).min(o.offset))
                .or_insert(o.offset);
        }
        held
    }

    /// Drops every window fed by `partition` (the federation topic has one).
    pub fn drop_partition(&mut self, partition: PartitionId) -> usize {
        let before = self.open.len();
        self.open
            .retain(|_, g| !g.origins.iter().any(|o| o.partition == partition));
        before - self.open.len()
    }

    fn grace_ms(&self) -> i64 {
        self.config.grace.as_millis() as i64
    }

    fn judge(&self, g: Gathering) -> Closed {
        let mut by_load: Vec<&ClusterSummary> =
            g.clusters.values().filter(|s| s.nodes > 0).collect();
        by_load.sort_by(|a, b| b.cpu_util.total_cmp(&a.cpu_util));
        let hot = by_load
            .iter()
            .take_while(|s| s.cpu_util >= self.config.hot_cpu);
        let cold = by_load
            .iter()
            .rev()
            .take_while(|s| s.cpu_util <= self.config.cold_cpu);
        let decisions = hot
            .zip(cold)
            .map(|(h, c)| Decision::Recommendation(recommend(h, c, g.window, self.config.hot_cpu)))
            .collect();
        Closed {
            decisions,
            origins: g.origins,
        }
    }
}

/// The recommendation to move load from `hot` to `cold`: enough to bring both to the mean
/// they would share, weighted by node count.
fn recommend(
    hot: &ClusterSummary,
    cold: &ClusterSummary,
    window: WindowBounds,
    hot_mark: f64,
) -> Recommendation {
    let (hn, cn) = (f64::from(hot.nodes), f64::from(cold.nodes));
    let shared = (hot.cpu_util * hn + cold.cpu_util * cn) / (hn + cn);
    let node_cpus = (hot.cpu_util - shared) * hn;
    let fraction = if hot.cpu_util > 0.0 {
        (hot.cpu_util - shared) / hot.cpu_util
    } else {
        0.0
    };
    let gap = hot.cpu_util - cold.cpu_util;
    // Thin windows (under two samples per node) are less sure than the gap says.
    let thin = hot.samples < 2 * hot.nodes || cold.samples < 2 * cold.nodes;
    let confidence = (0.5 + gap).min(0.95) * if thin { 0.8 } else { 1.0 };
    let jobs = hot.queued_jobs;
    let mut action = format!(
        "move {:.0}% of the load ({node_cpus:.1} node-CPUs) from {} to {}",
        fraction * 100.0,
        hot.cluster_id,
        cold.cluster_id
    );
    if jobs > 0 {
        action.push_str(&format!(
            " and route its {jobs} queued jobs to {}",
            cold.cluster_id
        ));
    }
    let reasons = vec![
        format!(
            "{} runs at {:.0}% CPU over {} nodes, at or above the hot mark of {:.0}%",
            hot.cluster_id,
            hot.cpu_util * 100.0,
            hot.nodes,
            hot_mark * 100.0,
        ),
        format!(
            "{} runs at {:.0}% CPU over {} nodes; both would run at {:.0}%",
            cold.cluster_id,
            cold.cpu_util * 100.0,
            cold.nodes,
            shared * 100.0
        ),
    ];
    Recommendation {
        header: DecisionHeader::new(
            "recommendation.cross_cluster_move",
            &hot.cluster_id,
            hot.cluster_id.clone(),
            window,
            confidence,
            Source::Builtin,
            reasons,
        ),
        recommendation_type: RecommendationType::CrossClusterMove,
        action,
        target_nodes: Vec::new(),
        expected_gains: BTreeMap::from([
            ("hot_cpu_util".to_owned(), shared - hot.cpu_util),
            ("balance".to_owned(), gap),
        ]),
        risk: if fraction > 0.3 { "medium" } else { "low" }.to_owned(),
        target_cluster: Some(cold.cluster_id.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    const MIN5: i64 = 300_000;

    fn summary(cluster: &str, start_ms: i64, cpu: f64, nodes: u32) -> ClusterSummary {
        ClusterSummary {
            schema_version: 1,
            cluster_id: cluster.into(),
            window: WindowBounds {
                start: Utc.timestamp_millis_opt(start_ms).unwrap(),
                end: Utc.timestamp_millis_opt(start_ms + MIN5).unwrap(),
            },
            nodes,
            samples: nodes * 30,
            cpu_util: cpu,
            cpu_util_max: cpu,
            memory_util: 0.5,
            queued_jobs: 7,
            active_jobs: nodes,
            energy_watts: 100.0,
        }
    }

    fn federation() -> Federation {
        let config = FederationConfig {
            grace: Duration::from_millis(MIN5 as u64),
            ..FederationConfig::default()
        };
        Federation::new(config, Duration::from_secs(3600))
    }

    fn recommendation(c: &Closed) -> &Recommendation {
        match &c.decisions[0] {
            Decision::Recommendation(r) => r,
            other => panic!("not a recommendation: {other:?}"),
        }
    }

    #[test]
    fn a_hot_and_a_cold_cluster_give_a_move_once_the_window_has_waited_its_grace() {
        let mut f = federation();
        let now = Instant::now();
        assert!(f
            .on_summary(summary("hot", 0, 0.92, 4), None, now)
            .is_empty());
        assert!(f
            .on_summary(summary("cold", 0, 0.20, 4), None, now)
            .is_empty());
        assert!(f
            .on_summary(summary("hot", MIN5, 0.9, 4), None, now)
            .is_empty());
        let closed = f.on_summary(summary("hot", 2 * MIN5, 0.9, 4), None, now);
        assert_eq!(closed.len(), 1, "the first window closes, grace passed");
        let r = recommendation(&closed[0]);
        assert_eq!(r.recommendation_type, RecommendationType::CrossClusterMove);
        assert_eq!(r.header.cluster_id, "hot");
        assert_eq!(r.target_cluster.as_deref(), Some("cold"));
        assert!(
            r.action.contains("39%") && r.action.contains("7 queued jobs"),
            "{}",
            r.action
        );
        assert!(r.header.confidence > 0.9);
        assert!(closed[1..].is_empty());
    }

    #[test]
    fn no_move_without_both_a_hot_and_a_cold_cluster() {
        let mut f = federation();
        let now = Instant::now();
        f.on_summary(summary("a", 0, 0.95, 4), None, now);
        f.on_summary(summary("b", 0, 0.7, 4), None, now);
        let closed = f.flush();
        assert_eq!(closed.len(), 1);
        assert!(closed[0].decisions.is_empty(), "0.7 is not cold");
    }

    #[test]
    fn a_summary_for_a_judged_window_is_ignored() {
        let mut f = federation();
        let now = Instant::now();
        f.on_summary(summary("a", 0, 0.95, 4), None, now);
        assert_eq!(
            f.on_summary(summary("a", 2 * MIN5, 0.95, 4), None, now)
                .len(),
            1
        );
        assert!(f.on_summary(summary("b", 0, 0.1, 4), None, now).is_empty());
        assert_eq!(f.ignored, 1);
    }

    #[test]
    fn gathering_windows_hold_their_offsets_until_judged() {
        let mut f = federation();
        let now = Instant::now();
        let at = |offset| Origin {
            partition: PartitionId {
                topic: 3,
                partition: 0,
            },
            offset,
        };
        f.on_summary(summary("a", 0, 0.95, 4), Some(at(10)), now);
        f.on_summary(summary("a", MIN5, 0.95, 4), Some(at(11)), now);
        assert_eq!(
            f.held_offsets().values().copied().collect::<Vec<_>>(),
            vec![10]
        );
        f.on_summary(summary("a", 2 * MIN5, 0.95, 4), Some(at(12)), now);
        assert_eq!(
            f.held_offsets().values().copied().collect::<Vec<_>>(),
            vec![11]
        );
    }
}
