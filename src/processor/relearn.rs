//! Re-readable history for the anomaly detector's baselines.
//!
//! The detector's per-node state lives in memory. After a restart or a partition move, the
//! new owner rebuilds it from what it re-reads from the committed offset, and a node alarms
//! only once it has seen `anomaly.warmup_samples` samples again. Open windows alone hold the
//! committed offset back by about one prediction window (15 minutes), fewer samples than the
//! warm-up at a 10-second period. So the anomaly processor also holds, per partition, the
//! offset of a sample at least `anomaly.relearn_history` of event time older than the
//! partition's newest: a restart re-reads that much and judges new windows with a warmed-up
//! detector. The cost is that much input re-read after every restart; memory is one
//! checkpoint per minute of that history per partition.

use crate::window::PartitionId;
use std::collections::{HashMap, VecDeque};

/// Event time between checkpoints.
const SPACING_MS: i64 = 60_000;

/// Per partition, (event time, offset) checkpoints covering the relearn history.
#[derive(Debug, Default)]
pub struct RelearnHistory {
    history_ms: i64,
    checkpoints: HashMap<PartitionId, VecDeque<(i64, i64)>>,
}

impl RelearnHistory {
    /// Holds back `history_ms` of event time per partition (0 holds nothing).
    pub fn new(history_ms: i64) -> RelearnHistory {
        RelearnHistory {
            history_ms,
            checkpoints: HashMap::new(),
        }
    }

    /// Notes a sample at `event_ms` read at `offset` of `partition`.
    pub fn note(&mut self, partition: PartitionId, event_ms: i64, offset: i64) {
        if self.history_ms <= 0 {
            return;
        }
        let q = self.checkpoints.entry(partition).or_default();
        if q.back().is_none_or(|&(t, _)| event_ms >= t + SPACING_MS) {
            q.push_back((event_ms, offset));
        }
        let horizon = q.back().map_or(i64::MIN, |&(t, _)| t) - self.history_ms;
        // Keep the newest checkpoint at or before the horizon: re-reading from it covers it.
        while q.len() >= 2 && q[1].0 <= horizon {
            q.pop_front();
        }
    }

    /// Per partition, the offset a restart must re-read from.
    pub fn held(&self) -> impl Iterator<Item = (PartitionId, i64)> + '_ {
        self.checkpoints
            .iter()
            .filter_map(|(p, q)| q.front().map(|&(_, offset)| (*p, offset)))
    }

    /// Forgets a partition (revoked).
    pub fn forget(&mut self, partition: PartitionId) {
        self.checkpoints.remove(&partition);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: PartitionId = PartitionId {
        topic: 0,
        partition: 3,
    };

    #[test]
    fn the_held_offset_is_at_least_the_history_old() {
        let mut h = RelearnHistory::new(20 * 60_000);
        // A sample every 10 s at offsets 0, 1, 2, ... for an hour.
        for i in 0..360 {
            h.note(P, i * 10_000, i);
        }
        let held: Vec<_> = h.held().collect();
        // Newest checkpoint at 59 min; the held one is the newest at or before 39 min.
        assert_eq!(held, vec![(P, 39 * 6)]);
    }

    #[test]
    fn no_history_holds_nothing_and_a_revoked_partition_is_forgotten() {
        let mut off = RelearnHistory::new(0);
        off.note(P, 0, 0);
        assert_eq!(off.held().count(), 0);
        let mut h = RelearnHistory::new(60_000);
        h.note(P, 0, 5);
        assert_eq!(h.held().collect::<Vec<_>>(), vec![(P, 5)]);
        h.forget(P);
        assert_eq!(h.held().count(), 0);
    }
}
