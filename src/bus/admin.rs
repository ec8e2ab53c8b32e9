//! `topics apply`: create the declared topics that are missing and report drift, never delete.
//!
//! Drift is a difference between a declared topic and the live one: another partition count,
//! replication factor, or value of a declared config entry. It is reported, not changed,
//! because changing partition counts re-keys data and config changes deserve a human.

use crate::topics::{Catalogue, TopicSpec};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use std::fmt;
use std::time::Duration;

/// Why the plan could not be made or applied. External-system errors, retriable.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Cluster metadata could not be fetched.
    #[error("fetch metadata: {0}")]
    Metadata(KafkaError),
    /// Topic configs could not be described.
    #[error("describe configs of {topic}: {reason}")]
    Describe {
        /// The topic.
        topic: String,
        /// What failed.
        reason: String,
    },
    /// A topic could not be created.
    #[error("create topic {topic}: {reason}")]
    Create {
        /// The topic.
        topic: String,
        /// What failed.
        reason: String,
    },
}

/// What `apply` does, or would do, for one topic.
#[derive(Debug, Clone, PartialEq)]
pub enum TopicAction {
    /// The topic is missing and will be created.
    Create(TopicSpec),
    /// The topic matches its declaration.
    UpToDate(String),
    /// The topic exists but differs; listed, not changed.
    Drift {
        /// The topic.
        name: String,
        /// One line per difference: `partitions: declared 12, live 6`.
        differences: Vec<String>,
    },
}

impl fmt::Display for TopicAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicAction::Create(spec) => write!(
                f,
                "create   {} (partitions {}, replication {})",
                spec.name, spec.partitions, spec.replication_factor
            ),
            TopicAction::UpToDate(name) => write!(f, "ok       {name}"),
            TopicAction::Drift { name, differences } => {
                write!(f, "drift    {name}: {}", differences.join("; "))
            }
        }
    }
}

/// The actions for a whole catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// One action per declared topic, in catalogue order.
    pub actions: Vec<TopicAction>,
}

impl Plan {
    /// Whether any live topic differs from its declaration.
    pub fn has_drift(&self) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a, TopicAction::Drift { .. }))
    }

    /// Whether applying would create anything.
    pub fn creates(&self) -> usize {
        self.actions
            .iter()
            .filter(|a| matches!(a, TopicAction::Create(_)))
            .count()
    }
}

const TIMEOUT: Duration = Duration::from_secs(30);

/// Compares the catalogue with the live cluster.
pub async fn plan(
    admin: &AdminClient<DefaultClientContext>,
    catalogue: &Catalogue,
) -> Result<Plan, AdminError> {
    let metadata = admin
        .inner()
        .fetch_metadata(None, TIMEOUT)
        .map_err(AdminError::Metadata)?;
    let mut actions = Vec::new();
    for spec in catalogue.iter() {
        let Some(live) = metadata.topics().iter().find(|t| t.name() == spec.name) else {
            actions.push(TopicAction::Create(spec.clone()));
            continue;
        };
        let mut differences = Vec::new();
        let partitions = live.partitions().len() as i32;
        if partitions != spec.partitions {
            differences.push(format!(
                "partitions: declared {}, live {partitions}",
                spec.partitions
            ));
        }
        if let Some(replicas) = live.partitions().first().map(|p| p.replicas().len() as i32) {
            if replicas != spec.replication_factor {
                differences.push(format!(
                    "replication_factor: declared {}, live {replicas}",
                    spec.replication_factor
                ));
            }
        }
        differences.extend(config_drift(admin, spec).await?);
        actions.push(if differences.is_empty() {
            TopicAction::UpToDate(spec.name.clone())
        } else {
            TopicAction::Drift {
                name: spec.name.clone(),
                differences,
            }
        });
    }
    Ok(Plan { actions })
}

async fn config_drift(
    admin: &AdminClient<DefaultClientContext>,
    spec: &TopicSpec,
) -> Result<Vec<String>, AdminError> {
    let describe_err = |reason: String| AdminError::Describe {
        topic: spec.name.clone(),
        reason,
    };
    let resource = ResourceSpecifier::Topic(&spec.name);
    let results = admin
        .describe_configs(
            [&resource],
            &AdminOptions::new().request_timeout(Some(TIMEOUT)),
        )
        .await
        .map_err(|e| describe_err(e.to_string()))?;
    let live = results
        .into_iter()
        .next()
        .ok_or_else(|| describe_err("no result".into()))?
        .map_err(|code| describe_err(code.to_string()))?;
    let mut differences = Vec::new();
    for (key, declared) in &spec.config {
        let value = live
            .get(key)
            .and_then(|e| e.value.clone())
            .unwrap_or_default();
        if &value != declared {
            differences.push(format!("{key}: declared {declared}, live {value}"));
        }
    }
    Ok(differences)
}

/// Creates the topics the plan says are missing.
pub async fn apply(
    admin: &AdminClient<DefaultClientContext>,
    plan: &Plan,
) -> Result<(), AdminError> {
    let specs: Vec<&TopicSpec> = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            TopicAction::Create(spec) => Some(spec),
            _ => None,
        })
        .collect();
    if specs.is_empty() {
        return Ok(());
    }
    let new_topics: Vec<NewTopic<'_>> = specs
        .iter()
        .map(|spec| {
            spec.config.iter().fold(
                NewTopic::new(
                    &spec.name,
                    spec.partitions,
                    TopicReplication::Fixed(spec.replication_factor),
                ),
                |topic, (k, v)| topic.set(k, v),
            )
        })
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    let results =
        admin
            .create_topics(&new_topics, &opts)
            .await
            .map_err(|e| AdminError::Create {
                topic: "*".into(),
                reason: e.to_string(),
            })?;
    for result in results {
        if let Err((topic, code)) = result {
            // Another member may have created it between plan and apply.
            if code != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists {
                return Err(AdminError::Create {
                    topic,
                    reason: code.to_string(),
                });
            }
        }
    }
    wait_until_visible(admin, &specs).await
}

/// Waits until every created topic shows in metadata with all its partitions led, so that
/// what runs next (a second `apply`, a producer) finds them; a broker answers a create before
/// its metadata has caught up.
async fn wait_until_visible(
    admin: &AdminClient<DefaultClientContext>,
    specs: &[&TopicSpec],
) -> Result<(), AdminError> {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let metadata = admin
            .inner()
            .fetch_metadata(None, TIMEOUT)
            .map_err(AdminError::Metadata)?;
        let visible = |spec: &&TopicSpec| {
            metadata.topics().iter().any(|t| {
                t.name() == spec.name
                    && t.partitions().len() == spec.partitions as usize
                    && t.partitions().iter().all(|p| p.leader() >= 0)
            })
        };
        match specs.iter().find(|spec| !visible(spec)) {
            None => return Ok(()),
            Some(spec) if tokio::time::Instant::now() >= deadline => {
                return Err(AdminError::Create {
                    topic: spec.name.clone(),
                    reason: "created, but not visible in metadata in time".into(),
                })
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// An admin client for `bootstrap`, with the operator's client settings.
pub fn admin_client(
    kafka: &crate::config::KafkaConfig,
) -> Result<AdminClient<DefaultClientContext>, KafkaError> {
    super::base_client_config(kafka).create()
}
