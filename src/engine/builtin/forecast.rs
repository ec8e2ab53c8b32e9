//! Forecasting: per horizon, the candidate model (`forecast_models`) with the smallest recent
//! error on the request's own history, and prediction intervals from the empirical quantiles
//! of that model's recent errors at that horizon.
//!
//! The request carries the history (window means, oldest first, ending with the current
//! window). Every candidate is run through it once; at each of the last
//! [`ERROR_ORIGINS`] origins it forecasts every requested horizon, and each forecast whose
//! target lies inside the history gives one signed error (actual minus forecast). This is a
//! rolling-origin backtest that uses only the past, recomputed on every request, so the
//! forecaster holds no state of its own: the per-key state is the prediction processor's
//! history (`prediction.history_windows` means of nine metrics, 72 bytes a window).
//!
//! Per horizon `h`, the model with the smallest mean absolute error over its recent errors is
//! chosen (ties go to the simpler model, earlier in the candidate list). When the runner-up's
//! error is within [`BLEND_WITHIN`] (5%) of it, the recent errors do not tell the two apart
//! and the forecast is their blend, weighted by the inverse of their errors; the blend's
//! signed errors are recomputed at the same origins. The point forecast from the last point
//! is the mean; the 80% interval runs from the 10% to the 90% quantile of the (chosen or
//! blended) signed errors added to the mean, the 95% interval from 2.5% to 97.5% (split
//! conformal intervals). With fewer than [`MIN_ERRORS`] errors at a horizon, the half-width is
//! `z × 1.25 × d × sqrt(h)`, with `d` the mean absolute one-step change of the history
//! (1.25 × MAE approximates a normal standard deviation). Fractions (utilisations) are
//! clamped to 0..1, other metrics to at least 0.
//!
//! Seasonality is detected, not assumed: the seasonal candidates take part when the history
//! holds two days and its autocorrelation at a lag of one day is at least
//! [`SEASONAL_ACF`] (`seasonality`). Cost per request: one pass of 6 to 8 models over the
//! history plus `ERROR_ORIGINS × horizons × models` forecasts.

use crate::engine::builtin::forecast_models::{Model, ModelKind};
use crate::engine::builtin::seasonality;
use crate::engine::{PredictionAnswer, PredictionRequest};
use crate::event::{HorizonForecast, Metric};

/// Origins whose errors are kept per model and horizon.
pub const ERROR_ORIGINS: usize = 288;
/// Errors needed before intervals come from their quantiles.
pub const MIN_ERRORS: usize = 10;
/// How much larger (relatively) the runner-up's recent error may be for it to be blended in.
pub const BLEND_WITHIN: f64 = 0.05;
/// Autocorrelation at one day's lag that turns the seasonal candidates on.
pub const SEASONAL_ACF: f64 = 0.2;

/// A forecast `steps` points ahead, with its intervals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepForecast {
    /// Points ahead of the last history point.
    pub steps: usize,
    /// Point forecast.
    pub mean: f64,
    /// 80% interval bounds.
    pub lower_80: f64,
    /// Upper bound of the 80% interval.
    pub upper_80: f64,
    /// Lower bound of the 95% interval.
    pub lower_95: f64,
    /// Upper bound of the 95% interval.
    pub upper_95: f64,
    /// The model chosen for this horizon (the better of the two when blended).
    pub model: ModelKind,
    /// The runner-up blended in, when its recent error was within [`BLEND_WITHIN`].
    pub partner: Option<ModelKind>,
    /// Its recent errors the choice and the intervals rest on.
    pub errors: usize,
}

/// Forecasts of `history` at each of `steps` (each at least 1) with the seasonal period
/// `period` in points (0 for none, else it is kept only if the history shows it); none for
/// an empty history.
pub fn forecast_steps(
    history: &[f64],
    period: usize,
    steps: &[usize],
) -> Option<Vec<StepForecast>> {
    let last = history.len().checked_sub(1)?;
    let period = seasonality::detect(history, period, SEASONAL_ACF);
    let kinds = ModelKind::candidates(period);
    let max_h = steps.iter().copied().max().unwrap_or(1).max(1);
    // Origins from which forecasts are kept: enough that each horizon has ERROR_ORIGINS
    // origins whose target is inside the history, plus the last point itself.
    let first_origin = last.saturating_sub(ERROR_ORIGINS + max_h);
    let origins = last - first_origin + 1;

    // forecasts[model][(origin - first_origin) * steps.len() + j]
    let mut models: Vec<Model> = kinds.iter().map(|k| k.start()).collect();
    let mut forecasts = vec![vec![0.0; origins * steps.len()]; models.len()];
    for (t, &y) in history.iter().enumerate() {
        for (m, model) in models.iter_mut().enumerate() {
            model.update(y);
            if t >= first_origin {
                let at = (t - first_origin) * steps.len();
                // A model always has a forecast once fed a point.
                model.forecast_into(steps, &mut forecasts[m][at..at + steps.len()]);
            }
        }
    }

    let spread = mean_step_change(history);
    let out = steps
        .iter()
        .enumerate()
        .map(|(j, &h)| {
            let h = h.max(1);
            // Signed errors of each model at this horizon, the most recent ERROR_ORIGINS.
            let errors: Vec<Vec<f64>> = forecasts
                .iter()
                .map(|f| {
                    let end = last.saturating_sub(h - 1).max(first_origin);
                    let start = end.saturating_sub(ERROR_ORIGINS).max(first_origin);
                    (start..end)
                        .filter(|t| t + h <= last)
                        .map(|t| history[t + h] - f[(t - first_origin) * steps.len() + j])
                        .collect()
                })
                .collect();
            let blend = choose(&errors);
            let (best, partner) = (blend[0].0, blend.get(1).map(|b| kinds[b.0]));
            let at = |t: usize| -> f64 {
                let i = (t - first_origin) * steps.len() + j;
                blend.iter().map(|&(m, w)| w * forecasts[m][i]).sum()
            };
            let mean = at(last);
            // The blend's own signed errors at the origins its models' errors came from.
            let errors: Vec<f64> = if partner.is_some() {
                let end = last.saturating_sub(h - 1).max(first_origin);
                let start = end.saturating_sub(ERROR_ORIGINS).max(first_origin);
                (start..end)
                    .filter(|t| t + h <= last)
                    .map(|t| history[t + h] - at(t))
                    .collect()
            } else {
                errors[best].clone()
            };
            let (lower_80, upper_80, lower_95, upper_95) = if errors.len() >= MIN_ERRORS {
                let mut e = errors.clone();
                e.sort_by(f64::total_cmp);
                (
                    mean + quantile(&e, 0.10).min(0.0),
                    mean + quantile(&e, 0.90).max(0.0),
                    mean + quantile(&e, 0.025).min(0.0),
                    mean + quantile(&e, 0.975).max(0.0),
                )
            } else {
                let w = |z: f64| z * 1.25 * spread * (h as f64).sqrt();
                (
                    mean - w(1.2816),
                    mean + w(1.2816),
                    mean - w(1.96),
                    mean + w(1.96),
                )
            };
            StepForecast {
                steps: h,
                mean,
                lower_80,
                upper_80,
                lower_95,
                upper_95,
                model: kinds[best],
                partner,
                errors: errors.len(),
            }
        })
        .collect();
    Some(out)
}

/// The models to forecast with and their weights, from each model's recent signed errors:
/// the one with the smallest mean absolute error (the first one when none has errors), and
/// beside it the runner-up when its error is within [`BLEND_WITHIN`] of the best's, the two
/// weighted by the inverse of their errors.
fn choose(errors: &[Vec<f64>]) -> Vec<(usize, f64)> {
    let mae: Vec<f64> = errors
        .iter()
        .map(|e| {
            if e.is_empty() {
                f64::INFINITY
            } else {
                e.iter().map(|x| x.abs()).sum::<f64>() / e.len() as f64
            }
        })
        .collect();
    blend_weights(&mae)
}

/// [`choose`] from the models' mean absolute errors (ties go to the earlier model).
pub fn blend_weights(mae: &[f64]) -> Vec<(usize, f64)> {
    let mut best = 0;
    for m in 1..mae.len() {
        if mae[m] < mae[best] {
            best = m;
        }
    }
    let runner_up = (0..mae.len())
        .filter(|&m| m != best)
        .min_by(|&a, &b| mae[a].total_cmp(&mae[b]));
    match runner_up {
        Some(second)
            if mae[best].is_finite() && mae[second] <= mae[best] * (1.0 + BLEND_WITHIN) =>
        {
            // Errors of 0 (a flat history) weigh the two equally.
            let inverse = |e: f64| 1.0 / e.max(1e-12);
            let (a, b) = (inverse(mae[best]), inverse(mae[second]));
            vec![(best, a / (a + b)), (second, b / (a + b))]
        }
        _ => vec![(best, 1.0)],
    }
}

/// The empirical `p` quantile of sorted, non-empty `values` (the `ceil(p (n + 1))`-th value,
/// clamped to the range, as split conformal prediction takes it).
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let rank = (p * (n as f64 + 1.0)).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

/// Mean absolute change between consecutive points (0 for fewer than two).
fn mean_step_change(history: &[f64]) -> f64 {
    if history.len() < 2 {
        return 0.0;
    }
    history.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / (history.len() - 1) as f64
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

/// Points ahead for a horizon in minutes at `resolution_minutes` a point (at least 1).
pub fn steps_for(minutes: u32, resolution_minutes: f64) -> usize {
    if resolution_minutes <= 0.0 {
        return 1;
    }
    ((f64::from(minutes) / resolution_minutes).ceil() as usize).max(1)
}

/// Answers a prediction request.
pub fn predict(request: &PredictionRequest) -> PredictionAnswer {
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
    let steps: Vec<usize> = request
        .horizons_minutes
        .iter()
        .map(|&m| steps_for(m, request.resolution_minutes))
        .collect();
    let period = daily_period(request.resolution_minutes);
    let Some(forecasts) = forecast_steps(&request.history, period, &steps) else {
        return PredictionAnswer {
            horizons: Vec::new(),
            confidence: 0.0,
            reasons: vec!["no history".into()],
        };
    };
    let horizons = request
        .horizons_minutes
        .iter()
        .zip(&forecasts)
        .map(|(&minutes, f)| HorizonForecast {
            horizon_minutes: minutes,
            mean: clamp(f.mean),
            lower_80: clamp(f.lower_80),
            upper_80: clamp(f.upper_80),
            lower_95: clamp(f.lower_95),
            upper_95: clamp(f.upper_95),
        })
        .collect();
    // Confidence grows with the history behind the choice: a day of points gives 0.9.
    let points = request.history.len() as f64;
    let confidence = (points / (points + 10.0)).min(0.95);
    let chosen: Vec<String> = forecasts
        .iter()
        .map(|f| {
            let model = match f.partner {
                Some(p) => format!("{} + {}", f.model.name(), p.name()),
                None => f.model.name(),
            };
            format!("{} steps: {model} over {} errors", f.steps, f.errors)
        })
        .collect();
    PredictionAnswer {
        horizons,
        confidence,
        reasons: vec![format!(
            "lowest recent error over {} points; {}",
            request.history.len(),
            chosen.join(", ")
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_series_forecasts_itself_with_zero_width_intervals() {
        let f = forecast_steps(&[0.5; 30], 0, &[4]).unwrap();
        assert!((f[0].mean - 0.5).abs() < 1e-12);
        assert!((f[0].upper_95 - f[0].lower_95).abs() < 1e-12);
    }

    #[test]
    fn noise_around_a_level_is_forecast_by_a_smoother_not_the_last_value() {
        // Alternating ±1 around 10: the last value is always 2 off, a slow EWMA about 0.1.
        let series: Vec<f64> = (0..200)
            .map(|i| if i % 2 == 0 { 9.0 } else { 11.0 })
            .collect();
        let f = forecast_steps(&series, 0, &[1]).unwrap();
        assert_ne!(f[0].model, ModelKind::Naive);
        assert!((f[0].mean - 10.0).abs() < 0.2, "{}", f[0].mean);
    }

    /// Deterministic uniform numbers in 0..1 (splitmix64).
    fn uniform(i: u64) -> f64 {
        let mut z = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    }

    #[test]
    fn a_random_walk_keeps_the_last_value() {
        let mut y = 100.0;
        let series: Vec<f64> = (0u64..400)
            .map(|i| {
                y += uniform(i) - 0.5;
                y
            })
            .collect();
        let f = forecast_steps(&series, 0, &[1]).unwrap();
        assert!(
            matches!(f[0].model, ModelKind::Naive | ModelKind::Ewma(_)),
            "{:?}",
            f[0].model
        );
        assert!((f[0].mean - series[399]).abs() <= 0.5);
    }

    #[test]
    fn a_daily_pattern_is_detected_and_forecast_seasonally() {
        let period = daily_period(60.0);
        assert_eq!(period, 24);
        let shape = |i: usize| 0.5 + 0.2 * ((i % 24) as f64 / 24.0 * std::f64::consts::TAU).sin();
        let series: Vec<f64> = (0..24 * 8).map(shape).collect();
        let f = forecast_steps(&series, period, &[6]).unwrap();
        assert!(
            matches!(
                f[0].model,
                ModelKind::SeasonalNaive(24) | ModelKind::SeasonalEwma(24)
            ),
            "{:?}",
            f[0].model
        );
        let expected = shape(series.len() - 1 + 6);
        assert!(
            (f[0].mean - expected).abs() < 0.02,
            "{} vs {expected}",
            f[0].mean
        );
    }

    #[test]
    fn intervals_hold_the_share_of_past_errors_they_promise() {
        // Errors of a level model on a level plus uniform noise: the 80% interval spans the
        // 10%..90% quantiles of past errors, so a new point falls inside about 80% of the time.
        let series: Vec<f64> = (0..2000).map(|i| 5.0 + uniform(i)).collect();
        let mut inside = (0, 0);
        for end in 1000..2000 {
            let f = forecast_steps(&series[..end], 0, &[1]).unwrap()[0];
            let a = series[end];
            inside.0 += usize::from(f.lower_80 <= a && a <= f.upper_80);
            inside.1 += usize::from(f.lower_95 <= a && a <= f.upper_95);
        }
        let (c80, c95) = (inside.0 as f64 / 1000.0, inside.1 as f64 / 1000.0);
        assert!((c80 - 0.8).abs() < 0.05, "80%: {c80}");
        assert!((c95 - 0.95).abs() < 0.03, "95%: {c95}");
    }

    #[test]
    fn a_short_history_gets_intervals_from_its_step_changes() {
        let f = forecast_steps(&[1.0, 2.0, 1.0, 2.0], 0, &[1, 4]).unwrap();
        assert!(f[0].errors < MIN_ERRORS);
        // d = 1: the 4-step 95% half-width is 1.96 × 1.25 × 2.
        let w = f[1].upper_95 - f[1].mean;
        assert!((w - 1.96 * 1.25 * 2.0).abs() < 1e-9, "{w}");
    }

    #[test]
    fn a_runner_up_within_five_percent_is_blended_by_inverse_error() {
        let blend = blend_weights(&[2.0, 1.0, 1.04]);
        assert_eq!((blend[0].0, blend[1].0), (1, 2));
        assert!((blend[0].1 - 1.04 / 2.04).abs() < 1e-12, "{blend:?}");
        assert!((blend[0].1 + blend[1].1 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_clearly_better_model_is_used_alone() {
        assert_eq!(blend_weights(&[1.0, 1.2, 3.0]), vec![(0, 1.0)]);
        assert_eq!(blend_weights(&[f64::INFINITY; 3]), vec![(0, 1.0)]);
        assert_eq!(blend_weights(&[1.0]), vec![(0, 1.0)]);
    }

    #[test]
    fn an_empty_history_has_no_forecast() {
        assert_eq!(forecast_steps(&[], 0, &[1]), None);
    }

    #[test]
    fn intervals_nest_and_fractions_stay_in_range() {
        let request = PredictionRequest {
            cluster_id: "c".into(),
            node_id: None,
            resource: Metric::Cpu,
            window: crate::window::WindowSpec::tumbling(std::time::Duration::from_secs(900))
                .bounds(0),
            history: (0..40)
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
    }
}
