//! The built-in anomaly detector: a robust streaming residual score per metric.
//!
//! Per node and metric the detector keeps an exponentially smoothed level and variance (the
//! baseline). A sample is anomalous when it is both far in standard deviations
//! (`z_threshold`) and far in absolute terms (a per-metric minimum, so a very quiet metric
//! does not alarm on a tiny wobble). Anomalous samples do not teach the baseline, so an outlier
//! cannot drag it along; when `confirm_samples` of them in a row deviate the same way, the
//! detector takes their mean as the new level (a level shift). After an alarm, the metric's
//! further alarms are suppressed for `suppression` of event time, so one incident is reported
//! once.
//!
//! The score of a deviation is `1 - 0.5^(r^2)` where `r` is the smaller of the deviation in
//! units of the z threshold and in units of the minimum deviation: 0.5 at the alarm threshold,
//! 0.94 at twice it.

use crate::config::AnomalyConfig;
use crate::engine::wire::fields;
use crate::event::{AnomalyType, Metric};
use serde::{Deserialize, Serialize};

/// How a metric behaves, so one detector configuration fits utilisation, latency and watts.
#[derive(Debug, Clone, Copy)]
struct MetricProfile {
    /// Smallest standard deviation assumed, in the metric's unit.
    sigma_floor: f64,
    /// Smallest absolute deviation that can alarm, in the metric's unit.
    min_abs: f64,
    /// Smallest deviation that can alarm, as a fraction of the baseline level.
    min_rel: f64,
}

fn profile(metric: Metric) -> MetricProfile {
    let p = |sigma_floor, min_abs, min_rel| MetricProfile {
        sigma_floor,
        min_abs,
        min_rel,
    };
    match metric {
        Metric::Cpu | Metric::Memory | Metric::Disk | Metric::Network => p(0.01, 0.15, 0.0),
        Metric::ErrorRate => p(0.002, 0.05, 0.0),
        Metric::LatencyP99 => p(1.0, 20.0, 0.5),
        Metric::Throughput => p(5.0, 100.0, 0.3),
        Metric::Energy => p(2.0, 30.0, 0.15),
        Metric::QueueLength => p(1.0, 10.0, 0.5),
    }
}

/// The learned state of one metric on one node. On the engine wire (`/detect/anomaly`) the
/// fields keep their names, except `suppressed_until_ms`, an event time written as RFC 3339
/// under `suppressed_until`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct MetricBaseline {
    seen: u32,
    #[serde(with = "fields::nullable")]
    mean: f64,
    #[serde(with = "fields::nullable")]
    var: f64,
    #[serde(rename = "suppressed_until", with = "fields::time_ms")]
    suppressed_until_ms: i64,
    #[serde(with = "fields::nullable")]
    run_sum: f64,
    run_len: u32,
    run_sign: i8,
}

/// The learned state of one node: what "normal" looks like for each of its metrics. It
/// travels with every anomaly request so a remote engine can answer without state of its own;
/// its JSON form is an object keyed by metric field name and round-trips exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeBaseline {
    #[serde(with = "fields::metric_keyed")]
    metrics: [MetricBaseline; 9],
}

impl NodeBaseline {
    /// The current expected level of a metric, if it has been learned.
    pub fn level(&self, metric: Metric) -> Option<f64> {
        let m = &self.metrics[metric.index()];
        (m.seen > 0).then_some(m.mean)
    }
}

/// One metric's alarm within a window.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricAlarm {
    /// The metric.
    pub metric: Metric,
    /// Event time of the alarming sample.
    pub at_ms: i64,
    /// The alarming value.
    pub value: f64,
    /// The baseline it was compared with.
    pub baseline: f64,
    /// Score in 0..1.
    pub score: f64,
    /// Deviation in standard deviations.
    pub z: f64,
    /// What the rest of the window showed: back to normal, a new level, or unknown.
    pub shape: AnomalyType,
}

/// The detector's answer for one node and window.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Alarms, highest score first.
    pub alarms: Vec<MetricAlarm>,
}

/// Runs the samples of one window (sorted by event time) through the node's baseline.
pub fn detect(
    config: &AnomalyConfig,
    baseline: &mut NodeBaseline,
    samples: &[(i64, [f64; 9])],
) -> Detection {
    detect_scored(config, baseline, samples, None)
}

/// [`detect`], also pushing onto `scores` (when given) one score per sample, in sample order:
/// the highest over its metrics of the score rule, against the baseline as it stood just
/// before that sample, whether or not an alarm fires or is suppressed (0 while a metric is
/// still warming up). Computing the scores reads the baseline only, so the alarms and the
/// baseline that result are those of [`detect`].
pub fn detect_scored(
    config: &AnomalyConfig,
    baseline: &mut NodeBaseline,
    samples: &[(i64, [f64; 9])],
    mut scores: Option<&mut Vec<f64>>,
) -> Detection {
    let mut alarms: Vec<MetricAlarm> = Vec::new();
    for (ts, values) in samples {
        let mut sample_score = 0.0f64;
        for metric in Metric::ALL {
            let state = &mut baseline.metrics[metric.index()];
            let value = values[metric.index()];
            if scores.is_some() {
                sample_score =
                    sample_score.max(deviation_score(config, profile(metric), state, value));
            }
            let outcome = observe(config, profile(metric), state, *ts, value);
            let open = alarms
                .iter_mut()
                .find(|a| a.metric == metric && a.shape == AnomalyType::Outlier);
            match outcome {
                Observation::Normal => {
                    if let Some(alarm) = open {
                        alarm.shape = AnomalyType::Spike;
                    }
                }
                Observation::Alarm { baseline, z, score } => alarms.push(MetricAlarm {
                    metric,
                    at_ms: *ts,
                    value,
                    baseline,
                    score,
                    z,
                    shape: AnomalyType::Outlier,
                }),
                Observation::Deviant => {}
                Observation::NewLevel => {
                    if let Some(alarm) = open {
                        alarm.shape = AnomalyType::LevelShift;
                    }
                }
            }
        }
        if let Some(scores) = scores.as_deref_mut() {
            scores.push(sample_score);
        }
    }
    alarms.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.metric.cmp(&b.metric)));
    Detection { alarms }
}

enum Observation {
    Normal,
    Alarm { baseline: f64, z: f64, score: f64 },
    Deviant,
    NewLevel,
}

/// The score rule, `1 - 0.5^(r^2)` with `r` the smaller of the deviation in units of the z
/// threshold and in units of the minimum deviation, of `value` against `state` as it stands;
/// 0 while the metric is warming up. It is at or above 0.5 exactly when [`observe`] would call
/// the sample deviant.
fn deviation_score(
    config: &AnomalyConfig,
    profile: MetricProfile,
    state: &MetricBaseline,
    value: f64,
) -> f64 {
    if state.seen < config.warmup_samples.max(1) {
        return 0.0;
    }
    let dev = (value - state.mean).abs();
    let sigma = state.var.sqrt().max(profile.sigma_floor);
    let min_dev = profile.min_abs.max(profile.min_rel * state.mean.abs());
    let r = (dev / sigma / config.z_threshold).min(dev / min_dev.max(f64::MIN_POSITIVE));
    score_of(r)
}

/// `1 - 0.5^(r^2)`: 0.5 at `r = 1` (the alarm point), 0.94 at `r = 2`.
fn score_of(r: f64) -> f64 {
    1.0 - 0.5f64.powf(r * r)
}

fn observe(
    config: &AnomalyConfig,
    profile: MetricProfile,
    state: &mut MetricBaseline,
    ts: i64,
    value: f64,
) -> Observation {
    // Learn plainly (running mean and variance) until the warm-up is over.
    if state.seen < config.warmup_samples.max(1) {
        state.seen += 1;
        let n = f64::from(state.seen);
        let delta = value - state.mean;
        state.mean += delta / n;
        state.var += (delta * (value - state.mean) - state.var) / n;
        return Observation::Normal;
    }

    let dev = value - state.mean;
    let sigma = state.var.sqrt().max(profile.sigma_floor);
    let z = dev.abs() / sigma;
    let min_dev = profile.min_abs.max(profile.min_rel * state.mean.abs());
    if z < config.z_threshold || dev.abs() < min_dev {
        state.run_len = 0;
        state.run_sum = 0.0;
        let alpha = config.baseline_alpha;
        state.mean += alpha * dev;
        state.var = (1.0 - alpha) * (state.var + alpha * dev * dev);
        return Observation::Normal;
    }

    // A deviant sample: count the run, and re-level once it is confirmed.
    let sign = if dev > 0.0 { 1 } else { -1 };
    if state.run_len > 0 && state.run_sign != sign {
        state.run_len = 0;
        state.run_sum = 0.0;
    }
    state.run_sign = sign;
    state.run_len += 1;
    state.run_sum += value;
    let baseline = state.mean;
    let new_level = state.run_len >= config.confirm_samples;
    if new_level {
        state.mean = state.run_sum / f64::from(state.run_len);
        state.run_len = 0;
        state.run_sum = 0.0;
    }

    if ts >= state.suppressed_until_ms {
        state.suppressed_until_ms = ts + config.suppression.as_millis() as i64;
        let r = (z / config.z_threshold).min(dev.abs() / min_dev.max(f64::MIN_POSITIVE));
        let score = score_of(r);
        // A confirmation on the very first deviant sample (confirm_samples = 1) is still
        // reported as an alarm; its shape is settled by the samples that follow.
        return Observation::Alarm { baseline, z, score };
    }
    if new_level {
        Observation::NewLevel
    } else {
        Observation::Deviant
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ts: i64, cpu: f64) -> (i64, [f64; 9]) {
        (ts, [cpu, 0.4, 0.2, 0.2, 20.0, 1000.0, 200.0, 1.0, 0.001])
    }

    fn noisy(i: i64) -> f64 {
        0.4 + 0.01 * ((i * 7919 % 13) as f64 / 6.0 - 1.0)
    }

    fn warm(config: &AnomalyConfig) -> NodeBaseline {
        let mut b = NodeBaseline::default();
        let samples: Vec<_> = (0..30).map(|i| sample(i * 10_000, noisy(i))).collect();
        assert!(detect(config, &mut b, &samples).alarms.is_empty());
        b
    }

    #[test]
    fn a_spike_alarms_once_and_is_called_a_spike() {
        let config = AnomalyConfig::default();
        let mut b = warm(&config);
        let samples: Vec<_> = (30..42)
            .map(|i| sample(i * 10_000, if i == 33 { 0.95 } else { noisy(i) }))
            .collect();
        let d = detect(&config, &mut b, &samples);
        assert_eq!(d.alarms.len(), 1);
        assert_eq!(d.alarms[0].metric, Metric::Cpu);
        assert_eq!(d.alarms[0].shape, AnomalyType::Spike);
        assert!(d.alarms[0].score > 0.9, "{}", d.alarms[0].score);
    }

    #[test]
    fn a_level_shift_alarms_once_then_becomes_the_new_normal() {
        let config = AnomalyConfig::default();
        let mut b = warm(&config);
        let shifted: Vec<_> = (30..42)
            .map(|i| sample(i * 10_000, noisy(i) + 0.3))
            .collect();
        let d = detect(&config, &mut b, &shifted);
        assert_eq!(d.alarms.len(), 1);
        assert_eq!(d.alarms[0].shape, AnomalyType::LevelShift);
        // Well after the suppression period, the new level is normal.
        let later: Vec<_> = (100..112)
            .map(|i| sample(i * 10_000, noisy(i) + 0.3))
            .collect();
        assert!(detect(&config, &mut b, &later).alarms.is_empty());
        assert!((b.level(Metric::Cpu).unwrap() - 0.7).abs() < 0.02);
    }

    #[test]
    fn small_wobbles_on_a_quiet_metric_do_not_alarm() {
        let config = AnomalyConfig::default();
        let mut b = warm(&config);
        let step: Vec<_> = (30..42)
            .map(|i| sample(i * 10_000, noisy(i) + 0.06))
            .collect();
        assert!(detect(&config, &mut b, &step).alarms.is_empty());
    }

    fn scored(
        config: &AnomalyConfig,
        b: &mut NodeBaseline,
        samples: &[(i64, [f64; 9])],
    ) -> Vec<f64> {
        let mut scores = Vec::new();
        detect_scored(config, b, samples, Some(&mut scores));
        assert_eq!(scores.len(), samples.len());
        scores
    }

    #[test]
    fn sample_scores_are_zero_during_warm_up() {
        let config = AnomalyConfig::default();
        let mut b = NodeBaseline::default();
        // Wild values, but the detector has not learned anything yet.
        let samples: Vec<_> = (0..i64::from(config.warmup_samples))
            .map(|i| sample(i * 10_000, if i % 2 == 0 { 0.05 } else { 0.95 }))
            .collect();
        assert!(scored(&config, &mut b, &samples).iter().all(|s| *s == 0.0));
    }

    #[test]
    fn a_sample_at_the_alarm_point_scores_one_half() {
        let config = AnomalyConfig::default();
        let mut b = warm(&config);
        let m = b.metrics[Metric::Cpu.index()].clone();
        // Exactly the larger of the two alarm distances above the level: r = 1.
        let sigma = m.var.sqrt().max(0.01);
        let dev = (config.z_threshold * sigma).max(0.15);
        let s = scored(&config, &mut b, &[sample(400_000, m.mean + dev)]);
        assert!((s[0] - 0.5).abs() < 1e-9, "{}", s[0]);
    }

    #[test]
    fn a_spike_scores_high_and_normal_samples_score_low() {
        let config = AnomalyConfig::default();
        let mut b = warm(&config);
        let samples: Vec<_> = (30..42)
            .map(|i| sample(i * 10_000, if i == 33 { 0.95 } else { noisy(i) }))
            .collect();
        let s = scored(&config, &mut b, &samples);
        assert!(s[3] > 0.9, "{s:?}");
        for (i, score) in s.iter().enumerate().filter(|(i, _)| *i != 3) {
            assert!(*score < 0.1, "sample {i}: {score}");
        }
    }

    #[test]
    fn scoring_changes_neither_alarms_nor_baseline() {
        let config = AnomalyConfig::default();
        let samples: Vec<_> = (30..80)
            .map(|i| {
                let v = match i {
                    33 => 0.95,
                    34 => 0.9,
                    50..=60 => noisy(i) + 0.3,
                    _ => noisy(i),
                };
                sample(i * 10_000, v)
            })
            .collect();
        let (mut plain, mut with_scores) = (warm(&config), warm(&config));
        let d1 = detect(&config, &mut plain, &samples);
        let mut scores = Vec::new();
        let d2 = detect_scored(&config, &mut with_scores, &samples, Some(&mut scores));
        assert_eq!(d1, d2);
        assert_eq!(plain, with_scores);
        // Suppressed and confirming samples still score: the sample after the spike
        // (suppressed) is deviant too.
        assert!(scores[4] >= 0.5, "{}", scores[4]);
        assert!(d1.alarms.iter().filter(|a| a.metric == Metric::Cpu).count() >= 2);
    }
}
