//! The events of projects (`Keys::hub_project_events`): who may now do what with a project,
//! and how its file tree changed. The hub appends one whenever its HTTP API changes a
//! membership or the tree; every hub replica follows the stream and applies access changes to
//! the document sockets open on it at once, and a client showing a project's tree (the web
//! IDE) can follow the tree changes. A stream rather than pub/sub, so that a replica that lost
//! its Redis connection for a moment reads on from where it was instead of missing a
//! revocation.

use crate::{FileId, ProjectId, ThreadId, UserId};
use serde::{Deserialize, Serialize};

/// What a user may do with a project.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "read" => Some(Access::Read),
            "write" => Some(Access::Write),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// One event of one project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectEvent {
    /// [`crate::MESSAGE_VERSION`].
    pub v: u16,
    pub project_id: ProjectId,
    #[serde(flatten)]
    pub change: ProjectChange,
}

/// What happened, in the `event` field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ProjectChange {
    /// `user_id` may now do `access` with the project: what a socket of theirs opened now
    /// would get, teaching included; `None` when nothing (revoked).
    AccessChanged {
        user_id: UserId,
        access: Option<Access>,
    },
    /// A file or directory was created (missing parents first, each its own event).
    FileCreated { file: FileEntry },
    /// A file or directory moved from path `from`; a directory's contents moved with it.
    FileMoved { file: FileEntry, from: String },
    /// Files and directories were deleted (a directory with everything under it).
    FilesDeleted { file_ids: Vec<FileId> },
    /// A thread pinned to `file_id` was opened, or changed: a comment added, edited or
    /// removed, resolved or reopened, its visibility changed. Only ids, because not everyone
    /// who follows the project may see the thread: a client fetches it again
    /// (`GET /hub/threads/{thread_id}`), which answers only those who may.
    ThreadChanged {
        thread_id: ThreadId,
        file_id: FileId,
    },
}

/// A file or directory of a project as an event names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub id: FileId,
    pub path: String,
    pub directory: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(change: ProjectChange, expected: serde_json::Value) {
        let event = ProjectEvent {
            v: crate::MESSAGE_VERSION,
            project_id: ProjectId(12),
            change,
        };
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(value, expected);
        assert_eq!(
            serde_json::from_value::<ProjectEvent>(value).unwrap(),
            event
        );
    }

    #[test]
    fn every_event_round_trips_in_its_documented_shape() {
        round_trip(
            ProjectChange::AccessChanged {
                user_id: UserId(34),
                access: Some(Access::Read),
            },
            json!({"v": 1, "project_id": 12, "event": "access_changed", "user_id": 34,
                   "access": "read"}),
        );
        round_trip(
            ProjectChange::AccessChanged {
                user_id: UserId(34),
                access: None,
            },
            json!({"v": 1, "project_id": 12, "event": "access_changed", "user_id": 34,
                   "access": null}),
        );
        let file = FileEntry {
            id: FileId(5),
            path: "src/a.py".into(),
            directory: false,
        };
        round_trip(
            ProjectChange::ThreadChanged {
                thread_id: ThreadId(7),
                file_id: FileId(5),
            },
            json!({"v": 1, "project_id": 12, "event": "thread_changed", "thread_id": 7,
                   "file_id": 5}),
        );
        round_trip(
            ProjectChange::FileCreated { file: file.clone() },
            json!({"v": 1, "project_id": 12, "event": "file_created",
                   "file": {"id": 5, "path": "src/a.py", "directory": false}}),
        );
        round_trip(
            ProjectChange::FileMoved {
                file,
                from: "a.py".into(),
            },
            json!({"v": 1, "project_id": 12, "event": "file_moved", "from": "a.py",
                   "file": {"id": 5, "path": "src/a.py", "directory": false}}),
        );
        round_trip(
            ProjectChange::FilesDeleted {
                file_ids: vec![FileId(5), FileId(6)],
            },
            json!({"v": 1, "project_id": 12, "event": "files_deleted", "file_ids": [5, 6]}),
        );
    }

    #[test]
    fn access_names_parse_back() {
        for access in [Access::Read, Access::Write] {
            assert_eq!(Access::parse(access.as_str()), Some(access));
        }
        assert_eq!(Access::parse("admin"), None);
    }
}
