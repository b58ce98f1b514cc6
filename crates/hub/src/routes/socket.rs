//! `GET /hub/projects/{project}/docs/{file}?token=<jwt>`: the document socket. Yjs providers
//! put the room in the last path segment and extra parameters in the query, so the y-websocket
//! provider's `serverUrl` is `…/hub/projects/{project}/docs`, its room the file id and its
//! `params` `{token}`. An `Authorization: Bearer` header works too.

use super::caller::bearer;
use crate::error::HubError;
use crate::session;
use crate::state::{AppState, Target, WorkerRedis};
use actix_web::{web, HttpRequest, HttpResponse};
use contracts::{FileId, ProjectId};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// Upgrades to a WebSocket and hands it to its own task. Authentication and access are
/// checked on the socket, so refusals arrive as close codes the client can act on.
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    redis: web::Data<WorkerRedis>,
    path: web::Path<(i64, i64)>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, HubError> {
    let target = Target {
        project: ProjectId(path.0),
        file: FileId(path.1),
    };
    let token = query
        .into_inner()
        .token
        .or_else(|| bearer(&req).map(str::to_owned));
    let (response, socket, messages) = actix_ws::handle(&req, body).map_err(|e| {
        HubError::NotWebSocket(format!("`{}` speaks WebSocket only: {e}", req.path()))
    })?;
    let limit = state.max_message_bytes;
    let messages = messages
        .max_frame_size(limit)
        .aggregate_continuations()
        .max_continuation_size(limit);
    // The message stream is tied to this worker's connection, so the task stays on it.
    actix_web::rt::spawn(session::run(
        state.into_inner(),
        redis.into_inner(),
        socket,
        messages,
        target,
        token,
    ));
    Ok(response)
}
