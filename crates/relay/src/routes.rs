//! The HTTP surface: the WebSocket endpoint, liveness, readiness and metrics.

use crate::error::RelayError;
use crate::reader;
use crate::session;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use std::time::Duration;
use tokio::time::timeout;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/ws", web::get().to(websocket))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

/// Upgrades to a WebSocket and hands it to its own task (see [`session`]).
async fn websocket(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, RelayError> {
    let (response, socket, messages) =
        actix_ws::handle(&req, body).map_err(|e| RelayError::NotWebSocket(e.to_string()))?;
    let limit = state.sessions.max_frame_bytes;
    let messages = messages
        .max_frame_size(limit)
        .aggregate_continuations()
        .max_continuation_size(limit);
    // The message stream is tied to this worker's connection, so the task stays on it.
    actix_web::rt::spawn(session::run(state.into_inner(), socket, messages));
    Ok(response)
}

/// The process is up.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The relay can deliver: Redis answers and the stream reader is running and reaching it.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
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
    let reader_alive = state.reader.is_alive(reader::BLOCK * 3);
    let body = json!({
        "redis": redis.as_ref().map_or_else(Clone::clone, |_| "ok".to_owned()),
        "reader": if reader_alive { "ok" } else { "not reading the results stream" },
    });
    if redis.is_ok() && reader_alive {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus text format.
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
