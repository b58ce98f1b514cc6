//! Runs one submission in one fresh, locked-down container and reports what happened.
//!
//! Lifecycle: create (every limit, see [`container`]) → attach → start → write the job to
//! stdin and close it → read output until the container exits, the output cap is reached or
//! the wall-clock deadline passes (then kill) → inspect (`OOMKilled`) → remove, whatever
//! happened (after the verdict is published, to keep removal off the student's wait). A
//! [`janitor`] in every grader removes containers a killed grader left behind.

pub mod availability;
pub mod container;
pub mod deadline;
pub mod docker;
pub mod io;
pub mod janitor;
pub mod protocol;
mod removal;

use crate::error::GraderError;
use crate::metrics::Metrics;
use bollard::query_parameters::{
    AttachContainerOptions, InspectContainerOptions, KillContainerOptions, WaitContainerOptions,
};
use bollard::Docker;
use contracts::{Runtime, SubmissionJob};
use docker::{within, DockerClient, API_TIMEOUT};
use futures_util::StreamExt;
use protocol::{ReportProblem, RunnerInput, RunnerReport};
pub use removal::Removal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a killed or finished container may take to be reported as stopped.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// The sandbox settings shared by every run.
#[derive(Clone)]
pub struct Sandbox {
    pub docker: DockerClient,
    pub grader: String,
    pub tag: String,
    pub allowance: Duration,
    pub max_deadline: Duration,
    pub output_cap: usize,
    pub metrics: Metrics,
}

/// What a finished container left behind: what the verdict is decided from.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// The runner's report, if it printed a valid one.
    pub report: Option<RunnerReport>,
    /// Docker's `State.OOMKilled`.
    pub oom_killed: bool,
    /// The container was still running at its wall-clock deadline and was killed.
    pub deadline_hit: bool,
    /// The container printed more than the output cap and was stopped.
    pub output_overflow: bool,
    /// The wall-clock budget the container had, for the message.
    pub deadline_ms: u64,
    /// That budget was the cap on any submission's grading time, not what its tests needed.
    pub deadline_capped: bool,
}

/// Everything one run produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// What the verdict is decided from.
    pub evidence: Evidence,
    /// Why there is no report, when there is none.
    pub report_problem: Option<ReportProblem>,
    pub exit_code: Option<i64>,
    pub stderr_tail: String,
    /// Creating and starting the container.
    pub start_time: Duration,
    /// From creating the container to having its result.
    pub total_time: Duration,
    /// The stopped container, to be removed once the verdict is out (removed in the
    /// background if this is dropped).
    pub container: Removal,
}

/// What was observed while the container ran.
struct Observed {
    captured: io::Captured,
    deadline_hit: bool,
    oom_killed: bool,
    exit_code: Option<i64>,
    start_time: Duration,
}

impl Sandbox {
    /// The image reference for `runtime`: its repository and this grader's sandbox tag.
    pub fn image_for(&self, runtime: &Runtime) -> String {
        format!("{}:{}", runtime.image, self.tag)
    }

    /// Runs `job` in a new container of `runtime`'s image. An `Err` is the grader's own
    /// trouble (Docker, the image), never the submission's.
    pub async fn run(
        &self,
        job: &SubmissionJob,
        runtime: &Runtime,
    ) -> Result<RunOutcome, GraderError> {
        let docker = self.docker.get().await?;
        let image = self.image_for(runtime);
        let deadline = deadline::container_deadline(
            job.tests.len(),
            &job.limits,
            self.allowance,
            self.max_deadline,
        );
        let budget = deadline.budget;
        let nonce = protocol::new_nonce();
        let document = serde_json::to_vec(&RunnerInput::new(&nonce, job, runtime))?;
        let began = Instant::now();
        let id = self.create(&docker, &image, job, budget).await?;
        let container = Removal::new(docker.clone(), id.clone());
        // On an error the container is removed (from `Drop`) right away.
        let observed = self.drive(&docker, &id, &document, budget, began).await?;

        let (report, report_problem) =
            match protocol::find_report(&observed.captured.stdout, &nonce, &job.tests) {
                Ok(report) => (Some(report), None),
                Err(problem) => (None, Some(problem)),
            };
        Ok(RunOutcome {
            evidence: Evidence {
                report,
                oom_killed: observed.oom_killed,
                deadline_hit: observed.deadline_hit,
                output_overflow: observed.captured.overflow,
                deadline_ms: u64::try_from(budget.as_millis()).unwrap_or(u64::MAX),
                deadline_capped: deadline.capped,
            },
            report_problem,
            exit_code: observed.exit_code,
            stderr_tail: observed.captured.stderr_text(),
            start_time: observed.start_time,
            total_time: began.elapsed(),
            container,
        })
    }

    async fn create(
        &self,
        docker: &Docker,
        image: &str,
        job: &SubmissionJob,
        budget: Duration,
    ) -> Result<String, GraderError> {
        let grace = i64::try_from(budget.as_secs()).unwrap_or(i64::MAX / 2) + 1;
        let body = container::create_body(&container::ContainerSpec {
            image,
            memory_mb: job.limits.memory_mb,
            grader: &self.grader,
            deadline_unix: chrono::Utc::now().timestamp().saturating_add(grace),
        });
        let action = "create a sandbox container";
        match tokio::time::timeout(API_TIMEOUT, docker.create_container(None, body)).await {
            Ok(Ok(created)) => {
                warn_once(&created.warnings);
                Ok(created.id)
            }
            Ok(Err(e)) if docker::is_not_found(&e) => Err(GraderError::ImageMissing {
                image: image.to_owned(),
            }),
            Ok(Err(e)) => Err(docker::classify(action, e)),
            Err(_) => Err(docker::timed_out(action)),
        }
    }

    /// Attaches, starts, feeds and watches the container until it is stopped.
    async fn drive(
        &self,
        docker: &Docker,
        id: &str,
        document: &[u8],
        budget: Duration,
        began: Instant,
    ) -> Result<Observed, GraderError> {
        let attach = AttachContainerOptions {
            stream: true,
            stdin: true,
            stdout: true,
            stderr: true,
            logs: false,
            detach_keys: None,
        };
        let streams = within(
            "attach to a sandbox container",
            docker.attach_container(id, Some(attach)),
        )
        .await?;
        within(
            "start a sandbox container",
            docker.start_container(id, None),
        )
        .await?;
        let start_time = began.elapsed();
        self.metrics
            .container_start_seconds
            .observe(start_time.as_secs_f64());

        let mut captured = io::Captured::default();
        let exchange = async {
            let send = async {
                if let Err(e) = io::send_input(streams.input, document).await {
                    tracing::debug!(error = %e, "the sandbox did not take all of its input");
                }
            };
            tokio::join!(
                send,
                io::collect(streams.output, self.output_cap, &mut captured)
            );
        };
        // The budget counts from the container's creation, so that creating and starting it
        // is inside the cap too.
        let left = budget.saturating_sub(began.elapsed());
        let deadline_hit = tokio::time::timeout(left, exchange).await.is_err();
        if deadline_hit || captured.overflow {
            let kill = KillContainerOptions {
                signal: "KILL".to_owned(),
            };
            if let Err(e) = within(
                "kill a sandbox container",
                docker.kill_container(id, Some(kill)),
            )
            .await
            {
                tracing::debug!(error = %e, "kill after deadline or output flood");
            }
        }
        let (oom_killed, exit_code) = stopped_state(docker, id).await?;
        Ok(Observed {
            captured,
            deadline_hit,
            oom_killed,
            exit_code,
            start_time,
        })
    }
}

/// Logs the engine's warnings about a sandbox container (such as "swap limit not supported",
/// which means a limit is not enforced) once per process rather than once per job.
fn warn_once(warnings: &[String]) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !warnings.is_empty() && !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(?warnings, "Docker warns about the sandbox containers");
    }
}

/// Waits for the container to stop, then reads whether the OOM killer struck and its exit code.
async fn stopped_state(docker: &Docker, id: &str) -> Result<(bool, Option<i64>), GraderError> {
    let wait = WaitContainerOptions {
        condition: "not-running".to_owned(),
    };
    let mut stopped = docker.wait_container(id, Some(wait));
    // A non-zero exit arrives as an error; either way the container has stopped.
    if tokio::time::timeout(STOP_WAIT, stopped.next())
        .await
        .is_err()
    {
        tracing::warn!(container = id, "sandbox container did not stop in time");
    }
    let inspect = within(
        "inspect a sandbox container",
        docker.inspect_container(id, None::<InspectContainerOptions>),
    )
    .await?;
    let state = inspect.state.unwrap_or_default();
    Ok((state.oom_killed.unwrap_or(false), state.exit_code))
}
