//! The conversation with the runner inside the sandbox image: one JSON document in on stdin,
//! one line `<nonce> <json>` out on stdout. The nonce is fresh per job and only the runner
//! knows it, so a submission cannot forge a report by printing one; anything else the
//! container prints is ignored.

use contracts::{Limits, Runtime, SubmissionJob, TestCase, TestOutcome};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The document written to the runner's standard input.
#[derive(Debug, Serialize)]
pub struct RunnerInput<'a> {
    pub nonce: &'a str,
    pub file_name: &'a str,
    pub code: &'a str,
    pub compile: Option<&'a [String]>,
    pub run: &'a [String],
    pub call: Option<&'a [String]>,
    pub tests: &'a [TestCase],
    pub limits: Limits,
}

impl<'a> RunnerInput<'a> {
    pub fn new(nonce: &'a str, job: &'a SubmissionJob, runtime: &'a Runtime) -> Self {
        Self {
            nonce,
            file_name: &runtime.file_name,
            code: &job.code,
            compile: runtime.compile.as_deref(),
            run: &runtime.run,
            call: runtime.call.as_deref(),
            tests: &job.tests,
            limits: job.limits,
        }
    }
}

/// The outcome of the compile step (always `ok` for languages without one).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CompileReport {
    pub ok: bool,
    #[serde(default)]
    pub message: String,
}

/// The runner's report of one run.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct RunnerReport {
    pub compile: CompileReport,
    #[serde(default)]
    pub tests: Vec<TestOutcome>,
    /// Set when the runner itself failed (a malformed job, a bug): nothing was judged.
    #[serde(default)]
    pub internal_error: Option<String>,
}

/// Why the output held no usable report.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReportProblem {
    #[error("no line starts with the nonce")]
    Missing,
    #[error("{0} lines start with the nonce")]
    Repeated(usize),
    #[error("the report is not valid JSON: {0}")]
    Malformed(String),
    #[error("the report's tests do not match the job's: {0}")]
    Mismatch(String),
}

/// A fresh random nonce: 128 bits as hex.
pub fn new_nonce() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().fold(String::with_capacity(32), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// Finds the one report line for `nonce` in `stdout` and checks that it reports on exactly
/// the job's tests, in order.
pub fn find_report(
    stdout: &[u8],
    nonce: &str,
    tests: &[TestCase],
) -> Result<RunnerReport, ReportProblem> {
    let prefix = format!("{nonce} ");
    let lines: Vec<&[u8]> = stdout
        .split(|b| *b == b'\n')
        .filter(|line| line.starts_with(prefix.as_bytes()))
        .collect();
    let line = match lines.as_slice() {
        [] => return Err(ReportProblem::Missing),
        [line] => &line[prefix.len()..],
        more => return Err(ReportProblem::Repeated(more.len())),
    };
    let mut report: RunnerReport =
        serde_json::from_slice(line).map_err(|e| ReportProblem::Malformed(e.to_string()))?;
    check_tests(&report, tests)?;
    // The runner shortens long names; the student sees the job's own.
    for (outcome, test) in report.tests.iter_mut().zip(tests) {
        outcome.name = test.name().to_owned();
    }
    Ok(report)
}

/// The runner reports at most this many characters of a test's name.
const REPORTED_NAME_CHARS: usize = 200;

/// A report must name the job's tests in order; after a failed compile step (or a failure of
/// the runner itself) it may name none.
fn check_tests(report: &RunnerReport, tests: &[TestCase]) -> Result<(), ReportProblem> {
    if (!report.compile.ok || report.internal_error.is_some()) && report.tests.is_empty() {
        return Ok(());
    }
    if report.tests.len() != tests.len() {
        return Err(ReportProblem::Mismatch(format!(
            "{} results for {} tests",
            report.tests.len(),
            tests.len()
        )));
    }
    match report
        .tests
        .iter()
        .zip(tests)
        .find(|(outcome, test)| !names_match(&outcome.name, test.name()))
    {
        Some((outcome, test)) => Err(ReportProblem::Mismatch(format!(
            "result `{}` where `{}` was expected",
            outcome.name,
            test.name()
        ))),
        None => Ok(()),
    }
}

fn names_match(reported: &str, name: &str) -> bool {
    reported == name
        || (name.chars().count() > REPORTED_NAME_CHARS
            && name.chars().take(REPORTED_NAME_CHARS).eq(reported.chars()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::TestStatus;

    fn tests() -> Vec<TestCase> {
        ["adds", "adds negatives"]
            .into_iter()
            .map(|name| TestCase::Call {
                name: name.into(),
                call: "add(1, 2)".into(),
                expected: Some("3".into()),
                raises: None,
                hidden: false,
            })
            .collect()
    }

    const REPORT: &str = r#"{"compile":{"ok":true,"message":""},"tests":[{"name":"adds","status":"passed","message":null,"duration_ms":3},{"name":"adds negatives","status":"failed","message":"expected 6 but got 14","duration_ms":2}]}"#;

    #[test]
    fn nonces_are_fresh_hex() {
        let (a, b) = (new_nonce(), new_nonce());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn only_the_line_with_the_nonce_counts() {
        let forged = REPORT.replace("failed", "passed");
        let stdout = format!("OK\nfake {forged}\nabc {forged}\nn0nce {REPORT}\ntrailing noise");
        let report = find_report(stdout.as_bytes(), "n0nce", &tests()).unwrap();
        assert!(report.compile.ok);
        assert_eq!(report.tests[1].status, TestStatus::Failed);
    }

    #[test]
    fn a_missing_or_repeated_report_is_rejected() {
        assert_eq!(
            find_report(b"OK\n", "n0nce", &tests()),
            Err(ReportProblem::Missing)
        );
        let twice = format!("n0nce {REPORT}\nn0nce {REPORT}\n");
        assert_eq!(
            find_report(twice.as_bytes(), "n0nce", &tests()),
            Err(ReportProblem::Repeated(2))
        );
        assert!(matches!(
            find_report(b"n0nce {not json", "n0nce", &tests()),
            Err(ReportProblem::Malformed(_))
        ));
    }

    #[test]
    fn a_report_about_other_tests_is_rejected() {
        let stdout = format!("n0nce {REPORT}\n");
        let mut renamed = tests();
        renamed.pop();
        assert!(matches!(
            find_report(stdout.as_bytes(), "n0nce", &renamed),
            Err(ReportProblem::Mismatch(_))
        ));
    }

    #[test]
    fn long_names_may_come_back_shortened() {
        let long = "n".repeat(250);
        let tests = vec![TestCase::Io {
            name: long.clone(),
            stdin: String::new(),
            expected_stdout: String::new(),
            hidden: false,
        }];
        let line = format!(
            r#"n0nce {{"compile":{{"ok":true}},"tests":[{{"name":"{}","status":"passed","duration_ms":1}}]}}"#,
            &long[..200]
        );
        let report = find_report(line.as_bytes(), "n0nce", &tests).unwrap();
        assert_eq!(report.tests[0].name, long);
    }

    #[test]
    fn a_failed_compile_may_report_no_tests() {
        let line = r#"n0nce {"compile":{"ok":false,"message":"line 1"},"tests":[]}"#;
        let report = find_report(line.as_bytes(), "n0nce", &tests()).unwrap();
        assert!(!report.compile.ok);
    }

    #[test]
    fn the_input_carries_the_runtime_commands() {
        let runtime = contracts::RuntimeCatalog::builtin()
            .get("python3")
            .cloned()
            .unwrap();
        let job = SubmissionJob {
            v: contracts::MESSAGE_VERSION,
            submission_id: contracts::SubmissionId(1),
            user_id: contracts::UserId(2),
            assignment_id: contracts::AssignmentId(3),
            runtime: "python3".into(),
            code: "def add(a, b): return a + b".into(),
            tests: tests(),
            limits: Limits::default(),
            enqueued_at: chrono::Utc::now(),
        };
        let json = serde_json::to_value(RunnerInput::new("n0nce", &job, &runtime)).unwrap();
        assert_eq!(json["nonce"], "n0nce");
        assert_eq!(json["file_name"], "solution.py");
        assert_eq!(json["run"][0], "python3");
        assert_eq!(json["tests"][0]["kind"], "call");
        assert_eq!(json["limits"]["time_ms"], 2000);
    }
}
