//! Trying a reference solution against an assignment before saving it (the course's teachers):
//! the trial is graded by the same graders as submissions, from the same stream, and creates
//! no assignment and no submission. The page polls the trial until its verdict is in.
//!
//! A trial's job goes on the stream at once rather than waiting in Postgres as a submission
//! does, so the per-user share of the graders is kept by a cap instead: a teacher has at most
//! `dispatch_per_user` trials unfinished, as many jobs as fair dispatch puts on the stream for
//! any user. Trials count in the grading backlog that refuses work when the graders are behind.

use crate::access::Access;
use crate::auth::Caller;
use crate::domain::code::Code;
use crate::domain::trial::{revealed, TrialId, TrialOutcome, TrialRequest, TRIAL_ASSIGNMENT};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::store;
use crate::store::trials::NewTrial;
use crate::views::TrialView;
use actix_web::{web, HttpResponse};
use chrono::Utc;
use contracts::{CourseId, Limits, SubmissionJob, TestCase, UserId, MESSAGE_VERSION};
use http_edge::StorageRoom;

/// Grades a reference solution against the assignment as given, without saving either. The
/// answer comes at once with status `queued`; read the trial until it is `graded` or `error`.
#[utoipa::path(post, path = "/api/courses/{id}/trials", tag = "assignments",
    security(("bearer" = [])), params(("id" = i64, Path, description = "course id")),
    request_body = TrialRequest,
    responses((status = 202, body = TrialView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "a field of the assignment or the code, named as saving the assignment names it"),
              (status = 429, body = ErrorBody, description = "too many of the caller's trials wait for a verdict"),
              (status = 503, body = ErrorBody, description = "the grading queue is full (`queue_full`), Redis is nearly full (`storage_full`) or a backing service is down")))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    _room: StorageRoom,
    path: web::Path<i64>,
    body: web::Json<TrialRequest>,
) -> Result<HttpResponse, ApiError> {
    let course = CourseId(path.into_inner());
    let body = body.into_inner();
    let mut conn = state.conn().await?;
    Access::teacher(&mut conn, course, &caller).await?;
    let code = Code::parse(body.code, state.max_code_bytes)?;
    let fields = body
        .assignment
        .validate(&state.runtimes, &state.bounds, 0)?;
    let backlog = store::submissions::unfinished(&mut conn).await?
        + store::trials::unfinished(&mut conn, state.lost_grading_after).await?;
    if backlog >= state.max_queue_backlog {
        return Err(ApiError::QueueFull { backlog });
    }
    let trial = store::trials::insert_within_cap(
        &mut conn,
        NewTrial {
            course: course.0,
            user: caller.id().0,
            tests: &fields.tests,
        },
        state.dispatch_per_user,
        state.lost_grading_after,
    )
    .await?
    .map_err(|unfinished| ApiError::TooManyTrials { unfinished })?;
    drop(conn);
    let tests: Vec<TestCase> = serde_json::from_value(fields.tests)
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    let job = SubmissionJob {
        v: MESSAGE_VERSION,
        submission_id: TrialId(trial.id).job_id(),
        user_id: caller.id(),
        assignment_id: TRIAL_ASSIGNMENT,
        runtime: fields.runtime,
        code: code.as_str().to_owned(),
        tests: revealed(tests),
        limits: Limits {
            time_ms: fields.time_limit_ms as u32,
            memory_mb: fields.memory_limit_mb as u32,
            output_kb: fields.output_limit_kb as u32,
        },
        enqueued_at: trial.created_at,
    };
    if let Err(error) = state.streams.publish(&state.keys.submissions(), &job).await {
        // Not on the stream, never graded: finished at once, so that it holds no place under
        // the caller's cap while Redis is away.
        let outcome = TrialOutcome {
            feedback: "the trial could not be queued; try again".into(),
            ..TrialOutcome::default()
        };
        let mut conn = state.conn().await?;
        store::trials::record_finished(&mut conn, trial.id, "error", &outcome, Utc::now()).await?;
        return Err(error.into());
    }
    Ok(HttpResponse::Accepted().json(TrialView::new(trial, state.lost_grading_after)))
}

/// One of the caller's trials, with its verdict once graded.
#[utoipa::path(get, path = "/api/trials/{id}", tag = "assignments",
    security(("bearer" = [])), params(("id" = i64, Path, description = "trial id")),
    responses((status = 200, body = TrialView), (status = 404, body = ErrorBody)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.conn().await?;
    let trial = store::trials::by_id(&mut conn, path.into_inner())
        .await?
        // Someone else's trial is indistinguishable from a missing one.
        .filter(|trial| UserId(trial.user_id) == caller.id())
        .ok_or(ApiError::NotFound("trial"))?;
    Ok(HttpResponse::Ok().json(TrialView::new(trial, state.lost_grading_after)))
}
