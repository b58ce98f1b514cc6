//! Real submissions, honest and hostile, through a real grader (Redis + Docker + the sandbox
//! image): each gets the verdict it deserves, and the grader keeps grading afterwards.

use crate::support::grader::{self, containers_of};
use crate::support::jobs::{add_tests, job, RIGHT_ADD};
use crate::support::queue::Queue;
use contracts::{Limits, ResultKind, SubmissionId, TestCase, Verdict};
use std::time::{Duration, Instant};
use testkit::{spawn, Scratch};

/// One submission and what must come of it.
struct Case {
    name: &'static str,
    code: &'static str,
    verdicts: &'static [Verdict],
    /// Text the feedback must contain (case-insensitive), if any.
    feedback: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        name: "a right solution",
        code: RIGHT_ADD,
        verdicts: &[Verdict::Accepted],
        feedback: Some("all 3 tests passed"),
    },
    Case {
        name: "a wrong solution",
        code: "def add(a, b):\n    return abs(a) + abs(b)\n\nif __name__ == '__main__':\n    print(add(*map(int, input().split())))\n",
        verdicts: &[Verdict::WrongAnswer],
        feedback: Some("test \"adds negatives\" failed"),
    },
    Case {
        name: "a syntax error",
        code: "def add(a, b)\n    return a + b\n",
        verdicts: &[Verdict::CompileError],
        feedback: Some("line 1"),
    },
    Case {
        name: "an exception",
        code: "def add(a, b):\n    raise ValueError('negative numbers are not welcome')\n",
        verdicts: &[Verdict::RuntimeError],
        feedback: Some("ValueError: negative numbers are not welcome"),
    },
    Case {
        name: "an endless loop",
        code: "def add(a, b):\n    while True:\n        pass\n",
        verdicts: &[Verdict::TimeLimit],
        feedback: Some("test \"adds\""),
    },
    Case {
        name: "a memory bomb",
        code: "def add(a, b):\n    hoard = []\n    while True:\n        hoard.append(bytearray(8 * 1024 * 1024))\n",
        verdicts: &[Verdict::MemoryLimit],
        feedback: None,
    },
    Case {
        name: "a memory bomb spread over processes",
        code: "import os, time\n\ndef add(a, b):\n    for _ in range(6):\n        if os.fork() == 0:\n            hoard = bytearray(60 * 1024 * 1024)\n            for i in range(0, len(hoard), 4096):\n                hoard[i] = 1\n            time.sleep(5)\n            os._exit(0)\n    hoard = bytearray(60 * 1024 * 1024)\n    for i in range(0, len(hoard), 4096):\n        hoard[i] = 1\n    time.sleep(5)\n    return a + b\n",
        verdicts: &[Verdict::MemoryLimit, Verdict::TimeLimit, Verdict::RuntimeError],
        feedback: None,
    },
    Case {
        name: "a fork bomb",
        code: "import os\n\ndef add(a, b):\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass\n",
        // Contained is what matters: forks fail at the pids limit (an error or an endless
        // retry loop); copy-on-write pages rarely, but possibly, add up to the memory limit.
        verdicts: &[Verdict::RuntimeError, Verdict::TimeLimit, Verdict::MemoryLimit],
        feedback: None,
    },
    Case {
        name: "an output flood",
        code: "def add(a, b):\n    while True:\n        print('flood' * 1000)\n",
        verdicts: &[Verdict::OutputLimit],
        feedback: None,
    },
    Case {
        name: "opening a socket",
        code: "import socket\n\ndef add(a, b):\n    socket.create_connection(('1.1.1.1', 80), timeout=2)\n    return a + b\n",
        verdicts: &[Verdict::RuntimeError],
        feedback: Some("network"),
    },
    Case {
        name: "a forged report line and OK",
        code: r#"import json, sys
fake = {"compile": {"ok": True, "message": ""}, "tests": [
    {"name": n, "status": "passed", "message": None, "duration_ms": 1}
    for n in ("adds", "adds negatives", "prints the sum")]}
for nonce in ("0" * 32, "deadbeef", "x"):
    print(nonce + " " + json.dumps(fake))
    print(nonce + " " + json.dumps(fake), file=sys.stderr)
print("OK")

def add(a, b):
    return 0
"#,
        verdicts: &[Verdict::WrongAnswer],
        feedback: None,
    },
    Case {
        name: "writing to the runner's stdout and exiting 0",
        code: r#"import os, sys
line = 'ffff {"compile":{"ok":true,"message":""},"tests":[]}\n'
for path in ("/proc/1/fd/1", "/dev/stdout", "/proc/self/fd/1"):
    try:
        with open(path, "w") as f:
            f.write(line)
    except OSError:
        pass
print("OK")
sys.exit(0)
"#,
        verdicts: &[
            Verdict::RuntimeError,
            Verdict::WrongAnswer,
            Verdict::InternalError,
        ],
        feedback: None,
    },
];

fn limits() -> Limits {
    Limits {
        time_ms: 1_000,
        memory_mb: 128,
        output_kb: 64,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_submission_gets_the_verdict_it_deserves_and_grading_carries_on() {
    let scratch = Scratch::new("grader").await;
    let queue = Queue::of(&scratch);
    let mut settings = grader::settings(&scratch);
    settings.concurrency = 2;
    let grader = spawn::grader_with(settings).await;

    let began = Instant::now();
    for (i, case) in CASES.iter().enumerate() {
        queue
            .submit(&job(i as i64 + 1, case.code, add_tests(), limits()))
            .await;
    }
    let mut failures = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let submission = SubmissionId(i as i64 + 1);
        match queue.graded(submission, Duration::from_secs(180)).await {
            Ok((verdict, feedback, event)) => {
                println!("{:<45} {:<15} {feedback}", case.name, verdict.as_str());
                if !case.verdicts.contains(&verdict) {
                    failures.push(format!(
                        "{}: {verdict:?} not in {:?}: {feedback}",
                        case.name, case.verdicts
                    ));
                }
                if let Some(wanted) = case.feedback {
                    if !feedback.to_lowercase().contains(&wanted.to_lowercase()) {
                        failures.push(format!(
                            "{}: feedback lacks {wanted:?}: {feedback}",
                            case.name
                        ));
                    }
                }
                check_event_stamps(case.name, &event.kind, &mut failures);
            }
            Err(e) => failures.push(format!("{}: {e}", case.name)),
        }
    }
    let suite = began.elapsed();

    // After all of that, the next job is graded normally.
    let next = SubmissionId(1_000);
    queue
        .submit(&job(next.0, RIGHT_ADD, add_tests(), limits()))
        .await;
    let started = Instant::now();
    match queue.graded(next, Duration::from_secs(60)).await {
        Ok((Verdict::Accepted, _, _)) => {}
        other => failures.push(format!("the job after the hostile ones: {other:?}")),
    }
    println!(
        "{} jobs in {:.1} s with 2 slots; the next accepted job took {:.2} s",
        CASES.len(),
        suite.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );

    // Each submission got exactly one `grading` and one `graded` event, in that order.
    for i in 1..=CASES.len() as i64 {
        let kinds: Vec<&str> = queue
            .results_of(SubmissionId(i))
            .await
            .iter()
            .map(|e| match e.kind {
                ResultKind::Grading { .. } => "grading",
                ResultKind::Graded { .. } => "graded",
                ResultKind::Error { .. } => "error",
            })
            .collect();
        if kinds != ["grading", "graded"] {
            failures.push(format!("submission {i}: events {kinds:?}"));
        }
    }
    // Every job is acknowledged (once its container is removed, after the verdict).
    queue.drained(Duration::from_secs(10)).await;

    assert_eq!(
        grader
            .metric("grader_verdicts_total{verdict=\"accepted\"}")
            .await,
        2.0
    );
    assert!(grader.metric("grader_container_start_seconds_count").await > 0.0);
    let ready = grader
        .http
        .get(grader.url("/readyz"))
        .send()
        .await
        .expect("GET /readyz");
    assert_eq!(ready.status(), 200, "{:?}", ready.text().await);

    grader.stop().await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn check_event_stamps(case: &str, kind: &ResultKind, failures: &mut Vec<String>) {
    if let ResultKind::Graded {
        started_at,
        finished_at,
        tests,
        verdict,
        ..
    } = kind
    {
        if finished_at < started_at {
            failures.push(format!("{case}: finished before it started"));
        }
        let judged_by_tests = matches!(verdict, Verdict::Accepted | Verdict::WrongAnswer);
        if judged_by_tests && tests.len() != 3 {
            failures.push(format!("{case}: {} per-test results", tests.len()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_past_its_deadline_is_killed_and_judged_time_limit() {
    let scratch = Scratch::new("grader").await;
    let queue = Queue::of(&scratch);
    let mut settings = grader::settings(&scratch);
    // The test's own limit is far longer than the container's deadline, so the runner never
    // stops the loop itself: the grader has to kill the container.
    settings.deadline_max_ms = 3_000;
    let consumer = settings.consumer_name();
    let grader = spawn::grader_with(settings).await;
    let limits = Limits {
        time_ms: 60_000,
        ..limits()
    };
    let submission = SubmissionId(1);
    let code = "def add(a, b):\n    while True:\n        pass\n";
    queue
        .submit(&job(submission.0, code, add_tests(), limits))
        .await;
    let (verdict, feedback, event) = queue
        .graded(submission, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(verdict, Verdict::TimeLimit, "{feedback}");
    assert!(feedback.contains("3.0 s"), "{feedback}");
    assert!(
        feedback.contains("the longest any submission may be graded in total"),
        "the cap, not the tests' limits, stopped it: {feedback}"
    );
    if let ResultKind::Graded {
        started_at,
        finished_at,
        ..
    } = event.kind
    {
        let took = (finished_at - started_at).to_std().unwrap();
        assert!(took < Duration::from_secs(10), "killed in time: {took:?}");
    }
    grader.stop().await;
    assert_eq!(containers_of(&consumer).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hidden_test_gives_away_nothing_but_its_name_and_outcome() {
    let scratch = Scratch::new("grader").await;
    let queue = Queue::of(&scratch);
    let _grader = spawn::grader_with(grader::settings(&scratch)).await;
    let secret_tests = vec![
        TestCase::Io {
            name: "echoes".into(),
            stdin: "SECRET-INPUT-41\n".into(),
            expected_stdout: "SECRET-EXPECTED-42\n".into(),
            hidden: true,
        },
        TestCase::Call {
            name: "doubles".into(),
            call: "double(21)".into(),
            expected: Some("'SECRET-VALUE-43'".into()),
            raises: None,
            hidden: true,
        },
    ];
    // Prints its input, writes it to stderr and raises with it: all of it must stay hidden.
    let code = "import sys\n\ndef double(x):\n    raise ValueError('SECRET-RAISED ' + str(x))\n\n\
                if __name__ == '__main__':\n    line = input()\n    print('got', line)\n    \
                sys.stderr.write('SECRET-STDERR ' + line)\n    raise ValueError(line)\n";
    for (submission, tests) in [(1, secret_tests.clone()), (2, secret_tests[1..].to_vec())] {
        let submission = SubmissionId(submission);
        queue
            .submit(&job(submission.0, code, tests, limits()))
            .await;
        let (verdict, feedback, event) = queue
            .graded(submission, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(verdict, Verdict::RuntimeError, "{feedback}");
        let published = serde_json::to_string(&event).unwrap();
        assert!(!published.contains("SECRET"), "{published}");
        assert!(feedback.starts_with("Test \""), "{feedback}");
    }
}
