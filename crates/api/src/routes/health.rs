//! Liveness, readiness (database and Redis reachable) and Prometheus metrics.

use crate::state::AppState;
use actix_web::{web, HttpResponse};
use contracts::keys::GRADERS_GROUP;
use diesel_async::RunQueryDsl;
use serde_json::json;
use std::time::Duration;
use tokio::time::timeout;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The process can serve requests: Postgres and Redis answer.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = timeout(CHECK_TIMEOUT, async {
        let mut conn = state.db.get().await.map_err(|e| e.to_string())?;
        diesel::sql_query("SELECT 1")
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|_| Err("timed out".into()));
    let redis = timeout(CHECK_TIMEOUT, async {
        let mut conn = state
            .streams
            .pool()
            .get()
            .await
            .map_err(|e| e.to_string())?;
        deadpool_redis::redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|_| Err("timed out".into()));
    let body = json!({"database": describe(&database), "redis": describe(&redis)});
    if database.is_ok() && redis.is_ok() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

fn describe<T>(check: &Result<T, String>) -> String {
    match check {
        Ok(_) => "ok".to_owned(),
        Err(e) => e.clone(),
    }
}

/// Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    if let Ok(Ok(backlog)) = timeout(
        CHECK_TIMEOUT,
        state
            .streams
            .backlog(&state.keys.submissions(), GRADERS_GROUP),
    )
    .await
    {
        state.metrics.queue_backlog.set(backlog as i64);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
