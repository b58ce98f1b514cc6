//! Fair dispatch of jobs to the graders. Postgres is the grading backlog: a new submission
//! waits there, and at most `dispatch_per_user` jobs of one user are on the `submissions`
//! stream at once, so another user's job is never more than a few jobs behind, however many
//! one user has queued. A user's next job is dispatched when one of theirs is created,
//! finished or deleted ([`user`]); a sweep every `dispatch_sweep_ms` ([`run`]) dispatches
//! whatever still waits (after a crash, or while Redis was away) and puts back the jobs Redis
//! lost.
//!
//! A dispatched job is lost when the stream no longer holds its entry (Redis restarted without
//! its data, or was flushed): the submission goes back to waiting and is dispatched again. A
//! queued one only once it was missing at two sweeps in a row, so that a grader that took it
//! just before has time to report `grading`; one being graded only once its grading started
//! `lost_grading_after_ms` ago, since its grader may still finish it. A lost job whose grader
//! did finish is graded twice, and recorded once.
//!
//! When Postgres fails after a job went on the stream but before its dispatch was recorded,
//! the record rolls back and the submission is dispatched again: the stream holds it twice,
//! and graders run only the entry taken first ([`contracts::claim`]).

use crate::error::ApiError;
use crate::state::AppState;
use crate::store;
use crate::store::submissions::Dispatched;
use crate::views::AssignmentView;
use chrono::{DateTime, Utc};
use contracts::{AssignmentId, SubmissionId, SubmissionJob, UserId, MESSAGE_VERSION};
use db::models::Submission;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use std::collections::HashSet;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Puts `user`'s oldest waiting jobs on the stream until `dispatch_per_user` of theirs are
/// there; returns how many. The user's row is locked meanwhile, so api replicas take turns.
pub async fn user(state: &AppState, user: UserId) -> Result<usize, ApiError> {
    let mut conn = state.conn().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        store::submissions::lock_user(conn, user.0).await?;
        let waiting =
            store::submissions::next_to_dispatch(conn, user.0, state.dispatch_per_user).await?;
        let mut dispatched = 0;
        for submission in &waiting {
            let job = job_of(conn, submission).await?;
            match state.streams.publish(&state.keys.submissions(), &job).await {
                Ok(entry) => {
                    store::submissions::mark_dispatched(conn, submission.id, &entry).await?
                }
                Err(error) if dispatched == 0 => return Err(error.into()),
                // The ones on the stream are recorded; the rest wait for the sweep.
                Err(error) => {
                    tracing::warn!(%error, "Redis failed mid-dispatch");
                    break;
                }
            }
            dispatched += 1;
        }
        if dispatched > 0 {
            state.metrics.jobs_dispatched.inc_by(dispatched as u64);
        }
        Ok(dispatched)
    })
    .await
}

/// [`user`], its failure logged: the sweep dispatches what is left.
pub async fn user_soon(state: &AppState, user: UserId) {
    if let Err(error) = self::user(state, user).await {
        tracing::warn!(%error, user_id = user.0, "dispatch failed; the sweep will retry");
    }
}

/// The job of `submission`, with its assignment's tests and limits as they are now.
async fn job_of(
    conn: &mut AsyncPgConnection,
    submission: &Submission,
) -> Result<SubmissionJob, ApiError> {
    let assignment = store::assignments::by_id(conn, submission.assignment_id)
        .await?
        .map(AssignmentView::full)
        .ok_or(ApiError::NotFound("assignment"))?;
    Ok(SubmissionJob {
        v: MESSAGE_VERSION,
        submission_id: SubmissionId(submission.id),
        user_id: UserId(submission.user_id),
        assignment_id: AssignmentId(submission.assignment_id),
        runtime: submission.runtime.clone(),
        code: submission.code.clone(),
        tests: assignment.tests.unwrap_or_default(),
        limits: assignment.limits,
        enqueued_at: submission.created_at,
    })
}

/// Sweeps every `every` until `shutdown`.
pub async fn run(
    state: AppState,
    every: Duration,
    lost_grading_after: Duration,
    shutdown: CancellationToken,
) {
    let mut sweeper = Sweeper {
        state,
        lost_grading_after,
        suspects: HashSet::new(),
    };
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if let Err(error) = sweeper.sweep().await {
            tracing::warn!(%error, "dispatch sweep failed; trying again later");
        }
    }
}

/// The sweep's memory from one round to the next.
struct Sweeper {
    state: AppState,
    lost_grading_after: Duration,
    /// Queued submissions and the entries that were missing at the last sweep.
    suspects: HashSet<(i64, String)>,
}

impl Sweeper {
    async fn sweep(&mut self) -> Result<(), ApiError> {
        self.put_back_lost().await?;
        let waiting = {
            let mut conn = self.state.conn().await?;
            store::submissions::users_waiting(&mut conn).await?
        };
        for user in waiting {
            user_soon(&self.state, UserId(user)).await;
        }
        Ok(())
    }

    /// Puts the jobs Redis lost back to waiting.
    async fn put_back_lost(&mut self) -> Result<(), ApiError> {
        let mut conn = self.state.conn().await?;
        let jobs = store::submissions::dispatched(&mut conn).await?;
        let entries: Vec<String> = jobs
            .iter()
            .map(|job| job.stream_entry.clone().unwrap_or_default())
            .collect();
        let held = self
            .state
            .streams
            .holds(&self.state.keys.submissions(), &entries)
            .await?;
        let mut suspects = HashSet::new();
        for (job, held) in jobs.iter().zip(held) {
            if held || !self.is_lost(job, &mut suspects) {
                continue;
            }
            let entry = job.stream_entry.as_deref();
            if store::submissions::undispatch(&mut conn, job.id, entry).await? {
                tracing::warn!(submission_id = job.id, entry, status = %job.status,
                    "the stream lost this job; it is dispatched again");
                self.state.metrics.jobs_requeued.inc();
            }
        }
        self.suspects = suspects;
        Ok(())
    }

    /// Whether `job`, whose entry the stream does not hold, is lost; notes a queued one
    /// missing for the first time in `suspects`.
    fn is_lost(&self, job: &Dispatched, suspects: &mut HashSet<(i64, String)>) -> bool {
        let long_ago = |at: Option<DateTime<Utc>>| {
            at.and_then(|at| (Utc::now() - at).to_std().ok())
                .is_some_and(|age| age >= self.lost_grading_after)
        };
        match (&job.stream_entry, job.status.as_str()) {
            (Some(entry), "queued") => {
                let key = (job.id, entry.clone());
                let seen_before = self.suspects.contains(&key);
                suspects.insert(key);
                seen_before
            }
            // Being graded, or dispatched by an older api that kept no entry id.
            _ => long_ago(job.started_at.or(job.dispatched_at)),
        }
    }
}
