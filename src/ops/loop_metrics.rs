//! The metrics of the feedback loops: outcomes reported by actuators, the effectiveness of
//! applied decisions by kind, and rolling prediction accuracy by resource and horizon. Labels
//! are decision kinds, statuses, resources and horizons: a handful each, never an id.

use super::metrics::Labels;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// A gauge of a fraction or an error, as a float.
pub type FloatGauge = Gauge<f64, AtomicU64>;

fn change_histogram() -> Histogram {
    // Relative change of a target metric: a 50% drop is -0.5.
    Histogram::new([
        -1.0, -0.5, -0.25, -0.1, -0.05, 0.0, 0.05, 0.1, 0.25, 0.5, 1.0,
    ])
}

/// The loops' families, updated where the loops run.
#[derive(Debug, Clone)]
pub struct LoopMetrics {
    /// Outcomes read, by decision kind (`unknown` when not remembered) and status.
    pub outcomes: Family<Labels, Counter>,
    /// Relative change of the target metric of applied decisions, by decision kind.
    pub effectiveness: Family<Labels, Histogram, fn() -> Histogram>,
    /// Effectiveness events, by decision kind and whether the metric improved.
    pub effectiveness_events: Family<Labels, Counter>,
    /// Accuracy events, by resource and horizon.
    pub accuracy_events: Family<Labels, Counter>,
    /// Rolling mean absolute error, by resource and horizon.
    pub accuracy_mae: Family<Labels, FloatGauge>,
    /// Rolling mean absolute percentage error (a fraction), by resource and horizon.
    pub accuracy_mape: Family<Labels, FloatGauge>,
    /// Rolling share of actuals inside the interval, by resource, horizon and interval.
    pub accuracy_coverage: Family<Labels, FloatGauge>,
    /// Forecast horizons waiting for their window.
    pub accuracy_pending: Gauge,
    /// Horizons not tracked because `feedback.max_pending_predictions` was reached.
    pub accuracy_untracked: Counter,
    /// Horizons whose window never came.
    pub accuracy_expired: Counter,
}

impl Default for LoopMetrics {
    fn default() -> Self {
        LoopMetrics {
            outcomes: Family::default(),
            effectiveness: Family::new_with_constructor(change_histogram),
            effectiveness_events: Family::default(),
            accuracy_events: Family::default(),
            accuracy_mae: Family::default(),
            accuracy_mape: Family::default(),
            accuracy_coverage: Family::default(),
            accuracy_pending: Gauge::default(),
            accuracy_untracked: Counter::default(),
            accuracy_expired: Counter::default(),
        }
    }
}

impl LoopMetrics {
    /// Registers every family.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "fabric_outcomes",
            "Actuator outcomes by decision kind and status",
            self.outcomes.clone(),
        );
        registry.register(
            "fabric_effectiveness_change",
            "Relative change of applied decisions' target metric, by decision kind",
            self.effectiveness.clone(),
        );
        registry.register(
            "fabric_effectiveness_events",
            "Effectiveness events by decision kind and improvement",
            self.effectiveness_events.clone(),
        );
        registry.register(
            "fabric_prediction_accuracy_events",
            "Forecast horizons evaluated, by resource and horizon",
            self.accuracy_events.clone(),
        );
        registry.register(
            "fabric_prediction_mae",
            "Rolling mean absolute forecast error, by resource and horizon",
            self.accuracy_mae.clone(),
        );
        registry.register(
            "fabric_prediction_mape",
            "Rolling mean absolute percentage forecast error, by resource and horizon",
            self.accuracy_mape.clone(),
        );
        registry.register(
            "fabric_prediction_coverage",
            "Rolling share of actuals inside the forecast interval",
            self.accuracy_coverage.clone(),
        );
        registry.register(
            "fabric_prediction_pending",
            "Forecast horizons waiting for their window",
            self.accuracy_pending.clone(),
        );
        registry.register(
            "fabric_prediction_untracked",
            "Forecast horizons not tracked at the pending bound",
            self.accuracy_untracked.clone(),
        );
        registry.register(
            "fabric_prediction_expired",
            "Forecast horizons whose window never came",
            self.accuracy_expired.clone(),
        );
    }
}
