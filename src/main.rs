//! The `fabric-ai` command line: parse arguments, set up logging, run one subcommand, map the
//! outcome to an exit code.

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use fabric_ai::config::Config;
use fabric_ai::simulate::{Incident, SimConfig, Simulator};
use fabric_ai::topics::Catalogue;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// fabric-ai: compute-fabric telemetry in, windowed decisions out, over Kafka.
#[derive(Debug, Parser)]
#[command(name = "fabric-ai", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run everything in-process (mock broker, simulator, processor) with a live view.
    Demo(DemoArgs),
    /// Consume telemetry and job events from Kafka and publish decisions.
    Run(RunArgs),
    /// Re-run recorded telemetry and job events (JSON lines) offline, on event time only.
    Replay(Box<ReplayArgs>),
    /// Produce simulated telemetry and job events, with injected incidents, to Kafka.
    Simulate(SimulateArgs),
    /// Manage the topics declared in `topics/`.
    #[command(subcommand)]
    Topics(TopicsCommand),
    /// Check or print configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run the reference AI Engine.
    #[command(subcommand)]
    Engine(EngineCommand),
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Clusters to simulate.
    #[arg(long, default_value_t = 2)]
    clusters: usize,
    /// Nodes per cluster.
    #[arg(long, default_value_t = 4)]
    nodes: usize,
    /// Event seconds per wall second.
    #[arg(long, default_value_t = 60.0)]
    speedup: f64,
    /// Stop after this long (e.g. "2m"); runs until Ctrl-C when absent.
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Answer windows with the built-in engine in-process instead of the reference engine
    /// server over loopback HTTP.
    #[arg(long)]
    no_engine: bool,
}

/// Where the broker is, for commands that can run without a config file.
#[derive(Debug, Args)]
struct KafkaArgs {
    /// Configuration file (TOML); defaults apply when absent.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Overrides `kafka.bootstrap_servers`.
    #[arg(long, env = "KAFKA_BOOTSTRAP")]
    bootstrap_servers: Option<String>,
    /// Overrides `kafka.topic_prefix`.
    #[arg(long)]
    topic_prefix: Option<String>,
}

impl KafkaArgs {
    fn load(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        if let Some(servers) = &self.bootstrap_servers {
            config.kafka.bootstrap_servers = servers.clone();
        }
        if let Some(prefix) = &self.topic_prefix {
            config.kafka.topic_prefix = prefix.clone();
        }
        config.validate()?;
        Ok(config)
    }
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Configuration file (TOML).
    #[arg(long, short)]
    config: PathBuf,
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// Telemetry samples, one JSON object per line (repeatable: one partition per file).
    #[arg(long)]
    telemetry: Vec<PathBuf>,
    /// Job events, one JSON object per line (repeatable).
    #[arg(long)]
    jobs: Vec<PathBuf>,
    /// A labelled series, `timestamp,value` CSV as in NAB (repeatable), replayed as the
    /// telemetry of node `<file stem>` in cluster `--series-cluster`.
    #[arg(long)]
    series: Vec<PathBuf>,
    /// Cluster of the series' nodes.
    #[arg(long, default_value = "series")]
    series_cluster: String,
    /// The metric a series' values become (`cpu_util`, `throughput_ops`, ...).
    #[arg(long, default_value = "cpu_util")]
    series_metric: String,
    /// Every series value is divided by this first (100 turns percent into a fraction).
    #[arg(long, default_value_t = 100.0)]
    series_divisor: f64,
    /// Added to every series value before the division (lifts a series that dips below 0).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    series_offset: f64,
    /// Read the configuration's input topics (telemetry and job events), each partition
    /// from `--start` to `--end`, with a consumer group of the replay's own.
    #[arg(long)]
    topics: bool,
    /// Where each topic partition's read starts: `beginning`, `offset:N` or an RFC 3339 time.
    #[arg(long, default_value = "beginning", requires = "topics")]
    start: String,
    /// Where it ends (exclusive): `end` (the log's end when the replay starts), `offset:N`
    /// or an RFC 3339 time.
    #[arg(long, default_value = "end", requires = "topics")]
    end: String,
    /// Who answers the windows: `builtin`, or `http` (the `[engine]` of the configuration).
    #[arg(long, default_value = "builtin", value_parser = ["builtin", "http"])]
    engine: String,
    /// Answer from the answers a run recorded: an audit file of JSON lines, `topic` (the
    /// configuration's audit topic) or `topic:NAME`.
    #[arg(long, conflicts_with = "engine")]
    answers: Option<String>,
    /// Directory the outputs are written to, one JSON-lines file per output topic.
    #[arg(
        long,
        required_unless_present = "out_topics",
        conflicts_with = "out_topics"
    )]
    out: Option<PathBuf>,
    /// Write the outputs to topics under this prefix instead (created when missing).
    #[arg(long)]
    out_topics: Option<String>,
    /// Allow `--out-topics` to be the live prefix (`kafka.topic_prefix`): the replay's
    /// decisions then reach the live actuators.
    #[arg(long, requires = "out_topics")]
    allow_live_topics: bool,
    /// No progress display.
    #[arg(long)]
    no_progress: bool,
    /// Configuration file (TOML); the defaults when absent.
    #[arg(long, short)]
    config: Option<PathBuf>,
    #[command(flatten)]
    report: ReportArgs,
    #[command(flatten)]
    scoring: ScoringArgs,
}

/// Label scoring of the replay's per-sample anomaly scores (the `labels` section).
#[derive(Debug, Args)]
struct ScoringArgs {
    /// Incident windows: NAB `windows.json` (by series file stem) or a `start,end[,scope]`
    /// CSV, chosen by extension; scores every node's samples against them.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Score at or above which a sample counts as a detection; the configuration's
    /// `anomaly.threshold` (the detector's alarm point) when absent.
    #[arg(long)]
    threshold: Option<f64>,
    /// Write every sample's anomaly score to `<out>/anomaly_scores.csv`.
    #[arg(long)]
    export_scores: bool,
}

/// Comparison with recorded decisions and the report (docs/replay.md, "Comparison and
/// report").
#[derive(Debug, Args)]
struct ReportArgs {
    /// Recorded decisions to compare with: a directory of `<role>.jsonl` files as `replay`
    /// writes them, or one JSON-lines file of decisions of any kinds.
    #[arg(long, value_name = "PATH")]
    baseline: Option<PathBuf>,
    /// Recorded decisions to compare with, read from the decision topics under this prefix
    /// (`""` for no prefix), as they stand when the replay starts.
    #[arg(long, value_name = "PREFIX", conflicts_with = "baseline")]
    baseline_topics: Option<String>,
    /// How far confidences may differ (absolute), and predicted values (relative), before a
    /// matched decision counts as changed.
    #[arg(
        long,
        value_name = "F",
        default_value_t = fabric_ai::replay::compare::DEFAULT_TOLERANCE
    )]
    tolerance: f64,
    /// Directory for `report.json` and `report.html`; the `--out` directory when absent.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Exit with status 4 when this holds of the report: `PATH OP NUMBER`, OP one of < <= >
    /// >=, e.g. 'baseline.overall.agreement<0.95' (repeatable).
    #[arg(
        long = "fail-if",
        value_name = "RULE",
        value_parser = fabric_ai::replay::report::FailRule::parse
    )]
    fail_if: Vec<fabric_ai::replay::report::FailRule>,
}

/// The exit status of `replay` when a `--fail-if` rule trips.
const EXIT_RULE_TRIPPED: u8 = 4;

#[derive(Debug, Args)]
struct SimulateArgs {
    #[command(flatten)]
    kafka: KafkaArgs,
    /// Clusters to simulate.
    #[arg(long, default_value_t = 2)]
    clusters: usize,
    /// Nodes per cluster.
    #[arg(long, default_value_t = 4)]
    nodes: usize,
    /// Sampling period of each node.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    period: Duration,
    /// Event time to cover; runs until Ctrl-C when absent.
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Event time of the first sample (RFC 3339); the current minute when absent.
    #[arg(long)]
    start: Option<String>,
    /// Seed: the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Event seconds per wall second; 0 writes as fast as the broker takes it.
    #[arg(long, default_value_t = 0.0)]
    speedup: f64,
    /// An incident: KIND:CLUSTER/NODE:AT[:METRIC[:MAGNITUDE[:DURATION]]], KIND one of spike,
    /// level_shift, slow_leak, node_silent. Repeatable.
    #[arg(long = "incident", value_parser = Incident::parse)]
    incidents: Vec<Incident>,
    /// Mean time between job arrivals per cluster; "0s" turns jobs off.
    #[arg(long, default_value = "1m", value_parser = humantime::parse_duration)]
    job_interarrival: Duration,
    /// Write the injected incidents (the ground truth) to this JSON file.
    #[arg(long)]
    truth: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum TopicsCommand {
    /// Create missing topics and report drift; never deletes or alters.
    Apply(TopicsApplyArgs),
}

#[derive(Debug, Args)]
struct TopicsApplyArgs {
    #[command(flatten)]
    kafka: KafkaArgs,
    /// Read topic declarations from this directory instead of the compiled-in ones.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Print the plan without creating anything.
    #[arg(long)]
    dry_run: bool,
    /// Override the declared partition count of every topic.
    #[arg(long)]
    partitions: Option<i32>,
    /// Override the declared replication factor of every topic.
    #[arg(long)]
    replication_factor: Option<i32>,
    /// Exit with status 3 when a live topic differs from its declaration.
    #[arg(long)]
    fail_on_drift: bool,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file; prints the effective configuration.
    Check {
        /// The file.
        file: PathBuf,
    },
    /// Print the default configuration as TOML.
    Defaults,
}

#[derive(Debug, Subcommand)]
enum EngineCommand {
    /// Serve the five engine endpoints over HTTP, answered by the built-in algorithms.
    Serve(EngineServeArgs),
}

#[derive(Debug, Args)]
struct EngineServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8095")]
    listen: std::net::SocketAddr,
    /// Environment variable holding the bearer token requests must present. Without this
    /// flag, FABRIC_AI_ENGINE_TOKEN is used when set; otherwise no token is required. The
    /// token is never taken from a flag, so it does not show in `ps`.
    #[arg(long, value_name = "VAR")]
    token_env: Option<String>,
    /// Largest request body accepted, bytes.
    #[arg(long, default_value_t = fabric_ai::engine::server::DEFAULT_MAX_REQUEST_BYTES)]
    max_request_bytes: usize,
    /// Configuration file (TOML) whose `[anomaly]` settings the detector uses; defaults
    /// apply when absent.
    #[arg(long, short)]
    config: Option<PathBuf>,
}

/// The default environment variable of `engine serve --token-env`.
const DEFAULT_TOKEN_ENV: &str = "FABRIC_AI_ENGINE_TOKEN";

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.init();
    } else {
        builder.json().init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = if matches!(cli.command, Command::Demo(_)) {
        "warn"
    } else {
        "info"
    };
    init_tracing(default_level);
    match dispatch(cli.command).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("fabric-ai: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Demo(args) => {
            let options = fabric_ai::demo::DemoOptions {
                clusters: args.clusters.max(1),
                nodes: args.nodes.max(1),
                speedup: args.speedup,
                duration: args.duration,
                seed: args.seed,
                engine: !args.no_engine,
            };
            let mut stdout = std::io::stdout();
            fabric_ai::demo::run(options, &mut stdout).await?;
        }
        Command::Run(args) => {
            let config = Config::load(&args.config)?;
            let stats = Arc::new(fabric_ai::stats::Stats::default());
            fabric_ai::pipeline::run(config, stats, shutdown_signal()).await?;
        }
        Command::Replay(args) => return replay(*args).await,
        Command::Simulate(args) => simulate(args).await?,
        Command::Topics(TopicsCommand::Apply(args)) => return topics_apply(args).await,
        Command::Config(ConfigCommand::Check { file }) => {
            let config = Config::load(&file)?;
            print!("{}", config.to_toml());
            eprintln!("{}: ok", file.display());
        }
        Command::Config(ConfigCommand::Defaults) => print!("{}", Config::default().to_toml()),
        Command::Engine(EngineCommand::Serve(args)) => engine_serve(args).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown requested");
}

async fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    let config = args.kafka.load()?;
    let start = match &args.start {
        Some(text) => fabric_ai::event::time::parse(text)
            .with_context(|| format!("--start `{text}` is not an RFC 3339 timestamp"))?,
        None => chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() / 60 * 60, 0)
            .context("current time out of range")?,
    };
    let mut sim = Simulator::new(SimConfig {
        clusters: args.clusters,
        nodes: args.nodes,
        period: args.period,
        start,
        duration: args.duration,
        seed: args.seed,
        job_interarrival: (!args.job_interarrival.is_zero()).then_some(args.job_interarrival),
        incidents: args.incidents,
    });
    if let Some(path) = &args.truth {
        let truth = serde_json::to_string_pretty(&sim.ground_truth())?;
        std::fs::write(path, truth + "\n").with_context(|| format!("write {}", path.display()))?;
    }
    let speedup = (args.speedup > 0.0).then_some(args.speedup);
    let report = fabric_ai::simulate::sink::write_to_kafka(
        &mut sim,
        &config,
        speedup,
        shutdown_signal(),
        |_| {},
    )
    .await?;
    tracing::info!(
        ticks = report.ticks,
        samples = report.samples,
        job_events = report.job_events,
        "simulation written"
    );
    Ok(())
}

async fn engine_serve(args: EngineServeArgs) -> anyhow::Result<()> {
    let token = match &args.token_env {
        // A named variable must be set: starting unprotected by mistake is worse than not
        // starting.
        Some(var) => Some(
            std::env::var(var)
                .with_context(|| format!("--token-env {var}: environment variable not set"))?,
        ),
        None => std::env::var(DEFAULT_TOKEN_ENV).ok(),
    };
    if token.as_deref() == Some("") {
        anyhow::bail!("engine token is empty; unset the variable to run without a token");
    }
    let anomaly = match &args.config {
        Some(path) => Config::load(path)?.anomaly,
        None => Config::default().anomaly,
    };
    let options = fabric_ai::engine::server::ServerOptions {
        token,
        max_request_bytes: args.max_request_bytes,
        anomaly,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listen on {}", args.listen))?;
    fabric_ai::engine::server::serve(listener, options, shutdown_signal())
        .await
        .context("engine server")?;
    Ok(())
}

async fn topics_apply(args: TopicsApplyArgs) -> anyhow::Result<ExitCode> {
    let config = args.kafka.load()?;
    let prefix = &config.kafka.topic_prefix;
    let mut catalogue = match &args.dir {
        Some(dir) => Catalogue::from_dir(dir, prefix)?,
        None => Catalogue::built_in(prefix)?,
    };
    if let Some(p) = args.partitions {
        catalogue = catalogue.with_partitions(p);
    }
    if let Some(rf) = args.replication_factor {
        catalogue = catalogue.with_replication_factor(rf);
    }
    let admin = fabric_ai::bus::admin::admin_client(&config.kafka)?;
    let plan = fabric_ai::bus::admin::plan(&admin, &catalogue).await?;
    for action in &plan.actions {
        println!("{action}");
    }
    if args.dry_run {
        println!("dry run: {} to create, nothing changed", plan.creates());
    } else {
        fabric_ai::bus::admin::apply(&admin, &plan).await?;
        println!("{} created", plan.creates());
    }
    if plan.has_drift() && args.fail_on_drift {
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

async fn replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    use fabric_ai::pipeline::replay::{
        ReplayEngine, ReplayInput, ReplayOptions, ReplayOutput, ReplaySources, SeriesInput,
        TopicRange,
    };
    use fabric_ai::replay::input::SeriesMapping;
    use fabric_ai::replay::kafka::Bound;
    use fabric_ai::topics::TopicRole;
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let inputs: Vec<ReplayInput> = args
        .telemetry
        .iter()
        .map(|p| (TopicRole::Telemetry, p))
        .chain(args.jobs.iter().map(|p| (TopicRole::JobEvents, p)))
        .map(|(role, path)| ReplayInput {
            role,
            path: path.clone(),
        })
        .collect();
    let metric = fabric_ai::event::Metric::parse(&args.series_metric)
        .with_context(|| format!("--series-metric: no metric named {}", args.series_metric))?;
    let series: Vec<SeriesInput> = args
        .series
        .iter()
        .map(|path| SeriesInput {
            path: path.clone(),
            mapping: SeriesMapping {
                cluster_id: args.series_cluster.clone(),
                node_id: path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "series".into()),
                metric,
                divisor: args.series_divisor,
                offset: args.series_offset,
            },
        })
        .collect();
    anyhow::ensure!(
        !inputs.is_empty() || !series.is_empty() || args.topics,
        "replay needs --topics or at least one --telemetry, --jobs or --series file"
    );
    let topics = if args.topics {
        let bound =
            |flag: &str, text: &str| Bound::parse(text).map_err(|e| anyhow::anyhow!("{flag}: {e}"));
        Some(TopicRange {
            start: bound("--start", &args.start)?,
            end: bound("--end", &args.end)?,
        })
    } else {
        None
    };
    let sources = ReplaySources {
        files: inputs,
        series,
        topics,
    };
    let engine = match (&args.answers, args.engine.as_str()) {
        (Some(source), _) => {
            let answers = match source.strip_prefix("topic") {
                Some(rest) if rest.is_empty() || rest.starts_with(':') => {
                    let catalogue = Catalogue::built_in(&config.kafka.topic_prefix)?;
                    let topic = rest
                        .strip_prefix(':')
                        .unwrap_or(catalogue.name(fabric_ai::topics::TopicRole::Audit));
                    fabric_ai::replay::answers::from_topic(&config, topic)?
                }
                _ => fabric_ai::replay::answers::from_file(std::path::Path::new(source))?,
            };
            eprintln!("{} recorded answers loaded from {source}", answers.len());
            ReplayEngine::Recorded(Arc::new(answers))
        }
        (None, "http") => ReplayEngine::Http,
        (None, _) => ReplayEngine::Builtin,
    };
    let out = match (&args.out, &args.out_topics) {
        (Some(dir), _) => ReplayOutput::Files(dir.clone()),
        (None, Some(prefix)) => {
            if prefix != &config.kafka.topic_prefix || args.allow_live_topics {
                create_output_topics(&config, prefix).await?;
            }
            ReplayOutput::Topics {
                prefix: prefix.clone(),
                allow_live: args.allow_live_topics,
            }
        }
        (None, None) => anyhow::bail!("replay needs --out DIR or --out-topics PREFIX"),
    };
    let destination = match &out {
        ReplayOutput::Files(dir) => format!("outputs in {}", dir.display()),
        ReplayOutput::Topics { prefix, .. } => format!("outputs on the topics under {prefix}"),
    };
    let options = ReplayOptions {
        out,
        engine,
        progress: !args.no_progress,
    };
    // Evaluations are built before the replay, so a bad baseline or labels file fails first.
    let (mut observers, export, charts) = evaluations(&args, &config, &sources)?;
    let started = std::time::Instant::now();
    let mut observed = (&mut observers, export);
    let s = tokio::task::block_in_place(|| {
        fabric_ai::pipeline::replay::replay_with(config, &sources, &options, &mut observed)
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let (_, export) = observed;
    if let Some(rows) = export.map(|e| e.finish()).transpose()? {
        eprintln!("exported {rows} sample scores");
    }
    let events = s.events_ok + s.dead_letters;
    eprintln!(
        "replayed {events} events ({} dead letters, {} late) in {seconds:.2} s \
         ({:.0} events/s): {} windows, {} decisions published, {} held back by confidence, \
         {} answered by the built-in engine standing in; {destination}",
        s.dead_letters,
        s.late_events,
        events as f64 / seconds.max(1e-9),
        s.windows_closed,
        s.decisions_out,
        s.decisions_rejected,
        s.fallbacks,
    );
    write_report(&args.report, args.out.as_deref(), &s, &observers, &charts)
}

/// Writes `report.json` and `report.html`, prints a line per section, and checks the
/// `--fail-if` rules: exit status 4 when one trips.
fn write_report(
    args: &ReportArgs,
    out: Option<&std::path::Path>,
    stats: &fabric_ai::stats::StatsSnapshot,
    observers: &fabric_ai::replay::observer::Observers,
    charts: &fabric_ai::replay::series::SeriesHandle,
) -> anyhow::Result<ExitCode> {
    use fabric_ai::replay::report::{section_line, Report};
    let report = Report::new(stats, observers.sections());
    for (name, section) in &report.sections {
        eprintln!("{}", section_line(name, section));
    }
    let failed = report
        .sections
        .iter()
        .find_map(|(name, s)| Some((name, s.get("error")?.as_str()?.to_owned())));
    // With outputs to topics and no --report, the report is checked but not written.
    if let Some(dir) = args.report.as_deref().or(out) {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        report.write_json(&dir.join("report.json"))?;
        fabric_ai::replay::html::write_html(&dir.join("report.html"), &report, &charts.charts())?;
        eprintln!("report in {}", dir.join("report.json").display());
    }
    // A section that could not be computed fails the command, once the report is written.
    if let Some((name, error)) = failed {
        anyhow::bail!("evaluation {name}: {error}");
    }
    let tripped = report.check(&args.fail_if)?;
    for t in &tripped {
        eprintln!("fail-if tripped: {t}");
    }
    if tripped.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(EXIT_RULE_TRIPPED))
    }
}

/// Creates the output topics under `prefix` that are missing, as `topics apply` would.
async fn create_output_topics(config: &Config, prefix: &str) -> anyhow::Result<()> {
    use fabric_ai::bus::admin::TopicAction;
    let catalogue = Catalogue::built_in(prefix)?;
    let outputs: Vec<&str> = fabric_ai::topics::TopicRole::ALL
        .iter()
        .filter(|r| !r.is_input())
        .map(|r| catalogue.name(*r))
        .collect();
    let admin = fabric_ai::bus::admin::admin_client(&config.kafka)?;
    let mut plan = fabric_ai::bus::admin::plan(&admin, &catalogue).await?;
    plan.actions.retain(|a| match a {
        TopicAction::Create(spec) => outputs.contains(&spec.name.as_str()),
        _ => false,
    });
    fabric_ai::bus::admin::apply(&admin, &plan).await?;
    Ok(())
}

/// The evaluations a replay runs (label scoring when `--labels` is given, forecast and scaling
/// accuracy when the prediction and scaling processors run) and the score export.
fn evaluations(
    args: &ReplayArgs,
    config: &Config,
    sources: &fabric_ai::pipeline::replay::ReplaySources,
) -> anyhow::Result<(
    fabric_ai::replay::observer::Observers,
    Option<fabric_ai::replay::score_export::ScoreExport>,
    fabric_ai::replay::series::SeriesHandle,
)> {
    use fabric_ai::replay::labels::{LabelSet, LabelsEvaluation};
    let scoring = &args.scoring;
    let mut observers = fabric_ai::replay::observer::Observers::default();
    let series = fabric_ai::replay::series::SeriesCollector::new();
    let charts = series.handle();
    observers.evaluations.push(Box::new(series));
    let tolerance = args.report.tolerance;
    if let Some(path) = &args.report.baseline {
        let baseline = fabric_ai::replay::compare::BaselineComparison::load(path, tolerance)?;
        observers.evaluations.push(Box::new(baseline));
    }
    if let Some(prefix) = &args.report.baseline_topics {
        let baseline = tokio::task::block_in_place(|| {
            fabric_ai::replay::baseline_topics::load(config, prefix, tolerance)
        })?;
        observers.evaluations.push(Box::new(baseline));
    }
    if let Some(path) = &scoring.labels {
        let threshold = scoring.threshold.unwrap_or(config.anomaly.threshold);
        anyhow::ensure!(threshold.is_finite(), "--threshold must be a finite number");
        let labels = LabelSet::load(path)?;
        labels.check_series(sources.series.iter().map(|s| s.mapping.node_id.as_str()))?;
        observers
            .evaluations
            .push(Box::new(LabelsEvaluation::new(labels, threshold)));
    }
    if config.processors.enable_prediction {
        observers.evaluations.push(Box::new(
            fabric_ai::replay::forecast_eval::ForecastEvaluation::new(config.prediction.interval),
        ));
    }
    if config.processors.enable_scaling {
        observers.evaluations.push(Box::new(
            fabric_ai::replay::scaling_eval::ScalingEvaluation::new(config.scaling.clone()),
        ));
    }
    let export = match (&args.out, scoring.export_scores) {
        (Some(out), true) => Some(fabric_ai::replay::score_export::ScoreExport::create(out)?),
        (None, true) => anyhow::bail!("--export-scores writes into --out; give it a directory"),
        (_, false) => None,
    };
    Ok((observers, export, charts))
}
