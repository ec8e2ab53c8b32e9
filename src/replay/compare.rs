//! Comparison of a replay's decisions with recorded ones (the baseline): which decisions both
//! made alike, which they made differently, which only the baseline made (missing) and which
//! only the replay made (extra), with an agreement rate per decision kind.
//!
//! Decisions are matched by `id`, which is derived from kind, scope and window, so the same
//! window of the same node or cluster has the same id in both runs. When an id occurs more than
//! once on one side (revisions after late events), the highest `revision` is kept; on a tie,
//! the one seen last.
//!
//! Two matched decisions are *changed* when one of their compared fields differs. The fields
//! per kind (role name in brackets):
//!
//! | kind | exact | confidence (absolute) | relative |
//! | --- | --- | --- | --- |
//! | `anomalies` | `node_id`, `anomaly_type`, `severity` | `confidence` | |
//! | `recommendations` | `recommendation_type`, `action`, `target_nodes` (a set) | `confidence` | |
//! | `predictions` | `node_id`, `resource` | `confidence` | `horizons.<minutes>.mean` |
//! | `workload_insights` | `classes` (as a set) | `confidence` | |
//! | `scaling_decisions` | `action`, `target_capacity` | `confidence` | |
//!
//! A confidence differs when `|a - b| > tolerance`; a predicted mean differs when
//! `|a - b| > tolerance * max(|a|, |b|)`. A horizon present on one side only differs (its
//! other side is `null`). Reasons, scores, costs and input counts are not compared: they
//! follow from the compared fields or from the input, not from the decision.
//!
//! Known limit: both decision sets are held in memory until the report is made (a few
//! hundred bytes per decision; decisions are few per window, so a day of a large fleet is
//! tens of megabytes).

use super::observer::{Evaluation, ReplayObserver};
use crate::topics::TopicRole;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

/// The confidence tolerance used when none is given.
pub const DEFAULT_TOLERANCE: f64 = 0.05;

/// At most this many differences are listed in the section; the rest are counted.
pub const MAX_DIFFERENCES: usize = 1_000;

/// The output roles that carry decisions, in report order.
pub const DECISION_ROLES: [TopicRole; 5] = [
    TopicRole::Anomalies,
    TopicRole::Recommendations,
    TopicRole::Predictions,
    TopicRole::WorkloadInsights,
    TopicRole::ScalingDecisions,
];

/// Slack for binary rounding when a difference equals the tolerance.
const ROUNDING: f64 = 1e-12;

/// Why a baseline could not be loaded. Every variant is the user's input at fault.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// A baseline file or directory could not be read.
    #[error("read baseline {path}: {error}")]
    Io {
        /// The file or directory.
        path: String,
        /// The I/O error (in the message, not a source, so a chain prints it once).
        error: std::io::Error,
    },
    /// A line is not a decision this comparison can read.
    #[error("baseline {source_name} line {line}: {reason}")]
    BadLine {
        /// The file (or `input` for decisions given in memory).
        source_name: String,
        /// 1-based line, or the position among decisions given in memory.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A baseline directory holds no JSON-lines file at all.
    #[error("baseline {path}: no <role>.jsonl file in the directory")]
    EmptyDir {
        /// The directory.
        path: String,
    },
    /// The tolerance is negative or not a number.
    #[error("baseline tolerance {0}: must be a finite number at or above 0")]
    Tolerance(f64),
}

/// How one compared field is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// Equal values (numbers as numbers).
    Exact,
    /// Numbers within the tolerance of each other.
    Absolute,
    /// Numbers within the tolerance times the larger magnitude.
    Relative,
}

/// One side's view of a decision: what identifies it and the fields compared.
#[derive(Debug, Clone)]
struct Decision {
    kind: TopicRole,
    revision: u64,
    scope: String,
    window_start: String,
    fields: BTreeMap<String, (Value, Rule)>,
}

/// Counts of one decision kind, or of all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Decisions in the baseline (one per id).
    pub baseline: u64,
    /// Decisions in the replay (one per id).
    pub replayed: u64,
    /// Ids in both, alike.
    pub matched: u64,
    /// Ids in both, with a compared field differing.
    pub changed: u64,
    /// Ids in the baseline only.
    pub missing: u64,
    /// Ids in the replay only.
    pub extra: u64,
}

impl Counts {
    /// `matched / (matched + changed + missing + extra)`, 1 when all four are 0.
    pub fn agreement(&self) -> f64 {
        let all = self.matched + self.changed + self.missing + self.extra;
        if all == 0 {
            1.0
        } else {
            self.matched as f64 / all as f64
        }
    }

    fn add(&mut self, other: &Counts) {
        self.baseline += other.baseline;
        self.replayed += other.replayed;
        self.matched += other.matched;
        self.changed += other.changed;
        self.missing += other.missing;
        self.extra += other.extra;
    }

    fn to_json(self) -> Value {
        json!({
            "baseline": self.baseline,
            "replayed": self.replayed,
            "matched": self.matched,
            "changed": self.changed,
            "missing": self.missing,
            "extra": self.extra,
            "agreement": self.agreement(),
        })
    }
}

/// The `baseline` evaluation: recorded decisions, compared with the replayed ones at the end.
#[derive(Debug)]
pub struct BaselineComparison {
    tolerance: f64,
    baseline: BTreeMap<String, Decision>,
    replayed: BTreeMap<String, Decision>,
}

impl BaselineComparison {
    /// An empty comparison; add the baseline with [`BaselineComparison::add_baseline`].
    pub fn new(tolerance: f64) -> Result<Self, BaselineError> {
        if !(tolerance.is_finite() && tolerance >= 0.0) {
            return Err(BaselineError::Tolerance(tolerance));
        }
        Ok(BaselineComparison {
            tolerance,
            baseline: BTreeMap::new(),
            replayed: BTreeMap::new(),
        })
    }

    /// A comparison against decisions given with their roles; roles that carry no decisions
    /// (inputs, audit, dead letters) are skipped.
    pub fn from_decisions<I, B>(decisions: I, tolerance: f64) -> Result<Self, BaselineError>
    where
        I: IntoIterator<Item = (TopicRole, B)>,
        B: AsRef<[u8]>,
    {
        let mut comparison = BaselineComparison::new(tolerance)?;
        for (i, (role, bytes)) in decisions.into_iter().enumerate() {
            if DECISION_ROLES.contains(&role) {
                comparison.add_baseline(role, bytes.as_ref(), "input", i + 1)?;
            }
        }
        Ok(comparison)
    }

    /// A comparison against a recorded run: a directory of `<role>.jsonl` files as the replay
    /// writes them (the decision roles' files are read, the others ignored), or one file of
    /// JSON lines mixing kinds (see [`role_of_line`]).
    pub fn load(path: &Path, tolerance: f64) -> Result<Self, BaselineError> {
        let mut comparison = BaselineComparison::new(tolerance)?;
        let io = |error| BaselineError::Io {
            path: path.display().to_string(),
            error,
        };
        if path.is_dir() {
            let any_jsonl = std::fs::read_dir(path)
                .map_err(io)?
                .filter_map(Result::ok)
                .any(|e| e.path().extension().is_some_and(|x| x == "jsonl"));
            if !any_jsonl {
                return Err(BaselineError::EmptyDir {
                    path: path.display().to_string(),
                });
            }
            for role in DECISION_ROLES {
                let file = path.join(format!("{}.jsonl", role.as_str()));
                if file.is_file() {
                    comparison.read_file(&file, Some(role))?;
                }
            }
        } else {
            comparison.read_file(path, None)?;
        }
        Ok(comparison)
    }

    /// Reads one JSON-lines file; each line's role is `role`, or found from the line itself.
    fn read_file(&mut self, path: &Path, role: Option<TopicRole>) -> Result<(), BaselineError> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|error| BaselineError::Io {
            path: name.clone(),
            error,
        })?;
        for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|error| BaselineError::Io {
                path: name.clone(),
                error,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let role = match role {
                Some(role) => role,
                None => match role_of_line(line.as_bytes()) {
                    Ok(LineRole::Decision(role)) => role,
                    Ok(LineRole::NotADecision) => continue,
                    Err(reason) => {
                        return Err(BaselineError::BadLine {
                            source_name: name,
                            line: i + 1,
                            reason,
                        })
                    }
                },
            };
            self.add_baseline(role, line.as_bytes(), &name, i + 1)?;
        }
        Ok(())
    }

    /// Adds one recorded decision of `role`; `source_name` and `line` name it in errors.
    pub fn add_baseline(
        &mut self,
        role: TopicRole,
        bytes: &[u8],
        source_name: &str,
        line: usize,
    ) -> Result<(), BaselineError> {
        let (id, decision) =
            read_decision(role, bytes).map_err(|reason| BaselineError::BadLine {
                source_name: source_name.to_owned(),
                line,
                reason,
            })?;
        keep_latest(&mut self.baseline, id, decision);
        Ok(())
    }

    /// Counts per kind, in [`DECISION_ROLES`] order, and the differences, in window order.
    fn compare(&self) -> (BTreeMap<TopicRole, Counts>, Vec<Value>) {
        let mut kinds: BTreeMap<TopicRole, Counts> = DECISION_ROLES
            .iter()
            .map(|r| (*r, Counts::default()))
            .collect();
        let mut differences: Vec<(String, TopicRole, String, String, Value)> = Vec::new();
        for d in self.baseline.values() {
            kinds.entry(d.kind).or_default().baseline += 1;
        }
        for d in self.replayed.values() {
            kinds.entry(d.kind).or_default().replayed += 1;
        }

        for (id, b) in &self.baseline {
            let counts = kinds.entry(b.kind).or_default();
            let Some(r) = self.replayed.get(id) else {
                counts.missing += 1;
                let fields = one_sided(b, true);
                differences.push(difference(id, b, "missing", fields));
                continue;
            };
            let mut fields = self.changed_fields(b, r);
            if b.kind != r.kind {
                fields.insert(
                    0,
                    json!({"field": "kind", "baseline": b.kind.as_str(),
                           "replayed": r.kind.as_str()}),
                );
            }
            if fields.is_empty() {
                counts.matched += 1;
            } else {
                counts.changed += 1;
                differences.push(difference(id, b, "changed", fields));
            }
        }
        for (id, r) in &self.replayed {
            if !self.baseline.contains_key(id) {
                kinds.entry(r.kind).or_default().extra += 1;
                differences.push(difference(id, r, "extra", one_sided(r, false)));
            }
        }

        differences.sort_by(|a, b| (&a.0, a.1, &a.2, &a.3).cmp(&(&b.0, b.1, &b.2, &b.3)));
        (kinds, differences.into_iter().map(|d| d.4).collect())
    }

    /// The compared fields of two decisions with the same id that differ.
    fn changed_fields(&self, b: &Decision, r: &Decision) -> Vec<Value> {
        let mut names: Vec<&String> = b.fields.keys().chain(r.fields.keys()).collect();
        names.sort();
        names.dedup();
        let mut out = Vec::new();
        for name in names {
            let (bv, rule) = b
                .fields
                .get(name)
                .map(|(v, rule)| (v.clone(), *rule))
                .unwrap_or((Value::Null, Rule::Exact));
            let rv = r
                .fields
                .get(name)
                .map(|(v, _)| v.clone())
                .unwrap_or(Value::Null);
            if !self.alike(&bv, &rv, rule) {
                out.push(json!({"field": name, "baseline": bv, "replayed": rv}));
            }
        }
        out
    }

    fn alike(&self, a: &Value, b: &Value, rule: Rule) -> bool {
        match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => {
                let diff = (x - y).abs();
                match rule {
                    Rule::Exact => x == y,
                    Rule::Absolute => diff <= self.tolerance + ROUNDING,
                    Rule::Relative => diff <= self.tolerance * x.abs().max(y.abs()) + ROUNDING,
                }
            }
            _ => a == b,
        }
    }
}

impl ReplayObserver for BaselineComparison {
    fn on_output(&mut self, role: TopicRole, payload: &[u8]) {
        if !DECISION_ROLES.contains(&role) {
            return;
        }
        match read_decision(role, payload) {
            Ok((id, decision)) => keep_latest(&mut self.replayed, id, decision),
            // The replay wrote it, so it reads; if not, the comparison says so and goes on.
            Err(error) => tracing::warn!(role = role.as_str(), %error, "replayed decision unread"),
        }
    }
}

impl Evaluation for BaselineComparison {
    fn name(&self) -> &'static str {
        "baseline"
    }

    fn section(&self) -> Value {
        let (kinds, mut differences) = self.compare();
        let mut overall = Counts::default();
        let mut by_kind = Map::new();
        for (role, counts) in &kinds {
            overall.add(counts);
            by_kind.insert(role.as_str().to_owned(), counts.to_json());
        }
        let truncated = differences.len().saturating_sub(MAX_DIFFERENCES);
        differences.truncate(MAX_DIFFERENCES);
        json!({
            "tolerance": self.tolerance,
            "kinds": by_kind,
            "overall": overall.to_json(),
            "differences": differences,
            "differences_truncated": truncated,
        })
    }
}

/// What a line of a mixed baseline file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRole {
    /// A decision of this role.
    Decision(TopicRole),
    /// An audit record or a dead letter: skipped.
    NotADecision,
}

/// The role of one line of a mixed file: from a `kind` field's prefix when the line has one
/// (`anomal…`, `recommend…`, `predict…` or `resource_prediction…`, `workload…`, `scaling…`;
/// the audit kinds are not decisions), otherwise from the field only that kind has
/// (`anomaly_type`, `recommendation_type`, `horizons`, `job_type`, `target_capacity`; a dead
/// letter has `source_topic`). Decisions as fabric-ai writes them have no `kind` field.
pub fn role_of_line(bytes: &[u8]) -> Result<LineRole, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let Some(object) = value.as_object() else {
        return Err("not a JSON object".into());
    };
    if let Some(kind) = object.get("kind").and_then(Value::as_str) {
        let prefixes = [
            ("anomal", LineRole::Decision(TopicRole::Anomalies)),
            ("recommend", LineRole::Decision(TopicRole::Recommendations)),
            ("predict", LineRole::Decision(TopicRole::Predictions)),
            (
                "resource_prediction",
                LineRole::Decision(TopicRole::Predictions),
            ),
            ("workload", LineRole::Decision(TopicRole::WorkloadInsights)),
            ("scaling", LineRole::Decision(TopicRole::ScalingDecisions)),
            ("decision_", LineRole::NotADecision),
            ("late_event", LineRole::NotADecision),
            ("key_refused", LineRole::NotADecision),
        ];
        let kind = kind.to_ascii_lowercase();
        return prefixes
            .iter()
            .find(|(p, _)| kind.starts_with(p))
            .map(|(_, role)| *role)
            .ok_or_else(|| format!("kind `{kind}` is not a decision kind"));
    }
    let markers = [
        ("anomaly_type", LineRole::Decision(TopicRole::Anomalies)),
        (
            "recommendation_type",
            LineRole::Decision(TopicRole::Recommendations),
        ),
        ("horizons", LineRole::Decision(TopicRole::Predictions)),
        ("job_type", LineRole::Decision(TopicRole::WorkloadInsights)),
        (
            "target_capacity",
            LineRole::Decision(TopicRole::ScalingDecisions),
        ),
        ("source_topic", LineRole::NotADecision),
    ];
    markers
        .iter()
        .find(|(field, _)| object.contains_key(*field))
        .map(|(_, role)| *role)
        .ok_or_else(|| "no `kind` and none of the fields that tell a decision's kind".into())
}

/// Keeps the decision with the highest revision under `id`; the later one on a tie.
fn keep_latest(map: &mut BTreeMap<String, Decision>, id: String, decision: Decision) {
    match map.get(&id) {
        Some(old) if old.revision > decision.revision => {}
        _ => {
            map.insert(id, decision);
        }
    }
}

/// Reads a decision of `role`: its id and its compared fields.
fn read_decision(role: TopicRole, bytes: &[u8]) -> Result<(String, Decision), String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let object = value.as_object().ok_or("not a JSON object")?;
    let id = object
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or("no `id`")?
        .to_owned();
    let text = |name: &str| {
        object
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let window_start = object
        .get("window")
        .and_then(|w| w.get("start"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut fields = BTreeMap::new();
    let mut take = |name: &str, rule: Rule| {
        let v = object.get(name).cloned().unwrap_or(Value::Null);
        fields.insert(name.to_owned(), (v, rule));
    };
    take("confidence", Rule::Absolute);
    match role {
        TopicRole::Anomalies => {
            take("node_id", Rule::Exact);
            take("anomaly_type", Rule::Exact);
            take("severity", Rule::Exact);
        }
        TopicRole::Recommendations => {
            take("recommendation_type", Rule::Exact);
            take("action", Rule::Exact);
            fields.insert(
                "target_nodes".into(),
                (as_set(object.get("target_nodes")), Rule::Exact),
            );
        }
        TopicRole::Predictions => {
            take("node_id", Rule::Exact);
            take("resource", Rule::Exact);
            let horizons = object.get("horizons").and_then(Value::as_array);
            for h in horizons.into_iter().flatten() {
                let minutes = h.get("horizon_minutes").and_then(Value::as_u64);
                let mean = h.get("mean").cloned().unwrap_or(Value::Null);
                if let Some(minutes) = minutes {
                    fields.insert(format!("horizons.{minutes}.mean"), (mean, Rule::Relative));
                }
            }
        }
        TopicRole::WorkloadInsights => {
            fields.insert(
                "classes".into(),
                (as_set(object.get("classes")), Rule::Exact),
            );
        }
        TopicRole::ScalingDecisions => {
            take("action", Rule::Exact);
            take("target_capacity", Rule::Exact);
        }
        _ => return Err(format!("{} is not a decision role", role.as_str())),
    }
    let revision = object.get("revision").and_then(Value::as_u64).unwrap_or(0);
    let decision = Decision {
        kind: role,
        revision,
        scope: text("scope"),
        window_start,
        fields,
    };
    Ok((id, decision))
}

/// An array of strings compared as a set: sorted, duplicates removed.
fn as_set(value: Option<&Value>) -> Value {
    match value.and_then(Value::as_array) {
        Some(items) => {
            let mut items: Vec<Value> = items.clone();
            items.sort_by_key(|v| v.to_string());
            items.dedup();
            Value::Array(items)
        }
        None => Value::Null,
    }
}

/// A decision's compared fields against nothing: the other side is `null`.
fn one_sided(d: &Decision, baseline_side: bool) -> Vec<Value> {
    d.fields
        .iter()
        .map(|(name, (v, _))| {
            let (b, r) = if baseline_side {
                (v.clone(), Value::Null)
            } else {
                (Value::Null, v.clone())
            };
            json!({"field": name, "baseline": b, "replayed": r})
        })
        .collect()
}

/// A difference with its sort key: window start, kind, scope, id.
fn difference(
    id: &str,
    d: &Decision,
    status: &str,
    fields: Vec<Value>,
) -> (String, TopicRole, String, String, Value) {
    let value = json!({
        "id": id,
        "kind": d.kind.as_str(),
        "scope": d.scope,
        "window_start": d.window_start,
        "status": status,
        "fields": fields,
    });
    (
        d.window_start.clone(),
        d.kind,
        d.scope.clone(),
        id.to_owned(),
        value,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anomaly(id: &str, revision: u32, severity: &str, confidence: f64) -> Vec<u8> {
        json!({
            "id": id, "schema_version": 1, "revision": revision, "cluster_id": "c1",
            "scope": "c1/n1",
            "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:05:00Z"},
            "confidence": confidence, "source": "builtin", "reasons": [],
            "node_id": "n1", "anomaly_type": "spike", "severity": severity, "score": 0.9,
            "detected_at": "2026-01-01T00:01:00Z", "metrics": []
        })
        .to_string()
        .into_bytes()
    }

    fn prediction(id: &str, mean: f64) -> Vec<u8> {
        json!({
            "id": id, "revision": 0, "scope": "c1",
            "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:05:00Z"},
            "confidence": 0.8, "node_id": null, "resource": "cpu_util",
            "horizons": [{"horizon_minutes": 15, "mean": mean, "lower_80": 0.0,
                          "upper_80": 1.0, "lower_95": 0.0, "upper_95": 1.0}]
        })
        .to_string()
        .into_bytes()
    }

    fn run(baseline: Vec<(TopicRole, Vec<u8>)>, replayed: Vec<(TopicRole, Vec<u8>)>) -> Value {
        let mut c = BaselineComparison::from_decisions(baseline, DEFAULT_TOLERANCE).unwrap();
        for (role, bytes) in replayed {
            c.on_output(role, &bytes);
        }
        c.section()
    }

    #[test]
    fn identical_decisions_all_match_with_agreement_one() {
        let a = vec![(TopicRole::Anomalies, anomaly("a", 0, "high", 0.9))];
        let s = run(a.clone(), a);
        assert_eq!(s["kinds"]["anomalies"]["matched"], 1);
        assert_eq!(s["overall"]["agreement"], 1.0);
        assert_eq!(s["differences"].as_array().unwrap().len(), 0);
        assert_eq!(s["differences_truncated"], 0);
    }

    #[test]
    fn missing_extra_and_changed_are_told_apart_and_listed() {
        let baseline = vec![
            (TopicRole::Anomalies, anomaly("same", 0, "high", 0.9)),
            (TopicRole::Anomalies, anomaly("gone", 0, "high", 0.9)),
            (TopicRole::Anomalies, anomaly("moved", 0, "high", 0.9)),
        ];
        let replayed = vec![
            (TopicRole::Anomalies, anomaly("same", 0, "high", 0.9)),
            (TopicRole::Anomalies, anomaly("moved", 0, "critical", 0.9)),
            (TopicRole::Anomalies, anomaly("new", 0, "low", 0.3)),
        ];
        let s = run(baseline, replayed);
        let k = &s["kinds"]["anomalies"];
        assert_eq!(
            (
                k["matched"].clone(),
                k["changed"].clone(),
                k["missing"].clone()
            ),
            (json!(1), json!(1), json!(1))
        );
        assert_eq!(k["extra"], 1);
        assert_eq!(k["baseline"], 3);
        assert_eq!(k["replayed"], 3);
        assert_eq!(s["overall"]["agreement"], 0.25);
        let diffs = s["differences"].as_array().unwrap();
        let status = |id: &str| {
            diffs
                .iter()
                .find(|d| d["id"] == id)
                .map(|d| d["status"].clone())
        };
        assert_eq!(status("gone"), Some(json!("missing")));
        assert_eq!(status("new"), Some(json!("extra")));
        assert_eq!(status("moved"), Some(json!("changed")));
        let moved = diffs.iter().find(|d| d["id"] == "moved").unwrap();
        assert_eq!(
            moved["fields"],
            json!([{"field": "severity", "baseline": "high", "replayed": "critical"}])
        );
    }

    #[test]
    fn confidence_within_the_tolerance_matches_and_beyond_it_changes() {
        let baseline = vec![
            (TopicRole::Anomalies, anomaly("near", 0, "high", 0.80)),
            (TopicRole::Anomalies, anomaly("far", 0, "high", 0.80)),
        ];
        let replayed = vec![
            (TopicRole::Anomalies, anomaly("near", 0, "high", 0.85)),
            (TopicRole::Anomalies, anomaly("far", 0, "high", 0.86)),
        ];
        let s = run(baseline, replayed);
        assert_eq!(s["kinds"]["anomalies"]["matched"], 1);
        assert_eq!(s["kinds"]["anomalies"]["changed"], 1);
        assert_eq!(s["differences"][0]["id"], "far");
        assert_eq!(s["differences"][0]["fields"][0]["field"], "confidence");
    }

    #[test]
    fn predicted_means_are_compared_relative_to_their_size() {
        let baseline = vec![
            (TopicRole::Predictions, prediction("p1", 100.0)),
            (TopicRole::Predictions, prediction("p2", 100.0)),
        ];
        // 4% off matches, 6% off changes, at a tolerance of 5%.
        let replayed = vec![
            (TopicRole::Predictions, prediction("p1", 104.0)),
            (TopicRole::Predictions, prediction("p2", 106.0)),
        ];
        let s = run(baseline, replayed);
        assert_eq!(s["kinds"]["predictions"]["matched"], 1);
        assert_eq!(s["kinds"]["predictions"]["changed"], 1);
        assert_eq!(
            s["differences"][0]["fields"][0]["field"],
            "horizons.15.mean"
        );
    }

    #[test]
    fn the_highest_revision_of_an_id_is_the_one_compared() {
        let baseline = vec![
            (TopicRole::Anomalies, anomaly("a", 1, "critical", 0.9)),
            (TopicRole::Anomalies, anomaly("a", 0, "low", 0.9)),
        ];
        let replayed = vec![
            (TopicRole::Anomalies, anomaly("a", 0, "low", 0.9)),
            (TopicRole::Anomalies, anomaly("a", 1, "critical", 0.9)),
        ];
        let s = run(baseline, replayed);
        assert_eq!(s["kinds"]["anomalies"]["baseline"], 1);
        assert_eq!(s["kinds"]["anomalies"]["matched"], 1);
    }

    #[test]
    fn audit_and_dead_letters_are_not_compared() {
        let audit = br#"{"id":"x","kind":"decision_accepted","scope":"c1"}"#.to_vec();
        let mut c = BaselineComparison::from_decisions(
            vec![(TopicRole::Audit, audit.clone())],
            DEFAULT_TOLERANCE,
        )
        .unwrap();
        c.on_output(TopicRole::Audit, &audit);
        assert_eq!(c.section()["overall"]["baseline"], 0);
        assert_eq!(c.section()["overall"]["replayed"], 0);
    }

    #[test]
    fn a_mixed_file_gets_each_line_role_from_its_kind_or_its_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mixed.jsonl");
        let mut text = String::new();
        text.push_str(&String::from_utf8(anomaly("a", 0, "high", 0.9)).unwrap());
        text.push('\n');
        text.push_str(&String::from_utf8(prediction("p", 1.0)).unwrap());
        text.push_str("\n\n");
        text.push_str(r#"{"id":"s","kind":"scaling_decision","action":"scale_out"}"#);
        text.push('\n');
        text.push_str(r#"{"id":"x","kind":"decision_accepted"}"#);
        text.push('\n');
        std::fs::write(&path, text).unwrap();
        let c = BaselineComparison::load(&path, DEFAULT_TOLERANCE).unwrap();
        let s = c.section();
        assert_eq!(s["kinds"]["anomalies"]["baseline"], 1);
        assert_eq!(s["kinds"]["predictions"]["baseline"], 1);
        assert_eq!(s["kinds"]["scaling_decisions"]["baseline"], 1);
        assert_eq!(s["overall"]["baseline"], 3);
    }

    #[test]
    fn a_line_of_no_known_kind_is_an_error_naming_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.jsonl");
        std::fs::write(&path, "\n{\"id\":\"a\",\"colour\":\"red\"}\n").unwrap();
        let error = BaselineComparison::load(&path, DEFAULT_TOLERANCE).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("bad.jsonl line 2"), "{text}");
    }

    #[test]
    fn a_negative_tolerance_is_refused() {
        assert!(matches!(
            BaselineComparison::new(-0.1),
            Err(BaselineError::Tolerance(_))
        ));
    }

    #[test]
    fn differences_beyond_the_cap_are_counted_not_listed() {
        let replayed: Vec<(TopicRole, Vec<u8>)> = (0..MAX_DIFFERENCES + 5)
            .map(|i| {
                (
                    TopicRole::Anomalies,
                    anomaly(&format!("x{i}"), 0, "low", 0.5),
                )
            })
            .collect();
        let s = run(Vec::new(), replayed);
        assert_eq!(s["differences"].as_array().unwrap().len(), MAX_DIFFERENCES);
        assert_eq!(s["differences_truncated"], 5);
        assert_eq!(s["overall"]["agreement"], 0.0);
    }
}
