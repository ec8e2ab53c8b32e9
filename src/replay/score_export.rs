//! `anomaly_scores.csv`: every per-sample anomaly score of a replay, written as the detector
//! judges windows (`--export-scores`).
//!
//! Columns `cluster_id,node_id,timestamp,score`; the timestamp is RFC 3339 (UTC, milliseconds)
//! and the score the shortest decimal that reads back as the same number. Rows come in the
//! order windows are judged: per node in event time, nodes interleaved as the watermark moves.
//! The file is streamed, so memory does not grow with the input. An id holding a comma, a
//! quote or a line break is quoted, its quotes doubled.

use crate::replay::observer::{ReplayObserver, SampleScore};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The file name in the replay's output directory.
pub const FILE_NAME: &str = "anomaly_scores.csv";

/// Why the scores could not be written.
#[derive(Debug, thiserror::Error)]
#[error("write {}: {source}", .path.display())]
pub struct ExportError {
    /// The file.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

/// Writes each score as it is shown; the first write error is kept and returned by
/// [`ScoreExport::finish`] (an observer cannot fail), and nothing more is written after it.
#[derive(Debug)]
pub struct ScoreExport {
    path: PathBuf,
    out: BufWriter<File>,
    error: Option<std::io::Error>,
    /// Rows written.
    rows: u64,
}

impl ScoreExport {
    /// Creates `<dir>/anomaly_scores.csv` (and `dir`) and writes the header.
    pub fn create(dir: &Path) -> Result<ScoreExport, ExportError> {
        let path = dir.join(FILE_NAME);
        let fail = |source| ExportError {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(fail)?;
        let mut out = BufWriter::new(File::create(&path).map_err(fail)?);
        out.write_all(b"cluster_id,node_id,timestamp,score\n")
            .map_err(fail)?;
        Ok(ScoreExport {
            path,
            out,
            error: None,
            rows: 0,
        })
    }

    /// Flushes the file; the first error met while writing, if any. Returns the rows written.
    pub fn finish(mut self) -> Result<u64, ExportError> {
        let result = match self.error.take() {
            Some(source) => Err(source),
            None => self.out.flush(),
        };
        result.map(|()| self.rows).map_err(|source| ExportError {
            path: self.path,
            source,
        })
    }

    fn write_row(&mut self, s: &SampleScore) -> std::io::Result<()> {
        let ts = chrono::DateTime::from_timestamp_millis(s.event_ms)
            .map(|t| crate::event::time::format(&t))
            .unwrap_or_else(|| s.event_ms.to_string());
        writeln!(
            self.out,
            "{},{},{ts},{}",
            field(&s.cluster_id),
            field(&s.node_id),
            s.score
        )
    }
}

/// A CSV field, quoted when it has to be.
fn field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    } else {
        text.into()
    }
}

impl ReplayObserver for ScoreExport {
    fn on_scores(&mut self, scores: &[SampleScore]) {
        for s in scores {
            if self.error.is_some() {
                return;
            }
            match self.write_row(s) {
                Ok(()) => self.rows += 1,
                Err(e) => self.error = Some(e),
            }
        }
    }

    fn wants_scores(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(node: &str, event_ms: i64, score: f64) -> SampleScore {
        SampleScore {
            cluster_id: "c".into(),
            node_id: node.into(),
            event_ms,
            score,
        }
    }

    #[test]
    fn writes_one_row_per_score_after_a_header() {
        let dir = tempfile::tempdir().unwrap();
        let mut export = ScoreExport::create(dir.path()).unwrap();
        export.on_scores(&[score("n1", 0, 0.0), score("a,b", 60_000, 0.75)]);
        export.on_scores(&[score("n1", 120_000, 0.5)]);
        assert_eq!(export.finish().unwrap(), 3);
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(
            text,
            "cluster_id,node_id,timestamp,score\n\
             c,n1,1970-01-01T00:00:00.000Z,0\n\
             c,\"a,b\",1970-01-01T00:01:00.000Z,0.75\n\
             c,n1,1970-01-01T00:02:00.000Z,0.5\n"
        );
    }
}
