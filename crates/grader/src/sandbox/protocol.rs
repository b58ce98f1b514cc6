//! The conversation with the runner inside the sandbox image: one JSON document in on stdin,
//! one line `<nonce> <json>` out on stdout. The nonce is fresh per job and only the runner
//! knows it, so a submission cannot forge a report by printing one; anything else the
//! container prints is ignored.
//!
//! The report's texts come from the submission (what it raised, printed or returned) and are
//! read as [`ShownText`]. The runner writes JSON with `ensure_ascii`, so a lone surrogate a
//! program produced (Python's `"\ud800"`) arrives as a `\ud800` escape, which is not valid
//! JSON for a Rust reader: [`mend_lone_surrogates`] turns it into the shown escape first.

use contracts::{Limits, Runtime, ShownText, SubmissionJob, TestCase, TestOutcome};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
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
    pub message: ShownText,
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
    let mut report: RunnerReport = serde_json::from_slice(&mend_lone_surrogates(line))
        .map_err(|e| ReportProblem::Malformed(e.to_string()))?;
    check_tests(&report, tests)?;
    // The runner shortens long names; the student sees the job's own.
    for (outcome, test) in report.tests.iter_mut().zip(tests) {
        outcome.name = ShownText::new(test.name());
    }
    Ok(report)
}

/// `json` with every `\uXXXX` escape of a surrogate that is not half of a pair replaced by
/// the escaped text of its [`ShownText::surrogate_escape`]. Escapes only occur inside strings,
/// so a scan for backslashes finds them all.
pub fn mend_lone_surrogates(json: &[u8]) -> Cow<'_, [u8]> {
    let mut mended: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut at = 0;
    while at < json.len() {
        if json[at] != b'\\' {
            at += 1;
            continue;
        }
        let Some(unit) = unicode_escape(&json[at..]) else {
            // `\\`, `\"`, `\n` and the like: skip both bytes.
            at += 2;
            continue;
        };
        let pair = match unit {
            0xD800..=0xDBFF => unicode_escape(&json[at + 6..])
                .filter(|low| (0xDC00..=0xDFFF).contains(low))
                .map(|_| 12),
            0xDC00..=0xDFFF => None,
            _ => Some(6),
        };
        match pair {
            Some(length) => at += length,
            None => {
                let out = mended.get_or_insert_with(|| Vec::with_capacity(json.len() + 16));
                out.extend_from_slice(&json[copied..at]);
                // The escape's own backslash, escaped for JSON.
                out.extend_from_slice(
                    ShownText::surrogate_escape(unit)
                        .replace('\\', "\\\\")
                        .as_bytes(),
                );
                at += 6;
                copied = at;
            }
        }
    }
    match mended {
        Some(mut out) => {
            out.extend_from_slice(&json[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(json),
    }
}

/// The code unit of a `\uXXXX` escape at the start of `bytes`.
fn unicode_escape(bytes: &[u8]) -> Option<u16> {
    match bytes {
        [b'\\', b'u', hex @ ..] if hex.len() >= 4 => {
            u16::from_str_radix(std::str::from_utf8(&hex[..4]).ok()?, 16).ok()
        }
        _ => None,
    }
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

/// The runner reports the name it was given, shown as the student sees it.
fn names_match(reported: &ShownText, name: &str) -> bool {
    *reported == ShownText::new(name)
        || (name.chars().count() > REPORTED_NAME_CHARS
            && *reported
                == ShownText::new(&name.chars().take(REPORTED_NAME_CHARS).collect::<String>()))
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
        assert_eq!(report.tests[0].name.as_str(), long);
    }

    #[test]
    fn lone_surrogates_are_mended_and_pairs_kept() {
        let json =
            br#"{"a":"x\ud800y","b":"\udfff","c":"\ud83c\udf89","d":"\\ud800","e":"\ud800\u0041"}"#;
        let mended = mend_lone_surrogates(json);
        let value: serde_json::Value = serde_json::from_slice(&mended).unwrap();
        assert_eq!(value["a"], "x\\u{d800}y");
        assert_eq!(value["b"], "\\u{dfff}");
        assert_eq!(value["c"], "🎉");
        assert_eq!(
            value["d"], "\\ud800",
            "an escaped backslash is not an escape"
        );
        assert_eq!(value["e"], "\\u{d800}A");
        assert!(matches!(
            mend_lone_surrogates(br#"{"ok":"\u00e9"}"#),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_report_with_control_characters_and_a_lone_surrogate_is_read_as_shown_text() {
        let line = r#"n0nce {"compile":{"ok":true},"tests":[{"name":"adds","status":"error","message":"ValueError: \ud800 \u0000 \u001b[31m","duration_ms":3},{"name":"adds negatives","status":"passed","duration_ms":2}]}"#;
        let report = find_report(line.as_bytes(), "n0nce", &tests()).unwrap();
        assert_eq!(
            report.tests[0].message.as_ref().unwrap().as_str(),
            "ValueError: \\u{d800} \\0 \\x1b[31m"
        );
    }

    #[test]
    fn a_name_with_control_characters_still_matches_its_test() {
        let mut tests = tests();
        tests.truncate(1);
        if let TestCase::Call { name, .. } = &mut tests[0] {
            *name = "tab\there \u{1b}".into();
        }
        let line = r#"n0nce {"compile":{"ok":true},"tests":[{"name":"tab\there \u001b","status":"passed","duration_ms":1}]}"#;
        let report = find_report(line.as_bytes(), "n0nce", &tests).unwrap();
        assert_eq!(report.tests[0].name.as_str(), "tab\there \\x1b");
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
