//! The feedback loops and federation inside the pipeline's state: outcomes and federation
//! summaries read, cluster summaries, effectiveness and accuracy events published, the
//! metrics of both loops, and the federation processor's gated recommendations.

use super::State;
use crate::engine::fallback::Provenance;
use crate::engine::EngineRequest;
use crate::event::{self, ClusterSummary, Outcome, WireEvent};
use crate::feedback::federation::{Closed, FEDERATION_KEY};
use crate::pipeline::output::Output;
use crate::topics::TopicRole;
use crate::window::Origin;
use tokio::time::Instant;

impl State {
    /// An actuator's outcome: counted by decision kind and status; an applied one waits for
    /// its "after" window.
    pub(super) fn on_outcome(&mut self, outcome: &Outcome) -> Vec<Output> {
        let seen = self.feedback.on_outcome(outcome);
        self.stats
            .families
            .loops
            .outcomes
            .get_or_create(&vec![
                ("kind", seen.kind),
                ("status", seen.status.as_str().to_owned()),
            ])
            .inc();
        Vec::new()
    }

    /// A cluster summary from the federation topic, for the federation processor.
    pub(super) fn on_summary(
        &mut self,
        summary: ClusterSummary,
        origin: Origin,
        now: Instant,
    ) -> Vec<Output> {
        let Some(federation) = &mut self.federation else {
            return Vec::new();
        };
        let closed = federation.on_summary(summary, Some(origin), now);
        self.federation_outputs(closed)
    }

    /// Federation windows that waited long enough.
    pub(super) fn federation_due(&mut self, now: Instant) -> Vec<Output> {
        let closed = match &mut self.federation {
            Some(f) => f.close_due(now),
            None => Vec::new(),
        };
        self.federation_outputs(closed)
    }

    /// Every federation window, at the end of a replay's input.
    pub(super) fn federation_flush(&mut self) -> Vec<Output> {
        let closed = match &mut self.federation {
            Some(f) => f.flush(),
            None => Vec::new(),
        };
        self.federation_outputs(closed)
    }

    /// Forgets forecast horizons whose window the watermark passed long ago: two prediction
    /// windows plus the allowed lateness, room for a remote engine's answer.
    pub(super) fn expire_forecasts(&mut self, watermark_ms: i64) {
        let slack = 2 * self.config.prediction.interval + self.config.windows.allowed_lateness;
        self.feedback
            .expire(watermark_ms - slack.as_millis() as i64);
        let (pending, untracked, expired) = self.feedback.accuracy_counts();
        let f = &self.stats.families.loops;
        f.accuracy_pending.set(pending as i64);
        set_counter(&f.accuracy_untracked, untracked);
        set_counter(&f.accuracy_expired, expired);
    }

    /// What a window closed for the first time gives the loops: its cluster summary for
    /// federation, effectiveness of applied decisions, accuracy of forecasts for it.
    pub(super) fn window_feedback(
        &mut self,
        request: &EngineRequest,
        origins: &[Origin],
    ) -> Vec<Output> {
        let from = self.feedback.on_window(request);
        let mut outputs = Vec::new();
        if let Some(summary) = from.summary {
            outputs.extend(self.event_output(
                TopicRole::Federation,
                FEDERATION_KEY,
                &summary,
                origins,
            ));
        }
        for e in from.effects {
            self.stats
                .families
                .loops
                .effectiveness
                .get_or_create(&vec![("kind", e.decision_kind.clone())])
                .observe(e.relative_change.unwrap_or(e.change));
            self.stats
                .families
                .loops
                .effectiveness_events
                .get_or_create(&vec![
                    ("kind", e.decision_kind.clone()),
                    ("improved", e.improved.to_string()),
                ])
                .inc();
            outputs.extend(self.event_output(TopicRole::Effectiveness, &e.cluster_id, &e, origins));
        }
        for (a, rolling) in from.accuracy {
            let labels = vec![
                ("resource", a.resource.clone()),
                ("horizon_minutes", a.horizon_minutes.to_string()),
            ];
            let f = &self.stats.families.loops;
            f.accuracy_events.get_or_create(&labels).inc();
            f.accuracy_mae
                .get_or_create(&labels)
                .set(rolling.mean_abs_error);
            f.accuracy_mape
                .get_or_create(&labels)
                .set(rolling.mean_abs_pct_error);
            f.accuracy_coverage
                .get_or_create(&[labels.clone(), vec![("interval", "80".to_owned())]].concat())
                .set(rolling.coverage_80);
            f.accuracy_coverage
                .get_or_create(&[labels, vec![("interval", "95".to_owned())]].concat())
                .set(rolling.coverage_95);
            outputs.extend(self.event_output(TopicRole::PredictionAccuracy, &a.scope, &a, origins));
        }
        outputs
    }

    /// Gates, audits and publishes the recommendations of closed federation windows; the
    /// outputs hold the summaries' offsets until acknowledged.
    fn federation_outputs(&mut self, closed: Vec<Closed>) -> Vec<Output> {
        let mut outputs = Vec::new();
        for c in closed {
            // A window without a move has nothing to gate or audit.
            let Some(window) = c.decisions.first().map(|d| d.header().window) else {
                continue;
            };
            let ids: Vec<&str> = c.decisions.iter().map(|d| d.header().id.as_str()).collect();
            let provenance = Provenance {
                engine: "builtin",
                request_digest: event::output::decision_id("federation", &ids.join(","), &window),
                latency: std::time::Duration::ZERO,
                attempts: 0,
                breaker: "none",
                fallback: None,
                fallback_label: None,
            };
            outputs.extend(self.gated("federation", c.decisions, &provenance, &c.origins));
        }
        outputs
    }

    /// One event of the loops as an output, keyed by `key`.
    fn event_output<T: WireEvent>(
        &self,
        role: TopicRole,
        key: &str,
        event: &T,
        holds: &[Origin],
    ) -> Option<Output> {
        match self.encode(role, event) {
            Ok(payload) => Some(Output {
                role,
                key: key.as_bytes().to_vec(),
                payload,
                holds: holds.to_vec(),
                decision: false,
                closed: None,
            }),
            Err(error) => {
                tracing::error!(%error, role = role.as_str(), "event not encodable; dropped");
                None
            }
        }
    }
}

/// Raises a counter to `total` (the trackers keep their own totals).
fn set_counter(counter: &prometheus_client::metrics::counter::Counter, total: u64) {
    let now = counter.get();
    if total > now {
        counter.inc_by(total - now);
    }
}
