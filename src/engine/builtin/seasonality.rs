//! Seasonality detection: whether a history repeats with a given period.
//!
//! The test is the sample autocorrelation at a lag of one period,
//! `sum (y_t - m)(y_(t-p) - m) / sum (y_t - m)^2` over the whole history (mean `m`). It needs
//! two periods of history; a flat history has none. One lag costs one pass over the history.

/// `period` when `history` holds at least two periods and its autocorrelation at that lag is
/// at least `threshold`, else 0.
pub fn detect(history: &[f64], period: usize, threshold: f64) -> usize {
    if period < 2 || history.len() < 2 * period {
        return 0;
    }
    match autocorrelation(history, period) {
        Some(r) if r >= threshold => period,
        _ => 0,
    }
}

/// The sample autocorrelation at `lag`; none for a flat history or a lag past its end.
pub fn autocorrelation(history: &[f64], lag: usize) -> Option<f64> {
    if lag >= history.len() {
        return None;
    }
    let mean = history.iter().sum::<f64>() / history.len() as f64;
    let variance: f64 = history.iter().map(|y| (y - mean).powi(2)).sum();
    if variance <= 0.0 {
        return None;
    }
    let covariance: f64 = history[lag..]
        .iter()
        .zip(history)
        .map(|(a, b)| (a - mean) * (b - mean))
        .sum();
    Some(covariance / variance)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeating_pattern_is_seasonal_at_its_period() {
        let series: Vec<f64> = (0..48).map(|i| f64::from(i % 12)).collect();
        assert_eq!(detect(&series, 12, 0.2), 12);
    }

    #[test]
    fn a_pattern_needs_two_periods_of_history() {
        let series: Vec<f64> = (0..23).map(|i| f64::from(i % 12)).collect();
        assert_eq!(detect(&series, 12, 0.2), 0);
    }

    #[test]
    fn alternating_noise_is_not_seasonal_at_an_odd_lag() {
        let series: Vec<f64> = (0..100).map(|i| f64::from(i % 2)).collect();
        assert_eq!(detect(&series, 7, 0.2), 0);
        assert_eq!(autocorrelation(&[3.0; 10], 2), None);
    }
}
