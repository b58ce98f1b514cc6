//! A trial: a teacher's reference solution graded against an assignment as it stands in the
//! editor, before it is saved. Its job goes on the same `submissions` stream as any
//! submission and its events come back on `results`; what marks them as a trial's is
//! [`TRIAL_ASSIGNMENT`], since a trial belongs to no assignment.

use crate::domain::assignment::AssignmentRequest;
use contracts::{AssignmentId, SubmissionId, TestCase, TestOutcome, Verdict};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The assignment id a trial's job and its result events carry: no assignment has it
/// (assignment ids start at 1).
pub const TRIAL_ASSIGNMENT: AssignmentId = AssignmentId(0);

/// A trial. Trials draw their ids from the submissions' sequence, so the id a trial's job
/// carries on the stream is never also a submission's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = i64)]
pub struct TrialId(pub i64);

impl TrialId {
    /// The id its job carries on the `submissions` stream.
    pub fn job_id(self) -> SubmissionId {
        SubmissionId(self.0)
    }
}

/// The body of `POST /api/courses/{id}/trials`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialRequest {
    /// The reference solution: at most `max_code_bytes`, not blank, no NUL.
    #[schema(value_type = crate::domain::code::Code)]
    pub code: String,
    /// The assignment as it would be saved; checked as saving it would be, and a problem is
    /// named by the same field.
    pub assignment: AssignmentRequest,
}

/// What a grader reported of a trial, as stored.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TrialOutcome {
    pub verdict: Option<Verdict>,
    pub tests: Vec<TestOutcome>,
    pub feedback: String,
}

/// `tests` with every test shown: the grader leaves out what a hidden test's input and output
/// were, and the teacher trying them is to see exactly that.
pub fn revealed(mut tests: Vec<TestCase>) -> Vec<TestCase> {
    for test in &mut tests {
        match test {
            TestCase::Io { hidden, .. } | TestCase::Call { hidden, .. } => *hidden = false,
        }
    }
    tests
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revealed_tests_keep_everything_but_the_hiding() {
        let hidden = TestCase::Io {
            name: "big".into(),
            stdin: "9".into(),
            expected_stdout: "81".into(),
            hidden: true,
        };
        let [shown] = revealed(vec![hidden.clone()]).try_into().unwrap();
        assert!(!shown.is_hidden());
        assert_eq!(shown.name(), hidden.name());
        let TestCase::Io { stdin, .. } = shown else {
            panic!("still an io test");
        };
        assert_eq!(stdin, "9");
    }
}
