//! The roster: a course's teachers see each student's progress per assignment, with their
//! attempts, last submission and project; nobody else sees it.

use crate::app::TestApp;
use crate::flows::{deliver, graded, submit};
use contracts::Verdict;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn teachers_see_each_students_progress_and_nobody_else_does() {
    let app = TestApp::spawn().await;
    let teacher = app.teacher("grace").await;
    let course = app.course(&teacher, "Roster").await;
    let assignment = app
        .expect(
            Method::POST,
            &format!("/api/courses/{course}/assignments"),
            Some(&teacher),
            Some(json!({
                "title": "Greet",
                "handout": "Print a greeting.",
                "runtime": "python3",
                "tests": [{"kind": "call", "name": "greets", "call": "greet()", "expected": "'hi'"}],
            })),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let (ada, ada_id) = app.register("ada").await;
    let (bob, bob_id) = app.register("bob").await;
    let (eve, _) = app.register("eve").await;
    let roster_path = format!("/api/courses/{course}/roster");
    // Unpublished: to an outsider the course does not exist.
    let refused = app
        .expect(
            Method::GET,
            &roster_path,
            Some(&eve),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    assert_eq!(refused["error"]["code"], "not_found");
    app.expect(
        Method::PATCH,
        &format!("/api/courses/{course}"),
        Some(&teacher),
        Some(json!({"published": true})),
        StatusCode::OK,
    )
    .await;
    for student in [&ada, &bob] {
        app.expect(
            Method::POST,
            &format!("/api/courses/{course}/enrol"),
            Some(student),
            None,
            StatusCode::NO_CONTENT,
        )
        .await;
    }
    let refused = app
        .expect(
            Method::GET,
            &roster_path,
            Some(&ada),
            None,
            StatusCode::FORBIDDEN,
        )
        .await;
    assert_eq!(refused["error"]["code"], "forbidden");

    let wrong = submit(&app, &ada, assignment, "print('no')").await;
    deliver(&app, &ada, &graded(&wrong, Verdict::WrongAnswer), |s| {
        s["status"] == "graded"
    })
    .await;
    let right = submit(&app, &ada, assignment, "print('hi')").await;
    deliver(&app, &ada, &graded(&right, Verdict::Accepted), |s| {
        s["verdict"] == "accepted"
    })
    .await;

    let roster = app.get(&roster_path, &teacher).await;
    assert_eq!(roster["assignments"][0]["id"], assignment);
    let students = roster["students"].as_array().unwrap();
    assert_eq!(students.len(), 2, "{roster}");
    let of = |id: i64| students.iter().find(|s| s["user_id"] == id).unwrap();
    let ada_row = &of(ada_id)["progress"][0];
    assert_eq!(ada_row["progress"], "solved");
    assert_eq!(ada_row["attempts"], 2);
    assert_eq!(ada_row["last_submission_id"], right["id"]);
    assert_eq!(ada_row["solved_submission_id"], right["id"]);
    assert!(ada_row["last_submitted_at"].is_string());
    assert_eq!(of(ada_id)["solved"], 1);
    let bob_row = &of(bob_id)["progress"][0];
    assert_eq!(bob_row["progress"], "untried");
    assert_eq!(bob_row["attempts"], 0);
    assert!(bob_row["last_submission_id"].is_null());
    // The teacher may open the submissions the roster links to.
    let linked = app
        .get(&format!("/api/submissions/{}", right["id"]), &teacher)
        .await;
    assert_eq!(linked["verdict"], "accepted");
}
