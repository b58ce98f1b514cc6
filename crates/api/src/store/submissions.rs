//! Submissions and the recording of grader events. Every recording statement only moves a
//! submission forward (queued → grading → graded/error), so a redelivered event changes
//! nothing: recording is idempotent.

use chrono::{DateTime, Utc};
use contracts::{ShownText, TestOutcome};
use db::models::{NewSubmission, Submission};
use db::schema::{submissions, users};
use diesel::prelude::*;
use diesel::result::Error;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// How many past submissions a list shows.
const HISTORY_LIMIT: i64 = 50;

/// Inserts `submission` unless its user already has `cap` submissions queued or grading;
/// then `Err` with how many. The user's row is locked for the count and the insert, so one
/// user's concurrent submissions take turns and the cap holds exactly.
pub async fn insert_within_cap(
    conn: &mut AsyncPgConnection,
    submission: NewSubmission<'_>,
    cap: u64,
) -> Result<Result<Submission, u64>, Error> {
    conn.transaction::<_, Error, _>(async |conn| {
        users::table
            .find(submission.user_id)
            .select(users::id)
            .for_update()
            .first::<i64>(conn)
            .await?;
        let unfinished: i64 = submissions::table
            .filter(submissions::user_id.eq(submission.user_id))
            .filter(submissions::status.eq_any(["queued", "grading"]))
            .count()
            .get_result(conn)
            .await?;
        let unfinished = u64::try_from(unfinished).unwrap_or(0);
        if unfinished >= cap {
            return Ok(Err(unfinished));
        }
        diesel::insert_into(submissions::table)
            .values(&submission)
            .returning(Submission::as_returning())
            .get_result(conn)
            .await
            .map(Ok)
    })
    .await
}

pub async fn by_id(conn: &mut AsyncPgConnection, id: i64) -> Result<Option<Submission>, Error> {
    submissions::table
        .find(id)
        .select(Submission::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> Result<(), Error> {
    diesel::delete(submissions::table.find(id))
        .execute(conn)
        .await?;
    Ok(())
}

/// The user's latest submissions to one assignment, newest first.
pub async fn of_user(
    conn: &mut AsyncPgConnection,
    user: i64,
    assignment: i64,
) -> Result<Vec<Submission>, Error> {
    submissions::table
        .filter(submissions::user_id.eq(user))
        .filter(submissions::assignment_id.eq(assignment))
        .order(submissions::id.desc())
        .limit(HISTORY_LIMIT)
        .select(Submission::as_select())
        .load(conn)
        .await
}

/// Of `assignments`, the ones the user has tried and the ones they solved.
pub async fn progress(
    conn: &mut AsyncPgConnection,
    user: i64,
    assignments: &[i64],
) -> Result<(Vec<i64>, Vec<i64>), Error> {
    let mine = || {
        submissions::table
            .filter(submissions::user_id.eq(user))
            .filter(submissions::assignment_id.eq_any(assignments.to_vec()))
            .select(submissions::assignment_id)
            .distinct()
    };
    let attempted = mine().load(conn).await?;
    let solved = mine()
        .filter(submissions::verdict.eq("accepted"))
        .load(conn)
        .await?;
    Ok((attempted, solved))
}

/// Marks a queued submission as being graded; false if it was not queued (or is gone).
pub async fn record_grading(
    conn: &mut AsyncPgConnection,
    id: i64,
    started_at: DateTime<Utc>,
) -> Result<bool, Error> {
    let updated = diesel::update(
        submissions::table
            .find(id)
            .filter(submissions::status.eq("queued")),
    )
    .set((
        submissions::status.eq("grading"),
        submissions::started_at.eq(started_at),
    ))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// The outcome of a finished submission. Its texts are shown text (see
/// [`contracts::text`]): whatever a program printed, Postgres can store them.
pub struct Finished<'a> {
    pub status: &'static str,
    pub verdict: Option<&'a str>,
    pub tests: &'a [TestOutcome],
    pub feedback: &'a ShownText,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: DateTime<Utc>,
}

/// Records the outcome unless one is recorded already; false if nothing changed.
pub async fn record_finished(
    conn: &mut AsyncPgConnection,
    id: i64,
    outcome: Finished<'_>,
) -> Result<bool, Error> {
    let test_results =
        serde_json::to_value(outcome.tests).map_err(|e| Error::SerializationError(Box::new(e)))?;
    let updated = diesel::update(
        submissions::table
            .find(id)
            .filter(submissions::status.eq_any(["queued", "grading"])),
    )
    .set((
        submissions::status.eq(outcome.status),
        submissions::verdict.eq(outcome.verdict),
        submissions::test_results.eq(test_results),
        submissions::feedback.eq(outcome.feedback.as_str()),
        submissions::started_at.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >("COALESCE(started_at, ")
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>, _>(outcome.started_at)
        .sql(")")),
        submissions::finished_at.eq(outcome.finished_at),
    ))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}
