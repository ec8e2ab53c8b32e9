//! Backpressure on the input side: when too many outputs and engine requests are in flight,
//! the consumer's partitions are paused rather than left unread.
//!
//! Pausing (librdkafka `pause`) stops the fetcher and drops what it had prefetched for those
//! partitions, so nothing piles up in the client while the loop waits; on resume, fetching
//! starts again from the next offset not yet handed to the application. The loop keeps
//! polling the consumer while paused, so rebalance events are served and the member stays
//! in its group however long the output side is slow (`max.poll.interval.ms` counts polls,
//! not messages). A partition assigned while paused is not paused by the client; if a message
//! arrives from one it is processed and the whole assignment is paused again.

use crate::stats::Stats;
use rdkafka::consumer::{Consumer, ConsumerContext};
use std::sync::atomic::Ordering;

/// Whether input is paused, and the switch between the two states.
#[derive(Debug, Default)]
pub struct Intake {
    paused: bool,
}

impl Intake {
    /// Pauses or resumes the assignment of `consumer` so that it is paused exactly while
    /// `in_flight` is at or above `limit`.
    pub fn regulate<C: Consumer<X>, X: ConsumerContext>(
        &mut self,
        consumer: &C,
        in_flight: usize,
        limit: usize,
        stats: &Stats,
    ) {
        Stats::raise(&stats.peak_in_flight, in_flight as u64);
        let full = in_flight >= limit;
        if full == self.paused {
            return;
        }
        if full {
            self.pause(consumer, stats);
        } else {
            self.resume(consumer);
        }
    }

    /// Whether the partitions are paused.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Pauses every assigned partition (again: a rebalance may have added some).
    pub fn pause<C: Consumer<X>, X: ConsumerContext>(&mut self, consumer: &C, stats: &Stats) {
        let result = consumer
            .assignment()
            .and_then(|assignment| consumer.pause(&assignment));
        match result {
            Ok(()) => {
                if !self.paused {
                    stats.pauses.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!("input paused: output side is behind");
                }
                self.paused = true;
            }
            Err(error) => tracing::warn!(%error, "cannot pause input partitions"),
        }
    }

    fn resume<C: Consumer<X>, X: ConsumerContext>(&mut self, consumer: &C) {
        let result = consumer
            .assignment()
            .and_then(|assignment| consumer.resume(&assignment));
        match result {
            Ok(()) => {
                tracing::debug!("input resumed");
                self.paused = false;
            }
            Err(error) => tracing::warn!(%error, "cannot resume input partitions"),
        }
    }
}
