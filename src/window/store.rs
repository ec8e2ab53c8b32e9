//! Open windows per key, closed in event-time order as the watermark passes their end.
//!
//! Each open window remembers the lowest offset of every partition that fed it (its
//! [`Origin`]s): until the window's result is acknowledged by the broker, those offsets must
//! not be committed, so that a restart re-reads exactly what rebuilds the window.

use crate::window::{PartitionId, WindowSpec};
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// The lowest offset a window holds on one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// The partition.
    pub partition: PartitionId,
    /// Lowest offset from it that went into the window.
    pub offset: i64,
}

/// A window still accepting events.
#[derive(Debug)]
struct OpenWindow<A> {
    start_ms: i64,
    agg: A,
    origins: Vec<Origin>,
}

/// A window the watermark has passed, with what it aggregated and the offsets it holds.
#[derive(Debug)]
pub struct ClosedWindow<K, A> {
    /// The key (node, cluster, ...).
    pub key: K,
    /// Inclusive start, epoch milliseconds.
    pub start_ms: i64,
    /// Exclusive end, epoch milliseconds.
    pub end_ms: i64,
    /// The aggregate.
    pub agg: A,
    /// Lowest offset per partition that fed the window.
    pub origins: Vec<Origin>,
}

/// What [`WindowStore::record`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Added to `windows` open windows.
    Added {
        /// Number of windows the event went into.
        windows: usize,
    },
    /// Every window it belongs to has already closed.
    Late,
    /// Its key is new and the open-key limit is reached.
    Refused,
}

/// Open windows of one processor, ordered by end so closing is a range pop.
#[derive(Debug)]
pub struct WindowStore<K, A> {
    spec: WindowSpec,
    max_keys: usize,
    open: BTreeMap<(i64, K), OpenWindow<A>>,
    windows_per_key: HashMap<K, u32>,
    closed_up_to: Option<i64>,
}

impl<K: Ord + Hash + Clone, A: Default> WindowStore<K, A> {
    /// An empty store cutting windows by `spec`, holding at most `max_keys` distinct keys.
    pub fn new(spec: WindowSpec, max_keys: usize) -> WindowStore<K, A> {
        WindowStore {
            spec,
            max_keys,
            open: BTreeMap::new(),
            windows_per_key: HashMap::new(),
            closed_up_to: None,
        }
    }

    /// The window geometry.
    pub fn spec(&self) -> &WindowSpec {
        &self.spec
    }

    /// Adds an event at `ts_ms` for `key`, read from `origin`, through `update`.
    pub fn record(
        &mut self,
        key: &K,
        ts_ms: i64,
        origin: Option<Origin>,
        mut update: impl FnMut(&mut A),
    ) -> Recorded {
        let closed = self.closed_up_to.unwrap_or(i64::MIN);
        let size = self.spec.size_ms();
        let starts: Vec<i64> = self
            .spec
            .starts_for(ts_ms)
            .filter(|start| start + size > closed)
            .collect();
        if starts.is_empty() {
            return Recorded::Late;
        }
        if !self.windows_per_key.contains_key(key) && self.windows_per_key.len() >= self.max_keys {
            return Recorded::Refused;
        }
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
                    }
                });
            update(&mut window.agg);
            if let Some(origin) = origin {
                note_origin(&mut window.origins, origin);
            }
        }
        Recorded::Added {
            windows: starts.len(),
        }
    }

    /// Removes and returns every window whose end is at or before `watermark_ms`, in order of
    /// end, then key.
    pub fn take_closed(&mut self, watermark_ms: i64) -> Vec<ClosedWindow<K, A>> {
        self.closed_up_to = Some(
            self.closed_up_to
                .map_or(watermark_ms, |c| c.max(watermark_ms)),
        );
        let mut closed = Vec::new();
        while let Some(entry) = self.open.first_entry() {
            if entry.key().0 > watermark_ms {
                break;
            }
            let ((end_ms, key), window) = entry.remove_entry();
            self.forget_window_of(&key);
            closed.push(ClosedWindow {
                key,
                start_ms: window.start_ms,
                end_ms,
                agg: window.agg,
                origins: window.origins,
            });
        }
        closed
    }

    /// Removes every open window of the keys `drop` selects (e.g. on partition revocation),
    /// returning how many were dropped.
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

    /// Number of keys with at least one open window.
    pub fn open_keys(&self) -> usize {
        self.windows_per_key.len()
    }

    /// Number of open windows.
    pub fn open_windows(&self) -> usize {
        self.open.len()
    }

    /// Lowest offset held by an open window on each partition.
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

fn note_origin(origins: &mut Vec<Origin>, origin: Origin) {
    match origins.iter_mut().find(|o| o.partition == origin.partition) {
        Some(o) => o.offset = o.offset.min(origin.offset),
        None => origins.push(origin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const P: PartitionId = PartitionId {
        topic: 0,
        partition: 3,
    };

    fn store(max_keys: usize) -> WindowStore<&'static str, Vec<i64>> {
        WindowStore::new(WindowSpec::tumbling(Duration::from_secs(60)), max_keys)
    }

    fn origin(offset: i64) -> Option<Origin> {
        Some(Origin {
            partition: P,
            offset,
        })
    }

    #[test]
    fn windows_close_when_the_watermark_passes_their_end() {
        let mut s = store(10);
        s.record(&"a", 10_000, origin(5), |v| v.push(10_000));
        s.record(&"a", 70_000, origin(6), |v| v.push(70_000));
        assert!(s.take_closed(59_999).is_empty());
        let closed = s.take_closed(60_000);
        assert_eq!(closed.len(), 1);
        assert_eq!((closed[0].start_ms, closed[0].end_ms), (0, 60_000));
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
    fn events_for_closed_windows_are_late() {
        let mut s = store(10);
        s.record(&"a", 10_000, None, |_| {});
        s.take_closed(60_000);
        assert_eq!(s.record(&"a", 59_000, None, |_| {}), Recorded::Late);
        assert_eq!(
            s.record(&"a", 60_000, None, |_| {}),
            Recorded::Added { windows: 1 }
        );
    }

    #[test]
    fn new_keys_beyond_the_limit_are_refused_and_known_keys_still_accepted() {
        let mut s = store(2);
        s.record(&"a", 1, None, |_| {});
        s.record(&"b", 1, None, |_| {});
        assert_eq!(s.record(&"c", 1, None, |_| {}), Recorded::Refused);
        assert_eq!(
            s.record(&"a", 61_000, None, |_| {}),
            Recorded::Added { windows: 1 }
        );
        assert_eq!(s.open_keys(), 2);
        s.take_closed(60_000);
        assert_eq!(s.open_keys(), 1);
        assert_eq!(
            s.record(&"c", 61_000, None, |_| {}),
            Recorded::Added { windows: 1 }
        );
    }

    #[test]
    fn closed_windows_come_out_in_end_then_key_order() {
        let mut s = store(10);
        s.record(&"b", 70_000, None, |_| {});
        s.record(&"b", 1_000, None, |_| {});
        s.record(&"a", 2_000, None, |_| {});
        let order: Vec<_> = s
            .take_closed(200_000)
            .iter()
            .map(|w| (w.end_ms, w.key))
            .collect();
        assert_eq!(order, vec![(60_000, "a"), (60_000, "b"), (120_000, "b")]);
    }
}
