//! The api's queries, by table. Handlers and the results consumer call these; nothing else
//! builds SQL.

pub mod assignments;
pub mod courses;
pub mod submissions;
pub mod teachers;
pub mod trials;
pub mod users;
