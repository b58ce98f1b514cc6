//! The hub's Postgres side: who may open which project, the project's files and the stored
//! state of their documents, and courses' templates.

pub mod documents;
pub mod files;
pub mod projects;
pub mod templates;

/// What a user may do with a project (defined with the project events that announce it).
pub use contracts::Access;
