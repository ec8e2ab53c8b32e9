//! Which offsets are safe to commit.
//!
//! An input offset may be committed only when nothing still needs it: no open window holds it,
//! and every output it led to (a decision, an audit record, a dead letter) has been
//! acknowledged by the broker. The ledger tracks the second part as counted holds per
//! partition; open windows report the first part themselves. The committable offset of a
//! partition is the lowest offset still needed, or the next offset to consume when nothing is.

use crate::window::PartitionId;
use std::collections::{BTreeMap, HashMap};

/// Consumed positions and the holds of outputs not yet acknowledged.
#[derive(Debug, Default)]
pub struct OffsetLedger {
    next: HashMap<PartitionId, i64>,
    holds: HashMap<PartitionId, BTreeMap<i64, u32>>,
    committed: HashMap<PartitionId, i64>,
}

impl OffsetLedger {
    /// Notes that `offset` on `partition` has been read.
    pub fn consumed(&mut self, partition: PartitionId, offset: i64) {
        let next = self.next.entry(partition).or_insert(offset + 1);
        *next = (*next).max(offset + 1);
    }

    /// Keeps `offset` uncommittable until a matching [`OffsetLedger::release`].
    pub fn hold(&mut self, partition: PartitionId, offset: i64) {
        *self
            .holds
            .entry(partition)
            .or_default()
            .entry(offset)
            .or_insert(0) += 1;
    }

    /// Drops one hold on `offset`.
    pub fn release(&mut self, partition: PartitionId, offset: i64) {
        if let Some(holds) = self.holds.get_mut(&partition) {
            if let Some(count) = holds.get_mut(&offset) {
                *count -= 1;
                if *count == 0 {
                    holds.remove(&offset);
                }
            }
        }
    }

    /// Number of outstanding holds.
    pub fn outstanding(&self) -> usize {
        self.holds
            .values()
            .flat_map(|h| h.values())
            .map(|c| *c as usize)
            .sum()
    }

    /// Offsets to commit now: per partition, the lowest offset still needed by a hold (unless
    /// `ignore_output_holds`, inside a transaction) or by `window_holds`, else the next offset
    /// to consume; only partitions whose committable offset moved since the last commit.
    pub fn to_commit(
        &mut self,
        window_holds: &HashMap<PartitionId, i64>,
        ignore_output_holds: bool,
    ) -> Vec<(PartitionId, i64)> {
        let mut out = Vec::new();
        for (partition, next) in &self.next {
            let held = if ignore_output_holds {
                None
            } else {
                self.holds
                    .get(partition)
                    .and_then(|h| h.keys().next().copied())
            };
            let window = window_holds.get(partition).copied();
            let safe = [held, window].into_iter().flatten().fold(*next, i64::min);
            if self.committed.get(partition) != Some(&safe) {
                out.push((*partition, safe));
            }
        }
        out.sort();
        out
    }

    /// Like [`OffsetLedger::to_commit`], but every consumed partition, moved or not (a
    /// transaction rewrites the commit metadata of all of them).
    pub fn positions(
        &mut self,
        window_holds: &HashMap<PartitionId, i64>,
        ignore_output_holds: bool,
    ) -> Vec<(PartitionId, i64)> {
        self.committed.clear();
        self.to_commit(window_holds, ignore_output_holds)
    }

    /// Records that `offset` was committed for `partition`.
    pub fn committed(&mut self, partition: PartitionId, offset: i64) {
        self.committed.insert(partition, offset);
    }

    /// Forgets a partition entirely (revoked): its state now belongs to another member.
    pub fn forget(&mut self, partition: PartitionId) {
        self.next.remove(&partition);
        self.holds.remove(&partition);
        self.committed.remove(&partition);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: PartitionId = PartitionId {
        topic: 0,
        partition: 0,
    };

    #[test]
    fn commits_the_next_offset_when_nothing_is_held() {
        let mut l = OffsetLedger::default();
        l.consumed(P, 0);
        l.consumed(P, 1);
        assert_eq!(l.to_commit(&HashMap::new(), false), vec![(P, 2)]);
    }

    #[test]
    fn an_unacknowledged_output_holds_back_the_commit_until_released() {
        let mut l = OffsetLedger::default();
        (0..10).for_each(|o| l.consumed(P, o));
        l.hold(P, 3);
        l.hold(P, 3);
        l.hold(P, 7);
        assert_eq!(l.to_commit(&HashMap::new(), false), vec![(P, 3)]);
        l.committed(P, 3);
        l.release(P, 3);
        assert_eq!(
            l.to_commit(&HashMap::new(), false),
            vec![],
            "one hold on 3 remains"
        );
        l.release(P, 3);
        assert_eq!(l.to_commit(&HashMap::new(), false), vec![(P, 7)]);
        l.release(P, 7);
        assert_eq!(l.outstanding(), 0);
        assert_eq!(l.to_commit(&HashMap::new(), false), vec![(P, 10)]);
    }

    #[test]
    fn open_windows_hold_back_the_commit() {
        let mut l = OffsetLedger::default();
        (0..10).for_each(|o| l.consumed(P, o));
        let windows = HashMap::from([(P, 4)]);
        assert_eq!(l.to_commit(&windows, false), vec![(P, 4)]);
    }
}
