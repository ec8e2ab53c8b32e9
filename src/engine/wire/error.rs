//! Why a request or answer body could not be read or written, and the one place serde errors
//! are turned into reasons that name the field.

use serde::de::DeserializeOwned;
use std::fmt;

/// Which kind of body a [`WireError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// A request, sent to an engine.
    Request,
    /// An answer, sent back by an engine.
    Answer,
}

impl fmt::Display for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Body::Request => "request",
            Body::Answer => "answer",
        })
    }
}

/// A body that does not follow the contract. The message is a reason fit for an audit record
/// (`answer invalid: `confidence` missing`); an answer that fails is never acted on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    /// The bytes are not JSON at all.
    #[error("{body} not JSON: {reason}")]
    NotJson {
        /// Request or answer.
        body: Body,
        /// The parser's complaint, with line and column.
        reason: String,
    },
    /// The JSON breaks the contract: a field is missing, has the wrong type or is out of range.
    #[error("{body} invalid: `{field}` {problem}")]
    Invalid {
        /// Request or answer.
        body: Body,
        /// Path of the field, e.g. `horizons[1].mean`; `.` for the body as a whole.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The in-process value cannot be written (an event time out of the representable range).
    #[error("{body} not encodable: {reason}")]
    Unencodable {
        /// Request or answer.
        body: Body,
        /// Why.
        reason: String,
    },
}

impl WireError {
    /// An invalid field of an answer.
    pub(crate) fn answer(field: impl Into<String>, problem: impl Into<String>) -> WireError {
        WireError::Invalid {
            body: Body::Answer,
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Parses `bytes` as JSON, then as `T`, naming the field that does not fit.
pub(crate) fn parse<T: DeserializeOwned>(body: Body, bytes: &[u8]) -> Result<T, WireError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|error| WireError::NotJson {
            body,
            reason: error.to_string(),
        })?;
    from_value(body, value)
}

/// Reads `T` from an already parsed JSON value, naming the field that does not fit.
pub(crate) fn from_value<T: DeserializeOwned>(
    body: Body,
    value: serde_json::Value,
) -> Result<T, WireError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        // Errors from a `Value` carry no line and column, so the message is serde's alone.
        let message = error.into_inner().to_string();
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'));
        match missing {
            Some(name) if path == "." => invalid(body, name.to_owned(), "missing".to_owned()),
            Some(name) => invalid(body, format!("{path}.{name}"), "missing".to_owned()),
            None => invalid(body, path, format!("is not valid: {message}")),
        }
    })
}

fn invalid(body: Body, field: String, problem: String) -> WireError {
    WireError::Invalid {
        body,
        field,
        problem,
    }
}

/// Writes `value` as JSON.
pub(crate) fn to_vec<T: serde::Serialize>(
    body: Body,
    value: &T,
    layout: super::Layout,
) -> Result<Vec<u8>, WireError> {
    match layout {
        super::Layout::Compact => serde_json::to_vec(value),
        super::Layout::Pretty => serde_json::to_vec_pretty(value),
    }
    .map_err(|error| WireError::Unencodable {
        body,
        reason: error.to_string(),
    })
}
