//! Telling the student about a job the consumer gave up on (it is on `submissions:dead`
//! already, raw payload and all, for operators): its submission, when the payload names one,
//! gets an `error` result with a reason the student can read. Nothing is dropped silently.

use super::results::{JobIds, Reporter};
use crate::error::GraderError;
use chrono::Utc;
use contracts::consumer::DeadEnd;
use contracts::{Delivery, ResultKind, SubmissionJob};

/// What the student reads when the grader has no more specific reason.
const GENERIC_REASON: &str =
    "Your submission could not be graded. Please submit again, or ask your teacher.";

/// Publishes the `error` result of the dead-lettered `delivery`.
pub async fn announce(
    reporter: &Reporter,
    delivery: &Delivery<SubmissionJob>,
    cause: &DeadEnd<'_, GraderError>,
) -> Result<(), GraderError> {
    let Some(ids) = job_ids(delivery) else {
        tracing::warn!(entry = %delivery.id, "dead-lettered entry names no submission");
        return Ok(());
    };
    let reason = match cause {
        DeadEnd::Failed(error) => error.student_reason(),
        DeadEnd::Undecodable(_) | DeadEnd::TooManyDeliveries { .. } => GENERIC_REASON.into(),
    };
    let kind = ResultKind::Error {
        reason,
        finished_at: Utc::now(),
    };
    reporter.publish(&ids, kind).await
}

fn job_ids(delivery: &Delivery<SubmissionJob>) -> Option<JobIds> {
    match &delivery.message {
        Ok(job) => Some(JobIds::from(job)),
        Err(_) => serde_json::from_str(&delivery.payload).ok(),
    }
}
