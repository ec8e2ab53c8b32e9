//! Open windows per key: fired in event-time order as the watermark passes their end, kept for
//! the allowed lateness so late events can revise them, and fired by wall clock when the
//! watermark stalls.
//!
//! Each window remembers the lowest offset of every partition that fed it (its [`Origin`]s).
//! Until the window is purged (the watermark has passed its end plus the allowed lateness) and
//! its results are acknowledged, those offsets must not be committed, so that a restart
//! re-reads exactly what rebuilds every window that could still change.

use crate::window::{PartitionId, WindowSpec};
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::time::Duration;
use tokio::time::Instant;

/// The lowest offset a window holds on one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// The partition.
    pub partition: PartitionId,
    /// Lowest offset from it that went into the window.
    pub offset: i64,
}

/// A window still accepting events, fired or not.
#[derive(Debug)]
struct OpenWindow<A> {
    start_ms: i64,
    agg: A,
    origins: Vec<Origin>,
    /// Wall-clock time of the window's first event, for the maximum wait.
    opened_at: Instant,
    /// Emissions so far; the next one carries this as its revision.
    emitted: u32,
    /// Changed since the last emission.
    dirty: bool,
}

/// A window to answer: first emitted when the watermark passes its end (or its wall-clock wait
/// runs out), again with a higher revision after each late update.
#[derive(Debug)]
pub struct ClosedWindow<K, A> {
    /// The key (node, cluster, ...).
    pub key: K,
    /// Inclusive start, epoch milliseconds.
    pub start_ms: i64,
    /// Exclusive end, epoch milliseconds.
    pub end_ms: i64,
    /// The aggregate as of now.
    pub agg: A,
    /// Lowest offset per partition that fed the window.
    pub origins: Vec<Origin>,
    /// 0 for the first emission, then 1, 2, ... for revisions caused by late events.
    pub revision: u32,
    /// Whether it fired by the wall-clock wait rather than the watermark.
    pub by_wall_clock: bool,
}

/// What [`WindowStore::record`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Added to `windows` windows not yet emitted.
    Added {
        /// Number of windows the event went into.
        windows: usize,
    },
    /// Added to at least one window already emitted, within the allowed lateness: that window
    /// will be emitted again with a higher revision.
    Revised,
    /// Every window it belongs to is past the allowed lateness.
    Late,
    /// Its key is new and the open-key limit is reached.
    Refused,
}

/// Lateness and wall-clock settings of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    /// Events this far behind the watermark (past their window's end) still revise it.
    pub allowed_lateness: Duration,
    /// A window not emitted this long (wall clock) after its first event, plus its size, is
    /// emitted anyway. `None` waits for the watermark forever.
    pub max_wait: Option<Duration>,
    /// Distinct keys with windows beyond which new keys are refused.
    pub max_keys: usize,
}

/// Windows of one processor, ordered by end so firing is a range walk.
#[derive(Debug)]
pub struct WindowStore<K, A> {
    spec: WindowSpec,
    limits: StoreLimits,
    open: BTreeMap<(i64, K), OpenWindow<A>>,
    windows_per_key: HashMap<K, u32>,
    watermark: Option<i64>,
    /// Per key, the end of its latest emitted window: an event for a window of the key that
    /// ended there or earlier, and is no longer kept, is late. Lateness is judged per key, not
    /// against the watermark, because the watermark moves back when a partition with older
    /// data is assigned (a rebalance); that partition's keys are then not late.
    closed_through: HashMap<K, i64>,
    /// Horizon at the last eviction from `closed_through`.
    evicted_at: i64,
    /// When the open windows were last searched for an expired wall-clock wait.
    wall_checked_at: Option<Instant>,
}

/// How often, at most, [`WindowStore::take_closed`] searches every open window for one whose
/// wall-clock wait has run out. Windows the watermark closes are found by walking only the
/// front of the end-ordered map; the wall-clock search walks them all, so it runs this often
/// rather than on every event (a wait may run out up to this much late).
const WALL_CHECK_EVERY: Duration = Duration::from_millis(500);

/// Events this far behind the watermark are late even for a key with no emitted window (a
/// key not seen for that long, or never), so forgotten keys cannot reopen old windows.
const LATE_HORIZON_MS: i64 = 3_600_000;

impl<K: Ord + Hash + Clone, A: Default + Clone> WindowStore<K, A> {
    /// An empty store cutting windows by `spec`.
    pub fn new(spec: WindowSpec, limits: StoreLimits) -> WindowStore<K, A> {
        WindowStore {
            spec,
            limits,
            open: BTreeMap::new(),
            windows_per_key: HashMap::new(),
            watermark: None,
            closed_through: HashMap::new(),
            evicted_at: i64::MIN,
            wall_checked_at: None,
        }
    }

    /// The window geometry.
    pub fn spec(&self) -> &WindowSpec {
        &self.spec
    }

    fn lateness_ms(&self) -> i64 {
        self.limits.allowed_lateness.as_millis() as i64
    }

    /// Adds an event at `ts_ms` for `key`, read from `origin` at wall-clock `now`.
    pub fn record(
        &mut self,
        key: &K,
        ts_ms: i64,
        origin: Option<Origin>,
        now: Instant,
        mut update: impl FnMut(&mut A),
    ) -> Recorded {
        let size = self.spec.size_ms();
        let closed_through = self.closed_through.get(key).copied().unwrap_or(i64::MIN);
        let horizon = self
            .watermark
            .map_or(i64::MIN, |w| w.saturating_sub(LATE_HORIZON_MS));
        let starts: Vec<i64> = self
            .spec
            .starts_for(ts_ms)
            .filter(|start| {
                let end = start + size;
                self.open.contains_key(&(end, key.clone()))
                    || (end > closed_through && end > horizon)
            })
            .collect();
        if starts.is_empty() {
            return Recorded::Late;
        }
        if !self.windows_per_key.contains_key(key)
            && self.windows_per_key.len() >= self.limits.max_keys
        {
            return Recorded::Refused;
        }
        let mut revised = false;
        for &start in &starts {
            let window = self
                .open
                .entry((start + size, key.clone()))
                .or_insert_with(|| {
                    *self.windows_per_key.entry(key.clone()).or_insert(0) += 1;
                    OpenWindow {
                        start_ms: start,
                        agg: A::default(),
                        origins: Vec::new(),
                        opened_at: now,
                        emitted: 0,
                        dirty: false,
                    }
                });
            update(&mut window.agg);
            window.dirty = true;
            revised |= window.emitted > 0;
            if let Some(origin) = origin {
                note_origin(&mut window.origins, origin);
            }
        }
        if revised {
            Recorded::Revised
        } else {
            Recorded::Added {
                windows: starts.len(),
            }
        }
    }

    /// Adds an event at `ts_ms` to the windows of `key` that already exist, opening none (for
    /// inputs that enrich windows another input opens); returns how many it reached.
    pub fn update_existing(
        &mut self,
        key: &K,
        ts_ms: i64,
        origin: Option<Origin>,
        mut update: impl FnMut(&mut A),
    ) -> usize {
        let size = self.spec.size_ms();
        let mut reached = 0;
        for start in self.spec.starts_for(ts_ms) {
            if let Some(window) = self.open.get_mut(&(start + size, key.clone())) {
                update(&mut window.agg);
                window.dirty = true;
                if let Some(origin) = origin {
                    note_origin(&mut window.origins, origin);
                }
                reached += 1;
            }
        }
        reached
    }

    /// Emits every window the watermark has passed (or whose wall-clock wait ran out at `now`)
    /// and every emitted window changed since, in order of end then key; purges windows past
    /// the allowed lateness.
    pub fn take_closed(&mut self, watermark_ms: i64, now: Instant) -> Vec<ClosedWindow<K, A>> {
        let watermark = watermark_ms;
        self.watermark = Some(watermark);
        let purge_up_to = watermark.saturating_sub(self.lateness_ms());
        let wait = self
            .limits
            .max_wait
            .map(|w| w + Duration::from_millis(self.spec.size_ms() as u64));

        // The watermark's windows are the front of the map; the rest only now and then.
        let mut due: Vec<((i64, K), bool)> = self
            .open
            .iter()
            .take_while(|((end, _), _)| *end <= watermark)
            .filter(|(_, w)| w.dirty)
            .map(|(id, _)| (id.clone(), false))
            .collect();
        let wall_check_due = self
            .wall_checked_at
            .is_none_or(|at| now.saturating_duration_since(at) >= WALL_CHECK_EVERY);
        if let (Some(wait), true) = (wait, wall_check_due) {
            self.wall_checked_at = Some(now);
            due.extend(
                self.open
                    .iter()
                    .skip_while(|((end, _), _)| *end <= watermark)
                    .filter(|(_, w)| {
                        w.dirty
                            && w.emitted == 0
                            && now.saturating_duration_since(w.opened_at) >= wait
                    })
                    .map(|(id, _)| (id.clone(), true)),
            );
        }

        let mut closed = Vec::with_capacity(due.len());
        for (id, by_wall_clock) in due {
            let purge = id.0 <= purge_up_to;
            let (revision, start_ms, agg, origins) = if purge {
                let Some(w) = self.open.remove(&id) else {
                    continue;
                };
                self.forget_window_of(&id.1);
                (w.emitted, w.start_ms, w.agg, w.origins)
            } else {
                let Some(w) = self.open.get_mut(&id) else {
                    continue;
                };
                w.dirty = false;
                w.emitted += 1;
                (w.emitted - 1, w.start_ms, w.agg.clone(), w.origins.clone())
            };
            let through = self.closed_through.entry(id.1.clone()).or_insert(i64::MIN);
            *through = (*through).max(id.0);
            closed.push(ClosedWindow {
                key: id.1,
                start_ms,
                end_ms: id.0,
                agg,
                origins,
                revision,
                by_wall_clock,
            });
        }

        // Emitted, unchanged windows past the lateness leave without another emission.
        while let Some(entry) = self.open.first_entry() {
            if entry.key().0 > purge_up_to {
                break;
            }
            let ((_, key), _) = entry.remove_entry();
            self.forget_window_of(&key);
        }

        // Keys whose last emission is beyond the horizon are covered by it; forget them now
        // and then (not on every call: this walks every key).
        let horizon = watermark.saturating_sub(LATE_HORIZON_MS);
        if horizon > self.evicted_at.saturating_add(LATE_HORIZON_MS / 4) {
            self.closed_through.retain(|_, end| *end >= horizon);
            self.evicted_at = horizon;
        }
        closed
    }

    /// Removes every window fed by `partition` (revoked in a rebalance; its new owner rebuilds
    /// them from the committed offsets); returns how many.
    pub fn drop_partition(&mut self, partition: PartitionId) -> usize {
        self.drop_where(|_, origins| origins.iter().any(|o| o.partition == partition))
    }

    /// Removes every window `drop` selects (e.g. on partition revocation); returns how many.
    pub fn drop_where(&mut self, mut drop: impl FnMut(&K, &[Origin]) -> bool) -> usize {
        let doomed: Vec<(i64, K)> = self
            .open
            .iter()
            .filter(|((_, k), w)| drop(k, &w.origins))
            .map(|(k, _)| k.clone())
            .collect();
        for id in &doomed {
            self.open.remove(id);
            self.forget_window_of(&id.1);
        }
        doomed.len()
    }

    /// Number of keys with at least one window.
    pub fn open_keys(&self) -> usize {
        self.windows_per_key.len()
    }

    /// Number of windows kept (open, or emitted and within the allowed lateness).
    pub fn open_windows(&self) -> usize {
        self.open.len()
    }

    /// Lowest offset held by a kept window on each partition.
    pub fn held_offsets(&self) -> HashMap<PartitionId, i64> {
        let mut held: HashMap<PartitionId, i64> = HashMap::new();
        for origin in self.open.values().flat_map(|w| &w.origins) {
            held.entry(origin.partition)
                .and_modify(|o| *o = (*o).min(origin.offset))
                .or_insert(origin.offset);
        }
        held
    }

    fn forget_window_of(&mut self, key: &K) {
        if let Some(count) = self.windows_per_key.get_mut(key) {
            *count -= 1;
            if *count == 0 {
                self.windows_per_key.remove(key);
            }
        }
    }
}

/// Adds `origin` to `origins`, keeping the lowest offset per partition.
pub fn note_origin(origins: &mut Vec<Origin>, origin: Origin) {
    match origins.iter_mut().find(|o| o.partition == origin.partition) {
        Some(o) => o.offset = o.offset.min(origin.offset),
        None => origins.push(origin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: PartitionId = PartitionId {
        topic: 0,
        partition: 3,
    };

    fn limits(max_keys: usize, lateness_s: u64, max_wait_s: Option<u64>) -> StoreLimits {
        StoreLimits {
            allowed_lateness: Duration::from_secs(lateness_s),
            max_wait: max_wait_s.map(Duration::from_secs),
            max_keys,
        }
    }

    fn store(l: StoreLimits) -> WindowStore<&'static str, Vec<i64>> {
        WindowStore::new(WindowSpec::tumbling(Duration::from_secs(60)), l)
    }

    fn origin(offset: i64) -> Option<Origin> {
        Some(Origin {
            partition: P,
            offset,
        })
    }

    fn now() -> Instant {
        Instant::now()
    }

    #[test]
    fn windows_close_when_the_watermark_passes_their_end() {
        let mut s = store(limits(10, 0, None));
        s.record(&"a", 10_000, origin(5), now(), |v| v.push(10_000));
        s.record(&"a", 70_000, origin(6), now(), |v| v.push(70_000));
        assert!(s.take_closed(59_999, now()).is_empty());
        let closed = s.take_closed(60_000, now());
        assert_eq!(closed.len(), 1);
        assert_eq!(
            (closed[0].start_ms, closed[0].end_ms, closed[0].revision),
            (0, 60_000, 0)
        );
        assert_eq!(closed[0].agg, vec![10_000]);
        assert_eq!(
            closed[0].origins,
            vec![Origin {
                partition: P,
                offset: 5
            }]
        );
        assert_eq!(s.held_offsets()[&P], 6);
    }

    #[test]
    fn events_past_the_allowed_lateness_are_late() {
        let mut s = store(limits(10, 0, None));
        s.record(&"a", 10_000, None, now(), |_| {});
        s.take_closed(60_000, now());
        assert_eq!(s.record(&"a", 59_000, None, now(), |_| {}), Recorded::Late);
        assert_eq!(
            s.record(&"a", 60_000, None, now(), |_| {}),
            Recorded::Added { windows: 1 }
        );
    }

    #[test]
    fn late_events_within_lateness_revise_the_window_with_a_higher_revision() {
        let mut s = store(limits(10, 30, None));
        s.record(&"a", 10_000, origin(1), now(), |v| v.push(1));
        let first = s.take_closed(60_000, now());
        assert_eq!((first.len(), first[0].revision), (1, 0));
        // Still kept, and still holding its offsets, until the lateness has passed.
        assert_eq!(s.held_offsets()[&P], 1);
        assert_eq!(
            s.record(&"a", 20_000, origin(9), now(), |v| v.push(2)),
            Recorded::Revised
        );
        let second = s.take_closed(70_000, now());
        assert_eq!((second[0].revision, second[0].agg.clone()), (1, vec![1, 2]));
        // Unchanged windows are not emitted again, and leave once the lateness has passed.
        assert!(s.take_closed(80_000, now()).is_empty());
        assert_eq!(s.open_windows(), 1);
        assert!(s.take_closed(90_000, now()).is_empty());
        assert_eq!(s.open_windows(), 0);
        assert_eq!(s.record(&"a", 30_000, None, now(), |_| {}), Recorded::Late);
    }

    #[test]
    fn lateness_is_judged_per_key_so_keys_of_a_moved_partition_are_not_late() {
        let mut s = store(limits(10, 0, None));
        s.record(&"a", 10_000, None, now(), |v| v.push(1));
        assert_eq!(s.take_closed(120_000, now()).len(), 1);
        // "b" arrives late in event time (its partition was just assigned): not late.
        assert_eq!(
            s.record(&"b", 10_000, None, now(), |v| v.push(2)),
            Recorded::Added { windows: 1 }
        );
        // "a" already had that window decided: late.
        assert_eq!(s.record(&"a", 20_000, None, now(), |_| {}), Recorded::Late);
        // The watermark moved back to the new partition's pace; "b" closes when it passes.
        let closed = s.take_closed(60_000, now());
        assert_eq!(
            (closed.len(), closed[0].key, closed[0].agg.clone()),
            (1, "b", vec![2])
        );
        // Beyond the horizon everything is late.
        s.take_closed(10_000_000, now());
        assert_eq!(s.record(&"c", 10_000, None, now(), |_| {}), Recorded::Late);
    }

    #[test]
    fn new_keys_beyond_the_limit_are_refused_and_known_keys_still_accepted() {
        let mut s = store(limits(2, 0, None));
        s.record(&"a", 1, None, now(), |_| {});
        s.record(&"b", 1, None, now(), |_| {});
        assert_eq!(s.record(&"c", 1, None, now(), |_| {}), Recorded::Refused);
        assert_eq!(
            s.record(&"a", 61_000, None, now(), |_| {}),
            Recorded::Added { windows: 1 }
        );
        assert_eq!(s.open_keys(), 2);
        s.take_closed(60_000, now());
        assert_eq!(s.open_keys(), 1);
        assert_eq!(
            s.record(&"c", 61_000, None, now(), |_| {}),
            Recorded::Added { windows: 1 }
        );
    }

    #[test]
    fn closed_windows_come_out_in_end_then_key_order() {
        let mut s = store(limits(10, 0, None));
        s.record(&"b", 70_000, None, now(), |_| {});
        s.record(&"b", 1_000, None, now(), |_| {});
        s.record(&"a", 2_000, None, now(), |_| {});
        let order: Vec<_> = s
            .take_closed(200_000, now())
            .iter()
            .map(|w| (w.end_ms, w.key))
            .collect();
        assert_eq!(order, vec![(60_000, "a"), (60_000, "b"), (120_000, "b")]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_watermark_still_closes_windows_after_the_wall_clock_wait() {
        let mut s = store(limits(10, 0, Some(30)));
        s.record(&"a", 10_000, origin(1), Instant::now(), |v| v.push(1));
        tokio::time::advance(Duration::from_secs(89)).await;
        assert!(s.take_closed(0, Instant::now()).is_empty());
        tokio::time::advance(Duration::from_secs(1)).await;
        let closed = s.take_closed(0, Instant::now());
        assert_eq!(closed.len(), 1);
        assert!(closed[0].by_wall_clock);
        // Kept (the watermark has not passed it) and not emitted twice.
        assert!(s.take_closed(0, Instant::now()).is_empty());
        assert_eq!(s.open_windows(), 1);
        // When the watermark finally passes, it leaves without a second emission.
        assert!(s.take_closed(60_000, Instant::now()).is_empty());
        assert_eq!(s.open_windows(), 0);
    }
}
