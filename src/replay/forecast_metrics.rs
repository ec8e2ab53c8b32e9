//! Accuracy of replayed forecasts, per horizon, next to the naive forecast on the same points.
//!
//! Three measures, each per horizon:
//! - MASE: mean absolute error divided by the in-sample MAE of the one-step naive forecast
//!   (`mean |y_t - y_(t-1)|` over the history), so 1 means "as good as repeating the last value
//!   one step ahead";
//! - sMAPE: the median over points of `200 |F - A| / (|F| + |A|)` percent (0 when both are 0),
//!   the median because a few points near zero dominate a mean;
//! - coverage: the fraction of points whose actual lies inside the forecast's 80% and 95%
//!   intervals (bounds inclusive), over the points that carry that interval.
//!
//! The naive forecast for every horizon is the last value observed when the forecast was made.
//! It has no intervals, so only its MASE and sMAPE are reported.

use std::collections::BTreeMap;
use thiserror::Error;

/// Why the metrics cannot be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ForecastMetricsError {
    /// The one-step naive MAE needs at least two history values.
    #[error("invalid history: {0} values, at least 2 are needed for the naive scale")]
    ShortHistory(usize),
    /// A history value is NaN or infinite.
    #[error("invalid history: value {index} is not finite")]
    NonFiniteHistory {
        /// Position in the history.
        index: usize,
    },
    /// A forecast point holds a NaN or infinite number, or a reversed interval.
    #[error("invalid forecast point {index}: {reason}")]
    InvalidPoint {
        /// Position in the list of points.
        index: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A closed prediction interval `[lower, upper]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower bound, inclusive.
    pub lower: f64,
    /// Upper bound, inclusive.
    pub upper: f64,
}

impl Interval {
    fn contains(self, value: f64) -> bool {
        self.lower <= value && value <= self.upper
    }
}

/// One forecast compared with what happened.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastPoint {
    /// Steps ahead of the forecast origin (1 = the next step).
    pub horizon: u32,
    /// The point forecast.
    pub forecast: f64,
    /// The value that was later observed.
    pub actual: f64,
    /// The last value observed at the forecast origin: the naive forecast.
    pub last_observed: f64,
    /// The 80% interval, when the forecaster gave one.
    pub interval_80: Option<Interval>,
    /// The 95% interval, when the forecaster gave one.
    pub interval_95: Option<Interval>,
}

/// Point-accuracy numbers of one forecaster at one horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct PointAccuracy {
    /// Mean absolute error, in the series' unit.
    pub mae: f64,
    /// `mae / scale`; `None` when the history is flat (scale 0).
    pub mase: Option<f64>,
    /// Median sMAPE over the points, percent (0..200).
    pub smape_median: f64,
}

/// The metrics of one horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct HorizonMetrics {
    /// Steps ahead.
    pub horizon: u32,
    /// Number of points at this horizon.
    pub points: usize,
    /// The forecaster's accuracy.
    pub model: PointAccuracy,
    /// The naive forecast's accuracy on the same points.
    pub naive: PointAccuracy,
    /// Fraction of actuals inside the 80% interval; `None` when no point carries one.
    pub coverage_80: Option<f64>,
    /// Fraction of actuals inside the 95% interval; `None` when no point carries one.
    pub coverage_95: Option<f64>,
}

/// The metrics of a replay's forecasts.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastReport {
    /// The in-sample one-step naive MAE every MASE is divided by.
    pub scale: f64,
    /// One entry per horizon present in the points, in increasing horizon order.
    pub horizons: Vec<HorizonMetrics>,
}

/// The in-sample MAE of the one-step naive forecast, `mean |y_t - y_(t-1)|`.
pub fn naive_scale(history: &[f64]) -> Result<f64, ForecastMetricsError> {
    if history.len() < 2 {
        return Err(ForecastMetricsError::ShortHistory(history.len()));
    }
    if let Some(index) = history.iter().position(|v| !v.is_finite()) {
        return Err(ForecastMetricsError::NonFiniteHistory { index });
    }
    let total: f64 = history.windows(2).map(|w| (w[1] - w[0]).abs()).sum();
    Ok(total / (history.len() - 1) as f64)
}

/// `200 |F - A| / (|F| + |A|)`, 0 when both are 0.
pub fn smape(forecast: f64, actual: f64) -> f64 {
    let denominator = forecast.abs() + actual.abs();
    if denominator == 0.0 {
        0.0
    } else {
        200.0 * (forecast - actual).abs() / denominator
    }
}

/// Computes the metrics per horizon; `history` is the in-sample series that scales MASE.
pub fn evaluate(
    history: &[f64],
    points: &[ForecastPoint],
) -> Result<ForecastReport, ForecastMetricsError> {
    let scale = naive_scale(history)?;
    for (index, point) in points.iter().enumerate() {
        check_point(index, point)?;
    }

    let mut by_horizon: BTreeMap<u32, Vec<&ForecastPoint>> = BTreeMap::new();
    for point in points {
        by_horizon.entry(point.horizon).or_default().push(point);
    }

    let horizons = by_horizon
        .into_iter()
        .map(|(horizon, group)| HorizonMetrics {
            horizon,
            points: group.len(),
            model: accuracy(&group, scale, |p| p.forecast),
            naive: accuracy(&group, scale, |p| p.last_observed),
            coverage_80: coverage(&group, |p| p.interval_80),
            coverage_95: coverage(&group, |p| p.interval_95),
        })
        .collect();
    Ok(ForecastReport { scale, horizons })
}

fn check_point(index: usize, point: &ForecastPoint) -> Result<(), ForecastMetricsError> {
    let invalid = |reason| Err(ForecastMetricsError::InvalidPoint { index, reason });
    if ![point.forecast, point.actual, point.last_observed]
        .iter()
        .all(|v| v.is_finite())
    {
        return invalid("forecast, actual or last observed value is not finite");
    }
    for interval in [point.interval_80, point.interval_95].into_iter().flatten() {
        if !(interval.lower.is_finite() && interval.upper.is_finite()) {
            return invalid("an interval bound is not finite");
        }
        if interval.lower > interval.upper {
            return invalid("an interval's lower bound is above its upper bound");
        }
    }
    Ok(())
}

fn accuracy(
    group: &[&ForecastPoint],
    scale: f64,
    forecast: impl Fn(&ForecastPoint) -> f64,
) -> PointAccuracy {
    let mae = group
        .iter()
        .map(|p| (forecast(p) - p.actual).abs())
        .sum::<f64>()
        / group.len() as f64;
    let mut smapes: Vec<f64> = group.iter().map(|p| smape(forecast(p), p.actual)).collect();
    PointAccuracy {
        mae,
        mase: (scale > 0.0).then(|| mae / scale),
        smape_median: median(&mut smapes),
    }
}

/// The median of a non-empty list: the mean of the two middle values when the count is even.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

fn coverage(
    group: &[&ForecastPoint],
    interval: impl Fn(&ForecastPoint) -> Option<Interval>,
) -> Option<f64> {
    let (inside, total) = group
        .iter()
        .filter_map(|p| interval(p).map(|i| i.contains(p.actual)))
        .fold((0usize, 0usize), |(inside, total), hit| {
            (inside + usize::from(hit), total + 1)
        });
    (total > 0).then(|| inside as f64 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(horizon: u32, forecast: f64, actual: f64, last_observed: f64) -> ForecastPoint {
        ForecastPoint {
            horizon,
            forecast,
            actual,
            last_observed,
            interval_80: None,
            interval_95: None,
        }
    }

    fn close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
    }

    #[test]
    fn the_naive_scale_is_the_mean_absolute_one_step_change() {
        // |12-10| + |11-12| + |15-11| = 7 over 3 steps.
        close(
            naive_scale(&[10.0, 12.0, 11.0, 15.0]).expect("valid"),
            7.0 / 3.0,
        );
    }

    #[test]
    fn mase_divides_each_horizons_mae_by_the_naive_scale() {
        let history = [10.0, 12.0, 11.0, 15.0]; // scale 7/3
        let points = [
            point(1, 14.0, 16.0, 15.0), // model error 2, naive error 1
            point(1, 15.0, 15.0, 15.0), // model error 0, naive error 0
            point(2, 20.0, 17.0, 15.0), // model error 3, naive error 2
        ];
        let report = evaluate(&history, &points).expect("valid");
        let [one, two] = report.horizons.as_slice() else {
            panic!("expected two horizons, got {:?}", report.horizons);
        };
        assert_eq!(
            (one.horizon, one.points, two.horizon, two.points),
            (1, 2, 2, 1)
        );
        close(one.model.mae, 1.0);
        close(one.model.mase.expect("scale > 0"), 1.0 / (7.0 / 3.0));
        close(one.naive.mae, 0.5);
        close(two.model.mase.expect("scale > 0"), 3.0 / (7.0 / 3.0));
        close(two.naive.mase.expect("scale > 0"), 2.0 / (7.0 / 3.0));
    }

    #[test]
    fn smape_is_the_median_over_points_not_the_mean() {
        // Per-point sMAPE: 200*2/(9+11) = 20, 0, and 200*1/(0+1) = 200; median 20, mean 73.
        let points = [
            point(1, 9.0, 11.0, 11.0),
            point(1, 5.0, 5.0, 5.0),
            point(1, 0.0, 1.0, 1.0),
        ];
        let report = evaluate(&[0.0, 1.0], &points).expect("valid");
        close(report.horizons[0].model.smape_median, 20.0);
    }

    #[test]
    fn smape_of_two_zeros_is_zero() {
        close(smape(0.0, 0.0), 0.0);
        close(smape(0.0, 4.0), 200.0);
    }

    #[test]
    fn coverage_counts_actuals_inside_each_interval_bounds_included() {
        let mut points = vec![
            point(1, 10.0, 10.0, 10.0),
            point(1, 10.0, 12.0, 10.0),
            point(1, 10.0, 15.0, 10.0),
            point(1, 10.0, 10.0, 10.0),
        ];
        for p in &mut points[..3] {
            p.interval_80 = Some(Interval {
                lower: 8.0,
                upper: 12.0,
            });
            p.interval_95 = Some(Interval {
                lower: 6.0,
                upper: 14.0,
            });
        }
        let report = evaluate(&[1.0, 2.0], &points).expect("valid");
        // 10 and 12 are inside [8, 12], 15 is not; the fourth point has no interval.
        close(
            report.horizons[0].coverage_80.expect("three intervals"),
            2.0 / 3.0,
        );
        close(
            report.horizons[0].coverage_95.expect("three intervals"),
            2.0 / 3.0,
        );
    }

    #[test]
    fn a_horizon_without_intervals_has_no_coverage() {
        let report = evaluate(&[1.0, 2.0], &[point(3, 1.0, 1.0, 1.0)]).expect("valid");
        assert_eq!(report.horizons[0].coverage_80, None);
        assert_eq!(report.horizons[0].coverage_95, None);
    }

    #[test]
    fn a_flat_history_has_no_mase() {
        let report = evaluate(&[5.0, 5.0, 5.0], &[point(1, 6.0, 5.0, 5.0)]).expect("valid");
        assert_eq!(report.horizons[0].model.mase, None);
        close(report.horizons[0].model.mae, 1.0);
    }

    #[test]
    fn bad_inputs_are_errors_not_numbers() {
        assert_eq!(
            evaluate(&[1.0], &[]),
            Err(ForecastMetricsError::ShortHistory(1))
        );
        let mut reversed = point(1, 1.0, 1.0, 1.0);
        reversed.interval_80 = Some(Interval {
            lower: 2.0,
            upper: 1.0,
        });
        assert!(matches!(
            evaluate(
                &[1.0, 2.0],
                &[point(1, f64::NAN, 1.0, 1.0), reversed.clone()]
            ),
            Err(ForecastMetricsError::InvalidPoint { index: 0, .. })
        ));
        assert!(matches!(
            evaluate(&[1.0, 2.0], &[reversed]),
            Err(ForecastMetricsError::InvalidPoint { index: 0, .. })
        ));
    }
}
