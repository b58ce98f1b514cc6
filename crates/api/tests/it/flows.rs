//! The student and teacher flows through the real api, Postgres and Redis, with grader
//! events injected on the real `results` stream.

use crate::app::TestApp;
use chrono::Utc;
use contracts::{
    AssignmentId, ResultEvent, ResultKind, SubmissionId, TestOutcome, TestStatus, UserId, Verdict,
    MESSAGE_VERSION,
};
use deadpool_redis::redis::AsyncCommands;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

pub(crate) async fn submit(app: &TestApp, token: &str, assignment: i64, code: &str) -> Value {
    app.expect(
        Method::POST,
        &format!("/api/assignments/{assignment}/submissions"),
        Some(token),
        Some(json!({ "code": code })),
        StatusCode::ACCEPTED,
    )
    .await
}

pub(crate) fn graded(submission: &Value, verdict: Verdict) -> ResultEvent {
    ResultEvent {
        v: MESSAGE_VERSION,
        submission_id: SubmissionId(submission["id"].as_i64().unwrap()),
        user_id: UserId(submission["user_id"].as_i64().unwrap()),
        assignment_id: AssignmentId(submission["assignment_id"].as_i64().unwrap()),
        enqueued_at: Utc::now(),
        kind: ResultKind::Graded {
            verdict,
            tests: vec![TestOutcome {
                name: "prints the greeting".into(),
                status: if verdict == Verdict::Accepted {
                    TestStatus::Passed
                } else {
                    TestStatus::Failed
                },
                message: None,
                duration_ms: 5,
            }],
            feedback: Default::default(),
            started_at: Utc::now(),
            finished_at: Utc::now(),
        },
    }
}

/// Polls a submission until `done` holds for it (bounded).
async fn wait_for(app: &TestApp, token: &str, id: i64, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let current = app.get(&format!("/api/submissions/{id}"), token).await;
        if done(&current) {
            return current;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("submission {id} never reached the expected state");
}

/// Publishes `event` on the results stream, as a grader would, then polls its submission
/// until `done` holds for it.
pub(crate) async fn deliver(
    app: &TestApp,
    token: &str,
    event: &ResultEvent,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let recorded = "api_results_recorded_total{status=\"graded\"}";
    let before = app.api.metric(recorded).await;
    app.streams()
        .publish(&app.keys().results(), event)
        .await
        .unwrap();
    let submission = wait_for(app, token, event.submission_id.0, done).await;
    // The recorder counts an event once it has also forgotten the cached reads it changed.
    for _ in 0..100 {
        if app.api.metric(recorded).await > before {
            return submission;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "the recorder never finished with submission {}",
        event.submission_id
    );
}

/// What the course's assignment list at `path` shows: the first assignment's progress and
/// the first unsolved assignment.
async fn first_progress(app: &TestApp, token: &str, path: &str) -> (Value, Value) {
    let list = app.get(path, token).await;
    (
        list["assignments"][0]["progress"].clone(),
        list["next_unsolved"].clone(),
    )
}

#[tokio::test]
async fn accounts_register_sign_in_refresh_and_describe_themselves() {
    let app = TestApp::spawn().await;
    app.register("Ada").await;
    let session = app
        .expect(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": "ada", "password": "correct horse"})),
            StatusCode::OK,
        )
        .await;
    let token = session["token"].as_str().unwrap();
    let me = app.get("/api/me", token).await;
    assert_eq!(me["username"], "ada");
    assert_eq!(me["role"], "student");
    let refreshed = app
        .expect(
            Method::POST,
            "/api/auth/refresh",
            Some(token),
            None,
            StatusCode::OK,
        )
        .await;
    assert!(refreshed["token"].is_string());

    let (guest, _) = app.guest().await;
    let me = app.get("/api/me", &guest).await;
    assert_eq!(me["guest"], true);
}

#[tokio::test]
async fn progress_and_the_first_unsolved_exercise_follow_the_verdicts() {
    let app = TestApp::spawn().await;
    let (student, _) = app.guest().await;
    let (course, assignments) = app.seeded_course(&student).await;
    assert!(assignments.len() >= 6);
    let list_path = format!("/api/courses/{course}/assignments");
    let progress = || first_progress(&app, &student, &list_path);
    assert_eq!(progress().await, (json!("untried"), json!(assignments[0])));

    let wrong = submit(&app, &student, assignments[0], "print('hi')").await;
    let right = submit(&app, &student, assignments[0], "print('Hello, World!')").await;
    let wrong_answer = graded(&wrong, Verdict::WrongAnswer);
    deliver(&app, &student, &wrong_answer, |s| s["status"] == "graded").await;
    assert_eq!(
        progress().await,
        (json!("attempted"), json!(assignments[0]))
    );

    let accepted = graded(&right, Verdict::Accepted);
    deliver(&app, &student, &accepted, |s| s["verdict"] == "accepted").await;
    assert_eq!(progress().await, (json!("solved"), json!(assignments[1])));
}

#[tokio::test]
async fn a_cached_list_shows_a_new_submission_right_after_it_is_created() {
    let app = TestApp::spawn().await;
    let (student, _) = app.guest().await;
    let (_, assignments) = app.seeded_course(&student).await;
    let path = format!("/api/assignments/{}/submissions", assignments[1]);
    // Fill the cache, then read again so the second answer comes from it.
    for _ in 0..2 {
        let empty = app.get(&path, &student).await;
        assert_eq!(empty.as_array().unwrap().len(), 0);
    }
    let key = app
        .keys()
        .cache_submissions(UserId(0), AssignmentId(0))
        .replace(":0:0", "");
    let mut redis = app.redis().await;
    let cached: Vec<String> = redis.keys(format!("{key}*")).await.unwrap();
    assert_eq!(cached.len(), 1, "the list was cached");

    let created = submit(
        &app,
        &student,
        assignments[1],
        "print('Hello, ' + input() + '!')",
    )
    .await;
    let list = app.get(&path, &student).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], created["id"]);
    assert_eq!(list[0]["status"], "queued");
}

#[tokio::test]
async fn a_redelivered_verdict_is_recorded_once() {
    let app = TestApp::spawn().await;
    let (student, _) = app.guest().await;
    let (_, assignments) = app.seeded_course(&student).await;
    let submission = submit(&app, &student, assignments[0], "print('Hello, World!')").await;
    let id = submission["id"].as_i64().unwrap();
    let accepted = graded(&submission, Verdict::Accepted);
    let first = deliver(&app, &student, &accepted, |s| s["status"] == "graded").await;

    // The same verdict again, then a contradicting late one: neither changes the record.
    let results = app.keys().results();
    app.streams().publish(&results, &accepted).await.unwrap();
    app.streams()
        .publish(&results, &graded(&submission, Verdict::WrongAnswer))
        .await
        .unwrap();
    let duplicates = "api_results_recorded_total{status=\"duplicate\"}";
    for _ in 0..100 {
        if app.api.metric(duplicates).await >= 2.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.api.metric(duplicates).await, 2.0);
    let after = app.get(&format!("/api/submissions/{id}"), &student).await;
    assert_eq!(after["verdict"], "accepted");
    assert_eq!(after["finished_at"], first["finished_at"]);
}

#[tokio::test]
async fn deleting_a_queued_submission_cancels_it_and_a_late_verdict_is_discarded() {
    let app = TestApp::spawn().await;
    let (student, _) = app.guest().await;
    let (_, assignments) = app.seeded_course(&student).await;
    let submission = submit(&app, &student, assignments[0], "print('Hello, World!')").await;
    let id = submission["id"].as_i64().unwrap();
    app.expect(
        Method::DELETE,
        &format!("/api/submissions/{id}"),
        Some(&student),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let mut redis = app.redis().await;
    let marked: bool = redis
        .exists(app.keys().cancelled(SubmissionId(id)))
        .await
        .unwrap();
    assert!(marked, "the graders are told to skip it");

    app.streams()
        .publish(
            &app.keys().results(),
            &graded(&submission, Verdict::Accepted),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.expect(
        Method::GET,
        &format!("/api/submissions/{id}"),
        Some(&student),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    let list = app
        .expect(
            Method::GET,
            &format!("/api/assignments/{}/submissions", assignments[0]),
            Some(&student),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(list.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn teachers_manage_assignments_of_their_own_courses() {
    let app = TestApp::spawn().await;
    let teacher = app.teacher("terry").await;
    let course = app.course(&teacher, "Algorithms").await;
    let draft = json!({
        "title": "Double it",
        "handout": "Write `double(n)`.",
        "runtime": "python3",
        "tests": [{"kind": "call", "name": "doubles 2", "call": "double(2)", "expected": "4"}],
    });
    let created = app
        .expect(
            Method::POST,
            &format!("/api/courses/{course}/assignments"),
            Some(&teacher),
            Some(draft.clone()),
            StatusCode::CREATED,
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["position"], 1);
    assert_eq!(created["tests"][0]["call"], "double(2)");

    // Once published, students see the handout and the test names, not the tests.
    app.expect(
        Method::PATCH,
        &format!("/api/courses/{course}"),
        Some(&teacher),
        Some(json!({"published": true})),
        StatusCode::OK,
    )
    .await;
    let (student, _) = app.guest().await;
    let seen = app.get(&format!("/api/assignments/{id}"), &student).await;
    assert_eq!(seen["test_names"][0], "doubles 2");
    assert!(seen.get("tests").is_none(), "{seen}");

    let mut edited = draft.clone();
    edited["title"] = json!("Double it twice");
    let updated = app
        .expect(
            Method::PUT,
            &format!("/api/assignments/{id}"),
            Some(&teacher),
            Some(edited),
            StatusCode::OK,
        )
        .await;
    assert_eq!(updated["title"], "Double it twice");
    let seen = app.get(&format!("/api/assignments/{id}"), &student).await;
    assert_eq!(
        seen["title"], "Double it twice",
        "the cached copy was replaced"
    );

    let mut invalid = draft.clone();
    invalid["tests"] = json!([{"kind": "call", "name": "no expectation", "call": "double(2)"}]);
    let error = app
        .expect(
            Method::POST,
            &format!("/api/courses/{course}/assignments"),
            Some(&teacher),
            Some(invalid),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(error["error"]["field"], "tests");

    app.expect(
        Method::DELETE,
        &format!("/api/assignments/{id}"),
        Some(&teacher),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    app.expect(
        Method::GET,
        &format!("/api/assignments/{id}"),
        Some(&student),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    let list = app
        .get(&format!("/api/courses/{course}/assignments"), &student)
        .await;
    assert_eq!(list["assignments"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn the_openapi_document_and_operational_endpoints_answer() {
    let app = TestApp::spawn().await;
    let doc = app
        .expect(Method::GET, "/api/openapi.json", None, None, StatusCode::OK)
        .await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/assignments/{id}/submissions"]["post"].is_object());
    let page = app.http().get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("/api/openapi.json"));

    app.expect(Method::GET, "/healthz", None, None, StatusCode::OK)
        .await;
    let ready = app
        .expect(Method::GET, "/readyz", None, None, StatusCode::OK)
        .await;
    assert_eq!(ready["database"], "ok");
    assert_eq!(ready["redis"], "ok");
    let metrics = app
        .http()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("api_http_requests_total"), "{metrics}");
}
