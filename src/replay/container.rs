//! Avro object container files as replay input: each record, read with the file's own writer
//! schema, is turned into its JSON form (the same bridge the Avro wire encoding uses, so
//! timestamps become RFC 3339 text) and replayed as a JSON line would be. A record that does
//! not fit becomes a dead letter like a bad line; a file that is not a container, or whose
//! blocks are corrupt, stops the replay with the record number.
//!
//! Container files are told apart from JSON lines by their first four bytes (`Obj` 0x01).

use crate::event::avro;
use crate::topics::TopicRole;
use apache_avro::Reader;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// The magic bytes at the start of every Avro object container file.
const MAGIC: [u8; 4] = *b"Obj\x01";

/// Whether the file at `path` is an Avro object container file.
pub fn is_container(path: &Path) -> std::io::Result<bool> {
    let mut head = [0u8; 4];
    let mut file = std::fs::File::open(path)?;
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..])? {
            0 => break,
            n => read += n,
        }
    }
    Ok(read == head.len() && head == MAGIC)
}

/// Why a container file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// The file could not be opened.
    #[error("{path}: {source}")]
    Open {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The header or a block is not valid Avro.
    #[error("{path}: record {record}: {reason}")]
    Avro {
        /// The file.
        path: String,
        /// 1-based number of the record being read.
        record: i64,
        /// What is wrong.
        reason: String,
    },
}

/// Reads one container file's records as JSON.
pub struct ContainerReader {
    path: PathBuf,
    schema: apache_avro::Schema,
    records: Reader<'static, BufReader<std::fs::File>>,
    number: i64,
}

impl std::fmt::Debug for ContainerReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerReader")
            .field("path", &self.path)
            .field("number", &self.number)
            .finish()
    }
}

impl ContainerReader {
    /// Opens `path`, holding events of `role`.
    pub fn open(path: &Path, _role: TopicRole) -> Result<ContainerReader, ContainerError> {
        let file = std::fs::File::open(path).map_err(|source| ContainerError::Open {
            path: path.display().to_string(),
            source,
        })?;
        let records = Reader::new(BufReader::new(file)).map_err(|e| ContainerError::Avro {
            path: path.display().to_string(),
            record: 0,
            reason: e.to_string(),
        })?;
        let schema = records.writer_schema().clone();
        Ok(ContainerReader {
            path: path.to_owned(),
            schema,
            records,
            number: 0,
        })
    }

    /// The next record's number and JSON bytes, `None` at the end. A record that does not
    /// map to JSON is returned as the text of the reason, so it becomes a dead letter.
    pub fn next_json(&mut self) -> Result<Option<(i64, Vec<u8>)>, ContainerError> {
        let Some(value) = self.records.next() else {
            return Ok(None);
        };
        self.number += 1;
        let value = value.map_err(|e| ContainerError::Avro {
            path: self.path.display().to_string(),
            record: self.number,
            reason: e.to_string(),
        })?;
        let bytes = match avro::to_json(&self.schema, &value) {
            Ok(json) => serde_json::to_vec(&json).unwrap_or_default(),
            Err(error) => format!("avro record does not map to JSON: {error}").into_bytes(),
        };
        Ok(Some((self.number, bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::codec::schema_of;
    use crate::event::TelemetrySample;

    fn sample(minute: u32) -> TelemetrySample {
        let line = format!(
            "{{\"cluster_id\":\"c\",\"node_id\":\"n\",\
             \"event_time\":\"2026-01-02T03:{minute:02}:00Z\",\
             \"cpu_util\":0.4,\"memory_util\":0.5,\"disk_util\":0.1,\"network_util\":0.2,\
             \"latency_p99_ms\":12.0,\"throughput_ops\":850.0,\"energy_watts\":210.0,\
             \"queue_length\":3,\"error_rate\":0.001}}"
        );
        serde_json::from_str(&line).unwrap()
    }

    #[test]
    fn a_container_file_reads_back_as_the_json_of_its_events() {
        let dir = std::env::temp_dir().join(format!("fabric-ocf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("telemetry.avro");
        let schema = schema_of::<TelemetrySample>();
        let mut writer = apache_avro::Writer::new(schema, Vec::new());
        let samples = [sample(4), sample(5)];
        for s in &samples {
            let json = serde_json::to_value(s).unwrap();
            writer
                .append(avro::to_avro(schema, &json).unwrap())
                .unwrap();
        }
        std::fs::write(&path, writer.into_inner().unwrap()).unwrap();

        assert!(is_container(&path).unwrap());
        let mut reader = ContainerReader::open(&path, TopicRole::Telemetry).unwrap();
        for (i, expected) in samples.iter().enumerate() {
            let (number, bytes) = reader.next_json().unwrap().unwrap();
            assert_eq!(number, i as i64 + 1);
            let got: TelemetrySample = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(&got, expected);
        }
        assert!(reader.next_json().unwrap().is_none());

        let json = dir.join("telemetry.jsonl");
        std::fs::write(&json, b"{}\n").unwrap();
        assert!(!is_container(&json).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
