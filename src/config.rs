//! Configuration: one TOML file, strict, with named defaults and checks run once at start-up.
//!
//! Unknown keys are errors, durations are human-readable (`"30s"`, `"2m"`), and a check that
//! involves two settings names both. [`Config::load`] is the only way in, so every running
//! component sees a validated configuration.

use crate::engine::gate::GatingConfig;
use crate::engine::http::EngineHttpConfig;
use crate::engine::request::{Constraints, Goals};
use crate::event::{Encoding, Metric};
use crate::topics::TopicRole;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Why a configuration was refused. Always the operator's to fix; never retriable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("read config {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("parse config {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message, which names the key and line.
        message: String,
    },
    /// A value is out of range, or two values contradict each other.
    #[error("invalid config: `{field}`: {reason}")]
    Invalid {
        /// The field (or fields) at fault.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(field: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the broker is and how to talk to it.
    pub kafka: KafkaConfig,
    /// Wire encoding per topic role; JSON when absent.
    pub encoding: BTreeMap<TopicRole, Encoding>,
    /// Event-time settings shared by every windowed stage.
    pub windows: WindowConfig,
    /// Delivery and flow-control settings.
    pub processing: ProcessingConfig,
    /// Which processors run.
    pub processors: ProcessorsConfig,
    /// The anomaly processor.
    pub anomaly: AnomalyConfig,
    /// The performance processor.
    pub performance: PerformanceConfig,
    /// The workload processor.
    pub workload: WorkloadConfig,
    /// The prediction processor.
    pub prediction: PredictionConfig,
    /// The scaling processor.
    pub scaling: ScalingConfig,
    /// The remote AI Engine; the built-in engine answers when it is disabled or cannot.
    pub engine: EngineHttpConfig,
    /// Confidence thresholds of the decisions that are acted on.
    pub gating: GatingConfig,
    /// The operations endpoints (`/metrics`, `/healthz`, `/readyz`).
    pub ops: OpsConfig,
    /// The two feedback loops: effectiveness of applied decisions, accuracy of predictions.
    pub feedback: FeedbackConfig,
    /// Recommendations across clusters, from every cluster's window summaries.
    pub federation: FederationConfig,
}

/// The feedback loops' memory bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedbackConfig {
    /// Published recommendations and scaling decisions remembered for outcomes; the oldest
    /// is forgotten first (an outcome for it then counts as `unknown`).
    pub max_tracked_decisions: usize,
    /// Forecast horizons waiting for their window; new ones are not tracked past this.
    pub max_pending_predictions: usize,
    /// Evaluations per resource and horizon in the rolling accuracy metrics.
    pub accuracy_window: usize,
}

impl Default for FeedbackConfig {
    fn default() -> Self {
        FeedbackConfig {
            max_tracked_decisions: 10_000,
            max_pending_predictions: 200_000,
            accuracy_window: 256,
        }
    }
}

/// The federation processor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationConfig {
    /// Publish this member's cluster summaries, and recommend moves when assigned the
    /// federation topic.
    pub enable: bool,
    /// A cluster is hot at or above this mean CPU utilisation.
    pub hot_cpu: f64,
    /// A cluster is cold at or below this mean CPU utilisation.
    pub cold_cpu: f64,
    /// A window of summaries closes once a summary this much later (by window start) arrives,
    /// so that slower members' clusters are still in it.
    #[serde(with = "humantime_serde")]
    pub grace: Duration,
    /// Clusters kept per window; summaries of further clusters are ignored and counted.
    pub max_clusters: usize,
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig {
            enable: true,
            hot_cpu: 0.8,
            cold_cpu: 0.5,
            grace: Duration::from_secs(300),
            max_clusters: 1_000,
        }
    }
}

/// The operations endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsConfig {
    /// Address the endpoints listen on (`host:port`); empty serves none.
    pub listen: String,
    /// `/readyz` fails when the processing loop has not come round for this long.
    #[serde(with = "humantime_serde")]
    pub stall_after: Duration,
}

impl Default for OpsConfig {
    fn default() -> Self {
        OpsConfig {
            listen: String::new(),
            stall_after: Duration::from_secs(30),
        }
    }
}

/// Environment variables with this prefix override the file: `FABRIC_AI__SECTION__KEY=value`
/// sets `key` of `[section]` (deeper tables take more `__`-separated parts; names are
/// lowercased). The value is read as a TOML value (`5`, `true`, `"5m"`, `[1, 2]`) and, when it
/// is not one, as a string.
pub const ENV_PREFIX: &str = "FABRIC_AI__";

/// Kafka connection settings. Its `Debug` form and [`Config::to_toml`] mask the values of
/// secret client settings (see [`is_secret_setting`]).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// `bootstrap.servers`.
    pub bootstrap_servers: String,
    /// Consumer group of the processor.
    pub group_id: String,
    /// Put in front of every topic name in `topics/`.
    pub topic_prefix: String,
    /// `session.timeout.ms` of the consumer.
    #[serde(with = "humantime_serde")]
    pub session_timeout: Duration,
    /// Extra librdkafka properties (TLS, SASL, tuning). Keys that fabric-ai sets itself are
    /// refused, so a passthrough cannot silently break delivery guarantees.
    pub client: BTreeMap<String, String>,
}

/// Whether a librdkafka setting holds a secret (passwords, keys, OAuth secrets), so its
/// value is masked wherever the configuration is printed.
pub fn is_secret_setting(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password")
        || key.contains("secret")
        || key == "ssl.key.pem"
        || key == "sasl.oauthbearer.config"
        || key == "sasl.jaas.config"
}

/// What a masked secret prints as.
pub const MASKED: &str = "********";

impl KafkaConfig {
    /// The client settings with secret values masked.
    pub fn masked_client(&self) -> BTreeMap<String, String> {
        self.client
            .iter()
            .map(|(k, v)| {
                let v = if is_secret_setting(k) {
                    MASKED
                } else {
                    v.as_str()
                };
                (k.clone(), v.to_owned())
            })
            .collect()
    }
}

impl std::fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("group_id", &self.group_id)
            .field("topic_prefix", &self.topic_prefix)
            .field("session_timeout", &self.session_timeout)
            .field("client", &self.masked_client())
            .finish()
    }
}

/// librdkafka properties fabric-ai owns; setting them in `kafka.client` is an error.
pub const RESERVED_CLIENT_KEYS: &[&str] = &[
    "bootstrap.servers",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.offset.reset",
    "session.timeout.ms",
    "isolation.level",
    "transactional.id",
    "enable.idempotence",
    "acks",
];

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            bootstrap_servers: "127.0.0.1:9092".into(),
            group_id: "fabric-ai".into(),
            topic_prefix: String::new(),
            // librdkafka's own default.
            session_timeout: Duration::from_secs(45),
            client: BTreeMap::new(),
        }
    }
}

/// Event-time settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowConfig {
    /// How far behind the largest event time seen an event may arrive and still be on time.
    #[serde(with = "humantime_serde")]
    pub out_of_orderness: Duration,
    /// A partition with no data for this long (wall clock) stops holding the watermark back.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Events this far past their window's end (behind the watermark) still revise it; the
    /// window is emitted again with a higher revision. Beyond it they are late.
    #[serde(with = "humantime_serde")]
    pub allowed_lateness: Duration,
    /// A window not closed by the watermark this long (wall clock) after its size has elapsed
    /// since its first event is closed anyway, so a quiet input still gets decisions.
    #[serde(with = "humantime_serde")]
    pub max_wait: Duration,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            out_of_orderness: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(10),
            allowed_lateness: Duration::ZERO,
            max_wait: Duration::from_secs(60),
        }
    }
}

/// What a consumer of the output topics may rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guarantee {
    /// Every decision is published; after a crash some may be published again, with the same
    /// id.
    #[default]
    AtLeastOnce,
    /// Outputs and consumed offsets commit atomically in Kafka transactions: a
    /// `read_committed` consumer sees each decision once.
    ExactlyOnce,
}

/// Delivery and flow control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessingConfig {
    /// Delivery guarantee.
    pub guarantee: Guarantee,
    /// Transactional id for `exactly_once`: stable across restarts of one instance, unique
    /// within the group. `<group_id>-<host name>` when unset.
    pub transactional_id: Option<String>,
    /// How often committable offsets are committed.
    #[serde(with = "humantime_serde")]
    pub commit_interval: Duration,
    /// Outputs awaiting the broker's acknowledgement before input is paused.
    pub max_in_flight: usize,
    /// Open keys (nodes) beyond which new keys are refused, bounding memory.
    pub max_open_keys: usize,
    /// Input messages larger than this are dead-lettered without being decoded. Their dead
    /// letter carries the bytes, so keep it well under the dead-letter topic's
    /// `max.message.bytes` (1 MB by default; base64 makes the payload a third larger).
    pub max_message_bytes: usize,
    /// Whether every answered window's answer goes to the audit topic (a `window_answered`
    /// record), so `replay --answers` can reproduce the run exactly, engine included.
    pub record_answers: bool,
}

impl Default for ProcessingConfig {
    fn default() -> Self {
        ProcessingConfig {
            guarantee: Guarantee::AtLeastOnce,
            transactional_id: None,
            commit_interval: Duration::from_secs(1),
            max_in_flight: 10_000,
            max_open_keys: 1_000_000,
            max_message_bytes: 256 * 1024,
            record_answers: true,
        }
    }
}

/// Which processors run (`enable_*` flags).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessorsConfig {
    /// Per-node anomaly detection.
    pub enable_anomaly: bool,
    /// Cluster performance recommendations.
    pub enable_performance: bool,
    /// Workload insights per cluster and job type.
    pub enable_workload: bool,
    /// Resource predictions per node and cluster.
    pub enable_prediction: bool,
    /// Scaling decisions per cluster.
    pub enable_scaling: bool,
}

impl Default for ProcessorsConfig {
    fn default() -> Self {
        ProcessorsConfig {
            enable_anomaly: true,
            enable_performance: true,
            enable_workload: true,
            enable_prediction: true,
            enable_scaling: true,
        }
    }
}

/// The anomaly processor and its built-in detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyConfig {
    /// Window size (tumbling).
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Score (0..1) at or above which a sample alarms; the same number `replay --labels`
    /// scores detections at unless `--threshold` is given.
    pub threshold: f64,
    /// Deviation, in robust standard deviations, at which a sample's raw score is full (1).
    pub z_threshold: f64,
    /// Samples per metric the detector learns from before it may alarm.
    pub warmup_samples: u32,
    /// Consecutive deviant samples on one side after which the last of them is the new level.
    pub confirm_samples: u32,
    /// After an alarm on a metric, its next this many samples score 0 (one alarm per
    /// incident).
    pub holdoff_samples: u32,
    /// Weight of a new (clipped) residual in the level, 0..1.
    pub baseline_alpha: f64,
    /// A node whose last sample is this far behind the watermark (or, when the watermark
    /// stalls, this long plus `windows.max_wait` ago on the wall clock) is reported silent.
    #[serde(with = "humantime_serde")]
    pub silence_after: Duration,
    /// Input history kept re-readable (uncommitted) so that a restart or a partition move
    /// re-reads enough samples to warm the detector up again; it should cover
    /// `warmup_samples` at the producers' sampling period. "0s" keeps none.
    #[serde(with = "humantime_serde")]
    pub relearn_history: Duration,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            interval: Duration::from_secs(120),
            threshold: 0.75,
            z_threshold: 8.0,
            warmup_samples: 100,
            confirm_samples: 6,
            holdoff_samples: 300,
            baseline_alpha: 0.1,
            silence_after: Duration::from_secs(300),
            relearn_history: Duration::from_secs(20 * 60),
        }
    }
}

/// The performance processor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PerformanceConfig {
    /// Window size (tumbling).
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Goal weights sent with every request.
    pub goals: Goals,
    /// Constraints sent with every request.
    pub constraints: Constraints,
}

impl Default for PerformanceConfig {
    fn default() -> Self {
        PerformanceConfig {
            interval: Duration::from_secs(300),
            goals: Goals {
                throughput: 1.0,
                latency: 1.0,
                balance: 1.0,
                energy: 1.0,
            },
            constraints: Constraints {
                max_cpu: 0.85,
                max_memory: 0.80,
                min_availability: 0.99,
            },
        }
    }
}

/// The workload processor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadConfig {
    /// Window size (tumbling).
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Windows of arrival counts kept per cluster and job type for seasonality detection.
    pub history_windows: usize,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            interval: Duration::from_secs(600),
            history_windows: 288,
        }
    }
}

/// The prediction processor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PredictionConfig {
    /// Window size (tumbling); also the history's resolution.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Horizons forecast, minutes after the window's end.
    pub horizons_minutes: Vec<u32>,
    /// Resources forecast, as metric field names.
    pub resources: Vec<String>,
    /// Window means kept per node and cluster (192 at 15 minutes is two days, enough for
    /// daily seasonality).
    pub history_windows: usize,
}

impl Default for PredictionConfig {
    fn default() -> Self {
        PredictionConfig {
            interval: Duration::from_secs(900),
            horizons_minutes: vec![15, 30, 60],
            resources: ["cpu_util", "memory_util", "disk_util", "network_util"]
                .map(String::from)
                .to_vec(),
            history_windows: 192,
        }
    }
}

/// The scaling processor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScalingConfig {
    /// Window size (tumbling).
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// CPU utilisation to aim for.
    pub target_utilisation: f64,
    /// Changes within this fraction of the current capacity are not made.
    pub tolerance: f64,
    /// Scaling down goes no lower than the largest capacity wanted within this long.
    #[serde(with = "humantime_serde")]
    pub scale_down_stabilisation: Duration,
    /// Fewest nodes per cluster.
    pub min_capacity: u32,
    /// Most nodes per cluster.
    pub max_capacity: u32,
    /// Running cost of one node per hour, in the operator's currency.
    pub cost_per_node_hour: f64,
    /// Windows of usage kept per cluster.
    pub history_windows: usize,
    /// The capacity model: the metric that measures demand. Each window's demand is the sum
    /// over the cluster's nodes of their mean of it; `cpu_util` (the default) counts busy
    /// nodes.
    pub demand_metric: String,
    /// The capacity model: demand one replica serves at full utilisation, in the unit of
    /// `demand_metric` (default 1: one node at 100% CPU).
    pub capacity_per_replica: f64,
    /// The capacity model: time from asking for a replica to its serving (default 0).
    #[serde(with = "humantime_serde")]
    pub startup_delay: Duration,
}

impl Default for ScalingConfig {
    fn default() -> Self {
        ScalingConfig {
            interval: Duration::from_secs(600),
            target_utilisation: 0.65,
            tolerance: 0.1,
            scale_down_stabilisation: Duration::from_secs(1800),
            min_capacity: 1,
            max_capacity: 10_000,
            cost_per_node_hour: 1.0,
            history_windows: 288,
            demand_metric: "cpu_util".into(),
            capacity_per_replica: 1.0,
            startup_delay: Duration::ZERO,
        }
    }
}

/// Sets `keys` (a dotted path) in `table` to `value`, creating tables on the way.
fn set_path(table: &mut toml::Table, keys: &[String], value: toml::Value) -> Result<(), String> {
    let Some((last, parents)) = keys.split_last() else {
        return Err("no key".into());
    };
    let mut current = table;
    for key in parents {
        let entry = current
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{key}` is not a table"))?;
    }
    current.insert(last.clone(), value);
    Ok(())
}

impl Config {
    /// Reads, parses and validates a file, with the process's `FABRIC_AI__*` environment
    /// overrides applied (see [`ENV_PREFIX`]).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse_with_env(&text, &path.display().to_string(), std::env::vars())
    }

    /// Parses and validates TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        Config::parse_with_env(text, origin, std::iter::empty())
    }

    /// Parses TOML text with overrides from `env` (name, value) pairs, then validates.
    pub fn parse_with_env(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let parse_error = |message: String| ConfigError::Parse {
            path: origin.to_owned(),
            message,
        };
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| parse_error(e.to_string()))?;
        for (name, value) in env {
            let Some(path) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let keys: Vec<String> = path.split("__").map(str::to_lowercase).collect();
            if keys.iter().any(String::is_empty) {
                return Err(parse_error(format!(
                    "{name}: empty part in the variable name"
                )));
            }
            let value = toml::from_str::<toml::Table>(&format!("v = {value}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(value));
            set_path(&mut table, &keys, value)
                .map_err(|reason| parse_error(format!("{name}: {reason}")))?;
        }
        let config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| parse_error(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges and cross-field rules.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_feedback()?;
        if !self.ops.listen.is_empty() && self.ops.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(invalid(
                "ops.listen",
                "must be host:port, e.g. 127.0.0.1:9464",
            ));
        }
        self.gating.validate()?;
        self.engine.validate()?;
        if self.kafka.bootstrap_servers.trim().is_empty() {
            return Err(invalid("kafka.bootstrap_servers", "must not be empty"));
        }
        if self.kafka.group_id.trim().is_empty() {
            return Err(invalid("kafka.group_id", "must not be empty"));
        }
        if let Some(key) = self
            .kafka
            .client
            .keys()
            .find(|k| RESERVED_CLIENT_KEYS.contains(&k.as_str()))
        {
            return Err(invalid(
                &format!("kafka.client.\"{key}\""),
                "is set by fabric-ai itself; use the first-class option instead",
            ));
        }
        let interval = self.anomaly.interval;
        if interval < Duration::from_secs(1) || interval.as_millis() % 1000 != 0 {
            return Err(invalid(
                "anomaly.interval",
                "must be a whole number of seconds, at least 1s",
            ));
        }
        if self.windows.out_of_orderness >= interval * 10 {
            return Err(invalid(
                "windows.out_of_orderness, anomaly.interval",
                "out_of_orderness must be under ten anomaly intervals, or windows never close in time",
            ));
        }
        if !(self.anomaly.z_threshold.is_finite() && self.anomaly.z_threshold > 0.0) {
            return Err(invalid("anomaly.z_threshold", "must be a positive number"));
        }
        if !(self.anomaly.threshold > 0.0 && self.anomaly.threshold <= 1.0) {
            return Err(invalid("anomaly.threshold", "must be in (0, 1]"));
        }
        if !(self.anomaly.baseline_alpha > 0.0 && self.anomaly.baseline_alpha < 1.0) {
            return Err(invalid("anomaly.baseline_alpha", "must be in (0, 1)"));
        }
        if self.anomaly.confirm_samples == 0 {
            return Err(invalid("anomaly.confirm_samples", "must be at least 1"));
        }
        if let Some(bad) = self
            .prediction
            .resources
            .iter()
            .find(|r| Metric::parse(r).is_none())
        {
            return Err(invalid(
                "prediction.resources",
                format!("`{bad}` is not a metric"),
            ));
        }
        if self.prediction.horizons_minutes.is_empty() {
            return Err(invalid(
                "prediction.horizons_minutes",
                "must list at least one horizon",
            ));
        }
        for (field, n) in [
            ("workload.history_windows", self.workload.history_windows),
            (
                "prediction.history_windows",
                self.prediction.history_windows,
            ),
            ("scaling.history_windows", self.scaling.history_windows),
        ] {
            if n == 0 {
                return Err(invalid(field, "must be at least 1"));
            }
        }
        let s = &self.scaling;
        if !(s.target_utilisation > 0.0 && s.target_utilisation <= 1.0) {
            return Err(invalid("scaling.target_utilisation", "must be in (0, 1]"));
        }
        if !(0.0..1.0).contains(&s.tolerance) {
            return Err(invalid("scaling.tolerance", "must be in [0, 1)"));
        }
        if crate::event::Metric::parse(&s.demand_metric).is_none() {
            return Err(invalid(
                "scaling.demand_metric",
                "must be a telemetry metric field name, such as cpu_util or throughput_ops",
            ));
        }
        if !(s.capacity_per_replica.is_finite() && s.capacity_per_replica > 0.0) {
            return Err(invalid(
                "scaling.capacity_per_replica",
                "must be a positive number",
            ));
        }
        if s.min_capacity > s.max_capacity || s.max_capacity == 0 {
            return Err(invalid(
                "scaling.min_capacity, scaling.max_capacity",
                "min_capacity must not exceed max_capacity, which must be at least 1",
            ));
        }
        let c = &self.performance.constraints;
        for (field, v) in [
            ("performance.constraints.max_cpu", c.max_cpu),
            ("performance.constraints.max_memory", c.max_memory),
            (
                "performance.constraints.min_availability",
                c.min_availability,
            ),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(invalid(field, "must be a fraction in 0..1"));
            }
        }
        if self.processing.max_in_flight == 0 {
            return Err(invalid("processing.max_in_flight", "must be at least 1"));
        }
        if self.processing.max_message_bytes == 0 {
            return Err(invalid(
                "processing.max_message_bytes",
                "must be at least 1",
            ));
        }
        if self.processing.max_open_keys == 0 {
            return Err(invalid("processing.max_open_keys", "must be at least 1"));
        }
        if self.processing.commit_interval >= self.kafka.session_timeout {
            return Err(invalid(
                "processing.commit_interval, kafka.session_timeout",
                "commit_interval must be shorter than the session timeout",
            ));
        }
        Ok(())
    }

    /// Bounds of the feedback loops and the federation thresholds.
    fn validate_feedback(&self) -> Result<(), ConfigError> {
        let f = &self.feedback;
        for (field, v) in [
            ("feedback.max_tracked_decisions", f.max_tracked_decisions),
            (
                "feedback.max_pending_predictions",
                f.max_pending_predictions,
            ),
            ("feedback.accuracy_window", f.accuracy_window),
            ("federation.max_clusters", self.federation.max_clusters),
        ] {
            if v == 0 {
                return Err(invalid(field, "must be at least 1"));
            }
        }
        let fed = &self.federation;
        for (field, v) in [
            ("federation.hot_cpu", fed.hot_cpu),
            ("federation.cold_cpu", fed.cold_cpu),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(invalid(
                    field,
                    format!("must be a fraction in 0..1, not {v}"),
                ));
            }
        }
        if fed.cold_cpu >= fed.hot_cpu {
            return Err(invalid(
                "federation.cold_cpu",
                format!(
                    "must be below federation.hot_cpu ({} is not below {})",
                    fed.cold_cpu, fed.hot_cpu
                ),
            ));
        }
        Ok(())
    }

    /// The wire encoding of a topic role.
    pub fn encoding(&self, role: TopicRole) -> Encoding {
        self.encoding.get(&role).copied().unwrap_or_default()
    }

    /// The configuration as TOML, for `config defaults`, `config check` and logs: secret client
    /// settings are masked, so the text is for reading, not for feeding back when it has some.
    pub fn to_toml(&self) -> String {
        let mut shown = self.clone();
        shown.kafka.client = self.kafka.masked_client();
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let config = Config::parse("", "t").unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.anomaly.interval, Duration::from_secs(120));
        assert_eq!(config.windows.out_of_orderness, Duration::from_secs(30));
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        let err = Config::parse("[anomaly]\nintervall = \"2m\"\n", "t").unwrap_err();
        assert!(err.to_string().contains("intervall"), "{err}");
    }

    #[test]
    fn durations_are_human_readable_and_bad_ones_are_named() {
        let config = Config::parse("[anomaly]\ninterval = \"5m\"\n", "t").unwrap();
        assert_eq!(config.scaling.interval, Duration::from_secs(600));
        assert_eq!(config.anomaly.interval, Duration::from_secs(300));
        let err = Config::parse("[anomaly]\ninterval = \"5 parsecs\"\n", "t").unwrap_err();
        assert!(err.to_string().contains("interval"), "{err}");
    }

    #[test]
    fn reserved_client_keys_clash() {
        let err =
            Config::parse("[kafka.client]\n\"enable.auto.commit\" = \"true\"\n", "t").unwrap_err();
        assert!(err.to_string().contains("enable.auto.commit"), "{err}");
    }

    #[test]
    fn per_topic_avro_encoding_parses() {
        let text = "[encoding]\ntelemetry = { format = \"avro\", schema_id = 4 }\n";
        let config = Config::parse(text, "t").unwrap();
        assert_eq!(
            config.encoding(TopicRole::Telemetry),
            Encoding::Avro { schema_id: 4 }
        );
        assert_eq!(config.encoding(TopicRole::Anomalies), Encoding::Json);
    }

    #[test]
    fn the_shipped_example_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/fabric-ai.toml");
        assert_eq!(Config::load(&path).unwrap(), Config::default());
    }

    #[test]
    fn the_compose_config_is_valid_and_asks_the_compose_engine() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/compose.toml");
        let config = Config::load(&path).unwrap();
        assert!(config.engine.enabled);
        assert_eq!(config.engine.url, "http://engine:8095");
    }

    #[test]
    fn environment_variables_override_the_file_and_are_checked_like_it() {
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let text = "[anomaly]\ninterval = \"5m\"\n";
        let config = Config::parse_with_env(
            text,
            "t",
            env(&[
                ("FABRIC_AI__ANOMALY__INTERVAL", "\"4m\""),
                ("FABRIC_AI__KAFKA__BOOTSTRAP_SERVERS", "broker:9093"),
                ("FABRIC_AI__PROCESSING__MAX_IN_FLIGHT", "7"),
                ("FABRIC_AI__KAFKA__CLIENT__SECURITY.PROTOCOL", "SSL"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(config.anomaly.interval, Duration::from_secs(240));
        assert_eq!(config.kafka.bootstrap_servers, "broker:9093");
        assert_eq!(config.processing.max_in_flight, 7);
        assert_eq!(config.kafka.client["security.protocol"], "SSL");
        let err = Config::parse_with_env("", "t", env(&[("FABRIC_AI__ANOMALY__INTERVALL", "1")]))
            .unwrap_err();
        assert!(err.to_string().contains("intervall"), "{err}");
        let err = Config::parse_with_env("", "t", env(&[("FABRIC_AI__OPS__LISTEN", "nowhere")]))
            .unwrap_err();
        assert!(err.to_string().contains("ops.listen"), "{err}");
    }

    #[test]
    fn secret_client_settings_never_print() {
        let text = "[kafka.client]\n\"sasl.password\" = \"hunter2\"\n\"sasl.username\" = \"svc\"\n";
        let config = Config::parse(text, "t").unwrap();
        assert_eq!(config.kafka.client["sasl.password"], "hunter2");
        for shown in [config.to_toml(), format!("{config:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("svc") && shown.contains(MASKED), "{shown}");
        }
    }

    #[test]
    fn defaults_render_and_parse_back() {
        let text = Config::default().to_toml();
        assert_eq!(Config::parse(&text, "t").unwrap(), Config::default());
    }
}
