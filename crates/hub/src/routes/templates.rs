//! A course's template archive: teachers upload a zip or tar.gz; its files seed every
//! participant's project on first open.

use super::caller::Caller;
use crate::error::HubError;
use crate::state::AppState;
use crate::store::{projects, templates};
use actix_web::{web, HttpResponse};
use contracts::CourseId;
use diesel_async::AsyncPgConnection;
use futures_util::StreamExt;
use serde_json::json;

/// `PUT /hub/courses/{course}/template` with the archive as the body (zip or tar.gz, told
/// apart by their first bytes). Replaces the template; existing projects keep their files.
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
        let chunk =
            chunk.map_err(|e| HubError::BadRequest(format!("cannot read the body: {e}")))?;
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
    Ok(HttpResponse::Ok().json(json!({ "entries": listed })))
}

/// `GET /hub/courses/{course}/template`: the template's paths.
pub async fn list(
    state: web::Data<AppState>,
    course: web::Path<i64>,
    caller: Caller,
) -> Result<HttpResponse, HubError> {
    let course = CourseId(*course);
    let mut conn = state.db.get().await?;
    require_teacher(&mut conn, course, &caller).await?;
    let listed = templates::list(&mut conn, course).await?;
    Ok(HttpResponse::Ok().json(json!({ "entries": listed })))
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
