//! The `labels` evaluation: the detector's per-sample scores of every node, scored against
//! labelled incident windows with the NAB rule ([`crate::replay::score`]).
//!
//! Each node is one series (its samples in event time, each with the detector's score). Its
//! windows come from NAB's `windows.json`, matched by the file stem of the key
//! (`realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv` is node `ec2_cpu_utilization_5f5533`,
//! as `--series` names it), or from a labels CSV (`start,end[,scope]`, a scope matching the
//! node key `cluster/node` or the node id, an empty scope matching every node).
//!
//! The section gives the three profiles at the configured threshold and at the best threshold
//! of the pooled corpus, and at the configured threshold precision, recall, mean time to detect
//! and a count per series.
//!
//! Known limits: scores are kept for every sample of the replay (16 bytes each plus the node
//! key once), so memory grows with the input; samples that share a node and an event time are
//! one row, with the highest score; a labelled window holding no sample of a node does not
//! count for that node; overlapping CSV windows of one node are merged into one.

use crate::event::node_key;
use crate::replay::input::{read_labels_csv, read_windows_json, InputError, Label};
use crate::replay::observer::{Evaluation, ReplayObserver, SampleScore};
use crate::replay::score::{best_threshold, score_at, Profile, Series, SeriesError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why labels could not be read or matched to the replayed nodes.
#[derive(Debug, Error)]
pub enum LabelsError {
    /// The labels file could not be read.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The file is neither `.json` nor `.csv`.
    #[error(
        "labels {}: expected a .json (NAB windows) or .csv (start,end[,scope]) file",
        .0.display()
    )]
    UnknownFormat(PathBuf),
    /// Two `windows.json` keys have the same file stem, so a node cannot tell them apart.
    #[error("labels {}: `{first}` and `{second}` have the same file stem", .path.display())]
    AmbiguousStem {
        /// The file.
        path: PathBuf,
        /// One key.
        first: String,
        /// The other.
        second: String,
    },
    /// A replayed series has no entry in `windows.json`.
    #[error("labels: series `{series}` has no entry in windows.json")]
    MissingSeries {
        /// The node id (file stem) looked for.
        series: String,
    },
    /// A node's scores and windows do not form a scorable series.
    #[error("labels: series `{series}`: {source}")]
    Series {
        /// The node key.
        series: String,
        /// Why.
        #[source]
        source: SeriesError,
    },
}

/// Incident windows, as read.
#[derive(Debug, Clone)]
pub enum LabelSet {
    /// NAB `windows.json`, by file stem; every replayed node must have an entry.
    Nab(BTreeMap<String, Vec<(i64, i64)>>),
    /// A labels CSV; a node no window applies to has none.
    Csv(Vec<Label>),
}

impl LabelSet {
    /// Reads `windows.json` or a labels CSV, chosen by the file's extension.
    pub fn load(path: &Path) -> Result<LabelSet, LabelsError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("json") => {
                let mut by_stem: BTreeMap<String, (String, Vec<(i64, i64)>)> = BTreeMap::new();
                for (key, windows) in read_windows_json(path)? {
                    let stem = Path::new(&key)
                        .file_stem()
                        .map_or_else(|| key.clone(), |s| s.to_string_lossy().into_owned());
                    if let Some((first, _)) = by_stem.get(&stem) {
                        return Err(LabelsError::AmbiguousStem {
                            path: path.to_path_buf(),
                            first: first.clone(),
                            second: key,
                        });
                    }
                    by_stem.insert(stem, (key, windows));
                }
                Ok(LabelSet::Nab(
                    by_stem
                        .into_iter()
                        .map(|(stem, (_, w))| (stem, w))
                        .collect(),
                ))
            }
            Some("csv") => Ok(LabelSet::Csv(read_labels_csv(path)?)),
            _ => Err(LabelsError::UnknownFormat(path.to_path_buf())),
        }
    }

    /// The windows of one node, sorted, overlapping ones merged.
    pub fn windows_for(&self, cluster: &str, node: &str) -> Result<Vec<(i64, i64)>, LabelsError> {
        let mut windows = match self {
            LabelSet::Nab(by_stem) => {
                by_stem
                    .get(node)
                    .cloned()
                    .ok_or_else(|| LabelsError::MissingSeries {
                        series: node.to_owned(),
                    })?
            }
            LabelSet::Csv(labels) => {
                let key = node_key(cluster, node);
                labels
                    .iter()
                    .filter(|l| l.scope.as_deref().is_none_or(|s| s == key || s == node))
                    .map(|l| (l.start, l.end))
                    .collect()
            }
        };
        windows.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(windows.len());
        for (start, end) in windows {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        Ok(merged)
    }

    /// Checks, before a replay, that every named series has labels (`windows.json` only; a
    /// CSV applies to any node).
    pub fn check_series<'a>(
        &self,
        nodes: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), LabelsError> {
        if let LabelSet::Nab(by_stem) = self {
            if let Some(node) = nodes.into_iter().find(|n| !by_stem.contains_key(*n)) {
                return Err(LabelsError::MissingSeries {
                    series: node.to_owned(),
                });
            }
        }
        Ok(())
    }
}

/// One profile's scores, at the configured threshold and at the best one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileScores {
    /// Raw score at the configured threshold.
    pub raw: f64,
    /// Normalised score (0 = no detection, 100 = perfect) at the configured threshold.
    pub normalized: Option<f64>,
    /// The threshold with the best raw score on this corpus.
    pub best_threshold: Option<f64>,
    /// The normalised score there.
    pub best_normalized: Option<f64>,
}

/// One series at the configured threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesCounts {
    /// The node key, `cluster/node`.
    pub series: String,
    /// Its labelled windows (those holding at least one of its samples).
    pub windows: usize,
    /// Windows with a scored detection.
    pub detected: usize,
    /// Scored detections outside every window.
    pub false_alarms: usize,
}

/// The `labels` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelsReport {
    /// The configured threshold.
    pub threshold: f64,
    /// Series (nodes) scored.
    pub series: usize,
    /// Labelled windows over all series.
    pub windows: usize,
    /// At the configured threshold (see `replay::score`).
    pub precision: Option<f64>,
    /// At the configured threshold.
    pub recall: Option<f64>,
    /// Mean over detected windows of window start to first detection, in seconds.
    pub mean_time_to_detect_s: Option<f64>,
    /// `standard`, `reward_low_fp`, `reward_low_fn`.
    pub profiles: BTreeMap<&'static str, ProfileScores>,
    /// Per series, in node-key order.
    pub per_series: Vec<SeriesCounts>,
}

/// Collects per-sample scores per node during a replay and scores them against labels.
#[derive(Debug)]
pub struct LabelsEvaluation {
    labels: LabelSet,
    threshold: f64,
    /// Per cluster, per node: (event time ms, score), in the order judged.
    scores: BTreeMap<String, BTreeMap<String, Vec<(i64, f64)>>>,
}

impl LabelsEvaluation {
    /// An evaluation of `labels` at `threshold` (0.5 is the detector's alarm point).
    pub fn new(labels: LabelSet, threshold: f64) -> LabelsEvaluation {
        LabelsEvaluation {
            labels,
            threshold,
            scores: BTreeMap::new(),
        }
    }

    /// The scored corpus: one [`Series`] per node, with its name, in node-key order.
    fn corpus(&self) -> Result<(Vec<String>, Vec<Series>), LabelsError> {
        let mut names = Vec::new();
        let mut corpus = Vec::new();
        let nodes = self.scores.iter().flat_map(|(cluster, nodes)| {
            nodes.iter().map(move |(node, rows)| (cluster, node, rows))
        });
        for (cluster, node, rows) in nodes {
            let series = node_key(cluster, node);
            let mut rows = rows.clone();
            rows.sort_by_key(|(ts, _)| *ts);
            rows.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    kept.1 = kept.1.max(later.1);
                }
                same
            });
            let (timestamps, scores): (Vec<i64>, Vec<f64>) = rows.into_iter().unzip();
            let windows: Vec<(i64, i64)> = self
                .labels
                .windows_for(cluster, node)?
                .into_iter()
                .filter(|&(start, end)| {
                    let left = timestamps.partition_point(|&t| t < start);
                    timestamps.get(left).is_some_and(|&t| t <= end)
                })
                .collect();
            let scored =
                Series::new(timestamps, scores, windows).map_err(|source| LabelsError::Series {
                    series: series.clone(),
                    source,
                })?;
            names.push(series);
            corpus.push(scored);
        }
        Ok((names, corpus))
    }

    /// Scores what the replay showed.
    pub fn report(&self) -> Result<LabelsReport, LabelsError> {
        let (names, corpus) = self.corpus()?;
        let at = score_at(&corpus, self.threshold, Profile::Standard);
        let detect_ms: Vec<i64> = at.windows.iter().filter_map(|w| w.time_to_detect).collect();
        let mean_time_to_detect_s = (!detect_ms.is_empty())
            .then(|| detect_ms.iter().sum::<i64>() as f64 / detect_ms.len() as f64 / 1000.0);

        let profiles = Profile::ALL
            .into_iter()
            .map(|profile| {
                let fixed = score_at(&corpus, self.threshold, profile);
                let best = best_threshold(&corpus, profile);
                let scores = ProfileScores {
                    raw: fixed.raw,
                    normalized: fixed.normalised,
                    best_threshold: best.as_ref().map(|(t, _)| *t),
                    best_normalized: best.and_then(|(_, s)| s.normalised),
                };
                (profile.name(), scores)
            })
            .collect();

        let per_series = names
            .into_iter()
            .zip(&corpus)
            .map(|(series, s)| {
                let one = score_at(std::slice::from_ref(s), self.threshold, Profile::Standard);
                SeriesCounts {
                    series,
                    windows: s.windows().len(),
                    detected: one.tp_windows,
                    false_alarms: one.fp_rows,
                }
            })
            .collect();

        Ok(LabelsReport {
            threshold: self.threshold,
            series: corpus.len(),
            windows: at.windows.len(),
            precision: at.precision,
            recall: at.recall,
            mean_time_to_detect_s,
            profiles,
            per_series,
        })
    }
}

impl ReplayObserver for LabelsEvaluation {
    fn on_scores(&mut self, scores: &[SampleScore]) {
        for s in scores {
            // Look up by reference first: most samples belong to a node already seen.
            let nodes = match self.scores.get_mut(s.cluster_id.as_str()) {
                Some(nodes) => nodes,
                None => self.scores.entry(s.cluster_id.clone()).or_default(),
            };
            let rows = match nodes.get_mut(s.node_id.as_str()) {
                Some(rows) => rows,
                None => nodes.entry(s.node_id.clone()).or_default(),
            };
            rows.push((s.event_ms, s.score));
        }
    }

    fn wants_scores(&self) -> bool {
        true
    }
}

impl Evaluation for LabelsEvaluation {
    fn name(&self) -> &'static str {
        "labels"
    }

    /// The report, or `{"error": "..."}` when the labels do not match the replayed nodes.
    fn section(&self) -> serde_json::Value {
        match self.report() {
            Ok(report) => serde_json::to_value(report)
                .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() })),
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(start: i64, end: i64, scope: Option<&str>) -> Label {
        Label {
            start,
            end,
            scope: scope.map(str::to_owned),
        }
    }

    fn scores(node: &str, values: &[f64]) -> Vec<SampleScore> {
        values
            .iter()
            .enumerate()
            .map(|(i, &score)| SampleScore {
                cluster_id: "series".into(),
                node_id: node.into(),
                event_ms: i as i64 * 60_000,
                score,
            })
            .collect()
    }

    #[test]
    fn nab_windows_match_a_node_by_file_stem_and_a_missing_series_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("windows.json");
        std::fs::write(
            &path,
            r#"{"realAWSCloudwatch/ec2_cpu_a.csv": [["1970-01-01 00:01:00", "1970-01-01 00:02:00"]],
                "artificialNoAnomaly/flat.csv": []}"#,
        )
        .unwrap();
        let labels = LabelSet::load(&path).unwrap();
        assert_eq!(
            labels.windows_for("series", "ec2_cpu_a").unwrap(),
            vec![(60_000, 120_000)]
        );
        assert_eq!(labels.windows_for("any", "flat").unwrap(), vec![]);
        let missing = labels.windows_for("series", "other").unwrap_err();
        assert!(missing.to_string().contains("`other`"), "{missing}");
        assert!(labels.check_series(["ec2_cpu_a", "flat"]).is_ok());
        assert!(labels.check_series(["flat", "nope"]).is_err());
    }

    #[test]
    fn csv_labels_match_by_node_key_node_id_or_everything_and_overlaps_merge() {
        let labels = LabelSet::Csv(vec![
            label(500, 600, Some("c1/n1")),
            label(0, 100, None),
            label(50, 200, Some("n1")),
            label(700, 800, Some("c2/n2")),
        ]);
        assert_eq!(
            labels.windows_for("c1", "n1").unwrap(),
            vec![(0, 200), (500, 600)]
        );
        assert_eq!(
            labels.windows_for("c2", "n2").unwrap(),
            vec![(0, 100), (700, 800)]
        );
        assert_eq!(labels.windows_for("c3", "n3").unwrap(), vec![(0, 100)]);
        assert!(LabelSet::Csv(Vec::new())
            .windows_for("c", "n")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_spike_inside_the_window_is_detected_and_one_outside_is_a_false_alarm() {
        // 100 one-minute rows; the probation is the first 15. The window covers rows 60..=70.
        let mut values = vec![0.01; 100];
        values[62] = 0.97;
        values[90] = 0.8;
        let labels = LabelSet::Csv(vec![label(60 * 60_000, 70 * 60_000, None)]);
        let mut eval = LabelsEvaluation::new(labels, 0.5);
        eval.on_scores(&scores("a", &values));
        eval.on_scores(&scores("quiet", &[0.0; 100]));
        let report = eval.report().unwrap();
        assert_eq!((report.series, report.windows), (2, 2));
        assert_eq!(report.recall, Some(0.5));
        // One detected window and one false-alarm row.
        assert_eq!(report.precision, Some(0.5));
        assert_eq!(report.mean_time_to_detect_s, Some(120.0));
        assert_eq!(
            report.per_series[0],
            SeriesCounts {
                series: "series/a".into(),
                windows: 1,
                detected: 1,
                false_alarms: 1,
            }
        );
        assert_eq!(report.per_series[1].detected, 0);
        let standard = &report.profiles["standard"];
        assert!(
            standard.normalized.is_some_and(|n| n > 0.0 && n < 100.0),
            "{standard:?}"
        );
        // The best threshold keeps the spike and drops the false alarm.
        let best = standard.best_threshold.unwrap();
        assert!(best > 0.8 && best <= 0.97, "{best}");
        assert!(standard.best_normalized.unwrap() > standard.normalized.unwrap());
        let section = eval.section();
        assert_eq!(
            section["profiles"]["reward_low_fn"]["raw"].as_f64(),
            Some(report.profiles["reward_low_fn"].raw)
        );
    }

    #[test]
    fn a_section_names_the_series_missing_from_windows_json() {
        let mut eval = LabelsEvaluation::new(LabelSet::Nab(BTreeMap::new()), 0.5);
        eval.on_scores(&scores("unlabelled", &[0.0; 10]));
        let section = eval.section();
        let error = section["error"].as_str().unwrap();
        assert!(error.contains("`unlabelled`"), "{error}");
    }
}
