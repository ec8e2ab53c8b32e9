//! Everything the `run` loop mutates apart from the clients: the processors, the job join, the
//! watermarks and the offset ledger, and what to do with each message, tick and
//! acknowledgement.

use super::asks::{Ask, Asks, Done};
use super::close_clock;
use super::output::{Acked, Output, Pending};
use super::PipelineError;
use crate::bus::context::RebalanceContext;
use crate::bus::ledger::OffsetLedger;
use crate::config::Config;
use crate::engine::fallback::{Answered, Answerer, Provenance};
use crate::engine::gate::Gate;
use crate::engine::EngineRequest;
use crate::event::codec::EncodeError;
use crate::event::{
    self, AuditKind, AuditRecord, ClusterSummary, DeadLetter, DecodeError, Encoding, JobEvent,
    Outcome, TelemetrySample, WireEvent,
};
use crate::processor::jobs::JobTracker;
use crate::processor::{self, decisions_from, Decision, Pending as Closed, Processor};
use crate::stats::Stats;
use crate::topics::{Catalogue, TopicRole};
use crate::window::{Origin, PartitionId, Recorded, Watermarks};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::TopicPartitionList;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Prefix of the commit metadata that records the watermark of an exactly-once commit.
const EMITTED_THROUGH: &str = "fabric-ai:emitted_through=";

/// One input message, wherever it was read from (a Kafka topic, or a file in a replay).
pub(crate) struct Input<'a> {
    /// The input role (as [`PartitionId::topic`], an index into [`INPUTS`]) and partition.
    pub partition: PartitionId,
    /// Topic (or file) it was read from, for dead letters.
    pub source: &'a str,
    /// Its offset (or line number).
    pub offset: i64,
    /// Its key.
    pub key: Option<&'a [u8]>,
    /// Its bytes.
    pub payload: &'a [u8],
    /// The broker's timestamp, if any.
    pub timestamp_ms: Option<i64>,
    /// How its bytes are encoded, when not as the configuration says for its topic (a
    /// replay's files are JSON whatever the live topics use).
    pub encoding: Option<crate::event::Encoding>,
}

/// Inputs, in the order their [`PartitionId::topic`] index refers to. The first
/// [`WINDOWED`] feed the windows and the watermark; outcomes and federation summaries do not.
pub(super) const INPUTS: [TopicRole; 4] = [
    TopicRole::Telemetry,
    TopicRole::JobEvents,
    TopicRole::Outcomes,
    TopicRole::Federation,
];

/// How many of [`INPUTS`] are windowed (telemetry and job events).
pub(super) const WINDOWED: usize = 2;

mod loops;

pub(super) struct State {
    /// `fabric_events_total` per input role (as in [`INPUTS`]) and outcome (ok, dead letter),
    /// looked up once so the hot path only adds.
    event_counters: [[prometheus_client::metrics::counter::Counter; 2]; INPUTS.len()],
    pub config: Config,
    catalogue: Catalogue,
    pub stats: Arc<Stats>,
    processors: Vec<Box<dyn Processor>>,
    answerer: Answerer,
    jobs: JobTracker,
    watermarks: Watermarks,
    ledger: OffsetLedger,
    produced: bool,
    /// Exactly-once only: per partition, the watermark recorded with its last committed
    /// transaction. Every window ending at or before it was published in that transaction or
    /// an earlier one, so it is not published again when its input is re-read.
    emitted_through: HashMap<PartitionId, i64>,
    /// Longest window interval plus lateness and disorder: how long job history is needed.
    job_retention_ms: i64,
    /// Effectiveness and prediction accuracy.
    feedback: crate::feedback::Feedback,
    /// The federation processor, when enabled.
    federation: Option<crate::feedback::federation::Federation>,
}

impl State {
    pub fn new(
        config: Config,
        catalogue: Catalogue,
        stats: Arc<Stats>,
        answerer: Answerer,
    ) -> State {
        let processors = processor::build(&config);
        let watermarks =
            Watermarks::new(config.windows.out_of_orderness, config.windows.idle_timeout);
        let longest = [
            config.anomaly.interval,
            config.performance.interval,
            config.workload.interval,
            config.prediction.interval,
            config.scaling.interval,
        ]
        .into_iter()
        .max()
        .unwrap_or_default();
        let job_retention_ms =
            (longest + config.windows.allowed_lateness + config.windows.out_of_orderness)
                .as_millis() as i64;
        let event_counters = INPUTS.map(|role| {
            ["ok", "dead_letter"].map(|outcome| {
                stats
                    .families
                    .events
                    .get_or_create(&vec![
                        ("topic", role.as_str().to_owned()),
                        ("outcome", outcome.to_owned()),
                    ])
                    .clone()
            })
        });
        let federation = config.federation.enable.then(|| {
            crate::feedback::federation::Federation::new(
                config.federation.clone(),
                config.windows.max_wait,
            )
        });
        State {
            feedback: crate::feedback::Feedback::new(&config),
            federation,
            event_counters,
            jobs: JobTracker::new(config.processing.max_open_keys),
            config,
            catalogue,
            stats,
            processors,
            answerer,
            watermarks,
            ledger: OffsetLedger::default(),
            produced: false,
            emitted_through: HashMap::new(),
            job_retention_ms,
        }
    }

    /// Tells the watermarks whether input is paused: a paused partition is silent, not idle.
    /// Called on every pass of the loop: it reads the clock only when the state changes.
    pub fn input_paused(&mut self, paused: bool) {
        if paused == self.watermarks.is_paused() {
            return;
        }
        let now = Instant::now();
        if paused {
            self.watermarks.pause(now);
        } else {
            self.watermarks.resume(now);
        }
    }

    /// Half the session timeout: long enough to drain, short enough that the group does not
    /// evict the member first.
    pub fn drain_timeout(&self) -> Duration {
        self.config.kafka.session_timeout / 2
    }

    pub fn on_message(
        &mut self,
        consumer: &StreamConsumer<RebalanceContext>,
        asks: &mut Asks,
        message: Result<BorrowedMessage<'_>, KafkaError>,
    ) -> Vec<Output> {
        self.apply_rebalance(consumer);
        let message = match message {
            Ok(m) => m,
            Err(error) => {
                tracing::warn!(%error, "consume failed");
                return Vec::new();
            }
        };
        let Some(partition) = self.partition_id(message.topic(), message.partition()) else {
            tracing::warn!(topic = message.topic(), "message from an unexpected topic");
            return Vec::new();
        };
        let input = Input {
            partition,
            source: message.topic(),
            offset: message.offset(),
            key: message.key(),
            payload: message.payload().unwrap_or_default(),
            timestamp_ms: message.timestamp().to_millis(),
            encoding: None,
        };
        self.on_input(asks, &input, Instant::now())
    }

    /// Decodes, validates and records one input message read at `now`, then closes what the
    /// watermark allows.
    pub fn on_input(&mut self, asks: &mut Asks, input: &Input<'_>, now: Instant) -> Vec<Output> {
        let pid = input.partition;
        let origin = Origin {
            partition: pid,
            offset: input.offset,
        };
        self.ledger.consumed(pid, input.offset);
        let role = INPUTS[pid.topic as usize];
        let encoding = input.encoding.unwrap_or_else(|| self.config.encoding(role));

        let mut ok = true;
        let limit = self.config.processing.max_message_bytes;
        let mut outputs = match role {
            _ if input.payload.len() > limit => {
                ok = false;
                let error = DecodeError::TooLarge {
                    size: input.payload.len(),
                    limit,
                };
                vec![self.dead_letter(input, origin, &error)]
            }
            TopicRole::Telemetry => {
                match decode_valid::<TelemetrySample>(input.payload, encoding, |s| s.validate()) {
                    Ok(sample) => self.on_sample(&sample, pid, origin, now),
                    Err(error) => {
                        ok = false;
                        vec![self.dead_letter(input, origin, &error)]
                    }
                }
            }
            TopicRole::JobEvents => {
                match decode_valid::<JobEvent>(input.payload, encoding, |j| j.validate()) {
                    Ok(job) => self.on_job(&job, pid, origin, now),
                    Err(error) => {
                        ok = false;
                        vec![self.dead_letter(input, origin, &error)]
                    }
                }
            }
            TopicRole::Outcomes => {
                match decode_valid::<Outcome>(input.payload, encoding, |o| o.validate()) {
                    Ok(outcome) => self.on_outcome(&outcome),
                    Err(error) => {
                        ok = false;
                        vec![self.dead_letter(input, origin, &error)]
                    }
                }
            }
            TopicRole::Federation => {
                match decode_valid::<ClusterSummary>(input.payload, encoding, |s| s.validate()) {
                    Ok(summary) => self.on_summary(summary, origin, now),
                    Err(error) => {
                        ok = false;
                        vec![self.dead_letter(input, origin, &error)]
                    }
                }
            }
            _ => Vec::new(),
        };
        self.event_counters[pid.topic as usize][usize::from(!ok)].inc();
        outputs.extend(self.close_windows(asks, now));
        outputs
    }

    fn on_sample(
        &mut self,
        sample: &TelemetrySample,
        pid: PartitionId,
        origin: Origin,
        now: Instant,
    ) -> Vec<Output> {
        Stats::bump(&self.stats.events_ok);
        let recorded: Vec<(&'static str, Recorded)> = self
            .processors
            .iter_mut()
            .map(|p| (p.name(), p.on_sample(sample, Some(origin), now, &self.jobs)))
            .collect();
        let open_keys = self.processors.iter().map(|p| p.open_keys()).max();
        Stats::raise(&self.stats.peak_open_keys, open_keys.unwrap_or(0) as u64);
        let scope = || sample.key();
        let outputs = recorded
            .into_iter()
            .filter_map(|(name, r)| self.outcome(name, r, &scope, sample.event_time, origin))
            .collect();
        self.watermarks
            .observe(pid, sample.event_time.timestamp_millis(), now);
        outputs
    }

    fn on_job(
        &mut self,
        job: &JobEvent,
        pid: PartitionId,
        origin: Origin,
        now: Instant,
    ) -> Vec<Output> {
        Stats::bump(&self.stats.events_ok);
        self.jobs.record(job);
        let recorded: Vec<(&'static str, Recorded)> = self
            .processors
            .iter_mut()
            .map(|p| (p.name(), p.on_job(job, Some(origin), now, &self.jobs)))
            .collect();
        let scope = || job.key();
        let outputs = recorded
            .into_iter()
            .filter_map(|(name, r)| self.outcome(name, r, &scope, job.event_time, origin))
            .collect();
        self.watermarks
            .observe(pid, job.event_time.timestamp_millis(), now);
        outputs
    }

    /// Counts what a processor did with an event, and audits late and refused events.
    fn outcome(
        &self,
        processor: &str,
        recorded: Recorded,
        scope: &dyn Fn() -> String,
        event_time: chrono::DateTime<chrono::Utc>,
        origin: Origin,
    ) -> Option<Output> {
        let (kind, reason) = match recorded {
            Recorded::Added { .. } => return None,
            Recorded::Revised => {
                Stats::bump(&self.stats.revisions);
                return None;
            }
            Recorded::Late => {
                Stats::bump(&self.stats.late_events);
                self.not_taken(processor, "late");
                (AuditKind::LateEvent, "beyond the allowed lateness")
            }
            Recorded::Refused => {
                Stats::bump(&self.stats.refused_keys);
                self.not_taken(processor, "refused");
                (AuditKind::KeyRefused, "open-key limit reached")
            }
        };
        // The scope is built only here: it is a string per event otherwise.
        Some(self.audit_input(kind, processor, &scope(), event_time, origin, reason))
    }

    fn not_taken(&self, processor: &str, reason: &str) {
        self.stats
            .families
            .events_not_taken
            .get_or_create(&vec![
                ("processor", processor.to_owned()),
                ("reason", reason.to_owned()),
            ])
            .inc();
    }

    /// Sets the open-window and open-key gauges of every processor, and copies the remote
    /// engine's transport counters for the metrics.
    fn gauge_open(&self) {
        let f = &self.stats.families;
        if let (Some(t), Ok(mut slot)) = (self.answerer.transport_stats(), f.transport.lock()) {
            *slot = Some(t);
        }
        for p in &self.processors {
            let labels = vec![("processor", p.name().to_owned())];
            f.open_windows
                .get_or_create(&labels)
                .set(p.open_windows() as i64);
            f.open_keys.get_or_create(&labels).set(p.open_keys() as i64);
        }
    }

    pub fn on_tick(
        &mut self,
        consumer: &StreamConsumer<RebalanceContext>,
        asks: &mut Asks,
    ) -> Vec<Output> {
        self.apply_rebalance(consumer);
        self.gauge_open();
        if let Some(watermark) = self.watermarks.current() {
            self.jobs.purge(watermark - self.job_retention_ms);
            self.expire_forecasts(watermark);
        }
        let now = Instant::now();
        let mut outputs = self.close_windows(asks, now);
        outputs.extend(self.federation_due(now));
        outputs
    }

    /// Registers assigned partitions with the watermarks and drops the state of revoked ones.
    fn apply_rebalance(&mut self, consumer: &StreamConsumer<RebalanceContext>) {
        let Some(changes) = consumer.context().take_changes() else {
            return;
        };
        let now = Instant::now();
        for (topic, partition) in changes.revoked {
            let Some(pid) = self.partition_id(&topic, partition) else {
                continue;
            };
            self.ledger.forget(pid);
            self.watermarks.remove(pid);
            if let Some(f) = &mut self.federation {
                f.drop_partition(pid);
            }
            let dropped: usize = self
                .processors
                .iter_mut()
                .map(|p| p.drop_partition(pid))
                .sum();
            tracing::info!(
                topic,
                partition,
                dropped_windows = dropped,
                "dropped state of revoked partition"
            );
        }
        for (topic, partition) in &changes.assigned {
            match self.partition_id(topic, *partition) {
                Some(pid) if usize::from(pid.topic) < WINDOWED => self.watermarks.assign(pid, now),
                _ => {}
            }
        }
        let held = consumer.assignment().map(|a| a.count()).unwrap_or(0);
        self.stats.health.set_assigned(held);
        // Both guarantees: an at-least-once run that stopped cleanly leaves the same record.
        if !changes.assigned.is_empty() {
            self.load_emitted_through(consumer, &changes.assigned);
        }
    }

    /// Reads the watermark stored with each assigned partition's committed offset.
    fn load_emitted_through(
        &mut self,
        consumer: &StreamConsumer<RebalanceContext>,
        assigned: &[(String, i32)],
    ) {
        let mut tpl = TopicPartitionList::new();
        for (topic, partition) in assigned {
            tpl.add_partition(topic, *partition);
        }
        match consumer.committed_offsets(tpl, Duration::from_secs(10)) {
            Ok(committed) => {
                for e in committed.elements() {
                    let through = e
                        .metadata()
                        .strip_prefix(EMITTED_THROUGH)
                        .and_then(|v| v.parse().ok());
                    if let (Some(pid), Some(through)) =
                        (self.partition_id(e.topic(), e.partition()), through)
                    {
                        self.emitted_through.insert(pid, through);
                    }
                }
            }
            Err(error) => {
                tracing::warn!(
                    %error,
                    "cannot read committed offsets; replayed windows may be published again"
                )
            }
        }
    }

    /// Whether a window ending at `end_ms`, fed by `origins`, was already published by an
    /// earlier transaction (exactly-once restarts and partition moves).
    fn already_published(&self, end_ms: i64, origins: &[Origin]) -> bool {
        let through = |p: &PartitionId| self.emitted_through.get(p).copied().unwrap_or(i64::MIN);
        if origins.is_empty() {
            let floor = self
                .emitted_through
                .values()
                .copied()
                .min()
                .unwrap_or(i64::MIN);
            return !self.emitted_through.is_empty() && end_ms <= floor;
        }
        origins.iter().all(|o| end_ms <= through(&o.partition))
    }

    fn partition_id(&self, topic: &str, partition: i32) -> Option<PartitionId> {
        let index = INPUTS
            .iter()
            .position(|r| self.catalogue.name(*r) == topic)?;
        Some(PartitionId {
            topic: index as u16,
            partition,
        })
    }

    /// Closes what the watermark allows. With the built-in engine alone each window is
    /// answered now; with a remote engine it is queued in `asks`, its offsets held.
    fn close_windows(&mut self, asks: &mut Asks, now: Instant) -> Vec<Output> {
        let watermark = self.watermarks.advance(now).unwrap_or(i64::MIN);
        let mut outputs = Vec::new();
        for i in 0..self.processors.len() {
            let closed = self.processors[i].close(watermark, now, &self.jobs);
            self.take(i, closed, asks, &mut outputs, now);
        }
        outputs
    }

    /// Has the processors keep per-sample anomaly scores from now on (replay only).
    pub fn keep_scores(&mut self) {
        for p in &mut self.processors {
            p.keep_scores();
        }
    }

    /// Per-sample anomaly scores the processors kept since the last call (replay only).
    pub fn take_scores(&mut self) -> Vec<crate::replay::observer::SampleScore> {
        self.processors
            .iter_mut()
            .flat_map(|p| p.take_scores())
            .collect()
    }

    /// Closes every window, at the end of a replay's input.
    pub fn finish(&mut self, asks: &mut Asks, now: Instant) -> Vec<Output> {
        let mut outputs = Vec::new();
        for i in 0..self.processors.len() {
            let closed = self.processors[i].flush(now, &self.jobs);
            self.take(i, closed, asks, &mut outputs, now);
        }
        outputs.extend(self.federation_flush());
        outputs
    }

    /// Turns the windows of processor `i` closed at `now` into `outputs`, or queues them in
    /// `asks`.
    fn take(
        &mut self,
        i: usize,
        closed: Vec<Closed>,
        asks: &mut Asks,
        outputs: &mut Vec<Output>,
        now: Instant,
    ) {
        for closed in closed {
            let first = outputs.len();
            match closed {
                Closed::Ready { decisions } => {
                    let fresh = |d: &Decision| {
                        !self.already_published(d.header().window.end.timestamp_millis(), &[])
                    };
                    outputs.extend(
                        decisions
                            .into_iter()
                            .filter(fresh)
                            .filter_map(|d| self.decision_output(d, &[])),
                    );
                }
                Closed::Ask {
                    mut request,
                    origins,
                    revision,
                } => {
                    Stats::bump(&self.stats.windows_closed);
                    self.stats
                        .families
                        .windows_closed
                        .get_or_create(&vec![("processor", self.processors[i].name().to_owned())])
                        .inc();
                    let remote = self.answerer.is_remote();
                    if remote || asks.defer_builtin {
                        for o in &origins {
                            self.ledger.hold(o.partition, o.offset);
                        }
                        let queue = if remote {
                            &mut asks.waiting
                        } else {
                            &mut asks.builtin
                        };
                        queue.push_back(Ask {
                            processor: i,
                            request,
                            origins,
                            revision,
                            closed_at: now,
                        });
                    } else {
                        self.processors[i].prepare(&mut request);
                        let answered = self.answerer.answer_builtin(&request);
                        outputs.extend(self.answered(i, &request, &origins, revision, answered));
                    }
                }
            }
            close_clock::stamp(&mut outputs[first..], now);
        }
    }

    /// Sends the waiting windows that may go now (see [`Asks`]).
    pub fn dispatch(&mut self, asks: &mut Asks) {
        let mut blocked = vec![false; self.processors.len()];
        let mut kept = std::collections::VecDeque::new();
        while let Some(mut ask) = asks.waiting.pop_front() {
            let p = ask.processor;
            if blocked[p] || (self.processors[p].answers_feed_requests() && asks.out(p) > 0) {
                blocked[p] = true;
                kept.push_back(ask);
                continue;
            }
            self.processors[p].prepare(&mut ask.request);
            let request: Arc<EngineRequest> = Arc::from(ask.request);
            let answer = self.answerer.ask(request.clone());
            let (origins, revision, closed_at) = (ask.origins, ask.revision, ask.closed_at);
            asks.sent(p);
            asks.in_flight.push_back(Box::pin(async move {
                Done {
                    processor: p,
                    request,
                    origins,
                    revision,
                    closed_at,
                    answered: answer.await,
                }
            }));
        }
        asks.waiting = kept;
    }

    /// Answers up to `max` deferred built-in windows, oldest first, and releases the offsets
    /// they held; their outputs hold them again until acknowledged.
    pub fn answer_deferred(&mut self, asks: &mut Asks, max: usize) -> Vec<Output> {
        let mut outputs = Vec::new();
        for _ in 0..max {
            let Some(mut ask) = asks.builtin.pop_front() else {
                break;
            };
            for o in &ask.origins {
                self.ledger.release(o.partition, o.offset);
            }
            let p = ask.processor;
            self.processors[p].prepare(&mut ask.request);
            let answered = self.answerer.answer_builtin(&ask.request);
            let first = outputs.len();
            outputs.extend(self.answered(p, &ask.request, &ask.origins, ask.revision, answered));
            close_clock::stamp(&mut outputs[first..], ask.closed_at);
        }
        outputs
    }

    /// Turns a remote window's answer into outputs and releases the offsets it held; the
    /// outputs hold them again until acknowledged.
    pub fn on_answer(&mut self, asks: &mut Asks, done: Done) -> Vec<Output> {
        asks.answered(done.processor);
        for o in &done.origins {
            self.ledger.release(o.partition, o.offset);
        }
        let mut outputs = self.answered(
            done.processor,
            &done.request,
            &done.origins,
            done.revision,
            done.answered,
        );
        close_clock::stamp(&mut outputs, done.closed_at);
        outputs
    }

    /// Turns one answered window of processor `i` into decisions, gates them, and audits each;
    /// a window an earlier transaction already published only teaches the processor.
    fn answered(
        &mut self,
        i: usize,
        request: &EngineRequest,
        origins: &[Origin],
        revision: u32,
        answered: Answered,
    ) -> Vec<Output> {
        let processor = self.processors[i].name();
        let Answered {
            answer,
            source,
            provenance,
        } = answered;
        if provenance.fallback.is_some() {
            Stats::bump(&self.stats.fallbacks);
        }
        self.count_answer(request, &provenance);
        let answer = match answer {
            Ok(answer) => answer,
            Err(error) => {
                tracing::warn!(%error, processor, "engine gave no answer");
                return Vec::new();
            }
        };
        self.processors[i].absorb(request, &answer);
        if self.already_published(request.window().end.timestamp_millis(), origins) {
            Stats::bump(&self.stats.replayed_windows);
            return Vec::new();
        }
        let mut outputs = Vec::new();
        if self.config.processing.record_answers {
            outputs.extend(self.answer_audit(
                request,
                &answer,
                source,
                &provenance,
                revision,
                origins,
            ));
        }
        if revision == 0 {
            outputs.extend(self.window_feedback(request, origins));
        }
        let decisions = decisions_from(request, &answer, revision, source);
        outputs.extend(self.gated(processor, decisions, &provenance, origins));
        outputs
    }

    /// Gates each decision, audits it, and publishes the accepted ones (which the feedback
    /// loops then remember).
    fn gated(
        &mut self,
        processor: &str,
        decisions: Vec<Decision>,
        provenance: &Provenance,
        origins: &[Origin],
    ) -> Vec<Output> {
        let mut outputs = Vec::new();
        for decision in decisions {
            let gate = self.config.gating.gate(&decision);
            let source = decision.header().source;
            self.stats
                .families
                .decisions
                .get_or_create(&vec![
                    ("kind", decision.role().as_str().to_owned()),
                    ("source", format!("{source:?}").to_lowercase()),
                    ("gating", gate.label().to_owned()),
                ])
                .inc();
            outputs.push(self.decision_audit(processor, &decision, gate, provenance, origins));
            if gate.accepted() {
                self.feedback.on_published(&decision);
                outputs.extend(self.decision_output(decision, origins));
            } else {
                Stats::bump(&self.stats.decisions_rejected);
            }
        }
        outputs
    }

    /// Counts an answered window by endpoint and outcome; times remote answers.
    fn count_answer(&self, request: &EngineRequest, p: &Provenance) {
        let f = &self.stats.families;
        let endpoint = crate::engine::wire::Endpoint::of(request).name().to_owned();
        let outcome = p.fallback_label.clone().unwrap_or_else(|| "ok".to_owned());
        f.engine_answers
            .get_or_create(&vec![("endpoint", endpoint.clone()), ("outcome", outcome)])
            .inc();
        if self.answerer.is_remote() {
            f.engine_latency
                .get_or_create(&vec![("endpoint", endpoint)])
                .observe(p.latency.as_secs_f64());
            f.set_breaker(p.breaker);
        }
    }

    /// The audit record of one answered window, carrying the answer (see `engine::recorded`).
    fn answer_audit(
        &self,
        request: &EngineRequest,
        answer: &crate::engine::EngineAnswer,
        source: crate::event::Source,
        p: &Provenance,
        revision: u32,
        origins: &[Origin],
    ) -> Option<Output> {
        use crate::engine::recorded::keys;
        let body = match crate::engine::wire::encode_answer(answer) {
            Ok(body) => String::from_utf8_lossy(&body).into_owned(),
            Err(error) => {
                tracing::error!(%error, "answer not encodable; not recorded");
                return None;
            }
        };
        let endpoint = crate::engine::wire::Endpoint::of(request);
        let window = request.window();
        let scope = request.scope();
        let mut details = BTreeMap::from([
            (keys::ENDPOINT.to_string(), endpoint.name().to_string()),
            (keys::REQUEST_DIGEST.to_string(), p.request_digest.clone()),
            (
                keys::SOURCE.to_string(),
                format!("{source:?}").to_lowercase(),
            ),
            (keys::ENGINE.to_string(), p.engine.to_string()),
            (keys::ANSWER.to_string(), body),
        ]);
        if let Some(reason) = &p.fallback {
            details.insert(keys::FALLBACK_REASON.to_string(), reason.clone());
        }
        if let Some(label) = &p.fallback_label {
            details.insert(keys::FALLBACK_LABEL.to_string(), label.clone());
        }
        let kind = format!("answer.{}", endpoint.name());
        let record = AuditRecord {
            id: format!(
                "{}:{revision}",
                event::output::decision_id(&kind, &scope, &window)
            ),
            schema_version: event::output::SCHEMA_VERSION,
            kind: AuditKind::WindowAnswered,
            decision_id: None,
            scope: scope.clone(),
            window: Some(window),
            event_time: None,
            details,
        };
        let payload = self.encode(TopicRole::Audit, &record).ok()?;
        Some(Output {
            role: TopicRole::Audit,
            key: scope.into_bytes(),
            payload,
            holds: origins.to_vec(),
            decision: false,
            closed: None,
        })
    }

    /// The audit record of one gated decision: who answered, how, and what gating decided.
    fn decision_audit(
        &self,
        processor: &str,
        decision: &Decision,
        gate: Gate,
        p: &Provenance,
        origins: &[Origin],
    ) -> Output {
        let header = decision.header();
        let kind = if gate.accepted() {
            AuditKind::DecisionAccepted
        } else {
            AuditKind::DecisionRejected
        };
        let mut details = BTreeMap::from([
            ("processor".to_string(), processor.to_string()),
            ("engine".to_string(), p.engine.to_string()),
            (
                "source".to_string(),
                format!("{:?}", header.source).to_lowercase(),
            ),
            ("request_digest".to_string(), p.request_digest.clone()),
            (
                "latency_ms".to_string(),
                format!("{:.3}", p.latency.as_secs_f64() * 1e3),
            ),
            ("attempts".to_string(), p.attempts.to_string()),
            ("breaker".to_string(), p.breaker.to_string()),
            ("gating".to_string(), gate.label().to_string()),
            ("threshold".to_string(), gate.threshold().to_string()),
            ("confidence".to_string(), header.confidence.to_string()),
            (
                "topic".to_string(),
                self.catalogue.name(decision.role()).to_string(),
            ),
        ]);
        if let Some(reason) = &p.fallback {
            details.insert("fallback_reason".to_string(), reason.clone());
        }
        let record = AuditRecord {
            id: format!("{}:{}:{}", gate.label(), header.id, header.revision),
            schema_version: event::output::SCHEMA_VERSION,
            kind,
            decision_id: Some(header.id.clone()),
            scope: header.scope.clone(),
            window: Some(header.window),
            event_time: None,
            details,
        };
        let payload = self.encode(TopicRole::Audit, &record).unwrap_or_default();
        Output {
            role: TopicRole::Audit,
            key: header.scope.as_bytes().to_vec(),
            payload,
            holds: origins.to_vec(),
            decision: false,
            closed: None,
        }
    }

    fn decision_output(&self, decision: Decision, holds: &[Origin]) -> Option<Output> {
        let role = decision.role();
        match decision.encode(self.config.encoding(role)) {
            Ok(payload) => Some(Output {
                role,
                key: decision.key().as_bytes().to_vec(),
                payload,
                holds: holds.to_vec(),
                decision: true,
                closed: None,
            }),
            Err(error) => {
                tracing::error!(%error, "decision not encodable; dropped");
                None
            }
        }
    }

    fn encode<T: WireEvent>(&self, role: TopicRole, event: &T) -> Result<Vec<u8>, EncodeError> {
        event::encode(event, self.config.encoding(role))
    }

    fn dead_letter(&self, input: &Input<'_>, origin: Origin, error: &DecodeError) -> Output {
        Stats::bump(&self.stats.dead_letters);
        tracing::debug!(
            topic = input.source,
            partition = input.partition.partition,
            offset = input.offset,
            %error,
            "dead letter"
        );
        let letter = DeadLetter {
            schema_version: event::output::SCHEMA_VERSION,
            source_topic: input.source.to_owned(),
            partition: input.partition.partition,
            offset: input.offset,
            key: input.key.map(<[u8]>::to_vec),
            payload: input.payload.to_vec(),
            reason: error.to_string(),
            error_kind: error.kind().to_owned(),
            message_timestamp: input.timestamp_ms.and_then(event::time::from_millis),
        };
        let payload = self
            .encode(TopicRole::DeadLetters, &letter)
            .unwrap_or_else(|e| {
                // A dead letter must never be lost: fall back to JSON, which these plain fields
                // always encode to.
                tracing::error!(error = %e, "dead letter not encodable in the configured encoding");
                event::encode(&letter, Encoding::Json)
                    .unwrap_or_else(|_| letter.reason.clone().into_bytes())
            });
        Output {
            role: TopicRole::DeadLetters,
            key: input.key.map(<[u8]>::to_vec).unwrap_or_default(),
            payload,
            holds: vec![origin],
            decision: false,
            closed: None,
        }
    }

    fn audit_input(
        &self,
        kind: AuditKind,
        processor: &str,
        scope: &str,
        event_time: chrono::DateTime<chrono::Utc>,
        origin: Origin,
        reason: &str,
    ) -> Output {
        let topic = self.catalogue.name(INPUTS[origin.partition.topic as usize]);
        let id = format!(
            "{kind:?}:{processor}:{topic}:{}:{}",
            origin.partition.partition, origin.offset
        );
        let record = AuditRecord {
            id,
            schema_version: event::output::SCHEMA_VERSION,
            kind,
            decision_id: None,
            scope: scope.to_owned(),
            window: None,
            event_time: Some(event_time),
            details: BTreeMap::from([
                ("processor".to_string(), processor.to_string()),
                ("reason".to_string(), reason.to_string()),
                ("source_topic".to_string(), topic.to_string()),
                (
                    "partition".to_string(),
                    origin.partition.partition.to_string(),
                ),
                ("offset".to_string(), origin.offset.to_string()),
                (
                    "watermark".to_string(),
                    self.watermarks.current().unwrap_or_default().to_string(),
                ),
            ]),
        };
        let payload = self.encode(TopicRole::Audit, &record).unwrap_or_default();
        Output {
            role: TopicRole::Audit,
            key: scope.as_bytes().to_vec(),
            payload,
            holds: vec![origin],
            decision: false,
            closed: None,
        }
    }

    pub async fn send(
        &mut self,
        producer: &FutureProducer,
        pending: &mut Pending,
        outputs: Vec<Output>,
    ) -> Result<(), PipelineError> {
        for output in outputs {
            let topic = self.catalogue.name(output.role).to_owned();
            let mut record = FutureRecord::to(&topic)
                .key(&output.key)
                .payload(&output.payload);
            let delivery = loop {
                match producer.send_result(record) {
                    Ok(delivery) => break delivery,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        record = back;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((error, _)) => {
                        return Err(PipelineError::Delivery {
                            topic,
                            reason: error.to_string(),
                        })
                    }
                }
            };
            self.produced = true;
            for origin in &output.holds {
                self.ledger.hold(origin.partition, origin.offset);
            }
            if output.decision {
                Stats::bump(&self.stats.decisions_out);
            }
            let (holds, decision, closed) = (output.holds, output.decision, output.closed);
            pending.push(Box::pin(async move {
                let result = match delivery.await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err((error, _))) => Err(error.to_string()),
                    Err(_) => Err("producer dropped the delivery".to_string()),
                };
                Acked {
                    topic,
                    holds,
                    decision,
                    closed,
                    result,
                }
            }));
        }
        Ok(())
    }

    pub fn on_acked(&mut self, acked: Acked) -> Result<(), PipelineError> {
        if let Err(reason) = acked.result {
            // The idempotent producer already retried until its delivery timeout; the inputs
            // stay uncommitted and a restart re-reads them.
            return Err(PipelineError::Delivery {
                topic: acked.topic,
                reason,
            });
        }
        for origin in &acked.holds {
            self.ledger.release(origin.partition, origin.offset);
        }
        if acked.decision {
            Stats::bump(&self.stats.decisions_acked);
        }
        close_clock::acknowledged(&self.stats, acked.closed);
        Ok(())
    }

    /// Lowest offset per partition that some processor's kept window still needs.
    fn held_by_windows(&self) -> HashMap<PartitionId, i64> {
        let mut held = HashMap::new();
        for p in &self.processors {
            processor::merge_held(&mut held, p.held_offsets());
        }
        if let Some(f) = &self.federation {
            processor::merge_held(&mut held, f.held_offsets());
        }
        held
    }

    /// Offsets safe to commit now. Inside a transaction the outputs commit atomically with the
    /// offsets, so only open windows hold offsets back (`in_transaction`).
    pub fn committable(&mut self, in_transaction: bool) -> Vec<(PartitionId, i64)> {
        let held = self.held_by_windows();
        if in_transaction {
            self.ledger.positions(&held, true)
        } else {
            self.ledger.to_commit(&held, false)
        }
    }

    /// The last commit of an at-least-once run that stopped cleanly: every consumed
    /// partition's offset, each with the watermark as metadata, as a transaction would. Every
    /// window the watermark has passed was published and acknowledged (the drain waited for
    /// it), so a restart can skip re-publishing them, and a clean restart publishes nothing
    /// twice. A periodic commit carries no metadata, so after a crash the restart re-publishes
    /// (with the same ids) rather than risk losing an unacknowledged decision.
    pub fn commit_final(&mut self, consumer: &StreamConsumer<RebalanceContext>) {
        let held = self.held_by_windows();
        let offsets = self.ledger.positions(&held, false);
        if offsets.is_empty() {
            return;
        }
        match consumer.commit(&self.offset_list(&offsets, true), CommitMode::Sync) {
            Ok(()) => self.committed(&offsets),
            Err(error) => tracing::warn!(%error, "final offset commit failed"),
        }
    }

    /// The offsets as a commit list. Inside a transaction each carries the current watermark
    /// as metadata (see `emitted_through`).
    pub fn offset_list(
        &self,
        offsets: &[(PartitionId, i64)],
        in_transaction: bool,
    ) -> TopicPartitionList {
        let mut tpl = TopicPartitionList::new();
        let watermark = self.watermarks.current();
        for (pid, offset) in offsets {
            let topic = self.catalogue.name(INPUTS[pid.topic as usize]);
            let mut element = tpl.add_partition(topic, pid.partition);
            if let Err(error) = element.set_offset(rdkafka::Offset::Offset(*offset)) {
                tracing::warn!(%error, "cannot list offset for commit");
            }
            if let (true, Some(w)) = (in_transaction, watermark) {
                element.set_metadata(format!("{EMITTED_THROUGH}{w}"));
            }
        }
        tpl
    }

    pub fn committed(&mut self, offsets: &[(PartitionId, i64)]) {
        Stats::bump(&self.stats.commits);
        offsets
            .iter()
            .for_each(|(pid, offset)| self.ledger.committed(*pid, *offset));
        self.produced = false;
    }

    pub fn produced_since_commit(&self) -> bool {
        self.produced
    }

    /// At-least-once commit of what no open window and no unacknowledged output needs.
    pub fn commit(&mut self, consumer: &StreamConsumer<RebalanceContext>, mode: CommitMode) {
        let offsets = self.committable(false);
        if offsets.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let result = consumer.commit(&self.offset_list(&offsets, false), mode);
        self.stats
            .families
            .commit_seconds
            .observe(started.elapsed().as_secs_f64());
        match result {
            Ok(()) => self.committed(&offsets),
            // Not fatal: the next tick commits again, and until then a restart only re-reads.
            Err(error) => tracing::warn!(%error, "offset commit failed"),
        }
    }
}

fn decode_valid<T: WireEvent>(
    payload: &[u8],
    encoding: Encoding,
    validate: impl FnOnce(&T) -> Result<(), DecodeError>,
) -> Result<T, DecodeError> {
    let event = event::decode::<T>(payload, encoding)?;
    validate(&event)?;
    Ok(event)
}
