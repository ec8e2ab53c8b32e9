//! One line of text per report section, for the `replay` command's standard error: the
//! numbers a reader looks at first, taken from the section's JSON so they match the report.

use serde_json::Value;

/// The line for section `name`; sections without a line of their own show their error or
/// say they are in the report.
pub fn line(name: &str, section: &Value) -> String {
    if let Some(error) = section.get("error").and_then(Value::as_str) {
        return format!("{name}: error: {error}");
    }
    match name {
        "labels" => labels(section),
        "forecasts" => forecasts(section),
        "scaling" => scaling(section),
        _ => format!("{name}: see the report"),
    }
}

/// A number with `digits` decimals, or `-` when it is null or absent.
fn num(value: Option<&Value>, digits: usize) -> String {
    value
        .and_then(Value::as_f64)
        .map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

fn labels(s: &Value) -> String {
    let profiles: Vec<String> = ["standard", "reward_low_fp", "reward_low_fn"]
        .iter()
        .map(|p| {
            let v = &s["profiles"][p];
            format!(
                "{p} {} (best {} at {})",
                num(v.get("normalized"), 1),
                num(v.get("best_normalized"), 1),
                num(v.get("best_threshold"), 3)
            )
        })
        .collect();
    format!(
        "labels: {} series, {} windows, threshold {}: {}, precision {}, recall {}, \
         mean time to detect {} s",
        s["series"],
        s["windows"],
        num(s.get("threshold"), 3),
        profiles.join(", "),
        num(s.get("precision"), 3),
        num(s.get("recall"), 3),
        num(s.get("mean_time_to_detect_s"), 0)
    )
}

fn forecasts(s: &Value) -> String {
    let horizons: Vec<String> = s["overall"]["horizons"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|h| {
            format!(
                "h{} ({} points) MASE {} vs naive {}, sMAPE {} vs {}, coverage 80% {} 95% {}",
                h["horizon"],
                h["points"],
                num(h.get("mase"), 3),
                num(h.get("naive_mase"), 3),
                num(h.get("smape_median"), 1),
                num(h.get("naive_smape_median"), 1),
                num(h.get("coverage_80"), 2),
                num(h.get("coverage_95"), 2)
            )
        })
        .collect();
    if horizons.is_empty() {
        "forecasts: no forecast could be scored".to_owned()
    } else {
        format!("forecasts: {}", horizons.join("; "))
    }
}

fn scaling(s: &Value) -> String {
    let clusters: Vec<String> = s["clusters"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let policy = |p: &str| {
                let v = &c[p];
                format!(
                    "{p} {} min under capacity, {} replica-min, {} changes",
                    v["minutes_under_capacity"], v["replica_minutes"], v["changes"]
                )
            };
            format!(
                "{} ({} min): {}; {}; {}",
                c["cluster_id"].as_str().unwrap_or("?"),
                c["minutes"],
                policy("fabric"),
                policy("hpa"),
                policy("perfect_foresight")
            )
        })
        .collect();
    if clusters.is_empty() {
        "scaling: no cluster could be evaluated".to_owned()
    } else {
        format!("scaling: {}", clusters.join(" | "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_labels_line_shows_every_profile_and_nulls_as_dashes() {
        let section = serde_json::json!({
            "threshold": 0.5, "series": 2, "windows": 3, "precision": null, "recall": 0.0,
            "mean_time_to_detect_s": null,
            "profiles": {
                "standard": {"raw": -3.0, "normalized": 0.0, "best_threshold": 0.61,
                             "best_normalized": 12.34},
                "reward_low_fp": {"raw": -3.0, "normalized": 0.0, "best_threshold": null,
                                  "best_normalized": null},
                "reward_low_fn": {"raw": -6.0, "normalized": 0.0, "best_threshold": 0.61,
                                  "best_normalized": 20.0}
            },
            "per_series": []
        });
        let text = line("labels", &section);
        assert!(
            text.starts_with("labels: 2 series, 3 windows, threshold 0.500"),
            "{text}"
        );
        assert!(text.contains("standard 0.0 (best 12.3 at 0.610)"), "{text}");
        assert!(text.contains("reward_low_fp 0.0 (best - at -)"), "{text}");
        assert!(text.contains("precision -, recall 0.000"), "{text}");
    }

    #[test]
    fn an_errored_section_shows_its_error() {
        let section = serde_json::json!({"error": "series `x` has no entry"});
        assert_eq!(
            line("labels", &section),
            "labels: error: series `x` has no entry"
        );
    }
}
