//! The JSON shapes the api answers with.

use crate::access::CourseRole;
use crate::domain::trial::{TrialId, TrialOutcome};
use chrono::{DateTime, Utc};
use contracts::{
    AssignmentId, CourseId, Limits, SubmissionId, TestCase, TestOutcome, UserId, Verdict,
};
use db::models::{Assignment, Course, Submission, Trial, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    /// `student` or `teacher`.
    pub role: String,
    pub guest: bool,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            id: UserId(user.id),
            username: user.username,
            display_name: user.display_name,
            role: user.role,
            guest: user.guest,
        }
    }
}

/// A signed-in session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Bearer token for the `Authorization` header (and the relay and hub sockets).
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserView,
}

impl SessionView {
    pub fn new(issued: tokens::IssuedToken, user: User) -> Self {
        Self {
            token: issued.token,
            expires_at: issued.expires_at,
            user: user.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourseView {
    pub id: CourseId,
    pub title: String,
    pub description: String,
    /// In every user's catalogue; before its owner publishes it, only its participants and
    /// invited teachers see it.
    pub published: bool,
    /// The caller's part in the course, if any.
    pub my_role: Option<CourseRole>,
}

impl CourseView {
    pub fn new(course: Course, my_role: Option<CourseRole>) -> Self {
        Self {
            id: CourseId(course.id),
            title: course.title,
            description: course.description,
            published: course.published,
            my_role,
        }
    }
}

/// Someone who teaches a course or is invited to.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeacherView {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    /// `owner`, `teacher` or `invited`.
    pub role: CourseRole,
}

impl TeacherView {
    pub fn new(user: User, role: CourseRole) -> Self {
        Self {
            user_id: UserId(user.id),
            username: user.username,
            display_name: user.display_name,
            role,
        }
    }
}

/// An assignment as listed in its course (cached, the same for every user).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AssignmentSummary {
    pub id: AssignmentId,
    pub position: i32,
    pub title: String,
    pub runtime: String,
}

impl From<&Assignment> for AssignmentSummary {
    fn from(a: &Assignment) -> Self {
        Self {
            id: AssignmentId(a.id),
            position: a.position,
            title: a.title.clone(),
            runtime: a.runtime.clone(),
        }
    }
}

/// A course's assignment list and whether it is published (cached, the same for every user).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CourseListing {
    pub published: bool,
    pub assignments: Vec<AssignmentSummary>,
}

/// Where the caller stands with one assignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    Solved,
    Attempted,
    Untried,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentProgressView {
    #[serde(flatten)]
    pub assignment: AssignmentSummary,
    pub progress: Progress,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourseAssignmentsView {
    pub course_id: CourseId,
    pub assignments: Vec<AssignmentProgressView>,
    /// The first assignment the caller has not solved, in course order.
    pub next_unsolved: Option<AssignmentId>,
}

/// One assignment with its handout. `tests` only for the course's teachers.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AssignmentView {
    pub id: AssignmentId,
    pub course_id: CourseId,
    pub position: i32,
    pub title: String,
    /// Markdown.
    pub handout: String,
    /// The handout rendered to sanitised HTML.
    pub handout_html: String,
    pub runtime: String,
    pub starter_code: String,
    pub limits: Limits,
    /// Names of the tests, in order (what students see of them).
    pub test_names: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tests: Option<Vec<TestCase>>,
    pub updated_at: DateTime<Utc>,
}

impl AssignmentView {
    /// The full view, tests included; see [`Self::for_student`].
    pub fn full(a: Assignment) -> Self {
        let tests: Vec<TestCase> = serde_json::from_value(a.tests).unwrap_or_default();
        Self {
            id: AssignmentId(a.id),
            course_id: CourseId(a.course_id),
            position: a.position,
            title: a.title,
            handout_html: crate::markdown::to_safe_html(&a.handout),
            handout: a.handout,
            runtime: a.runtime,
            starter_code: a.starter_code,
            limits: Limits {
                time_ms: a.time_limit_ms as u32,
                memory_mb: a.memory_limit_mb as u32,
                output_kb: a.output_limit_kb as u32,
            },
            test_names: tests.iter().map(|t| t.name().to_owned()).collect(),
            tests: Some(tests),
            updated_at: a.updated_at,
        }
    }

    /// Without the tests' contents.
    pub fn for_student(mut self) -> Self {
        self.tests = None;
        self
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmissionView {
    pub id: SubmissionId,
    pub assignment_id: AssignmentId,
    pub user_id: UserId,
    pub runtime: String,
    pub code: String,
    /// `queued`, `grading`, `graded` or `error`.
    pub status: String,
    /// Set once graded: `accepted`, `wrong_answer`, … .
    pub verdict: Option<String>,
    pub tests: Vec<TestOutcome>,
    /// The first failure, readable; or why the submission could not be graded.
    pub feedback: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<Submission> for SubmissionView {
    fn from(s: Submission) -> Self {
        Self {
            id: SubmissionId(s.id),
            assignment_id: AssignmentId(s.assignment_id),
            user_id: UserId(s.user_id),
            runtime: s.runtime,
            code: s.code,
            status: s.status,
            verdict: s.verdict,
            tests: serde_json::from_value(s.test_results).unwrap_or_default(),
            feedback: s.feedback,
            created_at: s.created_at,
            started_at: s.started_at,
            finished_at: s.finished_at,
        }
    }
}

/// One test of a trial: its outcome, with everything the grader saw, and whether students
/// will see only its name and outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrialTestView {
    #[serde(flatten)]
    pub outcome: TestOutcome,
    pub hidden: bool,
}

/// A trial of a reference solution, for the teacher who started it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrialView {
    pub id: TrialId,
    pub course_id: CourseId,
    /// `queued`, `grading`, `graded` or `error` (also when its job was lost).
    pub status: String,
    /// Set once graded.
    pub verdict: Option<Verdict>,
    /// Per test, in the order tried; every test's details are shown, hidden ones included.
    pub tests: Vec<TrialTestView>,
    /// The first failure, readable; or why the trial could not be graded.
    pub feedback: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl TrialView {
    /// The view of `trial`; one that waited past `lost_after` is shown as the error it is.
    pub fn new(trial: Trial, lost_after: chrono::Duration) -> Self {
        let lost = crate::store::trials::is_lost(&trial, lost_after, Utc::now());
        let tried: Vec<TestCase> = serde_json::from_value(trial.tests).unwrap_or_default();
        let outcome: TrialOutcome = trial
            .outcome
            .and_then(|outcome| serde_json::from_value(outcome).ok())
            .unwrap_or_default();
        let tests = outcome
            .tests
            .into_iter()
            .enumerate()
            .map(|(index, outcome)| TrialTestView {
                hidden: tried.get(index).is_some_and(TestCase::is_hidden),
                outcome,
            })
            .collect();
        let (status, feedback) = if lost {
            (
                "error".to_owned(),
                "no grader answered in time; try again".to_owned(),
            )
        } else {
            (trial.status, outcome.feedback)
        };
        Self {
            id: TrialId(trial.id),
            course_id: CourseId(trial.course_id),
            status,
            verdict: outcome.verdict,
            tests,
            feedback,
            created_at: trial.created_at,
            finished_at: trial.finished_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::TestStatus;
    use serde_json::{json, Value};

    fn trial(status: &str, age_minutes: i64, outcome: Option<Value>) -> Trial {
        Trial {
            id: 9,
            course_id: 1,
            user_id: 2,
            tests: json!([
                {"kind": "io", "name": "shown", "stdin": "", "expected_stdout": "1"},
                {"kind": "io", "name": "secret", "stdin": "", "expected_stdout": "2", "hidden": true},
            ]),
            status: status.into(),
            outcome,
            created_at: Utc::now() - chrono::Duration::minutes(age_minutes),
            finished_at: None,
        }
    }

    #[test]
    fn a_trial_waiting_past_the_lost_job_delay_reads_as_an_error() {
        let five = chrono::Duration::minutes(5);
        assert_eq!(
            TrialView::new(trial("queued", 1, None), five).status,
            "queued"
        );
        let lost = TrialView::new(trial("grading", 6, None), five);
        assert_eq!(lost.status, "error");
        assert!(
            lost.feedback.contains("no grader answered"),
            "{}",
            lost.feedback
        );
        let outcome = json!({"verdict": "accepted", "feedback": "", "tests": []});
        assert_eq!(
            TrialView::new(trial("graded", 60, Some(outcome)), five).status,
            "graded"
        );
    }

    #[test]
    fn a_trials_tests_say_which_are_hidden_by_their_place() {
        let outcome = TrialOutcome {
            verdict: Some(Verdict::WrongAnswer),
            tests: ["shown", "secret"]
                .map(|name| TestOutcome {
                    name: name.into(),
                    status: TestStatus::Failed,
                    message: Some("printed 3".into()),
                    duration_ms: 1,
                })
                .to_vec(),
            feedback: "Test \"shown\" failed.".into(),
        };
        let view = TrialView::new(
            trial("graded", 0, Some(serde_json::to_value(outcome).unwrap())),
            chrono::Duration::minutes(5),
        );
        let hidden: Vec<bool> = view.tests.iter().map(|t| t.hidden).collect();
        assert_eq!(hidden, [false, true]);
        assert_eq!(view.verdict, Some(Verdict::WrongAnswer));
    }
}
