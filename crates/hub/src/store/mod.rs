//! The hub's Postgres side: who may open which project, the project's files and the stored
//! state of their documents, and courses' templates.

pub mod documents;
pub mod files;
pub mod projects;
pub mod templates;

use serde::Serialize;
use utoipa::ToSchema;

/// What a user may do with a project.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
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
