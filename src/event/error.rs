//! Why an input message could not be turned into an event.
//!
//! Every variant is the producer's fault (bad data), never retriable: the message goes to the
//! dead-letter topic with the variant's text as its reason and processing continues.

use thiserror::Error;

/// A message that could not be decoded or failed validation.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DecodeError {
    /// The payload is not JSON or does not have the event's shape.
    #[error("invalid json: {0}")]
    Json(String),
    /// The payload is not a valid Avro datum for the event's schema.
    #[error("invalid avro: {0}")]
    Avro(String),
    /// The Confluent wire framing (magic byte, schema id) is missing or unexpected.
    #[error("invalid framing: {0}")]
    Framing(String),
    /// The payload decoded but a field holds an unacceptable value.
    #[error("invalid field `{field}`: {reason}")]
    Invalid {
        /// The offending field, as named on the wire.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The message has no payload at all (a tombstone on an input topic).
    #[error("empty payload")]
    Empty,
    /// The message is larger than `processing.max_message_bytes`; it is not decoded.
    #[error("payload of {size} bytes exceeds processing.max_message_bytes ({limit})")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

impl DecodeError {
    /// A short, low-cardinality label for metrics and dead-letter records.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Json(_) => "json",
            DecodeError::Avro(_) => "avro",
            DecodeError::Framing(_) => "framing",
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::Invalid { .. } => "invalid_field",
            DecodeError::Empty => "empty",
        }
    }
}

/// Checks shared by the input events.
pub(crate) mod check {
    use super::DecodeError;
    use crate::event::time::{MAX_EVENT_TIME_MS, MIN_EVENT_TIME_MS};
    use chrono::{DateTime, Utc};

    /// Longest identifier accepted, to bound the memory a key can take.
    pub const MAX_ID_LEN: usize = 128;

    pub fn fraction(field: &'static str, v: f64) -> Result<(), DecodeError> {
        finite(field, v)?;
        if !(0.0..=1.0).contains(&v) {
            return Err(DecodeError::Invalid {
                field,
                reason: format!("{v} is outside 0..1"),
            });
        }
        Ok(())
    }

    pub fn non_negative(field: &'static str, v: f64) -> Result<(), DecodeError> {
        finite(field, v)?;
        if v < 0.0 {
            return Err(DecodeError::Invalid {
                field,
                reason: format!("{v} is negative"),
            });
        }
        Ok(())
    }

    pub fn finite(field: &'static str, v: f64) -> Result<(), DecodeError> {
        if !v.is_finite() {
            return Err(DecodeError::Invalid {
                field,
                reason: format!("{v} is not finite"),
            });
        }
        Ok(())
    }

    pub fn id(field: &'static str, v: &str) -> Result<(), DecodeError> {
        if v.is_empty() || v.len() > MAX_ID_LEN {
            return Err(DecodeError::Invalid {
                field,
                reason: format!("length {} is outside 1..={MAX_ID_LEN}", v.len()),
            });
        }
        if v.chars().any(char::is_control) {
            return Err(DecodeError::Invalid {
                field,
                reason: "contains control characters".into(),
            });
        }
        Ok(())
    }

    pub fn event_time(field: &'static str, ts: &DateTime<Utc>) -> Result<(), DecodeError> {
        let ms = ts.timestamp_millis();
        if !(MIN_EVENT_TIME_MS..MAX_EVENT_TIME_MS).contains(&ms) {
            return Err(DecodeError::Invalid {
                field,
                reason: format!("{ts} is outside 2000-01-01..2100-01-01"),
            });
        }
        Ok(())
    }
}
