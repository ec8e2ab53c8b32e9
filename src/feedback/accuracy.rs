//! Prediction accuracy: every horizon of a published forecast waits for the window it was
//! for; when that window of the same scope and resource closes, its mean is compared with the
//! forecast and a [`PredictionAccuracy`] event comes out. Rolling accuracy per resource and
//! horizon is kept over the last few evaluations for the metrics.
//!
//! A forecast's target window is the prediction window ending `horizon` minutes after the
//! forecast's own window; horizons that are not a whole number of windows are matched to the
//! window containing their end. Waiting horizons are bounded
//! (`feedback.max_pending_predictions`): past the bound, new ones are counted and not tracked.
//! They live in memory only, so horizons pending at a restart are not evaluated.

use crate::engine::PredictionRequest;
use crate::event::output::SCHEMA_VERSION;
use crate::event::{PredictionAccuracy, ResourcePrediction, WindowBounds};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// What identifies the window a forecast horizon waits for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Target {
    scope: String,
    resource: String,
    end_ms: i64,
}

/// One horizon waiting for its window.
#[derive(Debug, Clone)]
struct Waiting {
    prediction_id: String,
    cluster_id: String,
    node_id: Option<String>,
    horizon_minutes: u32,
    mean: f64,
    interval_80: (f64, f64),
    interval_95: (f64, f64),
}

/// Rolling accuracy of one resource and horizon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rolling {
    /// Evaluations in the window.
    pub count: usize,
    /// Mean absolute error, in the resource's unit.
    pub mean_abs_error: f64,
    /// Mean absolute percentage error over evaluations with a non-zero actual (0..).
    pub mean_abs_pct_error: f64,
    /// Fraction of actuals inside the 80% interval.
    pub coverage_80: f64,
    /// Fraction of actuals inside the 95% interval.
    pub coverage_95: f64,
}

#[derive(Debug, Default)]
struct Recent {
    items: VecDeque<(f64, Option<f64>, bool, bool)>,
}

impl Recent {
    fn push(&mut self, a: &PredictionAccuracy, cap: usize) -> Rolling {
        self.items
            .push_back((a.error.abs(), a.abs_pct_error, a.within_80, a.within_95));
        while self.items.len() > cap {
            self.items.pop_front();
        }
        let n = self.items.len().max(1) as f64;
        let pct: Vec<f64> = self.items.iter().filter_map(|i| i.1).collect();
        Rolling {
            count: self.items.len(),
            mean_abs_error: self.items.iter().map(|i| i.0).sum::<f64>() / n,
            mean_abs_pct_error: pct.iter().sum::<f64>() / (pct.len().max(1) as f64),
            coverage_80: self.items.iter().filter(|i| i.2).count() as f64 / n,
            coverage_95: self.items.iter().filter(|i| i.3).count() as f64 / n,
        }
    }
}

/// Waiting forecast horizons and the rolling accuracy.
#[derive(Debug)]
pub struct AccuracyTracker {
    waiting: HashMap<Target, Vec<Waiting>>,
    /// Target end times in order, to expire what can no longer be matched.
    by_end: BTreeMap<i64, Vec<Target>>,
    pending: usize,
    max_pending: usize,
    window: usize,
    recent: HashMap<(String, u32), Recent>,
    /// Horizons not tracked because the bound was reached.
    pub untracked: u64,
    /// Horizons dropped because their window never closed in time.
    pub expired: u64,
}

impl AccuracyTracker {
    /// A tracker keeping at most `max_pending` waiting horizons and `window` evaluations per
    /// resource and horizon.
    pub fn new(max_pending: usize, window: usize) -> AccuracyTracker {
        AccuracyTracker {
            waiting: HashMap::new(),
            by_end: BTreeMap::new(),
            pending: 0,
            max_pending,
            window,
            recent: HashMap::new(),
            untracked: 0,
            expired: 0,
        }
    }

    /// Horizons waiting for their window.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Registers every horizon of a published prediction, given the prediction window's
    /// length (to find each horizon's target window).
    pub fn on_prediction(&mut self, p: &ResourcePrediction, interval_ms: i64) {
        let end_ms = p.header.window.end.timestamp_millis();
        for h in &p.horizons {
            if self.pending >= self.max_pending {
                self.untracked += 1;
                continue;
            }
            let horizon_ms = i64::from(h.horizon_minutes) * 60_000;
            // The window containing the horizon's end: windows are aligned on `interval_ms`.
            let windows_ahead = (horizon_ms + interval_ms - 1) / interval_ms.max(1);
            let target = Target {
                scope: p.header.scope.clone(),
                resource: p.resource.clone(),
                end_ms: end_ms + windows_ahead * interval_ms,
            };
            self.by_end
                .entry(target.end_ms)
                .or_default()
                .push(target.clone());
            self.waiting.entry(target).or_default().push(Waiting {
                prediction_id: p.header.id.clone(),
                cluster_id: p.header.cluster_id.clone(),
                node_id: p.node_id.clone(),
                horizon_minutes: h.horizon_minutes,
                mean: h.mean,
                interval_80: (h.lower_80, h.upper_80),
                interval_95: (h.lower_95, h.upper_95),
            });
            self.pending += 1;
        }
    }

    /// Evaluates the horizons waiting for the window `request` reports (its last history
    /// point is the window's mean), with the rolling accuracy after each.
    pub fn on_window(&mut self, request: &PredictionRequest) -> Vec<(PredictionAccuracy, Rolling)> {
        let Some(&actual) = request.history.last() else {
            return Vec::new();
        };
        // The prediction's scope, as `processor::decide` writes it.
        let resource = request.resource.field();
        let scope = match &request.node_id {
            Some(node) => format!(
                "{}/{resource}",
                crate::event::node_key(&request.cluster_id, node)
            ),
            None => format!("{}/{resource}", request.cluster_id),
        };
        let target = Target {
            scope,
            resource: resource.to_owned(),
            end_ms: request.window.end.timestamp_millis(),
        };
        let Some(waiting) = self.waiting.remove(&target) else {
            return Vec::new();
        };
        self.pending -= waiting.len();
        waiting
            .into_iter()
            .map(|w| {
                let event = evaluate(&target, request.window, w, actual);
                let key = (event.resource.clone(), event.horizon_minutes);
                let rolling = self
                    .recent
                    .entry(key)
                    .or_default()
                    .push(&event, self.window);
                (event, rolling)
            })
            .collect()
    }

    /// Drops horizons whose window ended at or before `before_ms` without being seen.
    pub fn expire(&mut self, before_ms: i64) {
        let keep = self.by_end.split_off(&(before_ms + 1));
        let gone = std::mem::replace(&mut self.by_end, keep);
        for target in gone.into_values().flatten() {
            if let Some(w) = self.waiting.remove(&target) {
                self.pending -= w.len();
                self.expired += w.len() as u64;
            }
        }
    }
}

fn evaluate(target: &Target, window: WindowBounds, w: Waiting, actual: f64) -> PredictionAccuracy {
    let error = actual - w.mean;
    let inside = |(lo, hi): (f64, f64)| lo <= actual && actual <= hi;
    PredictionAccuracy {
        id: format!("{}:{}", w.prediction_id, w.horizon_minutes),
        schema_version: SCHEMA_VERSION,
        prediction_id: w.prediction_id,
        cluster_id: w.cluster_id,
        scope: target.scope.clone(),
        node_id: w.node_id,
        resource: target.resource.clone(),
        horizon_minutes: w.horizon_minutes,
        target_window: window,
        predicted: w.mean,
        actual,
        error,
        abs_pct_error: (actual.abs() > f64::EPSILON).then(|| error.abs() / actual.abs()),
        within_80: inside(w.interval_80),
        within_95: inside(w.interval_95),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DecisionHeader, HorizonForecast, Metric, Source};
    use chrono::{TimeZone, Utc};

    const MIN15: i64 = 15 * 60_000;

    fn bounds(start_ms: i64) -> WindowBounds {
        WindowBounds {
            start: Utc.timestamp_millis_opt(start_ms).unwrap(),
            end: Utc.timestamp_millis_opt(start_ms + MIN15).unwrap(),
        }
    }

    fn prediction(start_ms: i64, horizons: &[(u32, f64)]) -> ResourcePrediction {
        ResourcePrediction {
            header: DecisionHeader::new(
                "prediction",
                "c1",
                "c1/n1/cpu_util".into(),
                bounds(start_ms),
                0.9,
                Source::Builtin,
                vec![],
            ),
            node_id: Some("n1".into()),
            resource: "cpu_util".into(),
            horizons: horizons
                .iter()
                .map(|&(minutes, mean)| HorizonForecast {
                    horizon_minutes: minutes,
                    mean,
                    lower_80: mean - 0.1,
                    upper_80: mean + 0.1,
                    lower_95: mean - 0.2,
                    upper_95: mean + 0.2,
                })
                .collect(),
        }
    }

    fn window(start_ms: i64, mean: f64) -> PredictionRequest {
        PredictionRequest {
            cluster_id: "c1".into(),
            node_id: Some("n1".into()),
            resource: Metric::Cpu,
            window: bounds(start_ms),
            history: vec![0.1, mean],
            resolution_minutes: 15.0,
            horizons_minutes: vec![15, 30],
        }
    }

    #[test]
    fn a_horizon_is_compared_with_the_window_it_was_for() {
        let mut t = AccuracyTracker::new(100, 10);
        t.on_prediction(&prediction(0, &[(15, 0.5), (30, 0.6)]), MIN15);
        assert_eq!(t.pending(), 2);
        assert!(
            t.on_window(&window(0, 0.4)).is_empty(),
            "its own window is not a target"
        );
        let first = t.on_window(&window(MIN15, 0.55));
        assert_eq!(first.len(), 1);
        let (event, rolling) = &first[0];
        assert_eq!(event.horizon_minutes, 15);
        assert!((event.error - 0.05).abs() < 1e-12);
        assert!(event.within_80 && event.within_95);
        assert_eq!(rolling.count, 1);
        let second = t.on_window(&window(2 * MIN15, 0.95));
        assert_eq!(second[0].0.horizon_minutes, 30);
        assert!(!second[0].0.within_80, "0.95 is outside 0.5..0.7");
        assert!(!second[0].0.within_95, "0.95 is outside 0.4..0.8");
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn rolling_accuracy_keeps_only_the_last_evaluations() {
        let mut t = AccuracyTracker::new(100, 2);
        for (i, actual) in [0.9, 0.5, 0.5].into_iter().enumerate() {
            let start = i as i64 * MIN15;
            t.on_prediction(&prediction(start, &[(15, 0.5)]), MIN15);
            let out = t.on_window(&window(start + MIN15, actual));
            if i == 2 {
                let rolling = out[0].1;
                assert_eq!(rolling.count, 2);
                assert_eq!(
                    rolling.coverage_80, 1.0,
                    "the miss at 0.9 has left the window"
                );
                assert!(rolling.mean_abs_error < 1e-12);
            }
        }
    }

    #[test]
    fn the_pending_bound_refuses_new_horizons_and_expiry_frees_them() {
        let mut t = AccuracyTracker::new(1, 10);
        t.on_prediction(&prediction(0, &[(15, 0.5), (30, 0.5)]), MIN15);
        assert_eq!((t.pending(), t.untracked), (1, 1));
        t.expire(2 * MIN15);
        assert_eq!((t.pending(), t.expired), (0, 1));
        assert!(t.on_window(&window(MIN15, 0.5)).is_empty());
    }
}
