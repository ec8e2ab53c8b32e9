//! What a replay shows to its evaluations as it runs: every input it reads, every output it
//! writes, and the anomaly detector's score of every sample.
//!
//! Comparisons and metrics (baseline diff, label scoring, forecast and scaling accuracy) are
//! observers; the replay loop calls them in input order, so what they see is as deterministic
//! as the replay itself.

use crate::topics::TopicRole;

/// The detector's anomaly score of one sample: the highest over its metrics, in 0..1 (the
/// scoring rule of the built-in detector; 0.5 is its alarm threshold).
#[derive(Debug, Clone, PartialEq)]
pub struct SampleScore {
    /// Cluster of the node.
    pub cluster_id: String,
    /// The node.
    pub node_id: String,
    /// Event time of the sample, in milliseconds since the epoch.
    pub event_ms: i64,
    /// The score.
    pub score: f64,
}

/// Sees a replay as it runs. Every method has an empty default.
pub trait ReplayObserver {
    /// An input message as read (before decoding), with its role (telemetry or job events).
    fn on_input(&mut self, _role: TopicRole, _payload: &[u8]) {}

    /// An output as written, with the role of the topic it belongs to.
    fn on_output(&mut self, _role: TopicRole, _payload: &[u8]) {}

    /// Per-sample anomaly scores, as windows are judged (in window order per node).
    fn on_scores(&mut self, _scores: &[SampleScore]) {}

    /// Whether this observer needs [`ReplayObserver::on_scores`]: the replay has the detector
    /// keep per-sample scores only when it is asked to (they cost memory per window, and
    /// change no decision).
    fn wants_scores(&self) -> bool {
        false
    }
}

/// An observer lent to the replay, so the caller keeps it.
impl<T: ReplayObserver + ?Sized> ReplayObserver for &mut T {
    fn on_input(&mut self, role: TopicRole, payload: &[u8]) {
        (**self).on_input(role, payload);
    }

    fn on_output(&mut self, role: TopicRole, payload: &[u8]) {
        (**self).on_output(role, payload);
    }

    fn on_scores(&mut self, scores: &[SampleScore]) {
        (**self).on_scores(scores);
    }

    fn wants_scores(&self) -> bool {
        (**self).wants_scores()
    }
}

/// An observer that may be absent (a `--flag` not given).
impl<T: ReplayObserver> ReplayObserver for Option<T> {
    fn on_input(&mut self, role: TopicRole, payload: &[u8]) {
        if let Some(o) = self {
            o.on_input(role, payload);
        }
    }

    fn on_output(&mut self, role: TopicRole, payload: &[u8]) {
        if let Some(o) = self {
            o.on_output(role, payload);
        }
    }

    fn on_scores(&mut self, scores: &[SampleScore]) {
        if let Some(o) = self {
            o.on_scores(scores);
        }
    }

    fn wants_scores(&self) -> bool {
        self.as_ref().is_some_and(|o| o.wants_scores())
    }
}

/// Two observers, each shown everything, the first first (e.g. the evaluations and a score
/// export).
impl<A: ReplayObserver, B: ReplayObserver> ReplayObserver for (A, B) {
    fn on_input(&mut self, role: TopicRole, payload: &[u8]) {
        self.0.on_input(role, payload);
        self.1.on_input(role, payload);
    }

    fn on_output(&mut self, role: TopicRole, payload: &[u8]) {
        self.0.on_output(role, payload);
        self.1.on_output(role, payload);
    }

    fn on_scores(&mut self, scores: &[SampleScore]) {
        self.0.on_scores(scores);
        self.1.on_scores(scores);
    }

    fn wants_scores(&self) -> bool {
        self.0.wants_scores() || self.1.wants_scores()
    }
}

/// An observer that looks at nothing.
#[derive(Debug, Default)]
pub struct NoObserver;

impl ReplayObserver for NoObserver {}

/// An observer that ends in a section of the replay report: a name (the key under which the
/// section appears in `report.json`, and in `--fail-if` paths) and its JSON value.
pub trait Evaluation: ReplayObserver {
    /// The section's key (`baseline`, `labels`, `forecasts`, `scaling`, ...).
    fn name(&self) -> &'static str;

    /// The section, once the replay has ended.
    fn section(&self) -> serde_json::Value;
}

/// Several observers, each shown everything in the order given.
#[derive(Default)]
pub struct Observers {
    /// The evaluations, in report order.
    pub evaluations: Vec<Box<dyn Evaluation>>,
}

impl ReplayObserver for Observers {
    fn on_input(&mut self, role: TopicRole, payload: &[u8]) {
        for e in &mut self.evaluations {
            e.on_input(role, payload);
        }
    }

    fn on_output(&mut self, role: TopicRole, payload: &[u8]) {
        for e in &mut self.evaluations {
            e.on_output(role, payload);
        }
    }

    fn on_scores(&mut self, scores: &[SampleScore]) {
        for e in &mut self.evaluations {
            e.on_scores(scores);
        }
    }

    fn wants_scores(&self) -> bool {
        self.evaluations.iter().any(|e| e.wants_scores())
    }
}

impl Observers {
    /// Every evaluation's section, by name, in order.
    pub fn sections(&self) -> Vec<(&'static str, serde_json::Value)> {
        self.evaluations
            .iter()
            .map(|e| (e.name(), e.section()))
            .collect()
    }
}
