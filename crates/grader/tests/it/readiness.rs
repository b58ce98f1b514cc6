//! The HTTP endpoints say what is wrong, and a grader without Docker leaves jobs pending
//! instead of failing them, without using up their attempts.

use crate::support::grader;
use crate::support::jobs::right_add;
use crate::support::queue::Queue;
use contracts::SubmissionId;
use std::time::Duration;
use testkit::{spawn, Scratch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_docker_the_grader_is_unready_and_jobs_stay_pending() {
    let scratch = Scratch::new("grader").await;
    let queue = Queue::of(&scratch);
    let mut settings = grader::settings(&scratch);
    settings.docker_host = Some("unix:///nonexistent/docker.sock".into());
    settings.claim_idle_ms = 60_000;
    let grader = spawn::grader_alive(settings).await;

    let health = grader.get("/healthz").await;
    assert_eq!(health.status(), 200);
    let ready = grader.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["redis"], "ok", "{body}");
    let docker = body["docker"].as_str().unwrap_or_default();
    assert!(docker.starts_with("Docker is unreachable"), "{body}");

    let submission = SubmissionId(1);
    let entry = queue.submit_until_grading(&right_add(submission.0)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(queue.is_pending(&entry).await, "left pending for a retry");
    assert_eq!(
        queue.deliveries(&entry).await,
        0,
        "Docker being down costs the job no attempt"
    );
    assert_eq!(
        queue.results_of(submission).await.len(),
        1,
        "no verdict, no error yet"
    );
    assert_eq!(
        grader
            .metric("grader_failures_total{kind=\"docker_unavailable\"}")
            .await,
        1.0
    );
    assert_eq!(grader.metric("grader_queue_backlog_jobs").await, 1.0);

    grader.stop().await;
}
