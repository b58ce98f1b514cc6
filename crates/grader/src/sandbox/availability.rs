//! Whether sandboxes can run now: Docker answers and every image of the runtime catalogue is
//! there. While they cannot, the submissions consumer's [`Gate`] is closed: the grader takes
//! no job (jobs wait in the stream, their attempts unspent), `/readyz` says why under
//! `grading`, and `grader_paused` is 1.
//!
//! A watcher checks every second while the gate is closed, and every few seconds while it is
//! open; a job that meets Docker down or its image missing closes it at once ([`lost`]). The
//! gate starts closed, so nothing is taken before the first check.
//!
//! [`lost`]: Availability::lost

use super::docker::DockerClient;
use crate::error::GraderError;
use crate::metrics::Metrics;
use contracts::Gate;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often a closed gate is checked again.
const RECHECK_CLOSED: Duration = Duration::from_secs(1);
/// How often an open gate is checked, in case no job meets the failure first.
const RECHECK_OPEN: Duration = Duration::from_secs(5);

/// The sandboxes' availability, shared by the watcher, the jobs and the readiness probe.
#[derive(Clone)]
pub struct Availability {
    gate: Gate,
    docker: DockerClient,
    images: Vec<String>,
    metrics: Metrics,
}

impl Availability {
    /// Closed until the first check, for `images` on `docker`.
    pub fn new(docker: DockerClient, images: Vec<String>, metrics: Metrics) -> Self {
        let gate = Gate::open_now();
        gate.close("Docker and the sandbox images have not been checked yet");
        metrics.paused.set(1);
        Self {
            gate,
            docker,
            images,
            metrics,
        }
    }

    /// The gate of the submissions consumer.
    pub fn gate(&self) -> Gate {
        self.gate.clone()
    }

    /// Why no job is taken now; `None` while jobs are taken.
    pub fn paused_because(&self) -> Option<String> {
        self.gate.closed_because()
    }

    /// A job found Docker unreachable or its image missing: take no more until a check passes.
    pub fn lost(&self, error: &GraderError) {
        self.update(Err(error));
    }

    /// Checks until `shutdown`, opening and closing the gate.
    pub async fn watch(self, shutdown: CancellationToken) {
        loop {
            let checked = self.check().await;
            self.update(checked.as_ref().map(|_| ()));
            let pause = if self.gate.is_open() {
                RECHECK_OPEN
            } else {
                RECHECK_CLOSED
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Docker answers and every image is there; else the first problem.
    async fn check(&self) -> Result<(), GraderError> {
        self.docker.ping().await?;
        for image in &self.images {
            self.docker.require_image(image).await?;
        }
        Ok(())
    }

    fn update(&self, checked: Result<(), &GraderError>) {
        let was_open = self.gate.is_open();
        match checked {
            Ok(()) => {
                self.gate.open();
                if !was_open {
                    tracing::info!("Docker and the sandbox images are there: taking jobs");
                }
                self.metrics.paused.set(0);
            }
            Err(error) => {
                let changed = self.gate.closed_because() != Some(error.to_string());
                self.gate.close(error.to_string());
                if was_open {
                    self.metrics.pauses.inc();
                }
                if was_open || changed {
                    tracing::error!(%error, "taking no jobs until this is fixed");
                }
                self.metrics.paused.set(1);
            }
        }
    }
}
