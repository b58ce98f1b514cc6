//! The relay's one route, the WebSocket endpoint (the edge adds `/healthz`, `/readyz` and
//! `/metrics`).

use crate::session;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use http_edge::EdgeError;

/// Largest HTTP body the relay reads: it takes none.
pub const MAX_BODY_BYTES: usize = 1024;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ws").get(websocket));
}

/// Upgrades to a WebSocket and hands it to its own task (see [`session`]).
async fn websocket(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, EdgeError> {
    let (response, socket, messages) =
        actix_ws::handle(&req, body).map_err(|e| EdgeError::NotWebSocket {
            path: req.path().to_owned(),
            reason: e.to_string(),
        })?;
    let limit = state.sessions.max_frame_bytes;
    let messages = messages
        .max_frame_size(limit)
        .aggregate_continuations()
        .max_continuation_size(limit);
    // The message stream is tied to this worker's connection, so the task stays on it.
    actix_web::rt::spawn(session::run(state.into_inner(), socket, messages));
    Ok(response)
}
