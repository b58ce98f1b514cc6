//! Live delivery: each event reaches every open socket of its user, on every replica, in
//! stream order, and nobody else's; the probes and metrics say how it is going.

use crate::support::{connect_as, graded, grading, submissions, Results};
use secrecy::SecretString;
use std::time::Duration;
use testkit::{spawn, Scratch};

#[tokio::test]
async fn each_user_receives_only_their_own_events() {
    let scratch = Scratch::redis_only("relay");
    let results = Results::of(&scratch);
    let relay = spawn::relay(&scratch, |_| {}).await;
    let mut ada = connect_as(&relay, &scratch, 1).await;
    let mut bob = connect_as(&relay, &scratch, 2).await;

    let ada_id = results.publish(&grading(1, 10)).await;
    results.publish(&grading(2, 20)).await;
    results.publish(&graded(2, 20, 10)).await;
    results.publish(&graded(1, 10, 10)).await;

    let ada_events = ada.events(2).await;
    assert_eq!(ada_events[0].0, ada_id);
    assert_eq!(ada_events[0].1["status"], "grading");
    assert_eq!(ada_events[1].1["status"], "graded");
    assert_eq!(ada_events[1].1["verdict"], "accepted");
    assert_eq!(submissions(&ada_events), [10, 10]);
    assert!(ada_events.iter().all(|(_, e)| e["user_id"] == 1));

    let bob_events = bob.events(2).await;
    assert_eq!(submissions(&bob_events), [20, 20]);
    assert!(bob_events.iter().all(|(_, e)| e["user_id"] == 2));

    ada.expect_nothing_for(Duration::from_millis(300)).await;
    bob.expect_nothing_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn every_tab_of_a_user_receives_every_event() {
    let scratch = Scratch::redis_only("relay");
    let results = Results::of(&scratch);
    let relay = spawn::relay(&scratch, |_| {}).await;
    let mut first = connect_as(&relay, &scratch, 5).await;
    let mut second = connect_as(&relay, &scratch, 5).await;
    for submission in 1..=3 {
        results.publish(&grading(5, submission)).await;
    }
    assert_eq!(submissions(&first.events(3).await), [1, 2, 3]);
    assert_eq!(submissions(&second.events(3).await), [1, 2, 3]);
}

#[tokio::test]
async fn two_replicas_each_deliver_every_event_to_their_own_sockets() {
    let scratch = Scratch::redis_only("relay");
    let results = Results::of(&scratch);
    let one = spawn::relay(&scratch, |_| {}).await;
    let two = spawn::relay(&scratch, |_| {}).await;
    let mut on_one = connect_as(&one, &scratch, 7).await;
    let mut on_two = connect_as(&two, &scratch, 7).await;
    let mut other_on_two = connect_as(&two, &scratch, 8).await;

    let mut ids = Vec::new();
    for submission in 1..=5 {
        ids.push(results.publish(&grading(7, submission)).await);
        results.publish(&grading(8, 100 + submission)).await;
    }
    let from_one = on_one.events(5).await;
    let from_two = on_two.events(5).await;
    assert_eq!(
        from_one.iter().map(|(id, _)| id).collect::<Vec<_>>(),
        ids.iter().collect::<Vec<_>>()
    );
    assert_eq!(
        from_two.iter().map(|(id, _)| id).collect::<Vec<_>>(),
        ids.iter().collect::<Vec<_>>()
    );
    assert_eq!(
        submissions(&other_on_two.events(5).await),
        [101, 102, 103, 104, 105]
    );
}

#[tokio::test]
async fn metrics_count_delivered_events_and_open_sockets() {
    let scratch = Scratch::redis_only("relay");
    let results = Results::of(&scratch);
    let relay = spawn::relay(&scratch, |_| {}).await;
    let mut client = connect_as(&relay, &scratch, 3).await;
    for submission in 1..=3 {
        results.publish(&graded(3, submission, 10)).await;
    }
    client.events(3).await;
    // The counter moves just after the frame is handed over; give it a moment.
    let mut delivered = 0.0;
    for _ in 0..50 {
        delivered = relay
            .metric(r#"relay_events_delivered_total{path="live"}"#)
            .await;
        if delivered >= 3.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(delivered, 3.0);
    assert_eq!(
        relay.metric("relay_delivery_latency_seconds_count").await,
        3.0
    );
    assert_eq!(relay.metric("relay_open_sockets").await, 1.0);
    assert_eq!(relay.metric("relay_connected_users").await, 1.0);
    assert_eq!(relay.metric("relay_events_read_total").await, 3.0);
}

#[tokio::test]
async fn liveness_answers_and_readiness_reports_redis_and_the_reader() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |_| {}).await;
    let health = relay.http.get(relay.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready: serde_json::Value = relay
        .http
        .get(relay.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready, serde_json::json!({"redis": "ok", "reader": "ok"}));
}

#[tokio::test]
async fn readiness_fails_when_redis_is_unreachable() {
    let scratch = Scratch::redis_only("relay");
    // A relay pointed at a port nobody listens on never becomes ready, so it is started here
    // rather than by `spawn::relay`, which waits for readiness.
    let mut settings = spawn::relay_settings(&scratch);
    settings.redis_url = SecretString::from("redis://127.0.0.1:1");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let app = relay::run(settings, listener).await.unwrap();
    let port = app.port();
    let stop = app.shutdown_token();
    tokio::spawn(app.run_until_stopped());
    let response = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    stop.cancel();
}
