//! Closed windows waiting for an engine's answer.
//!
//! With the built-in engine alone a window is answered the moment it closes. With a remote
//! engine the request goes out and the run loop keeps reading input; answers are taken in the
//! order the requests were sent, so decisions come out in the same order whatever the engine's
//! latency. A processor whose requests depend on earlier answers (scaling) has at most one
//! window out at a time; its later windows wait in [`Asks::waiting`] and are completed by
//! [`crate::processor::Processor::prepare`] just before they are sent.
//!
//! The offsets that fed a window waiting here are held in the offset ledger until its
//! decisions are handed to the producer, so nothing waiting for an answer is committed.
//!
//! The run loop also defers the built-in engine's windows ([`Asks::defer_builtin`]): aligned
//! windows close together (every node's window at the same watermark step, about 50,000 at
//! once in the benchmark), and answering them all before sending any output made every
//! window of the step wait for the whole step, with every output of the step in memory. The
//! loop answers [`BUILTIN_SLICE`] of them at a time, hands their outputs to the producer and
//! takes the acknowledgements that came in before the next slice (docs/benchmarks.md).

use crate::engine::fallback::Answered;
use crate::engine::EngineRequest;
use crate::window::Origin;
use futures::future::BoxFuture;
use futures::stream::FuturesOrdered;
use std::collections::VecDeque;
use std::sync::Arc;

/// A closed window of one processor that needs an answer.
#[derive(Debug)]
pub(super) struct Ask {
    /// Index of the processor in the pipeline's list.
    pub processor: usize,
    /// The batched request.
    pub request: Box<EngineRequest>,
    /// Lowest offset per partition that fed the window.
    pub origins: Vec<Origin>,
    /// Emission number of the window.
    pub revision: u32,
    /// When the watermark passed its end.
    pub closed_at: tokio::time::Instant,
}

/// A window and its answer.
pub(super) struct Done {
    pub processor: usize,
    pub request: Arc<EngineRequest>,
    pub origins: Vec<Origin>,
    pub revision: u32,
    pub closed_at: tokio::time::Instant,
    pub answered: Answered,
}

/// Built-in windows answered per pass of the run loop when deferred: a few milliseconds.
pub(super) const BUILTIN_SLICE: usize = 256;

/// Windows not yet sent, and the answers under way.
#[derive(Default)]
pub(super) struct Asks {
    /// Whether built-in windows wait in [`Asks::builtin`] rather than being answered as they
    /// close (the run loop; a replay answers them at once).
    pub defer_builtin: bool,
    /// Windows for the built-in engine, oldest first.
    pub builtin: VecDeque<Ask>,
    /// Windows of processors that already have one out, oldest first.
    pub waiting: VecDeque<Ask>,
    /// Answers under way, in the order sent.
    pub in_flight: FuturesOrdered<BoxFuture<'static, Done>>,
    /// Per processor, windows under way.
    pub out_per_processor: Vec<u32>,
}

impl Asks {
    /// Windows not yet answered, waiting or under way.
    pub fn unanswered(&self) -> usize {
        self.waiting.len() + self.in_flight.len() + self.builtin.len()
    }

    /// Counts a window of `processor` as under way.
    pub fn sent(&mut self, processor: usize) {
        if self.out_per_processor.len() <= processor {
            self.out_per_processor.resize(processor + 1, 0);
        }
        self.out_per_processor[processor] += 1;
    }

    /// Counts a window of `processor` as answered.
    pub fn answered(&mut self, processor: usize) {
        if let Some(n) = self.out_per_processor.get_mut(processor) {
            *n = n.saturating_sub(1);
        }
    }

    /// Windows of `processor` under way.
    pub fn out(&self, processor: usize) -> u32 {
        self.out_per_processor.get(processor).copied().unwrap_or(0)
    }
}
