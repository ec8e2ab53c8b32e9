//! Liveness and readiness of a running pipeline, as `/healthz` and `/readyz` report them.
//!
//! Alive means the process answers. Ready means it is doing its job: it holds at least one
//! input partition, the broker is reachable (the client has not reported every broker down
//! since the last message or acknowledgement), and the processing loop has come round within
//! the stall limit (it passes the tick at least every commit interval when healthy).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// What readiness is judged from; updated by the processing loop and the Kafka client.
#[derive(Debug)]
pub struct Health {
    assigned: AtomicU64,
    broker_up: AtomicBool,
    /// Wall-clock milliseconds of the loop's last pass; 0 before the first.
    last_pass_ms: AtomicI64,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            assigned: AtomicU64::new(0),
            broker_up: AtomicBool::new(true),
            last_pass_ms: AtomicI64::new(0),
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Health {
    /// The number of input partitions held.
    pub fn set_assigned(&self, partitions: usize) {
        self.assigned.store(partitions as u64, Ordering::Relaxed);
    }

    /// Whether the broker answers.
    pub fn set_broker_up(&self, up: bool) {
        self.broker_up.store(up, Ordering::Relaxed);
    }

    /// The loop came round.
    pub fn passed(&self) {
        self.last_pass_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// `Ok` when ready, else why not.
    pub fn ready(&self, stall_after: Duration) -> Result<(), String> {
        let last = self.last_pass_ms.load(Ordering::Relaxed);
        if last == 0 {
            return Err("starting".into());
        }
        let idle_ms = now_ms() - last;
        if idle_ms > stall_after.as_millis() as i64 {
            return Err(format!("processing loop stalled for {idle_ms} ms"));
        }
        if !self.broker_up.load(Ordering::Relaxed) {
            return Err("broker unreachable".into());
        }
        if self.assigned.load(Ordering::Relaxed) == 0 {
            return Err("no input partition assigned".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_with_partitions_a_broker_and_a_moving_loop() {
        let h = Health::default();
        let limit = Duration::from_secs(30);
        assert_eq!(h.ready(limit), Err("starting".to_string()));
        h.passed();
        assert!(h.ready(limit).unwrap_err().contains("no input partition"));
        h.set_assigned(3);
        assert_eq!(h.ready(limit), Ok(()));
        h.set_broker_up(false);
        assert!(h.ready(limit).unwrap_err().contains("broker"));
        h.set_broker_up(true);
        h.last_pass_ms.store(now_ms() - 31_000, Ordering::Relaxed);
        assert!(h.ready(limit).unwrap_err().contains("stalled"));
    }
}
