//! The grader's integration tests, one binary (linking is the slowest part of a build): real
//! graders, in this process on port 0 (`testkit::spawn`) or as the real binary in a child
//! process, against the local Redis (a key prefix per test, or a Redis server of the test's
//! own) and Docker with the sandbox image; the api and the whole platform from the test kit
//! where a test goes through them.
//!
//! - [`verdicts`]: honest and hostile submissions get the verdicts they deserve;
//! - [`bytes`]: any bytes a program produces end in a recorded, readable verdict;
//! - [`dead_letters`]: what cannot be handled is dead-lettered without holding up the rest;
//! - [`fairness`]: one user's flood delays another user's verdict by a few jobs at most;
//! - [`crash_recovery`]: a grader killed or stopped mid-job loses no job and grades none twice;
//! - [`readiness`]: the HTTP endpoints, and a grader without Docker;
//! - [`outages`]: Docker or the sandbox image away pauses grading, Redis losing its data
//!   loses no job, and nothing is graded twice;
//! - [`pipeline`]: api → grader → api through HTTP, also across a Redis that lost its data.
//!
//! [`support`] holds what these tests share beyond the test kit.

mod bytes;
mod crash_recovery;
mod dead_letters;
mod fairness;
mod outages;
mod pipeline;
mod readiness;
mod support;
mod verdicts;
