//! A course's template archive: teachers upload a zip or tar.gz; its files seed every
//! participant's project on first open.

use crate::error::HubError;
use crate::state::AppState;
use crate::store::{projects, templates};
use actix_web::{web, HttpResponse};
use contracts::CourseId;
use diesel_async::AsyncPgConnection;
use futures_util::StreamExt;
use http_edge::Caller;
use http_edge::ErrorBody;
use serde::Serialize;
use templates::TemplateEntry;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

/// The schema of a template upload's body: the archive's bytes.
pub struct TemplateArchive;

impl utoipa::PartialSchema for TemplateArchive {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for TemplateArchive {}

/// A course's template: its paths, parents before children, without their content.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub entries: Vec<TemplateEntry>,
}

/// `PUT /hub/courses/{course}/template` with the archive as the body (zip or tar.gz, told
/// apart by their first bytes). Replaces the template; existing projects keep their files.
#[utoipa::path(put, path = "/hub/courses/{course}/template", tag = "hub",
    operation_id = "upload_template",
    security(("bearer" = [])),
    params(("course" = i64, Path, minimum = 1, description = "the course's id")),
    request_body(content = TemplateArchive, content_type = "application/octet-stream",
        description = "a zip or tar.gz archive (told apart by their first bytes) of UTF-8 text \
                       files, within the hub's configured limits (`max_archive_bytes`, \
                       `max_archive_entries`, `max_file_bytes`, `max_template_bytes`); the \
                       `Content-Type` is not looked at"),
    responses(
        (status = 200, body = TemplateView, description = "the template now in place"),
        (status = 400, body = ErrorBody,
            description = "the body could not be read (`bad_request`)"),
        (status = 403, body = ErrorBody, description = "the caller does not teach the course"),
        (status = 404, body = ErrorBody, description = "no such course"),
        (status = 413, body = ErrorBody,
            description = "the archive or what it unpacks to is over a limit \
                           (`payload_too_large`, `archive_too_large`, `too_many_entries`, \
                           `file_too_large`, `total_too_large`)"),
        (status = 422, body = ErrorBody,
            description = "not an acceptable archive (`unknown_format`, `corrupt_archive`, \
                           `unsupported_archive`, `unsafe_path`, `link_not_allowed`, \
                           `special_file_not_allowed`, `not_text`, `duplicate_path`, \
                           `empty_archive`)"),
    ))]
pub async fn upload(
    state: web::Data<AppState>,
    course: web::Path<i64>,
    caller: Caller,
    mut body: web::Payload,
) -> Result<HttpResponse, HubError> {
    let course = CourseId(*course);
    // The connection is not held while the body arrives and is unpacked.
    require_teacher(&mut *state.db.get().await?, course, &caller).await?;
    let limit = state.archive_limits.max_archive_bytes;
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| HubError::UnreadableBody(e.to_string()))?;
        if bytes.len() + chunk.len() > limit {
            return Err(HubError::PayloadTooLarge(format!(
                "the archive is over the limit of {limit} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    let limits = state.archive_limits.clone();
    let entries = web::block(move || archive::unpack(&bytes, &limits))
        .await
        .map_err(|e| HubError::Internal(e.to_string()))??;
    let mut conn = state.db.get().await?;
    templates::replace(&mut conn, course, &entries).await?;
    let listed = templates::list(&mut conn, course).await?;
    Ok(HttpResponse::Ok().json(TemplateView { entries: listed }))
}

/// `GET /hub/courses/{course}/template`: the template's paths.
#[utoipa::path(get, path = "/hub/courses/{course}/template", tag = "hub",
    operation_id = "list_template",
    security(("bearer" = [])),
    params(("course" = i64, Path, minimum = 1, description = "the course's id")),
    responses(
        (status = 200, body = TemplateView, description = "the template (empty before an upload)"),
        (status = 403, body = ErrorBody, description = "the caller does not teach the course"),
        (status = 404, body = ErrorBody, description = "no such course"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    course: web::Path<i64>,
    caller: Caller,
) -> Result<HttpResponse, HubError> {
    let course = CourseId(*course);
    let mut conn = state.db.get().await?;
    require_teacher(&mut conn, course, &caller).await?;
    let listed = templates::list(&mut conn, course).await?;
    Ok(HttpResponse::Ok().json(TemplateView { entries: listed }))
}

async fn require_teacher(
    conn: &mut AsyncPgConnection,
    course: CourseId,
    caller: &Caller,
) -> Result<(), HubError> {
    if projects::teaches(conn, course, caller.id()).await? {
        return Ok(());
    }
    let exists = projects::course_exists(conn, course).await?;
    Err(if exists {
        HubError::Forbidden("only the course's teachers manage its template".into())
    } else {
        HubError::NotFound("course")
    })
}
