//! Replay: recorded inputs through the same processors as `run`, on event time only.
//!
//! Each input file is one partition of its role (telemetry or job events); its line number is
//! the offset. Lines of all files are merged by event time (the file whose next event is
//! earliest goes first; ties go to the file given first), so the watermark advances as it did
//! live. No wall clock is read: idle partitions and wall-clock waits never fire, and when the
//! input ends every window still open is closed, as the wall-clock wait of a live run would.
//! The built-in engine answers with a latency recorded as zero, so the same input and
//! configuration give byte-identical output.
//!
//! Outputs are written as JSON lines, one file per output topic role (`anomalies.jsonl`,
//! `audit.jsonl`, `dead_letters.jsonl`, ...), in the order they were produced. A line that
//! does not decode or validate becomes a dead letter naming its file and line, as it would
//! live.
//!
//! A labelled series (`timestamp,value` CSV, as in NAB) can be replayed as one node's
//! telemetry: one more telemetry partition, its values scaled into the chosen metric.
//!
//! Known limits: only the built-in engine answers (a live HTTP engine and recorded answers are
//! not wired yet); inputs are JSON lines and series CSVs.

use super::asks::Asks;
use super::state::{Input, State, INPUTS};
use crate::config::Config;
use crate::engine::builtin::BuiltinEngine;
use crate::engine::fallback::Answerer;
use crate::replay::observer::{NoObserver, ReplayObserver};
use crate::stats::{Stats, StatsSnapshot};
use crate::topics::{Catalogue, CatalogueError, TopicRole};
use crate::window::PartitionId;
use std::collections::BTreeMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One recorded input file.
#[derive(Debug, Clone)]
pub struct ReplayInput {
    /// Telemetry or job events.
    pub role: TopicRole,
    /// A file of JSON lines.
    pub path: PathBuf,
}

/// A labelled series (`timestamp,value` CSV, as in NAB) replayed as one node's telemetry.
#[derive(Debug, Clone)]
pub struct SeriesInput {
    /// The CSV file.
    pub path: PathBuf,
    /// Which node and metric its values become, and the divisor that scales them.
    pub mapping: crate::replay::input::SeriesMapping,
}

/// What to replay.
#[derive(Debug, Clone, Default)]
pub struct ReplaySources {
    /// JSON-lines files.
    pub files: Vec<ReplayInput>,
    /// Labelled series, each one more telemetry partition.
    pub series: Vec<SeriesInput>,
}

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// An input or output file could not be read or written.
    #[error("replay {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An input's role is not an input topic role.
    #[error("replay {path}: {role:?} is not an input (telemetry or job_events)")]
    NotAnInput {
        /// The file.
        path: String,
        /// Its role.
        role: TopicRole,
    },
    /// A labelled series could not be read as telemetry.
    #[error(transparent)]
    Series(#[from] crate::replay::input::InputError),
    /// The topic catalogue is invalid.
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReplayError + '_ {
    move |source| ReplayError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// One input file being read: its next line, and that line's event time.
struct Reader {
    partition: PartitionId,
    source: String,
    lines: Box<dyn Iterator<Item = std::io::Result<String>>>,
    next: Option<(i64, Vec<u8>, i64)>,
    line_no: i64,
}

impl Reader {
    /// Reads the next non-blank line: (event time for the merge, bytes, line number).
    fn advance(&mut self) -> Result<(), std::io::Error> {
        self.next = None;
        for line in self.lines.by_ref() {
            let line = line?;
            self.line_no += 1;
            if line.trim().is_empty() {
                continue;
            }
            let time = event_time_ms(line.as_bytes()).unwrap_or(i64::MIN);
            self.next = Some((time, line.into_bytes(), self.line_no));
            return Ok(());
        }
        Ok(())
    }
}

/// The `event_time` of a JSON event, if it has a readable one. Lines without one go first in
/// the merge; they become dead letters anyway.
fn event_time_ms(line: &[u8]) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Timed<'a> {
        #[serde(borrow)]
        event_time: std::borrow::Cow<'a, str>,
    }
    let timed: Timed<'_> = serde_json::from_slice(line).ok()?;
    crate::event::time::parse(&timed.event_time).map(|t| t.timestamp_millis())
}

/// Replays JSON-lines `inputs` through the processors of `config`, writing every output to
/// `out_dir`.
pub fn replay(
    config: Config,
    inputs: &[ReplayInput],
    out_dir: &Path,
) -> Result<StatsSnapshot, ReplayError> {
    let sources = ReplaySources {
        files: inputs.to_vec(),
        series: Vec::new(),
    };
    replay_sources(config, &sources, out_dir)
}

/// Replays every source of `sources`; see [`replay`].
pub fn replay_sources(
    config: Config,
    sources: &ReplaySources,
    out_dir: &Path,
) -> Result<StatsSnapshot, ReplayError> {
    replay_observed(config, sources, out_dir, &mut NoObserver)
}

/// Replays every source of `sources`, showing inputs, outputs and sample scores to
/// `observer` as it goes. The detector keeps per-sample scores only when the observer
/// [wants them](ReplayObserver::wants_scores); either way the outputs are the same.
pub fn replay_observed(
    mut config: Config,
    sources: &ReplaySources,
    out_dir: &Path,
    observer: &mut dyn ReplayObserver,
) -> Result<StatsSnapshot, ReplayError> {
    let inputs = &sources.files;
    // Files are JSON lines, and so is what the replay writes.
    config.encoding.clear();
    let catalogue = Catalogue::built_in(&config.kafka.topic_prefix)?;
    let mut readers = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let topic = INPUTS
            .iter()
            .position(|r| *r == input.role)
            .ok_or_else(|| ReplayError::NotAnInput {
                path: input.path.display().to_string(),
                role: input.role,
            })?;
        let file = std::fs::File::open(&input.path).map_err(io(&input.path))?;
        let mut reader = Reader {
            partition: PartitionId {
                topic: topic as u16,
                partition: i as i32,
            },
            source: input.path.display().to_string(),
            lines: Box::new(std::io::BufReader::new(file).lines()),
            next: None,
            line_no: 0,
        };
        reader.advance().map_err(io(&input.path))?;
        readers.push(reader);
    }
    for (i, series) in sources.series.iter().enumerate() {
        // A series is small (NAB's are a few thousand rows): read it whole, as JSON lines.
        let samples = crate::replay::input::read_series_samples(&series.path, &series.mapping)?;
        let lines: Vec<std::io::Result<String>> = samples
            .iter()
            .map(|s| {
                crate::event::encode(s, crate::event::Encoding::Json)
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                    .map_err(std::io::Error::other)
            })
            .collect();
        let mut reader = Reader {
            partition: PartitionId {
                topic: 0,
                partition: (inputs.len() + i) as i32,
            },
            source: series.path.display().to_string(),
            lines: Box::new(lines.into_iter()),
            next: None,
            line_no: 0,
        };
        reader.advance().map_err(io(&series.path))?;
        readers.push(reader);
    }

    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let stats = Arc::new(Stats::default());
    let mut sink = Sink {
        dir: out_dir.to_owned(),
        files: BTreeMap::new(),
        stats: stats.clone(),
    };
    let answerer = Answerer::new(BuiltinEngine::new(config.anomaly.clone()), None).untimed();
    let mut state = State::new(config, catalogue, stats.clone(), answerer);
    if observer.wants_scores() {
        state.keep_scores();
    }
    let mut asks = Asks::default();
    let now = tokio::time::Instant::now();

    loop {
        let next = readers
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.next.as_ref().map(|(t, _, _)| (*t, i)))
            .min();
        let Some((_, i)) = next else { break };
        let reader = &mut readers[i];
        let Some((_, bytes, line)) = reader.next.take() else {
            break;
        };
        let input = Input {
            partition: reader.partition,
            source: &reader.source,
            offset: line,
            key: None,
            payload: &bytes,
            timestamp_ms: None,
        };
        observer.on_input(INPUTS[reader.partition.topic as usize], &bytes);
        let outputs = state.on_input(&mut asks, &input, now);
        observer.on_scores(&state.take_scores());
        sink.write(&outputs, observer)?;
        let path = PathBuf::from(&reader.source);
        reader.advance().map_err(io(&path))?;
    }
    let outputs = state.finish(&mut asks, now);
    observer.on_scores(&state.take_scores());
    sink.write(&outputs, observer)?;
    sink.flush()?;
    Ok(stats.snapshot())
}

/// One JSON-lines file per output role.
struct Sink {
    dir: PathBuf,
    files: BTreeMap<TopicRole, BufWriter<std::fs::File>>,
    /// A decision written is counted as published and acknowledged.
    stats: Arc<Stats>,
}

impl Sink {
    fn path(&self, role: TopicRole) -> PathBuf {
        let name = serde_json::to_value(role)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("{role:?}"));
        self.dir.join(format!("{name}.jsonl"))
    }

    fn write(
        &mut self,
        outputs: &[super::output::Output],
        observer: &mut dyn ReplayObserver,
    ) -> Result<(), ReplayError> {
        for output in outputs {
            observer.on_output(output.role, &output.payload);
            let path = self.path(output.role);
            let file = match self.files.entry(output.role) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    let file = std::fs::File::create(&path).map_err(io(&path))?;
                    e.insert(BufWriter::new(file))
                }
            };
            file.write_all(&output.payload).map_err(io(&path))?;
            file.write_all(b"\n").map_err(io(&path))?;
            if output.decision {
                Stats::bump(&self.stats.decisions_out);
                Stats::bump(&self.stats.decisions_acked);
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ReplayError> {
        let roles: Vec<TopicRole> = self.files.keys().copied().collect();
        for role in roles {
            let path = self.path(role);
            if let Some(file) = self.files.get_mut(&role) {
                file.flush().map_err(io(&path))?;
            }
        }
        Ok(())
    }
}
