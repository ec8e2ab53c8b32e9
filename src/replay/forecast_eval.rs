//! The `forecasts` evaluation: every resource prediction of a replay against the values the
//! replayed telemetry later showed, beside the naive forecast on the same points.
//!
//! "Actual" is the quantity the prediction processor forecasts: per scope (a node, and its
//! cluster as a whole) and resource, the mean of the samples in each tumbling window of
//! `prediction.interval`. A forecast `horizon_minutes` ahead is `h = ceil(minutes / interval)`
//! windows ahead (as the built-in forecaster reads it), so it is compared with the mean of the
//! window starting `h` windows after its own window's start. The naive forecast is the mean of
//! the forecast's own window (the last point of its history). Only first emissions
//! (revision 0) are scored.
//!
//! Metrics (`replay::forecast_metrics`) per horizon (in windows): MASE, median sMAPE, 80% and
//! 95% interval coverage, and the naive MASE and sMAPE. Points of every scope are pooled: each
//! point's error is first divided by its own series' scale (the mean absolute change between
//! consecutive windows of that scope and resource over the whole replay), so the pooled MASE
//! is the mean of scaled errors. A series whose scale is 0 (a flat resource, such as the
//! neutral metrics of a `--series` replay) is not scored at all: it has no MASE, and its exact
//! points would swamp the medians; its points are counted in `flat`.
//!
//! Known limits: a forecast whose target window has no sample, or is the last window of the
//! data (the data may end inside it), is not scored; samples are taken as read, including late
//! ones the processor dropped; memory holds, per scope, nine sums per window (bounded by
//! scopes × windows of the replay) and every decoded prediction horizon.

use crate::event::{decode, Encoding, Metric, ResourcePrediction, TelemetrySample};
use crate::replay::forecast_holdout::{holdout, series_rows, Holdout, Scored};
use crate::replay::forecast_metrics::{evaluate, ForecastPoint, HorizonMetrics, Interval};
use crate::replay::observer::{Evaluation, ReplayObserver};
use crate::topics::TopicRole;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Cluster, and node (none for the cluster as a whole): the prediction processor's scope.
type Scope = (String, Option<String>);

/// Sums of one window of one scope.
#[derive(Debug, Clone, Copy, Default)]
struct WindowSums {
    sum: [f64; 9],
    count: u32,
}

/// One forecast value waiting for its actual.
#[derive(Debug, Clone)]
struct Pending {
    scope: Scope,
    resource: Metric,
    origin_start: i64,
    steps: u32,
    mean: f64,
    interval_80: Interval,
    interval_95: Interval,
}

/// One horizon's numbers, as the section gives them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HorizonRow {
    /// Windows ahead.
    pub horizon: u32,
    /// Points scored.
    pub points: usize,
    /// Mean scaled absolute error (null when no point has a defined scale).
    pub mase: Option<f64>,
    /// Median sMAPE, percent.
    pub smape_median: Option<f64>,
    /// Share of actuals inside the 80% interval.
    pub coverage_80: Option<f64>,
    /// Share inside the 95% interval.
    pub coverage_95: Option<f64>,
    /// The naive forecast's MASE on the same points.
    pub naive_mase: Option<f64>,
    /// The naive forecast's median sMAPE.
    pub naive_smape_median: Option<f64>,
}

/// Horizons of one group of points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Horizons {
    /// In increasing horizon order.
    pub horizons: Vec<HorizonRow>,
}

/// One resource's horizons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceHorizons {
    /// The metric field name.
    pub resource: String,
    /// In increasing horizon order.
    pub horizons: Vec<HorizonRow>,
}

/// The `forecasts` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastsReport {
    /// Every resource pooled.
    pub overall: Horizons,
    /// Per resource, in metric order.
    pub by_resource: Vec<ResourceHorizons>,
    /// Forecast values not scored: target past the data, or a window without samples.
    pub unscored: usize,
    /// Forecast values not scored because their series is flat (scale 0).
    pub flat: usize,
    /// Node series only, origins in each series' second half, beside three baselines
    /// (`replay::forecast_holdout`).
    pub second_half: Holdout,
}

/// Collects telemetry window means and predictions during a replay.
#[derive(Debug)]
pub struct ForecastEvaluation {
    size_ms: i64,
    windows: BTreeMap<Scope, BTreeMap<i64, WindowSums>>,
    pending: Vec<Pending>,
    /// Latest sample time seen.
    last_ms: Option<i64>,
}

impl ForecastEvaluation {
    /// An evaluation for predictions made on windows of `interval` (`prediction.interval`).
    pub fn new(interval: Duration) -> ForecastEvaluation {
        ForecastEvaluation {
            size_ms: (interval.as_millis() as i64).max(1),
            windows: BTreeMap::new(),
            pending: Vec::new(),
            last_ms: None,
        }
    }

    /// Whether any prediction was seen (the section is only worth showing then).
    pub fn has_predictions(&self) -> bool {
        !self.pending.is_empty()
    }

    fn add_sample(&mut self, sample: &TelemetrySample) {
        let ts = sample.event_time.timestamp_millis();
        let start = ts.div_euclid(self.size_ms) * self.size_ms;
        let values = Metric::ALL.map(|m| sample.metric(m));
        let scopes = [
            (
                sample.cluster_id.to_string(),
                Some(sample.node_id.to_string()),
            ),
            (sample.cluster_id.to_string(), None),
        ];
        for scope in scopes {
            let w = self
                .windows
                .entry(scope)
                .or_default()
                .entry(start)
                .or_default();
            for (sum, v) in w.sum.iter_mut().zip(values) {
                *sum += v;
            }
            w.count += 1;
        }
        self.last_ms = Some(self.last_ms.map_or(ts, |t| t.max(ts)));
    }

    fn add_prediction(&mut self, p: &ResourcePrediction) {
        if p.header.revision != 0 {
            return;
        }
        let Some(resource) = Metric::parse(&p.resource) else {
            return;
        };
        let scope = (p.header.cluster_id.clone(), p.node_id.clone());
        let origin_start = p.header.window.start.timestamp_millis();
        let size_min = self.size_ms as f64 / 60_000.0;
        for h in &p.horizons {
            let steps = ((f64::from(h.horizon_minutes) / size_min).ceil() as u32).max(1);
            self.pending.push(Pending {
                scope: scope.clone(),
                resource,
                origin_start,
                steps,
                mean: h.mean,
                interval_80: Interval {
                    lower: h.lower_80,
                    upper: h.upper_80,
                },
                interval_95: Interval {
                    lower: h.lower_95,
                    upper: h.upper_95,
                },
            });
        }
    }

    fn mean(&self, scope: &Scope, start: i64, resource: Metric) -> Option<f64> {
        let w = self.windows.get(scope)?.get(&start)?;
        (w.count > 0).then(|| w.sum[resource.index()] / f64::from(w.count))
    }

    /// The scale of one scope and resource: mean absolute change between consecutive windows.
    fn scale(&self, scope: &Scope, resource: Metric) -> Option<f64> {
        let means: Vec<f64> = self
            .windows
            .get(scope)?
            .values()
            .filter(|w| w.count > 0)
            .map(|w| w.sum[resource.index()] / f64::from(w.count))
            .collect();
        crate::replay::forecast_metrics::naive_scale(&means).ok()
    }

    /// Scores what the replay showed.
    pub fn report(&self) -> ForecastsReport {
        let last_window = self
            .last_ms
            .map(|t| t.div_euclid(self.size_ms) * self.size_ms);
        let mut scales: BTreeMap<(&Scope, Metric), Option<f64>> = BTreeMap::new();
        // Per resource: (points with a defined scale, already divided by it; all points).
        let mut groups: BTreeMap<Metric, (Vec<ForecastPoint>, Vec<ForecastPoint>)> =
            BTreeMap::new();
        let mut unscored = 0;
        let mut flat = 0;
        // Node series for the holdout: scored points per (scope, resource).
        let mut per_series: BTreeMap<(&Scope, Metric), Vec<Scored>> = BTreeMap::new();
        for p in &self.pending {
            let target = p.origin_start + i64::from(p.steps) * self.size_ms;
            let actual = match last_window {
                Some(last) if target < last => self.mean(&p.scope, target, p.resource),
                _ => None,
            };
            let (Some(actual), Some(last_observed)) =
                (actual, self.mean(&p.scope, p.origin_start, p.resource))
            else {
                unscored += 1;
                continue;
            };
            let point = ForecastPoint {
                horizon: p.steps,
                forecast: p.mean,
                actual,
                last_observed,
                interval_80: Some(p.interval_80),
                interval_95: Some(p.interval_95),
            };
            let scale = *scales
                .entry((&p.scope, p.resource))
                .or_insert_with(|| self.scale(&p.scope, p.resource));
            // A flat series has no MASE, and its exact points would swamp every median.
            let Some(scale) = scale.filter(|s| *s > 0.0) else {
                flat += 1;
                continue;
            };
            if p.scope.1.is_some() {
                per_series
                    .entry((&p.scope, p.resource))
                    .or_default()
                    .push(Scored {
                        origin_start: p.origin_start,
                        steps: p.steps,
                        forecast: p.mean,
                        actual,
                        inside_80: p.interval_80.lower <= actual && actual <= p.interval_80.upper,
                        inside_95: p.interval_95.lower <= actual && actual <= p.interval_95.upper,
                    });
            }
            let group = groups.entry(p.resource).or_default();
            group.0.push(scaled(&point, scale));
            group.1.push(point);
        }

        let mut all_scaled = Vec::new();
        let mut all = Vec::new();
        for (s, a) in groups.values() {
            all_scaled.extend(s.iter().cloned());
            all.extend(a.iter().cloned());
        }
        ForecastsReport {
            overall: Horizons {
                horizons: rows(&all_scaled, &all),
            },
            by_resource: groups
                .iter()
                .map(|(resource, (s, a))| ResourceHorizons {
                    resource: resource.field().to_owned(),
                    horizons: rows(s, a),
                })
                .collect(),
            unscored,
            flat,
            second_half: holdout(
                per_series
                    .iter()
                    .flat_map(|((scope, resource), points)| {
                        let name = format!(
                            "{}/{}:{}",
                            scope.0,
                            scope.1.as_deref().unwrap_or(""),
                            resource.field()
                        );
                        series_rows(&name, &self.means(scope, *resource), points)
                    })
                    .collect(),
            ),
        }
    }

    /// One scope's window means of `resource`, (start ms, mean) in time order.
    fn means(&self, scope: &Scope, resource: Metric) -> Vec<(i64, f64)> {
        self.windows.get(scope).map_or_else(Vec::new, |w| {
            w.iter()
                .filter(|(_, w)| w.count > 0)
                .map(|(&start, w)| (start, w.sum[resource.index()] / f64::from(w.count)))
                .collect()
        })
    }
}

/// A point in units of its series' scale (sMAPE and coverage do not change).
fn scaled(p: &ForecastPoint, scale: f64) -> ForecastPoint {
    let div = |i: Option<Interval>| {
        i.map(|i| Interval {
            lower: i.lower / scale,
            upper: i.upper / scale,
        })
    };
    ForecastPoint {
        horizon: p.horizon,
        forecast: p.forecast / scale,
        actual: p.actual / scale,
        last_observed: p.last_observed / scale,
        interval_80: div(p.interval_80),
        interval_95: div(p.interval_95),
    }
}

/// The rows per horizon: MASE from the scaled points (a unit scale), the rest from all points.
fn rows(scaled_points: &[ForecastPoint], points: &[ForecastPoint]) -> Vec<HorizonRow> {
    // A history whose one-step naive MAE is exactly 1: the points are already in scale units.
    let unit = [0.0, 1.0];
    let by_horizon = |pts: &[ForecastPoint]| -> BTreeMap<u32, HorizonMetrics> {
        evaluate(&unit, pts)
            .map(|r| r.horizons.into_iter().map(|h| (h.horizon, h)).collect())
            .unwrap_or_default()
    };
    let mase = by_horizon(scaled_points);
    by_horizon(points)
        .into_values()
        .map(|h| {
            let m = mase.get(&h.horizon);
            HorizonRow {
                horizon: h.horizon,
                points: h.points,
                mase: m.and_then(|m| m.model.mase),
                smape_median: Some(h.model.smape_median),
                coverage_80: h.coverage_80,
                coverage_95: h.coverage_95,
                naive_mase: m.and_then(|m| m.naive.mase),
                naive_smape_median: Some(h.naive.smape_median),
            }
        })
        .collect()
}

impl ReplayObserver for ForecastEvaluation {
    fn on_input(&mut self, role: TopicRole, payload: &[u8]) {
        if role != TopicRole::Telemetry {
            return;
        }
        // A line that does not decode or validate is a dead letter, not telemetry.
        if let Ok(sample) = decode::<TelemetrySample>(payload, Encoding::Json) {
            if sample.validate().is_ok() {
                self.add_sample(&sample);
            }
        }
    }

    fn on_output(&mut self, role: TopicRole, payload: &[u8]) {
        if role != TopicRole::Predictions {
            return;
        }
        if let Ok(p) = serde_json::from_slice::<ResourcePrediction>(payload) {
            self.add_prediction(&p);
        }
    }
}

impl Evaluation for ForecastEvaluation {
    fn name(&self) -> &'static str {
        "forecasts"
    }

    fn section(&self) -> serde_json::Value {
        serde_json::to_value(self.report())
            .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DecisionHeader, HorizonForecast, Source};
    use crate::window::WindowSpec;

    const MINUTE: i64 = 60_000;
    /// 2024-01-01: validation refuses event times before 2000.
    const BASE: i64 = 1_704_067_200_000;

    fn sample(minute: i64, cpu: f64) -> Vec<u8> {
        let mut s = crate::replay::input::neutral_sample(
            "c",
            "n",
            chrono::DateTime::from_timestamp_millis(BASE + minute * MINUTE).unwrap(),
        );
        s.cpu_util = cpu;
        crate::event::encode(&s, Encoding::Json).unwrap()
    }

    fn prediction(window_minute: i64, horizons: &[(u32, f64)]) -> Vec<u8> {
        let window =
            WindowSpec::tumbling(Duration::from_secs(60)).bounds(BASE + window_minute * MINUTE);
        let p = ResourcePrediction {
            header: DecisionHeader::new(
                "prediction",
                "c",
                "c/n".into(),
                window,
                0.9,
                Source::Builtin,
                Vec::new(),
            ),
            node_id: Some("n".into()),
            resource: "cpu_util".into(),
            horizons: horizons
                .iter()
                .map(|&(horizon_minutes, mean)| HorizonForecast {
                    horizon_minutes,
                    mean,
                    lower_80: mean - 0.02,
                    upper_80: mean + 0.02,
                    lower_95: mean - 0.1,
                    upper_95: mean + 0.1,
                })
                .collect(),
        };
        serde_json::to_vec(&p).unwrap()
    }

    fn close(actual: Option<f64>, expected: f64) {
        let actual = actual.unwrap();
        assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
    }

    #[test]
    fn forecasts_are_scored_against_later_window_means_beside_the_naive_forecast() {
        let mut eval = ForecastEvaluation::new(Duration::from_secs(60));
        // One window per minute, CPU 0.1, 0.2, 0.3, 0.4, 0.5: the scale is 0.1.
        for (minute, cpu) in [0.1, 0.2, 0.3, 0.4, 0.5].into_iter().enumerate() {
            eval.on_input(TopicRole::Telemetry, &sample(minute as i64, cpu));
        }
        // Made on window 1 (mean 0.2): one step ahead is window 2 (0.3), two steps window 3.
        eval.on_output(
            TopicRole::Predictions,
            &prediction(1, &[(1, 0.35), (2, 0.4)]),
        );
        // Window 4 is the last of the data and window 5 lies past it: neither is scored.
        eval.on_output(
            TopicRole::Predictions,
            &prediction(3, &[(1, 0.5), (2, 0.6)]),
        );
        assert!(eval.has_predictions());
        let report = eval.report();
        assert_eq!(report.unscored, 2);
        let h = &report.overall.horizons;
        assert_eq!(h.len(), 2);
        assert_eq!((h[0].horizon, h[0].points), (1, 1));
        close(h[0].mase, 0.5);
        close(h[0].naive_mase, 1.0);
        close(h[0].smape_median, 200.0 * 0.05 / 0.65);
        // 0.35 ± 0.02 misses 0.3; ± 0.1 holds it.
        assert_eq!((h[0].coverage_80, h[0].coverage_95), (Some(0.0), Some(1.0)));
        close(h[1].mase, 0.0);
        close(h[1].naive_mase, 2.0);
        assert_eq!(report.by_resource.len(), 1);
        assert_eq!(report.by_resource[0].resource, "cpu_util");
        assert_eq!(report.by_resource[0].horizons, report.overall.horizons);
    }

    #[test]
    fn a_flat_series_is_counted_but_not_scored() {
        let mut eval = ForecastEvaluation::new(Duration::from_secs(60));
        for minute in 0..4 {
            eval.on_input(TopicRole::Telemetry, &sample(minute, 0.5));
        }
        eval.on_output(TopicRole::Predictions, &prediction(0, &[(1, 0.5)]));
        let report = eval.report();
        assert!(report.overall.horizons.is_empty());
        assert_eq!((report.flat, report.unscored), (1, 0));
    }
}
