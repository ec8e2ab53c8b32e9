//! Workload classification for one job type in one cluster: which resource it leans on, whether
//! it is batch or interactive, whether arrivals are bursty, steady or periodic.
//!
//! Resource classes come from the mean telemetry of the nodes the jobs ran on (CPU above 0.6,
//! memory above 0.7, disk above 0.5, network above 0.5). Burstiness is the coefficient of
//! variation of inter-arrival times (above 1.5 bursty, below 0.5 steady). Periodicity is the
//! largest autocorrelation of the per-window arrival history at lags 2 to half its length:
//! above 0.5 the series is periodic with that lag as its period.

use crate::engine::{WorkloadAnswer, WorkloadRequest};
use crate::event::{JobType, Metric};

/// Answers a workload request.
pub fn analyze(request: &WorkloadRequest) -> WorkloadAnswer {
    let mut classes = Vec::new();
    let mut reasons = Vec::new();
    if let Some(mean) = request.node_mean {
        let checks = [
            (Metric::Cpu, 0.6, "cpu_intensive"),
            (Metric::Memory, 0.7, "memory_intensive"),
            (Metric::Disk, 0.5, "io_intensive"),
            (Metric::Network, 0.5, "network_intensive"),
        ];
        for (metric, threshold, class) in checks {
            if mean[metric.index()] > threshold {
                classes.push(class.to_string());
                reasons.push(format!(
                    "{} {:.2} on its nodes",
                    metric.field(),
                    mean[metric.index()]
                ));
            }
        }
        if classes.is_empty() {
            classes.push("balanced".to_string());
        }
    }
    classes.push(
        match request.job_type {
            JobType::Interactive => "interactive",
            JobType::Batch | JobType::Mpi => "batch",
            JobType::Container | JobType::Stream => "long_running",
        }
        .to_string(),
    );

    let gaps: Vec<f64> = request
        .arrivals_ms
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / 1000.0)
        .collect();
    if gaps.len() >= 3 {
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        let cv = if mean > 0.0 { var.sqrt() / mean } else { 0.0 };
        if cv > 1.5 {
            classes.push("bursty".to_string());
        } else if cv < 0.5 {
            classes.push("steady".to_string());
        }
        reasons.push(format!("inter-arrival coefficient of variation {cv:.2}"));
    }

    let (period, strength) = seasonality(&request.arrival_history);
    if let (Some(lag), Some(s)) = (period, strength) {
        classes.push("periodic".to_string());
        reasons.push(format!(
            "arrivals repeat every {lag} windows (autocorrelation {s:.2})"
        ));
    }
    let evidence = request.arrivals_ms.len() + request.arrival_history.len();
    WorkloadAnswer {
        classes,
        seasonality_period_minutes: period.map(|lag| lag as f64 * request.resolution_minutes),
        seasonality_strength: strength,
        confidence: (evidence as f64 / (evidence as f64 + 5.0)).min(0.95),
        reasons,
    }
}

/// The lag with the largest autocorrelation above 0.5, and that autocorrelation.
pub fn seasonality(history: &[u32]) -> (Option<usize>, Option<f64>) {
    let n = history.len();
    if n < 8 {
        return (None, None);
    }
    let xs: Vec<f64> = history.iter().map(|v| f64::from(*v)).collect();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let denom: f64 = xs.iter().map(|x| (x - mean).powi(2)).sum();
    if denom <= 0.0 {
        return (None, None);
    }
    let best = (2..=n / 2)
        .map(|lag| {
            let num: f64 = (lag..n)
                .map(|i| (xs[i] - mean) * (xs[i - lag] - mean))
                .sum();
            (lag, num / denom)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
    match best {
        Some((lag, acf)) if acf > 0.5 => (Some(lag), Some(acf.min(1.0))),
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(
        arrivals_ms: Vec<i64>,
        history: Vec<u32>,
        node_mean: Option<[f64; 9]>,
    ) -> WorkloadRequest {
        WorkloadRequest {
            cluster_id: "c".into(),
            job_type: JobType::Batch,
            window: crate::window::WindowSpec::tumbling(std::time::Duration::from_secs(600))
                .bounds(0),
            arrivals_ms,
            completions: 0,
            failures: 0,
            runtimes_s: Vec::new(),
            node_mean,
            arrival_history: history,
            resolution_minutes: 10.0,
        }
    }

    #[test]
    fn periodic_arrivals_are_found_with_their_period() {
        let history: Vec<u32> = (0..24).map(|i| if i % 6 == 0 { 10 } else { 1 }).collect();
        let answer = analyze(&request(Vec::new(), history, None));
        assert!(
            answer.classes.contains(&"periodic".to_string()),
            "{:?}",
            answer.classes
        );
        assert_eq!(answer.seasonality_period_minutes, Some(60.0));
    }

    #[test]
    fn bursty_and_steady_arrivals_are_told_apart() {
        let steady = analyze(&request(
            (0..10).map(|i| i * 60_000).collect(),
            Vec::new(),
            None,
        ));
        assert!(steady.classes.contains(&"steady".to_string()));
        let burst: Vec<i64> = vec![0, 10, 20, 30, 40, 500_000, 500_010, 500_020, 590_000];
        let bursty = analyze(&request(burst, Vec::new(), None));
        assert!(
            bursty.classes.contains(&"bursty".to_string()),
            "{:?}",
            bursty.classes
        );
    }

    #[test]
    fn the_dominant_resource_names_the_class() {
        let mut mean = [0.0; 9];
        mean[Metric::Cpu.index()] = 0.8;
        let answer = analyze(&request(Vec::new(), Vec::new(), Some(mean)));
        assert_eq!(answer.classes, vec!["cpu_intensive", "batch"]);
    }
}
