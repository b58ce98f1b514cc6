//! Sessions: a sign-in starts one, refreshes stay within its maximum age, and signing out
//! revokes its tokens at the api, the relay and the hub alike (the same check,
//! `tokens::Verifier`, wherever a token is verified).

use crate::app::TestApp;
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use testkit::{spawn, Service, WAIT};
use tokio_tungstenite::tungstenite::Message;

/// Registers `username` (without a role: the default is the same before and after roles) and
/// returns its first session's token.
async fn register(app: &TestApp, username: &str) -> String {
    sign_in(app, "/api/auth/register", username, StatusCode::CREATED).await
}

async fn login(app: &TestApp, username: &str) -> String {
    sign_in(app, "/api/auth/login", username, StatusCode::OK).await
}

async fn sign_in(app: &TestApp, path: &str, username: &str, status: StatusCode) -> String {
    let body = json!({"username": username, "password": "correct horse"});
    let session = app
        .expect(Method::POST, path, None, Some(body), status)
        .await;
    session["token"].as_str().unwrap().to_owned()
}

/// The error code of a refused call.
async fn refused(app: &TestApp, method: Method, path: &str, token: &str) -> String {
    let response = app.send(method.clone(), path, Some(token), None).await;
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "{method} {path}"
    );
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let body: Value = response.json().await.unwrap();
    body["error"]["code"].as_str().unwrap().to_owned()
}

/// The relay's first answer to an `auth` message with `token`: its `ready` message, or the
/// close code.
async fn relay_answer(relay: &Service, token: &str) -> Result<Value, u16> {
    let (mut socket, _) = tokio_tungstenite::connect_async(relay.ws_url("/ws"))
        .await
        .unwrap();
    let auth = json!({"type": "auth", "token": token, "last_event_id": null});
    socket.send(Message::text(auth.to_string())).await.unwrap();
    first_answer(&mut socket).await
}

/// How the hub answers a document socket opened with `token` for a project that does not
/// exist: a close code in any case, which says whether the token got past verification.
async fn hub_close(hub: &Service, token: &str) -> u16 {
    let url = hub.ws_url(&format!("/hub/projects/999999/docs/999999?token={token}"));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    first_answer(&mut socket)
        .await
        .expect_err("the hub closes a socket on a project that does not exist")
}

async fn first_answer<S>(socket: &mut tokio_tungstenite::WebSocketStream<S>) -> Result<Value, u16>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("an answer in time")
            .expect("a message")
            .expect("a readable message");
        match message {
            Message::Text(text) => return Ok(serde_json::from_str(&text).unwrap()),
            Message::Close(frame) => return Err(frame.map_or(1005, |f| u16::from(f.code))),
            _ => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_revokes_the_session_at_the_api_the_relay_and_the_hub() {
    let app = TestApp::spawn().await;
    let relay = spawn::relay(&app.scratch, |_| {}).await;
    let hub = spawn::hub(&app.scratch, |_| {}).await;
    let first = register(&app, "ada").await;
    let second = login(&app, "ada").await;

    // Before: the token works everywhere.
    app.get("/api/me", &first).await;
    assert_eq!(relay_answer(&relay, &first).await.unwrap()["type"], "ready");
    assert_ne!(
        hub_close(&hub, &first).await,
        4002,
        "the hub accepted the token"
    );

    app.expect(
        Method::POST,
        "/api/auth/logout",
        Some(&first),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;

    for (method, path) in [
        (Method::GET, "/api/me"),
        (Method::POST, "/api/auth/refresh"),
        (Method::POST, "/api/auth/logout"),
    ] {
        assert_eq!(refused(&app, method, path, &first).await, "token_revoked");
    }
    let hub_rest = hub
        .http
        .get(hub.url("/hub/projects"))
        .bearer_auth(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(hub_rest.status(), StatusCode::UNAUTHORIZED);
    let body: Value = hub_rest.json().await.unwrap();
    assert_eq!(body["error"]["code"], "token_revoked");
    assert_eq!(relay_answer(&relay, &first).await, Err(4002));
    assert_eq!(hub_close(&hub, &first).await, 4002);

    // Another sign-in of the same account is another session, still signed in.
    app.get("/api/me", &second).await;
    assert_eq!(
        relay_answer(&relay, &second).await.unwrap()["type"],
        "ready"
    );
    assert_ne!(hub_close(&hub, &second).await, 4002);
}

#[tokio::test]
async fn a_refresh_does_not_extend_the_session_and_fails_once_it_is_over() {
    let app = TestApp::spawn_with(|s| s.session_max_age_seconds = 3).await;
    let session = app.guest_session().await;
    let ends: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(session["expires_at"].clone()).unwrap();
    // The token lifetime (12 h) is cut to the session's 3 s.
    let left = ends - chrono::Utc::now();
    assert!(left <= chrono::Duration::seconds(3), "{left}");

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let token = session["token"].as_str().unwrap();
    let refreshed = app
        .expect(
            Method::POST,
            "/api/auth/refresh",
            Some(token),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        refreshed["expires_at"], session["expires_at"],
        "not extended"
    );
    let token = refreshed["token"].as_str().unwrap();
    app.get("/api/me", token).await;

    let wait = (ends - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(1100)).await;
    assert_eq!(
        refused(&app, Method::POST, "/api/auth/refresh", token).await,
        "expired_token"
    );
}

#[tokio::test]
async fn a_token_of_a_session_older_than_the_maximum_age_is_not_refreshed() {
    let app = TestApp::spawn_with(|s| s.session_max_age_seconds = 3600).await;
    let (token, _) = app.guest().await;
    // A token of this account whose session started more than an hour ago, still unexpired:
    // as if the maximum age had been lowered since it was issued.
    let keys = &app.scratch.tokens;
    let mut claims = keys.verify(&token).unwrap();
    claims.auth_time -= 3601;
    let old = keys.sign(&claims);
    app.get("/api/me", &old).await;
    let response = app
        .send(Method::POST, "/api/auth/refresh", Some(&old), None)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "session_expired");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maximum age (1 h)"),
        "{body}"
    );
}
