//! The self-contained parts of the replay toolkit: scoring detections against labels,
//! forecast and scaling metrics, readers for recorded inputs and labels, the comparison with
//! recorded decisions, and the report (JSON, HTML, `--fail-if` rules).
//!
//! Nothing here touches Kafka or the pipeline; the `replay` command feeds these from re-run
//! processors. The file formats and metric definitions are described in `docs/replay.md`.

pub mod answers;
pub mod compare;
pub mod container;
pub mod forecast_metrics;
pub mod html;
pub mod input;
pub mod kafka;
pub mod observer;
pub mod progress;
pub mod report;
pub mod scaling_metrics;
pub mod score;
pub mod series;
