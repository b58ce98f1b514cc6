//! Records what the graders report: the handler of the `results` stream's consumer (group
//! `api`, so each event is recorded by one api replica). The generic [`contracts::consumer`]
//! reads, takes over events left pending by a replica that died, and acknowledges an event
//! once it is in the database. Recording is idempotent and indifferent to order (a `grading`
//! after the verdict changes nothing), so an event delivered twice leaves one verdict and a
//! few events are recorded at once.
//!
//! An event Postgres refuses is retried and, after `result_max_deliveries` deliveries, moved to
//! `results:dead`; while the database cannot be reached at all, events wait without using up
//! their deliveries. The consumer trims what the api has recorded, keeping the last
//! `results_history_ms` (at most `results_history_entries` events) for relays to resume from.

use crate::dispatch;
use crate::domain::trial::{TrialOutcome, TRIAL_ASSIGNMENT};
use crate::error::ApiError;
use crate::settings::Settings;
use crate::state::AppState;
use crate::store;
use crate::store::submissions::Finished;
use contracts::consumer::{Consumer, DeadEnd, Handler, Options, Outcome, Received, Retention};
use contracts::keys::API_GROUP;
use contracts::progress::ProgressChanged;
use contracts::{Delivery, ResultEvent, ResultKind, MESSAGE_VERSION};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Events recorded at once.
const SLOTS: usize = 4;
/// How long one read of the stream waits for events.
const READ_BLOCK: Duration = Duration::from_secs(2);

/// How the results consumer named `consumer` reads, per `settings`.
pub fn options(settings: &Settings, consumer: String) -> Options {
    Options {
        concurrency: SLOTS,
        max_deliveries: settings.result_max_deliveries,
        claim_idle: Duration::from_millis(settings.result_claim_idle_ms),
        read_block: READ_BLOCK,
        // Relays resume sockets from this history; the api's group needs none of it.
        retention: Retention {
            max_age: Duration::from_millis(settings.results_history_ms),
            max_entries: settings.results_history_entries,
        },
        ..Options::new(API_GROUP, consumer)
    }
}

/// Records result events until `shutdown` is cancelled, then finishes the ones in flight.
pub async fn consume(state: AppState, options: Options, shutdown: CancellationToken) {
    let consumer = Consumer::new(state.streams.clone(), state.keys.results(), options);
    let tally = consumer.run(Arc::new(Recorder::new(state)), shutdown).await;
    tracing::info!(?tally, "stopped recording results");
}

/// The handler that stores one result event.
pub struct Recorder {
    state: AppState,
}

impl Recorder {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl Handler<ResultEvent> for Recorder {
    type Failure = ApiError;

    async fn handle(&self, received: Received<'_, ResultEvent>) -> Outcome<ApiError> {
        let event = received.message;
        if event.v != MESSAGE_VERSION {
            let problem = format!("result event version {} is not supported", event.v);
            return Outcome::GiveUp(ApiError::Internal(problem));
        }
        match record(&self.state, event).await {
            Ok(()) => Outcome::Done,
            Err(error) if is_unavailable(&error) => Outcome::Unavailable(error),
            Err(error) => Outcome::Retry(error),
        }
    }

    async fn on_dead_letter(
        &self,
        delivery: &Delivery<ResultEvent>,
        cause: &DeadEnd<'_, ApiError>,
    ) -> Result<(), ApiError> {
        let submission_id = delivery.message.as_ref().ok().map(|e| e.submission_id.0);
        tracing::error!(entry = %delivery.id, ?submission_id, reason = %cause,
            "result event not recorded; it is kept on the dead-letter stream");
        self.state
            .metrics
            .results_recorded
            .with_label_values(&["dead_letter"])
            .inc();
        Ok(())
    }
}

/// Whether `error` means the database cannot be reached at all, rather than that it refused
/// this event.
fn is_unavailable(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::Unavailable { .. }
            | ApiError::Database(DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection,
                _
            ))
    )
}

/// Stores one event and forgets the cached reads it changes.
async fn record(state: &AppState, event: &ResultEvent) -> Result<(), ApiError> {
    if event.assignment_id == TRIAL_ASSIGNMENT {
        let changed = record_trial(state, event).await?;
        count(state, event, changed);
        return Ok(());
    }
    let id = event.submission_id.0;
    let mut conn = state.conn().await?;
    let (label, changed) = match &event.kind {
        ResultKind::Grading { started_at } => (
            "grading",
            store::submissions::record_grading(&mut conn, id, *started_at).await?,
        ),
        ResultKind::Graded {
            verdict,
            tests,
            feedback,
            started_at,
            finished_at,
        } => {
            let outcome = Finished {
                status: "graded",
                verdict: Some(verdict.as_str()),
                tests,
                feedback,
                started_at: Some(*started_at),
                finished_at: *finished_at,
            };
            (
                "graded",
                store::submissions::record_finished(&mut conn, id, outcome).await?,
            )
        }
        ResultKind::Error {
            reason,
            finished_at,
        } => {
            let outcome = Finished {
                status: "error",
                verdict: None,
                tests: &[],
                feedback: reason,
                started_at: None,
                finished_at: *finished_at,
            };
            (
                "error",
                store::submissions::record_finished(&mut conn, id, outcome).await?,
            )
        }
    };
    drop(conn);
    if !matches!(event.kind, ResultKind::Grading { .. }) {
        // The user has one job fewer on the stream: their next one can go.
        dispatch::user_soon(state, event.user_id).await;
    }
    if changed {
        tracing::info!(
            submission_id = id,
            user_id = event.user_id.0,
            status = label,
            "result recorded"
        );
        let cached = state
            .cache
            .assignment(&state.keys, &state.db, event.assignment_id)
            .await;
        if let Ok(assignment) = cached {
            state
                .cache
                .forget_submissions(&state.keys, event.user_id, &assignment)
                .await;
            let progress = ProgressChanged {
                course_id: assignment.course_id,
                user_id: event.user_id,
            };
            // Best effort: a roster that misses it reads everything again on reconnecting.
            if let Err(error) = progress.publish(state.streams.pool(), &state.keys).await {
                tracing::warn!(%error, "cannot announce the progress change");
            }
        }
    }
    count(state, event, changed);
    Ok(())
}

/// Counts one recorded event (or a duplicate, when it `changed` nothing). Counted once every
/// read shows it, so a count that moved means the event is visible.
fn count(state: &AppState, event: &ResultEvent, changed: bool) {
    let outcome = match (&event.kind, changed) {
        (_, false) => "duplicate",
        (ResultKind::Grading { .. }, true) => "grading",
        (ResultKind::Graded { .. }, true) => "graded",
        (ResultKind::Error { .. }, true) => "error",
    };
    state
        .metrics
        .results_recorded
        .with_label_values(&[outcome])
        .inc();
}

/// Stores one event of a trial; whether it changed anything. A trial's author polls it, so
/// there is nothing to dispatch next and no cached read to forget.
async fn record_trial(state: &AppState, event: &ResultEvent) -> Result<bool, ApiError> {
    let id = event.submission_id.0;
    let mut conn = state.conn().await?;
    let (status, outcome, finished_at) = match &event.kind {
        ResultKind::Grading { .. } => {
            return Ok(store::trials::record_grading(&mut conn, id).await?);
        }
        ResultKind::Graded {
            verdict,
            tests,
            feedback,
            finished_at,
            ..
        } => (
            "graded",
            TrialOutcome {
                verdict: Some(*verdict),
                tests: tests.clone(),
                feedback: feedback.as_str().to_owned(),
            },
            finished_at,
        ),
        ResultKind::Error {
            reason,
            finished_at,
        } => (
            "error",
            TrialOutcome {
                feedback: reason.as_str().to_owned(),
                ..TrialOutcome::default()
            },
            finished_at,
        ),
    };
    Ok(store::trials::record_finished(&mut conn, id, status, &outcome, *finished_at).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(kind: DatabaseErrorKind, message: &str) -> ApiError {
        ApiError::Database(DieselError::DatabaseError(
            kind,
            Box::new(message.to_owned()),
        ))
    }

    #[test]
    fn a_refused_event_uses_up_a_delivery_and_a_lost_database_does_not() {
        // What Postgres says to a feedback with a NUL byte in it: retrying cannot help.
        let nul = refused(
            DatabaseErrorKind::Unknown,
            "invalid byte sequence for encoding \"UTF8\": 0x00",
        );
        assert!(!is_unavailable(&nul));
        assert!(!is_unavailable(&refused(
            DatabaseErrorKind::CheckViolation,
            "violates check constraint"
        )));

        assert!(is_unavailable(&refused(
            DatabaseErrorKind::ClosedConnection,
            "connection closed"
        )));
        let pool = db::pool("postgres://nobody@127.0.0.1:1/none", 1).unwrap();
        let no_connection = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async { pool.get().await.map(drop) })
            .unwrap_err();
        assert!(is_unavailable(&ApiError::from(no_connection)));
    }
}
