//! Slow readers and greedy users: a socket that does not keep up is closed as too slow while
//! the others carry on at full speed, and one user cannot open sockets without limit.

use crate::support::{connect, connect_as, graded, socket_url, submissions, token};
use crate::support::{Publisher, Results, WsClient};
use std::time::{Duration, Instant};
use testkit::{spawn, Scratch, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_closed_while_a_fast_tab_of_the_same_user_keeps_up() {
    let scratch = Scratch::redis_only("relay");
    let results = Results::of(&scratch);
    // 16 events of 16 KiB. When the reader falls behind on a busy machine it hands a burst of
    // far more at once; the fast tab must still keep its socket.
    let relay = spawn::relay(&scratch, |s| {
        s.send_buffer_bytes = 256 * 1024;
        s.send_buffer_messages = 1024;
    })
    .await;
    // A tiny kernel receive buffer makes back-pressure reach the relay quickly.
    let mut slow = WsClient::connect(&socket_url(&relay), Some(4096)).await;
    slow.auth(&token(&scratch, 1), None).await;
    let mut fast = connect_as(&relay, &scratch, 1).await;
    let mut bystander = connect_as(&relay, &scratch, 2).await;

    const EVENTS: i64 = 600;
    // Publish from another task, so the fast clients read while events arrive.
    let publisher = {
        let results = results.clone();
        Publisher::spawn(async move {
            for submission in 1..=EVENTS {
                results.publish(&graded(1, submission, 16 * 1024)).await;
            }
            results.publish(&graded(2, 1, 10)).await;
        })
    };
    // Each event reaches the fast tab soon after it was stamped, never waiting for the slow one.
    let mut received = Vec::new();
    let mut worst_lag = Duration::ZERO;
    while received.len() < EVENTS as usize {
        let (id, event) = fast.events(1).await.remove(0);
        let stamped: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(event["finished_at"].clone()).unwrap();
        let lag = (chrono::Utc::now() - stamped).to_std().unwrap_or_default();
        worst_lag = worst_lag.max(lag);
        received.push((id, event));
    }
    assert_eq!(submissions(&received), (1..=EVENTS).collect::<Vec<_>>());
    assert_eq!(submissions(&bystander.events(1).await), [1]);
    publisher.finish().await;
    let acceptable_lag = Duration::from_millis(2500);
    assert!(
        worst_lag < acceptable_lag,
        "an event took {worst_lag:?} to arrive"
    );

    let deadline = Instant::now() + WAIT;
    while relay.metric("relay_slow_consumers_closed_total").await < 1.0 {
        assert!(
            Instant::now() < deadline,
            "the slow client was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Now the slow client reads: what was already in flight, then the close.
    let (code, reason, events_before) = slow.expect_close().await;
    assert_eq!(code, 4008, "{reason}");
    assert!(reason.contains("too slow"), "{reason}");
    assert!(
        (events_before as i64) < EVENTS,
        "it got {events_before} events"
    );
    eprintln!(
        "the slow client got {events_before} of {EVENTS} events before 4008; \
         the fast one lagged at most {worst_lag:?}"
    );

    // The fast tab is still served.
    results.publish(&graded(1, EVENTS + 1, 10)).await;
    assert_eq!(submissions(&fast.events(1).await), [EVENTS + 1]);
}

#[tokio::test]
async fn a_user_over_the_connection_limit_is_closed_with_4009() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |s| s.max_connections_per_user = 2).await;
    let _one = connect_as(&relay, &scratch, 1).await;
    let two = connect_as(&relay, &scratch, 1).await;
    let mut three = connect(&relay).await;
    three
        .send_json(serde_json::json!({"type": "auth", "token": token(&scratch, 1)}))
        .await;
    let (code, reason, _) = three.expect_close().await;
    assert_eq!(code, 4009);
    assert!(reason.contains("limit 2"), "{reason}");

    // Another user is not affected, and a closed socket frees its place.
    connect_as(&relay, &scratch, 2).await;
    two.close().await;
    let deadline = Instant::now() + WAIT;
    loop {
        let mut again = connect(&relay).await;
        again
            .send_json(serde_json::json!({"type": "auth", "token": token(&scratch, 1)}))
            .await;
        if again.next_json().await["type"] == "ready" {
            break;
        }
        assert!(Instant::now() < deadline, "the place was never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
