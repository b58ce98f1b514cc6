//! The grading pipeline end to end, through the api's HTTP surface: api → `submissions` →
//! grader in Docker → `results` → api → Postgres. Real Redis, Postgres and Docker; the grader
//! as the real binary where it is to be killed.

use crate::support::grader::{self, GraderProcess};
use crate::support::queue::{is_graded, Queue};
use crate::support::student::Student;
use contracts::SubmissionId;
use std::time::{Duration, Instant};
use testkit::{spawn, RedisServer, Scratch, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_then_right_solutions_get_their_verdicts_recorded() {
    let stack = Stack::start().await;
    let student = Student::sign_in(&stack.api).await;
    let even_or_odd = student.assignment("Even or odd").await;

    let wrong = student
        .submit(even_or_odd, "def is_even(n):\n    return n % 2 == 1\n")
        .await;
    let graded = student
        .wait_status(wrong, "graded", Duration::from_secs(60))
        .await;
    assert_eq!(graded["verdict"], "wrong_answer", "{graded}");
    assert_eq!(graded["tests"][0]["status"], "failed");
    assert!(
        graded["feedback"].as_str().unwrap().contains("4 is even"),
        "the feedback names the failing test: {graded}"
    );

    let right = student
        .submit(even_or_odd, "def is_even(n):\n    return n % 2 == 0\n")
        .await;
    let graded = student
        .wait_status(right, "graded", Duration::from_secs(60))
        .await;
    assert_eq!(graded["verdict"], "accepted", "{graded}");
    assert!(graded["tests"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["status"] == "passed"));
    assert!(graded["started_at"].is_string() && graded["finished_at"].is_string());

    assert_eq!(student.submissions_to(even_or_odd).await.len(), 2);

    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grader_killed_mid_job_leaves_exactly_one_recorded_verdict() {
    let scratch = Scratch::new("grader").await;
    let queue = Queue::of(&scratch);
    let mut first = GraderProcess::spawn(&scratch, &[("GRADER__CLAIM_IDLE_MS", "1000")]);
    let api = spawn::api(&scratch, |_| {}).await;
    let student = Student::sign_in(&api).await;
    let hello = student.assignment("Hello, World!").await;
    let id = student
        .submit(
            hello,
            "import time\ntime.sleep(1)\nprint('Hello, World!')\n",
        )
        .await;
    student
        .wait_status(id, "grading", Duration::from_secs(60))
        .await;
    first.signal("KILL").await;
    first.exit_status(Duration::from_secs(10)).await.unwrap();

    let mut settings = grader::settings(&scratch);
    settings.claim_idle_ms = 1_000;
    settings.janitor_grace_ms = 0;
    let second = spawn::grader_with(settings).await;
    let graded = student
        .wait_status(id, "graded", Duration::from_secs(60))
        .await;
    assert_eq!(graded["verdict"], "accepted", "{graded}");

    let graded_events = queue
        .results_of(SubmissionId(id))
        .await
        .into_iter()
        .filter(|e| is_graded(&e.kind))
        .count();
    assert_eq!(graded_events, 1, "one verdict was published");
    assert_eq!(
        student.submissions_to(hello).await.len(),
        1,
        "one submission, one verdict"
    );

    second.stop().await;
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushall_under_a_running_api_and_grader_loses_no_new_submission() {
    // A Redis of the test's own: FLUSHALL on the shared one would wipe every other test's keys.
    let redis = RedisServer::start();
    let scratch = Scratch::on_redis("grader-flushall", &redis.url()).await;
    let stack = Stack::start_on(scratch, |_| {}, |_| {}).await;
    let student = Student::sign_in(&stack.api).await;
    let hello = student.assignment("Hello, World!").await;
    let code = "print('Hello, World!')\n";

    let before = student.submit(hello, code).await;
    let graded = student
        .wait_status(before, "graded", Duration::from_secs(60))
        .await;
    assert_eq!(graded["verdict"], "accepted", "{graded}");

    // Redis loses everything: both streams, both consumer groups, the api's cache.
    Queue::of(&stack.scratch).flush_redis().await;

    let flushed = Instant::now();
    let after = student.submit(hello, code).await;
    let graded = student
        .wait_status(after, "graded", Duration::from_secs(30))
        .await;
    assert_eq!(graded["verdict"], "accepted", "{graded}");
    println!(
        "submitted and graded {:.2} s after FLUSHALL",
        flushed.elapsed().as_secs_f64()
    );
    let mine = student.submissions_to(hello).await;
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert!(mine.iter().all(|s| s["status"] == "graded"), "{mine:?}");

    stack.stop().await;
}
