//! Bad input gets a 4xx with a JSON body naming the problem, never a 500, and loses nothing.

use crate::app::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A request a case sends: a method and path, then an optional bearer token and body.
struct Request<'a> {
    method: Method,
    path: String,
    token: Option<&'a str>,
    body: Body,
}

enum Body {
    None,
    Json(Value),
    /// A content type and the text sent under it.
    Raw(&'static str, &'static str),
}

fn request<'a>(method: Method, path: impl Into<String>) -> Request<'a> {
    Request {
        method,
        path: path.into(),
        token: None,
        body: Body::None,
    }
}

fn get<'a>(path: impl Into<String>) -> Request<'a> {
    request(Method::GET, path)
}

fn post<'a>(path: impl Into<String>) -> Request<'a> {
    request(Method::POST, path)
}

impl<'a> Request<'a> {
    /// Sent with `token` as its bearer token.
    fn by(self, token: &'a str) -> Self {
        Self {
            token: Some(token),
            ..self
        }
    }

    fn json(self, body: Value) -> Self {
        Self {
            body: Body::Json(body),
            ..self
        }
    }

    fn raw(self, content_type: &'static str, text: &'static str) -> Self {
        Self {
            body: Body::Raw(content_type, text),
            ..self
        }
    }
}

#[tokio::test]
async fn a_table_of_bad_requests_gets_the_expected_statuses_and_error_bodies() {
    let app = TestApp::spawn().await;
    let (student, _) = app.guest().await;
    let (other_student, _) = app.guest().await;
    let teacher = app.teacher("tina").await;
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
    let (register, login) = ("/api/auth/register", "/api/auth/login");
    let assignment = || json!({"title": "x", "handout": "", "runtime": "python3", "tests": []});
    let theirs = format!("/api/submissions/{submission}");

    // Each refusal once, with the requests that must get it.
    let refusals = [
        (
            StatusCode::BAD_REQUEST,
            "malformed_json",
            vec![(
                "malformed JSON",
                post(register).raw("application/json", "{\"username\":"),
            )],
        ),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            vec![(
                "not JSON at all",
                post(login).raw("text/plain", "username=a"),
            )],
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            vec![
                (
                    "missing field",
                    post(register).json(json!({"username": "someone"})),
                ),
                (
                    "unknown field",
                    post(register).json(
                        json!({"username": "someone", "password": "long enough", "admin": true}),
                    ),
                ),
                (
                    "short password",
                    post(register).json(json!({"username": "someone", "password": "short"})),
                ),
                (
                    "registering as a teacher",
                    post(register).json(
                        json!({"username": "someone", "password": "long enough", "role": "teacher"}),
                    ),
                ),
                (
                    "unknown runtime",
                    post(&submit)
                        .by(&student)
                        .json(json!({"code": "print(1)", "runtime": "cobol"})),
                ),
                (
                    "blank code",
                    post(&submit).by(&student).json(json!({"code": "   "})),
                ),
                (
                    "code of the wrong type",
                    post(&submit).by(&student).json(json!({"code": 42})),
                ),
            ],
        ),
        (
            StatusCode::CONFLICT,
            "username_taken",
            vec![(
                "taken username",
                post(register).json(json!({"username": "tina", "password": "long enough"})),
            )],
        ),
        (
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            vec![
                (
                    "wrong password",
                    post(login).json(json!({"username": "tina", "password": "not the password"})),
                ),
                (
                    "unknown user",
                    post(login).json(json!({"username": "nobody", "password": "whatever1"})),
                ),
            ],
        ),
        (
            StatusCode::UNAUTHORIZED,
            "missing_token",
            vec![("missing token", get("/api/courses"))],
        ),
        (
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            vec![
                ("forged token", get("/api/courses").by(&forged)),
                ("garbage token", get("/api/me").by("garbage")),
            ],
        ),
        (
            StatusCode::UNAUTHORIZED,
            "expired_token",
            vec![("expired token", get("/api/courses").by(&expired))],
        ),
        (
            StatusCode::NOT_FOUND,
            "not_found",
            vec![
                (
                    "unknown assignment",
                    get("/api/assignments/999999").by(&student),
                ),
                ("non-numeric id", get("/api/assignments/abc").by(&student)),
                (
                    "submission to unknown assignment",
                    post("/api/assignments/999999/submissions")
                        .by(&student)
                        .json(json!({"code": "print(1)"})),
                ),
                ("someone else's submission", get(&theirs).by(&other_student)),
                (
                    "deleting someone else's submission",
                    request(Method::DELETE, &theirs).by(&other_student),
                ),
                ("unknown endpoint", get("/api/nothing-here")),
                (
                    "accepting an invitation nobody sent",
                    post(format!("/api/courses/{course}/invitation")).by(&student),
                ),
                (
                    "teachers of an unknown course",
                    get("/api/courses/999999/teachers").by(&student),
                ),
            ],
        ),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            vec![
                // Over `max_code_bytes` but not over the body limit.
                (
                    "oversized code",
                    post(&submit)
                        .by(&student)
                        .json(json!({"code": "#".repeat(70_000)})),
                ),
                (
                    "oversized body",
                    post(&submit)
                        .by(&student)
                        .json(json!({"code": "#".repeat(300_000)})),
                ),
            ],
        ),
        (
            StatusCode::FORBIDDEN,
            "forbidden",
            vec![
                (
                    "student creates a course",
                    post("/api/courses")
                        .by(&student)
                        .json(json!({"title": "Mine"})),
                ),
                (
                    "student adds an assignment",
                    post(format!("/api/courses/{course}/assignments"))
                        .by(&student)
                        .json(assignment()),
                ),
                (
                    "student lists a course's teachers",
                    get(format!("/api/courses/{course}/teachers")).by(&student),
                ),
                (
                    "student unpublishes a course",
                    request(Method::PATCH, format!("/api/courses/{course}"))
                        .by(&student)
                        .json(json!({"published": false})),
                ),
                (
                    "teacher of another course invites a co-teacher",
                    post(format!("/api/courses/{course}/teachers"))
                        .by(&teacher)
                        .json(json!({"username": "tina"})),
                ),
                (
                    "teacher of another course edits",
                    request(Method::PUT, format!("/api/assignments/{first}"))
                        .by(&teacher)
                        .json(assignment()),
                ),
            ],
        ),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            vec![(
                "wrong method",
                request(Method::PATCH, "/api/courses").by(&student),
            )],
        ),
    ];

    for (status, code, requests) in refusals {
        for (name, case) in requests {
            let mut outgoing = app.http().request(case.method, app.url(&case.path));
            if let Some(token) = case.token {
                outgoing = outgoing.bearer_auth(token);
            }
            outgoing = match case.body {
                Body::None => outgoing,
                Body::Json(value) => outgoing.json(&value),
                Body::Raw(content_type, text) => {
                    outgoing.header("content-type", content_type).body(text)
                }
            };
            let response = outgoing.send().await.unwrap();
            let got = response.status();
            let text = response.text().await.unwrap();
            assert_eq!(got, status, "{name}: {text}");
            let body: Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{name}: body is not JSON: {text}"));
            assert_eq!(body["error"]["code"], code, "{name}: {text}");
            assert!(
                !body["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .is_empty(),
                "{name}: no message"
            );
        }
    }

    // Nothing was lost along the way: the one good submission is still there, still queued.
    let mine = app.get(&submit, &student).await;
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
    let mine = app.get(&submit, &student).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_user_with_too_many_unfinished_submissions_gets_429_and_others_are_not_held_up() {
    let app = TestApp::spawn_with(|s| s.max_unfinished_per_user = 2).await;
    let (student, _) = app.guest().await;
    let (other, _) = app.guest().await;
    let (_, assignments) = app.seeded_course(&student).await;
    let submit = format!("/api/assignments/{}/submissions", assignments[0]);
    let body = || Some(json!({"code": "print('Hello, World!')"}));
    // No grader is running, so every submission stays unfinished. Sent at once, they still
    // take turns: exactly two are accepted.
    let sent = futures_util::future::join_all(
        (0..5).map(|_| app.send(Method::POST, &submit, Some(&student), body())),
    )
    .await;
    let mut statuses: Vec<u16> = sent.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [202, 202, 429, 429, 429]);
    let refused = sent
        .into_iter()
        .find(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .unwrap();
    assert!(refused.headers().contains_key("retry-after"));
    let refused: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(refused["error"]["code"], "too_many_submissions");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("2 submissions"), "{message}");
    assert_eq!(
        app.get(&submit, &student).await.as_array().unwrap().len(),
        2
    );
    // Another student's submission is accepted.
    app.expect(
        Method::POST,
        &submit,
        Some(&other),
        body(),
        StatusCode::ACCEPTED,
    )
    .await;
}
