//! Every grader periodically force-removes sandbox containers whose deadline label is well in
//! the past, whichever grader made them. A grader removes its own containers as soon as a run
//! ends, so only containers of a grader that was killed mid-job (SIGKILL, a crash, a lost
//! node) are ever found here.

use super::container::{DEADLINE_LABEL, ROLE_LABEL, ROLE_SANDBOX};
use super::docker::{within, DockerClient};
use super::removal::remove;
use crate::error::GraderError;
use crate::metrics::Metrics;
use bollard::models::ContainerSummary;
use bollard::query_parameters::ListContainersOptions;
use std::collections::HashMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Deadline assumed for a sandbox container without a readable deadline label.
const UNLABELLED_LIFETIME_SECS: i64 = 3600;

/// Sweeps every `interval` until `shutdown`.
pub async fn run(
    docker: DockerClient,
    interval: Duration,
    grace: Duration,
    metrics: Metrics,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match sweep(&docker, grace).await {
            Ok(0) => {}
            Ok(removed) => {
                metrics.containers_reaped.inc_by(removed as u64);
                tracing::info!(removed, "removed abandoned sandbox containers");
            }
            Err(e) => tracing::debug!(error = %e, "janitor could not sweep"),
        }
    }
}

/// Removes every expired sandbox container once; returns how many.
pub async fn sweep(docker: &DockerClient, grace: Duration) -> Result<usize, GraderError> {
    let client = docker.get().await?;
    let filters = HashMap::from([(
        "label".to_owned(),
        vec![format!("{ROLE_LABEL}={ROLE_SANDBOX}")],
    )]);
    let options = ListContainersOptions {
        all: true,
        filters: Some(filters),
        ..ListContainersOptions::default()
    };
    let containers = within(
        "list sandbox containers",
        client.list_containers(Some(options)),
    )
    .await?;
    let now = chrono::Utc::now().timestamp();
    let grace = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX / 2);
    let mut removed = 0;
    for summary in containers {
        let Some(id) = summary.id.as_deref() else {
            continue;
        };
        if deadline_of(&summary).saturating_add(grace) < now {
            tracing::warn!(container = id, "removing an abandoned sandbox container");
            remove(&client, id).await;
            removed += 1;
        }
    }
    Ok(removed)
}

fn deadline_of(summary: &ContainerSummary) -> i64 {
    summary
        .labels
        .as_ref()
        .and_then(|labels| labels.get(DEADLINE_LABEL))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| {
            summary
                .created
                .unwrap_or(0)
                .saturating_add(UNLABELLED_LIFETIME_SECS)
        })
}
