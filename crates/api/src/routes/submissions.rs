//! Submissions: create (stored as `queued`, waiting in Postgres until [`dispatch`] puts it on
//! the `submissions` stream), list mine, read one, delete mine.

use crate::access::{self, Access};
use crate::auth::Caller;
use crate::dispatch;
use crate::domain::code::Code;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::store;
use crate::views::{AssignmentView, SubmissionView};
use actix_web::{web, HttpResponse};
use contracts::{cancellation, AssignmentId, SubmissionId};
use db::models::NewSubmission;
use http_edge::StorageRoom;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionRequest {
    /// The program: at most `max_code_bytes` (64 KiB by default), not blank, no NUL.
    #[schema(value_type = Code)]
    pub code: String,
    /// Defaults to the assignment's runtime, the only one it accepts.
    #[serde(default)]
    pub runtime: Option<String>,
}

/// Submits code for grading. The answer comes at once with status `queued`; progress and the
/// verdict arrive on the results stream (and through the relay). A few of one user's
/// submissions are graded at a time; the rest wait their turn.
#[utoipa::path(post, path = "/api/assignments/{id}/submissions", tag = "submissions",
    security(("bearer" = [])), params(("id" = i64, Path, description = "assignment id")),
    request_body = SubmissionRequest,
    responses((status = 202, body = SubmissionView), (status = 404, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 429, body = ErrorBody, description = "too many of the caller's submissions wait for a verdict"),
              (status = 503, body = ErrorBody, description = "the grading queue is full (`queue_full`), Redis is nearly full (`storage_full`) or a backing service is down")))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    _room: StorageRoom,
    path: web::Path<i64>,
    body: web::Json<SubmissionRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let code = Code::parse(body.code, state.max_code_bytes)?;
    let assignment = state
        .cache
        .assignment(&state.keys, &state.db, AssignmentId(path.into_inner()))
        .await?;
    access::visible_listing(&state, assignment.course_id, &caller)
        .await
        .map_err(access::missing("assignment"))?;
    let runtime = check_runtime(&state, &assignment, body.runtime.as_deref())?;

    let mut conn = state.conn().await?;
    let backlog = store::submissions::unfinished(&mut conn).await?;
    if backlog >= state.max_queue_backlog {
        return Err(ApiError::QueueFull { backlog });
    }
    store::courses::enrol(&mut conn, assignment.course_id.0, caller.id().0, "student").await?;
    let submission = store::submissions::insert_within_cap(
        &mut conn,
        NewSubmission {
            assignment_id: assignment.id.0,
            user_id: caller.id().0,
            runtime: &runtime,
            code: code.as_str(),
        },
        state.max_unfinished_per_user,
    )
    .await?
    .map_err(|unfinished| ApiError::TooManyUnfinished { unfinished })?;
    drop(conn);
    // Stored is accepted: if Redis is away now, the sweep dispatches it later.
    dispatch::user_soon(&state, caller.id()).await;
    state
        .metrics
        .submissions_created
        .with_label_values(&[&runtime])
        .inc();
    state
        .cache
        .forget_submissions(&state.keys, caller.id(), &assignment)
        .await;
    Ok(HttpResponse::Accepted().json(SubmissionView::from(submission)))
}

fn check_runtime(
    state: &AppState,
    assignment: &AssignmentView,
    requested: Option<&str>,
) -> Result<String, ApiError> {
    let runtime = requested.unwrap_or(&assignment.runtime);
    if state.runtimes.get(runtime).is_none() {
        return Err(ApiError::invalid(
            "runtime",
            format!("unknown runtime `{runtime}`"),
        ));
    }
    if runtime != assignment.runtime {
        return Err(ApiError::invalid(
            "runtime",
            format!(
                "this assignment is solved in `{}`, not `{runtime}`",
                assignment.runtime
            ),
        ));
    }
    Ok(runtime.to_owned())
}

/// The caller's submissions to an assignment, newest first (cached).
#[utoipa::path(get, path = "/api/assignments/{id}/submissions", tag = "submissions",
    security(("bearer" = [])), params(("id" = i64, Path, description = "assignment id")),
    responses((status = 200, body = [SubmissionView]), (status = 404, body = ErrorBody)))]
pub async fn list_mine(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let assignment = AssignmentId(path.into_inner());
    let key = state.keys.cache_submissions(caller.id(), assignment);
    let list: Vec<SubmissionView> = state
        .cache
        .get_or_load(&key, || async {
            let mut conn = state.conn().await?;
            store::assignments::by_id(&mut conn, assignment.0)
                .await?
                .ok_or(ApiError::NotFound("assignment"))?;
            let mine = store::submissions::of_user(&mut conn, caller.id().0, assignment.0).await?;
            Ok(mine.into_iter().map(SubmissionView::from).collect())
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// One submission: the caller's own, or any in a course the caller teaches.
#[utoipa::path(get, path = "/api/submissions/{id}", tag = "submissions",
    security(("bearer" = [])), params(("id" = i64, Path, description = "submission id")),
    responses((status = 200, body = SubmissionView), (status = 404, body = ErrorBody)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.conn().await?;
    let submission = store::submissions::by_id(&mut conn, path.into_inner())
        .await?
        .ok_or(ApiError::NotFound("submission"))?;
    if submission.user_id != caller.id().0 {
        let assignment = AssignmentId(submission.assignment_id);
        let course = state
            .cache
            .assignment(&state.keys, &state.db, assignment)
            .await?
            .course_id;
        let teaches = Access::of(&mut conn, course, &caller).await?.teaches();
        // Someone else's submission is indistinguishable from a missing one.
        if !teaches {
            return Err(ApiError::NotFound("submission"));
        }
    }
    Ok(HttpResponse::Ok().json(SubmissionView::from(submission)))
}

/// Deletes one of the caller's submissions. One still queued or grading is cancelled: the
/// grader skips it if it has not started, and a verdict that arrives later is discarded.
#[utoipa::path(delete, path = "/api/submissions/{id}", tag = "submissions",
    security(("bearer" = [])), params(("id" = i64, Path, description = "submission id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = SubmissionId(path.into_inner());
    let mut conn = state.conn().await?;
    let submission = store::submissions::by_id(&mut conn, id.0)
        .await?
        .filter(|s| s.user_id == caller.id().0)
        .ok_or(ApiError::NotFound("submission"))?;
    if matches!(submission.status.as_str(), "queued" | "grading") {
        cancellation::mark(state.streams.pool(), &state.keys, id).await?;
    }
    store::submissions::delete(&mut conn, id.0).await?;
    drop(conn);
    dispatch::user_soon(&state, caller.id()).await;
    let assignment = state
        .cache
        .assignment(
            &state.keys,
            &state.db,
            AssignmentId(submission.assignment_id),
        )
        .await?;
    state
        .cache
        .forget_submissions(&state.keys, caller.id(), &assignment)
        .await;
    Ok(HttpResponse::NoContent().finish())
}
