//! One assignment: read it (handout for everyone, tests for its teachers), edit, delete.

use crate::auth::{require_teacher, Caller};
use crate::domain::assignment::AssignmentRequest;
use crate::error::{ApiError, ErrorBody};
use crate::routes::views::AssignmentView;
use crate::state::AppState;
use crate::store;
use actix_web::{web, HttpResponse};
use contracts::{AssignmentId, CourseId};

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
    let teaches = caller.is_teacher() && {
        let mut conn = state.conn().await?;
        store::courses::is_teacher(&mut conn, view.course_id.0, caller.id().0).await?
    };
    let view = if teaches { view } else { view.for_student() };
    Ok(HttpResponse::Ok().json(view))
}

/// Replaces an assignment's fields (the course's teachers only).
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
    let current = store::assignments::by_id(&mut conn, id.0)
        .await?
        .ok_or(ApiError::NotFound("assignment"))?;
    require_teacher(&mut conn, current.course_id, &caller).await?;
    let fields = body
        .into_inner()
        .validate(&state.runtimes, current.position)?;
    let updated = store::assignments::update(&mut conn, id.0, &fields).await?;
    state
        .cache
        .forget_assignment(&state.keys, id, CourseId(current.course_id))
        .await;
    Ok(HttpResponse::Ok().json(AssignmentView::full(updated)))
}

/// Deletes an assignment and every submission to it (the course's teachers only).
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
    let current = store::assignments::by_id(&mut conn, id.0)
        .await?
        .ok_or(ApiError::NotFound("assignment"))?;
    require_teacher(&mut conn, current.course_id, &caller).await?;
    store::assignments::delete(&mut conn, id.0).await?;
    state
        .cache
        .forget_assignment(&state.keys, id, CourseId(current.course_id))
        .await;
    Ok(HttpResponse::NoContent().finish())
}
