//! A secret value (the engine's bearer token) that never shows up in printouts.
//!
//! Configuration is logged at start-up and rendered by `config defaults`; both go through
//! `Debug` or `Serialize`, and both print `"***"` for a [`Secret`]. Only [`Secret::expose`]
//! gives the value, and only the transport calls it, to build the `Authorization` header.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// What a [`Secret`] prints as, in `Debug` and in serialized configuration.
pub const MASK: &str = "***";

/// A string that is masked in `Debug` and `Serialize` but deserializes from plain text.
///
/// Known limit: because serializing masks the value, a configuration rendered to TOML and
/// parsed back has the token `"***"`, not the original; render configurations for people,
/// not for round trips.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(MASK)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    struct Holder {
        token: Secret,
    }

    #[test]
    fn debug_and_serialize_mask_the_value_but_deserialize_keeps_it() {
        let holder: Holder = toml::from_str("token = \"hunter2\"\n").unwrap();
        assert_eq!(holder.token.expose(), "hunter2");
        assert!(!format!("{holder:?}").contains("hunter2"));
        assert!(format!("{holder:?}").contains(MASK));
        let text = toml::to_string(&holder).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains(MASK), "{text}");
    }
}
