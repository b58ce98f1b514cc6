//! A project's files and directories: create, read, move (rename), delete.

use super::projects::require;
use crate::error::HubError;
use crate::state::AppState;
use crate::store::files::TreeEntry;
use crate::store::{files, Access};
use actix_web::{web, HttpResponse};
use archive::ProjectPath;
use contracts::{FileId, ProjectChange, ProjectId};
use http_edge::Caller;
use http_edge::ErrorBody;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, ToSchema};

/// How long a deleted document's log stays, so every replica sees the deletion.
const DELETED_LOG_SECONDS: i64 = 60;

/// The schema of a path in a request body: what [`ProjectPath::parse`] accepts, as far as a
/// pattern can say it. The parser's limits count UTF-8 bytes and JSON Schema's count
/// characters, which is the same for ASCII paths; the description says so.
pub struct FilePath;

impl utoipa::PartialSchema for FilePath {
    fn schema() -> RefOr<Schema> {
        use archive::{MAX_PATH_BYTES, MAX_SEGMENTS, MAX_SEGMENT_BYTES};
        // A name: not `.` or `..`, no `/`, backslash or control character (Unicode `Cc`).
        let not_dots = r"(?!\.\.?(?:/|$))";
        let allowed = r"[^/\\\x00-\x1f\x7f-\x9f]";
        let name = format!("{not_dots}{allowed}{{1,{MAX_SEGMENT_BYTES}}}");
        let more = MAX_SEGMENTS - 1;
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_PATH_BYTES))
            .pattern(Some(format!(
                r"^(?![A-Za-z]:){name}(?:/{name}){{0,{more}}}$"
            )))
            .description(Some(format!(
                "A relative path: up to {MAX_SEGMENTS} names separated by `/`, none empty, `.` \
                 or `..`, without backslashes, control characters or a drive prefix (`C:`); at \
                 most {MAX_SEGMENT_BYTES} bytes of UTF-8 per name and {MAX_PATH_BYTES} in all."
            )))
            .into()
    }
}

impl ToSchema for FilePath {}

/// The path parameters naming one file or directory of a project.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FileRef {
    /// the project's id
    #[param(minimum = 1)]
    project: i64,
    /// the file's or directory's id
    #[param(minimum = 1)]
    file: i64,
}

impl FileRef {
    /// A connection and the ids the path names, once `caller` is found to have `needed`
    /// access to the project.
    async fn authorize(
        &self,
        state: &AppState,
        caller: &Caller,
        needed: Access,
    ) -> Result<(db::Connection, ProjectId, FileId), HubError> {
        let project = ProjectId(self.project);
        let mut conn = state.db.get().await?;
        require(&mut conn, project, caller, needed).await?;
        Ok((conn, project, FileId(self.file)))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntry {
    /// Where in the project; missing parent directories are created.
    #[schema(value_type = FilePath)]
    path: String,
    /// A directory rather than an (empty) file.
    #[serde(default)]
    #[schema(default = false)]
    directory: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Relocation {
    /// The new path; missing parent directories are created.
    #[schema(value_type = FilePath)]
    path: String,
}

/// A file and its text as of the last sync to Postgres.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileContent {
    /// Empty for a directory.
    pub content: String,
    pub file: TreeEntry,
}

/// `POST /hub/projects/{project}/files`: `{"path": "src/a.py", "directory": false}`.
#[utoipa::path(post, path = "/hub/projects/{project}/files", tag = "hub",
    operation_id = "create_file",
    security(("bearer" = [])),
    params(("project" = i64, Path, minimum = 1, description = "the project's id")),
    request_body = NewEntry,
    responses(
        (status = 201, body = TreeEntry, description = "the new file or directory"),
        (status = 403, body = ErrorBody, description = "no write access to the project"),
        (status = 404, body = ErrorBody, description = "no such project"),
        (status = 409, body = ErrorBody,
            description = "the path exists, or a parent on the way is a file (`conflict`)"),
        (status = 422, body = ErrorBody,
            description = "the path is not acceptable (`invalid_path`)"),
    ))]
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
    let created = files::create(&mut conn, project, &path, body.directory).await?;
    for entry in &created {
        let file = entry.event_entry();
        state
            .events
            .publish(project, ProjectChange::FileCreated { file })
            .await?;
    }
    let entry = created.last().expect("the new entry comes last");
    Ok(HttpResponse::Created().json(entry))
}

/// `GET /hub/projects/{project}/files/{file}`: the entry and its text as of the last sync.
#[utoipa::path(get, path = "/hub/projects/{project}/files/{file}", tag = "hub",
    operation_id = "read_file",
    security(("bearer" = [])),
    params(FileRef),
    responses(
        (status = 200, body = FileContent, description = "the entry and its text"),
        (status = 403, body = ErrorBody, description = "no access to the project"),
        (status = 404, body = ErrorBody, description = "no such project or file"),
    ))]
pub async fn read(
    state: web::Data<AppState>,
    path: web::Path<FileRef>,
    caller: Caller,
) -> Result<HttpResponse, HubError> {
    let (mut conn, project, file) = path.authorize(&state, &caller, Access::Read).await?;
    let (entry, content) = files::content(&mut conn, project, file).await?;
    Ok(HttpResponse::Ok().json(FileContent {
        content,
        file: entry,
    }))
}

/// `PATCH /hub/projects/{project}/files/{file}`: `{"path": "new/place.py"}` moves or renames;
/// a directory moves with everything under it. Open documents stay open.
#[utoipa::path(patch, path = "/hub/projects/{project}/files/{file}", tag = "hub",
    operation_id = "move_file",
    security(("bearer" = [])),
    params(FileRef),
    request_body = Relocation,
    responses(
        (status = 200, body = TreeEntry, description = "the entry at its new path"),
        (status = 403, body = ErrorBody, description = "no write access to the project"),
        (status = 404, body = ErrorBody, description = "no such project or file"),
        (status = 409, body = ErrorBody,
            description = "the new path exists, a parent on the way is a file, or a directory \
                           would move into itself (`conflict`)"),
        (status = 422, body = ErrorBody,
            description = "the path is not acceptable (`invalid_path`)"),
    ))]
pub async fn relocate(
    state: web::Data<AppState>,
    path: web::Path<FileRef>,
    caller: Caller,
    body: web::Json<Relocation>,
) -> Result<HttpResponse, HubError> {
    let (mut conn, project, file) = path.authorize(&state, &caller, Access::Write).await?;
    let to = ProjectPath::parse(&body.path)?;
    // Any valid path may be asked for; whether a directory would end up inside itself depends
    // on where it is now, so that is a conflict with the tree, not a bad value. (The store
    // refuses it again inside its transaction.)
    let (entry, _) = files::content(&mut conn, project, file).await?;
    if entry.directory && to.starts_with_dir(&ProjectPath::parse(&entry.path)?) {
        return Err(HubError::Conflict(format!(
            "cannot move directory `{}` into itself",
            entry.path
        )));
    }
    let moved = files::relocate(&mut conn, project, file, &to).await?;
    for parent in &moved.created {
        let file = parent.event_entry();
        state
            .events
            .publish(project, ProjectChange::FileCreated { file })
            .await?;
    }
    let (file, from) = (moved.entry.event_entry(), moved.from);
    state
        .events
        .publish(project, ProjectChange::FileMoved { file, from })
        .await?;
    Ok(HttpResponse::Ok().json(moved.entry))
}

/// `DELETE /hub/projects/{project}/files/{file}`: deletes a file, or a directory with
/// everything under it; sockets editing a deleted file are closed (4006) on every replica.
#[utoipa::path(delete, path = "/hub/projects/{project}/files/{file}", tag = "hub",
    operation_id = "delete_file",
    security(("bearer" = [])),
    params(FileRef),
    responses(
        (status = 204, description = "deleted, with everything under a directory"),
        (status = 403, body = ErrorBody, description = "no write access to the project"),
        (status = 404, body = ErrorBody, description = "no such project or file"),
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    path: web::Path<FileRef>,
    caller: Caller,
) -> Result<HttpResponse, HubError> {
    let (mut conn, project, file) = path.authorize(&state, &caller, Access::Write).await?;
    let deleted = files::delete(&mut conn, project, file).await?;
    let log = state.registry.log();
    for gone in &deleted {
        log.append_deleted(*gone, DELETED_LOG_SECONDS).await?;
    }
    let file_ids = deleted;
    state
        .events
        .publish(project, ProjectChange::FilesDeleted { file_ids })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
