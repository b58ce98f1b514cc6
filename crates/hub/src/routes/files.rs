//! A project's files and directories: create, read, move (rename), delete.

use super::caller::Caller;
use super::projects::require;
use crate::error::HubError;
use crate::state::AppState;
use crate::store::{files, Access};
use actix_web::{web, HttpResponse};
use archive::ProjectPath;
use contracts::{FileId, ProjectId};
use serde::Deserialize;
use serde_json::json;

/// How long a deleted document's log stays, so every replica sees the deletion.
const DELETED_LOG_SECONDS: i64 = 60;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEntry {
    path: String,
    #[serde(default)]
    directory: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Relocation {
    path: String,
}

/// `POST /hub/projects/{project}/files`: `{"path": "src/a.py", "directory": false}`.
pub async fn create(
    state: web::Data<AppState>,
    project: web::Path<i64>,
    caller: Caller,
    body: web::Json<NewEntry>,
) -> Result<HttpResponse, HubError> {
    let project = ProjectId(*project);
    let mut conn = state.db.get().await?;
    require(&mut conn, project, &caller, Access::Write).await?;
    let path = ProjectPath::parse(&body.path)?;
    let entry = files::create(&mut conn, project, &path, body.directory).await?;
    Ok(HttpResponse::Created().json(entry))
}

/// `GET /hub/projects/{project}/files/{file}`: the entry and its text as of the last sync.
pub async fn read(
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    caller: Caller,
) -> Result<HttpResponse, HubError> {
    let (project, file) = (ProjectId(path.0), FileId(path.1));
    let mut conn = state.db.get().await?;
    require(&mut conn, project, &caller, Access::Read).await?;
    let (entry, content) = files::content(&mut conn, project, file).await?;
    Ok(HttpResponse::Ok().json(json!({"file": entry, "content": content})))
}

/// `PATCH /hub/projects/{project}/files/{file}`: `{"path": "new/place.py"}` moves or renames;
/// a directory moves with everything under it. Open documents stay open.
pub async fn relocate(
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    caller: Caller,
    body: web::Json<Relocation>,
) -> Result<HttpResponse, HubError> {
    let (project, file) = (ProjectId(path.0), FileId(path.1));
    let mut conn = state.db.get().await?;
    require(&mut conn, project, &caller, Access::Write).await?;
    let to = ProjectPath::parse(&body.path)?;
    let entry = files::relocate(&mut conn, project, file, &to).await?;
    Ok(HttpResponse::Ok().json(entry))
}

/// `DELETE /hub/projects/{project}/files/{file}`: deletes a file, or a directory with
/// everything under it; sockets editing a deleted file are closed (4006) on every replica.
pub async fn delete(
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    caller: Caller,
) -> Result<HttpResponse, HubError> {
    let (project, file) = (ProjectId(path.0), FileId(path.1));
    let mut conn = state.db.get().await?;
    require(&mut conn, project, &caller, Access::Write).await?;
    let deleted = files::delete(&mut conn, project, file).await?;
    let log = state.registry.log();
    for gone in deleted {
        log.append_deleted(gone, DELETED_LOG_SECONDS).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}
