//! Fair dispatch and what outages do to it: one user's jobs go to the stream a few at a time
//! while another user's go at once; jobs the stream lost are dispatched again, once; while
//! Postgres is away submissions get 503 and verdicts wait in the stream.

use crate::app::TestApp;
use crate::flows::{graded, submit};
use contracts::keys::API_GROUP;
use contracts::{SubmissionId, Verdict};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use testkit::{spawn, Proxy, Scratch};

/// The submission of every job on the stream, oldest first.
async fn jobs(app: &TestApp) -> Vec<SubmissionId> {
    app.jobs()
        .await
        .into_iter()
        .map(|job| job.submission_id)
        .collect()
}

/// Waits (bounded) until the stream holds jobs of exactly `expected`, in that order.
async fn wait_for_jobs(app: &TestApp, expected: &[SubmissionId]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let jobs = jobs(app).await;
        if jobs == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the stream holds {jobs:?}, not {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn id_of(submission: &Value) -> SubmissionId {
    SubmissionId(submission["id"].as_i64().unwrap())
}

#[tokio::test]
async fn one_users_jobs_go_to_the_stream_a_few_at_a_time_and_anothers_at_once() {
    let app = TestApp::spawn_with(|s| s.dispatch_per_user = 2).await;
    let (flooder, _) = app.guest().await;
    let (other, _) = app.guest().await;
    let (_, assignments) = app.seeded_course(&flooder).await;
    let code = "print('Hello, World!')";
    let mut flood = Vec::new();
    for _ in 0..5 {
        flood.push(submit(&app, &flooder, assignments[0], code).await);
    }
    // No grader runs: two are on the stream, three wait in Postgres, all of them queued.
    wait_for_jobs(&app, &[id_of(&flood[0]), id_of(&flood[1])]).await;
    assert!(flood.iter().all(|s| s["status"] == "queued"));

    let single = submit(&app, &other, assignments[0], code).await;
    wait_for_jobs(&app, &[id_of(&flood[0]), id_of(&flood[1]), id_of(&single)]).await;

    // A verdict for one of the flood lets the next of it go.
    app.streams()
        .publish(&app.keys().results(), &graded(&flood[0], Verdict::Accepted))
        .await
        .unwrap();
    let expected: Vec<SubmissionId> = [&flood[0], &flood[1], &single, &flood[2]]
        .into_iter()
        .map(id_of)
        .collect();
    wait_for_jobs(&app, &expected).await;
    // Counted just after the append the stream shows.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut dispatched = app.api.metric("api_jobs_dispatched_total").await;
    while dispatched < 4.0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        dispatched = app.api.metric("api_jobs_dispatched_total").await;
    }
    assert_eq!(dispatched, 4.0);
}

#[tokio::test]
async fn jobs_the_stream_lost_are_dispatched_again_once() {
    let app = TestApp::spawn_with(|s| {
        s.dispatch_per_user = 2;
        s.dispatch_sweep_ms = 200;
    })
    .await;
    let (student, _) = app.guest().await;
    let (_, assignments) = app.seeded_course(&student).await;
    let mut mine = Vec::new();
    for _ in 0..3 {
        mine.push(id_of(
            &submit(&app, &student, assignments[0], "print('Hello, World!')").await,
        ));
    }
    wait_for_jobs(&app, &mine[..2]).await;

    // Redis loses the stream (as after a restart without its data).
    let mut redis = app.redis().await;
    deadpool_redis::redis::cmd("DEL")
        .arg(app.keys().submissions().name())
        .query_async::<()>(&mut redis)
        .await
        .unwrap();
    wait_for_jobs(&app, &mine[..2]).await;
    // Several more sweeps: nothing is dispatched a second time.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(jobs(&app).await, &mine[..2]);
    assert_eq!(app.api.metric("api_jobs_requeued_total").await, 2.0);
}

/// `url` (a Postgres URL) with its host and port replaced by `127.0.0.1:<port>`; and the
/// host and port it had.
#[tokio::test]
async fn while_postgres_is_away_submissions_get_503_and_verdicts_wait_in_the_stream() {
    testkit::init_tracing();
    let scratch = Scratch::new("api-postgres").await;
    let (postgres, url) = Proxy::in_front_of(scratch.database().url()).await;
    let api = spawn::api(&scratch, |s| s.database_url = url.into()).await;
    let app = TestApp::around(api, scratch);
    let (student, _) = app.guest().await;
    let (_, assignments) = app.seeded_course(&student).await;
    let path = format!("/api/assignments/{}/submissions", assignments[0]);
    let before = submit(&app, &student, assignments[0], "print('Hello, World!')").await;

    postgres.cut();
    let refused = app
        .expect(
            Method::POST,
            &path,
            Some(&student),
            Some(json!({"code": "print('Hello, World!')"})),
            StatusCode::SERVICE_UNAVAILABLE,
        )
        .await;
    assert_eq!(refused["error"]["code"], "service_unavailable", "{refused}");
    let entry = app
        .streams()
        .publish(&app.keys().results(), &graded(&before, Verdict::Accepted))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let waiting = app
        .streams()
        .delivery_count(&app.keys().results(), API_GROUP, &entry)
        .await
        .unwrap();
    assert!(
        matches!(waiting, None | Some(0)),
        "the verdict waits without spending deliveries: {waiting:?}"
    );
    let dead = app.keys().results().dead_letters();
    assert!(app
        .streams()
        .range_after(&dead, "0-0", 10)
        .await
        .unwrap()
        .is_empty());

    postgres.restore();
    let deadline = Instant::now() + Duration::from_secs(60);
    let id = id_of(&before).0;
    loop {
        let response = app
            .send(
                Method::GET,
                &format!("/api/submissions/{id}"),
                Some(&student),
                None,
            )
            .await;
        if response.status() == StatusCode::OK {
            let submission: Value = response.json().await.unwrap();
            if submission["status"] == "graded" {
                assert_eq!(submission["verdict"], "accepted");
                break;
            }
        }
        assert!(Instant::now() < deadline, "the verdict was never recorded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    submit(&app, &student, assignments[0], "print('Hello, World!')").await;
}
