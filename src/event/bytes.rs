//! Raw bytes in JSON: standard base64 with padding. In Avro they are `bytes`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// serde `with` module for `Vec<u8>`.
pub mod plain {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes base64.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    /// Reads base64.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

/// serde `with` module for `Option<Vec<u8>>`.
pub mod opt {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes base64 or null.
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    /// Reads base64 or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text = Option::<std::borrow::Cow<str>>::deserialize(d)?;
        text.map(|t| {
            STANDARD
                .decode(t.as_bytes())
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

/// Base64 text of raw bytes (used by the Avro bridge).
pub fn to_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Raw bytes of base64 text (used by the Avro bridge).
pub fn from_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    STANDARD.decode(text.as_bytes())
}
