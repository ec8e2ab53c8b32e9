//! The NAB v1.1 scoring rule for streaming anomaly detections against labelled windows.
//!
//! This restates `shared/reference/anomaly-scoring.md`: probation rows are not scored, the
//! earliest detection inside a window earns a scaled-sigmoid reward, every detection outside a
//! window costs a penalty that depends on its distance from the preceding window, and every
//! window without a detection costs `A_FN`. [`score_at`] scores a corpus at one threshold and
//! [`best_threshold`] finds the threshold with the best raw score, as published scoreboards do.
//!
//! Known limits, as the rule is written rather than as NAB's code happens to behave:
//! - a window that lies (partly) inside the probation period still counts; detections in
//!   probation are ignored, so a window wholly inside it can only be missed;
//! - a false alarm after a window one row wide has `W_prev - 1 = 0`; it is costed as far from
//!   the window (`sigma = -1`, the full `-A_FP`).

use thiserror::Error;

/// Why rows, scores and windows cannot form a [`Series`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SeriesError {
    /// Every row needs exactly one score.
    #[error("invalid series: {timestamps} timestamps but {scores} scores")]
    LengthMismatch {
        /// Number of timestamps given.
        timestamps: usize,
        /// Number of scores given.
        scores: usize,
    },
    /// Rows must be in strictly increasing time order.
    #[error("invalid series: timestamp at row {row} is not after the previous row's")]
    NotIncreasing {
        /// The first offending row.
        row: usize,
    },
    /// A score of NaN or infinity compares with no threshold sensibly.
    #[error("invalid series: score at row {row} is not finite")]
    NonFiniteScore {
        /// The offending row.
        row: usize,
    },
    /// A window whose start is after its end.
    #[error("invalid window {index}: start {start} is after end {end}")]
    Reversed {
        /// Position of the window in the list.
        index: usize,
        /// Its start timestamp.
        start: i64,
        /// Its end timestamp.
        end: i64,
    },
    /// Windows must be sorted and disjoint.
    #[error("invalid window {index}: starts before the previous window ends")]
    Overlapping {
        /// Position of the window in the list.
        index: usize,
    },
    /// A window that contains no data row cannot be detected or scored.
    #[error("invalid window {index}: [{start}, {end}] contains no row")]
    NoRows {
        /// Position of the window in the list.
        index: usize,
        /// Its start timestamp.
        start: i64,
        /// Its end timestamp.
        end: i64,
    },
}

/// One scored series: row timestamps, the detector's score per row and the labelled windows.
///
/// Built through [`Series::new`], which checks the invariants the scorer relies on: one score
/// per row, strictly increasing timestamps, finite scores, sorted disjoint windows that each
/// contain at least one row.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    timestamps: Vec<i64>,
    scores: Vec<f64>,
    windows: Vec<(i64, i64)>,
    /// `(L, R)` row indices of each window, inclusive.
    rows: Vec<(usize, usize)>,
}

impl Series {
    /// Checks and indexes a series. Timestamps are in any unit (replay uses milliseconds);
    /// a window `[start, end]` covers the rows whose timestamps lie in it, inclusive.
    pub fn new(
        timestamps: Vec<i64>,
        scores: Vec<f64>,
        windows: Vec<(i64, i64)>,
    ) -> Result<Self, SeriesError> {
        if timestamps.len() != scores.len() {
            return Err(SeriesError::LengthMismatch {
                timestamps: timestamps.len(),
                scores: scores.len(),
            });
        }
        if let Some(row) = (1..timestamps.len()).find(|&i| timestamps[i] <= timestamps[i - 1]) {
            return Err(SeriesError::NotIncreasing { row });
        }
        if let Some(row) = scores.iter().position(|s| !s.is_finite()) {
            return Err(SeriesError::NonFiniteScore { row });
        }

        let mut rows = Vec::with_capacity(windows.len());
        for (index, &(start, end)) in windows.iter().enumerate() {
            if start > end {
                return Err(SeriesError::Reversed { index, start, end });
            }
            if index > 0 && start <= windows[index - 1].1 {
                return Err(SeriesError::Overlapping { index });
            }
            let left = timestamps.partition_point(|&t| t < start);
            let past = timestamps.partition_point(|&t| t <= end);
            if past <= left {
                return Err(SeriesError::NoRows { index, start, end });
            }
            rows.push((left, past - 1));
        }

        Ok(Series {
            timestamps,
            scores,
            windows,
            rows,
        })
    }

    /// Row timestamps, strictly increasing.
    pub fn timestamps(&self) -> &[i64] {
        &self.timestamps
    }

    /// The detector's score per row.
    pub fn scores(&self) -> &[f64] {
        &self.scores
    }

    /// The labelled windows as given, `[start, end]` timestamps.
    pub fn windows(&self) -> &[(i64, i64)] {
        &self.windows
    }

    /// The labelled windows as inclusive row indices `(L, R)`.
    pub fn window_rows(&self) -> &[(usize, usize)] {
        &self.rows
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// Whether the series has no rows.
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// Number of leading rows that are not scored: `min(floor(0.15 n), 750)`.
    pub fn probation(&self) -> usize {
        probation_rows(self.len())
    }
}

/// The probation length of a series of `n` rows, `min(floor(0.15 n), 750)`, in exact integer
/// arithmetic.
pub fn probation_rows(n: usize) -> usize {
    (n.saturating_mul(15) / 100).min(750)
}

/// The weights of one scoring profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Reward for a window detected at its first row.
    pub a_tp: f64,
    /// Cost of a missed window.
    pub a_fn: f64,
    /// Cost of one false-alarm row far from any window.
    pub a_fp: f64,
}

/// The three NAB application profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// `A_TP = 1, A_FN = 1, A_FP = 0.11`.
    Standard,
    /// False alarms cost twice as much: `1, 1, 0.22`.
    RewardLowFp,
    /// Missed windows cost twice as much: `1, 2, 0.11`.
    RewardLowFn,
}

impl Profile {
    /// Every profile, in the order NAB reports them.
    pub const ALL: [Profile; 3] = [
        Profile::Standard,
        Profile::RewardLowFp,
        Profile::RewardLowFn,
    ];

    /// The profile's name as NAB writes it.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Standard => "standard",
            Profile::RewardLowFp => "reward_low_fp",
            Profile::RewardLowFn => "reward_low_fn",
        }
    }

    /// The profile's weights.
    pub fn weights(self) -> Weights {
        match self {
            Profile::Standard => Weights {
                a_tp: 1.0,
                a_fn: 1.0,
                a_fp: 0.11,
            },
            Profile::RewardLowFp => Weights {
                a_tp: 1.0,
                a_fn: 1.0,
                a_fp: 0.22,
            },
            Profile::RewardLowFn => Weights {
                a_tp: 1.0,
                a_fn: 2.0,
                a_fp: 0.11,
            },
        }
    }
}

/// `sigma(y) = 2 / (1 + exp(5 y)) - 1` for `y <= 3`, and `-1` above.
pub fn scaled_sigmoid(y: f64) -> f64 {
    if y > 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * y).exp()) - 1.0
    }
}

/// What one window earned.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowOutcome {
    /// Position of the series in the corpus.
    pub series: usize,
    /// Position of the window in its series.
    pub window: usize,
    /// The window's start timestamp, as labelled.
    pub start: i64,
    /// The window's end timestamp, as labelled.
    pub end: i64,
    /// Timestamp of the earliest scored detection inside the window, if any.
    pub detected_at: Option<i64>,
    /// `detected_at - start`, in the series' timestamp unit.
    pub time_to_detect: Option<i64>,
    /// The window's contribution to the raw score (`-A_FN` when missed).
    pub value: f64,
}

/// A corpus scored at one threshold under one profile.
#[derive(Debug, Clone, PartialEq)]
pub struct CorpusScore {
    /// Rows with a score at or above this are detections.
    pub threshold: f64,
    /// The profile the weights came from.
    pub profile: Profile,
    /// Sum over all windows and false-alarm rows of all series.
    pub raw: f64,
    /// `100 (S - S_null) / (S_perfect - S_null)`; `None` when the corpus has no window.
    pub normalised: Option<f64>,
    /// Windows with at least one scored detection.
    pub tp_windows: usize,
    /// Windows without one.
    pub fn_windows: usize,
    /// Scored detection rows outside every window.
    pub fp_rows: usize,
    /// Scored detection rows inside windows (all of them, not only the earliest).
    pub window_rows: usize,
    /// `tp_windows / (tp_windows + fp_rows)`: each detected window counts once and each
    /// false-alarm row once, as the score punishes them; `None` with no detection at all.
    pub precision: Option<f64>,
    /// `tp_windows / (tp_windows + fn_windows)`; `None` when the corpus has no window.
    pub recall: Option<f64>,
    /// One entry per window of the corpus, series by series.
    pub windows: Vec<WindowOutcome>,
}

/// How a scored row would count if it were a detection.
#[derive(Debug, Clone, Copy)]
enum Role {
    /// Inside window `index`, worth `value` if it is the window's earliest detection.
    Window { index: usize, value: f64 },
    /// Outside every window, costing `cost` (negative).
    FalseAlarm { cost: f64 },
}

/// The role of every scored row (from the end of probation on), in row order.
fn roles(series: &Series, weights: Weights) -> Vec<(usize, Role)> {
    let probation = series.probation();
    let mut out = Vec::with_capacity(series.len().saturating_sub(probation));
    // `next` is the first window whose right edge is at or after the current row.
    let mut next = 0;
    for i in probation..series.len() {
        while next < series.rows.len() && series.rows[next].1 < i {
            next += 1;
        }
        let role = match series.rows.get(next) {
            Some(&(left, right)) if left <= i => {
                let width = (right - left + 1) as f64;
                let y = -((right - i + 1) as f64) / width;
                Role::Window {
                    index: next,
                    value: weights.a_tp * scaled_sigmoid(y) / scaled_sigmoid(-1.0),
                }
            }
            _ => match next.checked_sub(1).map(|prev| series.rows[prev]) {
                None => Role::FalseAlarm {
                    cost: -weights.a_fp,
                },
                Some((left, right)) => {
                    let gaps = right - left;
                    let y = if gaps == 0 {
                        f64::INFINITY
                    } else {
                        (i - right) as f64 / gaps as f64
                    };
                    Role::FalseAlarm {
                        cost: weights.a_fp * scaled_sigmoid(y),
                    }
                }
            },
        };
        out.push((i, role));
    }
    out
}

/// Scores a corpus at a fixed threshold: what a live system with that threshold gets.
pub fn score_at(corpus: &[Series], threshold: f64, profile: Profile) -> CorpusScore {
    let weights = profile.weights();
    let mut raw = 0.0;
    let mut fp_rows = 0;
    let mut window_rows = 0;
    let mut windows = Vec::new();

    for (series_index, series) in corpus.iter().enumerate() {
        // Rows come in order, so the first detection seen in a window is its earliest.
        let mut first: Vec<Option<(usize, f64)>> = vec![None; series.rows.len()];
        for (row, role) in roles(series, weights) {
            if series.scores[row] < threshold {
                continue;
            }
            match role {
                Role::Window { index, value } => {
                    window_rows += 1;
                    first[index].get_or_insert((row, value));
                }
                Role::FalseAlarm { cost } => {
                    fp_rows += 1;
                    raw += cost;
                }
            }
        }

        for (index, detection) in first.into_iter().enumerate() {
            let (start, end) = series.windows[index];
            let value = detection.map_or(-weights.a_fn, |(_, value)| value);
            raw += value;
            let detected_at = detection.map(|(row, _)| series.timestamps[row]);
            windows.push(WindowOutcome {
                series: series_index,
                window: index,
                start,
                end,
                detected_at,
                time_to_detect: detected_at.map(|at| at - start),
                value,
            });
        }
    }

    let tp_windows = windows.iter().filter(|w| w.detected_at.is_some()).count();
    let fn_windows = windows.len() - tp_windows;
    CorpusScore {
        threshold,
        profile,
        raw,
        normalised: normalise(raw, windows.len(), weights),
        tp_windows,
        fn_windows,
        fp_rows,
        window_rows,
        precision: ratio(tp_windows, tp_windows + fp_rows),
        recall: ratio(tp_windows, windows.len()),
        windows,
    }
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// `100 (S - S_null) / (S_perfect - S_null)` with `S_perfect = N A_TP`, `S_null = -N A_FN`.
fn normalise(raw: f64, windows: usize, weights: Weights) -> Option<f64> {
    let n = windows as f64;
    let (perfect, null) = (n * weights.a_tp, -n * weights.a_fn);
    (windows > 0).then(|| 100.0 * (raw - null) / (perfect - null))
}

/// The threshold among all distinct scored values of the pooled corpus with the best raw
/// score, and the corpus scored there; `None` when no row of the corpus is scored.
///
/// The sweep is O(n log n) for n scored rows: every row becomes one step event keyed by its
/// score (a false alarm adds its cost; in a window, only the rows that beat every earlier
/// score of the window change which row is the earliest detection, and they add the change
/// in the window's value). Sorting the events by descending score and accumulating them gives
/// the raw score at every candidate threshold in one pass. Among equal raw scores the highest
/// threshold (fewest alarms) wins. Only the candidates are tried, so "no detection at all" is
/// not a candidate unless it is one of them.
pub fn best_threshold(corpus: &[Series], profile: Profile) -> Option<(f64, CorpusScore)> {
    let weights = profile.weights();
    let total_windows: usize = corpus.iter().map(|s| s.rows.len()).sum();
    let mut events: Vec<(f64, f64)> = Vec::new();

    for series in corpus {
        // Record-breaking rows of each window, in row order: (score, value).
        let mut records: Vec<Vec<(f64, f64)>> = vec![Vec::new(); series.rows.len()];
        for (row, role) in roles(series, weights) {
            let score = series.scores[row];
            match role {
                Role::FalseAlarm { cost } => events.push((score, cost)),
                Role::Window { index, value } => {
                    let window = &mut records[index];
                    if window.last().is_none_or(|&(best, _)| score > best) {
                        window.push((score, value));
                    } else {
                        // Still a candidate threshold, but it moves no window's detection.
                        events.push((score, 0.0));
                    }
                }
            }
        }
        // Lowering the threshold past record k moves the earliest detection from record k+1
        // (or from none, worth -A_FN) to record k.
        for window in records {
            for (k, &(score, value)) in window.iter().enumerate() {
                let replaced = window.get(k + 1).map_or(-weights.a_fn, |&(_, v)| v);
                events.push((score, value - replaced));
            }
        }
    }

    events.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut raw = -(total_windows as f64) * weights.a_fn;
    let mut best: Option<(f64, f64)> = None;
    let mut i = 0;
    while i < events.len() {
        let key = events[i].0;
        while i < events.len() && events[i].0 == key {
            raw += events[i].1;
            i += 1;
        }
        if best.is_none_or(|(_, best_raw)| raw > best_raw) {
            best = Some((key, raw));
        }
    }

    best.map(|(threshold, _)| (threshold, score_at(corpus, threshold, profile)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const MINUTE: i64 = 60_000;

    /// A series of `n` rows one minute apart, windows given as row ranges, and detections
    /// (score 1) at the listed rows, every other row scoring 0.
    fn series(n: usize, windows: &[(usize, usize)], detections: &[usize]) -> Series {
        let timestamps: Vec<i64> = (0..n as i64).map(|i| i * MINUTE).collect();
        let mut scores = vec![0.0; n];
        for &d in detections {
            scores[d] = 1.0;
        }
        let windows = windows
            .iter()
            .map(|&(l, r)| (timestamps[l], timestamps[r]))
            .collect();
        Series::new(timestamps, scores, windows).expect("valid test series")
    }

    fn close(actual: f64, expected: f64, tolerance: f64) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "{actual} is not within {tolerance} of {expected}"
        );
    }

    #[test]
    fn the_reference_worked_example_scores_0_7571_and_87_9() {
        let corpus = [series(1000, &[(500, 599)], &[520, 800, 801])];
        let score = score_at(&corpus, 0.5, Profile::Standard);
        close(score.raw, 0.7571, 1e-3);
        let normalised = score.normalised.expect("one window");
        close(normalised, 87.9, 0.05);
        close(normalised, 100.0 * (score.raw + 1.0) / 2.0, 1e-9);
        close(score.windows[0].value, 0.9771, 1e-4);
        assert_eq!(
            (score.tp_windows, score.fn_windows, score.fp_rows),
            (1, 0, 2)
        );
    }

    #[test]
    fn probation_is_fifteen_percent_capped_at_750_rows() {
        assert_eq!(probation_rows(6), 0);
        assert_eq!(probation_rows(100), 15);
        assert_eq!(probation_rows(4032), 604);
        assert_eq!(probation_rows(5000), 750);
        assert_eq!(probation_rows(100_000), 750);
    }

    #[test]
    fn detections_during_probation_are_not_scored() {
        let ignored = score_at(
            &[series(100, &[(50, 59)], &[0, 14])],
            0.5,
            Profile::Standard,
        );
        assert_eq!(ignored.fp_rows, 0);
        close(ignored.raw, -1.0, 1e-12);

        let counted = score_at(&[series(100, &[(50, 59)], &[15])], 0.5, Profile::Standard);
        assert_eq!(counted.fp_rows, 1);
        close(counted.raw, -1.11, 1e-12);
    }

    #[test]
    fn a_detection_before_the_first_window_costs_the_full_a_fp() {
        let score = score_at(
            &[series(100, &[(50, 59)], &[20, 49])],
            0.5,
            Profile::Standard,
        );
        assert_eq!(score.fp_rows, 2);
        close(score.raw, -1.0 - 0.22, 1e-12);
    }

    #[test]
    fn a_false_alarm_between_windows_costs_less_just_after_the_previous_one() {
        // Window [100, 109] has W = 10; row 110 is y = 1/9 after it, sigma = -0.270847;
        // row 140 is y = 31/9 > 3, sigma = -1. Both windows are missed.
        let near = score_at(
            &[series(200, &[(100, 109), (150, 159)], &[110])],
            0.5,
            Profile::Standard,
        );
        close(near.raw, -2.0 - 0.029793, 1e-6);

        let far = score_at(
            &[series(200, &[(100, 109), (150, 159)], &[140])],
            0.5,
            Profile::Standard,
        );
        close(far.raw, -2.0 - 0.11, 1e-12);
        assert_eq!((far.fn_windows, far.fp_rows), (2, 1));
    }

    #[test]
    fn only_the_earliest_detection_in_a_window_counts() {
        // Row 52 of [50, 59]: y = -8/10 = -0.8, worth 0.977107; row 58 adds nothing.
        let score = score_at(
            &[series(100, &[(50, 59)], &[52, 58])],
            0.5,
            Profile::Standard,
        );
        close(score.raw, 0.977107, 1e-6);
        assert_eq!(score.window_rows, 2);
        assert_eq!(score.windows[0].detected_at, Some(52 * MINUTE));
        assert_eq!(score.windows[0].time_to_detect, Some(2 * MINUTE));
    }

    #[test]
    fn a_detection_on_the_first_row_of_a_window_earns_a_tp() {
        let score = score_at(&[series(100, &[(50, 59)], &[50])], 0.5, Profile::Standard);
        close(score.raw, 1.0, 1e-12);
        close(score.normalised.expect("one window"), 100.0, 1e-9);
    }

    #[test]
    fn a_missed_window_costs_a_fn_and_normalises_to_zero() {
        let score = score_at(&[series(100, &[(50, 59)], &[])], 0.5, Profile::RewardLowFn);
        close(score.raw, -2.0, 1e-12);
        close(score.normalised.expect("one window"), 0.0, 1e-9);
        assert_eq!(score.windows[0].time_to_detect, None);
        assert_eq!(score.recall, Some(0.0));
        assert_eq!(score.precision, None);
    }

    #[test]
    fn each_profile_weighs_a_hit_a_miss_and_a_false_alarm_by_its_own_weights() {
        // A false alarm before the first window, window 1 hit on its first row, window 2 missed.
        let corpus = [series(200, &[(100, 109), (150, 159)], &[40, 100])];
        let expected = [
            (
                Profile::Standard,
                1.0 - 1.0 - 0.11,
                100.0 * (-0.11 + 2.0) / 4.0,
            ),
            (
                Profile::RewardLowFp,
                1.0 - 1.0 - 0.22,
                100.0 * (-0.22 + 2.0) / 4.0,
            ),
            (
                Profile::RewardLowFn,
                1.0 - 2.0 - 0.11,
                100.0 * (-1.11 + 4.0) / 6.0,
            ),
        ];
        for (profile, raw, normalised) in expected {
            let score = score_at(&corpus, 0.5, profile);
            close(score.raw, raw, 1e-12);
            close(score.normalised.expect("two windows"), normalised, 1e-9);
            assert_eq!(score.precision, Some(0.5), "{}", profile.name());
            assert_eq!(score.recall, Some(0.5), "{}", profile.name());
        }
    }

    #[test]
    fn raw_scores_add_up_over_the_series_of_a_corpus() {
        let one = series(100, &[(50, 59)], &[50]);
        let two = series(100, &[(50, 59)], &[20]);
        let score = score_at(&[one, two], 0.5, Profile::Standard);
        close(score.raw, 1.0 - 1.0 - 0.11, 1e-12);
        assert_eq!(score.windows.len(), 2);
        assert_eq!(score.windows[1].series, 1);
    }

    #[test]
    fn a_window_that_contains_no_row_is_rejected() {
        let error = Series::new(vec![0, 10, 20], vec![0.0; 3], vec![(11, 19)]);
        assert_eq!(
            error,
            Err(SeriesError::NoRows {
                index: 0,
                start: 11,
                end: 19
            })
        );
    }

    #[test]
    fn overlapping_windows_and_mismatched_lengths_are_rejected() {
        let overlap = Series::new(vec![0, 10, 20], vec![0.0; 3], vec![(0, 10), (10, 20)]);
        assert_eq!(overlap, Err(SeriesError::Overlapping { index: 1 }));
        let lengths = Series::new(vec![0, 10, 20], vec![0.0; 2], vec![]);
        assert!(matches!(lengths, Err(SeriesError::LengthMismatch { .. })));
    }

    fn random_corpus(rng: &mut ChaCha8Rng) -> Vec<Series> {
        (0..3)
            .map(|_| {
                let n = rng.gen_range(40..120);
                let timestamps: Vec<i64> = (0..n).map(|i| i * MINUTE).collect();
                // Coarse scores so that ties between rows occur.
                let scores = (0..n)
                    .map(|_| f64::from(rng.gen_range(0..20)) / 20.0)
                    .collect();
                let mut windows = Vec::new();
                let mut row = rng.gen_range(0..20usize);
                while row + 3 < n as usize {
                    let width = rng.gen_range(1..8usize).min(n as usize - row - 1);
                    windows.push((timestamps[row], timestamps[row + width - 1]));
                    row += width + rng.gen_range(1..30usize);
                }
                Series::new(timestamps, scores, windows).expect("valid random series")
            })
            .collect()
    }

    #[test]
    fn the_sweep_finds_the_same_best_raw_score_as_trying_every_threshold() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..30 {
            let corpus = random_corpus(&mut rng);
            for profile in Profile::ALL {
                let mut candidates: Vec<f64> = corpus
                    .iter()
                    .flat_map(|s| s.scores()[s.probation()..].iter().copied())
                    .collect();
                candidates.sort_by(f64::total_cmp);
                candidates.dedup();
                let brute = candidates
                    .iter()
                    .map(|&t| score_at(&corpus, t, profile).raw)
                    .fold(f64::NEG_INFINITY, f64::max);

                let (threshold, best) = best_threshold(&corpus, profile).expect("scored rows");
                assert!(candidates.contains(&threshold));
                close(best.raw, brute, 1e-9);
            }
        }
    }

    #[test]
    fn a_corpus_without_scored_rows_has_no_best_threshold() {
        assert_eq!(best_threshold(&[], Profile::Standard), None);
        let empty = Series::new(vec![], vec![], vec![]).expect("an empty series is valid");
        assert_eq!(best_threshold(&[empty], Profile::Standard), None);
        // Six rows have no probation (floor(0.9) = 0), so they do give a threshold.
        assert!(best_threshold(&[series(6, &[], &[3])], Profile::Standard).is_some());
    }
}
