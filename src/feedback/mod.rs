//! The loops that close the system, and federation across clusters.
//!
//! - [`effectiveness`]: actuators report what they did on the outcomes topic; applied
//!   decisions are measured on their cluster's windows before and after.
//! - [`accuracy`]: every published forecast horizon is compared with the window it was for.
//! - [`federation`]: each cluster's window summary ([`summary`]) goes to the federation topic;
//!   the member that reads it recommends moving load from hot clusters to cold ones.
//!
//! [`Feedback`] holds the first two and the summaries; the pipeline's state feeds it closed
//! windows, published decisions and outcomes, and publishes what it returns.

pub mod accuracy;
pub mod effectiveness;
pub mod federation;
pub mod summary;

use crate::config::Config;
use crate::engine::EngineRequest;
use crate::event::{ClusterSummary, Effectiveness, Outcome, PredictionAccuracy};
use crate::processor::Decision;
use accuracy::{AccuracyTracker, Rolling};
use effectiveness::{EffectivenessTracker, OutcomeSeen};

/// What one closed window gives the feedback loops.
#[derive(Debug, Default)]
pub struct FromWindow {
    /// The cluster summary to publish on the federation topic (performance windows).
    pub summary: Option<ClusterSummary>,
    /// Applied decisions this window measured.
    pub effects: Vec<Effectiveness>,
    /// Forecast horizons this window settled, with the rolling accuracy after each.
    pub accuracy: Vec<(PredictionAccuracy, Rolling)>,
}

/// The effectiveness and accuracy loops.
#[derive(Debug)]
pub struct Feedback {
    effectiveness: EffectivenessTracker,
    accuracy: AccuracyTracker,
    prediction_interval_ms: i64,
    publish_summaries: bool,
}

impl Feedback {
    /// The loops for `config`.
    pub fn new(config: &Config) -> Feedback {
        let f = &config.feedback;
        Feedback {
            effectiveness: EffectivenessTracker::new(f.max_tracked_decisions),
            accuracy: AccuracyTracker::new(f.max_pending_predictions, f.accuracy_window),
            prediction_interval_ms: config.prediction.interval.as_millis() as i64,
            publish_summaries: config.federation.enable,
        }
    }

    /// Learns from a window closed for the first time.
    pub fn on_window(&mut self, request: &EngineRequest) -> FromWindow {
        match request {
            EngineRequest::Performance(r) => {
                let summary = summary::summarise(r);
                let effects = self.effectiveness.on_summary(&summary);
                FromWindow {
                    summary: self.publish_summaries.then_some(summary),
                    effects,
                    accuracy: Vec::new(),
                }
            }
            EngineRequest::Prediction(r) => FromWindow {
                accuracy: self.accuracy.on_window(r),
                ..FromWindow::default()
            },
            _ => FromWindow::default(),
        }
    }

    /// Remembers a published decision: forecasts wait for their windows, actionable
    /// decisions for their outcomes.
    pub fn on_published(&mut self, decision: &Decision) {
        match decision {
            Decision::Prediction(p) => self.accuracy.on_prediction(p, self.prediction_interval_ms),
            other => self.effectiveness.on_decision(other),
        }
    }

    /// Takes an actuator's report.
    pub fn on_outcome(&mut self, outcome: &Outcome) -> OutcomeSeen {
        self.effectiveness.on_outcome(outcome)
    }

    /// Forgets forecast horizons whose window ended at or before `before_ms`.
    pub fn expire(&mut self, before_ms: i64) {
        self.accuracy.expire(before_ms);
    }

    /// Horizons waiting, and horizons not tracked or expired so far.
    pub fn accuracy_counts(&self) -> (usize, u64, u64) {
        (
            self.accuracy.pending(),
            self.accuracy.untracked,
            self.accuracy.expired,
        )
    }
}
