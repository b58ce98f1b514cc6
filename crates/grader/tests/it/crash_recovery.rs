//! A grader that dies or is stopped mid-job: with SIGKILL the job is taken over by another
//! grader and graded exactly once, and the orphaned container is swept away; with SIGTERM the
//! job in flight is finished and acknowledged and the process exits 0.

use crate::support::grader::{self, containers_of, GraderProcess};
use crate::support::jobs::{job, one_add_test, slow_add};
use crate::support::queue::{is_grading, Queue};
use contracts::{Limits, ResultKind, SubmissionId, Verdict};
use std::time::{Duration, Instant};
use testkit::{spawn, Scratch};

fn generous() -> Limits {
    Limits {
        time_ms: 3_000,
        memory_mb: 128,
        output_kb: 64,
    }
}

/// Publishes a job that takes 1.5 s and waits (a minute at most) until `grader` has taken it
/// up; returns its entry id.
async fn submit_slow_job(
    queue: &Queue,
    grader: &GraderProcess,
    submission: SubmissionId,
) -> String {
    let entry = queue
        .submit(&job(
            submission.0,
            &slow_add(1.5),
            one_add_test(),
            generous(),
        ))
        .await;
    let waited = queue
        .wait_for(submission, Duration::from_secs(60), is_grading)
        .await;
    assert!(waited.is_ok(), "{waited:?}\n{}", grader.log_text());
    entry
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_of_a_killed_grader_is_graded_once_by_another() {
    let scratch = Scratch::new("grader").await;
    let queue = Queue::of(&scratch);
    let mut first = GraderProcess::spawn(
        &scratch,
        &[
            ("GRADER__CLAIM_IDLE_MS", "1000"),
            ("GRADER__DEADLINE_ALLOWANCE_MS", "2000"),
        ],
    );
    let submission = SubmissionId(1);
    submit_slow_job(&queue, &first, submission).await;
    first.signal("KILL").await;
    let status = first.exit_status(Duration::from_secs(10)).await.unwrap();
    assert!(!status.success());
    let killed_at = Instant::now();

    let mut settings = grader::settings(&scratch);
    settings.claim_idle_ms = 1_000;
    settings.janitor_interval_ms = 500;
    settings.janitor_grace_ms = 0;
    let second = spawn::grader_with(settings).await;
    let (verdict, feedback, _) = queue
        .graded(submission, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(verdict, Verdict::Accepted, "{feedback}");
    println!(
        "taken over and graded {:.2} s after the SIGKILL",
        killed_at.elapsed().as_secs_f64()
    );

    // Long enough for a second verdict to show up if the job were graded twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let events = queue.results_of(submission).await;
    let graded = events
        .iter()
        .filter(|e| matches!(e.kind, ResultKind::Graded { .. }))
        .count();
    assert_eq!(graded, 1, "{events:?}");
    assert!(events.iter().filter(|e| is_grading(&e.kind)).count() >= 2);
    assert_eq!(queue.backlog().await, 0);

    // The killed grader's container is removed by the janitor once its deadline has passed.
    let swept_by = Instant::now() + Duration::from_secs(40);
    while containers_of(&first.consumer).await > 0 {
        assert!(
            Instant::now() < swept_by,
            "the killed grader's sandbox container was not removed"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_job_in_flight_and_exits_zero() {
    let scratch = Scratch::new("grader").await;
    let queue = Queue::of(&scratch);
    let mut grader = GraderProcess::spawn(&scratch, &[]);
    let (in_flight, queued) = (SubmissionId(1), SubmissionId(2));
    let entry = submit_slow_job(&queue, &grader, in_flight).await;
    // With its only slot busy, the grader does not read this one; it stays for others.
    queue
        .submit(&job(queued.0, &slow_add(0.0), one_add_test(), generous()))
        .await;

    grader.signal("TERM").await;
    let status = grader.exit_status(Duration::from_secs(60)).await.unwrap();
    assert!(status.success(), "{status:?}\n{}", grader.log_text());

    let events = queue.results_of(in_flight).await;
    let verdicts: Vec<Verdict> = events
        .iter()
        .filter_map(|e| match &e.kind {
            ResultKind::Graded { verdict, .. } => Some(*verdict),
            _ => None,
        })
        .collect();
    assert_eq!(verdicts, [Verdict::Accepted], "{}", grader.log_text());
    assert!(
        !queue.is_pending(&entry).await,
        "the finished job is acknowledged"
    );
    assert!(queue.results_of(queued).await.is_empty());
    assert_eq!(
        queue.backlog().await,
        1,
        "the unread job stays on the stream"
    );
}
