//! The built-in anomaly detector: a scale-free, robust, online score per sample and metric.
//!
//! Per node and metric the detector keeps a few numbers (the baseline) and runs each sample
//! through four stages, in event-time order, each sample seen once:
//!
//! 1. **Robust residual.** A smoothed level and a smoothed spread (mean absolute deviation),
//!    both learned from *clipped* residuals: a sample further than [`CLIP`] spreads from the
//!    level teaches them only as much as one at the clip, so outliers cannot drag the level or
//!    inflate the spread. The residual is measured in the series' own spread, so the score does
//!    not depend on the metric's unit or scale; the spread has a floor of a small fraction of
//!    the range seen so far ([`SPREAD_FLOOR`]), not an absolute minimum. The raw score is the
//!    deviation in standard deviations over `z_threshold`, capped at 1. `confirm_samples`
//!    deviant samples in a row on the same side re-level the baseline at the last of them.
//! 2. **Likelihood.** A short mean of the raw scores ([`SHORT_WEIGHT`]) is compared with their
//!    long-run mean and variance ([`LONG_WEIGHT`]); the Gaussian tail probability of the short
//!    mean is turned into a score, `log(tail) / log(TAIL_FULL)` capped at 1. A series that is
//!    always noisy raises its own long-run mean and is not alarmed by its noise; a sustained
//!    change in how surprising the samples are is.
//! 3. **New range.** A sample outside the range seen so far (by more than [`RANGE_MARGIN`] of
//!    the range) and at least [`RANGE_Z`] standard deviations from the level scores 1; once the
//!    metric has learned from [`SETTLED_SAMPLES`] samples, [`SETTLED_RANGE_Z`] is enough (the
//!    strict distance keeps a young node, whose range is still growing, from alarming on use).
//! 4. **Hold-off.** After a sample scores at or above `threshold` (the alarm), the metric's
//!    next `holdoff_samples` scores are 0, so one incident is one alarm.
//!
//! A metric scores 0 until it has seen `warmup_samples` (the first [`PLAIN_SAMPLES`] of them
//! are learned plainly, the rest through the stages). The score of a sample is the highest
//! over its metrics; an alarm is reported for a metric
//! whose score reaches `threshold` outside its hold-off. The score is that of the baseline as
//! it stood before the sample, and the same numbers decide the alarms, so the scores a replay
//! exports are the ones the live processor alarms on.
//!
//! State: 72 bytes per metric, 648 bytes per node (nine metrics), whatever the series' length.
//!
//! Known limits: no seasonal model (a daily pattern that changes shape without leaving the
//! range or the usual spread is not seen until its residuals grow); the range never shrinks,
//! so after one extreme value only a more extreme one triggers stage 3 again.

use crate::config::AnomalyConfig;
use crate::engine::wire::fields;
use crate::event::{AnomalyType, Metric};
use serde::{Deserialize, Serialize};

/// Residuals beyond this many spreads teach the level and spread only as much as one at it.
pub const CLIP: f64 = 2.0;
/// Weight of a new residual in the spread.
pub const SPREAD_WEIGHT: f64 = 0.005;
/// The spread is at least this fraction of the range seen so far.
pub const SPREAD_FLOOR: f64 = 0.01;
/// Weight of a new raw score in the short mean.
pub const SHORT_WEIGHT: f64 = 0.1;
/// Weight of a new raw score in the long-run mean and variance.
pub const LONG_WEIGHT: f64 = 0.001;
/// The long-run standard deviation of raw scores is at least this.
pub const LONG_SD_FLOOR: f64 = 0.05;
/// A tail probability this small (or smaller) scores 1 in the likelihood stage; the default
/// threshold 0.75 is then a tail of about 5.6e-3.
pub const TAIL_FULL: f64 = 1e-3;
/// A sample more than this fraction of the range beyond it is a new range.
pub const RANGE_MARGIN: f64 = 0.02;
/// The first samples (at most `warmup_samples`) are learned plainly: a running mean and mean
/// absolute deviation, no clipping, no score.
pub const PLAIN_SAMPLES: u32 = 10;
/// A new range counts only this many (robust) standard deviations from the level, so noise
/// that only just widens a young range is not one.
pub const RANGE_Z: f64 = 12.0;
/// Samples after which a metric's range is settled and [`SETTLED_RANGE_Z`] replaces
/// [`RANGE_Z`] (1000 samples: about 3.5 days at 5 minutes, 2.8 hours at 10 seconds).
pub const SETTLED_SAMPLES: u32 = 1000;
/// The distance from the level, in standard deviations, that makes a new range of a settled
/// metric.
pub const SETTLED_RANGE_Z: f64 = 6.0;
/// Standard deviations per mean absolute deviation for normal data, `sqrt(pi / 2)`.
const SD_PER_SPREAD: f64 = 1.253_314_137_315_500_3;

/// The learned state of one metric on one node. On the engine wire (`/detect/anomaly`) the
/// fields keep their names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct MetricBaseline {
    /// Samples learned from (saturates).
    seen: u32,
    /// The robust level, in the metric's unit.
    #[serde(with = "fields::nullable")]
    level: f64,
    /// The robust spread (mean absolute deviation from the level), in the metric's unit.
    #[serde(with = "fields::nullable")]
    spread: f64,
    /// Smallest value seen.
    #[serde(with = "fields::nullable")]
    low: f64,
    /// Largest value seen.
    #[serde(with = "fields::nullable")]
    high: f64,
    /// Short mean of the raw scores.
    #[serde(with = "fields::nullable")]
    short: f64,
    /// Long-run mean of the raw scores.
    #[serde(with = "fields::nullable")]
    long_mean: f64,
    /// Long-run variance of the raw scores.
    #[serde(with = "fields::nullable")]
    long_var: f64,
    /// Samples left in the hold-off after an alarm.
    holdoff: u32,
    /// Length of the current run of deviant samples.
    run_len: u32,
    /// Its side: -1 below the level, 1 above, 0 no run.
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
        (m.seen > 0).then_some(m.level)
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
    /// Deviation in (robust) standard deviations.
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
/// the highest over its metrics of the detector's score (module doc), against the baseline as
/// it stood just before that sample; 0 while a metric warms up or is held off. The alarms are
/// the samples and metrics whose score reached `config.threshold`, so the scores and the
/// alarms come from one computation.
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
            let step = observe(config, state, value);
            sample_score = sample_score.max(step.score);
            let open = alarms
                .iter_mut()
                .find(|a| a.metric == metric && a.shape == AnomalyType::Outlier);
            match step.kind {
                StepKind::Normal => {
                    if let Some(alarm) = open {
                        alarm.shape = AnomalyType::Spike;
                    }
                }
                StepKind::NewLevel => {
                    if let Some(alarm) = open {
                        alarm.shape = AnomalyType::LevelShift;
                    }
                }
                StepKind::Deviant => {}
            }
            if step.alarm {
                alarms.push(MetricAlarm {
                    metric,
                    at_ms: *ts,
                    value,
                    baseline: step.level,
                    score: step.score,
                    z: step.z,
                    shape: AnomalyType::Outlier,
                });
            }
        }
        if let Some(scores) = scores.as_deref_mut() {
            scores.push(sample_score);
        }
    }
    alarms.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.metric.cmp(&b.metric)));
    Detection { alarms }
}

/// How a sample related to the baseline, for the alarm's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepKind {
    /// Within [`CLIP`] spreads of the level (or not judged: warm-up, a non-finite value).
    Normal,
    /// Further, and not (yet) a new level.
    Deviant,
    /// The deviant run that re-levelled the baseline.
    NewLevel,
}

/// One sample of one metric through the stages.
#[derive(Debug, Clone, Copy)]
struct Step {
    score: f64,
    alarm: bool,
    kind: StepKind,
    /// The level the sample was compared with.
    level: f64,
    /// Its deviation in standard deviations.
    z: f64,
}

/// The score of `value` against `state` as it stands, then the learning; see the module doc.
fn observe(config: &AnomalyConfig, state: &mut MetricBaseline, value: f64) -> Step {
    let quiet = Step {
        score: 0.0,
        alarm: false,
        kind: StepKind::Normal,
        level: state.level,
        z: 0.0,
    };
    if !value.is_finite() {
        return quiet;
    }
    if state.seen < PLAIN_SAMPLES.min(config.warmup_samples).max(1) {
        learn_plainly(state, value);
        return quiet;
    }
    let spread = spread_of(state);
    let dev = value - state.level;
    let z = dev.abs() / (SD_PER_SPREAD * spread);
    let raw = (z / config.z_threshold).min(1.0);

    // Stage 2: the short mean of raw scores against their long-run distribution.
    let short = state.short + SHORT_WEIGHT * (raw - state.short);
    let sd = state.long_var.sqrt().max(LONG_SD_FLOOR);
    let mut score = likelihood_score((short - state.long_mean) / sd);
    // Stage 3: outside the range seen so far, and far from the level.
    let range_z = if state.seen >= SETTLED_SAMPLES {
        SETTLED_RANGE_Z
    } else {
        RANGE_Z
    };
    if z >= range_z && new_range(state, value) {
        score = 1.0;
    }
    // Until the warm-up is over the stages learn but do not score.
    if state.seen < config.warmup_samples {
        score = 0.0;
    }
    // Stage 4: one alarm per incident.
    let mut alarm = false;
    if state.holdoff > 0 {
        state.holdoff -= 1;
        score = 0.0;
    } else if score >= config.threshold {
        alarm = true;
        state.holdoff = config.holdoff_samples;
    }
    let step = Step {
        score,
        alarm,
        kind: StepKind::Normal,
        level: state.level,
        z,
    };

    // Learning, robust: clipped residuals.
    state.short = short;
    // A plain mean and variance until there are 1 / LONG_WEIGHT raw scores, so a young
    // history is not biased towards 0.
    let scored = state.seen - PLAIN_SAMPLES.min(config.warmup_samples).max(1) + 1;
    let w = LONG_WEIGHT.max(1.0 / f64::from(scored));
    let dl = raw - state.long_mean;
    state.long_mean += w * dl;
    state.long_var = (1.0 - w) * (state.long_var + w * dl * dl);
    let clip = CLIP * spread;
    state.level += config.baseline_alpha * dev.clamp(-clip, clip);
    state.spread += SPREAD_WEIGHT.max(w) * (dev.abs().min(clip) - state.spread);
    state.low = state.low.min(value);
    state.high = state.high.max(value);
    state.seen = state.seen.saturating_add(1);
    Step {
        kind: track_run(config, state, value, dev, clip),
        ..step
    }
}

/// The first samples: a plain running mean and mean absolute deviation, and the range.
fn learn_plainly(state: &mut MetricBaseline, value: f64) {
    state.seen += 1;
    if state.seen == 1 {
        state.level = value;
        state.spread = 0.0;
        state.low = value;
        state.high = value;
        return;
    }
    let n = f64::from(state.seen);
    let dev = value - state.level;
    state.level += dev / n;
    state.spread += (dev.abs() - state.spread) / n;
    state.low = state.low.min(value);
    state.high = state.high.max(value);
}

/// The spread the residual is measured in: the learned one, at least [`SPREAD_FLOOR`] of the
/// range seen, and above 0 (a metric that never moved measures any change as huge).
fn spread_of(state: &MetricBaseline) -> f64 {
    let range_floor = SPREAD_FLOOR * (state.high - state.low);
    let tiny = f64::EPSILON * state.level.abs().max(f64::MIN_POSITIVE);
    state.spread.max(range_floor).max(tiny)
}

/// Whether `value` lies beyond the range seen so far by more than [`RANGE_MARGIN`] of it.
fn new_range(state: &MetricBaseline, value: f64) -> bool {
    let span = state.high - state.low;
    let margin = RANGE_MARGIN * span;
    // A metric that has only ever been 0 (an idle queue, no errors) leaving 0 is use, not a
    // new range; one stuck at another value that moves is.
    let idle = span == 0.0 && state.level == 0.0;
    !idle && (value > state.high + margin || value < state.low - margin)
}

/// The likelihood stage's score of a short mean `k` long-run standard deviations above the
/// long-run mean: `log(tail) / log(TAIL_FULL)`, 0 at or below the mean, 1 from `TAIL_FULL` on.
fn likelihood_score(k: f64) -> f64 {
    if k <= 0.0 {
        return 0.0;
    }
    let tail = 0.5 * libm::erfc(k / std::f64::consts::SQRT_2);
    (tail.max(f64::MIN_POSITIVE).ln() / TAIL_FULL.ln()).clamp(0.0, 1.0)
}

/// Counts the run of deviant samples; `confirm_samples` of them on one side move the level to
/// the last one (a level shift).
fn track_run(
    config: &AnomalyConfig,
    state: &mut MetricBaseline,
    value: f64,
    dev: f64,
    clip: f64,
) -> StepKind {
    if dev.abs() <= clip {
        state.run_len = 0;
        state.run_sign = 0;
        return StepKind::Normal;
    }
    let sign = if dev > 0.0 { 1 } else { -1 };
    if state.run_sign != sign {
        state.run_len = 0;
    }
    state.run_sign = sign;
    state.run_len += 1;
    if state.run_len >= config.confirm_samples {
        state.level = value;
        state.run_len = 0;
        state.run_sign = 0;
        return StepKind::NewLevel;
    }
    StepKind::Deviant
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ts: i64, cpu: f64) -> (i64, [f64; 9]) {
        (ts, [cpu, 0.4, 0.2, 0.2, 20.0, 1000.0, 200.0, 1.0, 0.001])
    }

    /// Deterministic noise in -1..1.
    fn unit_noise(i: i64) -> f64 {
        let x = (i as u64)
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((x >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    fn noisy(i: i64) -> f64 {
        0.4 + 0.01 * unit_noise(i)
    }

    fn run(config: &AnomalyConfig, b: &mut NodeBaseline, cpu: &[(i64, f64)]) -> Vec<f64> {
        let samples: Vec<_> = cpu.iter().map(|(i, v)| sample(i * 10_000, *v)).collect();
        let mut scores = Vec::new();
        detect_scored(config, b, &samples, Some(&mut scores));
        assert_eq!(scores.len(), samples.len());
        scores
    }

    /// Samples of plain noise [`warm`] learns from: past the warm-up, the alarms of the first
    /// samples (whose range is still growing) and their hold-off.
    const W: i64 = 700;

    fn warm(config: &AnomalyConfig) -> NodeBaseline {
        let mut b = NodeBaseline::default();
        let samples: Vec<_> = (0..W).map(|i| sample(i * 10_000, noisy(i))).collect();
        detect(config, &mut b, &samples);
        b
    }

    #[test]
    fn a_spike_alarms_once_and_is_called_a_spike() {
        let config = AnomalyConfig::default();
        let mut b = warm(&config);
        let samples: Vec<_> = (W..W + 12)
            .map(|i| sample(i * 10_000, if i == W + 3 { 0.95 } else { noisy(i) }))
            .collect();
        let d = detect(&config, &mut b, &samples);
        assert_eq!(d.alarms.len(), 1, "{:?}", d.alarms);
        assert_eq!(d.alarms[0].metric, Metric::Cpu);
        assert_eq!(d.alarms[0].shape, AnomalyType::Spike);
        assert!(
            d.alarms[0].score >= config.threshold,
            "{}",
            d.alarms[0].score
        );
    }

    #[test]
    fn a_level_shift_alarms_once_then_becomes_the_new_normal() {
        let config = AnomalyConfig::default();
        let mut b = warm(&config);
        let shifted: Vec<_> = (W..W + 12)
            .map(|i| sample(i * 10_000, noisy(i) + 0.3))
            .collect();
        let d = detect(&config, &mut b, &shifted);
        assert_eq!(d.alarms.len(), 1, "{:?}", d.alarms);
        assert_eq!(d.alarms[0].shape, AnomalyType::LevelShift);
        assert!((b.level(Metric::Cpu).unwrap() - 0.7).abs() < 0.02);
        // Once the hold-off is over, the new level is normal.
        let hold = i64::from(config.holdoff_samples);
        let later: Vec<_> = (W + 12..W + 12 + hold + 200)
            .map(|i| sample(i * 10_000, noisy(i) + 0.3))
            .collect();
        assert!(detect(&config, &mut b, &later).alarms.is_empty());
        assert!((b.level(Metric::Cpu).unwrap() - 0.7).abs() < 0.02);
    }

    #[test]
    fn wobbles_within_the_learned_spread_and_range_do_not_alarm() {
        let config = AnomalyConfig::default();
        let mut b = warm(&config);
        let cpu: Vec<_> = (W..W + 2000).map(|i| (i, noisy(i))).collect();
        let scores = run(&config, &mut b, &cpu);
        assert!(scores.iter().all(|s| *s < config.threshold), "{scores:?}");
    }

    #[test]
    fn a_quiet_series_alarms_on_a_step_many_times_its_own_spread() {
        // No absolute minimum deviation: a step of 0.06 on noise of 0.01 is an anomaly.
        let config = AnomalyConfig::default();
        let mut b = warm(&config);
        let cpu: Vec<_> = (W..W + 12).map(|i| (i, noisy(i) + 0.06)).collect();
        let scores = run(&config, &mut b, &cpu);
        assert!(scores.iter().any(|s| *s >= config.threshold), "{scores:?}");
    }

    #[test]
    fn scores_are_the_same_whatever_the_unit_and_offset_of_the_series() {
        let config = AnomalyConfig::default();
        let cpu: Vec<_> = (0..1500)
            .map(|i| {
                (
                    i,
                    noisy(i) + if (900..950).contains(&i) { 0.05 } else { 0.0 },
                )
            })
            .collect();
        let rescaled: Vec<_> = cpu.iter().map(|(i, v)| (*i, v * 5000.0 + 120.0)).collect();
        let a = run(&config, &mut NodeBaseline::default(), &cpu);
        let b = run(&config, &mut NodeBaseline::default(), &rescaled);
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!((x - y).abs() < 1e-6, "sample {i}: {x} vs {y}");
        }
        assert!(a.iter().any(|s| *s >= config.threshold));
    }

    #[test]
    fn sample_scores_are_zero_during_warm_up() {
        let config = AnomalyConfig::default();
        let mut b = NodeBaseline::default();
        // Wild values, but the detector has not learned anything yet.
        let cpu: Vec<_> = (0..i64::from(config.warmup_samples))
            .map(|i| (i, if i % 2 == 0 { 0.05 } else { 0.95 }))
            .collect();
        assert!(run(&config, &mut b, &cpu).iter().all(|s| *s == 0.0));
    }

    #[test]
    fn a_value_outside_the_range_seen_scores_one_where_one_as_far_inside_does_not() {
        let config = AnomalyConfig::default();
        // The first samples span 0.2..0.6, then the metric is quiet around 0.4.
        let mut cpu: Vec<(i64, f64)> = vec![(0, 0.2), (1, 0.6)];
        cpu.extend((2..W).map(|i| (i, 0.4 + 0.005 * unit_noise(i))));
        let mut b = NodeBaseline::default();
        run(&config, &mut b, &cpu);
        let inside = run(&config, &mut b.clone(), &[(W, 0.58)]);
        assert!(inside[0] < config.threshold, "{inside:?}");
        let outside = run(&config, &mut b, &[(W, 0.62)]);
        assert_eq!(outside[0], 1.0);
    }

    #[test]
    fn a_settled_metric_alarms_on_a_new_range_nearer_than_a_young_one_needs() {
        let config = AnomalyConfig::default();
        let settled = i64::from(SETTLED_SAMPLES) + 100;
        let history: Vec<_> = (0..settled).map(|i| (i, noisy(i))).collect();
        let mut old = NodeBaseline::default();
        run(&config, &mut old, &history);
        let mut young = NodeBaseline::default();
        run(&config, &mut young, &history[..W as usize]);
        // About 8 standard deviations above the level and beyond both ranges: between
        // SETTLED_RANGE_Z and RANGE_Z.
        let value = 0.45;
        let m = &old.metrics[Metric::Cpu.index()];
        let z = (value - m.level) / (SD_PER_SPREAD * spread_of(m));
        assert!(z > SETTLED_RANGE_Z && z < RANGE_Z, "{z}");
        assert_eq!(run(&config, &mut old, &[(settled, value)]), vec![1.0]);
        let young_score = run(&config, &mut young, &[(W, value)])[0];
        assert!(young_score < config.threshold, "{young_score}");
    }

    #[test]
    fn after_an_alarm_scores_stay_below_the_threshold_for_the_hold_off() {
        let config = AnomalyConfig::default();
        let mut b = warm(&config);
        let hold = i64::from(config.holdoff_samples);
        // Spikes at the start, in the middle and just after the end of the hold-off.
        // Each a new range, so each would score 1 on its own.
        let spikes = [(W, 0.95), (W + hold / 2, 1.2), (W + 1 + hold, 1.5)];
        let cpu: Vec<_> = (W..W + 2 + hold)
            .map(|i| {
                let spike = spikes.iter().find(|(at, _)| *at == i);
                (i, spike.map_or_else(|| noisy(i), |(_, v)| *v))
            })
            .collect();
        let scores = run(&config, &mut b, &cpu);
        assert_eq!(scores[0], 1.0);
        assert!(scores[1..=hold as usize].iter().all(|s| *s == 0.0));
        assert!(scores[hold as usize + 1] >= config.threshold, "{scores:?}");
    }

    #[test]
    fn outliers_do_not_teach_the_level_or_the_spread() {
        let config = AnomalyConfig::default();
        let mut b = warm(&config);
        let before = b.metrics[Metric::Cpu.index()].clone();
        // One sample in ten is wild; the other nine are the usual noise.
        let cpu: Vec<_> = (W..W + 500)
            .map(|i| (i, if i % 10 == 0 { 0.95 } else { noisy(i) }))
            .collect();
        run(&config, &mut b, &cpu);
        let after = &b.metrics[Metric::Cpu.index()];
        assert!((after.level - 0.4).abs() < 0.005, "{}", after.level);
        assert!(
            after.spread < 2.0 * before.spread,
            "{} -> {}",
            before.spread,
            after.spread
        );
    }

    #[test]
    fn a_sustained_rise_in_surprise_alarms_where_one_such_sample_does_not() {
        let config = AnomalyConfig::default();
        let mut b = NodeBaseline::default();
        // The warm-up sees the full range (0.2..0.6), then a long quiet stretch.
        let mut cpu: Vec<(i64, f64)> = vec![(0, 0.2), (1, 0.6)];
        cpu.extend((2..1500).map(|i| (i, 0.4 + 0.005 * unit_noise(i))));
        // One sample 0.05 off, inside the range: not enough on its own.
        cpu.push((1500, 0.45));
        cpu.extend((1501..1700).map(|i| (i, 0.4 + 0.005 * unit_noise(i))));
        let quiet_end = cpu.len();
        // Then noise ten times wider, still inside the range, for a while.
        cpu.extend((1700..1760).map(|i| (i, 0.4 + 0.05 * unit_noise(i))));
        let scores = run(&config, &mut b, &cpu);
        assert!(scores[1500] < config.threshold, "{}", scores[1500]);
        assert!(
            scores[quiet_end..].iter().any(|s| *s >= config.threshold),
            "{:?}",
            &scores[quiet_end..]
        );
    }

    #[test]
    fn a_non_finite_value_scores_zero_and_teaches_nothing() {
        let config = AnomalyConfig::default();
        let mut b = warm(&config);
        let before = b.metrics[Metric::Cpu.index()].clone();
        assert_eq!(run(&config, &mut b, &[(W, f64::NAN)]), vec![0.0]);
        assert_eq!(b.metrics[Metric::Cpu.index()], before);
    }

    #[test]
    fn a_node_baseline_is_648_bytes() {
        assert_eq!(std::mem::size_of::<NodeBaseline>(), 648);
    }

    #[test]
    fn scoring_changes_neither_alarms_nor_baseline() {
        let config = AnomalyConfig::default();
        let samples: Vec<_> = (W..W + 80)
            .map(|i| {
                let v = match i {
                    x if x == W + 3 => 0.95,
                    x if x == W + 4 => 0.9,
                    x if (W + 50..=W + 60).contains(&x) => noisy(i) + 0.3,
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
        // Every alarm is a sample whose score reached the threshold.
        for alarm in &d1.alarms {
            let row = samples.iter().position(|s| s.0 == alarm.at_ms).unwrap();
            assert!(scores[row] >= config.threshold);
        }
    }
}
