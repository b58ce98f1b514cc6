//! One assignment: read it (handout for whoever may see its course, tests for its teachers),
//! edit, delete (its teachers).

use crate::access::{self, Access};
use crate::auth::Caller;
use crate::domain::assignment::{handout_schema, parse_handout, AssignmentRequest};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::store;
use crate::views::AssignmentView;
use actix_web::{web, HttpResponse};
use contracts::{AssignmentId, CourseId};
use db::models::Assignment;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoutPreviewRequest {
    #[schema(schema_with = handout_schema)]
    pub handout: String,
}

/// A handout as students will see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandoutPreview {
    /// Sanitised HTML, as `handout_html` of an assignment.
    pub html: String,
}

/// Renders a handout as it will be shown, for the editor's live preview: the page then shows
/// exactly what the server's sanitiser lets through, and needs no Markdown code of its own.
#[utoipa::path(post, path = "/api/handout-preview", tag = "assignments",
    security(("bearer" = [])), request_body = HandoutPreviewRequest,
    responses((status = 200, body = HandoutPreview), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn preview(
    _caller: Caller,
    body: web::Json<HandoutPreviewRequest>,
) -> Result<HttpResponse, ApiError> {
    let handout = parse_handout(body.into_inner().handout)?;
    Ok(HttpResponse::Ok().json(HandoutPreview {
        html: crate::markdown::to_safe_html(&handout.into_inner()),
    }))
}

/// One assignment with its handout.
#[utoipa::path(get, path = "/api/assignments/{id}", tag = "assignments",
    security(("bearer" = [])), params(("id" = i64, Path, description = "assignment id")),
    responses((status = 200, body = AssignmentView), (status = 404, body = ErrorBody)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = AssignmentId(path.into_inner());
    let view = state.cache.assignment(&state.keys, &state.db, id).await?;
    let access = Access::of(&mut *state.conn().await?, view.course_id, &caller).await?;
    if !access.visible() {
        return Err(ApiError::NotFound("assignment"));
    }
    let view = if access.teaches() {
        view
    } else {
        view.for_student()
    };
    Ok(HttpResponse::Ok().json(view))
}

/// Replaces an assignment's fields (the course's teachers only), within the operator's bounds.
#[utoipa::path(put, path = "/api/assignments/{id}", tag = "assignments",
    security(("bearer" = [])), params(("id" = i64, Path, description = "assignment id")),
    request_body = AssignmentRequest,
    responses((status = 200, body = AssignmentView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
    body: web::Json<AssignmentRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = AssignmentId(path.into_inner());
    let mut conn = state.conn().await?;
    let current = taught(&mut conn, id, &caller).await?;
    let fields = body
        .into_inner()
        .validate(&state.runtimes, &state.bounds, current.position)?;
    let updated = store::assignments::update(&mut conn, id.0, &fields).await?;
    forget(&state, &current).await;
    Ok(HttpResponse::Ok().json(AssignmentView::full(updated)))
}

/// Deletes an assignment and every submission to it (the course's teachers only); the ones
/// after it move up a place.
#[utoipa::path(delete, path = "/api/assignments/{id}", tag = "assignments",
    security(("bearer" = [])), params(("id" = i64, Path, description = "assignment id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = AssignmentId(path.into_inner());
    let mut conn = state.conn().await?;
    let current = taught(&mut conn, id, &caller).await?;
    let moved = store::assignments::delete(&mut conn, id.0).await?;
    forget(&state, &current).await;
    // Their own views carry their positions.
    let moved: Vec<String> = moved
        .into_iter()
        .map(|id| state.keys.cache_assignment(AssignmentId(id)))
        .collect();
    state.cache.invalidate(&moved).await;
    Ok(HttpResponse::NoContent().finish())
}

/// The assignment `id`, if `caller` teaches its course.
async fn taught(
    conn: &mut AsyncPgConnection,
    id: AssignmentId,
    caller: &Caller,
) -> Result<Assignment, ApiError> {
    let assignment = store::assignments::by_id(conn, id.0)
        .await?
        .ok_or(ApiError::NotFound("assignment"))?;
    Access::of(conn, CourseId(assignment.course_id), caller)
        .await?
        .require_teacher()
        .map_err(access::missing("assignment"))?;
    Ok(assignment)
}

/// Drops the cached copies of `assignment` after it changed or went.
async fn forget(state: &AppState, assignment: &Assignment) {
    let (id, course) = (AssignmentId(assignment.id), CourseId(assignment.course_id));
    state.cache.forget_assignment(&state.keys, id, course).await;
}
