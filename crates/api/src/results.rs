//! Records what the graders report. Reads the `results` stream in consumer group `api` (each
//! event is recorded by one api replica), takes over events left pending by a replica that
//! died, and acknowledges an event only once it is in the database. Recording is idempotent,
//! so an event delivered twice leaves one verdict.

use crate::error::ApiError;
use crate::routes::{assignments, submissions};
use crate::state::AppState;
use crate::store;
use crate::store::submissions::Finished;
use contracts::keys::API_GROUP;
use contracts::{Delivery, ResultEvent, ResultKind};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const BATCH: usize = 64;
const BLOCK: Duration = Duration::from_secs(2);
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Runs until `shutdown` is cancelled.
pub async fn consume(
    state: AppState,
    consumer: String,
    claim_idle: Duration,
    shutdown: CancellationToken,
) {
    let stream = state.keys.results();
    while !shutdown.is_cancelled() {
        let round = async {
            state.streams.ensure_group(&stream, API_GROUP, "0").await?;
            let mut deliveries = state
                .streams
                .claim_stale(&stream, API_GROUP, &consumer, claim_idle, BATCH)
                .await?;
            deliveries.extend(
                state
                    .streams
                    .read_group(&stream, API_GROUP, &consumer, BATCH, BLOCK)
                    .await?,
            );
            for delivery in deliveries {
                handle(&state, delivery).await?;
            }
            Ok::<_, ApiError>(())
        };
        let outcome = tokio::select! {
            outcome = round => outcome,
            () = shutdown.cancelled() => break,
        };
        if let Err(error) = outcome {
            tracing::error!(%error, "recording results failed; retrying");
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }
}

async fn handle(state: &AppState, delivery: Delivery<ResultEvent>) -> Result<(), ApiError> {
    let stream = state.keys.results();
    match delivery.message {
        Ok(event) => record(state, &event).await?,
        // Nothing can ever record it; keeping it pending would only block the group.
        Err(error) => {
            tracing::error!(id = %delivery.id, %error, "undecodable result event dropped")
        }
    }
    state.streams.ack(&stream, API_GROUP, &delivery.id).await?;
    Ok(())
}

/// Stores one event and forgets the cached reads it changes.
async fn record(state: &AppState, event: &ResultEvent) -> Result<(), ApiError> {
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
                test_results: serde_json::to_value(tests)
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
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
                test_results: serde_json::Value::Array(Vec::new()),
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
    let outcome = if changed { label } else { "duplicate" };
    state
        .metrics
        .results_recorded
        .with_label_values(&[outcome])
        .inc();
    if changed {
        tracing::info!(
            submission_id = id,
            user_id = event.user_id.0,
            status = label,
            "result recorded"
        );
        if let Ok(assignment) = assignments::cached(state, event.assignment_id).await {
            submissions::invalidate(state, event.user_id, &assignment).await;
        }
    }
    Ok(())
}
