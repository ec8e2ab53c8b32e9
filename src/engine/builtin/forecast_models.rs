//! The candidate forecasting models: small online smoothers, each fed one point at a time and
//! able to forecast any number of steps ahead from what it has seen.
//!
//! - naive: the last value;
//! - EWMA with a fixed smoothing factor (0.1, 0.3 or 0.6): a flat forecast at the smoothed
//!   level, which beats the last value when consecutive changes are mostly noise;
//! - damped Holt (level 0.5, trend 0.1, damping 0.9): level plus a trend that fades;
//! - recent median: the median of the last 12 points, robust to single spikes;
//! - seasonal naive: the value one period before the target;
//! - seasonal EWMA: an EWMA level (0.3) of the deseasonalised series plus a per-phase
//!   seasonal offset smoothed at 0.1.
//!
//! Each model's state is a few numbers, plus at most one period of values for the seasonal
//! ones and 12 for the median.

use std::collections::VecDeque;

/// Points the recent median looks at.
const MEDIAN_POINTS: usize = 12;

/// Which model, with its fixed parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ModelKind {
    /// The last value.
    Naive,
    /// Exponentially weighted moving average with this smoothing factor.
    Ewma(f64),
    /// Damped-trend Holt smoothing.
    DampedHolt {
        /// Level smoothing.
        alpha: f64,
        /// Trend smoothing.
        beta: f64,
        /// Trend damping per step.
        phi: f64,
    },
    /// Median of the last 12 points.
    RecentMedian,
    /// The value one period (in points) before the target.
    SeasonalNaive(usize),
    /// EWMA level plus a smoothed offset per phase of a period (in points).
    SeasonalEwma(usize),
}

impl ModelKind {
    /// The damped Holt of the old built-in forecaster, and the baseline of the evaluation.
    pub const HOLT: ModelKind = ModelKind::DampedHolt {
        alpha: 0.5,
        beta: 0.1,
        phi: 0.9,
    };

    /// The candidates for a series with seasonal period `period` points (0 for none).
    pub fn candidates(period: usize) -> Vec<ModelKind> {
        let mut models = vec![
            ModelKind::Naive,
            ModelKind::Ewma(0.1),
            ModelKind::Ewma(0.3),
            ModelKind::Ewma(0.6),
            ModelKind::HOLT,
            ModelKind::RecentMedian,
        ];
        if period >= 2 {
            models.push(ModelKind::SeasonalNaive(period));
            models.push(ModelKind::SeasonalEwma(period));
        }
        models
    }

    /// A short name for reasons and reports.
    pub fn name(self) -> String {
        match self {
            ModelKind::Naive => "naive".into(),
            ModelKind::Ewma(a) => format!("ewma({a})"),
            ModelKind::DampedHolt { .. } => "damped-holt".into(),
            ModelKind::RecentMedian => format!("median({MEDIAN_POINTS})"),
            ModelKind::SeasonalNaive(p) => format!("seasonal-naive({p})"),
            ModelKind::SeasonalEwma(p) => format!("seasonal-ewma({p})"),
        }
    }

    /// A model that has seen nothing yet.
    pub fn start(self) -> Model {
        Model {
            kind: self,
            level: None,
            trend: 0.0,
            recent: VecDeque::new(),
            season: match self {
                ModelKind::SeasonalEwma(p) => vec![0.0; p],
                _ => Vec::new(),
            },
            seen: 0,
        }
    }
}

/// One model's state after the points it was fed.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    kind: ModelKind,
    /// Level (the last value for naive); none before the first point.
    level: Option<f64>,
    trend: f64,
    /// The last points (median and seasonal naive), oldest first.
    recent: VecDeque<f64>,
    /// Seasonal offsets per phase (seasonal EWMA).
    season: Vec<f64>,
    /// Points fed.
    seen: usize,
}

impl Model {
    /// The model's kind.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Feeds the next point.
    pub fn update(&mut self, y: f64) {
        match self.kind {
            ModelKind::Naive => self.level = Some(y),
            ModelKind::Ewma(a) => {
                self.level = Some(self.level.map_or(y, |l| a * y + (1.0 - a) * l));
            }
            ModelKind::DampedHolt { alpha, beta, phi } => match self.level {
                None => self.level = Some(y),
                Some(previous) => {
                    let level = alpha * y + (1.0 - alpha) * (previous + phi * self.trend);
                    self.trend = beta * (level - previous) + (1.0 - beta) * phi * self.trend;
                    self.level = Some(level);
                }
            },
            ModelKind::RecentMedian => self.remember(y, MEDIAN_POINTS),
            ModelKind::SeasonalNaive(p) => self.remember(y, p),
            ModelKind::SeasonalEwma(p) => {
                let phase = self.seen % p;
                let s = self.season[phase];
                let level = self.level.map_or(y, |l| 0.3 * (y - s) + 0.7 * l);
                self.season[phase] = 0.1 * (y - level) + 0.9 * s;
                self.level = Some(level);
            }
        }
        self.seen += 1;
    }

    fn remember(&mut self, y: f64, keep: usize) {
        self.recent.push_back(y);
        while self.recent.len() > keep.max(1) {
            self.recent.pop_front();
        }
        self.level = Some(y);
    }

    /// The forecast `h` (at least 1) steps after the last point fed; none before any point.
    pub fn forecast(&self, h: usize) -> Option<f64> {
        let mut out = [0.0];
        self.forecast_into(&[h], &mut out).then_some(out[0])
    }

    /// The forecasts at each of `steps` into `out` (same length); false, leaving `out` as it
    /// is, before any point. The median is sorted once for all steps.
    pub fn forecast_into(&self, steps: &[usize], out: &mut [f64]) -> bool {
        let Some(level) = self.level else {
            return false;
        };
        let median = matches!(self.kind, ModelKind::RecentMedian)
            .then(|| median(self.recent.iter().copied()));
        for (o, &h) in out.iter_mut().zip(steps) {
            *o = self.at(level, median, h.max(1));
        }
        true
    }

    fn at(&self, level: f64, median: Option<f64>, h: usize) -> f64 {
        match self.kind {
            ModelKind::Naive | ModelKind::Ewma(_) => level,
            ModelKind::DampedHolt { phi, .. } => {
                // phi + phi^2 + ... + phi^h.
                let damped = if (phi - 1.0).abs() < 1e-12 {
                    h as f64
                } else {
                    phi * (1.0 - phi.powi(h as i32)) / (1.0 - phi)
                };
                level + damped * self.trend
            }
            ModelKind::RecentMedian => median.unwrap_or(level),
            ModelKind::SeasonalNaive(p) => {
                if self.recent.len() < p {
                    level
                } else {
                    self.recent[(h - 1) % p]
                }
            }
            ModelKind::SeasonalEwma(p) => level + self.season[(self.seen + h - 1) % p],
        }
    }
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    match v.len() {
        0 => 0.0,
        n if n % 2 == 0 => (v[mid - 1] + v[mid]) / 2.0,
        _ => v[mid],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fed(kind: ModelKind, points: &[f64]) -> Model {
        let mut m = kind.start();
        for &y in points {
            m.update(y);
        }
        m
    }

    #[test]
    fn a_model_that_has_seen_nothing_has_no_forecast() {
        assert_eq!(ModelKind::Naive.start().forecast(1), None);
    }

    #[test]
    fn naive_repeats_the_last_value_and_ewma_smooths() {
        assert_eq!(fed(ModelKind::Naive, &[1.0, 5.0]).forecast(3), Some(5.0));
        // 0.5 × 5 + 0.5 × 1.
        assert_eq!(
            fed(ModelKind::Ewma(0.5), &[1.0, 5.0]).forecast(3),
            Some(3.0)
        );
    }

    #[test]
    fn damped_holt_follows_a_trend_less_and_less() {
        let ramp: Vec<f64> = (0..50).map(f64::from).collect();
        let m = fed(ModelKind::HOLT, &ramp);
        let (one, ten) = (m.forecast(1).unwrap(), m.forecast(10).unwrap());
        assert!(one > 48.5 && ten > one, "{one} {ten}");
        assert!(ten < 49.0 + 10.0, "damped: {ten}");
    }

    #[test]
    fn the_recent_median_ignores_a_single_spike() {
        let mut points = vec![2.0; 11];
        points.push(100.0);
        assert_eq!(fed(ModelKind::RecentMedian, &points).forecast(1), Some(2.0));
    }

    #[test]
    fn seasonal_naive_repeats_the_last_period() {
        let m = fed(ModelKind::SeasonalNaive(3), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(
            (1..=4).map(|h| m.forecast(h).unwrap()).collect::<Vec<_>>(),
            vec![4.0, 5.0, 6.0, 4.0]
        );
    }

    #[test]
    fn seasonal_ewma_learns_a_repeating_pattern() {
        let pattern = [0.0, 10.0, 0.0, -10.0];
        let points: Vec<f64> = (0..400).map(|i| 50.0 + pattern[i % 4]).collect();
        let m = fed(ModelKind::SeasonalEwma(4), &points);
        // 400 points seen: the next is phase 0, then 1.
        assert!((m.forecast(1).unwrap() - 50.0).abs() < 1.0);
        assert!((m.forecast(2).unwrap() - 60.0).abs() < 1.0);
    }
}
