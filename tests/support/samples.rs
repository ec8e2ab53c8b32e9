//! Engine requests like the ones fabric-ai builds from closed windows, one per endpoint,
//! each chosen so that the built-in engine's answer is not empty.

use chrono::{TimeZone, Utc};
use fabric_ai::config::AnomalyConfig;
use fabric_ai::engine::builtin::anomaly::{detect, NodeBaseline};
use fabric_ai::engine::request::{Constraints, Goals, NodeAggregate};
use fabric_ai::engine::wire::Endpoint;
use fabric_ai::engine::*;
use fabric_ai::event::{JobType, Metric, WindowBounds};

/// Where every sample window starts: 2026-03-01T12:00:00Z.
pub const START_MS: i64 = 1_772_366_400_000;

/// A window of `minutes` from [`START_MS`].
pub fn window(minutes: i64) -> WindowBounds {
    let start = Utc.timestamp_millis_opt(START_MS).unwrap();
    WindowBounds {
        start,
        end: start + chrono::Duration::minutes(minutes),
    }
}

/// One sample's nine metric values, with `cpu` as the CPU utilisation.
pub fn values(cpu: f64) -> [f64; 9] {
    [cpu, 0.52, 0.1, 0.2, 12.5, 1500.0, 210.0, 3.0, 0.001]
}

/// A node's window aggregate around `cpu`, running `jobs` jobs.
pub fn node(cpu: f64, jobs: u32) -> NodeAggregate {
    NodeAggregate {
        samples: 30,
        mean: values(cpu),
        max: values((cpu + 0.05).min(1.0)),
        active_jobs: jobs,
    }
}

/// One request per endpoint, in the order anomaly, performance, workload, prediction,
/// scaling; the anomaly request has a 2-minute window of 12 samples and a warmed baseline.
pub fn requests() -> Vec<EngineRequest> {
    let config = AnomalyConfig::default();
    let mut baseline = NodeBaseline::default();
    // Past the detector's warm-up, so the spike below can alarm.
    let learned = i64::from(config.warmup_samples) + 30;
    let warmup: Vec<_> = (0..learned)
        .map(|i| {
            let cpu = 0.4 + 0.01 * ((i * 7919 % 13) as f64 / 6.0 - 1.0);
            (START_MS - (learned - i) * 10_000, values(cpu))
        })
        .collect();
    detect(&config, &mut baseline, &warmup);
    vec![
        EngineRequest::Anomaly(AnomalyRequest {
            cluster_id: "c1".into(),
            node_id: "n7".into(),
            window: window(2),
            samples: (0..12)
                .map(|i| {
                    (
                        START_MS + i * 10_000,
                        values(if i == 3 { 0.95 } else { 0.4 }),
                    )
                })
                .collect(),
            baseline: Box::new(baseline),
        }),
        EngineRequest::Performance(PerformanceRequest {
            cluster_id: "c1".into(),
            window: window(5),
            nodes: [
                ("n1", node(0.95, 3)),
                ("n2", node(0.2, 0)),
                ("n3", node(0.5, 1)),
            ]
            .into_iter()
            .map(|(id, n)| (id.to_owned(), n))
            .collect(),
            queued_jobs: 2,
            goals: Goals {
                throughput: 1.0,
                latency: 1.0,
                balance: 1.0,
                energy: 1.0,
            },
            constraints: Constraints {
                max_cpu: 0.85,
                max_memory: 0.8,
                min_availability: 0.99,
            },
        }),
        EngineRequest::Workload(WorkloadRequest {
            cluster_id: "c1".into(),
            job_type: JobType::Batch,
            window: window(10),
            arrivals_ms: (0..8).map(|i| START_MS + i * i * 7_000).collect(),
            completions: 5,
            failures: 1,
            runtimes_s: vec![431.5, 12.25, 1.0 / 3.0],
            node_mean: Some(values(0.71)),
            arrival_history: (0..24).map(|i| [3, 0, 4, 1][i % 4]).collect(),
            resolution_minutes: 10.0,
        }),
        EngineRequest::Prediction(PredictionRequest {
            cluster_id: "c1".into(),
            node_id: None,
            resource: Metric::Memory,
            window: window(15),
            history: (0..40).map(|i| 0.3 + 0.005 * f64::from(i)).collect(),
            resolution_minutes: 15.0,
            horizons_minutes: vec![15, 60, 240],
        }),
        EngineRequest::Scaling(ScalingRequest {
            cluster_id: "c1".into(),
            window: window(10),
            capacity: 4,
            load: 0.91,
            queue_length: 6,
            usage_history: vec![0.7, 0.82, 0.91],
            recent_desired: vec![4, 5],
            target_utilisation: 0.7,
            tolerance: 0.1,
            min_capacity: 2,
            max_capacity: 10,
            cost_per_node_hour: 1.25,
            resolution_minutes: 10.0,
            demand_history: vec![2.8, 3.28, 3.64],
            lead_windows: 2,
        }),
    ]
}

/// The sample request of `endpoint`.
pub fn request(endpoint: Endpoint) -> EngineRequest {
    requests()
        .into_iter()
        .find(|r| Endpoint::of(r) == endpoint)
        .expect("there is a sample for every endpoint")
}
