//! Event-time timestamps on the wire.
//!
//! fabric-ai writes RFC 3339 with millisecond precision and an explicit offset (`Z`). It reads
//! RFC 3339 with any offset, and reads a timestamp without a zone as UTC, because producers in
//! the field (the engine fabric-ai replaces among them) still write them that way.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Earliest event time accepted on input; anything before is treated as a broken clock.
pub const MIN_EVENT_TIME_MS: i64 = 946_684_800_000; // 2000-01-01T00:00:00Z
/// Latest event time accepted on input; anything after is treated as a broken clock.
pub const MAX_EVENT_TIME_MS: i64 = 4_102_444_800_000; // 2100-01-01T00:00:00Z

/// Formats a timestamp the way every fabric-ai output writes it.
pub fn format(ts: &DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses RFC 3339, or a zone-less `YYYY-MM-DD[T ]HH:MM:SS[.fff]` read as UTC.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(ts) = DateTime::parse_from_rfc3339(text) {
        return Some(ts.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|fmt| NaiveDateTime::parse_from_str(text, fmt).ok())
        .map(|naive| Utc.from_utc_datetime(&naive))
}

/// Milliseconds since the Unix epoch back to a timestamp.
pub fn from_millis(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// serde `with` module for `DateTime<Utc>` fields.
pub mod rfc3339 {
    use super::*;

    /// Writes the timestamp as RFC 3339 with an offset.
    pub fn serialize<S: Serializer>(ts: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(ts))
    }

    /// Reads RFC 3339, or a zone-less timestamp as UTC.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format_args!("invalid timestamp `{text}`")))
    }
}

/// serde `with` module for `Option<DateTime<Utc>>` fields.
pub mod rfc3339_opt {
    use super::*;

    /// Writes the timestamp as RFC 3339 with an offset, or null.
    pub fn serialize<S: Serializer>(ts: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match ts {
            Some(ts) => s.serialize_str(&format(ts)),
            None => s.serialize_none(),
        }
    }

    /// Reads an optional RFC 3339 or zone-less timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text = Option::<std::borrow::Cow<str>>::deserialize(d)?;
        text.map(|t| {
            parse(&t)
                .ok_or_else(|| serde::de::Error::custom(format_args!("invalid timestamp `{t}`")))
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_less_timestamps_read_as_utc() {
        let ts = parse("2026-01-02 03:04:05").expect("parses");
        assert_eq!(format(&ts), "2026-01-02T03:04:05.000Z");
    }

    #[test]
    fn offsets_are_normalised_to_utc() {
        let ts = parse("2026-01-02T03:04:05+02:00").expect("parses");
        assert_eq!(format(&ts), "2026-01-02T01:04:05.000Z");
    }

    #[test]
    fn garbage_is_not_a_timestamp() {
        assert!(parse("yesterday").is_none());
    }
}
