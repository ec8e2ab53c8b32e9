//! Replay speed from a file with the built-in engine: events per second on one core.
//!
//! Writes a simulated fleet's telemetry and job events as JSON lines into a temporary
//! directory (not timed), then replays them `--runs` times with the default configuration (all
//! five processors) and prints the median, minimum and maximum events per second.
//!
//! `cargo run --release --example bench_replay -- --nodes 1000 --ticks 300 --runs 3`; with
//! `--no-record-answers` the answered windows are not audited (`processing.record_answers`).

use chrono::{TimeZone, Utc};
use fabric_ai::config::Config;
use fabric_ai::event::{self, Encoding};
use fabric_ai::pipeline::replay::{replay, ReplayInput};
use fabric_ai::simulate::{SimConfig, Simulator};
use fabric_ai::topics::TopicRole;
use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let (nodes, ticks, runs) = (arg("--nodes", 1000), arg("--ticks", 300), arg("--runs", 3));
    let dir = tempfile::tempdir()?;
    let telemetry = dir.path().join("telemetry.jsonl");
    let jobs = dir.path().join("jobs.jsonl");
    let mut sim = Simulator::new(SimConfig {
        clusters: 10,
        nodes: nodes.div_ceil(10),
        period: Duration::from_secs(10),
        start: Utc
            .with_ymd_and_hms(2026, 5, 4, 0, 0, 0)
            .single()
            .expect("valid date"),
        duration: Some(Duration::from_secs(10 * ticks as u64)),
        seed: 7,
        job_interarrival: Some(Duration::from_secs(30)),
        incidents: Vec::new(),
    });
    let (mut t, mut j) = (
        BufWriter::new(std::fs::File::create(&telemetry)?),
        BufWriter::new(std::fs::File::create(&jobs)?),
    );
    let mut events = 0u64;
    while let Some(tick) = sim.next_tick() {
        for s in &tick.samples {
            t.write_all(&event::encode(s, Encoding::Json)?)?;
            t.write_all(b"\n")?;
            events += 1;
        }
        for e in &tick.jobs {
            j.write_all(&event::encode(e, Encoding::Json)?)?;
            j.write_all(b"\n")?;
            events += 1;
        }
    }
    t.flush()?;
    j.flush()?;
    let bytes = std::fs::metadata(&telemetry)?.len() + std::fs::metadata(&jobs)?.len();
    println!(
        "input: {events} events ({} nodes x {ticks} ticks plus job events), {:.1} MB of JSON lines",
        nodes.div_ceil(10) * 10,
        bytes as f64 / 1e6
    );

    let inputs = [
        ReplayInput {
            role: TopicRole::Telemetry,
            path: telemetry,
        },
        ReplayInput {
            role: TopicRole::JobEvents,
            path: jobs,
        },
    ];
    let mut rates = Vec::new();
    for run in 0..runs {
        let out = dir.path().join(format!("out-{run}"));
        let started = Instant::now();
        let mut config = Config::default();
        config.processing.record_answers = !std::env::args().any(|a| a == "--no-record-answers");
        let stats = replay(config, &inputs, &out)?;
        let seconds = started.elapsed().as_secs_f64();
        let rate = (stats.events_ok + stats.dead_letters) as f64 / seconds;
        println!(
            "run {run}: {rate:.0} events/s ({seconds:.2} s, {} windows, {} decisions)",
            stats.windows_closed, stats.decisions_out
        );
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!(
        "replay, built-in engine, one thread: median {median:.0} events/s (min {:.0}, max {:.0})",
        rates[0],
        rates[rates.len() - 1]
    );
    Ok(())
}
