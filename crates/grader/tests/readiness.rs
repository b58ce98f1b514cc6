//! The HTTP endpoints say what is wrong, and a grader without Docker leaves jobs pending
//! instead of failing them.

mod common;

use common::{add_tests, job, RunningGrader, TestRedis, RIGHT_ADD};
use contracts::{Limits, ResultKind, SubmissionId};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_docker_the_grader_is_unready_and_jobs_stay_pending() {
    let redis = TestRedis::new();
    let mut settings = redis.settings(&common::sandbox_tag());
    settings.docker_host = Some("unix:///nonexistent/docker.sock".into());
    settings.claim_idle_ms = 60_000;
    let grader = RunningGrader::start(settings);

    let health = reqwest::get(grader.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = reqwest::get(grader.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["redis"], "ok", "{body}");
    let docker = body["docker"].as_str().unwrap_or_default();
    assert!(docker.starts_with("Docker is unreachable"), "{body}");

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
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        redis.deliveries(&entry).await,
        1,
        "left pending for a retry"
    );
    assert_eq!(
        redis.results_of(submission).await.len(),
        1,
        "no verdict, no error yet"
    );
    let metrics = reqwest::get(grader.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("grader_failures_total{kind=\"docker_unavailable\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("grader_queue_backlog_jobs 1"), "{metrics}");

    grader.stop().await.unwrap();
}
