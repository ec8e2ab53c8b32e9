//! One contender of the side-by-side benchmark (`bench/run`), run as its own process so the
//! kernel's CPU time and peak memory of each are its own.
//!
//! - `fill`: creates a fresh topic catalogue and fills the telemetry topic with `--nodes`
//!   nodes times `--rounds` JSON samples, `--period-ms` apart in event time, time-ordered,
//!   keyed by node, each record's timestamp set to the sample's event time. With `--tail` it
//!   then writes one sample per partition two hours later (and one job event per job-event
//!   partition), so every window of the main samples closes, in fabric-ai (its watermark)
//!   and in Kafka Streams (its stream time).
//! - `bare`: a plain rdkafka `StreamConsumer` (fabric-ai's consumer settings) reading every
//!   message of the topic once and touching its payload: the ceiling for any consumer.
//! - `fabric`: `fabric_ai::pipeline::run` with the default configuration and the built-in
//!   engine (all five processors) until every event is accepted and every decision of the
//!   windows the watermark closed is acknowledged by the broker; prints the close-to-ack
//!   quantiles (`window_close_to_ack`).
//! - `memory`: the pipeline over a topic filled without a tail (no window closes), then the
//!   resident memory and the open windows once every event is in.
//! - `cleanup`: deletes the catalogue's topics.
//!
//! Every measurement ends with one line of `key=value` pairs on stdout, read by `bench/run`.

mod common;

use anyhow::Context;
use clap::{Parser, Subcommand};
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

/// How far past the last round the tail's samples are: beyond the longest default window
/// (15 minutes) plus the out-of-orderness allowance.
const TAIL_AFTER_MS: i64 = 2 * 3_600_000;
/// How long nothing may change before the fabric contender counts the run as over. The rate
/// runs to the last change, so this costs wall time only. It was 50 ms, shorter than the
/// round trip of a slice's acknowledgements under load (about 90 ms): the contender stopped
/// the pipeline in the middle of the last watermark step, and the drain (which answers every
/// waiting window before it takes any acknowledgement) was timed instead.
const SETTLED: Duration = Duration::from_secs(1);
/// Processors whose open windows the pipeline reports.
const PROCESSORS: [&str; 5] = [
    "anomaly",
    "performance",
    "workload",
    "prediction",
    "scaling",
];

/// Command line.
#[derive(Debug, Parser)]
struct Args {
    /// The broker.
    #[arg(long, env = "KAFKA_BOOTSTRAP", default_value = "127.0.0.1:9092")]
    bootstrap: String,
    /// Topic prefix of the run's catalogue (the telemetry topic is `<prefix>telemetry...`).
    #[arg(long)]
    prefix: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the topics and fill the telemetry topic.
    Fill {
        #[arg(long, default_value_t = 10_000)]
        nodes: usize,
        #[arg(long, default_value_t = 30)]
        rounds: usize,
        #[arg(long, default_value_t = 10_000)]
        period_ms: i64,
        #[arg(long, default_value_t = 4)]
        partitions: i32,
        /// Add one sample per partition far past the last round, so every window closes.
        #[arg(long)]
        tail: bool,
    },
    /// Read the topic with a bare consumer.
    Bare {
        #[arg(long)]
        group: String,
        #[arg(long)]
        events: u64,
    },
    /// Run the pipeline until everything is in and every decision is acknowledged.
    Fabric {
        #[arg(long)]
        group: String,
        #[arg(long)]
        events: u64,
    },
    /// Run the pipeline over a topic with no closing window and report memory per window.
    Memory {
        #[arg(long)]
        group: String,
        #[arg(long)]
        events: u64,
    },
    /// Delete the catalogue's topics.
    Cleanup,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = Config::default();
    config.kafka.bootstrap_servers = args.bootstrap.clone();
    config.kafka.topic_prefix = args.prefix.clone();
    let catalogue = Catalogue::built_in(&config.kafka.topic_prefix)?;
    let topic = catalogue.name(TopicRole::Telemetry).to_owned();
    match args.command {
        Command::Fill {
            nodes,
            rounds,
            period_ms,
            partitions,
            tail,
        } => {
            create_topics(&config, partitions).await?;
            create_kstreams_output(&config, partitions).await?;
            let started = Instant::now();
            let (events, bytes) = fill(&config, &topic, nodes, rounds, period_ms).await?;
            let tail_events = if tail {
                fill_tail(&config, &topic, partitions, rounds as i64 * period_ms).await?
            } else {
                0
            };
            println!(
                "contender=fill topic={topic} events={} main_events={events} \
                 bytes_per_event={:.0} partitions={partitions} seconds={:.1}",
                events + tail_events,
                bytes as f64 / events as f64,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Bare { group, events } => {
            config.kafka.group_id = group;
            bare(&config, &topic, events).await?;
        }
        Command::Fabric { group, events } => {
            config.kafka.group_id = group;
            fabric(config, events).await?;
        }
        Command::Memory { group, events } => {
            config.kafka.group_id = group;
            config.processing.max_open_keys = config
                .processing
                .max_open_keys
                .max(usize::try_from(events)? + 1_000);
            memory(config, events).await?;
        }
        Command::Cleanup => delete_topics(&config).await,
    }
    Ok(())
}

/// The output topic of the Kafka Streams contender, `<prefix>kstreams-windows`.
async fn create_kstreams_output(config: &Config, partitions: i32) -> anyhow::Result<()> {
    let admin = fabric_ai::bus::admin::admin_client(&config.kafka)?;
    let name = format!("{}kstreams-windows", config.kafka.topic_prefix);
    let topic = rdkafka::admin::NewTopic::new(
        &name,
        partitions,
        rdkafka::admin::TopicReplication::Fixed(1),
    );
    for result in admin
        .create_topics([&topic], &rdkafka::admin::AdminOptions::new())
        .await?
    {
        result.map_err(|(name, code)| anyhow::anyhow!("create topic {name}: {code}"))?;
    }
    Ok(())
}

/// Produces every sample, round by round; returns the events and payload bytes written.
async fn fill(
    config: &Config,
    topic: &str,
    nodes: usize,
    rounds: usize,
    period_ms: i64,
) -> anyhow::Result<(u64, usize)> {
    let producer: FutureProducer = fabric_ai::bus::producer_config(&config.kafka).create()?;
    let (mut bytes, mut events) = (0, 0);
    let mut deliveries = Vec::with_capacity(50_000);
    for i in 0..rounds {
        for node in 0..nodes {
            let s = sample(node, i, i as i64 * period_ms);
            let payload = event::encode(&s, Encoding::Json)?;
            bytes += payload.len();
            events += 1;
            let key = s.key();
            let record = FutureRecord::to(topic)
                .key(&key)
                .payload(&payload)
                .timestamp(s.event_time.timestamp_millis());
            send(&producer, &mut deliveries, record).await?;
        }
    }
    await_all(&mut deliveries).await?;
    Ok((events, bytes))
}

/// One sample per telemetry partition and one job event per job-event partition,
/// [`TAIL_AFTER_MS`] past `end_ms`, from a node and a cluster of their own. The pipeline's
/// watermark is the lowest over every input partition, job events' included: without their
/// tail the empty job-event partitions would hold it until their idle timeout.
async fn fill_tail(
    config: &Config,
    topic: &str,
    partitions: i32,
    end_ms: i64,
) -> anyhow::Result<u64> {
    let producer: FutureProducer = fabric_ai::bus::producer_config(&config.kafka).create()?;
    let catalogue = Catalogue::built_in(&config.kafka.topic_prefix)?;
    let jobs_topic = catalogue.name(TopicRole::JobEvents);
    let mut deliveries = Vec::new();
    for p in 0..partitions {
        let mut s = sample(0, 0, end_ms + TAIL_AFTER_MS);
        s.cluster_id = "cluster-tail".into();
        s.node_id = format!("tail-{p}").into();
        let payload = event::encode(&s, Encoding::Json)?;
        let key = s.key();
        let record = FutureRecord::to(topic)
            .key(&key)
            .payload(&payload)
            .partition(p)
            .timestamp(s.event_time.timestamp_millis());
        send(&producer, &mut deliveries, record).await?;

        let job = fabric_ai::event::JobEvent {
            job_id: format!("tail-{p}"),
            cluster_id: "cluster-tail".to_owned(),
            node_id: None,
            job_type: fabric_ai::event::JobType::Batch,
            state: fabric_ai::event::JobState::Completed,
            priority: 0,
            requested_cores: 1.0,
            requested_memory_gib: 1.0,
            requested_gpus: 0,
            event_time: s.event_time,
        };
        let payload = event::encode(&job, Encoding::Json)?;
        let key = job.key();
        let record = FutureRecord::to(jobs_topic)
            .key(&key)
            .payload(&payload)
            .partition(p)
            .timestamp(s.event_time.timestamp_millis());
        send(&producer, &mut deliveries, record).await?;
    }
    await_all(&mut deliveries).await?;
    Ok(partitions as u64)
}

/// Reads the whole topic with a plain consumer in a new group.
async fn bare(config: &Config, topic: &str, total: u64) -> anyhow::Result<()> {
    let consumer: StreamConsumer =
        fabric_ai::bus::consumer_config(&config.kafka, &config.kafka.group_id).create()?;
    let subscribed = Instant::now();
    consumer.subscribe(&[topic])?;
    let (mut count, mut payload_bytes) = (0u64, 0usize);
    let mut first: Option<Instant> = None;
    let mut cpu_at_first = 0.0;
    while count < total {
        let message = tokio::time::timeout(Duration::from_secs(60), consumer.recv())
            .await
            .context("bare consumer stalled")??;
        if first.is_none() {
            first = Some(Instant::now());
            cpu_at_first = cpu_seconds();
        }
        payload_bytes += message.payload().map_or(0, <[u8]>::len);
        count += 1;
    }
    let last = Instant::now();
    let cpu_interval = cpu_seconds() - cpu_at_first;
    let first = first.unwrap_or(last);
    anyhow::ensure!(payload_bytes > 0, "read only empty payloads");
    // The first message's own time is not in the interval, so it is not counted either.
    let rate = (total - 1) as f64 / last.duration_since(first).as_secs_f64();
    println!(
        "contender=bare events={total} seconds={:.3} events_per_s={rate:.0} join_s={:.2} \
         cpu_interval_s={cpu_interval:.2}",
        last.duration_since(first).as_secs_f64(),
        first.duration_since(subscribed).as_secs_f64()
    );
    Ok(())
}

/// A running pipeline and how to stop it.
struct Running {
    stats: Arc<Stats>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), fabric_ai::pipeline::PipelineError>>,
    subscribed: Instant,
}

fn start(config: Config) -> Running {
    let stats = Arc::new(Stats::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let subscribed = Instant::now();
    let task = tokio::spawn(fabric_ai::pipeline::run(config, stats.clone(), async {
        let _ = stopped.await;
    }));
    Running {
        stats,
        stop,
        task,
        subscribed,
    }
}

impl Running {
    /// Polls every millisecond until `done` holds; returns when the first event was seen and
    /// how many were in by then.
    async fn wait(
        &self,
        what: &str,
        mut done: impl FnMut(&fabric_ai::stats::StatsSnapshot) -> bool,
        first: &mut Option<(Instant, u64, f64)>,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let s = self.stats.snapshot();
            if s.events_ok > 0 && first.is_none() {
                *first = Some((Instant::now(), s.events_ok, cpu_seconds()));
            }
            if done(&s) {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline && !self.task.is_finished(),
                "pipeline stopped or stalled waiting for {what} at {} events",
                s.events_ok
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    async fn stop(self) -> anyhow::Result<fabric_ai::stats::StatsSnapshot> {
        let _ = self.stop.send(());
        self.task.await??;
        Ok(self.stats.snapshot())
    }
}

/// The pipeline until every event is in and the outputs of every closed window are
/// acknowledged: nothing changes for [`SETTLED`] with every decision acknowledged.
async fn fabric(config: Config, total: u64) -> anyhow::Result<()> {
    let running = start(config);
    let mut first = None;
    running
        .wait("every event", |s| s.events_ok >= total, &mut first)
        .await?;
    let mut last_change = Instant::now();
    let mut seen = running.stats.snapshot();
    running
        .wait(
            "the acknowledgements",
            |s| {
                let now = Instant::now();
                // Windows acknowledged too: the loop answers a large step slice by slice, and
                // no decision may be among a slice's outputs (audit records only).
                let moved = (
                    s.windows_closed,
                    s.decisions_out,
                    s.decisions_acked,
                    s.windows_acked,
                ) != (
                    seen.windows_closed,
                    seen.decisions_out,
                    seen.decisions_acked,
                    seen.windows_acked,
                );
                if moved {
                    last_change = now;
                    seen = *s;
                }
                s.decisions_acked == s.decisions_out && now.duration_since(last_change) >= SETTLED
            },
            &mut first,
        )
        .await?;
    let cpu_interval = cpu_seconds();
    let subscribed = running.subscribed;
    let s = running.stop().await?;
    let (first, at_first, cpu_at_first) = first.unwrap_or((last_change, total, cpu_interval));
    let cpu_interval = cpu_interval - cpu_at_first;
    let seconds = last_change.duration_since(first).as_secs_f64();
    anyhow::ensure!(s.dead_letters == 0, "benchmark samples were dead-lettered");
    anyhow::ensure!(
        s.windows_acked > 0,
        "no window timed (was the topic filled with --tail?): {s:?}"
    );
    println!(
        "contender=fabric events={total} seconds={seconds:.3} events_per_s={:.0} join_s={:.2} \
         windows_closed={} decisions_acked={} windows_acked={} close_to_ack_p50_ms={:.1} \
         close_to_ack_p99_ms={:.1} late={} refused={} cpu_interval_s={cpu_interval:.2}",
        (total - at_first) as f64 / seconds,
        first.duration_since(subscribed).as_secs_f64(),
        s.windows_closed,
        s.decisions_acked,
        s.windows_acked,
        s.close_to_ack_p50_us as f64 / 1e3,
        s.close_to_ack_p99_us as f64 / 1e3,
        s.late_events,
        s.refused_keys,
    );
    Ok(())
}

/// The process's resident memory, bytes (`VmRSS` in `/proc/self/status`).
fn rss_bytes() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmRSS in /proc/self/status")?;
    Ok(kb * 1024)
}

/// The pipeline over a topic where no window closes: resident memory once every event is
/// in, against the open windows the pipeline reports (its `fabric_open_windows` gauges, set
/// on each tick).
async fn memory(config: Config, total: u64) -> anyhow::Result<()> {
    let tick = config.processing.commit_interval;
    let before_start = rss_bytes()?;
    let running = start(config);
    let mut first = None;
    let mut at_first_event = None;
    running
        .wait(
            "every event",
            |s| {
                if s.events_ok > 0 && at_first_event.is_none() {
                    at_first_event = rss_bytes().ok();
                }
                s.events_ok >= total
            },
            &mut first,
        )
        .await?;
    // Two ticks, so the gauges count every window.
    tokio::time::sleep(tick * 2 + Duration::from_millis(100)).await;
    let rss = rss_bytes()?;
    let families = &running.stats.families;
    let open: i64 = PROCESSORS
        .iter()
        .map(|p| {
            families
                .open_windows
                .get_or_create(&vec![("processor", (*p).to_owned())])
                .get()
        })
        .sum();
    let s = running.stop().await?;
    anyhow::ensure!(open > 0, "no open windows reported");
    anyhow::ensure!(
        s.refused_keys == 0,
        "keys were refused: raise max_open_keys"
    );
    let base = at_first_event.unwrap_or(before_start);
    println!(
        "contender=memory events={total} open_windows={open} rss_mb={:.1} \
         rss_at_first_event_mb={:.1} bytes_per_window={:.0} grown_bytes_per_window={:.0}",
        rss as f64 / 1e6,
        base as f64 / 1e6,
        rss as f64 / open as f64,
        rss.saturating_sub(base) as f64 / open as f64,
    );
    Ok(())
}

/// CPU time (user and system) this process has used so far, seconds, from
/// `/proc/self/stat` (clock ticks of 10 ms).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The command name in parentheses may hold spaces: count fields after its end.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}
