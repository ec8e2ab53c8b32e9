//! Settings of the HTTP transport to the AI Engine: where it is, how long each endpoint may
//! take, how hard to retry, and how much load to put on it.
//!
//! Written like the rest of [`crate::config`]: strict keys, named defaults, human durations,
//! and a [`EngineHttpConfig::validate`] whose errors name the field as `engine.<field>`.

use super::secret::Secret;
use crate::config::ConfigError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// The transport's settings (the `[engine]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineHttpConfig {
    /// Ask the engine at `url` about every window; when false the built-in engine answers
    /// alone and nothing is sent.
    pub enabled: bool,
    /// Base URL of the engine; endpoint paths are appended to it, so a path prefix is kept.
    pub url: String,
    /// One deadline per endpoint, covering every attempt, backoff wait and the body read.
    pub timeouts: EndpointTimeouts,
    /// Requests sent per call at most, the first included.
    pub max_attempts: u32,
    /// Backoff before the first retry; it doubles per retry, with jitter.
    #[serde(with = "humantime_serde")]
    pub backoff_initial: Duration,
    /// Longest backoff between two attempts (a `Retry-After` may ask for longer).
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    /// Sustained requests per second to the engine, all endpoints together.
    pub rate_limit_per_second: f64,
    /// Requests that may go out at once after a quiet period.
    pub rate_limit_burst: u32,
    /// Requests awaiting an answer at most; further ones wait (within their deadline).
    pub max_in_flight: usize,
    /// Consecutive failed calls after which the circuit breaker opens.
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before it lets one probe through.
    #[serde(with = "humantime_serde")]
    pub breaker_open_for: Duration,
    /// Bearer token sent on every request. Masked in printouts.
    pub token: Option<Secret>,
    /// Name of an environment variable holding the token, read when the transport is built.
    pub token_env: Option<String>,
    /// PEM file of extra trusted root certificates, for an engine behind a private CA.
    pub ca_file: Option<PathBuf>,
    /// Largest answer body accepted, in bytes; a larger one fails the call.
    pub max_answer_bytes: u64,
    /// How long establishing a connection (TCP and TLS) may take.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
}

impl Default for EngineHttpConfig {
    fn default() -> Self {
        EngineHttpConfig {
            enabled: false,
            url: "http://localhost:8095".into(),
            timeouts: EndpointTimeouts::default(),
            // The old control plane's: three attempts, pauses of 1 s then 2 s.
            max_attempts: 3,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(10),
            rate_limit_per_second: 100.0,
            rate_limit_burst: 50,
            max_in_flight: 50,
            breaker_failures: 5,
            breaker_open_for: Duration::from_secs(60),
            token: None,
            token_env: None,
            ca_file: None,
            max_answer_bytes: 4 * 1024 * 1024,
            connect_timeout: Duration::from_secs(2),
        }
    }
}

/// The deadline of one call per endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EndpointTimeouts {
    /// `POST /optimize/performance`.
    #[serde(with = "humantime_serde")]
    pub performance: Duration,
    /// `POST /analyze/workload`.
    #[serde(with = "humantime_serde")]
    pub workload: Duration,
    /// `POST /predict/resources`.
    #[serde(with = "humantime_serde")]
    pub prediction: Duration,
    /// `POST /detect/anomaly`.
    #[serde(with = "humantime_serde")]
    pub anomaly: Duration,
    /// `POST /optimize/scaling`.
    #[serde(with = "humantime_serde")]
    pub scaling: Duration,
    /// `GET /health`.
    #[serde(with = "humantime_serde")]
    pub health: Duration,
}

impl Default for EndpointTimeouts {
    fn default() -> Self {
        // The old control plane's per-call timeouts.
        EndpointTimeouts {
            performance: Duration::from_secs(30),
            workload: Duration::from_secs(15),
            prediction: Duration::from_secs(20),
            anomaly: Duration::from_secs(15),
            scaling: Duration::from_secs(20),
            health: Duration::from_secs(5),
        }
    }
}

impl EndpointTimeouts {
    fn named(&self) -> [(&'static str, Duration); 6] {
        [
            ("engine.timeouts.performance", self.performance),
            ("engine.timeouts.workload", self.workload),
            ("engine.timeouts.prediction", self.prediction),
            ("engine.timeouts.anomaly", self.anomaly),
            ("engine.timeouts.scaling", self.scaling),
            ("engine.timeouts.health", self.health),
        ]
    }
}

fn invalid(field: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

impl EngineHttpConfig {
    /// Checks ranges and cross-field rules; errors name the field(s) as `engine.<field>`.
    ///
    /// Whether `token_env` names a set variable and `ca_file` a readable PEM file is checked
    /// when the transport is built, not here.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match reqwest::Url::parse(&self.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {}
            Ok(_) => return Err(invalid("engine.url", "must be an http or https URL")),
            Err(e) => return Err(invalid("engine.url", format!("not a URL: {e}"))),
        }
        for (field, timeout) in self.timeouts.named() {
            if timeout.is_zero() {
                return Err(invalid(field, "must be longer than zero"));
            }
        }
        if self.max_attempts == 0 {
            return Err(invalid("engine.max_attempts", "must be at least 1"));
        }
        if self.backoff_initial.is_zero() {
            return Err(invalid(
                "engine.backoff_initial",
                "must be longer than zero",
            ));
        }
        if self.backoff_initial > self.backoff_max {
            return Err(invalid(
                "engine.backoff_initial, engine.backoff_max",
                "backoff_initial must not exceed backoff_max",
            ));
        }
        let rate = self.rate_limit_per_second;
        // A rate this small would make a single request wait for years.
        if !(rate.is_finite() && rate >= 1e-3) {
            return Err(invalid(
                "engine.rate_limit_per_second",
                "must be a number greater than zero (at least 0.001)",
            ));
        }
        if rate > 1e9 {
            return Err(invalid(
                "engine.rate_limit_per_second",
                "must be at most one request per nanosecond",
            ));
        }
        if self.rate_limit_burst == 0 {
            return Err(invalid("engine.rate_limit_burst", "must be at least 1"));
        }
        if self.max_in_flight == 0 {
            return Err(invalid("engine.max_in_flight", "must be at least 1"));
        }
        if self.breaker_failures == 0 {
            return Err(invalid("engine.breaker_failures", "must be at least 1"));
        }
        if self.breaker_open_for.is_zero() {
            return Err(invalid(
                "engine.breaker_open_for",
                "must be longer than zero",
            ));
        }
        if self.token.is_some() && self.token_env.is_some() {
            return Err(invalid(
                "engine.token, engine.token_env",
                "set at most one of token and token_env",
            ));
        }
        if let Some(token) = &self.token {
            check_token(token.expose()).map_err(|reason| invalid("engine.token", reason))?;
        }
        if self
            .token_env
            .as_deref()
            .is_some_and(|n| n.trim().is_empty())
        {
            return Err(invalid("engine.token_env", "must name a variable"));
        }
        if self.max_answer_bytes == 0 {
            return Err(invalid("engine.max_answer_bytes", "must be at least 1"));
        }
        if self.connect_timeout.is_zero() {
            return Err(invalid(
                "engine.connect_timeout",
                "must be longer than zero",
            ));
        }
        Ok(())
    }
}

/// Why `token` cannot go into an `Authorization` header, if it cannot.
pub(crate) fn check_token(token: &str) -> Result<(), &'static str> {
    if token.is_empty() {
        return Err("must not be empty");
    }
    // Visible ASCII only: header values may not hold control characters, and a space or a
    // non-ASCII byte in a bearer token is almost always a copy-and-paste accident.
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be visible ASCII characters without spaces");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(error: ConfigError) -> String {
        match error {
            ConfigError::Invalid { field, .. } => field,
            other => panic!("expected an invalid field, got {other}"),
        }
    }

    fn refused(edit: impl FnOnce(&mut EngineHttpConfig)) -> String {
        let mut config = EngineHttpConfig::default();
        edit(&mut config);
        field_of(config.validate().expect_err("the edit should be refused"))
    }

    #[test]
    fn defaults_validate_and_match_the_old_control_plane() {
        let config = EngineHttpConfig::default();
        config.validate().unwrap();
        assert_eq!(config.url, "http://localhost:8095");
        assert_eq!(config.timeouts.performance, Duration::from_secs(30));
        assert_eq!(config.timeouts.health, Duration::from_secs(5));
        assert_eq!(config.max_attempts, 3);
        assert_eq!(config.max_in_flight, 50);
        assert_eq!(config.breaker_failures, 5);
        assert_eq!(config.breaker_open_for, Duration::from_secs(60));
        assert_eq!(config.max_answer_bytes, 4 << 20);
    }

    #[test]
    fn an_empty_table_gives_defaults_and_durations_are_human_readable() {
        let config: EngineHttpConfig = toml::from_str("").unwrap();
        assert_eq!(config, EngineHttpConfig::default());
        let text = "backoff_initial = \"250ms\"\n[timeouts]\nanomaly = \"3s\"\n";
        let config: EngineHttpConfig = toml::from_str(text).unwrap();
        assert_eq!(config.backoff_initial, Duration::from_millis(250));
        assert_eq!(config.timeouts.anomaly, Duration::from_secs(3));
        assert_eq!(config.timeouts.scaling, Duration::from_secs(20));
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let err = toml::from_str::<EngineHttpConfig>("max_attempt = 3\n").unwrap_err();
        assert!(err.to_string().contains("max_attempt"), "{err}");
        let err =
            toml::from_str::<EngineHttpConfig>("[timeouts]\nanomalies = \"1s\"\n").unwrap_err();
        assert!(err.to_string().contains("anomalies"), "{err}");
    }

    #[test]
    fn bad_values_name_the_field() {
        assert_eq!(refused(|c| c.url = "localhost:8095".into()), "engine.url");
        assert_eq!(refused(|c| c.url = "ftp://x".into()), "engine.url");
        assert_eq!(refused(|c| c.max_attempts = 0), "engine.max_attempts");
        assert_eq!(
            refused(|c| c.timeouts.workload = Duration::ZERO),
            "engine.timeouts.workload"
        );
        assert_eq!(
            refused(|c| c.rate_limit_per_second = 0.0),
            "engine.rate_limit_per_second"
        );
        assert_eq!(
            refused(|c| c.rate_limit_per_second = f64::NAN),
            "engine.rate_limit_per_second"
        );
        assert_eq!(
            refused(|c| c.rate_limit_burst = 0),
            "engine.rate_limit_burst"
        );
        assert_eq!(refused(|c| c.max_in_flight = 0), "engine.max_in_flight");
        assert_eq!(
            refused(|c| c.breaker_failures = 0),
            "engine.breaker_failures"
        );
        assert_eq!(
            refused(|c| c.breaker_open_for = Duration::ZERO),
            "engine.breaker_open_for"
        );
        assert_eq!(
            refused(|c| c.max_answer_bytes = 0),
            "engine.max_answer_bytes"
        );
        assert_eq!(
            refused(|c| c.connect_timeout = Duration::ZERO),
            "engine.connect_timeout"
        );
        assert_eq!(
            refused(|c| c.token = Some(Secret::new("two words"))),
            "engine.token"
        );
        assert_eq!(
            refused(|c| c.token_env = Some(" ".into())),
            "engine.token_env"
        );
    }

    #[test]
    fn contradicting_values_name_both_fields() {
        let field = refused(|c| c.backoff_initial = Duration::from_secs(11));
        assert_eq!(field, "engine.backoff_initial, engine.backoff_max");
        let field = refused(|c| {
            c.token = Some(Secret::new("t"));
            c.token_env = Some("ENGINE_TOKEN".into());
        });
        assert_eq!(field, "engine.token, engine.token_env");
    }

    #[test]
    fn a_rendered_config_masks_the_token() {
        let config = EngineHttpConfig {
            token: Some(Secret::new("s3cret")),
            ..EngineHttpConfig::default()
        };
        let text = toml::to_string(&config).unwrap();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(!format!("{config:?}").contains("s3cret"));
    }
}
