//! The api's integration tests, one binary (linking is the slowest part of a build): the real
//! api started in-process on port 0 by the test kit against the real Postgres (a scratch
//! database per test) and Redis (a key prefix per test), and, for the browser test, the whole
//! platform with a grader running submissions in Docker.
//!
//! - [`bad_requests`]: bad input gets a 4xx with a JSON body naming the problem, never a 500;
//! - [`authoring`]: reordering, handout previews and trials of reference solutions;
//! - [`flows`]: the student and teacher flows, with grader events injected on the stream;
//! - [`roles`]: no self-made teachers, the operator's command, co-teachers, publishing, bounds;
//! - [`dispatch`]: jobs go to the graders a few per user at a time, and survive outages;
//! - [`openapi_fuzz`]: Schemathesis fuzzes the api from its own OpenAPI document;
//! - [`storage`]: a nearly full Redis makes the api refuse new work, then take it again;
//! - [`browser`]: the web UI in headless Chromium against the whole stack;
//! - [`abuse`]: rate limits on sign-ins, registrations and guests, and bounded password hashing;
//! - [`sessions`]: a session's maximum age, and signing out revoking its tokens everywhere.
//!
//! [`app`] starts the api and holds the HTTP client helpers the first three share.

mod abuse;
mod app;
mod authoring;
mod bad_requests;
mod browser;
mod dispatch;
mod flows;
mod openapi_fuzz;
mod roles;
mod sessions;
mod storage;
