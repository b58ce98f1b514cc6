//! Grading one job: the handler the submissions consumer calls for each delivered job.
//!
//! A job from an unknown message version or for a runtime this grader lacks is given up at
//! once; a cancelled submission, or a second entry of one submission
//! ([`claim`](contracts::claim)), is done without running; otherwise `grading` is published,
//! the job runs in the sandbox, and the verdict is published. The consumer acknowledges it
//! afterwards, and keeps it claimed meanwhile. When the grader's own infrastructure fails the
//! job is left for a retry (Docker refusing: the attempt counts) or given back (Redis or the
//! Docker daemon down, the sandbox image missing: it does not, and for the last two the
//! grader stops taking jobs until they are back, see [`Availability`]).

use super::dead_letter;
use super::results::{JobIds, Reporter};
use crate::error::GraderError;
use crate::metrics::Metrics;
use crate::sandbox::availability::Availability;
use crate::sandbox::Sandbox;
use crate::verdict;
use chrono::{DateTime, Utc};
use contracts::claim::{self, Claim};
use contracts::consumer::{DeadEnd, Handler, Outcome, Received};
use contracts::{
    cancellation, Delivery, Keys, ResultKind, RuntimeCatalog, StreamError, Streams, SubmissionJob,
    MESSAGE_VERSION,
};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How long a slot stays blocked after an infrastructure failure before the job is left for a
/// retry, so a grader whose Docker is broken does not race through the queue, leaving jobs to
/// healthy graders.
const FAILURE_BACKOFF: Duration = Duration::from_secs(2);

/// Grades jobs; shared by every slot of a grader.
pub struct Grader {
    streams: Streams,
    keys: Keys,
    reporter: Reporter,
    catalog: RuntimeCatalog,
    sandbox: Sandbox,
    availability: Availability,
    metrics: Metrics,
    /// Cuts [`FAILURE_BACKOFF`] short on shutdown.
    shutdown: CancellationToken,
}

/// What a [`Grader`] grades with.
pub struct Tools {
    pub streams: Streams,
    pub keys: Keys,
    pub catalog: RuntimeCatalog,
    pub sandbox: Sandbox,
    pub availability: Availability,
    pub metrics: Metrics,
}

impl Grader {
    pub fn new(tools: Tools, shutdown: CancellationToken) -> Self {
        Self {
            reporter: Reporter::new(tools.streams.clone(), &tools.keys),
            streams: tools.streams,
            keys: tools.keys,
            catalog: tools.catalog,
            sandbox: tools.sandbox,
            availability: tools.availability,
            metrics: tools.metrics,
            shutdown,
        }
    }

    /// Grades `job`, the stream's `entry`, or skips it when its submission was deleted or
    /// another entry of it was taken first.
    async fn grade(&self, job: &SubmissionJob, entry: &str) -> Result<(), GraderError> {
        if job.v != MESSAGE_VERSION {
            return Err(GraderError::UnsupportedVersion(job.v));
        }
        if cancellation::is_marked(self.streams.pool(), &self.keys, job.submission_id).await? {
            tracing::info!("submission was deleted; acknowledged without grading");
            self.metrics.cancelled.inc();
            return Ok(());
        }
        if let Claim::Duplicate { first } =
            claim::claim(self.streams.pool(), &self.keys, job, entry).await?
        {
            tracing::warn!(
                first,
                "another entry of this submission was taken first; acknowledged without grading"
            );
            self.metrics.duplicates.inc();
            return Ok(());
        }
        let Some(runtime) = self.catalog.get(&job.runtime) else {
            return Err(GraderError::UnknownRuntime(job.runtime.clone()));
        };

        let ids = JobIds::from(job);
        let started_at = Utc::now();
        self.observe_queue_wait(job.enqueued_at, started_at);
        let grading = ResultKind::Grading { started_at };
        self.reporter.publish(&ids, grading).await?;
        let clock = Instant::now();
        let outcome = self.sandbox.run(job, runtime).await?;
        if let Some(problem) = &outcome.report_problem {
            tracing::info!(%problem, exit_code = ?outcome.exit_code, stderr = %outcome.stderr_tail,
                "no valid report from the runner");
        }
        let judgement = verdict::judge(outcome.evidence, &job.tests, &job.limits);
        let kind = ResultKind::Graded {
            verdict: judgement.verdict,
            tests: judgement.tests,
            feedback: judgement.feedback,
            started_at,
            finished_at: Utc::now(),
        };
        self.reporter.publish(&ids, kind).await?;
        // After the verdict is out, so removal is not on the student's wait; within the slot,
        // so a grader never has more than `concurrency` containers.
        outcome.container.remove().await;
        self.metrics.verdict(judgement.verdict);
        self.metrics
            .grading_seconds
            .observe(clock.elapsed().as_secs_f64());
        tracing::info!(
            verdict = judgement.verdict.as_str(),
            start_ms = outcome.start_time.as_millis() as u64,
            run_ms = outcome.total_time.as_millis() as u64,
            "graded"
        );
        Ok(())
    }

    /// What the consumer is to do with a job that failed with `error`.
    async fn failed(
        &self,
        error: GraderError,
        received: &Received<'_, SubmissionJob>,
    ) -> Outcome<GraderError> {
        if !error.is_retryable() {
            return Outcome::GiveUp(error);
        }
        self.metrics.failure(error.kind());
        if error.stops_sandboxes() {
            self.availability.lost(&error);
        }
        if error.is_unavailable() {
            tracing::error!(%error, "the grader cannot work; the job is given back");
            return Outcome::Unavailable(error);
        }
        if received.is_last_attempt() {
            tracing::error!(%error, attempts = received.attempt, "giving up on the job");
        } else {
            tracing::error!(%error, "job not finished; it stays pending for a retry");
            tokio::select! {
                () = self.shutdown.cancelled() => {}
                () = tokio::time::sleep(FAILURE_BACKOFF) => {}
            }
        }
        Outcome::Retry(error)
    }

    fn observe_queue_wait(&self, enqueued_at: DateTime<Utc>, started_at: DateTime<Utc>) {
        if let Ok(wait) = (started_at - enqueued_at).to_std() {
            self.metrics.queue_wait_seconds.observe(wait.as_secs_f64());
        }
    }
}

impl Handler<SubmissionJob> for Grader {
    type Failure = GraderError;

    async fn handle(&self, received: Received<'_, SubmissionJob>) -> Outcome<GraderError> {
        let job = received.message;
        let span = tracing::info_span!("job", entry = %received.id,
            submission_id = %job.submission_id, user_id = %job.user_id,
            attempt = received.attempt);
        async {
            self.metrics.jobs_in_flight.inc();
            let graded = self.grade(job, received.id).await;
            self.metrics.jobs_in_flight.dec();
            match graded {
                Ok(()) => Outcome::Done,
                Err(error) => self.failed(error, &received).await,
            }
        }
        .instrument(span)
        .await
    }

    /// Tells the student, and counts the dead letter.
    async fn on_dead_letter(
        &self,
        delivery: &Delivery<SubmissionJob>,
        cause: &DeadEnd<'_, GraderError>,
    ) -> Result<(), GraderError> {
        dead_letter::announce(&self.reporter, delivery, cause).await?;
        self.metrics.dead_letters.inc();
        Ok(())
    }

    fn on_stream_error(&self, _: &StreamError) {
        self.metrics.failure("redis");
    }
}
