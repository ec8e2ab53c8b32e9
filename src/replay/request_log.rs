//! Request logs as demand series: a CSV with one row per request (the Azure LLM inference
//! traces: `TIMESTAMP,ContextTokens,GeneratedTokens`) becomes the number of requests that
//! arrived in each minute.
//!
//! A file is a request log when its header's first column is `timestamp` (any case) and the
//! header is not the two-column `timestamp,value` of a labelled series. Only the first column
//! is read; the others may hold anything. Every minute from the first request's minute to the
//! last's is a row, minutes without requests count 0, and each row is stamped with its
//! minute's start. Known limit: the last minute is usually cut short by the log's end, so its
//! count is partial.

use crate::event::time;
use crate::replay::input::{InputError, SeriesRow};
use std::collections::BTreeMap;
use std::path::Path;

const MINUTE_MS: i64 = 60_000;

/// Whether `header` (a CSV header line) names a request log.
pub fn is_request_log(header: &str) -> bool {
    let columns: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    columns.first().is_some_and(|c| c == "timestamp") && columns != ["timestamp", "value"]
}

/// Per-minute request counts of the rows (line number, text) after a request log's header.
pub fn minute_counts(path: &Path, rows: &[(usize, String)]) -> Result<Vec<SeriesRow>, InputError> {
    // Minute index → (first line seen in it, requests).
    let mut minutes: BTreeMap<i64, (usize, u32)> = BTreeMap::new();
    for (line, text) in rows {
        let field = text.split(',').next().unwrap_or("").trim();
        let at = time::parse(field).ok_or_else(|| InputError::BadRow {
            path: path.to_path_buf(),
            line: *line,
            reason: format!("invalid request timestamp `{field}`"),
        })?;
        let minute = at.timestamp_millis().div_euclid(MINUTE_MS);
        let entry = minutes.entry(minute).or_insert((*line, 0));
        entry.0 = entry.0.min(*line);
        entry.1 += 1;
    }
    let (Some(&first), Some(&last)) = (minutes.keys().next(), minutes.keys().next_back()) else {
        return Err(InputError::BadRow {
            path: path.to_path_buf(),
            line: 1,
            reason: "a request log without requests".into(),
        });
    };
    (first..=last)
        .map(|minute| {
            let (line, count) = minutes.get(&minute).copied().unwrap_or((0, 0));
            let timestamp =
                time::from_millis(minute * MINUTE_MS).ok_or_else(|| InputError::BadRow {
                    path: path.to_path_buf(),
                    line,
                    reason: "request time out of range".into(),
                })?;
            Ok(SeriesRow {
                line,
                timestamp,
                value: f64::from(count),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_log_header_is_told_from_a_labelled_series() {
        assert!(is_request_log("TIMESTAMP,ContextTokens,GeneratedTokens"));
        assert!(!is_request_log("timestamp,value"));
        assert!(!is_request_log("time,value"));
    }

    #[test]
    fn requests_are_counted_per_minute_with_empty_minutes_as_zero() {
        let rows: Vec<(usize, String)> = [
            "2023-11-16 18:15:46.6805900,374,44",
            "2023-11-16 18:15:50.9951690,396,109",
            "2023-11-16 18:17:01.0000000,1,1",
        ]
        .iter()
        .enumerate()
        .map(|(i, t)| (i + 2, (*t).to_owned()))
        .collect();
        let counts = minute_counts(Path::new("log.csv"), &rows).expect("valid");
        let values: Vec<f64> = counts.iter().map(|r| r.value).collect();
        assert_eq!(values, vec![2.0, 0.0, 1.0]);
        assert_eq!(
            time::format(&counts[0].timestamp),
            "2023-11-16T18:15:00.000Z"
        );
    }

    #[test]
    fn a_bad_request_timestamp_names_its_line() {
        let rows = vec![(2, "yesterday,1,1".to_owned())];
        let error = minute_counts(Path::new("log.csv"), &rows).expect_err("bad time");
        assert!(error.to_string().contains("yesterday"), "{error}");
    }
}
