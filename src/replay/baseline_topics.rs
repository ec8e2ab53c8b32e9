//! Recorded decisions read back from a run's decision topics, as the baseline of a
//! comparison (`replay --baseline-topics PREFIX`).
//!
//! Each decision topic under the prefix is read whole (as it stands when the replay starts) by
//! the replay's own consumers (`replay::kafka`), decoded as the configuration's `[encoding]`
//! says, and handed to the comparison as its JSON form.

use crate::config::Config;
use crate::event::output::WorkloadInsight;
use crate::event::output::{Anomaly, Recommendation, ResourcePrediction, ScalingDecision};
use crate::event::{self, Encoding};
use crate::replay::compare::{BaselineComparison, BaselineError, DECISION_ROLES};
use crate::replay::kafka::{open_topic, Bound, ReadError};
use crate::topics::{Catalogue, CatalogueError, TopicRole};

/// Why the baseline topics could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BaselineTopicsError {
    /// A topic could not be read.
    #[error("baseline: {0}")]
    Read(#[from] ReadError),
    /// A record is not a decision.
    #[error("baseline {origin}: {reason}")]
    Decode {
        /// Topic, partition and offset.
        origin: String,
        /// The decoding error.
        reason: String,
    },
    /// The comparison refused a decision or the tolerance.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// The prefix gives invalid topic names.
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
}

/// The JSON form of a decision of `role` encoded as `encoding`.
fn to_json(role: TopicRole, payload: &[u8], encoding: Encoding) -> Result<Vec<u8>, String> {
    if encoding == Encoding::Json {
        return Ok(payload.to_vec());
    }
    fn again<T: event::codec::WireEvent>(
        payload: &[u8],
        encoding: Encoding,
    ) -> Result<Vec<u8>, String> {
        let decision: T = event::decode(payload, encoding).map_err(|e| e.to_string())?;
        event::encode(&decision, Encoding::Json).map_err(|e| e.to_string())
    }
    match role {
        TopicRole::Anomalies => again::<Anomaly>(payload, encoding),
        TopicRole::Recommendations => again::<Recommendation>(payload, encoding),
        TopicRole::Predictions => again::<ResourcePrediction>(payload, encoding),
        TopicRole::WorkloadInsights => again::<WorkloadInsight>(payload, encoding),
        TopicRole::ScalingDecisions => again::<ScalingDecision>(payload, encoding),
        other => Err(format!("{} is not a decision topic", other.as_str())),
    }
}

/// A comparison whose baseline is every decision on the decision topics under `prefix`.
pub fn load(
    config: &Config,
    prefix: &str,
    tolerance: f64,
) -> Result<BaselineComparison, BaselineTopicsError> {
    let catalogue = Catalogue::built_in(prefix)?;
    let mut comparison = BaselineComparison::new(tolerance)?;
    for role in DECISION_ROLES {
        let topic = catalogue.name(role);
        let encoding = config.encoding(role);
        for mut partition in open_topic(&config.kafka, topic, Bound::Edge, Bound::Edge)? {
            while let Some(record) = partition.next_record()? {
                let origin = format!("{topic}/{}@{}", partition.partition(), record.offset);
                let json = to_json(role, &record.payload, encoding).map_err(|reason| {
                    BaselineTopicsError::Decode {
                        origin: origin.clone(),
                        reason,
                    }
                })?;
                comparison.add_baseline(role, &json, topic, record.offset as usize)?;
            }
        }
    }
    Ok(comparison)
}
