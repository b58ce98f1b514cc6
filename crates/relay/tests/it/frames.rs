//! Misbehaving clients: binary, oversized, malformed and unknown frames close that socket with
//! a code and a reason (never a panic), and the relay keeps serving everyone else. Also the
//! heartbeat, the idle timeout and shutdown.

use crate::support::{connect, connect_as, grading, submissions, token, Results};
use serde_json::json;
use std::time::Duration;
use testkit::{spawn, Scratch};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn bad_frames_close_that_socket_with_a_reason_and_others_carry_on() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |_| {}).await;
    let mut bystander = connect_as(&relay, &scratch, 9).await;

    let cases: Vec<(Message, u16, &str)> = vec![
        (
            Message::binary(vec![1u8, 2, 3]),
            1003,
            "binary frames are not supported",
        ),
        (
            Message::text("x".repeat(5000)),
            1009,
            "message too big (limit 4096 bytes)",
        ),
        (Message::text("{not json"), 4000, "bad message: "),
        (
            Message::text(r#"{"type":"subscribe","all":true}"#),
            4000,
            "bad message: unknown variant",
        ),
        (Message::text(r#"["auth"]"#), 4000, "bad message: "),
    ];
    for (frame, expected_code, expected_reason) in cases {
        for authenticated in [false, true] {
            let mut client = if authenticated {
                connect_as(&relay, &scratch, 1).await
            } else {
                connect(&relay).await
            };
            client.send_message(frame.clone()).await;
            let (code, reason, _) = client.expect_close().await;
            assert_eq!(code, expected_code, "{frame:?}: {reason}");
            assert!(reason.starts_with(expected_reason), "{frame:?}: {reason}");
        }
    }

    Results::of(&scratch).publish(&grading(9, 1)).await;
    assert_eq!(submissions(&bystander.events(1).await), [1]);
}

#[tokio::test]
async fn a_second_auth_is_a_bad_message() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |_| {}).await;
    let mut client = connect_as(&relay, &scratch, 1).await;
    client
        .send_json(json!({"type": "auth", "token": token(&scratch, 2)}))
        .await;
    let (code, reason, _) = client.expect_close().await;
    assert_eq!(
        (code, reason.as_str()),
        (4000, "bad message: already authenticated")
    );
}

#[tokio::test]
async fn a_message_at_the_frame_limit_is_accepted() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |s| s.max_frame_bytes = 4096).await;
    let mut client = connect(&relay).await;
    let token = token(&scratch, 1);
    let padding = 4096
        - json!({"type": "auth", "token": token, "pad": ""})
            .to_string()
            .len();
    let auth = json!({"type": "auth", "token": token, "pad": "p".repeat(padding)}).to_string();
    assert_eq!(auth.len(), 4096);
    client.send_text(auth).await;
    assert_eq!(client.next_json().await["type"], "ready");
}

#[tokio::test]
async fn the_relay_pings_and_answers_pings() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |s| s.heartbeat_interval_ms = 200).await;
    let mut client = connect_as(&relay, &scratch, 1).await;
    assert_eq!(client.next_json().await, json!({"type": "ping"}));
    client.send_json(json!({"type": "pong"})).await;
    client.send_json(json!({"type": "ping"})).await;
    loop {
        let message = client.next_json().await;
        if message["type"] != "ping" {
            assert_eq!(message, json!({"type": "pong"}));
            break;
        }
    }
}

#[tokio::test]
async fn websocket_pings_are_answered() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |_| {}).await;
    let mut client = connect_as(&relay, &scratch, 1).await;
    client
        .send_message(Message::Ping(b"hi".to_vec().into()))
        .await;
    match client.next_frame().await {
        Message::Pong(payload) => assert_eq!(&payload[..], b"hi"),
        other => panic!("expected a pong, got {other:?}"),
    }
    Results::of(&scratch).publish(&grading(1, 1)).await;
    assert_eq!(submissions(&client.events(1).await), [1]);
}

#[tokio::test]
async fn a_silent_client_is_closed_after_the_idle_timeout_and_pongs_keep_it_open() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |s| {
        s.idle_timeout_ms = 600;
        s.heartbeat_interval_ms = 200;
    })
    .await;
    let mut lively = connect_as(&relay, &scratch, 1).await;
    let mut silent = connect_as(&relay, &scratch, 2).await;
    for _ in 0..6 {
        assert_eq!(lively.next_json().await["type"], "ping");
        lively.send_json(json!({"type": "pong"})).await;
    }
    let (code, reason, _) = silent.expect_close().await;
    assert_eq!(code, 4004);
    assert!(reason.starts_with("no message from the client"), "{reason}");
    Results::of(&scratch).publish(&grading(1, 1)).await;
    assert_eq!(submissions(&lively.events(1).await), [1]);
}

#[tokio::test]
async fn stopping_the_relay_closes_sockets_with_1001() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |_| {}).await;
    let mut client = connect_as(&relay, &scratch, 1).await;
    // Not `stop()`, which waits for the relay to finish: the client must read its close first.
    relay.shutdown_token().cancel();
    let (code, reason, _) = client.expect_close().await;
    assert_eq!(code, 1001);
    assert!(reason.contains("reconnect"), "{reason}");
}

#[tokio::test]
async fn a_client_close_is_answered() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |_| {}).await;
    let client = connect_as(&relay, &scratch, 1).await;
    client.close().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while relay.metric("relay_open_sockets").await > 0.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the socket stayed open"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        relay
            .metric(r#"relay_sockets_closed_total{reason="client_closed"}"#)
            .await,
        1.0
    );
}
