//! The topic catalogue: what fabric-ai reads and writes, declared in `topics/*.toml`.
//!
//! The files are compiled in, so the binary always knows its topics; `topics apply --dir`
//! reads them from disk instead when an operator has edited them. A configured prefix is put
//! in front of every name, which lets several deployments (or tests) share one cluster.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The part a topic plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopicRole {
    /// Telemetry samples in.
    Telemetry,
    /// Job events in.
    JobEvents,
    /// Anomalies out.
    Anomalies,
    /// Recommendations out.
    Recommendations,
    /// Resource predictions out.
    Predictions,
    /// Workload insights out.
    WorkloadInsights,
    /// Scaling decisions out.
    ScalingDecisions,
    /// Audit records out.
    Audit,
    /// Dead letters out.
    DeadLetters,
    /// Actuators' outcomes in.
    Outcomes,
    /// Effectiveness of applied decisions out.
    Effectiveness,
    /// Accuracy of published predictions out.
    PredictionAccuracy,
    /// Cluster window summaries, written by every member and read by one (federation).
    Federation,
}

impl TopicRole {
    /// Every role, inputs first.
    pub const ALL: [TopicRole; 13] = [
        TopicRole::Telemetry,
        TopicRole::JobEvents,
        TopicRole::Outcomes,
        TopicRole::Anomalies,
        TopicRole::Recommendations,
        TopicRole::Predictions,
        TopicRole::WorkloadInsights,
        TopicRole::ScalingDecisions,
        TopicRole::Audit,
        TopicRole::DeadLetters,
        TopicRole::Effectiveness,
        TopicRole::PredictionAccuracy,
        TopicRole::Federation,
    ];

    /// Whether fabric-ai only reads this role (telemetry, job events, outcomes) rather than
    /// writes it. Federation is written and read, and counts as an output.
    pub fn is_input(self) -> bool {
        matches!(
            self,
            TopicRole::Telemetry | TopicRole::JobEvents | TopicRole::Outcomes
        )
    }

    /// The role's name in files and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            TopicRole::Telemetry => "telemetry",
            TopicRole::JobEvents => "job_events",
            TopicRole::Anomalies => "anomalies",
            TopicRole::Recommendations => "recommendations",
            TopicRole::Predictions => "predictions",
            TopicRole::WorkloadInsights => "workload_insights",
            TopicRole::ScalingDecisions => "scaling_decisions",
            TopicRole::Audit => "audit",
            TopicRole::DeadLetters => "dead_letters",
            TopicRole::Outcomes => "outcomes",
            TopicRole::Effectiveness => "effectiveness",
            TopicRole::PredictionAccuracy => "prediction_accuracy",
            TopicRole::Federation => "federation",
        }
    }
}

/// One topic's declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// The part it plays.
    pub role: TopicRole,
    /// Name without the deployment prefix.
    pub name: String,
    /// Partition count; the unit of parallelism for consumers.
    pub partitions: i32,
    /// Replicas per partition.
    pub replication_factor: i32,
    /// What the message key is, for people.
    pub key: String,
    /// Topic configuration entries (`retention.ms`, `cleanup.policy`, ...).
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

/// Why the catalogue could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// A file could not be read.
    #[error("read topic file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not a valid topic declaration.
    #[error("parse topic file {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A role is declared twice or not at all.
    #[error("topic catalogue: {0}")]
    Roles(String),
}

const BUILT_IN: &[(&str, &str)] = &[
    ("telemetry.toml", include_str!("../topics/telemetry.toml")),
    ("job_events.toml", include_str!("../topics/job_events.toml")),
    ("anomalies.toml", include_str!("../topics/anomalies.toml")),
    (
        "recommendations.toml",
        include_str!("../topics/recommendations.toml"),
    ),
    (
        "predictions.toml",
        include_str!("../topics/predictions.toml"),
    ),
    (
        "workload_insights.toml",
        include_str!("../topics/workload_insights.toml"),
    ),
    (
        "scaling_decisions.toml",
        include_str!("../topics/scaling_decisions.toml"),
    ),
    ("audit.toml", include_str!("../topics/audit.toml")),
    (
        "dead_letters.toml",
        include_str!("../topics/dead_letters.toml"),
    ),
    ("outcomes.toml", include_str!("../topics/outcomes.toml")),
    (
        "effectiveness.toml",
        include_str!("../topics/effectiveness.toml"),
    ),
    (
        "prediction_accuracy.toml",
        include_str!("../topics/prediction_accuracy.toml"),
    ),
    ("federation.toml", include_str!("../topics/federation.toml")),
];

/// All topics, one per role, with the deployment prefix applied to their names.
#[derive(Debug, Clone)]
pub struct Catalogue {
    specs: BTreeMap<TopicRole, TopicSpec>,
}

impl Catalogue {
    /// The compiled-in catalogue.
    pub fn built_in(prefix: &str) -> Result<Catalogue, CatalogueError> {
        Catalogue::from_texts(
            BUILT_IN.iter().map(|(p, t)| (p.to_string(), t.to_string())),
            prefix,
        )
    }

    /// The catalogue from the `*.toml` files of a directory.
    pub fn from_dir(dir: &Path, prefix: &str) -> Result<Catalogue, CatalogueError> {
        let read_err = |source| CatalogueError::Read {
            path: dir.display().to_string(),
            source,
        };
        let mut texts = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_err)? {
            let path = entry.map_err(read_err)?.path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text =
                    std::fs::read_to_string(&path).map_err(|source| CatalogueError::Read {
                        path: path.display().to_string(),
                        source,
                    })?;
                texts.push((path.display().to_string(), text));
            }
        }
        Catalogue::from_texts(texts.into_iter(), prefix)
    }

    fn from_texts(
        texts: impl Iterator<Item = (String, String)>,
        prefix: &str,
    ) -> Result<Catalogue, CatalogueError> {
        let mut specs = BTreeMap::new();
        for (path, text) in texts {
            let mut spec: TopicSpec = toml::from_str(&text).map_err(|e| CatalogueError::Parse {
                path: path.clone(),
                message: e.to_string(),
            })?;
            if spec.partitions < 1 || spec.replication_factor < 1 {
                return Err(CatalogueError::Parse {
                    path,
                    message: "partitions and replication_factor must be at least 1".into(),
                });
            }
            spec.name = format!("{prefix}{}", spec.name);
            if let Some(old) = specs.insert(spec.role, spec) {
                return Err(CatalogueError::Roles(format!(
                    "role {} declared twice",
                    old.role.as_str()
                )));
            }
        }
        if let Some(missing) = TopicRole::ALL.iter().find(|r| !specs.contains_key(r)) {
            return Err(CatalogueError::Roles(format!(
                "no topic declared for {}",
                missing.as_str()
            )));
        }
        Ok(Catalogue { specs })
    }

    /// The topic playing `role`.
    pub fn get(&self, role: TopicRole) -> &TopicSpec {
        // Construction guarantees one spec per role.
        &self.specs[&role]
    }

    /// The full name of the topic playing `role`.
    pub fn name(&self, role: TopicRole) -> &str {
        &self.get(role).name
    }

    /// Every topic, inputs first.
    pub fn iter(&self) -> impl Iterator<Item = &TopicSpec> {
        self.specs.values()
    }

    /// Overrides the replication factor of every topic (for clusters larger than one broker).
    pub fn with_replication_factor(mut self, rf: i32) -> Catalogue {
        self.specs
            .values_mut()
            .for_each(|s| s.replication_factor = rf);
        self
    }

    /// Overrides the partition count of every topic (small test clusters).
    pub fn with_partitions(mut self, partitions: i32) -> Catalogue {
        self.specs
            .values_mut()
            .for_each(|s| s.partitions = partitions);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_catalogue_has_every_role_with_prefix() {
        let cat = Catalogue::built_in("t1.").unwrap();
        for role in TopicRole::ALL {
            assert!(
                cat.name(role).starts_with("t1.fabric."),
                "{}",
                cat.name(role)
            );
        }
        assert_eq!(
            cat.get(TopicRole::Telemetry).config["cleanup.policy"],
            "delete"
        );
    }

    #[test]
    fn repository_topic_files_match_the_compiled_in_ones() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("topics");
        let from_dir = Catalogue::from_dir(&dir, "").unwrap();
        let built_in = Catalogue::built_in("").unwrap();
        assert_eq!(
            from_dir.iter().collect::<Vec<_>>(),
            built_in.iter().collect::<Vec<_>>()
        );
    }
}
