//! Timing a window from its close to the acknowledgement of what it produced.
//!
//! When the watermark passes a window's end, every output made from that window (its
//! decisions and their audit records; a decision gating held back is published as its audit
//! record only) carries a clone of one shared [`Closing`]. Each acknowledgement drops its
//! clone; the last one to go finds itself the only owner and records the time since the
//! close, so a window counts once, when everything it led to is acknowledged. A window with
//! no output (an earlier transaction already published it, or the engine gave no answer) is
//! not timed.

use super::output::Output;
use crate::stats::Stats;
use std::sync::Arc;
use tokio::time::Instant;

/// The moment one window closed, shared by its outputs.
#[derive(Debug)]
pub(super) struct Closing(Instant);

/// Marks `outputs`, all made from one window closed at `closed_at`.
pub(super) fn stamp(outputs: &mut [Output], closed_at: Instant) {
    let closing = Arc::new(Closing(closed_at));
    for output in outputs {
        output.closed = Some(closing.clone());
    }
}

/// Records the window's close-to-acknowledgement time if `closing` was the last of its
/// outputs still unacknowledged.
pub(super) fn acknowledged(stats: &Stats, closing: Option<Arc<Closing>>) {
    if let Some(Closing(closed_at)) = closing.and_then(Arc::into_inner) {
        let elapsed = closed_at.elapsed();
        stats.close_to_ack.record(elapsed);
        stats
            .families
            .window_close_to_ack
            .observe(elapsed.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::TopicRole;

    fn output(decision: bool) -> Output {
        Output {
            role: if decision {
                TopicRole::Anomalies
            } else {
                TopicRole::Audit
            },
            key: b"c/n".to_vec(),
            payload: Vec::new(),
            holds: Vec::new(),
            decision,
            closed: None,
        }
    }

    #[test]
    fn a_window_is_timed_once_when_the_last_of_its_outputs_is_acknowledged() {
        let stats = Arc::new(Stats::default());
        let mut first = vec![output(true), output(false), output(true)];
        let mut second = vec![output(false)];
        stamp(&mut first, Instant::now());
        stamp(&mut second, Instant::now());

        let mut acks = first.into_iter().chain(second).map(|o| o.closed);
        acknowledged(&stats, acks.next().flatten());
        acknowledged(&stats, acks.next().flatten());
        assert_eq!(
            stats.close_to_ack.count(),
            0,
            "one output of the first still out"
        );
        acknowledged(&stats, acks.next().flatten());
        assert_eq!(
            stats.close_to_ack.count(),
            1,
            "the first window is all acknowledged"
        );
        acknowledged(&stats, acks.next().flatten());
        assert_eq!(
            stats.close_to_ack.count(),
            2,
            "an audit-only window counts too"
        );
        assert_eq!(stats.snapshot().windows_acked, 2);
        let text = crate::ops::metrics::render(&crate::ops::metrics::registry(&stats));
        assert!(
            text.contains("fabric_window_close_to_ack_seconds_count 2"),
            "{text}"
        );
    }

    #[test]
    fn outputs_not_made_from_a_closed_window_are_not_timed() {
        let stats = Stats::default();
        for o in [output(false), output(true)] {
            acknowledged(&stats, o.closed);
        }
        assert_eq!(stats.close_to_ack.count(), 0);
    }
}
