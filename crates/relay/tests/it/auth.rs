//! Authentication: the token comes in the first message, is verified locally, and every way of
//! getting it wrong closes the socket with its own code and a readable reason.

use crate::support::{connect, socket_url, token, WsClient};
use contracts::UserId;
use secrecy::SecretString;
use serde_json::json;
use testkit::{spawn, Scratch};
use tokens::{Role, TokenKeys};

#[tokio::test]
async fn a_valid_token_gets_ready_with_the_user_id() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |_| {}).await;
    let mut client = connect(&relay).await;
    let ready = client.auth(&token(&scratch, 42), None).await;
    assert_eq!(ready, json!({"type": "ready", "user_id": 42}));
}

#[tokio::test]
async fn no_auth_message_in_time_closes_with_4001() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |s| s.auth_timeout_ms = 300).await;
    let mut client = connect(&relay).await;
    let (code, reason, _) = client.expect_close().await;
    assert_eq!(code, 4001);
    assert!(reason.contains("authentication required"), "{reason}");
}

#[tokio::test]
async fn another_message_before_auth_closes_with_4001() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |_| {}).await;
    let mut client = connect(&relay).await;
    client.send_json(json!({"type": "pong"})).await;
    let (code, reason, _) = client.expect_close().await;
    assert_eq!(code, 4001);
    assert!(reason.contains("auth"), "{reason}");
}

#[tokio::test]
async fn a_forged_token_closes_with_4002() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |_| {}).await;
    let forger = TokenKeys::new(
        &SecretString::from("not-the-relay-secret-not-the-relay-secret"),
        chrono::Duration::minutes(5),
    );
    let forged = forger
        .issue(UserId(1), Role::Teacher, "mallory", false)
        .token;
    let mut client = connect(&relay).await;
    client
        .send_json(json!({"type": "auth", "token": forged, "last_event_id": null}))
        .await;
    assert_eq!(client.expect_close().await.0, 4002);
}

#[tokio::test]
async fn a_garbage_token_closes_with_4002_and_says_why() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |_| {}).await;
    let mut client = connect(&relay).await;
    client
        .send_json(json!({"type": "auth", "token": "let-me-in"}))
        .await;
    let (code, reason, _) = client.expect_close().await;
    assert_eq!((code, reason.as_str()), (4002, "invalid token"));
}

#[tokio::test]
async fn an_expired_token_closes_with_4003() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |_| {}).await;
    let expired = TokenKeys::new(
        &SecretString::from(testkit::JWT_SECRET),
        chrono::Duration::seconds(-30),
    )
    .issue(UserId(1), Role::Student, "late", false)
    .token;
    let mut client = connect(&relay).await;
    client
        .send_json(json!({"type": "auth", "token": expired}))
        .await;
    let (code, reason, _) = client.expect_close().await;
    assert_eq!((code, reason.as_str()), (4003, "token expired"));
}

#[tokio::test]
async fn a_token_that_expires_on_an_open_socket_closes_it_with_4003() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |_| {}).await;
    let short = TokenKeys::new(
        &SecretString::from(testkit::JWT_SECRET),
        chrono::Duration::seconds(2),
    )
    .issue(UserId(1), Role::Student, "brief", false)
    .token;
    let mut client = connect(&relay).await;
    client.auth(&short, None).await;
    assert_eq!(client.expect_close().await.0, 4003);
}

#[tokio::test]
async fn garbage_before_auth_closes_with_a_reason() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |_| {}).await;
    let mut client = connect(&relay).await;
    client.send_text("GET /secrets HTTP/1.1").await;
    let (code, reason, _) = client.expect_close().await;
    assert_eq!(code, 4000);
    assert!(reason.starts_with("bad message: "), "{reason}");
}

#[tokio::test]
async fn a_token_in_the_url_is_not_enough() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |s| s.auth_timeout_ms = 300).await;
    let url = format!("{}?token={}", socket_url(&relay), token(&scratch, 1));
    let mut client = WsClient::connect(&url, None).await;
    assert_eq!(client.expect_close().await.0, 4001);
}

#[tokio::test]
async fn a_plain_http_request_to_the_socket_endpoint_is_a_json_400() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |_| {}).await;
    let response = relay.http.get(relay.url("/ws")).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_websocket");
}
