//! How single fields are written on the engine wire, as serde helpers shared by the endpoint
//! types (and by [`NodeBaseline`](crate::engine::builtin::anomaly::NodeBaseline)).
//!
//! - Request numbers go through [`Num`]: a non-finite value (JSON has no NaN or infinity) is
//!   written as `null`, and `null` reads back as NaN. The sign of an infinity is lost.
//! - Event times, held as epoch milliseconds in-process, are RFC 3339 strings with `Z`
//!   ([`time_ms`], [`time_ms_vec`]); a zone-less timestamp reads as UTC.
//! - Metrics are named by their telemetry field (`cpu_util`, ...; [`metric_name`]), and the
//!   nine per-metric values of a sample or aggregate are an object keyed by those names
//!   ([`metric_keyed`]): every metric must be present, unknown keys are ignored.

use crate::event::{time, Metric};
use serde::{de, ser, Deserialize, Deserializer, Serialize, Serializer};

/// A request number that may be non-finite: written as `null` then, and read from `null` as
/// NaN. Answers do not use it; a `null` where an answer needs a number is an error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Num(pub f64);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            s.serialize_f64(self.0)
        } else {
            s.serialize_none()
        }
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Num, D::Error> {
        Ok(Num(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN)))
    }
}

/// serde `with` module for an `f64` request field, through [`Num`].
pub mod nullable {
    use super::*;

    /// Writes the number, or `null` when it is not finite.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        Num(*v).serialize(s)
    }

    /// Reads a number, or NaN from `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Num::deserialize(d)?.0)
    }
}

/// serde `with` module for a `Vec<f64>` request field, through [`Num`].
pub mod nullable_vec {
    use super::*;

    /// Writes the numbers, `null` for each one that is not finite.
    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| Num(*x)))
    }

    /// Reads numbers, NaN for each `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<Num>::deserialize(d)?
            .into_iter()
            .map(|n| n.0)
            .collect())
    }
}

fn format_ms<E: ser::Error>(ms: i64) -> Result<String, E> {
    time::from_millis(ms)
        .map(|ts| time::format(&ts))
        .ok_or_else(|| E::custom(format_args!("time {ms} ms since the epoch is out of range")))
}

fn parse_ms<E: de::Error>(text: &str) -> Result<i64, E> {
    time::parse(text)
        .map(|ts| ts.timestamp_millis())
        .ok_or_else(|| E::custom(format_args!("invalid timestamp `{text}`")))
}

/// serde `with` module for an event time held as epoch milliseconds: RFC 3339 on the wire.
/// Sub-millisecond digits on reading are dropped.
pub mod time_ms {
    use super::*;

    /// Writes RFC 3339 with millisecond precision and `Z`.
    pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_ms::<S::Error>(*ms)?)
    }

    /// Reads RFC 3339 with any offset, or a zone-less timestamp as UTC.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        parse_ms(&text)
    }
}

/// serde `with` module for a list of event times held as epoch milliseconds.
pub mod time_ms_vec {
    use super::*;

    /// Writes each time as RFC 3339 with `Z`.
    pub fn serialize<S: Serializer>(v: &[i64], s: S) -> Result<S::Ok, S::Error> {
        let texts = v
            .iter()
            .map(|ms| format_ms::<S::Error>(*ms))
            .collect::<Result<Vec<_>, _>>()?;
        s.collect_seq(texts)
    }

    /// Reads each time as [`time_ms::deserialize`] does.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|t| parse_ms(t))
            .collect()
    }
}

/// serde `with` module for a [`Metric`] named by its telemetry field (`cpu_util`); the short
/// name (`cpu`) is accepted on reading.
pub mod metric_name {
    use super::*;

    /// Writes the field name.
    pub fn serialize<S: Serializer>(m: &Metric, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(m.field())
    }

    /// Reads a field name or a short name.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Metric, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Metric::parse(&text)
            .ok_or_else(|| de::Error::custom(format_args!("unknown metric `{text}`")))
    }
}

/// serde `with` module for nine values in [`Metric::ALL`] order, written as an object keyed by
/// metric field name. Reading needs all nine keys and ignores others.
pub mod metric_keyed {
    use super::*;

    /// Writes `{"cpu_util": .., "memory_util": .., ...}`.
    pub fn serialize<T: Serialize, S: Serializer>(v: &[T; 9], s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(Metric::ALL.iter().map(|m| (m.field(), &v[m.index()])))
    }

    /// Reads the object back into [`Metric::ALL`] order.
    pub fn deserialize<'de, T, D>(d: D) -> Result<[T; 9], D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        d.deserialize_map(KeyedVisitor(std::marker::PhantomData))
    }

    struct KeyedVisitor<T>(std::marker::PhantomData<T>);

    impl<'de, T: Deserialize<'de>> de::Visitor<'de> for KeyedVisitor<T> {
        type Value = [T; 9];

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object keyed by metric field name")
        }

        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<[T; 9], A::Error> {
            let mut slots: [Option<T>; 9] = Default::default();
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match Metric::ALL.iter().find(|m| m.field() == key) {
                    Some(m) => slots[m.index()] = Some(map.next_value()?),
                    // Unknown keys are ignored, like unknown fields anywhere on the wire.
                    None => {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
            }
            let mut values = Vec::with_capacity(9);
            for (m, slot) in Metric::ALL.iter().zip(slots) {
                let value = slot.ok_or_else(|| {
                    de::Error::custom(format_args!("missing metric `{}`", m.field()))
                })?;
                values.push(value);
            }
            values
                .try_into()
                .map_err(|_| de::Error::custom("expected nine metrics"))
        }
    }
}

/// serde `with` module for nine request numbers keyed by metric name, each through [`Num`].
pub mod metric_values {
    use super::*;

    /// Writes `{"cpu_util": 0.4, ...}`, `null` for a non-finite value.
    pub fn serialize<S: Serializer>(v: &[f64; 9], s: S) -> Result<S::Ok, S::Error> {
        metric_keyed::serialize(&v.map(Num), s)
    }

    /// Reads the object, NaN for each `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 9], D::Error> {
        Ok(metric_keyed::deserialize::<Num, D>(d)?.map(|n| n.0))
    }
}

/// serde `with` module for optional nine request numbers keyed by metric name.
pub mod metric_values_opt {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Values(#[serde(with = "metric_values")] [f64; 9]);

    /// Writes the object, or `null`.
    pub fn serialize<S: Serializer>(v: &Option<[f64; 9]>, s: S) -> Result<S::Ok, S::Error> {
        v.map(Values).serialize(s)
    }

    /// Reads the object, or none from `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[f64; 9]>, D::Error> {
        Ok(Option::<Values>::deserialize(d)?.map(|v| v.0))
    }
}
