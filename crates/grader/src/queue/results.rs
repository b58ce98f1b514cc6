//! The events a grader publishes about a job on the `results` stream: `grading`, then the
//! verdict or the error.

use crate::error::GraderError;
use chrono::{DateTime, Utc};
use contracts::{
    AssignmentId, Keys, ResultEvent, ResultKind, Streams, SubmissionId, SubmissionJob, TypedStream,
    UserId, MESSAGE_VERSION,
};
use serde::Deserialize;

/// The fields of a job that every result event repeats. They can be read even from a
/// payload that is not a valid job, so its submission can still be told what happened.
#[derive(Debug, Deserialize)]
pub struct JobIds {
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

/// Publishes events on the results stream.
pub struct Reporter {
    streams: Streams,
    results: TypedStream<ResultEvent>,
}

impl Reporter {
    pub fn new(streams: Streams, keys: &Keys) -> Self {
        Self {
            streams,
            results: keys.results(),
        }
    }

    /// Publishes one event about the job `ids`.
    pub async fn publish(&self, ids: &JobIds, kind: ResultKind) -> Result<(), GraderError> {
        let event = ResultEvent {
            v: MESSAGE_VERSION,
            submission_id: ids.submission_id,
            user_id: ids.user_id,
            assignment_id: ids.assignment_id,
            enqueued_at: ids.enqueued_at,
            kind,
        };
        self.streams.publish(&self.results, &event).await?;
        Ok(())
    }
}
