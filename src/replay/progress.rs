//! Replay progress: a bar on a terminal (events, rate, time left when the total is known), and
//! plain log lines every few seconds otherwise, so CI logs show the replay moving without
//! control characters.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often a line is logged when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);
/// Events between two updates of the bar (updating on every event would cost more than it
/// shows).
const BATCH: u64 = 1024;

/// Shows how far a replay has got.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    total: Option<u64>,
    done: u64,
    unshown: u64,
    started: Instant,
    logged: Instant,
}

impl Progress {
    /// Progress towards `total` events, when known.
    pub fn new(total: Option<u64>) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = match total {
                Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
                None => ProgressBar::new_spinner(),
            };
            let template = if total.is_some() {
                "{bar:40} {pos}/{len} events  {per_sec}  eta {eta}"
            } else {
                "{spinner} {pos} events  {per_sec}  {elapsed}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar
        });
        let now = Instant::now();
        Progress {
            bar,
            total,
            done: 0,
            unshown: 0,
            started: now,
            logged: now,
        }
    }

    /// Counts `n` more events.
    pub fn tick(&mut self, n: u64) {
        self.done += n;
        self.unshown += n;
        if self.unshown < BATCH {
            return;
        }
        self.show();
    }

    fn show(&mut self) {
        match &self.bar {
            Some(bar) => bar.inc(self.unshown),
            None => {
                if self.logged.elapsed() >= LOG_EVERY {
                    self.logged = Instant::now();
                    self.log("replaying");
                }
            }
        }
        self.unshown = 0;
    }

    fn log(&self, what: &str) {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-9);
        let rate = self.done as f64 / seconds;
        match self.total {
            Some(total) => {
                let left = total.saturating_sub(self.done) as f64 / rate.max(1e-9);
                tracing::info!(
                    events = self.done,
                    total,
                    rate = format!("{rate:.0}/s"),
                    left_s = format!("{left:.0}"),
                    "{what}"
                );
            }
            None => tracing::info!(events = self.done, rate = format!("{rate:.0}/s"), "{what}"),
        }
    }

    /// Ends the display.
    pub fn finish(&mut self) {
        match &self.bar {
            Some(bar) => {
                bar.inc(self.unshown);
                bar.finish_and_clear();
            }
            None => self.log("replay read everything"),
        }
        self.unshown = 0;
    }
}
