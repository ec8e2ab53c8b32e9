//! Replay: recorded inputs through the same processors as `run`, on event time only.
//!
//! Every input is one partition of its role (telemetry or job events): a file of JSON lines or
//! an Avro container file (its line or record number is the offset), a labelled series, or a
//! partition of a recorded topic between two bounds (`replay::kafka`). Records of all inputs
//! are merged by event time (the input whose next event is earliest goes first; ties go to the
//! input opened first), so the watermark advances as it did live. No wall clock is read: idle
//! partitions and wall-clock waits never fire, and when the input ends every window still open
//! is closed, as the wall-clock wait of a live run would.
//!
//! The built-in engine answers with a latency recorded as zero; recorded answers
//! (`engine::recorded`) reproduce a past run; a live HTTP engine is awaited after each input,
//! so outputs stay in input order. Either way the same input and configuration give the same
//! output. Outputs go to JSON-lines files, one per output role, or to topics under a prefix
//! of the replay's own (`replay_sink`). A record that does not decode or validate becomes a
//! dead letter naming its source and offset, as it would live.
//!
//! Known limit: with `--engine http` the replay must run inside a multi-threaded tokio
//! runtime (the command does); the library's other modes need none.

use super::asks::Asks;
use super::replay_sink::{FileSink, Sink};
use super::state::{Input, State, INPUTS, WINDOWED};
use crate::config::Config;
use crate::engine::builtin::BuiltinEngine;
use crate::engine::fallback::Answerer;
use crate::engine::recorded::RecordedAnswers;
use crate::event::{Encoding, JobEvent, TelemetrySample};
use crate::replay::kafka::Bound;
use crate::replay::observer::{NoObserver, ReplayObserver};
use crate::stats::{Stats, StatsSnapshot};
use crate::topics::{Catalogue, CatalogueError, TopicRole};
use crate::window::PartitionId;
use std::io::BufRead;
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
    /// JSON-lines files and Avro object container files (told apart by their first bytes).
    pub files: Vec<ReplayInput>,
    /// Labelled series, each one more telemetry partition.
    pub series: Vec<SeriesInput>,
    /// The configuration's input topics between two bounds, when set.
    pub topics: Option<TopicRange>,
}

/// Which part of the input topics a replay reads (each partition from `start` to `end`).
#[derive(Debug, Clone, Copy)]
pub struct TopicRange {
    /// Where each partition's read starts.
    pub start: Bound,
    /// Where it ends (exclusive).
    pub end: Bound,
}

/// Who answers a replay's windows.
#[derive(Debug, Clone, Default)]
pub enum ReplayEngine {
    /// The built-in engine.
    #[default]
    Builtin,
    /// The AI Engine of the configuration's `[engine]` section, over HTTP (its answers are
    /// awaited in input order, so the outputs do not depend on its speed).
    Http,
    /// The answers an earlier run recorded on its audit topic.
    Recorded(Arc<RecordedAnswers>),
}

/// Where a replay's outputs go.
#[derive(Debug, Clone)]
pub enum ReplayOutput {
    /// JSON-lines files in this directory, one per output role.
    Files(PathBuf),
    /// The output topics named under `prefix`; the live prefix only with `allow_live`.
    Topics {
        /// Topic prefix of the outputs.
        prefix: String,
        /// Whether the configuration's own (live) prefix may be written to.
        allow_live: bool,
    },
}

/// How a replay runs.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Where the outputs go.
    pub out: ReplayOutput,
    /// Who answers.
    pub engine: ReplayEngine,
    /// Whether to show progress (a bar on a terminal, log lines otherwise).
    pub progress: bool,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            out: ReplayOutput::Files(PathBuf::from("replay-out")),
            engine: ReplayEngine::Builtin,
            progress: false,
        }
    }
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
    /// A topic could not be read.
    #[error("replay input: {0}")]
    Topic(#[from] crate::replay::kafka::ReadError),
    /// An Avro container file could not be read.
    #[error(transparent)]
    Container(#[from] crate::replay::container::ContainerError),
    /// The outputs would go to the live topics, and that was not allowed.
    #[error(
        "replay output: `{prefix}` is the live topic prefix; choose another or allow it \
         explicitly (--allow-live-topics)"
    )]
    LiveOutput {
        /// The prefix.
        prefix: String,
    },
    /// The outputs could not be written to their topics.
    #[error("replay output: {reason}")]
    Output {
        /// What failed.
        reason: String,
    },
    /// The HTTP engine client could not be built.
    #[error("replay engine: {0}")]
    Engine(super::PipelineError),
    /// The topic catalogue is invalid.
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
}

/// Turns an I/O error on `path` into a [`ReplayError`].
pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReplayError + '_ {
    move |source| ReplayError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// One record of a replay input: its bytes and where it sits in its source.
struct SourceRecord {
    bytes: Vec<u8>,
    /// Line number of a file, offset of a topic partition, record number of a container.
    offset: i64,
    key: Option<Vec<u8>>,
    timestamp_ms: Option<i64>,
}

/// Yields a source's records in order, `None` at its end.
type Records = Box<dyn FnMut() -> Result<Option<SourceRecord>, ReplayError>>;

/// One input being read (a file, a series, a topic partition): its next record, and that
/// record's event time.
struct Reader {
    partition: PartitionId,
    source: String,
    encoding: Encoding,
    records: Records,
    /// How many records it holds, when known up front (series and topic partitions).
    remaining: Option<u64>,
    next: Option<(i64, SourceRecord)>,
}

impl Reader {
    fn new(
        partition: PartitionId,
        source: String,
        encoding: Encoding,
        (records, remaining): (Records, Option<u64>),
    ) -> Self {
        Reader {
            partition,
            source,
            encoding,
            records,
            remaining,
            next: None,
        }
    }

    /// Reads the next record and its event time for the merge.
    fn advance(&mut self) -> Result<(), ReplayError> {
        self.next = (self.records)()?.map(|record| {
            let role = INPUTS[self.partition.topic as usize];
            let time = event_time_ms(role, &record.bytes, self.encoding).unwrap_or(i64::MIN);
            (time, record)
        });
        Ok(())
    }
}

/// The records of a JSON-lines file, blank lines skipped, numbered by line.
fn json_lines(path: &Path) -> Result<Records, ReplayError> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    let mut lines = std::io::BufReader::new(file).lines();
    let mut line_no = 0;
    let path = path.to_owned();
    Ok(Box::new(move || {
        for line in lines.by_ref() {
            let line = line.map_err(io(&path))?;
            line_no += 1;
            if line.trim().is_empty() {
                continue;
            }
            return Ok(Some(SourceRecord {
                bytes: line.into_bytes(),
                offset: line_no,
                key: None,
                timestamp_ms: None,
            }));
        }
        Ok(None)
    }))
}

/// Records already in memory (a labelled series), numbered from 1.
fn in_memory(records: Vec<Vec<u8>>) -> Records {
    let mut records = records.into_iter().enumerate();
    Box::new(move || {
        Ok(records.next().map(|(i, bytes)| SourceRecord {
            bytes,
            offset: i as i64 + 1,
            key: None,
            timestamp_ms: None,
        }))
    })
}

/// The records of one topic partition between the replay's bounds.
fn partition_records(mut reader: crate::replay::kafka::PartitionReader) -> Records {
    Box::new(move || {
        Ok(reader.next_record()?.map(|r| SourceRecord {
            bytes: r.payload,
            offset: r.offset,
            key: r.key,
            timestamp_ms: r.timestamp_ms,
        }))
    })
}

/// The records of an Avro object container file, each turned into its JSON form.
fn container_records(path: &Path, role: TopicRole) -> Result<Records, ReplayError> {
    let mut reader = crate::replay::container::ContainerReader::open(path, role)?;
    Ok(Box::new(move || {
        Ok(reader.next_json()?.map(|(n, bytes)| SourceRecord {
            bytes,
            offset: n,
            key: None,
            timestamp_ms: None,
        }))
    }))
}

/// The event time of an input, if it has a readable one. Records without one go first in the
/// merge; they become dead letters anyway.
fn event_time_ms(role: TopicRole, bytes: &[u8], encoding: Encoding) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Timed<'a> {
        #[serde(borrow)]
        event_time: std::borrow::Cow<'a, str>,
    }
    match encoding {
        Encoding::Json => {
            let timed: Timed<'_> = serde_json::from_slice(bytes).ok()?;
            crate::event::time::parse(&timed.event_time).map(|t| t.timestamp_millis())
        }
        Encoding::Avro { .. } => match role {
            TopicRole::JobEvents => crate::event::decode::<JobEvent>(bytes, encoding)
                .ok()
                .map(|j| j.event_time.timestamp_millis()),
            _ => crate::event::decode::<TelemetrySample>(bytes, encoding)
                .ok()
                .map(|s| s.event_time.timestamp_millis()),
        },
    }
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
        ..ReplaySources::default()
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

/// Opens every source: files first (in the order given), then series, then topic partitions.
fn open_readers(
    config: &Config,
    catalogue: &Catalogue,
    sources: &ReplaySources,
) -> Result<Vec<Reader>, ReplayError> {
    let mut readers = Vec::new();
    let mut next_partition = 0;
    let mut partition_of = |role: TopicRole, path: &Path| {
        let topic =
            INPUTS
                .iter()
                .position(|r| *r == role)
                .ok_or_else(|| ReplayError::NotAnInput {
                    path: path.display().to_string(),
                    role,
                })?;
        next_partition += 1;
        Ok::<_, ReplayError>(PartitionId {
            topic: topic as u16,
            partition: next_partition - 1,
        })
    };
    for input in &sources.files {
        let partition = partition_of(input.role, &input.path)?;
        let container =
            crate::replay::container::is_container(&input.path).map_err(io(&input.path))?;
        let records = if container {
            container_records(&input.path, input.role)?
        } else {
            json_lines(&input.path)?
        };
        let source = input.path.display().to_string();
        readers.push(Reader::new(
            partition,
            source,
            Encoding::Json,
            (records, None),
        ));
    }
    for series in &sources.series {
        // A series is small (NAB's are a few thousand rows): read it whole, as JSON lines.
        let samples = crate::replay::input::read_series_samples(&series.path, &series.mapping)?;
        let lines = samples
            .iter()
            .map(|s| crate::event::encode(s, Encoding::Json))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| io(&series.path)(std::io::Error::other(e)))?;
        let partition = partition_of(TopicRole::Telemetry, &series.path)?;
        let source = series.path.display().to_string();
        let count = lines.len() as u64;
        readers.push(Reader::new(
            partition,
            source,
            Encoding::Json,
            (in_memory(lines), Some(count)),
        ));
    }
    if let Some(range) = &sources.topics {
        // Outcomes and federation summaries feed no window: a replay reads what does.
        for (index, role) in INPUTS.iter().enumerate().take(WINDOWED) {
            let topic = catalogue.name(*role);
            let partitions =
                crate::replay::kafka::open_topic(&config.kafka, topic, range.start, range.end)?;
            for reader in partitions {
                let partition = PartitionId {
                    topic: index as u16,
                    partition: reader.partition(),
                };
                let encoding = config.encoding(*role);
                let count = reader.remaining();
                readers.push(Reader::new(
                    partition,
                    topic.to_owned(),
                    encoding,
                    (partition_records(reader), Some(count)),
                ));
            }
        }
    }
    for reader in &mut readers {
        reader.advance()?;
    }
    Ok(readers)
}

/// Replays every source of `sources`, showing inputs, outputs and sample scores to
/// `observer` as it goes. The detector keeps per-sample scores only when the observer
/// [wants them](ReplayObserver::wants_scores); either way the outputs are the same.
pub fn replay_observed(
    config: Config,
    sources: &ReplaySources,
    out_dir: &Path,
    observer: &mut dyn ReplayObserver,
) -> Result<StatsSnapshot, ReplayError> {
    let options = ReplayOptions {
        out: ReplayOutput::Files(out_dir.to_owned()),
        ..ReplayOptions::default()
    };
    replay_with(config, sources, &options, observer)
}

/// Replays every source of `sources` as `options` say.
pub fn replay_with(
    mut config: Config,
    sources: &ReplaySources,
    options: &ReplayOptions,
    observer: &mut dyn ReplayObserver,
) -> Result<StatsSnapshot, ReplayError> {
    let catalogue = Catalogue::built_in(&config.kafka.topic_prefix)?;
    let mut readers = open_readers(&config, &catalogue, sources)?;
    let stats = Arc::new(Stats::default());
    let mut sink: Box<dyn Sink> = match &options.out {
        ReplayOutput::Files(dir) => {
            // What a replay writes to files is JSON lines, whatever the live topics use.
            config.encoding.clear();
            Box::new(FileSink::new(dir, stats.clone())?)
        }
        ReplayOutput::Topics { prefix, allow_live } => Box::new(
            super::replay_sink::TopicSink::new(&config, prefix, *allow_live, stats.clone())?,
        ),
    };
    let mut answerer = match &options.engine {
        ReplayEngine::Http => {
            config.engine.enabled = true;
            super::answerer(&config).map_err(ReplayError::Engine)?
        }
        _ => Answerer::new(BuiltinEngine::new(config.anomaly.clone()), None),
    };
    answerer = answerer.untimed();
    if let ReplayEngine::Recorded(recorded) = &options.engine {
        answerer = answerer.with_recorded(recorded.clone());
    }
    let remote = answerer.is_remote();
    let output_catalogue = sink.catalogue().cloned();
    let mut state = State::new(
        config,
        output_catalogue.unwrap_or(catalogue),
        stats.clone(),
        answerer,
    );
    if observer.wants_scores() {
        state.keep_scores();
    }
    let mut asks = Asks::default();
    let now = tokio::time::Instant::now();
    let total = readers.iter().map(|r| r.remaining).sum::<Option<u64>>();
    let mut progress = options
        .progress
        .then(|| crate::replay::progress::Progress::new(total));

    loop {
        let next = readers
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.next.as_ref().map(|(t, _)| (*t, i)))
            .min();
        let Some((_, i)) = next else { break };
        let reader = &mut readers[i];
        let Some((_, record)) = reader.next.take() else {
            break;
        };
        let input = Input {
            partition: reader.partition,
            source: &reader.source,
            offset: record.offset,
            key: record.key.as_deref(),
            payload: &record.bytes,
            timestamp_ms: record.timestamp_ms,
            encoding: Some(reader.encoding),
        };
        observer.on_input(INPUTS[reader.partition.topic as usize], &record.bytes);
        let mut outputs = state.on_input(&mut asks, &input, now);
        if remote {
            outputs.extend(answer_remote(&mut state, &mut asks));
        }
        observer.on_scores(&state.take_scores());
        sink.write(&outputs, observer)?;
        reader.advance()?;
        if let Some(p) = progress.as_mut() {
            p.tick(1);
        }
    }
    let mut outputs = state.finish(&mut asks, now);
    if remote {
        outputs.extend(answer_remote(&mut state, &mut asks));
    }
    observer.on_scores(&state.take_scores());
    sink.write(&outputs, observer)?;
    sink.flush()?;
    if let Some(p) = progress.as_mut() {
        p.finish();
    }
    Ok(stats.snapshot())
}

/// With a live HTTP engine, waits for every window sent and returns its outputs, so the
/// replay stays in input order whatever the engine's speed.
fn answer_remote(state: &mut State, asks: &mut Asks) -> Vec<super::output::Output> {
    use futures::StreamExt;
    let mut outputs = Vec::new();
    state.dispatch(asks);
    let handle = tokio::runtime::Handle::current();
    while let Some(done) = tokio::task::block_in_place(|| handle.block_on(asks.in_flight.next())) {
        outputs.extend(state.on_answer(asks, done));
        state.dispatch(asks);
    }
    outputs
}
