//! Jobs as the api would enqueue them, for the `add` exercise every test grades against.

use chrono::Utc;
use contracts::{
    AssignmentId, Limits, SubmissionId, SubmissionJob, TestCase, UserId, MESSAGE_VERSION,
};

/// Tests of the `add` exercise.
pub fn add_tests() -> Vec<TestCase> {
    vec![
        TestCase::Call {
            name: "adds".into(),
            call: "add(2, 3)".into(),
            expected: Some("5".into()),
            raises: None,
            hidden: false,
        },
        TestCase::Call {
            name: "adds negatives".into(),
            call: "add(-2, -4)".into(),
            expected: Some("-6".into()),
            raises: None,
            hidden: false,
        },
        TestCase::Io {
            name: "prints the sum".into(),
            stdin: "2 3\n".into(),
            expected_stdout: "5\n".into(),
            hidden: false,
        },
    ]
}

/// Just the first of [`add_tests`].
pub fn one_add_test() -> Vec<TestCase> {
    add_tests().into_iter().take(1).collect()
}

/// A right solution of the `add` exercise.
pub const RIGHT_ADD: &str = "\
def add(a, b):
    return a + b


if __name__ == \"__main__\":
    a, b = map(int, input().split())
    print(add(a, b))
";

/// A solution that takes `seconds` to import, for catching a grader mid-job.
pub fn slow_add(seconds: f64) -> String {
    format!("import time\ntime.sleep({seconds})\n\n\ndef add(a, b):\n    return a + b\n")
}

/// A `python3` job for `code` against `tests`.
pub fn job(submission: i64, code: &str, tests: Vec<TestCase>, limits: Limits) -> SubmissionJob {
    SubmissionJob {
        v: MESSAGE_VERSION,
        submission_id: SubmissionId(submission),
        user_id: UserId(1_000 + submission),
        assignment_id: AssignmentId(7),
        runtime: "python3".into(),
        code: code.into(),
        tests,
        limits,
        enqueued_at: Utc::now(),
    }
}

/// A right solution of `add` with all its tests and the default limits.
pub fn right_add(submission: i64) -> SubmissionJob {
    job(submission, RIGHT_ADD, add_tests(), Limits::default())
}
