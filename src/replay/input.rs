//! Readers for replay inputs: recorded events as JSON lines, labelled series as CSV, and
//! anomaly labels as NAB's `windows.json` or a plain `start,end[,scope]` CSV.
//!
//! Every error names the file and, where there is one, the line. A bad JSON line is an
//! [`InputError::BadLine`] value carrying its bytes, so the replay can dead-letter it and read
//! on; the other readers stop at the first bad row, since a series or a label file with a hole
//! would be scored wrongly. Timestamps without a zone are read as UTC. Label timestamps are
//! returned as milliseconds since the Unix epoch, the unit [`crate::replay::score::Series`]
//! is built with in replay.

use crate::event::{
    decode, time, DecodeError, Encoding, JobEvent, Metric, TelemetrySample, WireEvent,
};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A replay input that could not be read.
#[derive(Debug, Error)]
pub enum InputError {
    /// The file could not be opened or read; fatal for that file.
    #[error("cannot read {}{}: {source}", .path.display(), at_line(*.line))]
    Io {
        /// The file.
        path: PathBuf,
        /// The line being read, when the file was already open.
        line: Option<usize>,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// One JSON line is not a valid event; the replay dead-letters it and reads on.
    #[error("invalid event in {} line {line}: {error}", .path.display())]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The line as read, without its line ending.
        bytes: Vec<u8>,
        /// Why it was rejected.
        error: DecodeError,
    },
    /// A CSV row that cannot be used; fatal for that file.
    #[error("invalid row in {} line {line}: {reason}", .path.display())]
    BadRow {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The mapping asked for cannot be applied to any row (a divisor that is not positive).
    #[error("invalid mapping for {}: {reason}", .path.display())]
    BadMapping {
        /// The file the mapping was to be applied to.
        path: PathBuf,
        /// What is wrong with the mapping.
        reason: String,
    },
    /// A label file that does not have the expected shape; fatal for that file.
    #[error("invalid labels in {}: {reason}", .path.display())]
    BadLabels {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the entry.
        reason: String,
    },
}

fn at_line(line: Option<usize>) -> String {
    line.map(|l| format!(" line {l}")).unwrap_or_default()
}

impl InputError {
    /// Whether only one record is lost and reading can go on (a bad JSON line).
    pub fn is_bad_record(&self) -> bool {
        matches!(self, InputError::BadLine { .. })
    }

    /// The 1-based line the error is about, when it is about one.
    pub fn line(&self) -> Option<usize> {
        match self {
            InputError::Io { line, .. } => *line,
            InputError::BadLine { line, .. } | InputError::BadRow { line, .. } => Some(*line),
            InputError::BadLabels { .. } | InputError::BadMapping { .. } => None,
        }
    }
}

fn open(path: &Path) -> Result<BufReader<File>, InputError> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|source| InputError::Io {
            path: path.to_path_buf(),
            line: None,
            source,
        })
}

/// An input event that replay reads from JSON lines: decoded as on the wire, then validated.
pub trait ReplayEvent: WireEvent {
    /// The same checks the pipeline applies to this event on its input topic.
    fn check(&self) -> Result<(), DecodeError>;
}

impl ReplayEvent for TelemetrySample {
    fn check(&self) -> Result<(), DecodeError> {
        self.validate()
    }
}

impl ReplayEvent for JobEvent {
    fn check(&self) -> Result<(), DecodeError> {
        self.validate()
    }
}

/// One event read from a JSON-lines file.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<T> {
    /// 1-based line number.
    pub line: usize,
    /// The decoded, validated event.
    pub event: T,
}

/// Reads one JSON object per line, skipping blank lines.
///
/// Yields `Ok(record)`, `Err(InputError::BadLine)` for a line that does not decode or
/// validate (reading goes on), or `Err(InputError::Io)` once, after which it ends.
pub struct JsonLines<T, R = BufReader<File>> {
    path: PathBuf,
    reader: R,
    line: usize,
    done: bool,
    buffer: Vec<u8>,
    event: PhantomData<fn() -> T>,
}

impl<T: ReplayEvent> JsonLines<T> {
    /// Opens a JSON-lines file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, InputError> {
        let path = path.as_ref();
        Ok(Self::from_reader(path, open(path)?))
    }
}

impl<T: ReplayEvent, R: BufRead> JsonLines<T, R> {
    /// Reads from any buffered reader; `path` names it in errors.
    pub fn from_reader(path: impl AsRef<Path>, reader: R) -> Self {
        JsonLines {
            path: path.as_ref().to_path_buf(),
            reader,
            line: 0,
            done: false,
            buffer: Vec::new(),
            event: PhantomData,
        }
    }

    fn parse(&self, bytes: &[u8]) -> Result<T, DecodeError> {
        let event: T = decode(bytes, Encoding::Json)?;
        event.check()?;
        Ok(event)
    }
}

impl<T: ReplayEvent, R: BufRead> Iterator for JsonLines<T, R> {
    type Item = Result<Record<T>, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buffer.clear();
            self.line += 1;
            match self.reader.read_until(b'\n', &mut self.buffer) {
                Ok(0) => self.done = true,
                Ok(_) => {
                    let bytes = trim_line_end(&self.buffer);
                    if bytes.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let line = self.line;
                    return Some(match self.parse(bytes) {
                        Ok(event) => Ok(Record { line, event }),
                        Err(error) => Err(InputError::BadLine {
                            path: self.path.clone(),
                            line,
                            bytes: bytes.to_vec(),
                            error,
                        }),
                    });
                }
                Err(source) => {
                    self.done = true;
                    return Some(Err(InputError::Io {
                        path: self.path.clone(),
                        line: Some(self.line),
                        source,
                    }));
                }
            }
        }
        None
    }
}

fn trim_line_end(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

/// Non-blank lines of a text file with their 1-based numbers, trimmed.
fn text_lines(path: &Path) -> Result<Vec<(usize, String)>, InputError> {
    let mut out = Vec::new();
    for (index, line) in open(path)?.lines().enumerate() {
        let line = line.map_err(|source| InputError::Io {
            path: path.to_path_buf(),
            line: Some(index + 1),
            source,
        })?;
        let trimmed = line.trim();
        if !trimmed.is_empty() {
            out.push((index + 1, trimmed.to_owned()));
        }
    }
    Ok(out)
}

/// One row of a labelled series CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRow {
    /// 1-based line number.
    pub line: usize,
    /// The row's timestamp (zone-less read as UTC).
    pub timestamp: DateTime<Utc>,
    /// The raw value, unscaled.
    pub value: f64,
}

/// Reads a `timestamp,value` CSV (the nab-dev format): a header line of exactly those two
/// names, then one row per line; blank lines are skipped. A request log (a header whose first
/// column is `timestamp`, such as the Azure LLM traces) is read as requests per minute
/// instead (`replay::request_log`).
pub fn read_series_csv(path: impl AsRef<Path>) -> Result<Vec<SeriesRow>, InputError> {
    let path = path.as_ref();
    let bad = |line, reason: String| InputError::BadRow {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let lines = text_lines(path)?;
    let Some(((header_line, header), rows)) = lines.split_first() else {
        return Err(bad(
            1,
            "empty file, expected a `timestamp,value` header".into(),
        ));
    };
    if crate::replay::request_log::is_request_log(header) {
        return crate::replay::request_log::minute_counts(path, rows);
    }
    if header.replace(' ', "") != "timestamp,value" {
        return Err(bad(
            *header_line,
            format!("header `{header}` is not `timestamp,value`"),
        ));
    }

    rows.iter()
        .map(|(line, text)| {
            let Some((ts, value)) = text.split_once(',') else {
                return Err(bad(*line, "expected two fields".into()));
            };
            let timestamp = time::parse(ts.trim())
                .ok_or_else(|| bad(*line, format!("invalid timestamp `{ts}`")))?;
            let value: f64 = value
                .trim()
                .parse()
                .map_err(|e| bad(*line, format!("invalid value `{value}`: {e}")))?;
            if !value.is_finite() {
                return Err(bad(*line, format!("value `{value}` is not finite")));
            }
            Ok(SeriesRow {
                line: *line,
                timestamp,
                value,
            })
        })
        .collect()
}

/// How a labelled series becomes telemetry of one node.
///
/// The series' value, plus `offset` and divided by `divisor`, becomes `metric`; every other
/// metric takes the
/// constant in [`neutral_sample`] (utilisations 0.5, latency 10 ms, throughput 100 ops/s,
/// energy 200 W, queue 0, error rate 0), mid-range so that no idle or saturation rule fires
/// and constant so that a detector sees nothing on them.
///
/// Scaling is a fixed divisor the caller chooses, never inferred from the data, so a sample
/// does not depend on rows after it: `divisor = 100` turns NAB's CPU percent into a fraction.
/// A scaled value outside the metric's valid range (above 1 for a fraction, negative, or a
/// queue length that is not a non-negative whole number within `u32`) is rejected with its
/// line, not clamped. Series in bytes or counts fit `throughput_ops` (no upper bound) with
/// `divisor = 1`; a series that dips below zero needs an `offset` that lifts it (fixed in
/// advance too, e.g. `100` for a signal known to stay above -100).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesMapping {
    /// Cluster of the node the series is replayed as.
    pub cluster_id: String,
    /// Node the series is replayed as.
    pub node_id: String,
    /// The metric the series' value becomes.
    pub metric: Metric,
    /// Every value is divided by this before it is checked; finite and positive.
    pub divisor: f64,
    /// Added to every value before the division; finite.
    pub offset: f64,
}

/// The sample every replayed series row starts from, before its metric is set.
pub fn neutral_sample(
    cluster_id: &str,
    node_id: &str,
    event_time: DateTime<Utc>,
) -> TelemetrySample {
    TelemetrySample {
        cluster_id: cluster_id.into(),
        node_id: node_id.into(),
        event_time,
        cpu_util: 0.5,
        memory_util: 0.5,
        disk_util: 0.5,
        network_util: 0.5,
        latency_p99_ms: 10.0,
        throughput_ops: 100.0,
        energy_watts: 200.0,
        queue_length: 0,
        error_rate: 0.0,
        labels: None,
    }
}

impl SeriesMapping {
    /// The telemetry sample of one row, validated as the pipeline would.
    pub fn sample(&self, row: &SeriesRow) -> Result<TelemetrySample, DecodeError> {
        let mut sample = neutral_sample(&self.cluster_id, &self.node_id, row.timestamp);
        let value = (row.value + self.offset) / self.divisor;
        match self.metric {
            Metric::Cpu => sample.cpu_util = value,
            Metric::Memory => sample.memory_util = value,
            Metric::Disk => sample.disk_util = value,
            Metric::Network => sample.network_util = value,
            Metric::LatencyP99 => sample.latency_p99_ms = value,
            Metric::Throughput => sample.throughput_ops = value,
            Metric::Energy => sample.energy_watts = value,
            Metric::ErrorRate => sample.error_rate = value,
            Metric::QueueLength => {
                if !(value.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&value)) {
                    return Err(DecodeError::Invalid {
                        field: "queue_length",
                        reason: format!("{value} is not a whole number within 0..=u32::MAX"),
                    });
                }
                // Exact: checked just above to be a whole number within u32.
                sample.queue_length = value as u32;
            }
        }
        sample.validate()?;
        Ok(sample)
    }
}

/// Reads a `timestamp,value` CSV as telemetry samples of one node.
pub fn read_series_samples(
    path: impl AsRef<Path>,
    mapping: &SeriesMapping,
) -> Result<Vec<TelemetrySample>, InputError> {
    let path = path.as_ref();
    if !(mapping.divisor.is_finite() && mapping.divisor > 0.0) {
        return Err(InputError::BadMapping {
            path: path.to_path_buf(),
            reason: format!("divisor {} is not a positive number", mapping.divisor),
        });
    }
    if !mapping.offset.is_finite() {
        return Err(InputError::BadMapping {
            path: path.to_path_buf(),
            reason: format!("offset {} is not a finite number", mapping.offset),
        });
    }
    read_series_csv(path)?
        .iter()
        .map(|row| {
            mapping.sample(row).map_err(|error| InputError::BadRow {
                path: path.to_path_buf(),
                line: row.line,
                reason: error.to_string(),
            })
        })
        .collect()
}

/// Reads NAB's `windows.json`: series file name → list of `[start, end]` timestamps, returned
/// in milliseconds in the file's order.
pub fn read_windows_json(
    path: impl AsRef<Path>,
) -> Result<BTreeMap<String, Vec<(i64, i64)>>, InputError> {
    let path = path.as_ref();
    let bad = |reason: String| InputError::BadLabels {
        path: path.to_path_buf(),
        reason,
    };
    let raw: BTreeMap<String, Vec<(String, String)>> = serde_json::from_reader(open(path)?)
        .map_err(|e| bad(format!("not a map of file to [start, end] pairs: {e}")))?;

    raw.into_iter()
        .map(|(file, windows)| {
            let parsed =
                windows
                    .iter()
                    .enumerate()
                    .map(|(index, (start, end))| {
                        let ms =
                            |text: &str| {
                                time::parse(text).map(|t| t.timestamp_millis()).ok_or_else(|| {
                            bad(format!("window {index} of `{file}`: invalid timestamp `{text}`"))
                        })
                            };
                        let (start, end) = (ms(start)?, ms(end)?);
                        if start > end {
                            return Err(bad(format!(
                                "window {index} of `{file}` ends before it starts"
                            )));
                        }
                        Ok((start, end))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
            Ok((file, parsed))
        })
        .collect()
}

/// One labelled window from a labels CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Start, milliseconds since the Unix epoch, inclusive.
    pub start: i64,
    /// End, milliseconds since the Unix epoch, inclusive.
    pub end: i64,
    /// What the label applies to (a node key, a series name); `None` for everything.
    pub scope: Option<String>,
}

/// Reads a `start,end[,scope]` CSV: an optional header whose first field is `start`, then one
/// window per line; blank lines are skipped and an empty scope is `None`.
pub fn read_labels_csv(path: impl AsRef<Path>) -> Result<Vec<Label>, InputError> {
    let path = path.as_ref();
    let bad = |line, reason: String| InputError::BadRow {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut lines = text_lines(path)?;
    if lines
        .first()
        .is_some_and(|(_, l)| l.split(',').next().map(str::trim) == Some("start"))
    {
        lines.remove(0);
    }

    lines
        .iter()
        .map(|(line, text)| {
            let fields: Vec<&str> = text.split(',').map(str::trim).collect();
            if !(2..=3).contains(&fields.len()) {
                return Err(bad(
                    *line,
                    format!("expected 2 or 3 fields, found {}", fields.len()),
                ));
            }
            let ms = |text: &str| {
                time::parse(text)
                    .map(|t| t.timestamp_millis())
                    .ok_or_else(|| bad(*line, format!("invalid timestamp `{text}`")))
            };
            let (start, end) = (ms(fields[0])?, ms(fields[1])?);
            if start > end {
                return Err(bad(*line, "the window ends before it starts".into()));
            }
            let scope = fields
                .get(2)
                .filter(|s| !s.is_empty())
                .map(|s| (*s).to_owned());
            Ok(Label { start, end, scope })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::score::Series;
    use std::io::Write;

    const CPU_SERIES: &str = "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv";

    /// A file of the development data; fails (never skips) when it is missing.
    fn dev_data(relative: &str) -> PathBuf {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/nab-dev")
            .join(relative);
        assert!(
            path.is_file(),
            "development data file {} is missing; see shared/data/README.md",
            path.display()
        );
        path
    }

    fn temp_file(contents: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(contents.as_bytes())
            .expect("write temp file");
        file
    }

    fn sample_json(cpu: f64) -> String {
        let time = time::parse("2026-01-02T03:04:05Z").expect("valid timestamp");
        let mut sample = neutral_sample("c1", "n1", time);
        sample.cpu_util = cpu;
        serde_json::to_string(&sample).expect("serialises")
    }

    #[test]
    fn json_lines_yield_events_and_bad_lines_with_their_numbers_and_bytes() {
        let text = format!(
            "{}\n\n{{not json\r\n{}\n",
            sample_json(0.25),
            sample_json(1.5)
        );
        let file = temp_file(&text);
        let items: Vec<_> = JsonLines::<TelemetrySample>::open(file.path())
            .expect("opens")
            .collect();
        assert_eq!(items.len(), 3);

        let first = items[0].as_ref().expect("first line is valid");
        assert_eq!((first.line, first.event.cpu_util), (1, 0.25));

        match &items[1] {
            Err(InputError::BadLine {
                line, bytes, error, ..
            }) => {
                assert_eq!(*line, 3);
                assert_eq!(bytes.as_slice(), b"{not json");
                assert_eq!(error.kind(), "json");
            }
            other => panic!("expected a bad json line, got {other:?}"),
        }
        match &items[2] {
            Err(error @ InputError::BadLine { error: cause, .. }) => {
                assert_eq!(error.line(), Some(4));
                assert!(error.is_bad_record());
                assert_eq!(cause.kind(), "invalid_field");
                assert!(error.to_string().contains("line 4"), "{error}");
            }
            other => panic!("expected an invalid cpu_util, got {other:?}"),
        }
    }

    #[test]
    fn job_event_lines_are_validated_too() {
        let line = r#"{"job_id":"","cluster_id":"c1","job_type":"batch","state":"started","priority":1,"requested_cores":2.0,"requested_memory_gib":4.0,"requested_gpus":0,"event_time":"2026-01-02T03:04:05Z"}"#;
        let good = line.replace(r#""job_id":"""#, r#""job_id":"j1""#);
        let file = temp_file(&format!("{good}\n{line}\n"));
        let items: Vec<_> = JsonLines::<JobEvent>::open(file.path())
            .expect("opens")
            .collect();
        assert_eq!(items[0].as_ref().expect("valid job").event.job_id, "j1");
        assert!(matches!(
            &items[1],
            Err(InputError::BadLine { line: 2, .. })
        ));
    }

    #[test]
    fn a_missing_file_is_an_io_error_naming_it() {
        let error = JsonLines::<TelemetrySample>::open("/nonexistent/replay.jsonl")
            .err()
            .expect("cannot open");
        assert!(!error.is_bad_record());
        assert!(
            error.to_string().contains("/nonexistent/replay.jsonl"),
            "{error}"
        );
    }

    #[test]
    fn the_nab_cpu_series_reads_as_cpu_fractions_of_one_node() {
        let mapping = SeriesMapping {
            cluster_id: "nab".into(),
            node_id: "ec2-24ae8d".into(),
            metric: Metric::Cpu,
            divisor: 100.0,
            offset: 0.0,
        };
        let samples = read_series_samples(dev_data(CPU_SERIES), &mapping).expect("reads");
        assert_eq!(samples.len(), 4032);
        let first = &samples[0];
        assert_eq!(time::format(&first.event_time), "2014-02-14T14:30:00.000Z");
        assert!((first.cpu_util - 0.00132).abs() < 1e-12);
        assert_eq!(first.memory_util, 0.5);
        assert!(samples.iter().all(|s| s.validate().is_ok()));
    }

    #[test]
    fn a_percentage_above_100_is_rejected_with_its_line() {
        let file = temp_file("timestamp,value\n2014-02-14 14:30:00,50\n2014-02-14 14:35:00,101\n");
        let mapping = SeriesMapping {
            cluster_id: "c".into(),
            node_id: "n".into(),
            metric: Metric::Cpu,
            divisor: 100.0,
            offset: 0.0,
        };
        let error = read_series_samples(file.path(), &mapping).expect_err("101% is invalid");
        assert_eq!(error.line(), Some(3));
        assert!(error.to_string().contains("cpu_util"), "{error}");
    }

    #[test]
    fn an_offset_lifts_a_series_that_dips_below_zero() {
        let file = temp_file("timestamp,value\n2014-02-14 14:30:00,-20\n2014-02-14 14:35:00,80\n");
        let mapping = SeriesMapping {
            cluster_id: "c".into(),
            node_id: "n".into(),
            metric: Metric::Cpu,
            divisor: 200.0,
            offset: 100.0,
        };
        let samples = read_series_samples(file.path(), &mapping).expect("reads");
        assert_eq!(samples[0].cpu_util, 0.4);
        assert_eq!(samples[1].cpu_util, 0.9);
        let plain = SeriesMapping {
            offset: 0.0,
            ..mapping
        };
        let error = read_series_samples(file.path(), &plain).expect_err("negative");
        assert_eq!(error.line(), Some(2));
    }

    #[test]
    fn a_byte_series_fits_throughput_unscaled() {
        let file = temp_file("timestamp,value\n2014-02-14 14:30:00,123456789.5\n");
        let mapping = SeriesMapping {
            cluster_id: "c".into(),
            node_id: "n".into(),
            metric: Metric::Throughput,
            divisor: 1.0,
            offset: 0.0,
        };
        let samples = read_series_samples(file.path(), &mapping).expect("reads");
        assert_eq!(samples[0].throughput_ops, 123456789.5);

        let zero = SeriesMapping {
            divisor: 0.0,
            ..mapping
        };
        let error = read_series_samples(file.path(), &zero).expect_err("divisor 0");
        assert!(matches!(error, InputError::BadMapping { .. }), "{error}");
    }

    #[test]
    fn a_series_row_with_a_bad_timestamp_names_its_line() {
        let file = temp_file("timestamp,value\n\nyesterday,1\n");
        let error = read_series_csv(file.path()).expect_err("bad timestamp");
        assert_eq!(error.line(), Some(3));
        let headless = temp_file("time,value\n");
        assert_eq!(
            read_series_csv(headless.path())
                .expect_err("bad header")
                .line(),
            Some(1)
        );
    }

    #[test]
    fn nab_windows_read_as_milliseconds_and_land_on_rows_of_their_series() {
        let windows = read_windows_json(dev_data("windows.json")).expect("reads");
        assert_eq!(windows.len(), 28);
        assert!(windows["artificialNoAnomaly/art_flatline.csv"].is_empty());

        let cpu = &windows[CPU_SERIES];
        let start = time::parse("2014-02-26 13:45:00")
            .expect("valid")
            .timestamp_millis();
        assert_eq!(cpu.len(), 2);
        assert_eq!(cpu[0].0, start);

        let rows = read_series_csv(dev_data(CPU_SERIES)).expect("reads");
        let timestamps: Vec<i64> = rows
            .iter()
            .map(|r| r.timestamp.timestamp_millis())
            .collect();
        let series = Series::new(timestamps, vec![0.0; rows.len()], cpu.clone()).expect("aligned");
        assert_eq!(series.timestamps()[series.window_rows()[0].0], start);
    }

    #[test]
    fn labels_csv_reads_an_optional_header_and_scope() {
        let file = temp_file(
            "start,end,scope\n2014-02-26 13:45:00,2014-02-27 06:25:00,nab/n1\n\
             2014-02-28T00:00:00Z,2014-02-28T01:00:00Z\n",
        );
        let labels = read_labels_csv(file.path()).expect("reads");
        assert_eq!(labels.len(), 2);
        assert_eq!(labels[0].scope.as_deref(), Some("nab/n1"));
        assert_eq!(labels[1].scope, None);
        assert_eq!(labels[1].end - labels[1].start, 3_600_000);

        let reversed = temp_file("2014-02-28 01:00:00,2014-02-28 00:00:00\n");
        assert_eq!(
            read_labels_csv(reversed.path())
                .expect_err("reversed")
                .line(),
            Some(1)
        );
    }
}
