//! The hub's Postgres side: who may open which project, the project's files and the stored
//! state of their documents, courses' templates, and the threads pinned to code.

pub mod documents;
pub mod files;
pub mod projects;
pub mod templates;
pub mod threads;

/// What a user may do with a project (defined with the project events that announce it).
pub use contracts::Access;
