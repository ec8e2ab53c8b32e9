//! Consume benchmark: events per second through fabric-ai's consume, decode and window update,
//! beside a bare rdkafka consumer reading the same topic in the same run.
//!
//! The example fills a fresh telemetry topic with `--nodes` nodes times `--samples` JSON
//! samples, then alternates two measurements `--runs` times, each with a new consumer group so
//! it reads the topic from the beginning:
//!
//! - **bare**: a `StreamConsumer` with fabric-ai's own consumer settings, subscribed to the
//!   telemetry topic, counting messages and touching each payload's length; nothing else.
//! - **pipeline**: `fabric_ai::pipeline::run` with the default configuration (every processor
//!   enabled, JSON): consume, decode, validate, record into every processor's windows, advance
//!   the watermark, offset bookkeeping. Sample times all fall inside one window of every
//!   processor (a 2 s period over at most 2 minutes by default), so no window closes while it
//!   is measured: the engine and the producer are not part of the number.
//!
//! Each rate is taken from the first message consumed to the last, so the group join is left
//! out of both; it is printed separately. Run it with
//! `cargo run --release --example bench_consume -- --nodes 10000 --samples 30`.
//!
//! Known limit: the pipeline's first and last message are observed by polling its counters
//! every millisecond, which adds up to about a millisecond to each of its runs.

mod common;

use anyhow::Context;
use clap::Parser;
use common::{await_all, create_topics, delete_topics, sample, send};
use fabric_ai::config::Config;
use fabric_ai::event::{self, Encoding};
use fabric_ai::stats::Stats;
use fabric_ai::topics::{Catalogue, TopicRole};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Command line of the benchmark.
#[derive(Debug, Parser)]
struct Args {
    /// Distinct nodes (keys).
    #[arg(long, default_value_t = 10_000)]
    nodes: usize,
    /// Samples per node.
    #[arg(long, default_value_t = 30)]
    samples: usize,
    /// Event-time distance between a node's samples, milliseconds.
    #[arg(long, default_value_t = 2_000)]
    period_ms: i64,
    /// Partitions of the telemetry topic.
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Measurements of each kind.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The broker.
    #[arg(long, env = "KAFKA_BOOTSTRAP", default_value = "127.0.0.1:9092")]
    bootstrap: String,
}

/// One measured pass over the topic.
#[derive(Debug, Clone, Copy)]
struct Pass {
    /// Events per second from the first message to the last.
    rate: f64,
    /// From subscribing to the first message (group join and first fetch), seconds.
    join_s: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut config = Config::default();
    config.kafka.bootstrap_servers = args.bootstrap.clone();
    config.kafka.topic_prefix = format!("bench-{}.", &id[..8]);
    let catalogue = Catalogue::built_in(&config.kafka.topic_prefix)?;
    create_topics(&config, args.partitions).await?;
    let topic = catalogue.name(TopicRole::Telemetry).to_owned();

    let total = args.nodes * args.samples;
    let started = Instant::now();
    let bytes = fill(&config, &topic, &args).await?;
    println!(
        "filled {topic}: {total} events, {:.0} bytes each on average, {} partitions, in {:.1} s",
        bytes as f64 / total as f64,
        args.partitions,
        started.elapsed().as_secs_f64()
    );

    let mut bare = Vec::new();
    let mut pipeline = Vec::new();
    for run in 0..args.runs {
        config.kafka.group_id = format!("bench-{}-bare-{run}", &id[..8]);
        let b = bare_pass(&config, &topic, total).await?;
        println!(
            "run {run} bare:     {:>9.0} events/s (join {:.2} s)",
            b.rate, b.join_s
        );
        bare.push(b);
        config.kafka.group_id = format!("bench-{}-pipeline-{run}", &id[..8]);
        let p = pipeline_pass(&config, total as u64).await?;
        println!(
            "run {run} pipeline: {:>9.0} events/s (join {:.2} s)",
            p.rate, p.join_s
        );
        pipeline.push(p);
    }

    let (b_med, b_min, b_max) = summary(&bare);
    let (p_med, p_min, p_max) = summary(&pipeline);
    println!();
    println!("date: {}", chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"));
    println!("machine: {} cores, {}", cores(), cpu_model());
    println!(
        "events per pass: {total} ({} nodes x {})",
        args.nodes, args.samples
    );
    println!("| consumer | median events/s | min | max |");
    println!("| --- | ---: | ---: | ---: |");
    println!("| bare rdkafka StreamConsumer | {b_med:.0} | {b_min:.0} | {b_max:.0} |");
    println!("| fabric-ai consume + decode + windows | {p_med:.0} | {p_min:.0} | {p_max:.0} |");
    println!(
        "ratio of medians (pipeline / bare): {:.2} (target at least 0.80)",
        p_med / b_med
    );

    delete_topics(&config).await;
    Ok(())
}

/// Produces every sample, time-ordered, keyed by node; returns the payload bytes written.
async fn fill(config: &Config, topic: &str, args: &Args) -> anyhow::Result<usize> {
    let producer: FutureProducer = fabric_ai::bus::producer_config(&config.kafka).create()?;
    let mut bytes = 0;
    let mut deliveries = Vec::with_capacity(50_000);
    for i in 0..args.samples {
        for node in 0..args.nodes {
            let s = sample(node, i, i as i64 * args.period_ms);
            let payload = event::encode(&s, Encoding::Json)?;
            bytes += payload.len();
            let key = s.key();
            let record = FutureRecord::to(topic).key(&key).payload(&payload);
            send(&producer, &mut deliveries, record).await?;
        }
    }
    await_all(&mut deliveries).await?;
    Ok(bytes)
}

/// Reads the whole topic with a plain consumer in a new group.
async fn bare_pass(config: &Config, topic: &str, total: usize) -> anyhow::Result<Pass> {
    let consumer: StreamConsumer =
        fabric_ai::bus::consumer_config(&config.kafka, &config.kafka.group_id).create()?;
    let subscribed = Instant::now();
    consumer.subscribe(&[topic])?;
    let mut count = 0usize;
    let mut payload_bytes = 0usize;
    let mut first: Option<Instant> = None;
    while count < total {
        let message = tokio::time::timeout(Duration::from_secs(60), consumer.recv())
            .await
            .context("bare consumer stalled")??;
        first.get_or_insert_with(Instant::now);
        payload_bytes += message.payload().map_or(0, <[u8]>::len);
        count += 1;
    }
    let last = Instant::now();
    let first = first.unwrap_or(last);
    anyhow::ensure!(payload_bytes > 0, "read only empty payloads");
    Ok(Pass {
        // The first message's own time is not in the interval, so it is not counted either.
        rate: (total - 1) as f64 / last.duration_since(first).as_secs_f64(),
        join_s: first.duration_since(subscribed).as_secs_f64(),
    })
}

/// Runs the pipeline in a new group until it has accepted every event, then stops it.
async fn pipeline_pass(config: &Config, total: u64) -> anyhow::Result<Pass> {
    let stats = Arc::new(Stats::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let subscribed = Instant::now();
    let run = tokio::spawn(fabric_ai::pipeline::run(
        config.clone(),
        stats.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut first: Option<(Instant, u64)> = None;
    loop {
        let done = stats.snapshot().events_ok;
        if done > 0 && first.is_none() {
            first = Some((Instant::now(), done));
        }
        if done >= total {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline && !run.is_finished(),
            "pipeline stopped or stalled at {done} of {total} events"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let last = Instant::now();
    let (first, at_first) = first.unwrap_or((last, total));
    let _ = stop.send(());
    run.await??;
    anyhow::ensure!(
        stats.snapshot().dead_letters == 0,
        "benchmark samples were dead-lettered"
    );
    Ok(Pass {
        rate: (total - at_first) as f64 / last.duration_since(first).as_secs_f64(),
        join_s: first.duration_since(subscribed).as_secs_f64(),
    })
}

/// Median, minimum and maximum rate.
fn summary(passes: &[Pass]) -> (f64, f64, f64) {
    let mut rates: Vec<f64> = passes.iter().map(|p| p.rate).collect();
    rates.sort_by(f64::total_cmp);
    let median = rates.get(rates.len() / 2).copied().unwrap_or(0.0);
    let min = rates.first().copied().unwrap_or(0.0);
    let max = rates.last().copied().unwrap_or(0.0);
    (median, min, max)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, usize::from)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}
