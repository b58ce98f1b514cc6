//! A course's teachers: its owner invites co-teachers by username; an invitee accepts (then
//! teaches the course: its assignments, its template, its students' work) or declines; the
//! owner removes co-teachers and withdraws invitations, and anyone may stop teaching a course
//! they co-teach. The owner cannot be removed. Any account may be invited (guests have none): teaching
//! one course does not let anyone create courses (that takes an operator, `platform-admin`).

use crate::access::{Access, CourseRole};
use crate::auth::Caller;
use crate::domain::account::Username;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::store;
use crate::views::{CourseView, TeacherView};
use actix_web::{web, HttpResponse};
use contracts::{CourseId, UserId};
use http_edge::ErrorCode;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// The account to invite (guests have none).
    #[schema(value_type = Username)]
    pub username: String,
}

/// The course's owner, co-teachers and invitees (its teachers and invitees only).
#[utoipa::path(get, path = "/api/courses/{id}/teachers", tag = "teachers",
    security(("bearer" = [])), params(("id" = i64, Path, description = "course id")),
    responses((status = 200, body = [TeacherView]), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let course = CourseId(path.into_inner());
    let mut conn = state.conn().await?;
    let access = Access::of(&mut conn, course, &caller).await?;
    // Invitees see whom they would teach with.
    if access.role != Some(CourseRole::Invited) {
        access.require_teacher()?;
    }
    let mut teachers: Vec<TeacherView> = store::teachers::of_course(&mut conn, course.0)
        .await?
        .into_iter()
        .map(|user| {
            let role = if UserId(user.id) == access.owner {
                CourseRole::Owner
            } else {
                CourseRole::Teacher
            };
            TeacherView::new(user, role)
        })
        .collect();
    // The owner first, then co-teachers in the order they joined, then invitees.
    teachers.sort_by_key(|teacher| teacher.role != CourseRole::Owner);
    let invited = store::teachers::invited_to(&mut conn, course.0).await?;
    teachers.extend(
        invited
            .into_iter()
            .map(|user| TeacherView::new(user, CourseRole::Invited)),
    );
    Ok(HttpResponse::Ok().json(teachers))
}

/// Invites an account to teach the course (its owner only); it teaches once it accepts.
#[utoipa::path(post, path = "/api/courses/{id}/teachers", tag = "teachers",
    security(("bearer" = [])), params(("id" = i64, Path, description = "course id")),
    request_body = InviteRequest,
    responses((status = 201, body = TeacherView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "already teaches it or is invited"),
              (status = 422, body = ErrorBody, description = "no such account")))]
pub async fn invite(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
    body: web::Json<InviteRequest>,
) -> Result<HttpResponse, ApiError> {
    let course = CourseId(path.into_inner());
    let username = Username::parse(&body.username)?;
    let mut conn = state.conn().await?;
    Access::of(&mut conn, course, &caller)
        .await?
        .require_owner()?;
    let invitee = store::users::by_username(&mut conn, username.as_str())
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "username",
                format!("there is no account named `{}`", username.as_str()),
            )
        })?;
    let conflict = |message: String| ApiError::Conflict {
        code: ErrorCode::Conflict,
        message,
    };
    let standing = store::courses::standing(&mut conn, course.0, invitee.id)
        .await?
        .ok_or(ApiError::NotFound("course"))?;
    if Access::from_standing(&standing, invitee.id).teaches() {
        return Err(conflict(format!(
            "`{}` teaches this course already",
            invitee.username
        )));
    }
    if !store::teachers::invite(&mut conn, course.0, invitee.id).await? {
        return Err(conflict(format!(
            "`{}` is invited already",
            invitee.username
        )));
    }
    Ok(HttpResponse::Created().json(TeacherView::new(invitee, CourseRole::Invited)))
}

/// Accepts the caller's invitation to teach the course.
#[utoipa::path(post, path = "/api/courses/{id}/invitation", tag = "teachers",
    security(("bearer" = [])), params(("id" = i64, Path, description = "course id")),
    responses((status = 200, body = CourseView),
              (status = 404, body = ErrorBody, description = "no such course or no invitation")))]
pub async fn accept(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let course = CourseId(path.into_inner());
    let mut conn = state.conn().await?;
    if !store::teachers::accept(&mut conn, course.0, caller.id().0).await? {
        return Err(ApiError::NotFound("invitation"));
    }
    let course = store::courses::by_id(&mut conn, course.0)
        .await?
        .ok_or(ApiError::NotFound("course"))?;
    Ok(HttpResponse::Ok().json(CourseView::new(course, Some(CourseRole::Teacher))))
}

/// Removes a co-teacher or withdraws an invitation (the owner), or stops teaching or declines
/// (the person themselves). The owner stays.
#[utoipa::path(delete, path = "/api/courses/{id}/teachers/{user}", tag = "teachers",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "course id"),
           ("user" = i64, Path, description = "the teacher's or invitee's user id")),
    responses((status = 204), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "no such course, teacher or invitation"),
              (status = 409, body = ErrorBody, description = "the owner")))]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (course, user) = path.into_inner();
    let (course, user) = (CourseId(course), UserId(user));
    let mut conn = state.conn().await?;
    let access = Access::of(&mut conn, course, &caller).await?;
    if user == caller.id() {
        access.require_visible()?;
    } else {
        access.require_owner()?;
    }
    if user == access.owner {
        return Err(ApiError::Conflict {
            code: ErrorCode::Conflict,
            message: "the owner of a course always teaches it".into(),
        });
    }
    if !store::teachers::remove(&mut conn, course.0, user.0).await? {
        return Err(ApiError::NotFound("teacher or invitation"));
    }
    Ok(HttpResponse::NoContent().finish())
}
