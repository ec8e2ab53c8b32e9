//! The Prometheus metrics of a running pipeline, in the OpenMetrics text format.
//!
//! Two kinds live side by side. The plain counters of [`Stats`] (events, windows, decisions,
//! commits, pauses, ...) are read at scrape time by a collector, so the hot path keeps its
//! single relaxed atomic add. The labelled families in [`Families`] (decisions by kind, source
//! and gating outcome; engine answers and latency by endpoint; consumer lag by partition; ...)
//! are updated where the event happens. Labels stay low-cardinality: processor, endpoint,
//! decision kind, topic role, partition number, never a node or cluster id.

use crate::stats::{Stats, StatsSnapshot};
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// Label pairs of a family member.
pub type Labels = Vec<(&'static str, String)>;

/// A histogram family whose members share one bucket layout.
pub type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The labelled metrics, updated where things happen.
#[derive(Debug, Clone)]
pub struct Families {
    /// Input messages by topic role and outcome (`ok`, `dead_letter`).
    pub events: Family<Labels, Counter>,
    /// Events a processor did not take, by processor and reason (`late`, `refused`).
    pub events_not_taken: Family<Labels, Counter>,
    /// Windows closed (first emissions and revisions) by processor.
    pub windows_closed: Family<Labels, Counter>,
    /// Open windows by processor, as of the last tick.
    pub open_windows: Family<Labels, Gauge>,
    /// Open keys by processor, as of the last tick.
    pub open_keys: Family<Labels, Gauge>,
    /// Decisions by kind, source (`engine`, `builtin`) and gating outcome.
    pub decisions: Family<Labels, Counter>,
    /// Answered windows by endpoint and outcome (`ok`, or the fallback label).
    pub engine_answers: Family<Labels, Counter>,
    /// Time to an answer, retries included, by endpoint (remote engine only).
    pub engine_latency: HistogramFamily,
    /// The remote engine's circuit breaker, 1 for its current state (`closed`, `open`,
    /// `half_open`) and 0 for the others, as of the last answer.
    pub breaker_state: Family<Labels, Gauge>,
    /// Consumer lag by topic role and partition, from the client's statistics.
    pub consumer_lag: Family<Labels, Gauge>,
    /// Time an offset commit (or a transaction commit) takes.
    pub commit_seconds: Histogram,
    /// From the watermark passing a window's end to the acknowledgement of its last output.
    pub window_close_to_ack: Histogram,
    /// The remote engine's transport counters as of the last tick (calls, successes,
    /// retries, rate-limit waits, breaker trips); they only grow.
    pub transport: Arc<std::sync::Mutex<Option<crate::engine::http::TransportStats>>>,
    /// The feedback loops' families.
    pub loops: super::loop_metrics::LoopMetrics,
}

impl Default for Families {
    fn default() -> Self {
        Families {
            events: Family::default(),
            events_not_taken: Family::default(),
            windows_closed: Family::default(),
            open_windows: Family::default(),
            open_keys: Family::default(),
            decisions: Family::default(),
            engine_answers: Family::default(),
            engine_latency: Family::new_with_constructor(latency_histogram),
            breaker_state: Family::default(),
            consumer_lag: Family::default(),
            commit_seconds: latency_histogram(),
            window_close_to_ack: latency_histogram(),
            transport: Arc::default(),
            loops: Default::default(),
        }
    }
}

impl Families {
    /// Sets the breaker gauges so that only `state` is 1.
    pub fn set_breaker(&self, state: &str) {
        for s in ["closed", "open", "half_open"] {
            let value = i64::from(s == state);
            self.breaker_state
                .get_or_create(&vec![("state", s.to_owned())])
                .set(value);
        }
    }
}

/// Reads the plain counters of [`Stats`] at scrape time.
#[derive(Debug)]
struct StatsCollector(Arc<Stats>);

impl prometheus_client::collector::Collector for StatsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s: StatsSnapshot = self.0.snapshot();
        let counters: [(&str, &str, u64); 12] = [
            (
                "fabric_events_accepted",
                "Input messages decoded and accepted",
                s.events_ok,
            ),
            (
                "fabric_dead_letters",
                "Input messages sent to the dead-letter topic",
                s.dead_letters,
            ),
            (
                "fabric_late_events",
                "Events past their window's allowed lateness",
                s.late_events,
            ),
            (
                "fabric_refused_events",
                "Events refused by the open-key limit",
                s.refused_keys,
            ),
            (
                "fabric_revisions",
                "Events that revised an emitted window",
                s.revisions,
            ),
            (
                "fabric_windows_asked",
                "Windows handed to an engine",
                s.windows_closed,
            ),
            (
                "fabric_decisions_out",
                "Decisions handed to the producer",
                s.decisions_out,
            ),
            (
                "fabric_decisions_acked",
                "Decisions acknowledged by the broker",
                s.decisions_acked,
            ),
            (
                "fabric_decisions_rejected",
                "Decisions held back by gating",
                s.decisions_rejected,
            ),
            (
                "fabric_fallbacks",
                "Windows the built-in engine answered instead",
                s.fallbacks,
            ),
            ("fabric_commits", "Offset commits issued", s.commits),
            (
                "fabric_input_pauses",
                "Times input was paused by backpressure",
                s.pauses,
            ),
        ];
        for (name, help, value) in counters {
            let metric = ConstCounter::new(value);
            let e = encoder.encode_descriptor(name, help, None, metric.metric_type())?;
            metric.encode(e)?;
        }
        let transport = self.0.families.transport.lock().ok().and_then(|t| *t);
        if let Some(t) = transport {
            let engine: [(&str, &str, u64); 5] = [
                ("fabric_engine_calls", "Calls to the remote engine", t.calls),
                (
                    "fabric_engine_successes",
                    "Remote calls answered with 2xx",
                    t.successes,
                ),
                (
                    "fabric_engine_retries",
                    "Remote requests sent again",
                    t.retries,
                ),
                (
                    "fabric_engine_rate_limit_waits",
                    "Attempts that waited for the limiter",
                    t.rate_limit_waits,
                ),
                (
                    "fabric_engine_breaker_trips",
                    "Times the breaker opened",
                    t.breaker_trips,
                ),
            ];
            for (name, help, value) in engine {
                let metric = ConstCounter::new(value);
                let e = encoder.encode_descriptor(name, help, None, metric.metric_type())?;
                metric.encode(e)?;
            }
        }
        let gauges: [(&str, &str, u64); 2] = [
            (
                "fabric_peak_open_keys",
                "Most open keys any processor held",
                s.peak_open_keys,
            ),
            (
                "fabric_peak_in_flight",
                "Most outputs and requests in flight",
                s.peak_in_flight,
            ),
        ];
        for (name, help, value) in gauges {
            let metric = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
            let e = encoder.encode_descriptor(name, help, None, metric.metric_type())?;
            metric.encode(e)?;
        }
        Ok(())
    }
}

/// Every metric of `stats`, registered for exposition.
pub fn registry(stats: &Arc<Stats>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(StatsCollector(stats.clone())));
    let f = &stats.families;
    registry.register(
        "fabric_events",
        "Input messages by topic and outcome",
        f.events.clone(),
    );
    registry.register(
        "fabric_events_not_taken",
        "Events a processor did not take, by processor and reason",
        f.events_not_taken.clone(),
    );
    registry.register(
        "fabric_windows_closed",
        "Windows closed by processor",
        f.windows_closed.clone(),
    );
    registry.register(
        "fabric_open_windows",
        "Open windows by processor",
        f.open_windows.clone(),
    );
    registry.register(
        "fabric_open_keys",
        "Open keys by processor",
        f.open_keys.clone(),
    );
    registry.register(
        "fabric_decisions",
        "Decisions by kind, source and gating outcome",
        f.decisions.clone(),
    );
    registry.register(
        "fabric_engine_answers",
        "Answered windows by endpoint and outcome",
        f.engine_answers.clone(),
    );
    registry.register(
        "fabric_engine_latency_seconds",
        "Time to a remote answer by endpoint",
        f.engine_latency.clone(),
    );
    registry.register(
        "fabric_engine_breaker_state",
        "Circuit breaker state of the remote engine",
        f.breaker_state.clone(),
    );
    registry.register(
        "fabric_consumer_lag",
        "Messages behind the partition's end, by topic and partition",
        f.consumer_lag.clone(),
    );
    registry.register(
        "fabric_commit_seconds",
        "Time an offset or transaction commit takes",
        f.commit_seconds.clone(),
    );
    registry.register(
        "fabric_window_close_to_ack_seconds",
        "From a window's close to the acknowledgement of its outputs",
        f.window_close_to_ack.clone(),
    );
    f.loops.register(&mut registry);
    registry
}

/// The metrics of `stats` as OpenMetrics text.
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, registry).is_err() {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_lists_plain_counters_and_labelled_families() {
        let stats = Arc::new(Stats::default());
        Stats::bump(&stats.events_ok);
        stats
            .families
            .decisions
            .get_or_create(&vec![
                ("kind", "anomaly".to_owned()),
                ("source", "builtin".to_owned()),
                ("gating", "accepted".to_owned()),
            ])
            .inc();
        stats.families.set_breaker("open");
        let text = render(&registry(&stats));
        assert!(
            !text.contains("fabric_engine_retries"),
            "no remote engine, no transport"
        );
        *stats.families.transport.lock().unwrap() = Some(crate::engine::http::TransportStats {
            calls: 9,
            retries: 2,
            ..Default::default()
        });
        let text = render(&registry(&stats));
        assert!(text.contains("fabric_engine_retries_total 2"), "{text}");
        assert!(text.contains("fabric_engine_calls_total 9"), "{text}");
        assert!(text.contains("fabric_events_accepted_total 1"), "{text}");
        assert!(
            text.contains(
                "fabric_decisions_total{kind=\"anomaly\",source=\"builtin\",gating=\"accepted\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("fabric_engine_breaker_state{state=\"open\"} 1"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
