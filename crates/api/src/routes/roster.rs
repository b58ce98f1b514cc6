//! A course's roster for its teachers: every student with their progress on each assignment
//! and where to find their submissions and their project. Who is online, and where, the page
//! adds from the hub's class presence socket.

use crate::access::Access;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::store;
use crate::views::{AssignmentSummary, Progress};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use contracts::{AssignmentId, CourseId, ProjectId, SubmissionId, UserId};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct RosterView {
    pub course_id: CourseId,
    /// The course's assignments in order: each student's `progress` follows it.
    pub assignments: Vec<AssignmentSummary>,
    pub students: Vec<RosterStudent>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RosterStudent {
    pub user_id: UserId,
    pub display_name: String,
    /// Their project in the course (`/hub/projects/{id}`), if they opened it.
    pub project_id: Option<ProjectId>,
    pub solved: usize,
    /// One per assignment, in the order of `assignments`.
    pub progress: Vec<RosterProgress>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RosterProgress {
    pub assignment_id: AssignmentId,
    pub progress: Progress,
    /// Submissions made, whatever their verdict.
    pub attempts: i64,
    pub last_submitted_at: Option<DateTime<Utc>>,
    /// The latest submission (`/api/submissions/{id}`).
    pub last_submission_id: Option<SubmissionId>,
    /// The latest accepted submission.
    pub solved_submission_id: Option<SubmissionId>,
}

/// The course's students with their progress per assignment (its teachers only).
#[utoipa::path(get, path = "/api/courses/{id}/roster", tag = "courses",
    security(("bearer" = [])), params(("id" = i64, Path, description = "course id")),
    responses((status = 200, body = RosterView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn roster(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let course = CourseId(path.into_inner());
    let mut conn = state.conn().await?;
    Access::of(&mut conn, course, &caller)
        .await?
        .require_teacher()?;
    let assignments = state
        .cache
        .course_listing(&state.keys, &state.db, course)
        .await?
        .assignments;
    let ids: Vec<i64> = assignments.iter().map(|a| a.id.0).collect();
    let students = store::roster::students(&mut conn, course.0).await?;
    let tallies: HashMap<(i64, i64), store::roster::Tally> =
        store::roster::tallies(&mut conn, &ids)
            .await?
            .into_iter()
            .map(|tally| ((tally.user, tally.assignment), tally))
            .collect();
    let students = students
        .into_iter()
        .map(|student| {
            let progress: Vec<RosterProgress> = ids
                .iter()
                .map(|&assignment| progress(assignment, tallies.get(&(student.id, assignment))))
                .collect();
            RosterStudent {
                user_id: UserId(student.id),
                display_name: student.display_name,
                project_id: student.project.map(ProjectId),
                solved: progress
                    .iter()
                    .filter(|p| p.progress == Progress::Solved)
                    .count(),
                progress,
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(RosterView {
        course_id: course,
        assignments,
        students,
    }))
}

fn progress(assignment: i64, tally: Option<&store::roster::Tally>) -> RosterProgress {
    let solved = tally.and_then(|t| t.solved_id);
    RosterProgress {
        assignment_id: AssignmentId(assignment),
        progress: match (tally, solved) {
            (_, Some(_)) => Progress::Solved,
            (Some(_), None) => Progress::Attempted,
            (None, None) => Progress::Untried,
        },
        attempts: tally.map_or(0, |t| t.attempts),
        last_submitted_at: tally.map(|t| t.last_at),
        last_submission_id: tally.map(|t| SubmissionId(t.last_id)),
        solved_submission_id: solved.map(SubmissionId),
    }
}
