//! Turns what a sandbox run left behind ([`Evidence`]) into a verdict, per-test results and one
//! sentence for the student. Pure: no Docker, no Redis, so every rule is unit-tested here. It
//! reads the sandbox's data types; the sandbox knows nothing of verdicts.
//!
//! With a valid report from the runner: a failure of the runner itself is `internal_error`, a
//! failed compile step is `compile_error`, otherwise the first test that did not pass decides.
//! Without one, the container's fate does: killed by the OOM killer → `memory_limit`, killed at
//! its deadline → `time_limit`, flooded its output → `output_limit`, anything else →
//! `internal_error`.

use crate::sandbox::protocol::RunnerReport;
use crate::sandbox::Evidence;
use contracts::{Limits, ShownText, TestCase, TestOutcome, TestStatus, Verdict};

/// The verdict with everything the student sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub tests: Vec<TestOutcome>,
    /// One sentence, quoting the runner's message (shown text already) where there is one.
    pub feedback: ShownText,
}

/// Judges one run of a submission's `tests` with `limits`.
pub fn judge(evidence: Evidence, tests: &[TestCase], limits: &Limits) -> Judgement {
    match evidence.report {
        Some(report) => judge_report(without_hidden_details(report, tests), limits),
        None => judge_without_report(&evidence, limits),
    }
}

/// The report with the runner's message dropped for every hidden test: it may quote the
/// test's input, its expected value, or what the program printed or raised for it. The
/// report names the job's tests in order (the sandbox checked), so they pair up by position.
fn without_hidden_details(mut report: RunnerReport, tests: &[TestCase]) -> RunnerReport {
    for (outcome, test) in report.tests.iter_mut().zip(tests) {
        if test.is_hidden() {
            outcome.message = None;
        }
    }
    report
}

fn judge_report(report: RunnerReport, limits: &Limits) -> Judgement {
    if let Some(problem) = &report.internal_error {
        tracing::error!(problem, "the sandbox runner failed");
        return Judgement {
            verdict: Verdict::InternalError,
            tests: report.tests,
            feedback: "The grader failed while running your code; please submit again.".into(),
        };
    }
    if !report.compile.ok {
        let message = report.compile.message.as_str().trim();
        let feedback = if message.is_empty() {
            "Your code does not compile.".to_owned()
        } else {
            format!("Your code does not compile: {message}")
        };
        return Judgement {
            verdict: Verdict::CompileError,
            tests: report.tests,
            feedback: feedback.into(),
        };
    }
    let deciding = report
        .tests
        .iter()
        .find(|t| !matches!(t.status, TestStatus::Passed | TestStatus::Skipped));
    let (verdict, feedback) = match deciding {
        Some(test) => (verdict_of(test.status), failure_sentence(test, limits)),
        None if report.tests.iter().any(|t| t.status == TestStatus::Skipped) => (
            Verdict::InternalError,
            "Some tests were skipped although none failed; please submit again.".to_owned(),
        ),
        None => (Verdict::Accepted, accepted_sentence(report.tests.len())),
    };
    Judgement {
        verdict,
        tests: report.tests,
        feedback: feedback.into(),
    }
}

fn judge_without_report(evidence: &Evidence, limits: &Limits) -> Judgement {
    let (verdict, feedback) = if evidence.oom_killed {
        (
            Verdict::MemoryLimit,
            format!(
                "Your program used more than the memory limit of {} MiB and was stopped.",
                limits.memory_mb
            ),
        )
    } else if evidence.deadline_hit && evidence.deadline_capped {
        (
            Verdict::TimeLimit,
            format!(
                "Your program was still running after {:.1} s, the longest any submission may \
                 be graded in total (whatever its tests' time limits add up to), and was stopped.",
                evidence.deadline_ms as f64 / 1000.0
            ),
        )
    } else if evidence.deadline_hit {
        (
            Verdict::TimeLimit,
            format!(
                "Your program did not finish within {:.1} s and was stopped.",
                evidence.deadline_ms as f64 / 1000.0
            ),
        )
    } else if evidence.output_overflow {
        (
            Verdict::OutputLimit,
            "Your program printed far more output than allowed and was stopped.".to_owned(),
        )
    } else {
        (
            Verdict::InternalError,
            "The grader could not read the results of your program; please submit again."
                .to_owned(),
        )
    };
    Judgement {
        verdict,
        tests: Vec::new(),
        feedback: feedback.into(),
    }
}

fn verdict_of(status: TestStatus) -> Verdict {
    match status {
        TestStatus::Passed => Verdict::Accepted,
        TestStatus::Failed => Verdict::WrongAnswer,
        TestStatus::Error => Verdict::RuntimeError,
        TestStatus::TimeLimit => Verdict::TimeLimit,
        TestStatus::MemoryLimit => Verdict::MemoryLimit,
        TestStatus::OutputLimit => Verdict::OutputLimit,
        TestStatus::Skipped => Verdict::InternalError,
    }
}

/// `Test "adds negatives" failed: expected 6 but got 14`, and the like for every status. The
/// runner's message says what happened; without one, the limit itself is named.
fn failure_sentence(test: &TestOutcome, limits: &Limits) -> String {
    let name = &test.name;
    let detail = test
        .message
        .as_ref()
        .map(|m| m.as_str().trim())
        .filter(|m| !m.is_empty());
    let (what, limit) = match test.status {
        TestStatus::Failed => ("failed", None),
        TestStatus::Error => ("raised an error", None),
        TestStatus::TimeLimit => (
            "hit the time limit",
            Some(format!("of {} ms", limits.time_ms)),
        ),
        TestStatus::MemoryLimit => (
            "hit the memory limit",
            Some(format!("of {} MiB", limits.memory_mb)),
        ),
        TestStatus::OutputLimit => (
            "hit the output limit",
            Some(format!("of {} KiB", limits.output_kb)),
        ),
        TestStatus::Passed | TestStatus::Skipped => ("was not run", None),
    };
    match (detail, limit) {
        (Some(detail), _) => format!("Test \"{name}\" {what}: {detail}"),
        (None, Some(limit)) => format!("Test \"{name}\" {what} {limit}."),
        (None, None) => format!("Test \"{name}\" {what}."),
    }
}

fn accepted_sentence(tests: usize) -> String {
    match tests {
        0 => "Accepted.".to_owned(),
        1 => "The test passed.".to_owned(),
        n => format!("All {n} tests passed."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::protocol::CompileReport;

    fn outcome(name: &str, status: TestStatus, message: Option<&str>) -> TestOutcome {
        TestOutcome {
            name: name.into(),
            status,
            message: message.map(Into::into),
            duration_ms: 5,
        }
    }

    fn report(tests: Vec<TestOutcome>) -> Evidence {
        Evidence {
            report: Some(RunnerReport {
                compile: CompileReport {
                    ok: true,
                    message: ShownText::default(),
                },
                tests,
                internal_error: None,
            }),
            ..Evidence::default()
        }
    }

    fn verdict(evidence: Evidence) -> Judgement {
        judge(evidence, &[], &Limits::default())
    }

    fn io_test(name: &str, hidden: bool) -> TestCase {
        TestCase::Io {
            name: name.into(),
            stdin: "SECRET-INPUT".into(),
            expected_stdout: "SECRET-EXPECTED".into(),
            hidden,
        }
    }

    #[test]
    fn a_hidden_test_shows_its_name_and_outcome_and_nothing_else() {
        let tests = [io_test("visible", false), io_test("hidden", true)];
        let leaky = "expected 'SECRET-EXPECTED' for input 'SECRET-INPUT', got 'x'; stderr: oops";
        let judged = judge(
            report(vec![
                outcome("visible", TestStatus::Passed, None),
                outcome("hidden", TestStatus::Failed, Some(leaky)),
            ]),
            &tests,
            &Limits::default(),
        );
        assert_eq!(judged.verdict, Verdict::WrongAnswer);
        assert_eq!(judged.feedback, "Test \"hidden\" failed.");
        assert_eq!(judged.tests[1].status, TestStatus::Failed);
        assert_eq!(judged.tests[1].message, None);
        let everything = format!("{judged:?}");
        assert!(!everything.contains("SECRET"), "{everything}");
    }

    #[test]
    fn a_visible_test_keeps_its_message() {
        let judged = judge(
            report(vec![outcome(
                "visible",
                TestStatus::Failed,
                Some("got 'x'"),
            )]),
            &[io_test("visible", false)],
            &Limits::default(),
        );
        assert_eq!(judged.feedback, "Test \"visible\" failed: got 'x'");
    }

    #[test]
    fn all_passed_is_accepted() {
        let judged = verdict(report(vec![
            outcome("a", TestStatus::Passed, None),
            outcome("b", TestStatus::Passed, None),
        ]));
        assert_eq!(judged.verdict, Verdict::Accepted);
        assert_eq!(judged.feedback, "All 2 tests passed.");
        assert_eq!(judged.tests.len(), 2);
    }

    #[test]
    fn the_first_failing_test_decides_and_is_named() {
        let judged = verdict(report(vec![
            outcome("adds", TestStatus::Passed, None),
            outcome(
                "adds negatives",
                TestStatus::Failed,
                Some("expected 6 but got 14"),
            ),
            outcome("divides", TestStatus::Error, Some("ZeroDivisionError")),
        ]));
        assert_eq!(judged.verdict, Verdict::WrongAnswer);
        assert_eq!(
            judged.feedback,
            "Test \"adds negatives\" failed: expected 6 but got 14"
        );
    }

    #[test]
    fn each_status_maps_to_its_verdict() {
        for (status, expected) in [
            (TestStatus::Failed, Verdict::WrongAnswer),
            (TestStatus::Error, Verdict::RuntimeError),
            (TestStatus::TimeLimit, Verdict::TimeLimit),
            (TestStatus::MemoryLimit, Verdict::MemoryLimit),
            (TestStatus::OutputLimit, Verdict::OutputLimit),
        ] {
            let judged = verdict(report(vec![
                outcome("first", status, None),
                outcome("second", TestStatus::Skipped, None),
            ]));
            assert_eq!(judged.verdict, expected, "{status:?}");
            assert!(judged.feedback.starts_with("Test \"first\""), "{judged:?}");
        }
    }

    #[test]
    fn a_runtime_error_carries_the_exception() {
        let judged = verdict(report(vec![outcome(
            "divides",
            TestStatus::Error,
            Some("ZeroDivisionError: division by zero"),
        )]));
        assert_eq!(judged.verdict, Verdict::RuntimeError);
        assert_eq!(
            judged.feedback,
            "Test \"divides\" raised an error: ZeroDivisionError: division by zero"
        );
    }

    #[test]
    fn a_limit_without_a_message_is_named_with_its_value() {
        let judged = verdict(report(vec![outcome("loops", TestStatus::TimeLimit, None)]));
        assert_eq!(
            judged.feedback,
            "Test \"loops\" hit the time limit of 2000 ms."
        );
    }

    #[test]
    fn a_failed_compile_step_is_a_compile_error_with_its_message() {
        let judged = verdict(Evidence {
            report: Some(RunnerReport {
                compile: CompileReport {
                    ok: false,
                    message: "line 2: SyntaxError: invalid syntax".into(),
                },
                tests: vec![],
                internal_error: None,
            }),
            ..Evidence::default()
        });
        assert_eq!(judged.verdict, Verdict::CompileError);
        assert!(judged.feedback.contains("line 2"), "{}", judged.feedback);
    }

    #[test]
    fn a_failure_of_the_runner_is_an_internal_error_not_a_compile_error() {
        let judged = verdict(Evidence {
            report: Some(RunnerReport {
                compile: CompileReport {
                    ok: false,
                    message: "internal error of the test runner".into(),
                },
                tests: vec![],
                internal_error: Some("runner: KeyError".into()),
            }),
            ..Evidence::default()
        });
        assert_eq!(judged.verdict, Verdict::InternalError);
        assert!(!judged.feedback.contains("KeyError"));
    }

    #[test]
    fn skipped_tests_alone_are_not_accepted() {
        let judged = verdict(report(vec![outcome("a", TestStatus::Skipped, None)]));
        assert_eq!(judged.verdict, Verdict::InternalError);
    }

    #[test]
    fn without_a_report_the_oom_killer_wins_over_the_deadline() {
        let judged = verdict(Evidence {
            oom_killed: true,
            deadline_hit: true,
            ..Evidence::default()
        });
        assert_eq!(judged.verdict, Verdict::MemoryLimit);
        assert!(judged.feedback.contains("128 MiB"));
    }

    #[test]
    fn without_a_report_a_deadline_is_a_time_limit() {
        let judged = verdict(Evidence {
            deadline_hit: true,
            deadline_ms: 9_500,
            ..Evidence::default()
        });
        assert_eq!(judged.verdict, Verdict::TimeLimit);
        assert!(judged.feedback.contains("9.5 s"), "{}", judged.feedback);
    }

    #[test]
    fn without_a_report_a_capped_deadline_says_grading_time_is_capped() {
        let judged = verdict(Evidence {
            deadline_hit: true,
            deadline_capped: true,
            deadline_ms: 120_000,
            ..Evidence::default()
        });
        assert_eq!(judged.verdict, Verdict::TimeLimit);
        assert!(
            judged
                .feedback
                .contains("120.0 s, the longest any submission may be graded"),
            "{}",
            judged.feedback
        );
    }

    #[test]
    fn without_a_report_an_output_flood_is_an_output_limit() {
        let judged = verdict(Evidence {
            output_overflow: true,
            ..Evidence::default()
        });
        assert_eq!(judged.verdict, Verdict::OutputLimit);
    }

    #[test]
    fn without_a_report_or_a_reason_it_is_an_internal_error() {
        let judged = verdict(Evidence::default());
        assert_eq!(judged.verdict, Verdict::InternalError);
        assert!(judged.tests.is_empty());
    }

    #[test]
    fn a_report_wins_over_the_containers_fate() {
        let mut evidence = report(vec![outcome("a", TestStatus::Passed, None)]);
        evidence.oom_killed = true;
        assert_eq!(verdict(evidence).verdict, Verdict::Accepted);
    }
}
