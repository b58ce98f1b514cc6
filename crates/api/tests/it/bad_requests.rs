//! Bad input gets a 4xx with a JSON body naming the problem, never a 500, and loses nothing.

use crate::app::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    token: Option<String>,
    body: Body,
    status: StatusCode,
    code: &'static str,
}

enum Body {
    None,
    Json(Value),
    Raw(&'static str, String),
}

#[tokio::test]
async fn a_table_of_bad_requests_gets_the_expected_statuses_and_error_bodies() {
    let app = TestApp::spawn().await;
    let (student, _) = app.guest().await;
    let (other_student, _) = app.guest().await;
    let teacher = app.register("tina", "teacher").await;
    let (course, assignments) = app.seeded_course(&student).await;
    let first = assignments[0];
    let submission = app
        .expect(
            Method::POST,
            &format!("/api/assignments/{first}/submissions"),
            Some(&student),
            Some(json!({"code": "print('Hello, World!')"})),
            StatusCode::ACCEPTED,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let forged = tokens::TokenKeys::new(
        &"another-secret-another-secret-another".to_owned().into(),
        chrono::Duration::minutes(5),
    )
    .issue(
        contracts::UserId(1),
        tokens::Role::Teacher,
        "mallory",
        false,
    )
    .token;
    let expired = tokens::TokenKeys::new(
        &testkit::JWT_SECRET.to_owned().into(),
        chrono::Duration::minutes(-5),
    )
    .issue(contracts::UserId(1), tokens::Role::Student, "late", false)
    .token;
    let submit = format!("/api/assignments/{first}/submissions");
    let s = |t: &str| Some(t.to_owned());

    let cases = vec![
        Case {
            name: "malformed JSON",
            method: Method::POST,
            path: "/api/auth/register".into(),
            token: None,
            body: Body::Raw("application/json", "{\"username\":".into()),
            status: StatusCode::BAD_REQUEST,
            code: "malformed_json",
        },
        Case {
            name: "not JSON at all",
            method: Method::POST,
            path: "/api/auth/login".into(),
            token: None,
            body: Body::Raw("text/plain", "username=a".into()),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
        },
        Case {
            name: "missing field",
            method: Method::POST,
            path: "/api/auth/register".into(),
            token: None,
            body: Body::Json(json!({"username": "someone"})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
        },
        Case {
            name: "unknown field",
            method: Method::POST,
            path: "/api/auth/register".into(),
            token: None,
            body: Body::Json(
                json!({"username": "someone", "password": "long enough", "admin": true}),
            ),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
        },
        Case {
            name: "short password",
            method: Method::POST,
            path: "/api/auth/register".into(),
            token: None,
            body: Body::Json(json!({"username": "someone", "password": "short"})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
        },
        Case {
            name: "taken username",
            method: Method::POST,
            path: "/api/auth/register".into(),
            token: None,
            body: Body::Json(json!({"username": "tina", "password": "long enough"})),
            status: StatusCode::CONFLICT,
            code: "username_taken",
        },
        Case {
            name: "wrong password",
            method: Method::POST,
            path: "/api/auth/login".into(),
            token: None,
            body: Body::Json(json!({"username": "tina", "password": "not the password"})),
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_credentials",
        },
        Case {
            name: "unknown user",
            method: Method::POST,
            path: "/api/auth/login".into(),
            token: None,
            body: Body::Json(json!({"username": "nobody", "password": "whatever1"})),
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_credentials",
        },
        Case {
            name: "missing token",
            method: Method::GET,
            path: "/api/courses".into(),
            token: None,
            body: Body::None,
            status: StatusCode::UNAUTHORIZED,
            code: "missing_token",
        },
        Case {
            name: "forged token",
            method: Method::GET,
            path: "/api/courses".into(),
            token: s(&forged),
            body: Body::None,
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_token",
        },
        Case {
            name: "garbage token",
            method: Method::GET,
            path: "/api/me".into(),
            token: s("garbage"),
            body: Body::None,
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_token",
        },
        Case {
            name: "expired token",
            method: Method::GET,
            path: "/api/courses".into(),
            token: s(&expired),
            body: Body::None,
            status: StatusCode::UNAUTHORIZED,
            code: "expired_token",
        },
        Case {
            name: "unknown assignment",
            method: Method::GET,
            path: "/api/assignments/999999".into(),
            token: s(&student),
            body: Body::None,
            status: StatusCode::NOT_FOUND,
            code: "not_found",
        },
        Case {
            name: "non-numeric id",
            method: Method::GET,
            path: "/api/assignments/abc".into(),
            token: s(&student),
            body: Body::None,
            status: StatusCode::NOT_FOUND,
            code: "not_found",
        },
        Case {
            name: "submission to unknown assignment",
            method: Method::POST,
            path: "/api/assignments/999999/submissions".into(),
            token: s(&student),
            body: Body::Json(json!({"code": "print(1)"})),
            status: StatusCode::NOT_FOUND,
            code: "not_found",
        },
        Case {
            name: "oversized code",
            method: Method::POST,
            path: submit.clone(),
            token: s(&student),
            body: Body::Json(json!({"code": "#".repeat(70_000)})),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "payload_too_large",
        },
        Case {
            name: "oversized body",
            method: Method::POST,
            path: submit.clone(),
            token: s(&student),
            body: Body::Json(json!({"code": "#".repeat(300_000)})),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "payload_too_large",
        },
        Case {
            name: "unknown runtime",
            method: Method::POST,
            path: submit.clone(),
            token: s(&student),
            body: Body::Json(json!({"code": "print(1)", "runtime": "cobol"})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
        },
        Case {
            name: "blank code",
            method: Method::POST,
            path: submit.clone(),
            token: s(&student),
            body: Body::Json(json!({"code": "   "})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
        },
        Case {
            name: "code of the wrong type",
            method: Method::POST,
            path: submit.clone(),
            token: s(&student),
            body: Body::Json(json!({"code": 42})),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
        },
        Case {
            name: "student creates a course",
            method: Method::POST,
            path: "/api/courses".into(),
            token: s(&student),
            body: Body::Json(json!({"title": "Mine"})),
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
        },
        Case {
            name: "student adds an assignment",
            method: Method::POST,
            path: format!("/api/courses/{course}/assignments"),
            token: s(&student),
            body: Body::Json(
                json!({"title": "x", "handout": "", "runtime": "python3", "tests": []}),
            ),
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
        },
        Case {
            name: "teacher of another course edits",
            method: Method::PUT,
            path: format!("/api/assignments/{first}"),
            token: s(&teacher),
            body: Body::Json(
                json!({"title": "x", "handout": "", "runtime": "python3", "tests": []}),
            ),
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
        },
        Case {
            name: "someone else's submission",
            method: Method::GET,
            path: format!("/api/submissions/{submission}"),
            token: s(&other_student),
            body: Body::None,
            status: StatusCode::NOT_FOUND,
            code: "not_found",
        },
        Case {
            name: "deleting someone else's submission",
            method: Method::DELETE,
            path: format!("/api/submissions/{submission}"),
            token: s(&other_student),
            body: Body::None,
            status: StatusCode::NOT_FOUND,
            code: "not_found",
        },
        Case {
            name: "unknown endpoint",
            method: Method::GET,
            path: "/api/nothing-here".into(),
            token: None,
            body: Body::None,
            status: StatusCode::NOT_FOUND,
            code: "not_found",
        },
        Case {
            name: "wrong method",
            method: Method::PATCH,
            path: "/api/courses".into(),
            token: s(&student),
            body: Body::None,
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "method_not_allowed",
        },
    ];

    for case in cases {
        let mut request = app.http().request(case.method.clone(), app.url(&case.path));
        if let Some(token) = &case.token {
            request = request.bearer_auth(token);
        }
        request = match case.body {
            Body::None => request,
            Body::Json(value) => request.json(&value),
            Body::Raw(content_type, text) => {
                request.header("content-type", content_type).body(text)
            }
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, case.status, "{}: {text}", case.name);
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{}: body is not JSON: {text}", case.name));
        assert_eq!(body["error"]["code"], case.code, "{}: {text}", case.name);
        assert!(
            !body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{}: no message",
            case.name
        );
    }

    // Nothing was lost along the way: the one good submission is still there, still queued.
    let mine = app
        .expect(Method::GET, &submit, Some(&student), None, StatusCode::OK)
        .await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["status"], "queued");
}

#[tokio::test]
async fn a_full_queue_answers_503_and_stores_nothing() {
    let app = TestApp::spawn_with(|s| s.max_queue_backlog = 1).await;
    let (student, _) = app.guest().await;
    let (_, assignments) = app.seeded_course(&student).await;
    let submit = format!("/api/assignments/{}/submissions", assignments[0]);
    let body = || Some(json!({"code": "print('Hello, World!')"}));
    // No grader is running, so the first job stays in the queue.
    app.expect(
        Method::POST,
        &submit,
        Some(&student),
        body(),
        StatusCode::ACCEPTED,
    )
    .await;
    let full = app
        .expect(
            Method::POST,
            &submit,
            Some(&student),
            body(),
            StatusCode::SERVICE_UNAVAILABLE,
        )
        .await;
    assert_eq!(full["error"]["code"], "queue_full");
    let mine = app
        .expect(Method::GET, &submit, Some(&student), None, StatusCode::OK)
        .await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
}
