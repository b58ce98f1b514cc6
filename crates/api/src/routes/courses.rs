//! Courses: the catalogue, creating, publishing and joining one, and its assignments with the
//! caller's progress. Who may do which is [`crate::access`]'s.

use crate::access::{self, Access, CourseRole};
use crate::auth::Caller;
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
use contracts::{AssignmentId, CourseId, UserId};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use std::collections::HashMap;
use tokens::Role;
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoursePatch {
    /// In every user's catalogue (`true`) or only its participants' and invitees' (`false`).
    pub published: bool,
}

/// The new order of a course's assignments.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentOrder {
    /// Every assignment of the course, each once, first to last.
    #[serde(deserialize_with = "whole_ids")]
    #[schema(value_type = Vec<i64>)]
    pub assignments: Vec<AssignmentId>,
}

/// JSON Schema counts `12.0` as an integer, so the api reads it as one too.
fn whole_ids<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<AssignmentId>, D::Error> {
    Vec::<serde_json::Number>::deserialize(deserializer)?
        .into_iter()
        .map(|number| {
            number
                .as_i64()
                .or_else(|| {
                    number
                        .as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 2f64.powi(63))
                        .map(|f| f as i64)
                })
                .map(AssignmentId)
                .ok_or_else(|| D::Error::custom(format!("{number} is not a whole number")))
        })
        .collect()
}

/// The catalogue: every published course and those the caller takes part in or is invited
/// to teach, with the caller's part in each.
#[utoipa::path(get, path = "/api/courses", tag = "courses", security(("bearer" = [])),
    responses((status = 200, body = [CourseView]), (status = 401, body = ErrorBody)))]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let mut conn = state.conn().await?;
    let courses: Vec<CourseView> = store::courses::catalogue(&mut conn, caller.id().0)
        .await?
        .into_iter()
        .map(|standing| {
            let role = Access::from_standing(&standing, caller.id().0).role;
            CourseView::new(standing.course, role)
        })
        .collect();
    Ok(HttpResponse::Ok().json(courses))
}

/// Creates an unpublished course owned by the caller (accounts an operator made teachers).
#[utoipa::path(post, path = "/api/courses", tag = "courses", security(("bearer" = [])),
    request_body = CourseRequest,
    responses((status = 201, body = CourseView), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CourseRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let title = Title::parse(&body.title)?;
    let description = Text::parse("description", body.description)?;
    let mut conn = state.conn().await?;
    // The account as it is now: an operator may have granted or withdrawn the role since the
    // caller's token was issued.
    let account = store::users::by_id(&mut conn, caller.id().0).await?;
    if account.is_none_or(|user| user.role != Role::Teacher.as_str()) {
        return Err(ApiError::Forbidden(
            "only teachers create courses; an operator makes an account a teacher".into(),
        ));
    }
    let course = store::courses::insert(
        &mut conn,
        title.as_str(),
        description.into_inner().trim(),
        caller.id().0,
    )
    .await?;
    Ok(HttpResponse::Created().json(CourseView::new(course, Some(CourseRole::Owner))))
}

/// Publishes the course (every user's catalogue then lists it) or takes it out of the
/// catalogue again (its owner only). Its participants and invited teachers see it either way.
#[utoipa::path(patch, path = "/api/courses/{id}", tag = "courses",
    security(("bearer" = [])), params(("id" = i64, Path, description = "course id")),
    request_body = CoursePatch,
    responses((status = 200, body = CourseView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
    body: web::Json<CoursePatch>,
) -> Result<HttpResponse, ApiError> {
    let course = CourseId(path.into_inner());
    let mut conn = state.conn().await?;
    let access = Access::of(&mut conn, course, &caller)
        .await?
        .require_owner()?;
    let updated = store::courses::set_published(&mut conn, course.0, body.published).await?;
    state
        .cache
        .invalidate(&[state.keys.cache_course_assignments(course)])
        .await;
    Ok(HttpResponse::Ok().json(CourseView::new(updated, access.role)))
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
    let course = CourseId(path.into_inner());
    let mut conn = state.conn().await?;
    Access::of(&mut conn, course, &caller)
        .await?
        .require_visible()?;
    store::courses::enrol(&mut conn, course.0, caller.id().0, "student").await?;
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
    let summaries = access::visible_listing(&state, course, &caller)
        .await?
        .assignments;
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

/// Adds an assignment to the course (its teachers only), within the operator's bounds.
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
    Access::teacher(&mut conn, course, &caller).await?;
    let position = store::assignments::next_position(&mut conn, course.0).await?;
    let fields = body
        .into_inner()
        .validate(&state.runtimes, &state.bounds, position)?;
    let assignment = store::assignments::insert(&mut conn, course.0, &fields).await?;
    state
        .cache
        .invalidate(&[state.keys.cache_course_assignments(course)])
        .await;
    Ok(HttpResponse::Created().json(AssignmentView::full(assignment)))
}

/// Puts the course's assignments in a new order (its teachers only); answers the course's
/// assignments in that order.
#[utoipa::path(put, path = "/api/courses/{id}/assignment-order", tag = "assignments",
    security(("bearer" = [])), params(("id" = i64, Path, description = "course id")),
    request_body = AssignmentOrder,
    responses((status = 200, body = [AssignmentSummary]), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "not every assignment of the course exactly once")))]
pub async fn reorder(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
    body: web::Json<AssignmentOrder>,
) -> Result<HttpResponse, ApiError> {
    let course = CourseId(path.into_inner());
    let mut conn = state.conn().await?;
    Access::teacher(&mut conn, course, &caller).await?;
    let ids: Vec<i64> = body.assignments.iter().map(|id| id.0).collect();
    let reordered = store::assignments::reorder(&mut conn, course.0, &ids)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "assignments",
                "name every assignment of the course exactly once, in the new order",
            )
        })?;
    // Each assignment's own view carries its position.
    let mut stale: Vec<String> = reordered
        .iter()
        .map(|assignment| state.keys.cache_assignment(AssignmentId(assignment.id)))
        .collect();
    stale.push(state.keys.cache_course_assignments(course));
    state.cache.invalidate(&stale).await;
    let summaries: Vec<AssignmentSummary> = reordered.iter().map(AssignmentSummary::from).collect();
    Ok(HttpResponse::Ok().json(summaries))
}
