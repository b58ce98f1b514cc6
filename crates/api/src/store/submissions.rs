//! Submissions, their dispatch to the graders and the recording of grader events. Every
//! recording statement only moves a submission forward (queued → grading → graded/error), so
//! a redelivered event changes nothing: recording is idempotent.
//!
//! Postgres is the grading backlog: a new submission waits with `dispatched_at` NULL until the
//! dispatcher (`crate::dispatch`) puts its job on the stream and records the entry id.

use chrono::{DateTime, Utc};
use contracts::{ShownText, TestOutcome};
use db::models::{NewSubmission, Submission};
use db::schema::{submissions, users};
use diesel::prelude::*;
use diesel::result::Error;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// How many past submissions a list shows.
const HISTORY_LIMIT: i64 = 50;

/// The statuses of a submission that waits for its verdict.
const UNFINISHED: [&str; 2] = ["queued", "grading"];

/// Inserts `submission`, waiting to be dispatched, unless its user already has `cap`
/// submissions queued or grading; then `Err` with how many. The user's row is locked for the
/// count and the insert, so one user's concurrent submissions take turns and the cap holds
/// exactly.
pub async fn insert_within_cap(
    conn: &mut AsyncPgConnection,
    submission: NewSubmission<'_>,
    cap: u64,
) -> Result<Result<Submission, u64>, Error> {
    conn.transaction::<_, Error, _>(async |conn| {
        lock_user(conn, submission.user_id).await?;
        let unfinished: i64 = submissions::table
            .filter(submissions::user_id.eq(submission.user_id))
            .filter(submissions::status.eq_any(UNFINISHED))
            .count()
            .get_result(conn)
            .await?;
        let unfinished = u64::try_from(unfinished).unwrap_or(0);
        if unfinished >= cap {
            return Ok(Err(unfinished));
        }
        // NULL, not the column's default (which marks an older api's rows as dispatched).
        let waiting = submissions::dispatched_at.eq(None::<DateTime<Utc>>);
        diesel::insert_into(submissions::table)
            .values((&submission, waiting))
            .returning(Submission::as_returning())
            .get_result(conn)
            .await
            .map(Ok)
    })
    .await
}

/// Locks `user`'s row until the transaction ends: the user's submissions are counted and
/// dispatched by one api replica at a time.
pub async fn lock_user(conn: &mut AsyncPgConnection, user: i64) -> Result<(), Error> {
    users::table
        .find(user)
        .select(users::id)
        .for_update()
        .first::<i64>(conn)
        .await
        .map(drop)
}

/// Submissions queued or grading, of everybody: the grading backlog.
pub async fn unfinished(conn: &mut AsyncPgConnection) -> Result<u64, Error> {
    let count: i64 = submissions::table
        .filter(submissions::status.eq_any(UNFINISHED))
        .count()
        .get_result(conn)
        .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Up to `per_user` less those already on the stream of `user`'s oldest submissions that wait
/// to be dispatched. Call it with the user locked ([`lock_user`]).
pub async fn next_to_dispatch(
    conn: &mut AsyncPgConnection,
    user: i64,
    per_user: u64,
) -> Result<Vec<Submission>, Error> {
    let mine = || {
        submissions::table
            .filter(submissions::user_id.eq(user))
            .filter(submissions::status.eq_any(UNFINISHED))
    };
    let dispatched: i64 = mine()
        .filter(submissions::dispatched_at.is_not_null())
        .count()
        .get_result(conn)
        .await?;
    let room = i64::try_from(per_user).unwrap_or(i64::MAX) - dispatched;
    if room <= 0 {
        return Ok(Vec::new());
    }
    mine()
        .filter(submissions::dispatched_at.is_null())
        .order(submissions::id)
        .limit(room)
        .select(Submission::as_select())
        .load(conn)
        .await
}

/// Records that `id`'s job is on the stream as `entry`.
pub async fn mark_dispatched(
    conn: &mut AsyncPgConnection,
    id: i64,
    entry: &str,
) -> Result<(), Error> {
    diesel::update(submissions::table.find(id))
        .set((
            submissions::dispatched_at.eq(diesel::dsl::now),
            submissions::stream_entry.eq(entry),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// A submission whose job is on the stream (or was, if Redis lost it).
#[derive(Debug, Queryable)]
pub struct Dispatched {
    pub id: i64,
    pub status: String,
    pub stream_entry: Option<String>,
    pub dispatched_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
}

/// Every unfinished submission whose job was dispatched.
pub async fn dispatched(conn: &mut AsyncPgConnection) -> Result<Vec<Dispatched>, Error> {
    submissions::table
        .filter(submissions::status.eq_any(UNFINISHED))
        .filter(submissions::dispatched_at.is_not_null())
        .order(submissions::id)
        .select((
            submissions::id,
            submissions::status,
            submissions::stream_entry,
            submissions::dispatched_at,
            submissions::started_at,
        ))
        .load(conn)
        .await
}

/// Puts `id` back to wait for dispatch, unless it finished or was dispatched again since it
/// was seen with `entry`; false then.
pub async fn undispatch(
    conn: &mut AsyncPgConnection,
    id: i64,
    entry: Option<&str>,
) -> Result<bool, Error> {
    let updated = diesel::update(
        submissions::table
            .find(id)
            .filter(submissions::status.eq_any(UNFINISHED))
            .filter(submissions::stream_entry.is_not_distinct_from(entry)),
    )
    .set((
        submissions::dispatched_at.eq(None::<DateTime<Utc>>),
        submissions::stream_entry.eq(None::<String>),
    ))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// Users with submissions waiting to be dispatched.
pub async fn users_waiting(conn: &mut AsyncPgConnection) -> Result<Vec<i64>, Error> {
    submissions::table
        .filter(submissions::status.eq_any(UNFINISHED))
        .filter(submissions::dispatched_at.is_null())
        .select(submissions::user_id)
        .distinct()
        .load(conn)
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
            .filter(submissions::status.eq_any(UNFINISHED)),
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
