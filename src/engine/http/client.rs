//! The transport itself: one reqwest client, one rate limiter, one in-flight bound and one
//! circuit breaker shared by every endpoint, and the attempt loop that ties them to a single
//! deadline per call.

use super::backoff::{parse_retry_after, Backoff};
use super::breaker::{later, Breaker, BreakerState, Permit};
use super::config::{check_token, EngineHttpConfig};
use super::error::{BuildError, CallFailure, FailureKind, Phase};
use super::stats::{bump, Counters, TransportStats};
use crate::config::ConfigError;
use bytes::{Bytes, BytesMut};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use std::num::NonZeroU32;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};
use tokio::sync::Semaphore;
use tokio::time::{sleep, timeout_at, Instant};

/// A successful call: a 2xx answer, read whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The answer body, at most `max_answer_bytes` long.
    pub body: Bytes,
    /// The HTTP status (2xx).
    pub status: u16,
    /// Requests sent, this one included.
    pub attempts: u32,
    /// From the call's start (before any wait) to the body's last byte.
    pub latency: Duration,
}

/// A byte-level HTTP transport to the AI Engine. Cheap to share behind an `Arc`; every
/// method takes `&self`.
#[derive(Debug)]
pub struct HttpTransport {
    client: reqwest::Client,
    base: String,
    max_attempts: u32,
    backoff: Backoff,
    max_answer_bytes: u64,
    health_timeout: Duration,
    limiter: DefaultDirectRateLimiter,
    in_flight: Semaphore,
    breaker: Mutex<Breaker>,
    counters: Counters,
}

/// What one attempt came to.
enum Attempt {
    /// A 2xx answer, read whole.
    Answered { status: u16, body: Bytes },
    /// A failure; retried when `retriable` and attempts and time are left.
    Failed {
        kind: FailureKind,
        retriable: bool,
        retry_after: Option<Duration>,
    },
    /// The deadline passed during the attempt.
    TimedOut(Phase),
}

impl HttpTransport {
    /// Builds the transport: validates `config`, reads the token (from `token` or the
    /// variable named by `token_env`) and the extra CA roots of `ca_file`.
    ///
    /// Known limit: proxy environment variables (`HTTP_PROXY`, ...) are ignored; the engine
    /// is called directly.
    pub fn new(config: &EngineHttpConfig) -> Result<HttpTransport, BuildError> {
        config.validate()?;

        let mut headers = HeaderMap::new();
        if let Some(token) = resolve_token(config)? {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| {
                BuildError::Config(invalid("engine.token", format!("not a header value: {e}")))
            })?;
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }

        // Redirects off: a 3xx to a POST would be followed as a GET, silently dropping the
        // body. The engine's answers are final; a 3xx is reported as a status failure.
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .no_proxy();
        if let Some(path) = &config.ca_file {
            builder = builder.tls_certs_merge(read_ca(path)?);
        }
        let client = builder.build().map_err(BuildError::Client)?;

        Ok(HttpTransport {
            client,
            base: config.url.trim_end_matches('/').to_owned(),
            max_attempts: config.max_attempts,
            backoff: Backoff::new(config.backoff_initial, config.backoff_max),
            max_answer_bytes: config.max_answer_bytes,
            health_timeout: config.timeouts.health,
            limiter: RateLimiter::direct(quota(config)?),
            in_flight: Semaphore::new(config.max_in_flight.min(Semaphore::MAX_PERMITS)),
            breaker: Mutex::new(Breaker::new(
                config.breaker_failures,
                config.breaker_open_for,
            )),
            counters: Counters::default(),
        })
    }

    /// `POST`s `body` (JSON) to `endpoint` (a path such as `"/detect/anomaly"`), with one
    /// deadline `timeout` from now covering every attempt, wait and the body read.
    ///
    /// The breaker is asked once: a call, all its attempts together, counts as one success or
    /// one failure. 429, 502, 503, 504 and connection failures are retried up to
    /// `max_attempts`, after a jittered backoff or at least the `Retry-After` of a 429 or
    /// 503; other statuses (500 included) are not.
    ///
    /// POSTs are retried although POST is not idempotent: the engine answers a request from
    /// its content alone, so sending it twice gives the same answer twice.
    pub async fn post(
        &self,
        endpoint: &str,
        timeout: Duration,
        body: Bytes,
    ) -> Result<Reply, CallFailure> {
        self.call(Method::POST, endpoint, timeout, Some(body), true)
            .await
    }

    /// `GET /health` with the `timeouts.health` deadline and the same retries and limits.
    ///
    /// The breaker is neither asked nor told: a health check reports on the engine itself,
    /// also while the breaker keeps other calls away.
    pub async fn health(&self) -> Result<Reply, CallFailure> {
        self.call(Method::GET, "/health", self.health_timeout, None, false)
            .await
    }

    /// The breaker's state as a call made now would find it.
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker().state_at(Instant::now())
    }

    /// The counters so far.
    pub fn stats(&self) -> TransportStats {
        let trips = self.breaker().trips();
        self.counters.snapshot(trips)
    }

    async fn call(
        &self,
        method: Method,
        endpoint: &str,
        timeout: Duration,
        body: Option<Bytes>,
        guarded: bool,
    ) -> Result<Reply, CallFailure> {
        let started = Instant::now();
        let deadline = later(started, timeout);
        bump(&self.counters.calls);

        let permit = match guarded.then(|| self.breaker().allow(started)) {
            Some(Err(refused)) => {
                let kind = FailureKind::BreakerOpen {
                    retry_in: refused.retry_in,
                };
                return Err(self.failed(endpoint, kind, 0, started));
            }
            Some(Ok(permit)) => Some(permit),
            None => None,
        };
        // Hands the permit back even when this future is dropped mid-call.
        let mut verdict = BreakerVerdict {
            transport: self,
            permit,
        };

        let url = format!("{}{}", self.base, endpoint);
        let mut attempts = 0;
        let outcome = self
            .attempts(&method, &url, deadline, body, &mut attempts)
            .await;
        match outcome {
            Ok((status, body)) => {
                verdict.deliver(Some(true));
                bump(&self.counters.successes);
                Ok(Reply {
                    body,
                    status,
                    attempts,
                    latency: started.elapsed(),
                })
            }
            Err(kind) => {
                verdict.deliver(kind.engine_verdict(attempts));
                Err(self.failed(endpoint, kind, attempts, started))
            }
        }
    }

    /// The attempt loop: waits for the rate limiter and an in-flight slot, sends, and
    /// retries within the deadline. Counts requests sent in `attempts`.
    async fn attempts(
        &self,
        method: &Method,
        url: &str,
        deadline: Instant,
        body: Option<Bytes>,
        attempts: &mut u32,
    ) -> Result<(u16, Bytes), FailureKind> {
        let mut last: Option<FailureKind> = None;
        let with_last = |phase, last: &Option<FailureKind>| FailureKind::Deadline {
            phase,
            last: last.as_ref().map(ToString::to_string),
        };
        loop {
            if self.limiter.check().is_err() {
                bump(&self.counters.rate_limit_waits);
                if timeout_at(deadline, self.limiter.until_ready())
                    .await
                    .is_err()
                {
                    return Err(FailureKind::RateLimited);
                }
            }
            let Ok(slot) = timeout_at(deadline, self.in_flight.acquire()).await else {
                return Err(with_last(Phase::InFlightSlot, &last));
            };
            let slot = slot.expect("the in-flight semaphore is never closed");

            *attempts += 1;
            let attempt = self.attempt(method, url, deadline, body.clone()).await;
            drop(slot);

            let (kind, retry_after) = match attempt {
                Attempt::Answered { status, body } => return Ok((status, body)),
                Attempt::TimedOut(phase) => return Err(with_last(phase, &last)),
                Attempt::Failed {
                    kind,
                    retriable,
                    retry_after,
                } => {
                    if !retriable || *attempts >= self.max_attempts {
                        return Err(kind);
                    }
                    (kind, retry_after)
                }
            };

            // Wait at least what the engine asked for; give up now if that ends too late.
            let backoff = self.backoff.delay(*attempts, &mut rand::thread_rng());
            let wait = backoff.max(retry_after.unwrap_or_default());
            if later(Instant::now(), wait) >= deadline {
                let phase = match retry_after {
                    Some(asked) if asked >= backoff => Phase::RetryAfter,
                    _ => Phase::Backoff,
                };
                return Err(with_last(phase, &Some(kind)));
            }
            tracing::debug!(
                error = %kind,
                url,
                attempt = *attempts,
                wait_ms = wait.as_millis() as u64,
                "engine attempt failed, retrying"
            );
            bump(&self.counters.retries);
            sleep(wait).await;
            last = Some(kind);
        }
    }

    /// One request: send, check the status and the announced length, read the body.
    async fn attempt(
        &self,
        method: &Method,
        url: &str,
        deadline: Instant,
        body: Option<Bytes>,
    ) -> Attempt {
        let mut request = self.client.request(method.clone(), url);
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let response = match timeout_at(deadline, request.send()).await {
            Err(_) => return Attempt::TimedOut(Phase::Request),
            Ok(Err(error)) => return connect_failure(&error),
            Ok(Ok(response)) => response,
        };

        let status = response.status();
        if !status.is_success() {
            let retry_after = match status {
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, SystemTime::now())),
                _ => None,
            };
            return Attempt::Failed {
                kind: FailureKind::Status {
                    code: status.as_u16(),
                },
                retriable: matches!(status.as_u16(), 429 | 502 | 503 | 504),
                retry_after,
            };
        }

        let too_large = Attempt::Failed {
            kind: FailureKind::TooLarge {
                limit: self.max_answer_bytes,
            },
            retriable: false,
            retry_after: None,
        };
        if response
            .content_length()
            .is_some_and(|len| len > self.max_answer_bytes)
        {
            return too_large;
        }
        match timeout_at(deadline, self.read_body(response)).await {
            Err(_) => Attempt::TimedOut(Phase::Body),
            Ok(Err(BodyError::TooLarge)) => too_large,
            Ok(Err(BodyError::Transport(error))) => connect_failure(&error),
            Ok(Ok(body)) => Attempt::Answered {
                status: status.as_u16(),
                body,
            },
        }
    }

    /// Reads the body chunk by chunk, stopping as soon as it passes `max_answer_bytes`.
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Bytes, BodyError> {
        let limit = self.max_answer_bytes;
        let expected = response.content_length().unwrap_or(0).min(limit);
        let mut body = BytesMut::with_capacity(usize::try_from(expected).unwrap_or(0));
        while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(BodyError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    fn failed(
        &self,
        endpoint: &str,
        kind: FailureKind,
        attempts: u32,
        started: Instant,
    ) -> CallFailure {
        self.counters.failed(&kind);
        let latency = started.elapsed();
        let label = kind.label();
        if matches!(kind, FailureKind::BreakerOpen { .. }) {
            tracing::debug!(endpoint, "engine call refused: circuit breaker open");
        } else {
            tracing::warn!(
                error = %kind,
                endpoint,
                reason = %label,
                attempts,
                latency_ms = latency.as_millis() as u64,
                "engine call failed"
            );
        }
        CallFailure {
            kind,
            attempts,
            latency,
        }
    }

    fn breaker(&self) -> MutexGuard<'_, Breaker> {
        // The breaker's methods cannot panic midway, so a poisoned lock holds a whole state.
        self.breaker.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A body read that did not finish.
enum BodyError {
    TooLarge,
    Transport(reqwest::Error),
}

/// Hands a breaker permit back exactly once: with the call's outcome via
/// [`BreakerVerdict::deliver`], or abandoned when the call's future is dropped first.
struct BreakerVerdict<'a> {
    transport: &'a HttpTransport,
    permit: Option<Permit>,
}

impl BreakerVerdict<'_> {
    /// `Some(success)` records the outcome, `None` abandons the permit.
    fn deliver(&mut self, verdict: Option<bool>) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        let mut breaker = self.transport.breaker();
        let (state, trips) = (breaker.state(), breaker.trips());
        match verdict {
            Some(success) => breaker.record(permit, success, Instant::now()),
            None => breaker.abandon(permit),
        }
        if breaker.trips() > trips {
            tracing::warn!(
                from = state.label(),
                trips = breaker.trips(),
                "engine circuit breaker opened"
            );
        } else if state != BreakerState::Closed && breaker.state() == BreakerState::Closed {
            tracing::info!("engine circuit breaker closed");
        }
    }
}

impl Drop for BreakerVerdict<'_> {
    fn drop(&mut self) {
        self.deliver(None);
    }
}

/// A transport-level failure (refused, reset, TLS, ...), retriable.
fn connect_failure(error: &reqwest::Error) -> Attempt {
    Attempt::Failed {
        kind: FailureKind::Connect {
            message: error_chain(error),
        },
        retriable: true,
        retry_after: None,
    }
}

/// An error and its causes, `outer: inner: innermost`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn invalid(field: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

fn quota(config: &EngineHttpConfig) -> Result<Quota, BuildError> {
    let period = Duration::from_secs_f64(1.0 / config.rate_limit_per_second);
    let quota = Quota::with_period(period).ok_or_else(|| {
        invalid(
            "engine.rate_limit_per_second",
            "must be at most one request per nanosecond",
        )
    })?;
    let burst = NonZeroU32::new(config.rate_limit_burst)
        .ok_or_else(|| invalid("engine.rate_limit_burst", "must be at least 1"))?;
    Ok(quota.allow_burst(burst))
}

/// The bearer token, from `token` or from the variable `token_env` names.
fn resolve_token(config: &EngineHttpConfig) -> Result<Option<String>, BuildError> {
    if let Some(token) = &config.token {
        return Ok(Some(token.expose().to_owned()));
    }
    let Some(name) = &config.token_env else {
        return Ok(None);
    };
    let token_error = |reason: &str| BuildError::TokenEnv {
        name: name.clone(),
        reason: reason.to_owned(),
    };
    let token = std::env::var(name).map_err(|e| token_error(&e.to_string()))?;
    let token = token.trim();
    check_token(token).map_err(token_error)?;
    Ok(Some(token.to_owned()))
}

/// The certificates of a PEM bundle file.
fn read_ca(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, BuildError> {
    let pem = std::fs::read(path).map_err(|source| BuildError::ReadCa {
        path: path.to_owned(),
        source,
    })?;
    let bad = |reason: String| BuildError::BadCa {
        path: path.to_owned(),
        reason,
    };
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(error_chain(&e)))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in the file".into()));
    }
    Ok(certs)
}
