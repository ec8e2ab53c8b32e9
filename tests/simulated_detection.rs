//! The simulator's incidents, fed straight through the anomaly processor (no broker): one
//! anomaly per spike and level shift, on the right node and window, and none elsewhere.

use chrono::{TimeZone, Utc};
use fabric_ai::config::Config;
use fabric_ai::engine::builtin::BuiltinEngine;
use fabric_ai::engine::Engine;
use fabric_ai::event::{Anomaly, AnomalyType, Source};
use fabric_ai::processor::jobs::JobTracker;
use fabric_ai::processor::{decisions_from, AnomalyProcessor, Decision, Pending, Processor};
use fabric_ai::simulate::{Incident, SimConfig, Simulator};
use std::time::Duration;

fn simulate(seed: u64, incidents: &[&str]) -> Vec<Anomaly> {
    let mut sim = Simulator::new(SimConfig {
        clusters: 2,
        nodes: 4,
        period: Duration::from_secs(10),
        start: Utc.with_ymd_and_hms(2026, 1, 1, 6, 0, 0).unwrap(),
        duration: Some(Duration::from_secs(3600)),
        seed,
        job_interarrival: Some(Duration::from_secs(60)),
        incidents: incidents
            .iter()
            .map(|i| Incident::parse(i).unwrap())
            .collect(),
    });
    let config = Config::default();
    let mut processor = AnomalyProcessor::new(&config);
    let engine = BuiltinEngine::new(config.anomaly.clone());
    let jobs = JobTracker::new(1000);
    let now = tokio::time::Instant::now();
    let mut found = Vec::new();
    while let Some(tick) = sim.next_tick() {
        for sample in &tick.samples {
            processor.on_sample(sample, None, now, &jobs);
        }
        let watermark = tick.at.unwrap().timestamp_millis() - 30_000;
        for pending in processor.close(watermark, now, &jobs) {
            let Pending::Ask {
                request, revision, ..
            } = pending
            else {
                continue;
            };
            let answer = engine.answer(&request).unwrap();
            for decision in decisions_from(&request, &answer, revision, Source::Builtin) {
                if let Decision::Anomaly(a) = decision {
                    found.push(a);
                }
            }
        }
    }
    found
}

#[test]
fn each_spike_and_level_shift_gives_one_anomaly_in_its_window() {
    for seed in [1, 2, 3, 42] {
        let found = simulate(
            seed,
            &[
                "spike:cluster-0/node-01:18m5s",
                "level_shift:cluster-1/node-02:20m35s:cpu:0.3",
            ],
        );
        let summary: Vec<_> = found
            .iter()
            .map(|a| {
                (
                    a.header.scope.clone(),
                    a.header.window.start,
                    a.anomaly_type,
                )
            })
            .collect();
        let at = |m| Utc.with_ymd_and_hms(2026, 1, 1, 6, m, 0).unwrap();
        assert_eq!(
            summary,
            vec![
                ("cluster-0/node-01".to_string(), at(18), AnomalyType::Spike),
                (
                    "cluster-1/node-02".to_string(),
                    at(20),
                    AnomalyType::LevelShift
                ),
            ],
            "seed {seed}"
        );
    }
}

#[test]
fn quiet_fleets_raise_no_anomalies() {
    for seed in 0..20 {
        assert_eq!(simulate(seed, &[]), vec![], "seed {seed}");
    }
}
