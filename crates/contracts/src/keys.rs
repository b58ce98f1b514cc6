//! Every Redis key the platform uses, in one place. All keys start with a configurable prefix
//! so that several deployments (or parallel tests) can share one Redis.
//!
//! | key | type | written by | read by |
//! |---|---|---|---|
//! | `{p}submissions` | stream of [`SubmissionJob`]; trimmed once graded | api | grader (group `graders`) |
//! | `{p}results` | stream of [`ResultEvent`]; trimmed once recorded and out of the relay's history | grader | api (group `api`), relay |
//! | `{p}{stream}:dead` ([`TypedStream::dead_letters`]) | stream of [`DeadLetter`](crate::messages::DeadLetter): entries the group gave up on (`{p}submissions:dead`, `{p}results:dead`), the newest kept | the stream's [`consumer`](crate::consumer) | operators |
//! | `{p}cancelled:{submission}` | string, expires ([`cancellation`](crate::cancellation)) | api | grader |
//! | `{p}claimed:{submission}@{created}` | string: the entry id of the one job of the submission that is run; expires ([`claim`](crate::claim)) | grader | grader |
//! | `{p}cache:…` | strings (JSON), expire | api | api |
//! | `{p}hub:doc:{file}` | stream: the update log of one live document ([`doclog`](crate::doclog)) | hub | hub |
//! | `{p}hub:presence:{file}` | stream: the latest presence (awareness) updates of one document, capped and expiring; never durable ([`doclog`](crate::doclog)) | hub | hub |
//! | `{p}hub:wake:{instance}` | stream: wakes one hub's log follower when its documents change | hub | hub |
//! | `{p}hub:project-events` | stream of [`ProjectEvent`]: access and file-tree changes of every project | hub | hub (every replica), the web IDE through the hub |
//! | `{p}hub:class:{course}:conns` / `:entries` / `:seen` / `:version` | sorted set (a socket's entry → when it expires), hash (entry → its JSON), hash (user → last seen, ms), counter; expire a week after the last change | hub (class presence, Lua scripts) | hub (every replica) |
//! | `{p}hub:class-events` | pub/sub channel: every change of a course's presence, numbered by its `version` | hub | hub (every replica) |
//! | `{p}course-progress` | pub/sub channel of [`ProgressChanged`](crate::progress::ProgressChanged) | api (a submission recorded) | hub (class presence sockets of the course's teachers) |
//! | `{p}session:revoked:{sid}` | string, expires with the session's last token | api (sign-out) | api, relay, hub (every token check) |
//! | `{p}rate:{action}:{scope}:{subject}` | counter, expires at the end of its window | api | api |

use crate::messages::{ResultEvent, SubmissionJob};
use crate::project_events::ProjectEvent;
use crate::streams::TypedStream;
use crate::{AssignmentId, CourseId, FileId, SubmissionId, UserId};
use chrono::{DateTime, Utc};

/// Consumer group of the graders on the submissions stream.
pub const GRADERS_GROUP: &str = "graders";
/// Consumer group of the api on the results stream.
pub const API_GROUP: &str = "api";

/// Builds the names of all keys under one prefix.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix` (for example `cp:`).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The prefix every key starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Jobs for the graders.
    pub fn submissions(&self) -> TypedStream<SubmissionJob> {
        TypedStream::new(format!("{}submissions", self.prefix))
    }

    /// Grading progress and verdicts.
    pub fn results(&self) -> TypedStream<ResultEvent> {
        TypedStream::new(format!("{}results", self.prefix))
    }

    /// Set when a student deletes a submission that is not graded yet.
    pub fn cancelled(&self, submission: SubmissionId) -> String {
        format!("{}cancelled:{submission}", self.prefix)
    }

    /// Names the one entry of the submissions stream whose job is run for `submission`, created
    /// at `created` (which tells it from a submission of the same id in a database that was
    /// reset); other entries of it (dispatched again) are skipped.
    pub fn claimed(&self, submission: SubmissionId, created: DateTime<Utc>) -> String {
        format!(
            "{}claimed:{submission}@{}",
            self.prefix,
            created.timestamp_micros()
        )
    }

    /// Cached assignment list of a course (shared by all users).
    pub fn cache_course_assignments(&self, course: CourseId) -> String {
        format!("{}cache:course:{course}:assignments", self.prefix)
    }

    /// Cached single assignment.
    pub fn cache_assignment(&self, assignment: AssignmentId) -> String {
        format!("{}cache:assignment:{assignment}", self.prefix)
    }

    /// Cached list of one user's submissions to one assignment.
    pub fn cache_submissions(&self, user: UserId, assignment: AssignmentId) -> String {
        format!("{}cache:submissions:{user}:{assignment}", self.prefix)
    }

    /// Cached progress (solved/attempted per assignment) of one user in one course.
    pub fn cache_progress(&self, user: UserId, course: CourseId) -> String {
        format!("{}cache:progress:{user}:{course}", self.prefix)
    }

    /// The update log of the live document of one file.
    pub fn hub_document(&self, file: FileId) -> String {
        format!("{}hub:doc:{file}", self.prefix)
    }

    /// The presence (awareness) updates of the live document of one file: a short stream
    /// that expires, apart from the durable log.
    pub fn hub_presence(&self, file: FileId) -> String {
        format!("{}hub:presence:{file}", self.prefix)
    }

    /// Access and file-tree changes of every project of the deployment, in order.
    pub fn hub_project_events(&self) -> TypedStream<ProjectEvent> {
        TypedStream::new(format!("{}hub:project-events", self.prefix))
    }

    /// Written to when one hub instance opens or closes a document, so that its blocked
    /// follower re-reads the set of logs it follows.
    pub fn hub_wake(&self, instance: &str) -> String {
        format!("{}hub:wake:{instance}", self.prefix)
    }

    /// One part (`conns`, `entries`, `seen`, `version`) of a course's class presence.
    pub fn hub_class(&self, course: CourseId, part: &str) -> String {
        format!("{}hub:class:{course}:{part}", self.prefix)
    }

    /// The pub/sub channel of every course's presence changes.
    pub fn hub_class_events(&self) -> String {
        format!("{}hub:class-events", self.prefix)
    }

    /// The pub/sub channel on which the api says whose progress in which course changed
    /// ([`progress`](crate::progress)).
    pub fn course_progress(&self) -> String {
        format!("{}course-progress", self.prefix)
    }

    /// Present while the session `sid` is signed out (until its last token would expire).
    pub fn revoked_session(&self, sid: &str) -> String {
        format!("{}session:revoked:{sid}", self.prefix)
    }

    /// Attempts at `action` (`login`, `register`, `guest`) by one `subject` (a client address
    /// or an account name) of its `scope` (`address`, `account`) in the current window.
    pub fn rate_limit(&self, action: &str, scope: &str, subject: &str) -> String {
        format!("{}rate:{action}:{scope}:{subject}", self.prefix)
    }
}
