//! Entries that cannot be graded are dead-lettered, never lost and never fatal: undecodable
//! ones at once, jobs whose sandbox image is missing after `max_attempts` tries, and deleted
//! submissions are acknowledged without running.

mod common;

use common::{add_tests, job, RunningGrader, TestRedis, RIGHT_ADD};
use contracts::{Limits, ResultKind, SubmissionId, Verdict};
use std::time::{Duration, Instant};

fn is_error(kind: &ResultKind) -> bool {
    matches!(kind, ResultKind::Error { .. })
}

fn reason_of(kind: &ResultKind) -> &str {
    match kind {
        ResultKind::Error { reason, .. } => reason,
        _ => "",
    }
}

/// Waits until no entry of the submissions stream is left unacknowledged.
async fn drained(redis: &TestRedis, within: Duration) {
    let deadline = Instant::now() + within;
    while redis.backlog().await > 0 {
        assert!(
            Instant::now() < deadline,
            "jobs still pending after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_entries_are_dead_lettered_and_grading_goes_on() {
    let redis = TestRedis::new();
    let grader = RunningGrader::start(redis.settings(&common::sandbox_tag()));

    let garbage = redis.submit_raw("this is not json").await;
    // Valid ids, but no code, tests or limits: the student still hears about it.
    let partial = redis
        .submit_raw(r#"{"v":1,"submission_id":42,"user_id":5,"assignment_id":7,"enqueued_at":"2024-01-01T00:00:00Z","runtime":"python3"}"#)
        .await;
    let mut unknown = job(43, RIGHT_ADD, add_tests(), Limits::default());
    unknown.runtime = "cobol".into();
    let unknown_entry = redis.submit(&unknown).await;
    redis
        .submit(&job(44, RIGHT_ADD, add_tests(), Limits::default()))
        .await;

    let (verdict, _, _) = redis
        .graded(SubmissionId(44), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(verdict, Verdict::Accepted);
    drained(&redis, Duration::from_secs(10)).await;

    // Two slots work concurrently, so the letters may come in any order.
    let mut letters = redis.dead_letters().await;
    letters.sort_by(|a, b| a.original_id.cmp(&b.original_id));
    let ids: Vec<&str> = letters.iter().map(|l| l.original_id.as_str()).collect();
    let mut expected = [&garbage, &partial, &unknown_entry];
    expected.sort();
    assert_eq!(ids, expected);
    let letter = |id: &str| letters.iter().find(|l| l.original_id == id).unwrap();
    assert_eq!(letter(&garbage).payload, "this is not json");
    assert!(
        letter(&garbage).reason.contains("undecodable"),
        "{letters:?}"
    );
    assert!(
        letter(&partial).reason.contains("undecodable"),
        "{letters:?}"
    );
    assert!(
        letter(&unknown_entry).reason.contains("cobol"),
        "{letters:?}"
    );

    let error = redis
        .wait_for(SubmissionId(42), Duration::from_secs(5), is_error)
        .await
        .unwrap();
    assert!(!reason_of(&error.kind).is_empty());
    let error = redis
        .wait_for(SubmissionId(43), Duration::from_secs(5), is_error)
        .await
        .unwrap();
    assert!(reason_of(&error.kind).contains("cobol"), "{error:?}");

    grader.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_leaves_the_job_pending_then_dead_letters_it() {
    let redis = TestRedis::new();
    let tag = format!(
        "missing-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let image = format!("code-platform/sandbox:{tag}");
    let mut settings = redis.settings(&tag);
    settings.max_attempts = 2;
    settings.claim_idle_ms = 1_500;
    let grader = RunningGrader::start(settings);

    let ready = reqwest::get(grader.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    let body = ready.text().await.unwrap();
    assert!(
        body.contains(&format!(
            "sandbox image {image} is missing: run deploy/sandbox/build.sh"
        )),
        "{body}"
    );

    let submission = SubmissionId(1);
    let entry = redis
        .submit(&job(
            submission.0,
            RIGHT_ADD,
            add_tests(),
            Limits::default(),
        ))
        .await;
    redis
        .wait_for(submission, Duration::from_secs(10), |k| {
            matches!(k, ResultKind::Grading { .. })
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        redis.deliveries(&entry).await,
        1,
        "not acknowledged after a failure"
    );
    assert!(redis
        .results_of(submission)
        .await
        .iter()
        .all(|e| !is_error(&e.kind)));

    let error = redis
        .wait_for(submission, Duration::from_secs(30), is_error)
        .await
        .unwrap();
    assert!(
        reason_of(&error.kind).contains("sandbox is unavailable"),
        "{error:?}"
    );
    assert!(
        !reason_of(&error.kind).contains(&tag),
        "no internals for the student"
    );
    let letters = redis.dead_letters().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].original_id, entry);
    assert_eq!(letters[0].attempts, 2);
    assert!(
        letters[0].reason.contains(&format!("{image} is missing")),
        "{letters:?}"
    );
    assert_eq!(redis.deliveries(&entry).await, 0);
    let graded = redis.results_of(submission).await;
    assert!(graded
        .iter()
        .all(|e| !matches!(e.kind, ResultKind::Graded { .. })));

    let metrics = reqwest::get(grader.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("grader_dead_letters_total 1"), "{metrics}");
    assert!(
        metrics.contains("grader_failures_total{kind=\"image_missing\"} 2"),
        "{metrics}"
    );

    grader.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_submission_is_acknowledged_without_running() {
    let redis = TestRedis::new();
    let grader = RunningGrader::start(redis.settings(&common::sandbox_tag()));
    let submission = SubmissionId(9);
    let mut conn = redis.streams.pool().get().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg(redis.keys.cancelled(submission))
        .arg("1")
        .arg("EX")
        .arg(600)
        .query_async(&mut conn)
        .await
        .unwrap();
    redis
        .submit(&job(
            submission.0,
            RIGHT_ADD,
            add_tests(),
            Limits::default(),
        ))
        .await;
    drained(&redis, Duration::from_secs(10)).await;
    assert!(redis.results_of(submission).await.is_empty());
    assert!(redis.dead_letters().await.is_empty());
    let metrics = reqwest::get(grader.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("grader_cancelled_total 1"), "{metrics}");
    grader.stop().await.unwrap();
}
