//! Giving up on an entry: it is copied, raw payload and all, to the dead-letter stream for
//! operators; its submission (when the payload names one) gets an `error` result with a reason
//! the student can read; then it is acknowledged. Nothing is dropped silently.

use super::job::{self, JobIds};
use super::Context;
use crate::error::GraderError;
use chrono::Utc;
use contracts::keys::GRADERS_GROUP;
use contracts::messages::DeadLetter;
use contracts::{Delivery, ResultKind, SubmissionJob, MESSAGE_VERSION};

/// What the student reads when the grader has no more specific reason.
const GENERIC_REASON: &str =
    "Your submission could not be graded. Please submit again, or ask your teacher.";

/// Dead-letters `delivery` for `reason` (for operators); `error` gives the student's reason.
pub async fn bury(
    ctx: &Context,
    delivery: &Delivery<SubmissionJob>,
    reason: &str,
    error: Option<&GraderError>,
) -> Result<(), GraderError> {
    let attempts = ctx
        .streams
        .delivery_count(&ctx.keys.submissions(), GRADERS_GROUP, &delivery.id)
        .await?;
    let letter = DeadLetter {
        v: MESSAGE_VERSION,
        original_id: delivery.id.clone(),
        payload: delivery.payload.clone(),
        reason: reason.to_owned(),
        attempts,
        dead_at: Utc::now(),
    };
    ctx.streams
        .publish(&ctx.keys.dead_letters(), &letter)
        .await?;
    if let Some(ids) = job_ids(delivery) {
        let reason = error.map_or_else(|| GENERIC_REASON.to_owned(), |e| e.student_reason());
        let kind = ResultKind::Error {
            reason,
            finished_at: Utc::now(),
        };
        job::publish(ctx, &ids, kind).await?;
    }
    job::ack(ctx, &delivery.id).await?;
    ctx.metrics.dead_letters.inc();
    tracing::warn!(reason, attempts, "dead-lettered");
    Ok(())
}

fn job_ids(delivery: &Delivery<SubmissionJob>) -> Option<JobIds> {
    match &delivery.message {
        Ok(job) => Some(JobIds::from(job)),
        Err(_) => serde_json::from_str(&delivery.payload).ok(),
    }
}
