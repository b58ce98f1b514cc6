//! One table of bad requests, each sent to every service it applies to: all of them must
//! answer with the same status and the same error code, in the JSON envelope.

use crate::Services;
use reqwest::header::{ALLOW, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::Value;
use tokens::{Role, TokenKeys};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Api,
    Hub,
    Relay,
}

#[derive(Clone, Copy)]
enum Token {
    None,
    Valid,
    Expired,
    Forged,
}

#[derive(Clone, Copy)]
enum Body {
    None,
    Json(&'static str),
    Text(&'static str),
    /// A JSON string of this many bytes.
    Huge(usize),
}

struct Case {
    what: &'static str,
    method: Method,
    token: Token,
    body: Body,
    status: StatusCode,
    code: &'static str,
    /// Where to send it, per service.
    paths: &'static [(Target, &'static str)],
}

fn cases() -> Vec<Case> {
    use Target::*;
    vec![
        Case {
            what: "no token",
            method: Method::GET,
            token: Token::None,
            body: Body::None,
            status: StatusCode::UNAUTHORIZED,
            code: "missing_token",
            paths: &[(Api, "/api/me"), (Hub, "/hub/projects")],
        },
        Case {
            what: "expired token",
            method: Method::GET,
            token: Token::Expired,
            body: Body::None,
            status: StatusCode::UNAUTHORIZED,
            code: "expired_token",
            paths: &[(Api, "/api/me"), (Hub, "/hub/projects")],
        },
        Case {
            what: "forged token",
            method: Method::GET,
            token: Token::Forged,
            body: Body::None,
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_token",
            paths: &[(Api, "/api/me"), (Hub, "/hub/projects")],
        },
        Case {
            what: "wrong Content-Type",
            method: Method::POST,
            token: Token::Valid,
            body: Body::Text("path=a.py"),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            paths: &[(Api, "/api/auth/login"), (Hub, "/hub/projects/1/files")],
        },
        Case {
            what: "malformed JSON",
            method: Method::POST,
            token: Token::Valid,
            body: Body::Json("{"),
            status: StatusCode::BAD_REQUEST,
            code: "malformed_json",
            paths: &[(Api, "/api/auth/login"), (Hub, "/hub/projects/1/files")],
        },
        Case {
            what: "JSON of the wrong shape",
            method: Method::POST,
            token: Token::Valid,
            body: Body::Json("{\"path\": 7, \"username\": 7}"),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
            paths: &[(Api, "/api/auth/login"), (Hub, "/hub/projects/1/files")],
        },
        Case {
            what: "oversized body",
            method: Method::POST,
            token: Token::Valid,
            body: Body::Huge(2 * 1024 * 1024),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "payload_too_large",
            paths: &[(Api, "/api/auth/login"), (Hub, "/hub/projects/1/files")],
        },
        Case {
            what: "unknown route, unknown id, an id that is not a number",
            method: Method::GET,
            token: Token::Valid,
            body: Body::None,
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            paths: &[
                (Api, "/api/nothing-here"),
                (Hub, "/hub/nothing-here"),
                (Relay, "/nothing-here"),
                (Api, "/api/submissions/987654321"),
                (Hub, "/hub/projects/987654321"),
                (Api, "/api/submissions/abc"),
                (Hub, "/hub/projects/abc"),
            ],
        },
        Case {
            what: "wrong method",
            method: Method::DELETE,
            token: Token::Valid,
            body: Body::None,
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "method_not_allowed",
            paths: &[
                (Api, "/api/courses"),
                (Hub, "/hub/projects"),
                (Relay, "/ws"),
            ],
        },
        Case {
            what: "wrong method on a probe",
            method: Method::POST,
            token: Token::None,
            body: Body::None,
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "method_not_allowed",
            paths: &[(Api, "/readyz"), (Hub, "/readyz"), (Relay, "/readyz")],
        },
        Case {
            what: "plain HTTP on a WebSocket endpoint",
            method: Method::GET,
            token: Token::Valid,
            body: Body::None,
            status: StatusCode::BAD_REQUEST,
            code: "not_websocket",
            paths: &[(Hub, "/hub/projects/1/docs/1"), (Relay, "/ws")],
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_bad_request_gets_the_same_answer_from_every_service() {
    let services = Services::start().await;
    let user = contracts::UserId(1);
    let valid = services.scratch.token(user, Role::Student);
    let expired = TokenKeys::new(
        &SecretString::from(testkit::JWT_SECRET),
        chrono::Duration::minutes(-10),
    )
    .issue(user, Role::Student, "late", false)
    .token;
    let forged = TokenKeys::new(
        &SecretString::from("another-secret-another-secret-another!"),
        chrono::Duration::minutes(10),
    )
    .issue(user, Role::Teacher, "mallory", false)
    .token;
    let http = reqwest::Client::new();
    let mut failures = Vec::new();
    for case in cases() {
        for (target, path) in case.paths {
            let service = match target {
                Target::Api => &services.api,
                Target::Hub => &services.hub,
                Target::Relay => &services.relay,
            };
            let mut request = http.request(case.method.clone(), service.url(path));
            request = match case.token {
                Token::None => request,
                Token::Valid => request.bearer_auth(&valid),
                Token::Expired => request.bearer_auth(&expired),
                Token::Forged => request.bearer_auth(&forged),
            };
            request = match case.body {
                Body::None => request,
                Body::Json(text) => request.header(CONTENT_TYPE, "application/json").body(text),
                Body::Text(text) => request.header(CONTENT_TYPE, "text/plain").body(text),
                Body::Huge(bytes) => request
                    .header(CONTENT_TYPE, "application/json")
                    .body(format!("\"{}\"", "x".repeat(bytes))),
            };
            let response = request.send().await.unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let code = body["error"]["code"]
                .as_str()
                .unwrap_or("<no JSON envelope>");
            let mut wrong = Vec::new();
            if status != case.status || code != case.code {
                wrong.push(format!("{status} {code}"));
            }
            if body["error"]["message"].as_str().is_none_or(str::is_empty) {
                wrong.push("no message".into());
            }
            if status == StatusCode::METHOD_NOT_ALLOWED && !headers.contains_key(ALLOW) {
                wrong.push("no Allow header".into());
            }
            if status == StatusCode::UNAUTHORIZED && !headers.contains_key(WWW_AUTHENTICATE) {
                wrong.push("no WWW-Authenticate header".into());
            }
            if !wrong.is_empty() {
                failures.push(format!(
                    "{} ({:?} {} {path}): expected {} {}, got {}: {body}",
                    case.what,
                    target,
                    case.method,
                    case.status,
                    case.code,
                    wrong.join(", ")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
