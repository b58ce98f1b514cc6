//! Row types of the tables, as diesel reads and writes them.

use crate::schema::{assignments, courses, submissions, trials, users};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub role: String,
    pub guest: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: Option<&'a str>,
    pub role: &'a str,
    pub guest: bool,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = courses)]
pub struct Course {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub owner_id: i64,
    pub created_at: DateTime<Utc>,
    /// In the catalogue of every user; otherwise only its participants and invitees see it.
    pub published: bool,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = assignments)]
pub struct Assignment {
    pub id: i64,
    pub course_id: i64,
    pub position: i32,
    pub title: String,
    pub handout: String,
    pub runtime: String,
    pub starter_code: String,
    pub tests: Value,
    pub time_limit_ms: i32,
    pub memory_limit_mb: i32,
    pub output_limit_kb: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The editable fields of an assignment, for inserts and updates alike.
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = assignments)]
pub struct AssignmentFields {
    pub position: i32,
    pub title: String,
    pub handout: String,
    pub runtime: String,
    pub starter_code: String,
    pub tests: Value,
    pub time_limit_ms: i32,
    pub memory_limit_mb: i32,
    pub output_limit_kb: i32,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = submissions)]
pub struct Submission {
    pub id: i64,
    pub assignment_id: i64,
    pub user_id: i64,
    pub runtime: String,
    pub code: String,
    pub status: String,
    pub verdict: Option<String>,
    pub test_results: Value,
    pub feedback: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When its job was put on the submissions stream; `None` while it waits in Postgres.
    pub dispatched_at: Option<DateTime<Utc>>,
    /// The stream entry id of its job, once dispatched.
    pub stream_entry: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = submissions)]
pub struct NewSubmission<'a> {
    pub assignment_id: i64,
    pub user_id: i64,
    pub runtime: &'a str,
    pub code: &'a str,
}

/// A reference solution a teacher tried against tests before saving them (`crates/api`).
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = trials)]
pub struct Trial {
    pub id: i64,
    pub course_id: i64,
    pub user_id: i64,
    pub tests: Value,
    pub status: String,
    pub outcome: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}
