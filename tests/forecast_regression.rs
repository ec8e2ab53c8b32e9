//! Regression: the built-in forecaster beats the naive forecast on real series.
//!
//! Two nab-dev series (an EC2 CPU series and the ELB request counts) are forecast from every
//! fourth origin of their second half, with the history the prediction processor would hold
//! (the last 864 points, `scripts/quality/forecast.toml`), one step ahead. MASE is scaled by
//! the first half's one-step naive error, as in `replay::forecast_holdout`. The margins are
//! below what was measured (`docs/quality.md`, "Forecasts"), so a change that loses the gain
//! over the naive forecast fails here.

use fabric_ai::engine::builtin::forecast::forecast_steps;
use fabric_ai::replay::input::read_series_csv;

const HISTORY: usize = 864;

/// (model MASE, naive MASE) one step ahead over the second half of `file`.
fn one_step_mase(file: &str) -> (f64, f64) {
    let path = format!(
        "{}/../shared/data/nab-dev/realAWSCloudwatch/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let y: Vec<f64> = read_series_csv(&path)
        .expect("the shared nab-dev data is present")
        .iter()
        .map(|r| r.value)
        .collect();
    let half = y.len() / 2;
    let scale = y[..half]
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .sum::<f64>()
        / (half - 1) as f64;
    let (mut model, mut naive, mut n) = (0.0, 0.0, 0usize);
    for origin in (half..y.len() - 1).step_by(4) {
        let history = &y[(origin + 1).saturating_sub(HISTORY)..=origin];
        let f = forecast_steps(history, 288, &[1]).expect("history is not empty");
        model += (f[0].mean - y[origin + 1]).abs();
        naive += (y[origin] - y[origin + 1]).abs();
        n += 1;
    }
    (model / n as f64 / scale, naive / n as f64 / scale)
}

#[test]
fn the_forecaster_beats_the_naive_forecast_on_an_ec2_cpu_series() {
    let (model, naive) = one_step_mase("ec2_cpu_utilization_24ae8d.csv");
    println!("ec2_cpu_utilization_24ae8d: MASE {model:.3}, naive {naive:.3}");
    assert!(model < 0.8 * naive, "MASE {model} vs naive {naive}");
}

#[test]
fn the_forecaster_beats_the_naive_forecast_on_the_elb_request_counts() {
    let (model, naive) = one_step_mase("elb_request_count_8c0756.csv");
    println!("elb_request_count_8c0756: MASE {model:.3}, naive {naive:.3}");
    assert!(model < 0.9 * naive, "MASE {model} vs naive {naive}");
}
