//! Courses: the catalogue, creating one, joining one, and its assignments with the caller's
//! progress.

use crate::auth::{require_teacher, Caller};
use crate::domain::assignment::AssignmentRequest;
use crate::domain::text::{Text, Title};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::store;
use crate::views::{
    AssignmentProgressView, AssignmentSummary, AssignmentView, CourseAssignmentsView, CourseView,
    Progress,
};
use actix_web::{web, HttpResponse};
use contracts::{CourseId, UserId};
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseRequest {
    #[schema(value_type = Title)]
    pub title: String,
    #[serde(default)]
    #[schema(value_type = Text)]
    pub description: String,
}

/// Every course, with the caller's role in it.
#[utoipa::path(get, path = "/api/courses", tag = "courses", security(("bearer" = [])),
    responses((status = 200, body = [CourseView]), (status = 401, body = ErrorBody)))]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let mut conn = state.conn().await?;
    let roles: HashMap<i64, String> = store::courses::roles_of(&mut conn, caller.id().0)
        .await?
        .into_iter()
        .collect();
    let courses: Vec<CourseView> = store::courses::all(&mut conn)
        .await?
        .into_iter()
        .map(|c| {
            let role = roles.get(&c.id).cloned();
            CourseView::new(c, role)
        })
        .collect();
    Ok(HttpResponse::Ok().json(courses))
}

/// Creates a course taught by the caller (teachers only).
#[utoipa::path(post, path = "/api/courses", tag = "courses", security(("bearer" = [])),
    request_body = CourseRequest,
    responses((status = 201, body = CourseView), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CourseRequest>,
) -> Result<HttpResponse, ApiError> {
    if !caller.is_teacher() {
        return Err(ApiError::Forbidden("only teachers create courses".into()));
    }
    let body = body.into_inner();
    let title = Title::parse(&body.title)?;
    let description = Text::parse("description", body.description)?;
    let mut conn = state.conn().await?;
    let course = store::courses::insert(
        &mut conn,
        title.as_str(),
        description.into_inner().trim(),
        caller.id().0,
    )
    .await?;
    Ok(HttpResponse::Created().json(CourseView::new(course, Some("teacher".into()))))
}

/// Joins a course as a student (submitting to it joins it too).
#[utoipa::path(post, path = "/api/courses/{id}/enrol", tag = "courses",
    security(("bearer" = [])), params(("id" = i64, Path, description = "course id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn enrol(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let course = path.into_inner();
    let mut conn = state.conn().await?;
    store::courses::by_id(&mut conn, course)
        .await?
        .ok_or(ApiError::NotFound("course"))?;
    store::courses::enrol(&mut conn, course, caller.id().0, "student").await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The course's assignments in order, with the caller's progress and the first unsolved one.
#[utoipa::path(get, path = "/api/courses/{id}/assignments", tag = "courses",
    security(("bearer" = [])), params(("id" = i64, Path, description = "course id")),
    responses((status = 200, body = CourseAssignmentsView), (status = 404, body = ErrorBody)))]
pub async fn assignments(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let course = CourseId(path.into_inner());
    let summaries = course_assignments(&state, course).await?;
    let progress = progress(&state, caller.id(), course, &summaries).await?;
    let assignments: Vec<AssignmentProgressView> = summaries
        .into_iter()
        .map(|assignment| AssignmentProgressView {
            progress: progress
                .get(&assignment.id.0)
                .copied()
                .unwrap_or(Progress::Untried),
            assignment,
        })
        .collect();
    let next_unsolved = assignments
        .iter()
        .find(|a| a.progress != Progress::Solved)
        .map(|a| a.assignment.id);
    Ok(HttpResponse::Ok().json(CourseAssignmentsView {
        course_id: course,
        assignments,
        next_unsolved,
    }))
}

/// The course's assignment list, shared by all users and cached.
async fn course_assignments(
    state: &AppState,
    course: CourseId,
) -> Result<Vec<AssignmentSummary>, ApiError> {
    let key = state.keys.cache_course_assignments(course);
    state
        .cache
        .get_or_load(&key, || async {
            let mut conn = state.conn().await?;
            store::courses::by_id(&mut conn, course.0)
                .await?
                .ok_or(ApiError::NotFound("course"))?;
            let all = store::assignments::of_course(&mut conn, course.0).await?;
            Ok(all.iter().map(AssignmentSummary::from).collect())
        })
        .await
}

/// The user's progress per assignment of the course (untried ones absent), cached.
async fn progress(
    state: &AppState,
    user: UserId,
    course: CourseId,
    summaries: &[AssignmentSummary],
) -> Result<HashMap<i64, Progress>, ApiError> {
    let key = state.keys.cache_progress(user, course);
    state
        .cache
        .get_or_load(&key, || async {
            let ids: Vec<i64> = summaries.iter().map(|a| a.id.0).collect();
            let mut conn = state.conn().await?;
            let (attempted, solved) = store::submissions::progress(&mut conn, user.0, &ids).await?;
            let mut progress: HashMap<i64, Progress> = attempted
                .into_iter()
                .map(|id| (id, Progress::Attempted))
                .collect();
            progress.extend(solved.into_iter().map(|id| (id, Progress::Solved)));
            Ok(progress)
        })
        .await
}

/// Adds an assignment to the course (its teachers only).
#[utoipa::path(post, path = "/api/courses/{id}/assignments", tag = "assignments",
    security(("bearer" = [])), params(("id" = i64, Path, description = "course id")),
    request_body = AssignmentRequest,
    responses((status = 201, body = AssignmentView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_assignment(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
    body: web::Json<AssignmentRequest>,
) -> Result<HttpResponse, ApiError> {
    let course = CourseId(path.into_inner());
    let mut conn = state.conn().await?;
    store::courses::by_id(&mut conn, course.0)
        .await?
        .ok_or(ApiError::NotFound("course"))?;
    require_teacher(&mut conn, course.0, &caller).await?;
    let position = store::assignments::next_position(&mut conn, course.0).await?;
    let fields = body.into_inner().validate(&state.runtimes, position)?;
    let assignment = store::assignments::insert(&mut conn, course.0, &fields).await?;
    state
        .cache
        .invalidate(&[state.keys.cache_course_assignments(course)])
        .await;
    Ok(HttpResponse::Created().json(AssignmentView::full(assignment)))
}
