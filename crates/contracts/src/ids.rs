//! Identifier newtypes shared by every service, so a user id is never passed as a submission id.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = i64))]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A registered or guest account.
    UserId,
    /// A course, which owns assignments and templates.
    CourseId,
    /// One exercise of a course.
    AssignmentId,
    /// One submitted solution of one assignment.
    SubmissionId,
    /// One participant's collaborative project in a course.
    ProjectId,
    /// A file or directory of a project; a file's live document has the same id.
    FileId,
    /// A question pinned to a range of a file, with its comments.
    ThreadId,
    /// One comment of a thread.
    CommentId,
);
