//! Forecasting: damped-trend exponential smoothing with a seasonal term when the history holds
//! at least two full days, and prediction intervals from the one-step errors seen so far.
//!
//! The level, trend and (optional) daily seasonal indices are fitted online over the history,
//! one point at a time. The `h`-step interval half-width is `z * sigma1 * sqrt(h)`, with
//! `sigma1` the root mean square of the in-sample one-step errors, `z` 1.2816 for 80% and
//! 1.96 for 95%. Fractions (utilisations) are clamped to 0..1.

use crate::engine::{PredictionAnswer, PredictionRequest};
use crate::event::{HorizonForecast, Metric};

const ALPHA: f64 = 0.5;
const BETA: f64 = 0.1;
const GAMMA: f64 = 0.2;
const PHI: f64 = 0.9;

/// A fitted model: where the series is, where it is heading, and how wrong it has been.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    level: f64,
    trend: f64,
    seasonal: Vec<f64>,
    position: usize,
    /// Root mean square one-step error.
    pub sigma: f64,
    /// One-step errors made.
    pub errors: usize,
}

/// Fits the model to `history`; `period` is the seasonal length in points (0 for none).
pub fn fit(history: &[f64], period: usize) -> Option<Fit> {
    let first = *history.first()?;
    let seasonal_on = period >= 2 && history.len() >= 2 * period;
    let mut fit = Fit {
        level: first,
        trend: 0.0,
        seasonal: if seasonal_on {
            initial_seasonal(history, period)
        } else {
            Vec::new()
        },
        position: 0,
        sigma: 0.0,
        errors: 0,
    };
    let mut sq = 0.0;
    for (i, &y) in history.iter().enumerate().skip(1) {
        let s = fit.season_at(i);
        let predicted = fit.level + PHI * fit.trend + s;
        let error = y - predicted;
        sq += error * error;
        fit.errors += 1;
        let previous_level = fit.level;
        fit.level = ALPHA * (y - s) + (1.0 - ALPHA) * (fit.level + PHI * fit.trend);
        fit.trend = BETA * (fit.level - previous_level) + (1.0 - BETA) * PHI * fit.trend;
        if !fit.seasonal.is_empty() {
            let p = fit.seasonal.len();
            fit.seasonal[i % p] = GAMMA * (y - fit.level) + (1.0 - GAMMA) * fit.seasonal[i % p];
        }
        fit.position = i;
    }
    fit.sigma = if fit.errors > 0 {
        (sq / fit.errors as f64).sqrt()
    } else {
        0.0
    };
    Some(fit)
}

fn initial_seasonal(history: &[f64], period: usize) -> Vec<f64> {
    let mean = history[..period].iter().sum::<f64>() / period as f64;
    history[..period].iter().map(|y| y - mean).collect()
}

impl Fit {
    fn season_at(&self, i: usize) -> f64 {
        if self.seasonal.is_empty() {
            0.0
        } else {
            self.seasonal[i % self.seasonal.len()]
        }
    }

    /// Point forecast `h` steps ahead.
    pub fn point(&self, h: usize) -> f64 {
        let damped: f64 = (1..=h).map(|k| PHI.powi(k as i32)).sum();
        self.level + damped * self.trend + self.season_at(self.position + h)
    }

    /// Half-width of the interval `h` steps ahead for a normal quantile `z`.
    pub fn half_width(&self, h: usize, z: f64) -> f64 {
        z * self.sigma * (h as f64).sqrt()
    }
}

/// Number of points in a day at `resolution_minutes`, if whole.
pub fn daily_period(resolution_minutes: f64) -> usize {
    if resolution_minutes <= 0.0 {
        return 0;
    }
    let points = 1440.0 / resolution_minutes;
    if (points - points.round()).abs() < 1e-9 {
        points.round() as usize
    } else {
        0
    }
}

/// Answers a prediction request.
pub fn predict(request: &PredictionRequest) -> PredictionAnswer {
    let period = daily_period(request.resolution_minutes);
    let fraction = matches!(
        request.resource,
        Metric::Cpu | Metric::Memory | Metric::Disk | Metric::Network | Metric::ErrorRate
    );
    let clamp = |v: f64| {
        if fraction {
            v.clamp(0.0, 1.0)
        } else {
            v.max(0.0)
        }
    };
    let Some(model) = fit(&request.history, period) else {
        return PredictionAnswer {
            horizons: Vec::new(),
            confidence: 0.0,
            reasons: vec!["no history".into()],
        };
    };
    let horizons = request
        .horizons_minutes
        .iter()
        .map(|&minutes| {
            let h = ((f64::from(minutes) / request.resolution_minutes).ceil() as usize).max(1);
            let mean = model.point(h);
            let w80 = model.half_width(h, 1.2816);
            let w95 = model.half_width(h, 1.96);
            HorizonForecast {
                horizon_minutes: minutes,
                mean: clamp(mean),
                lower_80: clamp(mean - w80),
                upper_80: clamp(mean + w80),
                lower_95: clamp(mean - w95),
                upper_95: clamp(mean + w95),
            }
        })
        .collect();
    // Confidence grows with the history behind the fit: a day of points gives 0.9.
    let points = request.history.len() as f64;
    let confidence = (points / (points + 10.0)).min(0.95);
    let seasonal = if model.seasonal.is_empty() {
        "no"
    } else {
        "daily"
    };
    PredictionAnswer {
        horizons,
        confidence,
        reasons: vec![format!(
            "damped trend with {seasonal} seasonality over {} points; one-step error {:.4}",
            request.history.len(),
            model.sigma
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_series_forecasts_itself_with_narrow_intervals() {
        let model = fit(&[0.5; 30], 0).unwrap();
        assert!((model.point(4) - 0.5).abs() < 1e-9);
        assert!(model.half_width(4, 1.96) < 1e-9);
    }

    #[test]
    fn a_trend_is_followed_but_damped() {
        let history: Vec<f64> = (0..40).map(|i| 0.2 + 0.01 * i as f64).collect();
        let model = fit(&history, 0).unwrap();
        let one = model.point(1);
        assert!(one > 0.58 && one < 0.62, "{one}");
        assert!(model.point(5) > one, "the trend continues");
        assert!(model.point(20) < 0.59 + 0.01 * 20.0, "damped");
    }

    #[test]
    fn daily_seasonality_is_used_with_two_days_of_history() {
        let period = daily_period(60.0);
        assert_eq!(period, 24);
        let series: Vec<f64> = (0..72)
            .map(|i| 0.5 + 0.2 * ((i % 24) as f64 / 24.0 * std::f64::consts::TAU).sin())
            .collect();
        let model = fit(&series, period).unwrap();
        let expected = 0.5 + 0.2 * (((71 + 6) % 24) as f64 / 24.0 * std::f64::consts::TAU).sin();
        assert!(
            (model.point(6) - expected).abs() < 0.05,
            "{} vs {expected}",
            model.point(6)
        );
    }

    #[test]
    fn intervals_nest_and_fractions_stay_in_range() {
        let request = PredictionRequest {
            cluster_id: "c".into(),
            node_id: None,
            resource: Metric::Cpu,
            window: crate::window::WindowSpec::tumbling(std::time::Duration::from_secs(900))
                .bounds(0),
            history: (0..20)
                .map(|i| 0.9 + 0.05 * ((i % 3) as f64 - 1.0))
                .collect(),
            resolution_minutes: 15.0,
            horizons_minutes: vec![15, 30, 60],
        };
        let answer = predict(&request);
        assert_eq!(answer.horizons.len(), 3);
        for h in &answer.horizons {
            assert!(h.lower_95 <= h.lower_80 && h.lower_80 <= h.mean && h.mean <= h.upper_80);
            assert!(h.upper_80 <= h.upper_95 && h.upper_95 <= 1.0 && h.lower_95 >= 0.0);
        }
        assert!(
            answer.horizons[2].upper_95 - answer.horizons[2].lower_95
                >= answer.horizons[0].upper_95 - answer.horizons[0].lower_95
        );
    }
}
