//! What the grader's tests need beyond the test kit: jobs of the `add` exercise ([`jobs`]),
//! the streams seen from outside with bounded waits ([`queue`]), the grader unready or as a
//! child process ([`grader`]) and a student using the api ([`student`]).

pub mod grader;
pub mod jobs;
pub mod queue;
pub mod student;
