//! The bridge between serde's JSON model and Avro values, driven by the `.avsc` schemas.
//!
//! The Rust types serialise to JSON; this module walks a schema and the JSON side by side to
//! build the Avro value, and back. Keeping one serde model means the JSON and Avro encodings
//! cannot drift apart: a field the schema lacks, or a type it disagrees on, is an error here.
//! Timestamps cross as RFC 3339 text on the JSON side and `timestamp-millis` on the Avro side;
//! bytes cross as base64 text and Avro `bytes`.

use crate::event::{bytes, time};
use apache_avro::schema::{RecordSchema, Schema, UnionSchema};
use apache_avro::types::Value as Avro;
use serde_json::{Map, Number, Value as Json};
use std::collections::HashMap;

/// Why a value does not fit its schema.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct BridgeError {
    /// Dotted path of the offending field.
    pub path: String,
    /// What does not fit.
    pub reason: String,
}

fn err(path: &str, reason: impl Into<String>) -> BridgeError {
    BridgeError {
        path: if path.is_empty() {
            "$".into()
        } else {
            path.into()
        },
        reason: reason.into(),
    }
}

/// Builds the Avro value of `json` under `schema`.
pub fn to_avro(schema: &Schema, json: &Json) -> Result<Avro, BridgeError> {
    to_avro_at(schema, json, "")
}

fn to_avro_at(schema: &Schema, json: &Json, path: &str) -> Result<Avro, BridgeError> {
    let mismatch = || {
        err(
            path,
            format!("expected {}, found {json}", schema_name(schema)),
        )
    };
    Ok(match schema {
        Schema::Null => match json {
            Json::Null => Avro::Null,
            _ => return Err(mismatch()),
        },
        Schema::Boolean => Avro::Boolean(json.as_bool().ok_or_else(mismatch)?),
        Schema::Int => {
            let v = json.as_i64().ok_or_else(mismatch)?;
            Avro::Int(i32::try_from(v).map_err(|_| err(path, format!("{v} overflows int")))?)
        }
        Schema::Long => Avro::Long(json.as_i64().ok_or_else(mismatch)?),
        Schema::Float => Avro::Float(json.as_f64().ok_or_else(mismatch)? as f32),
        Schema::Double => Avro::Double(json.as_f64().ok_or_else(mismatch)?),
        Schema::String => Avro::String(json.as_str().ok_or_else(mismatch)?.to_owned()),
        Schema::Bytes => {
            let text = json.as_str().ok_or_else(mismatch)?;
            Avro::Bytes(bytes::from_base64(text).map_err(|e| err(path, e.to_string()))?)
        }
        Schema::TimestampMillis => {
            let text = json.as_str().ok_or_else(mismatch)?;
            let ts = time::parse(text).ok_or_else(|| err(path, "invalid timestamp"))?;
            Avro::TimestampMillis(ts.timestamp_millis())
        }
        Schema::Array(array) => {
            let items = json.as_array().ok_or_else(mismatch)?;
            let values = items
                .iter()
                .enumerate()
                .map(|(i, item)| to_avro_at(&array.items, item, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?;
            Avro::Array(values)
        }
        Schema::Map(map) => {
            let object = json.as_object().ok_or_else(mismatch)?;
            let mut values = HashMap::with_capacity(object.len());
            for (k, v) in object {
                values.insert(
                    k.clone(),
                    to_avro_at(&map.types, v, &format!("{path}.{k}"))?,
                );
            }
            Avro::Map(values)
        }
        Schema::Enum(e) => {
            let symbol = json.as_str().ok_or_else(mismatch)?;
            let index =
                e.symbols.iter().position(|s| s == symbol).ok_or_else(|| {
                    err(path, format!("`{symbol}` is not a symbol of {}", e.name))
                })?;
            Avro::Enum(index as u32, symbol.to_owned())
        }
        Schema::Union(union) => union_to_avro(union, json, path)?,
        Schema::Record(record) => record_to_avro(record, json, path)?,
        other => {
            return Err(err(
                path,
                format!("schema type {other:?} is not used by fabric-ai"),
            ))
        }
    })
}

fn union_to_avro(union: &UnionSchema, json: &Json, path: &str) -> Result<Avro, BridgeError> {
    let variants = union.variants();
    if json.is_null() {
        if let Some(i) = variants.iter().position(|s| matches!(s, Schema::Null)) {
            return Ok(Avro::Union(i as u32, Box::new(Avro::Null)));
        }
    }
    let mut last = None;
    for (i, variant) in variants.iter().enumerate() {
        if matches!(variant, Schema::Null) {
            continue;
        }
        match to_avro_at(variant, json, path) {
            Ok(v) => return Ok(Avro::Union(i as u32, Box::new(v))),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| err(path, "no union variant fits")))
}

fn record_to_avro(record: &RecordSchema, json: &Json, path: &str) -> Result<Avro, BridgeError> {
    let object = json.as_object().ok_or_else(|| {
        err(
            path,
            format!("expected record {}, found {json}", record.name),
        )
    })?;
    if let Some(extra) = object
        .keys()
        .find(|k| !record.fields.iter().any(|f| &f.name == *k))
    {
        return Err(err(
            path,
            format!("field `{extra}` is not in schema {}", record.name),
        ));
    }
    let mut fields = Vec::with_capacity(record.fields.len());
    for field in &record.fields {
        let field_path = format!("{path}.{}", field.name);
        let value = match object.get(&field.name) {
            Some(v) => to_avro_at(&field.schema, v, &field_path)?,
            None => match (&field.schema, &field.default) {
                (Schema::Union(u), _) if u.is_nullable() => {
                    to_avro_at(&field.schema, &Json::Null, &field_path)?
                }
                (_, Some(default)) => to_avro_at(&field.schema, default, &field_path)?,
                _ => return Err(err(&field_path, "missing")),
            },
        };
        fields.push((field.name.clone(), value));
    }
    Ok(Avro::Record(fields))
}

/// Builds the JSON value of an Avro value decoded under `schema`.
pub fn to_json(schema: &Schema, avro: &Avro) -> Result<Json, BridgeError> {
    to_json_at(schema, avro, "")
}

fn to_json_at(schema: &Schema, avro: &Avro, path: &str) -> Result<Json, BridgeError> {
    let mismatch = || {
        err(
            path,
            format!("expected {}, found {avro:?}", schema_name(schema)),
        )
    };
    Ok(match (schema, avro) {
        (Schema::Null, Avro::Null) => Json::Null,
        (Schema::Boolean, Avro::Boolean(b)) => Json::Bool(*b),
        (Schema::Int, Avro::Int(v)) => Json::from(*v),
        (Schema::Long, Avro::Long(v)) => Json::from(*v),
        (Schema::Float, Avro::Float(v)) => number(f64::from(*v), path)?,
        (Schema::Double, Avro::Double(v)) => number(*v, path)?,
        (Schema::String, Avro::String(s)) => Json::String(s.clone()),
        (Schema::Bytes, Avro::Bytes(b)) => Json::String(bytes::to_base64(b)),
        (Schema::TimestampMillis, Avro::TimestampMillis(ms)) => {
            let ts = time::from_millis(*ms).ok_or_else(|| err(path, "timestamp out of range"))?;
            Json::String(time::format(&ts))
        }
        (Schema::Array(array), Avro::Array(items)) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| to_json_at(&array.items, v, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        (Schema::Map(map), Avro::Map(values)) => {
            let mut object = Map::with_capacity(values.len());
            let mut keys: Vec<_> = values.keys().collect();
            keys.sort();
            for k in keys {
                object.insert(
                    k.clone(),
                    to_json_at(&map.types, &values[k], &format!("{path}.{k}"))?,
                );
            }
            Json::Object(object)
        }
        (Schema::Enum(_), Avro::Enum(_, symbol)) => Json::String(symbol.clone()),
        (Schema::Union(union), Avro::Union(i, inner)) => {
            let variant = union
                .variants()
                .get(*i as usize)
                .ok_or_else(|| err(path, format!("union index {i} out of range")))?;
            to_json_at(variant, inner, path)?
        }
        (Schema::Record(record), Avro::Record(fields)) => {
            let mut object = Map::with_capacity(fields.len());
            for ((name, value), field) in fields.iter().zip(&record.fields) {
                let json = to_json_at(&field.schema, value, &format!("{path}.{name}"))?;
                // Absent optionals stay absent, so `deny_unknown_fields` types and
                // `skip_serializing_if` fields read back exactly as written.
                if !json.is_null() {
                    object.insert(name.clone(), json);
                }
            }
            Json::Object(object)
        }
        _ => return Err(mismatch()),
    })
}

fn number(v: f64, path: &str) -> Result<Json, BridgeError> {
    Number::from_f64(v)
        .map(Json::Number)
        .ok_or_else(|| err(path, format!("{v} is not finite")))
}

fn schema_name(schema: &Schema) -> String {
    match schema {
        Schema::Record(r) => format!("record {}", r.name),
        Schema::Enum(e) => format!("enum {}", e.name),
        other => format!("{other:?}").chars().take(40).collect(),
    }
}
