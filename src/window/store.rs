//! Open windows per key: fired in event-time order as the watermark passes their end, kept for
//! the allowed lateness so late events can revise them, and fired by wall clock when the
//! watermark stalls.
//!
//! Each window remembers the lowest offset of every partition that fed it (its [`Origin`]s).
//! Until the window is purged (the watermark has passed its end plus the allowed lateness) and
//! its results are acknowledged, those offsets must not be committed, so that a restart
//! re-reads exactly what rebuilds every window that could still change.
//!
//! How it is laid out, and what that buys (measured in docs/benchmarks.md, "Optimisation"):
//! the windows of a key live with the key in one hash map (foldhash), so an event costs one
//! hash lookup and no key copy once its window exists. Ends are indexed by bucket: `pending`
//! holds, per window end, the keys whose window ending then the watermark has not passed,
//! `kept` those it has passed but that the allowed lateness still keeps. Firing and purging
//! pop whole buckets from the front, revised windows are queued as they change, the held
//! offsets are a per-partition multiset kept up to date as windows open and leave, and the
//! wall-clock search walks each pending bucket from a cursor in opening order. None of these
//! walks every open window, so the cost of an event does not grow with the number of keys (the
//! earlier single `BTreeMap<(end, key)>` searched every window twice a second and on every
//! commit tick, and stalled at a million nodes).

use crate::window::{PartitionId, WindowSpec};
use foldhash::{HashMap as FastMap, HashMapExt};
use smallvec::SmallVec;
use std::borrow::Borrow;
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

/// A window's origins: one partition for a per-node window (no allocation), several for a
/// per-cluster one.
type Origins = SmallVec<[Origin; 1]>;

/// A window still accepting events, fired or not.
#[derive(Debug)]
struct OpenWindow<A> {
    end_ms: i64,
    agg: A,
    origins: Origins,
    /// Wall-clock time of the window's first event, for the maximum wait.
    opened_at: Instant,
    /// Emissions so far; the next one carries this as its revision.
    emitted: u32,
    /// Changed since the last emission.
    dirty: bool,
    /// The watermark has passed its end: it sits in `kept`, and a change queues a revision.
    kept: bool,
}

/// A key's windows (a few: one per overlapping window of the spec, plus those kept for the
/// allowed lateness) and the end of its latest emitted window.
#[derive(Debug)]
struct KeyState<A> {
    windows: Vec<OpenWindow<A>>,
    /// An event for a window of the key that ended here or earlier, and is no longer kept, is
    /// late. Lateness is judged per key, not against the watermark, because the watermark moves
    /// back when a partition with older data is assigned (a rebalance); that partition's keys
    /// are then not late.
    closed_through: i64,
}

impl<A> KeyState<A> {
    fn position(&self, end_ms: i64) -> Option<usize> {
        self.windows.iter().position(|w| w.end_ms == end_ms)
    }

    fn window_mut(&mut self, end_ms: i64) -> Option<&mut OpenWindow<A>> {
        self.windows.iter_mut().find(|w| w.end_ms == end_ms)
    }
}

/// Keys with a window ending at one time that the watermark has not passed, in the order the
/// windows opened. An entry whose window has gone (dropped in a rebalance) is skipped.
#[derive(Debug)]
struct Bucket<K> {
    keys: Vec<K>,
    /// Entries before this one are no longer waiting on the wall clock.
    wall_cursor: usize,
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

/// The offsets the kept windows hold: per partition, how many windows hold each offset.
#[derive(Debug, Default)]
struct HeldOffsets(HashMap<PartitionId, BTreeMap<i64, u32>>);

impl HeldOffsets {
    fn add(&mut self, origin: Origin) {
        let offsets = self.0.entry(origin.partition).or_default();
        *offsets.entry(origin.offset).or_insert(0) += 1;
    }

    fn remove(&mut self, origin: Origin) {
        let Some(offsets) = self.0.get_mut(&origin.partition) else {
            return;
        };
        if let Some(count) = offsets.get_mut(&origin.offset) {
            *count -= 1;
            if *count == 0 {
                offsets.remove(&origin.offset);
            }
        }
        if offsets.is_empty() {
            self.0.remove(&origin.partition);
        }
    }

    /// Adds `origin` to a window's `origins`, keeping the lowest offset per partition.
    fn note(&mut self, origins: &mut Origins, origin: Origin) {
        match origins.iter_mut().find(|o| o.partition == origin.partition) {
            Some(o) if origin.offset < o.offset => {
                self.remove(*o);
                o.offset = origin.offset;
                self.add(*o);
            }
            Some(_) => {}
            None => {
                origins.push(origin);
                self.add(origin);
            }
        }
    }

    fn release(&mut self, origins: &[Origin]) {
        for origin in origins {
            self.remove(*origin);
        }
    }

    fn lowest(&self) -> HashMap<PartitionId, i64> {
        self.0
            .iter()
            .filter_map(|(p, offsets)| offsets.keys().next().map(|o| (*p, *o)))
            .collect()
    }
}

/// Windows of one processor, by key, with their ends indexed for firing in order.
#[derive(Debug)]
pub struct WindowStore<K, A> {
    spec: WindowSpec,
    limits: StoreLimits,
    keys: FastMap<K, KeyState<A>>,
    /// Keys with at least one window.
    live_keys: usize,
    /// Windows kept, open or emitted.
    windows: usize,
    pending: BTreeMap<i64, Bucket<K>>,
    kept: BTreeMap<i64, Vec<K>>,
    /// Windows in `kept` changed since their last emission.
    revised: Vec<(i64, K)>,
    held: HeldOffsets,
    watermark: Option<i64>,
    /// Horizon at the last eviction of forgotten keys.
    evicted_at: i64,
    /// When the pending windows were last searched for an expired wall-clock wait.
    wall_checked_at: Option<Instant>,
}

/// How often, at most, [`WindowStore::take_closed`] searches the pending windows for one whose
/// wall-clock wait has run out (a wait may run out up to this much late). The search walks
/// each pending bucket from where it stopped, in opening order, and stops at the first window
/// still waiting: a window opened out of wall-clock order waits at most for the one before it.
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
            keys: FastMap::new(),
            live_keys: 0,
            windows: 0,
            pending: BTreeMap::new(),
            kept: BTreeMap::new(),
            revised: Vec::new(),
            held: HeldOffsets::default(),
            watermark: None,
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

    /// Adds an event at `ts_ms` for `key`, read from `origin` at wall-clock `now`. The key is
    /// borrowed (a `&str` for a `String` key): it is copied only when it opens a window.
    pub fn record<Q>(
        &mut self,
        key: &Q,
        ts_ms: i64,
        origin: Option<Origin>,
        now: Instant,
        mut update: impl FnMut(&mut A),
    ) -> Recorded
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let size = self.spec.size_ms();
        let horizon = self
            .watermark
            .map_or(i64::MIN, |w| w.saturating_sub(LATE_HORIZON_MS));
        let state = self.keys.get(key);
        let closed_through = state.map_or(i64::MIN, |s| s.closed_through);
        let live = state.is_some_and(|s| !s.windows.is_empty());
        let ends: SmallVec<[i64; 4]> = self
            .spec
            .starts_for(ts_ms)
            .map(|start| start + size)
            .filter(|&end| {
                state.is_some_and(|s| s.position(end).is_some())
                    || (end > closed_through && end > horizon)
            })
            .collect();
        if ends.is_empty() {
            return Recorded::Late;
        }
        if !live && self.live_keys >= self.limits.max_keys {
            return Recorded::Refused;
        }
        if !live {
            self.live_keys += 1;
        }
        if state.is_none() {
            self.keys.insert(
                key.to_owned(),
                KeyState {
                    windows: Vec::new(),
                    closed_through: i64::MIN,
                },
            );
        }
        let Some(state) = self.keys.get_mut(key) else {
            return Recorded::Refused;
        };
        let count = ends.len();
        let mut revised = false;
        for end in ends {
            let index = match state.position(end) {
                Some(index) => index,
                None => {
                    let at = state.windows.partition_point(|w| w.end_ms < end);
                    // One slot at a time: most keys hold one window, and a `Vec` would grow to
                    // four (a measured 1.5 KiB per window at 100,000 nodes instead of 1.1).
                    state.windows.reserve_exact(1);
                    state.windows.insert(
                        at,
                        OpenWindow {
                            end_ms: end,
                            agg: A::default(),
                            origins: Origins::new(),
                            opened_at: now,
                            emitted: 0,
                            dirty: false,
                            kept: false,
                        },
                    );
                    self.windows += 1;
                    self.pending
                        .entry(end)
                        .or_insert_with(|| Bucket {
                            keys: Vec::new(),
                            wall_cursor: 0,
                        })
                        .keys
                        .push(key.to_owned());
                    at
                }
            };
            let window = &mut state.windows[index];
            update(&mut window.agg);
            if window.kept && !window.dirty {
                self.revised.push((end, key.to_owned()));
            }
            window.dirty = true;
            revised |= window.emitted > 0;
            if let Some(origin) = origin {
                self.held.note(&mut window.origins, origin);
            }
        }
        if revised {
            Recorded::Revised
        } else {
            Recorded::Added { windows: count }
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
        let Some(state) = self.keys.get_mut(key) else {
            return 0;
        };
        let mut reached = 0;
        for start in self.spec.starts_for(ts_ms) {
            let end = start + size;
            let Some(window) = state.window_mut(end) else {
                continue;
            };
            update(&mut window.agg);
            if window.kept && !window.dirty {
                self.revised.push((end, key.clone()));
            }
            window.dirty = true;
            if let Some(origin) = origin {
                self.held.note(&mut window.origins, origin);
            }
            reached += 1;
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

        let mut due: Vec<(i64, K)> = Vec::new();
        let revised = std::mem::take(&mut self.revised);
        for (end, key) in revised {
            if end <= watermark {
                due.push((end, key));
            } else {
                self.revised.push((end, key));
            }
        }
        self.fire_pending(watermark, &mut due);
        due.sort_unstable();
        let by_watermark = due.len();
        self.search_wall_clock(now, &mut due);
        due[by_watermark..].sort_unstable();

        let size = self.spec.size_ms();
        let mut closed = Vec::with_capacity(due.len());
        for (i, (end, key)) in due.into_iter().enumerate() {
            let Some(state) = self.keys.get_mut(&key) else {
                continue;
            };
            let Some(index) = state.position(end) else {
                continue;
            };
            if !state.windows[index].dirty {
                continue;
            }
            let revision = state.windows[index].emitted;
            let (agg, origins) = if end <= purge_up_to {
                let w = detach(
                    state,
                    index,
                    &mut self.held,
                    &mut self.windows,
                    &mut self.live_keys,
                );
                (w.agg, w.origins)
            } else {
                let w = &mut state.windows[index];
                w.dirty = false;
                w.emitted += 1;
                (w.agg.clone(), w.origins.clone())
            };
            state.closed_through = state.closed_through.max(end);
            closed.push(ClosedWindow {
                key,
                start_ms: end - size,
                end_ms: end,
                agg,
                origins: origins.into_vec(),
                revision,
                by_wall_clock: i >= by_watermark,
            });
        }

        self.purge(purge_up_to);
        self.forget_old_keys(watermark);
        closed
    }

    /// Moves the pending buckets the watermark has passed to `kept`, adding their windows that
    /// changed since their last emission (all, unless the wall clock fired them) to `due`.
    fn fire_pending(&mut self, watermark: i64, due: &mut Vec<(i64, K)>) {
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() > watermark {
                break;
            }
            let (end, bucket) = entry.remove_entry();
            let mut kept = Vec::with_capacity(bucket.keys.len());
            for key in bucket.keys {
                let Some(window) = self.keys.get_mut(&key).and_then(|s| s.window_mut(end)) else {
                    continue;
                };
                if window.kept {
                    continue;
                }
                window.kept = true;
                if window.dirty {
                    due.push((end, key.clone()));
                }
                kept.push(key);
            }
            self.kept.entry(end).or_default().extend(kept);
        }
    }

    /// Adds to `due` the pending windows never emitted whose wall-clock wait has run out, at
    /// most every [`WALL_CHECK_EVERY`].
    fn search_wall_clock(&mut self, now: Instant, due: &mut Vec<(i64, K)>) {
        let Some(wait) = self.limits.max_wait else {
            return;
        };
        let wait = wait + Duration::from_millis(self.spec.size_ms() as u64);
        let check_due = self
            .wall_checked_at
            .is_none_or(|at| now.saturating_duration_since(at) >= WALL_CHECK_EVERY);
        if !check_due {
            return;
        }
        self.wall_checked_at = Some(now);
        for (&end, bucket) in self.pending.iter_mut() {
            while let Some(key) = bucket.keys.get(bucket.wall_cursor) {
                let window = self.keys.get(key).and_then(|s| {
                    let i = s.position(end)?;
                    Some(&s.windows[i])
                });
                if let Some(w) = window.filter(|w| w.emitted == 0) {
                    if now.saturating_duration_since(w.opened_at) < wait {
                        break;
                    }
                    due.push((end, key.clone()));
                }
                bucket.wall_cursor += 1;
            }
        }
    }

    /// Removes the kept windows past the allowed lateness (emitted and unchanged: they leave
    /// without another emission).
    fn purge(&mut self, purge_up_to: i64) {
        while let Some(entry) = self.kept.first_entry() {
            if *entry.key() > purge_up_to {
                break;
            }
            let (end, keys) = entry.remove_entry();
            for key in keys {
                let Some(state) = self.keys.get_mut(&key) else {
                    continue;
                };
                let Some(index) = state.position(end) else {
                    continue;
                };
                detach(
                    state,
                    index,
                    &mut self.held,
                    &mut self.windows,
                    &mut self.live_keys,
                );
            }
        }
    }

    /// Forgets keys without windows whose last emission is beyond the horizon (it covers them),
    /// now and then: this walks every key.
    fn forget_old_keys(&mut self, watermark: i64) {
        let horizon = watermark.saturating_sub(LATE_HORIZON_MS);
        if horizon > self.evicted_at.saturating_add(LATE_HORIZON_MS / 4) {
            self.keys
                .retain(|_, s| !s.windows.is_empty() || s.closed_through >= horizon);
            self.evicted_at = horizon;
        }
    }

    /// Removes every window fed by `partition` (revoked in a rebalance; its new owner rebuilds
    /// them from the committed offsets); returns how many.
    pub fn drop_partition(&mut self, partition: PartitionId) -> usize {
        self.drop_where(|_, origins| origins.iter().any(|o| o.partition == partition))
    }

    /// Removes every window `drop` selects (e.g. on partition revocation); returns how many.
    /// Their entries in the end index are skipped when their bucket is reached.
    pub fn drop_where(&mut self, mut drop: impl FnMut(&K, &[Origin]) -> bool) -> usize {
        let mut dropped = 0;
        for (key, state) in self.keys.iter_mut() {
            let had = !state.windows.is_empty();
            let held = &mut self.held;
            state.windows.retain(|w| {
                let doomed = drop(key, &w.origins);
                if doomed {
                    held.release(&w.origins);
                    dropped += 1;
                }
                !doomed
            });
            if had && state.windows.is_empty() {
                self.live_keys -= 1;
            }
        }
        self.windows -= dropped;
        dropped
    }

    /// Number of keys with at least one window.
    pub fn open_keys(&self) -> usize {
        self.live_keys
    }

    /// Number of windows kept (open, or emitted and within the allowed lateness).
    pub fn open_windows(&self) -> usize {
        self.windows
    }

    /// Lowest offset held by a kept window on each partition.
    pub fn held_offsets(&self) -> HashMap<PartitionId, i64> {
        self.held.lowest()
    }
}

/// Removes window `index` of `state`, releases the offsets it held and counts it out of
/// `windows` (and its key out of `live_keys` when it was the key's last).
fn detach<A>(
    state: &mut KeyState<A>,
    index: usize,
    held: &mut HeldOffsets,
    windows: &mut usize,
    live_keys: &mut usize,
) -> OpenWindow<A> {
    let w = state.windows.remove(index);
    held.release(&w.origins);
    *windows -= 1;
    if state.windows.is_empty() {
        *live_keys -= 1;
    }
    w
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

    #[test]
    fn held_offsets_follow_windows_as_they_open_and_leave() {
        let mut s = store(limits(10, 0, None));
        s.record(&"a", 10_000, origin(4), now(), |_| {});
        s.record(&"b", 20_000, origin(2), now(), |_| {});
        s.record(&"a", 70_000, origin(7), now(), |_| {});
        // The lowest offset of any window, and a lower one for a window already holding one.
        assert_eq!(s.held_offsets()[&P], 2);
        s.record(&"a", 15_000, origin(1), now(), |_| {});
        assert_eq!(s.held_offsets()[&P], 1);
        // Once the first windows leave, only the third holds.
        s.take_closed(60_000, now());
        assert_eq!(s.held_offsets()[&P], 7);
        s.take_closed(120_000, now());
        assert!(s.held_offsets().is_empty());
        assert_eq!((s.open_windows(), s.open_keys()), (0, 0));
    }

    #[test]
    fn a_dropped_partition_releases_its_windows_and_its_keys_reopen_them() {
        let mut s = store(limits(10, 0, None));
        let other = Origin {
            partition: PartitionId {
                topic: 0,
                partition: 4,
            },
            offset: 9,
        };
        s.record(&"a", 10_000, origin(3), now(), |v| v.push(1));
        s.record(&"b", 10_000, Some(other), now(), |v| v.push(2));
        assert_eq!(s.drop_partition(P), 1);
        assert_eq!((s.open_windows(), s.open_keys()), (1, 1));
        assert_eq!(s.held_offsets().get(&P), None);
        // The new owner's replay of "a" opens the window again; it fires once, rebuilt.
        s.record(&"a", 10_000, origin(3), now(), |v| v.push(3));
        let closed = s.take_closed(60_000, now());
        let fired: Vec<_> = closed.iter().map(|w| (w.key, w.agg.clone())).collect();
        assert_eq!(fired, vec![("a", vec![3]), ("b", vec![2])]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_wall_clock_fires_windows_in_opening_order_as_each_wait_runs_out() {
        let mut s = store(limits(10, 0, Some(30)));
        s.record(&"b", 10_000, None, Instant::now(), |_| {});
        tokio::time::advance(Duration::from_secs(10)).await;
        s.record(&"a", 20_000, None, Instant::now(), |_| {});
        tokio::time::advance(Duration::from_secs(80)).await;
        let first: Vec<_> = s
            .take_closed(0, Instant::now())
            .iter()
            .map(|w| w.key)
            .collect();
        assert_eq!(first, vec!["b"]);
        tokio::time::advance(Duration::from_secs(10)).await;
        let second: Vec<_> = s
            .take_closed(0, Instant::now())
            .iter()
            .map(|w| w.key)
            .collect();
        assert_eq!(second, vec!["a"]);
        assert!(s.take_closed(0, Instant::now()).is_empty());
    }
}
