//! Liveness, readiness (Postgres, Redis) and metrics.

use crate::state::AppState;
use actix_web::{web, HttpResponse};
use diesel_async::RunQueryDsl;
use serde_json::json;
use std::time::Duration;
use tokio::time::timeout;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The hub can open documents: Postgres and Redis answer.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = check(async {
        let mut conn = state.db.get().await.map_err(|e| e.to_string())?;
        diesel::sql_query("SELECT 1")
            .execute(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
    let redis = check(async {
        let mut conn = state.redis.get().await.map_err(|e| e.to_string())?;
        redis::cmd("PING")
            .query_async::<String>(&mut *conn)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
    let status = |result: &Result<(), String>| result.clone().err().unwrap_or_else(|| "ok".into());
    let body = json!({"database": status(&database), "redis": status(&redis)});
    if database.is_ok() && redis.is_ok() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn check(probe: impl std::future::Future<Output = Result<(), String>>) -> Result<(), String> {
    timeout(CHECK_TIMEOUT, probe)
        .await
        .unwrap_or_else(|_| Err("timed out".into()))
}

/// Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
