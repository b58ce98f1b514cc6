//! What the authoring page needs of the api: putting a course's assignments in a new order,
//! previewing a handout as students will see it, and trying a reference solution against an
//! assignment before saving it (its job on the real stream, its verdict injected as a grader
//! publishes it).

use crate::app::TestApp;
use chrono::Utc;
use contracts::{
    ResultEvent, ResultKind, TestCase, TestOutcome, TestStatus, Verdict, MESSAGE_VERSION,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn assignment(title: &str) -> Value {
    json!({
        "title": title, "handout": "Write `square`.", "runtime": "python3",
        "tests": [
            {"kind": "call", "name": "small", "call": "square(3)", "expected": "9"},
            {"kind": "call", "name": "big", "call": "square(12)", "expected": "144", "hidden": true},
        ],
        "time_limit_ms": 1500,
    })
}

/// A teacher's course with assignments titled `titles`; returns (teacher, course, ids).
async fn course_with(app: &TestApp, titles: &[&str]) -> (String, i64, Vec<i64>) {
    let teacher = app.teacher("teach").await;
    let course = app.course(&teacher, "Squares").await;
    let mut ids = Vec::new();
    for title in titles {
        let created = app
            .expect(
                Method::POST,
                &format!("/api/courses/{course}/assignments"),
                Some(&teacher),
                Some(assignment(title)),
                StatusCode::CREATED,
            )
            .await;
        ids.push(created["id"].as_i64().unwrap());
    }
    (teacher, course, ids)
}

/// The titles of the course's assignments in order, as students list them.
async fn titles(app: &TestApp, token: &str, course: i64) -> Vec<String> {
    app.get(&format!("/api/courses/{course}/assignments"), token)
        .await["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn teachers_reorder_a_courses_assignments_and_everyone_sees_the_new_order() {
    let app = TestApp::spawn().await;
    let (teacher, course, ids) = course_with(&app, &["one", "two", "three"]).await;
    // Read once so that the cached listing must be forgotten.
    assert_eq!(
        titles(&app, &teacher, course).await,
        ["one", "two", "three"]
    );
    let order = format!("/api/courses/{course}/assignment-order");
    let answer = app
        .expect(
            Method::PUT,
            &order,
            Some(&teacher),
            Some(json!({"assignments": [ids[2], ids[0], ids[1]]})),
            StatusCode::OK,
        )
        .await;
    let positions: Vec<(i64, i64)> = answer
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].as_i64().unwrap(), a["position"].as_i64().unwrap()))
        .collect();
    assert_eq!(positions, [(ids[2], 1), (ids[0], 2), (ids[1], 3)]);
    assert_eq!(
        titles(&app, &teacher, course).await,
        ["three", "one", "two"]
    );
    let single = app
        .get(&format!("/api/assignments/{}", ids[2]), &teacher)
        .await;
    assert_eq!(single["position"], 1, "the assignment's own view moved too");

    // An order that leaves one out, repeats one or names another course's is refused whole.
    for bad in [
        json!([ids[0], ids[1]]),
        json!([ids[0], ids[0], ids[1]]),
        json!([ids[0], ids[1], ids[2], 999_999]),
    ] {
        let refusal = app
            .expect(
                Method::PUT,
                &order,
                Some(&teacher),
                Some(json!({ "assignments": bad })),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        assert_eq!(refusal["error"]["field"], "assignments", "{bad}");
    }
    assert_eq!(
        titles(&app, &teacher, course).await,
        ["three", "one", "two"]
    );
    // JSON Schema counts `3.0` as an integer: so does the api.
    let floats: Vec<f64> = [ids[1], ids[2], ids[0]].map(|id| id as f64).to_vec();
    app.expect(
        Method::PUT,
        &order,
        Some(&teacher),
        Some(json!({ "assignments": floats })),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        titles(&app, &teacher, course).await,
        ["two", "three", "one"]
    );

    // Deleting one moves the later ones up: positions stay 1, 2, … (pages number by them).
    let last = format!("/api/assignments/{}", ids[0]);
    assert_eq!(app.get(&last, &teacher).await["position"], 3);
    app.expect(
        Method::DELETE,
        &format!("/api/assignments/{}", ids[2]),
        Some(&teacher),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_eq!(app.get(&last, &teacher).await["position"], 2);
    assert_eq!(titles(&app, &teacher, course).await, ["two", "one"]);

    // A student of the course may not.
    app.publish(&teacher, course).await;
    let (student, _) = app.guest().await;
    let refusal = app
        .expect(
            Method::PUT,
            &order,
            Some(&student),
            Some(json!({"assignments": ids})),
            StatusCode::FORBIDDEN,
        )
        .await;
    assert_eq!(refusal["error"]["code"], "forbidden");
}

#[tokio::test]
async fn a_handout_preview_is_the_sanitised_html_students_get() {
    let app = TestApp::spawn().await;
    let (token, _) = app.guest().await;
    let preview = app
        .expect(
            Method::POST,
            "/api/handout-preview",
            Some(&token),
            Some(json!({"handout": "# Squares\n\nPrint `n*n`.<script>alert(1)</script>"})),
            StatusCode::OK,
        )
        .await;
    let html = preview["html"].as_str().unwrap();
    assert!(html.contains("<h1>Squares</h1>"), "{html}");
    assert!(html.contains("<code>n*n</code>"), "{html}");
    assert!(!html.contains("<script"), "{html}");

    let refusal = app
        .expect(
            Method::POST,
            "/api/handout-preview",
            Some(&token),
            Some(json!({"handout": "x".repeat(64 * 1024 + 1)})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(refusal["error"]["field"], "handout");
    app.expect(
        Method::POST,
        "/api/handout-preview",
        None,
        Some(json!({"handout": "hi"})),
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

fn trial_body(code: &str) -> Value {
    json!({ "code": code, "assignment": assignment("Square") })
}

/// Polls the trial `id` until `done` holds for it (bounded).
async fn wait_for_trial(
    app: &TestApp,
    token: &str,
    id: i64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let trial = app.get(&format!("/api/trials/{id}"), token).await;
        if done(&trial) {
            return trial;
        }
        assert!(Instant::now() < deadline, "trial {id} stays {trial}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn outcome(name: &str, status: TestStatus, message: Option<&str>) -> TestOutcome {
    TestOutcome {
        name: name.into(),
        status,
        message: message.map(Into::into),
        duration_ms: 3,
    }
}

#[tokio::test]
async fn a_trial_is_graded_from_the_stream_with_every_test_shown_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let (teacher, course, _) = course_with(&app, &[]).await;
    let code = "def square(n):\n    return n + n\n";
    let trial = app
        .expect(
            Method::POST,
            &format!("/api/courses/{course}/trials"),
            Some(&teacher),
            Some(trial_body(code)),
            StatusCode::ACCEPTED,
        )
        .await;
    assert_eq!(trial["status"], "queued");
    let id = trial["id"].as_i64().unwrap();

    // The job is on the graders' stream, with the hidden test shown, the limits as given.
    let [job] = app.jobs().await.try_into().unwrap();
    assert_eq!(job.submission_id.0, id);
    assert_eq!(job.assignment_id.0, 0, "a trial belongs to no assignment");
    assert_eq!(job.code, code);
    assert_eq!(job.limits.time_ms, 1500);
    assert_eq!(job.tests.len(), 2);
    assert!(job.tests.iter().all(|test| !test.is_hidden()));
    assert!(matches!(&job.tests[1], TestCase::Call { call, .. } if call == "square(12)"));

    // A grader takes it and reports, as for any job.
    let event = |kind| ResultEvent {
        v: MESSAGE_VERSION,
        submission_id: job.submission_id,
        user_id: job.user_id,
        assignment_id: job.assignment_id,
        enqueued_at: job.enqueued_at,
        kind,
    };
    let results = app.keys().results();
    app.streams()
        .publish(
            &results,
            &event(ResultKind::Grading {
                started_at: Utc::now(),
            }),
        )
        .await
        .unwrap();
    wait_for_trial(&app, &teacher, id, |t| t["status"] == "grading").await;
    let graded = event(ResultKind::Graded {
        verdict: Verdict::WrongAnswer,
        tests: vec![
            outcome(
                "small",
                TestStatus::Failed,
                Some("square(3) returned 6, not 9"),
            ),
            outcome(
                "big",
                TestStatus::Failed,
                Some("square(12) returned 24, not 144"),
            ),
        ],
        feedback: "Test \"small\" failed.".into(),
        started_at: Utc::now(),
        finished_at: Utc::now(),
    });
    app.streams().publish(&results, &graded).await.unwrap();
    let done = wait_for_trial(&app, &teacher, id, |t| t["status"] == "graded").await;
    assert_eq!(done["verdict"], "wrong_answer");
    assert_eq!(done["tests"][0]["hidden"], false);
    assert_eq!(done["tests"][1]["hidden"], true);
    assert_eq!(
        done["tests"][1]["message"],
        "square(12) returned 24, not 144"
    );
    assert_eq!(done["feedback"], "Test \"small\" failed.");

    // Delivered again, it changes nothing.
    app.streams().publish(&results, &graded).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while app
        .api
        .metric("api_results_recorded_total{status=\"duplicate\"}")
        .await
        < 1.0
    {
        assert!(
            Instant::now() < deadline,
            "the duplicate was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.get(&format!("/api/trials/{id}"), &teacher).await, done);

    // No assignment was created, and the trial is its author's alone.
    assert!(titles(&app, &teacher, course).await.is_empty());
    let other = app.teacher("other").await;
    app.expect(
        Method::GET,
        &format!("/api/trials/{id}"),
        Some(&other),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn trials_are_refused_to_non_teachers_over_the_bounds_and_past_the_per_user_cap() {
    let app = TestApp::spawn_with(|s| {
        s.dispatch_per_user = 2;
        s.max_time_limit_ms = 3_000;
    })
    .await;
    let (teacher, course, _) = course_with(&app, &[]).await;
    let trials = format!("/api/courses/{course}/trials");
    let code = "def square(n):\n    return n * n\n";

    // Checked as saving the assignment is, the fault named by the same field.
    let mut slow = trial_body(code);
    slow["assignment"]["time_limit_ms"] = json!(3_001);
    let refusal = app
        .expect(
            Method::POST,
            &trials,
            Some(&teacher),
            Some(slow),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(refusal["error"]["field"], "time_limit_ms");
    assert!(refusal["error"]["message"]
        .as_str()
        .unwrap()
        .contains("3000"));
    let refusal = app
        .expect(
            Method::POST,
            &trials,
            Some(&teacher),
            Some(trial_body(" ")),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(refusal["error"]["field"], "code");

    // Someone who does not teach the course.
    let (student, _) = app.guest().await;
    app.expect(
        Method::POST,
        &trials,
        Some(&student),
        Some(trial_body(code)),
        StatusCode::NOT_FOUND,
    )
    .await;

    // At most `dispatch_per_user` of one teacher's trials wait for a verdict at once.
    for _ in 0..2 {
        app.expect(
            Method::POST,
            &trials,
            Some(&teacher),
            Some(trial_body(code)),
            StatusCode::ACCEPTED,
        )
        .await;
    }
    let refusal = app
        .expect(
            Method::POST,
            &trials,
            Some(&teacher),
            Some(trial_body(code)),
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    assert_eq!(refusal["error"]["code"], "too_many_submissions");
    assert_eq!(
        app.jobs().await.len(),
        2,
        "the refused trial is not on the stream"
    );
}
