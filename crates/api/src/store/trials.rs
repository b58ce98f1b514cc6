//! Trials: reference solutions graded against tests that no assignment holds yet. Recording
//! only moves a trial forward (queued → grading → graded/error), as with submissions, so a
//! redelivered event changes nothing.

use crate::domain::trial::TrialOutcome;
use chrono::{DateTime, Utc};
use db::models::Trial;
use db::schema::trials;
use diesel::prelude::*;
use diesel::result::Error;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

/// The statuses of a trial that waits for its verdict.
const UNFINISHED: [&str; 2] = ["queued", "grading"];

/// How long a user's finished trials are kept: long enough to read, short enough that the
/// table stays small without a sweeper.
const KEPT_HOURS: i64 = 24;

/// A trial to insert.
pub struct NewTrial<'a> {
    pub course: i64,
    pub user: i64,
    pub tests: &'a Value,
}

/// Inserts `trial` unless its user already has `cap` unfinished trials younger than
/// `lost_after` (older ones were lost with their job, see [`is_lost`]); then `Err` with how
/// many. Forgets the user's trials older than [`KEPT_HOURS`] on the way. The user's row is
/// locked, so the cap holds under concurrent requests.
pub async fn insert_within_cap(
    conn: &mut AsyncPgConnection,
    trial: NewTrial<'_>,
    cap: u64,
    lost_after: chrono::Duration,
) -> Result<Result<Trial, u64>, Error> {
    conn.transaction::<_, Error, _>(async |conn| {
        crate::store::submissions::lock_user(conn, trial.user).await?;
        diesel::delete(
            trials::table
                .filter(trials::user_id.eq(trial.user))
                .filter(trials::created_at.lt(Utc::now() - chrono::Duration::hours(KEPT_HOURS))),
        )
        .execute(conn)
        .await?;
        let unfinished: i64 = trials::table
            .filter(trials::user_id.eq(trial.user))
            .filter(trials::status.eq_any(UNFINISHED))
            .filter(trials::created_at.gt(Utc::now() - lost_after))
            .count()
            .get_result(conn)
            .await?;
        let unfinished = u64::try_from(unfinished).unwrap_or(0);
        if unfinished >= cap {
            return Ok(Err(unfinished));
        }
        diesel::insert_into(trials::table)
            .values((
                trials::course_id.eq(trial.course),
                trials::user_id.eq(trial.user),
                trials::tests.eq(trial.tests),
            ))
            .returning(Trial::as_returning())
            .get_result(conn)
            .await
            .map(Ok)
    })
    .await
}

/// Trials of everybody still waiting for a verdict and not yet given up as lost: they count
/// in the grading backlog.
pub async fn unfinished(
    conn: &mut AsyncPgConnection,
    lost_after: chrono::Duration,
) -> Result<u64, Error> {
    let count: i64 = trials::table
        .filter(trials::status.eq_any(UNFINISHED))
        .filter(trials::created_at.gt(Utc::now() - lost_after))
        .count()
        .get_result(conn)
        .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Whether `trial` still waits long after any grader would have answered: its job was lost
/// (Redis lost the stream entry, or publishing it failed).
pub fn is_lost(trial: &Trial, lost_after: chrono::Duration, now: DateTime<Utc>) -> bool {
    UNFINISHED.contains(&trial.status.as_str()) && now - trial.created_at > lost_after
}

pub async fn by_id(conn: &mut AsyncPgConnection, id: i64) -> Result<Option<Trial>, Error> {
    trials::table
        .find(id)
        .select(Trial::as_select())
        .first(conn)
        .await
        .optional()
}

/// Marks a queued trial as being graded; false if it was not queued (or is gone).
pub async fn record_grading(conn: &mut AsyncPgConnection, id: i64) -> Result<bool, Error> {
    let updated = diesel::update(trials::table.find(id).filter(trials::status.eq("queued")))
        .set(trials::status.eq("grading"))
        .execute(conn)
        .await?;
    Ok(updated == 1)
}

/// Records the trial's `outcome` with `status` (`graded` or `error`) unless one is recorded
/// already; false if nothing changed.
pub async fn record_finished(
    conn: &mut AsyncPgConnection,
    id: i64,
    status: &'static str,
    outcome: &TrialOutcome,
    finished_at: DateTime<Utc>,
) -> Result<bool, Error> {
    let outcome =
        serde_json::to_value(outcome).map_err(|e| Error::SerializationError(Box::new(e)))?;
    let updated = diesel::update(
        trials::table
            .find(id)
            .filter(trials::status.eq_any(UNFINISHED)),
    )
    .set((
        trials::status.eq(status),
        trials::outcome.eq(outcome),
        trials::finished_at.eq(finished_at),
    ))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}
