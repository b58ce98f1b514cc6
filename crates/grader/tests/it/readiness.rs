//! The HTTP endpoints say what is wrong, and a grader without Docker takes no job instead of
//! failing them or using up their attempts.

use crate::support::grader;
use crate::support::jobs::right_add;
use crate::support::queue::Queue;
use contracts::SubmissionId;
use std::time::Duration;
use testkit::{spawn, Scratch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_docker_the_grader_is_unready_and_takes_no_job() {
    let scratch = Scratch::new("grader").await;
    let queue = Queue::of(&scratch);
    let mut settings = grader::settings(&scratch);
    settings.docker_host = Some("unix:///nonexistent/docker.sock".into());
    let grader = spawn::grader_alive(settings).await;

    let health = grader.get("/healthz").await;
    assert_eq!(health.status(), 200);
    let submission = SubmissionId(1);
    let entry = queue.submit(&right_add(submission.0)).await;
    // Longer than a claim idle time, a read and the watcher's re-check together.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let ready = grader.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["redis"], "ok", "{body}");
    let docker = body["docker"].as_str().unwrap_or_default();
    assert!(docker.starts_with("Docker is unreachable"), "{body}");
    let grading = body["grading"].as_str().unwrap_or_default();
    assert!(
        grading.starts_with("paused: Docker is unreachable"),
        "{body}"
    );

    assert!(!queue.is_pending(&entry).await, "the job is not taken");
    assert!(queue.results_of(submission).await.is_empty(), "nor failed");
    assert_eq!(grader.metric("grader_paused").await, 1.0);
    assert_eq!(grader.metric("grader_queue_backlog_jobs").await, 1.0);

    grader.stop().await;
}
