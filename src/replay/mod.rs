//! The self-contained parts of the replay toolkit: scoring detections against labels,
//! forecast and scaling metrics, and readers for recorded inputs and labels.
//!
//! Nothing here touches Kafka or the pipeline; the `replay` command feeds these from re-run
//! processors. The file formats and metric definitions are described in `docs/replay.md`.

pub mod forecast_eval;
pub mod forecast_metrics;
pub mod input;
pub mod labels;
pub mod observer;
pub mod scaling_eval;
pub mod scaling_metrics;
pub mod score;
pub mod score_export;
pub mod summary;
