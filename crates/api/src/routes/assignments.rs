//! One assignment: read it (handout for everyone, tests for its teachers), edit, delete.

use crate::auth::{require_teacher, Caller};
use crate::domain::assignment::AssignmentRequest;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::store;
use crate::views::AssignmentView;
use actix_web::{web, HttpResponse};
use contracts::{AssignmentId, CourseId};
use db::models::Assignment;
use diesel_async::AsyncPgConnection;

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
    let current = taught(&mut conn, id, &caller).await?;
    let fields = body
        .into_inner()
        .validate(&state.runtimes, current.position)?;
    let updated = store::assignments::update(&mut conn, id.0, &fields).await?;
    forget(&state, &current).await;
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
    let current = taught(&mut conn, id, &caller).await?;
    store::assignments::delete(&mut conn, id.0).await?;
    forget(&state, &current).await;
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
    require_teacher(conn, assignment.course_id, caller).await?;
    Ok(assignment)
}

/// Drops the cached copies of `assignment` after it changed or went.
async fn forget(state: &AppState, assignment: &Assignment) {
    let (id, course) = (AssignmentId(assignment.id), CourseId(assignment.course_id));
    state.cache.forget_assignment(&state.keys, id, course).await;
}
