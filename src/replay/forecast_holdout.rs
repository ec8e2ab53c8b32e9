//! The second-half holdout of the `forecasts` section: per series, the forecasts made from
//! origins in the second half of the series, scored against what followed, beside naive,
//! EWMA and damped-Holt baselines computed on the same origins; then medians across series.
//!
//! A series is one node and one resource: its window means in time order (the prediction
//! processor's points). Cluster scopes are left out, since a cluster of several replayed
//! series is a mixture of them. The cut is the start of window `n / 2` of the series' `n`
//! windows with samples; a forecast counts when its origin window starts at or after the cut.
//! MASE divides the mean absolute error by the mean absolute one-step change of the first
//! half only (the in-sample naive error), so nothing after the cut scales the errors.
//!
//! The baselines are fed the window means in order from the series' start and forecast from
//! each origin with only what came before it: the last value, an EWMA with factor 0.3 and the
//! damped Holt (0.5, 0.1, 0.9) of `engine::builtin::forecast_models`. Their `h`-step forecast
//! is compared with the window `h` windows after the origin, as the model's is.
//!
//! Across series: the median of the series' MASE (per forecaster), the median of the series'
//! median sMAPE, and the interval coverage over all points pooled.

use crate::engine::builtin::forecast_models::{Model, ModelKind};
use crate::replay::forecast_metrics::{naive_scale, smape};
use serde::Serialize;
use std::collections::BTreeMap;

/// One forecast value of a series, with its actual.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// Start of the origin window, ms.
    pub origin_start: i64,
    /// Windows ahead.
    pub steps: u32,
    /// The model's point forecast.
    pub forecast: f64,
    /// What the target window's mean was.
    pub actual: f64,
    /// Whether the actual was inside the 80% interval.
    pub inside_80: bool,
    /// Whether it was inside the 95% interval.
    pub inside_95: bool,
}

/// One series at one horizon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesHorizon {
    /// The series: `cluster/node:resource`.
    pub series: String,
    /// Windows ahead.
    pub horizon: u32,
    /// Points scored.
    pub points: usize,
    /// MASE of the model, the naive, EWMA and damped-Holt baselines, in that order.
    pub mase: [f64; 4],
    /// Median sMAPE (percent) of the same four.
    pub smape_median: [f64; 4],
    /// Points whose actual was inside the model's 80% interval.
    pub inside_80: usize,
    /// Inside its 95% interval.
    pub inside_95: usize,
}

/// Across series, one horizon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoldoutRow {
    /// Windows ahead.
    pub horizon: u32,
    /// Series scored.
    pub series: usize,
    /// Points scored, all series.
    pub points: usize,
    /// Median over series of the model's MASE.
    pub mase_median: f64,
    /// Of the naive baseline.
    pub naive_mase_median: f64,
    /// Of the EWMA baseline.
    pub ewma_mase_median: f64,
    /// Of the damped-Holt baseline.
    pub holt_mase_median: f64,
    /// Median over series of the model's median sMAPE.
    pub smape_median: f64,
    /// Of the naive baseline.
    pub naive_smape_median: f64,
    /// Of the EWMA baseline.
    pub ewma_smape_median: f64,
    /// Of the damped-Holt baseline.
    pub holt_smape_median: f64,
    /// Share of all points inside the 80% interval.
    pub coverage_80: f64,
    /// Inside the 95% interval.
    pub coverage_95: f64,
}

/// The holdout: across series and per series.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Holdout {
    /// Across series, in horizon order.
    pub horizons: Vec<HoldoutRow>,
    /// Per series and horizon.
    pub per_series: Vec<SeriesHorizon>,
}

/// Scores one series named `name`. `means` are its window means (start ms, mean) in time
/// order, `scored` its model forecasts with actuals. Empty when the series has fewer than 4
/// windows or its first half is flat (no MASE).
pub fn series_rows(name: &str, means: &[(i64, f64)], scored: &[Scored]) -> Vec<SeriesHorizon> {
    if means.len() < 4 {
        return Vec::new();
    }
    let half = means.len() / 2;
    let first: Vec<f64> = means[..half].iter().map(|m| m.1).collect();
    let Some(scale) = naive_scale(&first).ok().filter(|s| *s > 0.0) else {
        return Vec::new();
    };
    let cut = means[half].0;

    // Baseline forecasts from every origin at or after the cut, by origin start.
    let mut steps: Vec<u32> = scored.iter().map(|p| p.steps).collect();
    steps.sort_unstable();
    steps.dedup();
    let mut baselines: Vec<Model> = [ModelKind::Naive, ModelKind::Ewma(0.3), ModelKind::HOLT]
        .iter()
        .map(|k| k.start())
        .collect();
    let mut from: BTreeMap<i64, Vec<[f64; 3]>> = BTreeMap::new();
    for &(start, y) in means {
        for b in &mut baselines {
            b.update(y);
        }
        if start >= cut {
            let at = |h: u32| [0, 1, 2].map(|i| baselines[i].forecast(h as usize).unwrap_or(y));
            from.insert(start, steps.iter().map(|&h| at(h)).collect());
        }
    }

    // Per horizon: points, absolute-error sums, sMAPEs, coverage counts.
    type Acc = (usize, [f64; 4], [Vec<f64>; 4], usize, usize);
    let mut acc: BTreeMap<u32, Acc> = BTreeMap::new();
    for p in scored.iter().filter(|p| p.origin_start >= cut) {
        let (Some(b), Ok(j)) = (from.get(&p.origin_start), steps.binary_search(&p.steps)) else {
            continue;
        };
        let a = acc.entry(p.steps).or_default();
        let forecasts = [p.forecast, b[j][0], b[j][1], b[j][2]];
        for (k, f) in forecasts.iter().enumerate() {
            a.1[k] += (f - p.actual).abs();
            a.2[k].push(smape(*f, p.actual));
        }
        a.0 += 1;
        a.3 += usize::from(p.inside_80);
        a.4 += usize::from(p.inside_95);
    }
    acc.into_iter()
        .map(
            |(horizon, (points, abs, mut smapes, inside_80, inside_95))| SeriesHorizon {
                series: name.to_owned(),
                horizon,
                points,
                mase: abs.map(|e| e / points as f64 / scale),
                smape_median: [0, 1, 2, 3].map(|k| median(&mut smapes[k])),
                inside_80,
                inside_95,
            },
        )
        .collect()
}

/// Medians across series per horizon.
pub fn holdout(per_series: Vec<SeriesHorizon>) -> Holdout {
    let mut by_horizon: BTreeMap<u32, Vec<&SeriesHorizon>> = BTreeMap::new();
    for s in &per_series {
        by_horizon.entry(s.horizon).or_default().push(s);
    }
    let horizons = by_horizon
        .into_iter()
        .map(|(horizon, rows)| {
            let med = |f: &dyn Fn(&SeriesHorizon) -> f64| {
                median(&mut rows.iter().map(|r| f(r)).collect::<Vec<_>>())
            };
            let points: usize = rows.iter().map(|r| r.points).sum();
            let share = |f: &dyn Fn(&SeriesHorizon) -> usize| {
                rows.iter().map(|r| f(r)).sum::<usize>() as f64 / points.max(1) as f64
            };
            HoldoutRow {
                horizon,
                series: rows.len(),
                points,
                mase_median: med(&|r| r.mase[0]),
                naive_mase_median: med(&|r| r.mase[1]),
                ewma_mase_median: med(&|r| r.mase[2]),
                holt_mase_median: med(&|r| r.mase[3]),
                smape_median: med(&|r| r.smape_median[0]),
                naive_smape_median: med(&|r| r.smape_median[1]),
                ewma_smape_median: med(&|r| r.smape_median[2]),
                holt_smape_median: med(&|r| r.smape_median[3]),
                coverage_80: share(&|r| r.inside_80),
                coverage_95: share(&|r| r.inside_95),
            }
        })
        .collect();
    Holdout {
        horizons,
        per_series,
    }
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(origin: i64, steps: u32, forecast: f64, actual: f64) -> Scored {
        Scored {
            origin_start: origin,
            steps,
            forecast,
            actual,
            inside_80: true,
            inside_95: true,
        }
    }

    #[test]
    fn only_second_half_origins_count_and_the_first_half_scales() {
        // Windows 0..8 at 0, 10, 0, 10 (first half: scale 10), then 5 from window 4 on.
        let means: Vec<(i64, f64)> = (0..8)
            .map(|i| {
                (
                    i,
                    if i < 4 {
                        f64::from((i % 2) as u32) * 10.0
                    } else {
                        5.0
                    },
                )
            })
            .collect();
        // Origin 2 is before the cut (window 4) and is ignored; origins 4 and 5 are exact.
        let points = [
            scored(2, 1, 100.0, 10.0),
            scored(4, 1, 5.0, 5.0),
            scored(5, 1, 6.0, 5.0),
        ];
        let rows = series_rows("s", &means, &points);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].points, 2);
        // Model errors 0 and 1 over scale 10; naive from origin 4 (5) and 5 (5): 0.
        assert!((rows[0].mase[0] - 0.05).abs() < 1e-12, "{:?}", rows[0].mase);
        assert!(rows[0].mase[1].abs() < 1e-12);
    }

    #[test]
    fn a_series_flat_in_its_first_half_is_not_scored() {
        let means: Vec<(i64, f64)> = (0..8).map(|i| (i, if i < 4 { 1.0 } else { 2.0 })).collect();
        assert!(series_rows("s", &means, &[scored(4, 1, 2.0, 2.0)]).is_empty());
    }

    #[test]
    fn across_series_the_mase_is_the_median_and_coverage_is_pooled() {
        let row = |mase: f64, points: usize, inside: usize| SeriesHorizon {
            series: "s".into(),
            horizon: 1,
            points,
            mase: [mase; 4],
            smape_median: [mase; 4],
            inside_80: inside,
            inside_95: points,
        };
        let h = holdout(vec![row(1.0, 10, 10), row(3.0, 10, 0), row(2.0, 20, 14)]);
        let r = &h.horizons[0];
        assert_eq!((r.series, r.points), (3, 40));
        assert!((r.mase_median - 2.0).abs() < 1e-12);
        assert!((r.coverage_80 - 24.0 / 40.0).abs() < 1e-12);
    }
}
