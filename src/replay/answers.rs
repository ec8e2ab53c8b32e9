//! Loading the answers a run recorded (`window_answered` audit records) from an audit file of
//! JSON lines or from an audit topic, for `replay --answers`.

use crate::config::Config;
use crate::engine::recorded::{RecordedAnswers, RecordedError};
use crate::event::output::AuditRecord;
use crate::replay::kafka::{open_topic, Bound, ReadError};
use crate::topics::TopicRole;
use std::io::BufRead;
use std::path::Path;

/// Why recorded answers could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AnswersError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A record is not usable.
    #[error(transparent)]
    Record(#[from] RecordedError),
    /// The topic could not be read.
    #[error(transparent)]
    Topic(#[from] ReadError),
    /// A topic record does not decode as an audit record.
    #[error("{origin}: not an audit record: {reason}")]
    Decode {
        /// Topic, partition and offset.
        origin: String,
        /// The decoding error.
        reason: String,
    },
}

/// Every recorded answer in an audit file of JSON lines (other audit records are skipped).
pub fn from_file(path: &Path) -> Result<RecordedAnswers, AnswersError> {
    let io = |source| AnswersError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut answers = RecordedAnswers::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let origin = format!("{}:{}", path.display(), i + 1);
        answers.add_audit_json(&origin, line.as_bytes())?;
    }
    Ok(answers)
}

/// Every recorded answer on the audit topic `topic` (all of it, as it stands now), decoded
/// as the configuration's audit encoding says.
pub fn from_topic(config: &Config, topic: &str) -> Result<RecordedAnswers, AnswersError> {
    let encoding = config.encoding(TopicRole::Audit);
    let mut answers = RecordedAnswers::new();
    for mut partition in open_topic(&config.kafka, topic, Bound::Edge, Bound::Edge)? {
        while let Some(record) = partition.next_record()? {
            let origin = format!("{topic}/{}@{}", partition.partition(), record.offset);
            let audit: AuditRecord =
                crate::event::decode(&record.payload, encoding).map_err(|e| {
                    AnswersError::Decode {
                        origin: origin.clone(),
                        reason: e.to_string(),
                    }
                })?;
            answers.add(&origin, &audit)?;
        }
    }
    Ok(answers)
}
