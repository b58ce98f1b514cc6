//! The messages on the streams. Each is self-contained (a grader never asks anyone for
//! anything), versioned with `v`, and stamped so that every hop's latency can be measured.
//! Every text in a result that a student's program could have shaped is a [`ShownText`], so
//! whatever bytes it printed or raised, a verdict can be stored and shown.

use crate::text::ShownText;
use crate::{AssignmentId, SubmissionId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Version written into every message; readers reject versions they do not know.
pub const MESSAGE_VERSION: u16 = 1;

/// One test of an assignment. Tests are data, not code the student could see or change.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TestCase {
    /// Run the program with `stdin`; its standard output must equal `expected_stdout`
    /// (trailing whitespace on each line and at the end is ignored).
    Io {
        name: String,
        #[serde(default)]
        stdin: String,
        expected_stdout: String,
        /// A hidden test shows the student its name and outcome, never its input, expected
        /// value, or what the program printed for it.
        #[serde(default)]
        hidden: bool,
    },
    /// Evaluate `call` (an expression such as `add(2, 3)`) against the submission's module;
    /// its value must equal the literal `expected`, or it must raise `raises`.
    Call {
        name: String,
        call: String,
        #[serde(default)]
        expected: Option<String>,
        #[serde(default)]
        raises: Option<String>,
        /// As for `Io`.
        #[serde(default)]
        hidden: bool,
    },
}

impl TestCase {
    /// The test's name, shown to the student.
    pub fn name(&self) -> &str {
        match self {
            TestCase::Io { name, .. } | TestCase::Call { name, .. } => name,
        }
    }

    /// Whether the student may see only the test's name and outcome.
    pub fn is_hidden(&self) -> bool {
        match self {
            TestCase::Io { hidden, .. } | TestCase::Call { hidden, .. } => *hidden,
        }
    }
}

/// Resource limits of one submission's run.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// CPU and wall time allowed for each test, in milliseconds.
    #[cfg_attr(feature = "openapi", schema(minimum = 100, maximum = 30000))]
    pub time_ms: u32,
    /// Memory for the submission's process, in MiB.
    #[cfg_attr(feature = "openapi", schema(minimum = 16, maximum = 1024))]
    pub memory_mb: u32,
    /// Output the submission may print per test, in KiB.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4096))]
    pub output_kb: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            time_ms: 2_000,
            memory_mb: 128,
            output_kb: 64,
        }
    }
}

/// A submission to grade, on the `submissions` stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionJob {
    pub v: u16,
    pub submission_id: SubmissionId,
    pub user_id: UserId,
    pub assignment_id: AssignmentId,
    pub runtime: String,
    pub code: String,
    pub tests: Vec<TestCase>,
    pub limits: Limits,
    pub enqueued_at: DateTime<Utc>,
}

/// The overall outcome of a graded submission.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accepted,
    WrongAnswer,
    CompileError,
    RuntimeError,
    TimeLimit,
    MemoryLimit,
    OutputLimit,
    InternalError,
}

impl Verdict {
    /// Every verdict, in declaration order.
    pub const ALL: [Verdict; 8] = [
        Verdict::Accepted,
        Verdict::WrongAnswer,
        Verdict::CompileError,
        Verdict::RuntimeError,
        Verdict::TimeLimit,
        Verdict::MemoryLimit,
        Verdict::OutputLimit,
        Verdict::InternalError,
    ];

    /// The snake_case name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::WrongAnswer => "wrong_answer",
            Verdict::CompileError => "compile_error",
            Verdict::RuntimeError => "runtime_error",
            Verdict::TimeLimit => "time_limit",
            Verdict::MemoryLimit => "memory_limit",
            Verdict::OutputLimit => "output_limit",
            Verdict::InternalError => "internal_error",
        }
    }
}

/// The outcome of one test.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    Passed,
    Failed,
    Error,
    TimeLimit,
    MemoryLimit,
    OutputLimit,
    /// Not run because an earlier test hit a limit.
    Skipped,
}

/// One test's result, as shown to the student.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestOutcome {
    pub name: ShownText,
    pub status: TestStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<ShownText>,
    pub duration_ms: u64,
}

/// What happened to a submission, on the `results` stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultEvent {
    pub v: u16,
    pub submission_id: SubmissionId,
    pub user_id: UserId,
    pub assignment_id: AssignmentId,
    pub enqueued_at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: ResultKind,
}

/// The three things a grader reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ResultKind {
    /// A grader took the job and is starting its container.
    Grading { started_at: DateTime<Utc> },
    /// The verdict.
    Graded {
        verdict: Verdict,
        tests: Vec<TestOutcome>,
        feedback: ShownText,
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
    },
    /// The job could not be graded after every retry; `reason` is for the student.
    Error {
        reason: ShownText,
        finished_at: DateTime<Utc>,
    },
}

/// An entry a consumer gave up on (it failed too often, or can never be handled), moved to the
/// dead-letter stream `<stream>:dead` by [`crate::consumer`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub v: u16,
    /// The entry id it had on its stream.
    pub original_id: String,
    /// The raw payload, kept even when it could not be decoded.
    pub payload: String,
    pub reason: String,
    /// Deliveries it had when it was given up.
    pub attempts: u64,
    pub dead_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> SubmissionJob {
        SubmissionJob {
            v: MESSAGE_VERSION,
            submission_id: SubmissionId(7),
            user_id: UserId(3),
            assignment_id: AssignmentId(1),
            runtime: "python3".into(),
            code: "print('hi')".into(),
            tests: vec![
                TestCase::Io {
                    name: "prints hi".into(),
                    stdin: String::new(),
                    expected_stdout: "hi\n".into(),
                    hidden: false,
                },
                TestCase::Call {
                    name: "adds".into(),
                    call: "add(1, 2)".into(),
                    expected: Some("3".into()),
                    raises: None,
                    hidden: true,
                },
            ],
            limits: Limits::default(),
            enqueued_at: Utc::now(),
        }
    }

    #[test]
    fn submission_job_round_trips() {
        let job = job();
        let json = serde_json::to_string(&job).unwrap();
        assert_eq!(serde_json::from_str::<SubmissionJob>(&json).unwrap(), job);
        assert!(json.contains(r#""kind":"io""#), "{json}");
    }

    #[test]
    fn result_event_round_trips_with_a_flat_status_tag() {
        let event = ResultEvent {
            v: MESSAGE_VERSION,
            submission_id: SubmissionId(7),
            user_id: UserId(3),
            assignment_id: AssignmentId(1),
            enqueued_at: Utc::now(),
            kind: ResultKind::Graded {
                verdict: Verdict::WrongAnswer,
                tests: vec![TestOutcome {
                    name: "adds".into(),
                    status: TestStatus::Failed,
                    message: Some("expected 3, got \0 4".into()),
                    duration_ms: 12,
                }],
                feedback: "adds: expected 3, got 4".into(),
                started_at: Utc::now(),
                finished_at: Utc::now(),
            },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["status"], "graded");
        assert_eq!(json["verdict"], "wrong_answer");
        assert_eq!(json["tests"][0]["message"], "expected 3, got \\0 4");
        let back: ResultEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn a_result_event_with_raw_control_characters_decodes_to_shown_text() {
        // As a producer that skipped `ShownText` would write it.
        let raw = r#"{"v":1,"submission_id":1,"user_id":2,"assignment_id":3,
            "enqueued_at":"2024-01-01T00:00:00Z","status":"graded","verdict":"runtime_error",
            "tests":[{"name":"t\u0000","status":"error","message":"x\u0000\u001b[2J",
            "duration_ms":1}],"feedback":"bad \u0000","started_at":"2024-01-01T00:00:00Z",
            "finished_at":"2024-01-01T00:00:01Z"}"#;
        let event: ResultEvent = serde_json::from_str(raw).unwrap();
        let ResultKind::Graded {
            tests, feedback, ..
        } = event.kind
        else {
            panic!("a graded event");
        };
        assert_eq!(feedback.as_str(), "bad \\0");
        assert_eq!(tests[0].name.as_str(), "t\\0");
        assert_eq!(tests[0].message.as_ref().unwrap().as_str(), "x\\0\\x1b[2J");
    }

    #[test]
    fn verdict_names_match_serde() {
        for verdict in Verdict::ALL {
            let json = serde_json::to_value(verdict).unwrap();
            assert_eq!(json, verdict.as_str());
        }
    }
}
