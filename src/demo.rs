//! `fabric-ai demo`: the whole path on one machine with nothing installed but fabric-ai.
//!
//! librdkafka's in-process mock cluster stands in for the broker; the simulator writes a small
//! fleet's telemetry at a speed-up (default 60: one event-minute per second) with an incident
//! every few event-minutes; the reference engine server (`fabric-ai engine serve`) answers on
//! loopback HTTP, with a token; the pipeline runs exactly as `run` does, asking that engine;
//! and a view consumes the anomaly topic and prints each finding, and who answered it, beside
//! the incidents that were injected.

use crate::config::Config;
use crate::event::{self, Anomaly};
use crate::simulate::incident::IncidentKind;
use crate::simulate::{Incident, SimConfig, Simulator};
use crate::stats::Stats;
use crate::topics::{Catalogue, TopicRole};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::mocking::MockCluster;
use rdkafka::Message;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// Demo settings (the CLI's flags).
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Clusters to simulate.
    pub clusters: usize,
    /// Nodes per cluster.
    pub nodes: usize,
    /// Event seconds per wall second.
    pub speedup: f64,
    /// Stop after this long (wall clock); run until Ctrl-C when absent.
    pub duration: Option<Duration>,
    /// Seed of the simulation and of the incident schedule.
    pub seed: u64,
    /// Ask the reference engine over loopback HTTP (else the built-in engine in-process).
    pub engine: bool,
}

/// Event-time gap between injected incidents.
const INCIDENT_EVERY: Duration = Duration::from_secs(240);

/// A schedule of spikes and level shifts on random nodes, the first three event-minutes in.
fn incident_schedule(options: &DemoOptions) -> Vec<Incident> {
    // Visit every node in a shuffled order before repeating one, so no incident falls inside
    // the previous one's alarm suppression on the same node.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(options.seed);
    let mut order: Vec<(usize, usize)> = (0..options.clusters)
        .flat_map(|c| (0..options.nodes).map(move |n| (c, n)))
        .collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.gen_range(0..=i));
    }
    (0..360u32)
        .map(|i| {
            let kind = if i % 2 == 0 {
                IncidentKind::Spike
            } else {
                IncidentKind::LevelShift
            };
            let (c, n) = order[i as usize % order.len()];
            Incident {
                kind,
                cluster_id: crate::simulate::model::cluster_name(c),
                node_id: crate::simulate::model::node_name(n),
                at: Duration::from_secs(185) + INCIDENT_EVERY * i,
                metric: crate::event::Metric::Cpu,
                magnitude: if kind == IncidentKind::Spike {
                    0.5
                } else {
                    0.3
                },
                // Level shifts end before the next incident, so the fleet returns to normal.
                duration: (kind == IncidentKind::LevelShift).then_some(Duration::from_secs(150)),
            }
        })
        .collect()
}

/// Runs the demo until Ctrl-C or the configured duration.
pub async fn run(options: DemoOptions, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let mock = MockCluster::new(1).context("start the in-process mock Kafka cluster")?;
    let mut config = Config::default();
    config.kafka.bootstrap_servers = mock.bootstrap_servers();
    config.kafka.group_id = "fabric-ai-demo".into();
    let catalogue = Catalogue::built_in("")?;
    for spec in catalogue.iter() {
        mock.create_topic(&spec.name, 4, 1)
            .with_context(|| format!("create mock topic {}", spec.name))?;
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let engine = if options.engine {
        Some(start_engine(&mut config, stopped(stop_rx.clone())).await?)
    } else {
        None
    };

    let incidents = incident_schedule(&options);
    let start: DateTime<Utc> =
        DateTime::from_timestamp(Utc::now().timestamp() / 60 * 60, 0).unwrap_or_else(Utc::now);
    let mut sim = Simulator::new(SimConfig {
        clusters: options.clusters,
        nodes: options.nodes,
        period: Duration::from_secs(10),
        start,
        duration: None,
        seed: options.seed,
        job_interarrival: Some(Duration::from_secs(60)),
        incidents: incidents.clone(),
    });

    let answered_by = if options.engine {
        format!("reference engine at {}", config.engine.url)
    } else {
        "built-in engine in-process".to_string()
    };
    writeln!(
        out,
        "fabric-ai demo: {} clusters x {} nodes, 10 s sampling at {}x, anomaly windows of {}; \
         in-process mock broker at {}; {}. Ctrl-C stops.\n",
        options.clusters,
        options.nodes,
        options.speedup,
        humantime::format_duration(config.anomaly.interval),
        config.kafka.bootstrap_servers,
        answered_by
    )?;
    writeln!(
        out,
        "{:<8} {:<19} {:<12} {:<9} {:<5} what",
        "event", "node", "finding", "severity", "conf"
    )?;

    let stats = Arc::new(Stats::default());
    let pipeline = tokio::spawn(crate::pipeline::run(
        config.clone(),
        stats.clone(),
        stopped(stop_rx.clone()),
    ));

    let view: StreamConsumer = crate::bus::consumer_config(&config.kafka, "fabric-ai-demo-view")
        .create()
        .context("create the demo's view consumer")?;
    view.subscribe(&[catalogue.name(TopicRole::Anomalies)])?;

    let (line_tx, mut line_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let writer_config = config.clone();
    let sim_lines = line_tx.clone();
    let speedup = options.speedup;
    let sim_stop = stopped(stop_rx.clone());
    let simulator = tokio::spawn(async move {
        let mut announced = 0usize;
        crate::simulate::sink::write_to_kafka(
            &mut sim,
            &writer_config,
            Some(speedup),
            sim_stop,
            |tick| {
                let Some(at) = tick.at else { return };
                while let Some(incident) = incidents.get(announced) {
                    let starts =
                        start + chrono::Duration::from_std(incident.at).unwrap_or_default();
                    if starts > at {
                        break;
                    }
                    announced += 1;
                    let _ = sim_lines.send(format!(
                        "{:<8} {:<19} injected {} of {} on {}",
                        starts.format("%H:%M:%S"),
                        format!("{}/{}", incident.cluster_id, incident.node_id),
                        serde_json::to_value(incident.kind)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        incident.magnitude,
                        incident.metric.field(),
                    ));
                }
            },
        )
        .await
    });

    let deadline = options.duration.map(|d| tokio::time::Instant::now() + d);
    let mut status = tokio::time::interval(Duration::from_secs(10));
    status.tick().await;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let until_deadline = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = until_deadline => break,
            Some(line) = line_rx.recv() => writeln!(out, "{line}")?,
            message = view.recv() => show(out, message)?,
            _ = status.tick() => {
                let s = stats.snapshot();
                writeln!(out, "-- {} events, {} windows closed, {} decisions published, {} held \
                    back by confidence, {} answered by the fallback, {} dead letters",
                    s.events_ok, s.windows_closed, s.decisions_acked, s.decisions_rejected,
                    s.fallbacks, s.dead_letters)?;
            }
        }
        out.flush()?;
    }

    writeln!(out, "\nstopping...")?;
    let _ = stop_tx.send(true);
    drop(line_tx);
    pipeline.await.context("pipeline task")??;
    simulator.await.context("simulator task")??;
    if let Some(engine) = engine {
        engine.await.context("engine task")??;
    }
    let s = stats.snapshot();
    writeln!(
        out,
        "done: {} events, {} windows closed, {} decisions published",
        s.events_ok, s.windows_closed, s.decisions_acked
    )?;
    Ok(())
}

/// Starts the reference engine on a free loopback port with a fresh token, and points
/// `config.engine` at it.
async fn start_engine(
    config: &mut Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("bind the demo's engine server")?;
    let token = hex::encode(rand::thread_rng().gen::<[u8; 16]>());
    config.engine.enabled = true;
    config.engine.url = format!("http://{}", listener.local_addr()?);
    config.engine.token = Some(crate::engine::http::Secret::new(token.clone()));
    let options = crate::engine::server::ServerOptions {
        token: Some(token),
        anomaly: config.anomaly.clone(),
        ..Default::default()
    };
    Ok(tokio::spawn(crate::engine::server::serve(
        listener, options, shutdown,
    )))
}

/// Prints one anomaly the view consumed.
fn show(
    out: &mut (dyn Write + Send),
    message: Result<rdkafka::message::BorrowedMessage<'_>, rdkafka::error::KafkaError>,
) -> std::io::Result<()> {
    match message {
        Ok(m) => {
            match event::decode::<Anomaly>(m.payload().unwrap_or_default(), event::Encoding::Json) {
                Ok(anomaly) => writeln!(out, "{}", describe(&anomaly))?,
                Err(error) => tracing::warn!(%error, "undecodable anomaly"),
            }
        }
        Err(error) => tracing::warn!(%error, "demo view consume failed"),
    }
    Ok(())
}

/// One line of the live view.
pub fn describe(a: &Anomaly) -> String {
    let what = a
        .metrics
        .iter()
        .map(|m| format!("{} {:.2}->{:.2}", m.metric, m.baseline, m.value))
        .collect::<Vec<_>>()
        .join(", ");
    let source = match a.header.source {
        crate::event::Source::Engine => "engine",
        crate::event::Source::Builtin => "built-in",
    };
    format!(
        "{:<8} {:<19} {:<12} {:<9} {:<5.2} {} (window {}-{}, {source})",
        a.detected_at.format("%H:%M:%S"),
        a.header.scope,
        serde_json::to_value(a.anomaly_type)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        a.severity.as_str(),
        a.header.confidence,
        what,
        a.header.window.start.format("%H:%M"),
        a.header.window.end.format("%H:%M"),
    )
}
