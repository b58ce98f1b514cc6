//! `GET /hub/projects/{project}/docs/{file}?token=<jwt>`: the document socket, and
//! `GET /hub/projects/{project}/events?token=<jwt>`: the project's events ([`event_socket`]).
//! Yjs providers put the room in the last path segment and extra parameters in the query, so
//! the y-websocket provider's `serverUrl` is `…/hub/projects/{project}/docs`, its room the file
//! id and its `params` `{token}`. An `Authorization: Bearer` header works too, on both.

use crate::error::HubError;
use crate::event_socket;
use crate::outbox::{outbox, Outbox};
use crate::session;
use crate::state::{AppState, Target, WorkerRedis};
use actix_web::body::BodyStream;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::AggregatedMessageStream;
use contracts::{FileId, ProjectId};
use http_edge::caller::bearer;
use http_edge::{EdgeError, ErrorBody, StorageRoom};
use serde::Deserialize;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Required;
use utoipa::{IntoParams, IntoResponses};

/// The handshake headers as parameters, each with the pattern of what actix's handshake
/// accepts (visible ASCII; `Connection` options split at commas), so that the document says
/// which requests upgrade and which are refused.
pub struct Handshake;

impl IntoParams for Handshake {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        // The characters of one `Connection` option: visible ASCII and tab, but no comma.
        let option = r"[\t\x20-\x2b\x2d-\x7e]";
        let connection = format!(
            concat!(
                r"^(?!(?:{option}*,)*[\t ]*[Cc][Ll][Oo][Ss][Ee][\t ]*(?:,|$))",
                r"(?:{option}*,)*[\t ]*[Uu][Pp][Gg][Rr][Aa][Dd][Ee][\t ]*(?:,{option}*)*$",
            ),
            option = option
        );
        vec![
            header(
                "Upgrade",
                r"^[\t\x20-\x7e]*[Ww][Ee][Bb][Ss][Oo][Cc][Kk][Ee][Tt][\t\x20-\x7e]*$",
                "names `websocket` (any case)",
            ),
            header(
                "Connection",
                &connection,
                "has the option `upgrade` and not `close` (any case)",
            ),
            header("Sec-WebSocket-Version", "^13$", "13"),
            // Canonical base64 of exactly 16 bytes.
            header(
                "Sec-WebSocket-Key",
                "^[A-Za-z0-9+/]{21}[AQgw]==$",
                "16 random bytes in base64",
            ),
        ]
    }
}

fn header(name: &str, pattern: &str, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(pattern)),
        ))
        .build()
}

/// How a socket's handshake is answered; what follows is the socket's close code.
#[derive(IntoResponses)]
pub enum Upgraded {
    /// switching protocols: the socket is open
    #[response(status = 101)]
    Switching,
    /// not a WebSocket handshake, e.g. a plain GET (`not_websocket`), or a malformed query
    /// string (`bad_request`)
    #[response(status = 400)]
    NotWebSocket(ErrorBody),
    /// an id is not a whole number ≥ 1
    #[response(status = 404)]
    NoSuchId(ErrorBody),
    /// Redis is nearly full (`storage_full`): no new socket until it has room
    #[response(status = 503)]
    StorageFull(ErrorBody),
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

impl TokenQuery {
    /// The token of the query, or else of the `Authorization: Bearer` header.
    pub fn token(self, req: &HttpRequest) -> Option<String> {
        self.token.or_else(|| bearer(req).map(str::to_owned))
    }
}

/// Upgrades to a WebSocket and hands it to its own task. Authentication and access are
/// checked on the socket, so refusals arrive as close codes the client can act on.
#[utoipa::path(get, path = "/hub/projects/{project}/docs/{file}", tag = "hub",
    operation_id = "open_document",
    description = "The live document of a file over y-protocols (one message per binary \
                   frame). The token is the `token` query parameter or, without one, an \
                   `Authorization: Bearer` header; it and the caller's access are checked on the \
                   socket, whose close codes (4001 no token, 4002 invalid, 4003 expired, 4005 no \
                   access, 4006 no such project or file, …) say why it ends.",
    params(
        ("project" = i64, Path, minimum = 1, description = "the project's id"),
        ("file" = i64, Path, minimum = 1, description = "the file's id (the Yjs room)"),
        ("token" = Option<String>, Query, description = "the api's JWT"),
        Handshake,
    ),
    responses(Upgraded))]
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    redis: web::Data<WorkerRedis>,
    path: web::Path<(i64, i64)>,
    query: web::Query<TokenQuery>,
    _room: StorageRoom,
) -> Result<HttpResponse, HubError> {
    // Checked before the upgrade: no id below 1 exists, and the document says so.
    if path.0 < 1 || path.1 < 1 {
        return Err(HubError::NotFound("project or file"));
    }
    let target = Target {
        project: ProjectId(path.0),
        file: FileId(path.1),
    };
    let token = query.into_inner().token(&req);
    let (response, outbox, messages) = accept(&req, body, &state)?;
    // The message stream is tied to this worker's connection, so the task stays on it.
    actix_web::rt::spawn(session::run(
        state.into_inner(),
        redis.into_inner(),
        outbox,
        messages,
        target,
        token,
    ));
    Ok(response)
}

/// `GET /hub/projects/{project}/events?token=<jwt>`: the project's events as JSON text frames.
#[utoipa::path(get, path = "/hub/projects/{project}/events", tag = "hub",
    operation_id = "follow_project",
    description = "The events of one project as they happen, for a page showing it: one JSON \
                   text frame each, in the shape of the `hub:project-events` stream \
                   (`file_created`, `file_moved`, `files_deleted`, `access_changed`), after a \
                   first `{\"v\":1,\"project_id\":…,\"event\":\"ready\",\"access\":…}` \
                   sent once the socket follows the project (read the project after it; it comes \
                   again, with the access looked up again, whenever events may have been \
                   missed). The token and the caller's access are checked on the socket, whose \
                   close codes are the document socket's (4001 no token, 4002 invalid, 4003 \
                   expired, 4005 no access, also the moment it is revoked, 4006 no such \
                   project, …).",
    params(
        ("project" = i64, Path, minimum = 1, description = "the project's id"),
        ("token" = Option<String>, Query, description = "the api's JWT"),
        Handshake,
    ),
    responses(Upgraded))]
pub async fn events(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    project: web::Path<i64>,
    query: web::Query<TokenQuery>,
    _room: StorageRoom,
) -> Result<HttpResponse, HubError> {
    if *project < 1 {
        return Err(HubError::NotFound("project"));
    }
    let token = query.into_inner().token(&req);
    let (response, outbox, messages) = accept(&req, body, &state)?;
    actix_web::rt::spawn(event_socket::run(
        state.into_inner(),
        outbox,
        messages,
        ProjectId(*project),
        token,
    ));
    Ok(response)
}

/// Completes the handshake: the response whose body is the socket's outbox, and the client's
/// frames, bounded by `max_message_bytes`.
pub fn accept(
    req: &HttpRequest,
    body: web::Payload,
    state: &AppState,
) -> Result<(HttpResponse, Outbox, AggregatedMessageStream), HubError> {
    // actix-ws checks the handshake and parses the client's frames; what the hub sends goes
    // through its own body, the outbox, which counts bytes until the connection takes them.
    let (response, _, messages) =
        actix_ws::handle(req, body).map_err(|e| EdgeError::NotWebSocket {
            path: req.path().to_owned(),
            reason: e.to_string(),
        })?;
    let budgets = &state.budgets;
    let (outbox, frames) = outbox(budgets.send_buffer_messages, budgets.send_buffer_bytes);
    let response = response
        .set_body(BodyStream::new(frames))
        .map_into_boxed_body();
    let limit = state.max_message_bytes;
    let messages = messages
        .max_frame_size(limit)
        .aggregate_continuations()
        .max_continuation_size(limit);
    Ok((response, outbox, messages))
}
