//! Encoding events on the wire: JSON (the default) or Avro binary with the Confluent framing.
//!
//! The Confluent framing is one magic byte `0`, the schema id as a 4-byte big-endian integer,
//! then the Avro datum. fabric-ai does not talk to a schema registry: the id written and the id
//! expected come from the topic's configuration, and the schema is the one compiled in from
//! `schemas/`. A message framed with another id is rejected rather than guessed at.

use crate::event::avro;
use crate::event::error::DecodeError;
use crate::event::{
    Anomaly, AuditRecord, ClusterSummary, DeadLetter, Effectiveness, JobEvent, Outcome,
    PredictionAccuracy, Recommendation, ResourcePrediction, ScalingDecision, TelemetrySample,
    WorkloadInsight,
};
use apache_avro::Schema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

/// How a topic's messages are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields, tag = "format")]
pub enum Encoding {
    /// UTF-8 JSON, one event per message.
    #[default]
    Json,
    /// Avro binary with the Confluent framing and this schema id.
    Avro {
        /// Schema id written in (and expected from) the framing.
        schema_id: u32,
    },
}

/// An event type with an `.avsc` schema in `schemas/`.
pub trait WireEvent: Serialize + DeserializeOwned {
    /// The schema's file stem in `schemas/`.
    const SCHEMA: &'static str;
}

macro_rules! wire_events {
    ($($ty:ty => $file:literal),* $(,)?) => {
        $(impl WireEvent for $ty { const SCHEMA: &'static str = $file; })*

        /// Every schema file stem with its text, as compiled in.
        pub const SCHEMA_FILES: &[(&str, &str)] = &[
            $(($file, include_str!(concat!("../../schemas/", $file, ".avsc")))),*
        ];
    };
}

wire_events! {
    TelemetrySample => "telemetry_sample",
    JobEvent => "job_event",
    Anomaly => "anomaly",
    Recommendation => "recommendation",
    ResourcePrediction => "resource_prediction",
    WorkloadInsight => "workload_insight",
    ScalingDecision => "scaling_decision",
    AuditRecord => "audit_record",
    DeadLetter => "dead_letter",
    Outcome => "outcome",
    Effectiveness => "effectiveness",
    PredictionAccuracy => "prediction_accuracy",
    ClusterSummary => "cluster_summary",
}

/// The parsed schema of an event type.
///
/// # Panics
///
/// Panics if a compiled-in `.avsc` file does not parse; the schema round-trip test covers
/// every file, so this is a build defect, never a runtime condition.
pub fn schema_of<T: WireEvent>() -> &'static Schema {
    static SCHEMAS: OnceLock<HashMap<&'static str, Schema>> = OnceLock::new();
    let all = SCHEMAS.get_or_init(|| {
        SCHEMA_FILES
            .iter()
            .map(|(name, text)| {
                let schema = Schema::parse_str(text)
                    .unwrap_or_else(|e| panic!("compiled-in schema {name} is invalid: {e}"));
                (*name, schema)
            })
            .collect()
    });
    &all[T::SCHEMA]
}

/// Why an event could not be encoded. Always our bug (a type and its schema disagree).
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// serde could not serialise the event.
    #[error("serialise {schema}: {source}")]
    Json {
        /// Schema stem of the event.
        schema: &'static str,
        /// The serde error.
        source: serde_json::Error,
    },
    /// The event does not fit its Avro schema.
    #[error("encode {schema} as avro: {reason}")]
    Avro {
        /// Schema stem of the event.
        schema: &'static str,
        /// What does not fit.
        reason: String,
    },
}

/// Encodes an event.
pub fn encode<T: WireEvent>(event: &T, encoding: Encoding) -> Result<Vec<u8>, EncodeError> {
    let json_err = |source| EncodeError::Json {
        schema: T::SCHEMA,
        source,
    };
    match encoding {
        Encoding::Json => serde_json::to_vec(event).map_err(json_err),
        Encoding::Avro { schema_id } => {
            let avro_err = |reason: String| EncodeError::Avro {
                schema: T::SCHEMA,
                reason,
            };
            let json = serde_json::to_value(event).map_err(json_err)?;
            let schema = schema_of::<T>();
            let value = avro::to_avro(schema, &json).map_err(|e| avro_err(e.to_string()))?;
            let datum =
                apache_avro::to_avro_datum(schema, value).map_err(|e| avro_err(e.to_string()))?;
            let mut out = Vec::with_capacity(5 + datum.len());
            out.push(0);
            out.extend_from_slice(&schema_id.to_be_bytes());
            out.extend_from_slice(&datum);
            Ok(out)
        }
    }
}

/// Decodes an event; validation of field values is the caller's next step.
pub fn decode<T: WireEvent>(payload: &[u8], encoding: Encoding) -> Result<T, DecodeError> {
    if payload.is_empty() {
        return Err(DecodeError::Empty);
    }
    match encoding {
        Encoding::Json => {
            serde_json::from_slice(payload).map_err(|e| DecodeError::Json(e.to_string()))
        }
        Encoding::Avro { schema_id } => {
            let datum = unframe(payload, schema_id)?;
            let schema = schema_of::<T>();
            let mut reader = datum;
            let value = apache_avro::from_avro_datum(schema, &mut reader, None)
                .map_err(|e| DecodeError::Avro(e.to_string()))?;
            if !reader.is_empty() {
                return Err(DecodeError::Avro(format!(
                    "{} trailing bytes",
                    reader.len()
                )));
            }
            let json =
                avro::to_json(schema, &value).map_err(|e| DecodeError::Avro(e.to_string()))?;
            serde_json::from_value(json).map_err(|e| DecodeError::Avro(e.to_string()))
        }
    }
}

fn unframe(payload: &[u8], expected_id: u32) -> Result<&[u8], DecodeError> {
    let (header, datum) = payload.split_first_chunk::<5>().ok_or_else(|| {
        DecodeError::Framing(format!(
            "{} bytes is shorter than the header",
            payload.len()
        ))
    })?;
    if header[0] != 0 {
        return Err(DecodeError::Framing(format!(
            "magic byte {} is not 0",
            header[0]
        )));
    }
    let id = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
    if id != expected_id {
        return Err(DecodeError::Framing(format!(
            "schema id {id}, expected {expected_id}"
        )));
    }
    Ok(datum)
}
