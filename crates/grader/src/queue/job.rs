//! One entry of the submissions stream, from delivery to acknowledgement.
//!
//! Undecodable entries and jobs that cannot be graded anywhere are dead-lettered at once; a
//! cancelled submission is acknowledged without running; otherwise the job is graded while a
//! keep-alive holds its claim, and acknowledged after the verdict is on `results`. When the
//! grader's own infrastructure fails, the entry stays pending so that it is retried, until
//! its delivery count reaches `max_attempts`.

use super::{dead_letter, Context};
use crate::error::GraderError;
use crate::verdict;
use chrono::{DateTime, Utc};
use contracts::keys::GRADERS_GROUP;
use contracts::{
    AssignmentId, Delivery, ResultEvent, ResultKind, SubmissionId, SubmissionJob, UserId,
    MESSAGE_VERSION,
};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::Instrument;

/// How long a slot stays blocked after an infrastructure failure, so a grader whose Docker is
/// broken does not race through the queue, leaving jobs to healthy graders.
const FAILURE_BACKOFF: Duration = Duration::from_secs(2);

/// Handles one delivery, holding `permit` (its job slot) until done.
pub async fn handle(
    ctx: Arc<Context>,
    delivery: Delivery<SubmissionJob>,
    permit: OwnedSemaphorePermit,
    shutdown: CancellationToken,
) {
    let span = match &delivery.message {
        Ok(job) => tracing::info_span!("job", entry = %delivery.id,
            submission_id = %job.submission_id, user_id = %job.user_id),
        Err(_) => tracing::info_span!("job", entry = %delivery.id),
    };
    async move {
        ctx.metrics.jobs_in_flight.inc();
        let result = process(&ctx, delivery).await;
        ctx.metrics.jobs_in_flight.dec();
        if let Err(e) = result {
            ctx.metrics.failure(e.kind());
            tracing::error!(error = %e, "job not finished; it stays pending for a retry");
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(FAILURE_BACKOFF) => {}
            }
        }
        drop(permit);
    }
    .instrument(span)
    .await
}

/// Grades or dead-letters one delivery. `Err` means: not acknowledged, retry later.
async fn process(ctx: &Context, delivery: Delivery<SubmissionJob>) -> Result<(), GraderError> {
    let job = match delivery.message {
        Ok(ref job) => job,
        Err(ref problem) => {
            tracing::warn!(problem, "undecodable entry");
            let reason = format!("undecodable entry: {problem}");
            return dead_letter::bury(ctx, &delivery, &reason, None).await;
        }
    };
    if job.v != MESSAGE_VERSION {
        let error = GraderError::UnsupportedVersion(job.v);
        return dead_letter::bury(ctx, &delivery, &error.to_string(), Some(&error)).await;
    }
    let submissions = ctx.keys.submissions();
    let attempts = ctx
        .streams
        .delivery_count(&submissions, GRADERS_GROUP, &delivery.id)
        .await?;
    if attempts == 0 {
        tracing::info!("entry is no longer pending (another grader finished it)");
        return Ok(());
    }
    if attempts > ctx.max_attempts {
        let reason = format!("gave up after {} attempts", attempts - 1);
        return dead_letter::bury(ctx, &delivery, &reason, None).await;
    }
    if is_cancelled(ctx, job).await? {
        tracing::info!("submission was deleted; acknowledged without grading");
        ctx.metrics.cancelled.inc();
        return ack(ctx, &delivery.id).await;
    }
    let Some(runtime) = ctx.catalog.get(&job.runtime) else {
        let error = GraderError::UnknownRuntime(job.runtime.clone());
        return dead_letter::bury(ctx, &delivery, &error.to_string(), Some(&error)).await;
    };

    let _claim = keep_claimed(ctx, &delivery.id);
    let ids = JobIds::from(job);
    let started_at = Utc::now();
    observe_queue_wait(ctx, job.enqueued_at, started_at);
    publish(ctx, &ids, ResultKind::Grading { started_at }).await?;
    let clock = Instant::now();
    let outcome = match ctx.sandbox.run(job, runtime).await {
        Ok(outcome) => outcome,
        Err(error) if attempts >= ctx.max_attempts || !error.is_retryable() => {
            ctx.metrics.failure(error.kind());
            tracing::error!(%error, attempts, "giving up on the job");
            let reason = format!("{error} (attempt {attempts})");
            return dead_letter::bury(ctx, &delivery, &reason, Some(&error)).await;
        }
        Err(error) => return Err(error),
    };
    if let Some(problem) = &outcome.report_problem {
        tracing::info!(%problem, exit_code = ?outcome.exit_code, stderr = %outcome.stderr_tail,
            "no valid report from the runner");
    }
    let judgement = verdict::judge(outcome.evidence, &job.limits);
    let kind = ResultKind::Graded {
        verdict: judgement.verdict,
        tests: judgement.tests,
        feedback: judgement.feedback,
        started_at,
        finished_at: Utc::now(),
    };
    publish(ctx, &ids, kind).await?;
    ack(ctx, &delivery.id).await?;
    outcome.container.remove().await;
    ctx.metrics.verdict(judgement.verdict);
    ctx.metrics
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

/// Whether the student deleted the submission while it waited.
async fn is_cancelled(ctx: &Context, job: &SubmissionJob) -> Result<bool, GraderError> {
    let mut conn = ctx
        .streams
        .pool()
        .get()
        .await
        .map_err(contracts::StreamError::from)?;
    let exists: bool = redis::cmd("EXISTS")
        .arg(ctx.keys.cancelled(job.submission_id))
        .query_async(&mut conn)
        .await
        .map_err(contracts::StreamError::from)?;
    Ok(exists)
}

/// Re-claims the entry every few seconds while the job runs, so that the claim idle time can be
/// short without another grader taking over a live job. Stops when the guard is dropped.
fn keep_claimed(ctx: &Context, id: &str) -> DropGuard {
    let token = CancellationToken::new();
    let stop = token.clone();
    let (streams, stream) = (ctx.streams.clone(), ctx.keys.submissions());
    let (consumer, id) = (ctx.consumer.clone(), id.to_owned());
    let mut ticks = tokio::time::interval(ctx.keep_claimed_every());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let renewed = streams.keep_claimed(&stream, GRADERS_GROUP, &consumer, &id);
            if let Err(e) = renewed.await {
                tracing::warn!(entry = %id, error = %e, "could not renew the claim");
            }
        }
    });
    token.drop_guard()
}

/// The fields of a job that every result event repeats. They can be read even from a
/// payload that is not a valid job, so its submission can still be told what happened.
#[derive(Debug, Deserialize)]
pub(super) struct JobIds {
    submission_id: SubmissionId,
    user_id: UserId,
    assignment_id: AssignmentId,
    enqueued_at: DateTime<Utc>,
}

impl From<&SubmissionJob> for JobIds {
    fn from(job: &SubmissionJob) -> Self {
        Self {
            submission_id: job.submission_id,
            user_id: job.user_id,
            assignment_id: job.assignment_id,
            enqueued_at: job.enqueued_at,
        }
    }
}

/// Publishes one event about the job `ids` on the results stream.
pub(super) async fn publish(
    ctx: &Context,
    ids: &JobIds,
    kind: ResultKind,
) -> Result<(), GraderError> {
    let event = ResultEvent {
        v: MESSAGE_VERSION,
        submission_id: ids.submission_id,
        user_id: ids.user_id,
        assignment_id: ids.assignment_id,
        enqueued_at: ids.enqueued_at,
        kind,
    };
    ctx.streams.publish(&ctx.keys.results(), &event).await?;
    Ok(())
}

pub(super) async fn ack(ctx: &Context, id: &str) -> Result<(), GraderError> {
    let submissions = ctx.keys.submissions();
    ctx.streams.ack(&submissions, GRADERS_GROUP, id).await?;
    Ok(())
}

fn observe_queue_wait(ctx: &Context, enqueued_at: DateTime<Utc>, started_at: DateTime<Utc>) {
    if let Ok(wait) = (started_at - enqueued_at).to_std() {
        ctx.metrics.queue_wait_seconds.observe(wait.as_secs_f64());
    }
}
