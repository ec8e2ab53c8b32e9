//! The replay report: the run's counters and every evaluation's section, written as
//! `report.json`, and the `--fail-if` rules a CI pipeline gates on.
//!
//! `report.json` is `{"summary": {...}, "sections": {"<name>": ..., ...}}`, pretty-printed,
//! with object keys in alphabetical order (so two reports of the same run are identical and
//! diff well). It holds no wall-clock time for the same reason.
//!
//! A rule is `PATH OP NUMBER`: `PATH` is a dotted path into the report JSON (an array element
//! by its index), `OP` one of `<`, `<=`, `>`, `>=`. A path that starts with neither `summary`
//! nor `sections` is read under `sections`, so `baseline.overall.agreement<0.95` is
//! `sections.baseline.overall.agreement<0.95`. A rule *trips* when the comparison holds. A
//! path that is missing or does not lead to a number (including `null`, an undefined metric)
//! is an error naming the rule, never a silent pass.

use crate::stats::StatsSnapshot;
use serde_json::{json, Map, Value};
use std::fmt;
use std::path::Path;

/// Why a report could not be written or checked.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A report file could not be written.
    #[error("write report {path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error (in the message, not a source, so a chain prints it once).
        error: std::io::Error,
    },
    /// A rule's path is not in the report, or leads to no number.
    #[error("--fail-if `{rule}`: {reason}")]
    Rule {
        /// The rule as given.
        rule: String,
        /// What the path led to.
        reason: String,
    },
}

/// A comparison of a `--fail-if` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    fn holds(self, actual: f64, threshold: f64) -> bool {
        match self {
            Op::Lt => actual < threshold,
            Op::Le => actual <= threshold,
            Op::Gt => actual > threshold,
            Op::Ge => actual >= threshold,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// One `--fail-if` rule, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct FailRule {
    /// Dotted path from the report's root (`sections.` added to a shorthand).
    pub path: String,
    /// The comparison.
    pub op: Op,
    /// The number compared with.
    pub threshold: f64,
}

impl fmt::Display for FailRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.path, self.op.as_str(), self.threshold)
    }
}

impl FailRule {
    /// Parses `PATH OP NUMBER` (spaces around the operator allowed). The message of an error
    /// says what is wrong; clap prints it with the flag.
    pub fn parse(text: &str) -> Result<FailRule, String> {
        let at = text
            .find(['<', '>'])
            .ok_or_else(|| format!("`{text}`: no operator (<, <=, > or >=)"))?;
        let (path, rest) = text.split_at(at);
        let (op, number) = match rest.as_bytes() {
            [b'<', b'=', ..] => (Op::Le, &rest[2..]),
            [b'>', b'=', ..] => (Op::Ge, &rest[2..]),
            [b'<', ..] => (Op::Lt, &rest[1..]),
            _ => (Op::Gt, &rest[1..]),
        };
        let path = path.trim();
        let valid_segment = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if !path.split('.').all(valid_segment) {
            return Err(format!(
                "`{text}`: the path must be dotted names (letters, digits, _ or -)"
            ));
        }
        let threshold: f64 = number
            .trim()
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite())
            .ok_or_else(|| format!("`{text}`: `{}` is not a number", number.trim()))?;
        let path = match path.split('.').next() {
            Some("summary") | Some("sections") => path.to_owned(),
            _ => format!("sections.{path}"),
        };
        Ok(FailRule {
            path,
            op,
            threshold,
        })
    }
}

/// A rule that tripped, with the value it found.
#[derive(Debug, Clone, PartialEq)]
pub struct Tripped {
    /// The rule.
    pub rule: FailRule,
    /// The report's value at the rule's path.
    pub actual: f64,
}

impl fmt::Display for Tripped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (actual {})", self.rule, self.actual)
    }
}

/// The report of one replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Run counters (see [`summary_json`]).
    pub summary: Value,
    /// Each evaluation's section, by name.
    pub sections: Map<String, Value>,
}

impl Report {
    /// The report of a run with these counters and sections.
    pub fn new(stats: &StatsSnapshot, sections: Vec<(&str, Value)>) -> Report {
        Report {
            summary: summary_json(stats),
            sections: sections
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
        }
    }

    /// The whole report as one JSON value.
    pub fn to_json(&self) -> Value {
        json!({"summary": self.summary, "sections": self.sections})
    }

    /// Writes the report, pretty-printed, to `path`.
    pub fn write_json(&self, path: &Path) -> Result<(), ReportError> {
        let mut text =
            serde_json::to_string_pretty(&self.to_json()).expect("a JSON value always serialises");
        text.push('\n');
        std::fs::write(path, text).map_err(|error| ReportError::Io {
            path: path.display().to_string(),
            error,
        })
    }

    /// Checks every rule; the tripped ones, in the order given. The first rule whose path does
    /// not lead to a number is an error.
    pub fn check(&self, rules: &[FailRule]) -> Result<Vec<Tripped>, ReportError> {
        let root = self.to_json();
        let mut tripped = Vec::new();
        for rule in rules {
            let error = |reason: String| ReportError::Rule {
                rule: rule.to_string(),
                reason,
            };
            let value = lookup(&root, &rule.path)
                .ok_or_else(|| error(format!("{} is not in the report", rule.path)))?;
            let actual = value
                .as_f64()
                .ok_or_else(|| error(format!("{} is {value}, not a number", rule.path)))?;
            if rule.op.holds(actual, rule.threshold) {
                tripped.push(Tripped {
                    rule: rule.clone(),
                    actual,
                });
            }
        }
        Ok(tripped)
    }
}

/// The value at a dotted path: object keys by name, array elements by index.
pub fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(root, |v, segment| match v {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// The run counters of a replay, as they appear under `summary`.
pub fn summary_json(s: &StatsSnapshot) -> Value {
    json!({
        "events": s.events_ok + s.dead_letters,
        "events_ok": s.events_ok,
        "dead_letters": s.dead_letters,
        "late_events": s.late_events,
        "refused_keys": s.refused_keys,
        "revisions": s.revisions,
        "windows_closed": s.windows_closed,
        "decisions_out": s.decisions_out,
        "decisions_rejected": s.decisions_rejected,
    })
}

/// One line saying what a section found, for the terminal. Known sections get their headline
/// numbers; any other section its name and size.
pub fn section_line(name: &str, section: &Value) -> String {
    if matches!(name, "labels" | "forecasts" | "scaling") || section.get("error").is_some() {
        return crate::replay::summary::line(name, section);
    }
    let num = |path: &str| match lookup(section, path) {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Null) | None => "-".to_owned(),
        Some(other) => other.to_string(),
    };
    match name {
        "baseline" => format!(
            "baseline: agreement {} ({} matched, {} changed, {} missing, {} extra; \
             tolerance {})",
            num("overall.agreement"),
            num("overall.matched"),
            num("overall.changed"),
            num("overall.missing"),
            num("overall.extra"),
            num("tolerance"),
        ),
        "series" => format!(
            "series: {} nodes charted of {} seen, {} anomalies, {} decision marks",
            num("charted"),
            num("nodes_seen"),
            num("anomalies"),
            num("decisions"),
        ),
        _ => {
            let size = match section {
                Value::Object(m) => m.len(),
                Value::Array(a) => a.len(),
                _ => 1,
            };
            format!("{name}: {size} entries")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            summary: json!({"events": 10, "dead_letters": 1}),
            sections: [(
                "baseline".to_owned(),
                json!({"overall": {"agreement": 0.9}, "kinds": {"anomalies": {"agreement": 1.0}},
                       "differences": [{"id": "a"}], "missing_metric": null}),
            )]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn rules_parse_each_operator_with_or_without_spaces() {
        let r = FailRule::parse("baseline.overall.agreement<0.95").unwrap();
        assert_eq!(r.path, "sections.baseline.overall.agreement");
        assert_eq!((r.op, r.threshold), (Op::Lt, 0.95));
        assert_eq!(FailRule::parse("a <= 1").unwrap().op, Op::Le);
        assert_eq!(FailRule::parse("a>1e3").unwrap().threshold, 1000.0);
        assert_eq!(FailRule::parse("a >= -2").unwrap().op, Op::Ge);
        let s = FailRule::parse("summary.dead_letters > 0").unwrap();
        assert_eq!(s.path, "summary.dead_letters");
        assert_eq!(s.op, Op::Gt);
        assert_eq!(
            FailRule::parse("sections.x.y<1").unwrap().path,
            "sections.x.y"
        );
    }

    #[test]
    fn malformed_rules_are_refused_with_a_reason() {
        for bad in [
            "agreement",
            "<0.5",
            "a..b<1",
            "a<",
            "a<x",
            "a<nan",
            "a=1",
            "a b<1",
        ] {
            assert!(FailRule::parse(bad).is_err(), "{bad} parsed");
        }
        let text = FailRule::parse("a<x").unwrap_err();
        assert!(text.contains("not a number"), "{text}");
    }

    #[test]
    fn a_rule_trips_only_when_its_comparison_holds() {
        let rules: Vec<FailRule> = [
            "baseline.overall.agreement<0.95",
            "baseline.overall.agreement<0.9",
            "baseline.overall.agreement<=0.9",
            "sections.baseline.kinds.anomalies.agreement>=1",
            "summary.dead_letters>1",
        ]
        .iter()
        .map(|t| FailRule::parse(t).unwrap())
        .collect();
        let tripped = report().check(&rules).unwrap();
        let texts: Vec<String> = tripped.iter().map(|t| t.rule.to_string()).collect();
        assert_eq!(
            texts,
            [
                "sections.baseline.overall.agreement<0.95",
                "sections.baseline.overall.agreement<=0.9",
                "sections.baseline.kinds.anomalies.agreement>=1",
            ]
        );
        assert_eq!(tripped[0].actual, 0.9);
        assert_eq!(
            tripped[0].to_string(),
            "sections.baseline.overall.agreement<0.95 (actual 0.9)"
        );
    }

    #[test]
    fn a_missing_or_non_numeric_path_is_an_error_naming_the_rule() {
        for rule in [
            "labels.recall<0.5",
            "baseline.missing_metric<1",
            "baseline.differences<1",
        ] {
            let error = report()
                .check(&[FailRule::parse(rule).unwrap()])
                .unwrap_err();
            let text = error.to_string();
            assert!(text.starts_with("--fail-if `sections."), "{text}");
        }
    }

    #[test]
    fn array_elements_are_reached_by_index() {
        let root = report().to_json();
        assert_eq!(
            lookup(&root, "sections.baseline.differences.0.id"),
            Some(&json!("a"))
        );
        assert_eq!(lookup(&root, "sections.baseline.differences.1"), None);
    }

    #[test]
    fn the_written_report_has_sorted_keys_and_ends_in_a_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        report().write_json(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n"));
        let sections = text.find("\"sections\"").unwrap();
        let summary = text.find("\"summary\"").unwrap();
        assert!(sections < summary);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, report().to_json());
    }
}
