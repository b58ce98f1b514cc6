//! Whatever bytes a program prints, raises or returns (NUL, bytes that are not UTF-8, lone
//! surrogates, terminal escape sequences, enormous lines), its verdict is recorded through the
//! api and shown escaped, cut with a visible marker where it is long. (The runner in the
//! sandbox already shows bytes that are not UTF-8 on stdout and stderr as U+FFFD, and a line
//! longer than the output limit is an `output_limit` verdict.)

use crate::support::grader;
use crate::support::student::Student;
use contracts::ShownText;
use serde_json::Value;
use std::time::Duration;
use testkit::{spawn, Scratch};

/// One hostile program and what its feedback must show.
struct Case {
    name: &'static str,
    assignment: &'static str,
    code: &'static str,
    verdict: &'static str,
    shows: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "NUL in an exception message",
        assignment: "Even or odd",
        code: "def is_even(n):\n    raise ValueError('nul\\0byte')\n",
        verdict: "runtime_error",
        shows: "ValueError: nul\\0byte",
    },
    Case {
        name: "terminal escape sequences",
        assignment: "Even or odd",
        code: "def is_even(n):\n    raise ValueError('\\x1b[2J\\x1b[31mred\\r\\x9b')\n",
        verdict: "runtime_error",
        shows: "\\x1b[2J\\x1b[31mred\\r\\u{9b}",
    },
    Case {
        name: "a lone surrogate",
        assignment: "Even or odd",
        code: "def is_even(n):\n    raise ValueError('\\ud800 alone')\n",
        verdict: "runtime_error",
        shows: "ValueError: \\u{d800} alone",
    },
    Case {
        name: "a lone surrogate as the returned value",
        assignment: "Even or odd",
        code: "class Odd:\n    def __repr__(self):\n        return '\\udfff'\n\n\
               def is_even(n):\n    return Odd()\n",
        verdict: "wrong_answer",
        shows: "\\u{dfff}",
    },
    Case {
        name: "bytes that are not UTF-8, NUL and ESC on stderr",
        assignment: "Hello, World!",
        code: "import sys\nsys.stderr.buffer.write(b'\\xff\\xfe \\x00 \\x1b[2J\\n')\n\
               sys.stderr.flush()\nraise SystemExit(3)\n",
        verdict: "runtime_error",
        shows: "\\0 \\x1b[2J",
    },
    Case {
        name: "bytes that are not UTF-8 on stdout",
        assignment: "Hello, World!",
        code: "import sys\nsys.stdout.buffer.write(b'caf\\xe9 \\xff\\x00\\x1b[31m\\n')\n",
        verdict: "wrong_answer",
        shows: "caf",
    },
    Case {
        name: "a 10 MB line",
        assignment: "Hello, World!",
        code: "raise ValueError('x' * 10_000_000)\n",
        verdict: "output_limit",
        shows: "more than 64 KiB of output",
    },
    Case {
        name: "a 60 KB line, within the output limit",
        assignment: "Hello, World!",
        code: "raise ValueError('x' * 60_000)\n",
        verdict: "runtime_error",
        shows: "… [truncated: ",
    },
];

/// Every text of a submission as the api shows it: the feedback and each test's message.
fn texts(submission: &Value) -> Vec<String> {
    let mut texts = vec![submission["feedback"]
        .as_str()
        .unwrap_or_default()
        .to_owned()];
    for test in submission["tests"].as_array().into_iter().flatten() {
        texts.extend(test["message"].as_str().map(str::to_owned));
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_bytes_a_program_produces_are_recorded_escaped_and_cut() {
    let scratch = Scratch::new("grader-bytes").await;
    let api = spawn::api(&scratch, |_| {}).await;
    let mut settings = grader::settings(&scratch);
    settings.concurrency = 2;
    let grader = spawn::grader_with(settings).await;
    let student = Student::sign_in(&api).await;

    let mut submitted = Vec::new();
    for case in CASES {
        let assignment = student.assignment(case.assignment).await;
        submitted.push(student.submit(assignment, case.code).await);
    }
    let mut failures = Vec::new();
    for (case, id) in CASES.iter().zip(submitted) {
        let recorded = student
            .wait_status(id, "graded", Duration::from_secs(120))
            .await;
        let feedback = recorded["feedback"].as_str().unwrap_or_default();
        println!(
            "{:<50} {:<15} {feedback:.160}",
            case.name, recorded["verdict"]
        );
        if recorded["verdict"] != case.verdict {
            failures.push(format!("{}: {}", case.name, recorded));
        }
        let texts = texts(&recorded);
        if !texts.iter().any(|text| text.contains(case.shows)) {
            failures.push(format!(
                "{}: nothing shows {:?}: {texts:?}",
                case.name, case.shows
            ));
        }
        for text in &texts {
            if text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
            {
                failures.push(format!(
                    "{}: a raw control character in {text:?}",
                    case.name
                ));
            }
            if text.chars().count() > ShownText::MAX_CHARS {
                failures.push(format!("{}: {} characters", case.name, text.len()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    grader.stop().await;
    api.stop().await;
}
