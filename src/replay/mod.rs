//! The self-contained parts of the replay toolkit: scoring detections against labels,
//! forecast and scaling metrics, readers for recorded inputs and labels, the comparison with
//! recorded decisions, and the report (JSON, HTML, `--fail-if` rules).
//!
//! The evaluations are observers of a replay (`observer`); the readers include recorded
//! topics (`kafka`) and recorded engine answers (`answers`). The replay loop itself is
//! `pipeline::replay`. The file formats and metric definitions are described in `docs/replay.md`.

pub mod answers;
pub mod baseline_topics;
pub mod compare;
pub mod container;
pub mod forecast_eval;
pub mod forecast_holdout;
pub mod forecast_metrics;
pub mod html;
pub mod input;
pub mod kafka;
pub mod labels;
pub mod observer;
pub mod progress;
pub mod report;
pub mod request_log;
pub mod scaling_eval;
pub mod scaling_metrics;
pub mod score;
pub mod score_export;
pub mod series;
pub mod summary;
