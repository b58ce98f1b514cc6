//! The fan-out in memory: who gets which event, and when a socket counts as too slow.

use super::*;
use chrono::Utc;
use contracts::{AssignmentId, ResultEvent, ResultKind, SubmissionId, Verdict, MESSAGE_VERSION};
use std::time::Duration;

fn fanout(messages: usize, bytes: usize, per_user: usize) -> Arc<Fanout> {
    fanout_with(messages, bytes, Duration::from_millis(100), per_user)
}

fn fanout_with(messages: usize, bytes: usize, grace: Duration, per_user: usize) -> Arc<Fanout> {
    let limits = Limits {
        queue: QueueLimits {
            messages,
            bytes,
            grace,
        },
        per_user,
    };
    Arc::new(Fanout::new(
        limits,
        Metrics::new(&http_edge::Metrics::new("relay")),
    ))
}

fn event(seq: u64, user: i64, feedback_bytes: usize) -> Arc<RelayedEvent> {
    let event = ResultEvent {
        v: MESSAGE_VERSION,
        submission_id: SubmissionId(seq as i64),
        user_id: UserId(user),
        assignment_id: AssignmentId(1),
        enqueued_at: Utc::now(),
        kind: ResultKind::Graded {
            verdict: Verdict::WrongAnswer,
            tests: testkit::results::outcomes_of_size(feedback_bytes),
            feedback: "x".into(),
            started_at: Utc::now(),
            finished_at: Utc::now(),
        },
    };
    let id = format!("1-{seq}").parse().unwrap();
    Arc::new(RelayedEvent::new(id, &event).unwrap())
}

/// Takes events from `subscription` one by one, pausing `pause` after each, until `count`
/// have come; returns their sequence numbers.
fn drain(
    mut subscription: Subscription,
    count: usize,
    pause: Duration,
) -> tokio::task::JoinHandle<(Vec<String>, Subscription)> {
    tokio::spawn(async move {
        let mut seen = Vec::new();
        while seen.len() < count {
            let Some(event) = subscription.recv().await else {
                break;
            };
            seen.push(event.id.to_string());
            tokio::time::sleep(pause).await;
        }
        (seen, subscription)
    })
}

#[tokio::test]
async fn events_reach_only_the_sockets_of_their_user() {
    let fanout = fanout(8, 1 << 20, 5);
    let mut ada = fanout.subscribe(UserId(1)).unwrap();
    let mut ada_tab = fanout.subscribe(UserId(1)).unwrap();
    let mut bob = fanout.subscribe(UserId(2)).unwrap();

    assert_eq!(fanout.publish(&event(1, 1, 0)).await, 2);
    assert_eq!(fanout.publish(&event(2, 2, 0)).await, 1);
    assert_eq!(fanout.publish(&event(3, 3, 0)).await, 0);

    assert_eq!(ada.recv().await.unwrap().id.to_string(), "1-1");
    assert_eq!(ada_tab.recv().await.unwrap().id.to_string(), "1-1");
    assert_eq!(bob.recv().await.unwrap().id.to_string(), "1-2");
    let nothing = tokio::time::timeout(Duration::from_millis(50), ada.recv()).await;
    assert!(nothing.is_err(), "ada got another event");
}

#[tokio::test]
async fn a_full_queue_drops_only_that_socket() {
    let fanout = fanout(2, 1 << 20, 5);
    let slow = fanout.subscribe(UserId(1)).unwrap();
    let mut fast = fanout.subscribe(UserId(1)).unwrap();
    for seq in 0..5 {
        fanout.publish(&event(seq, 1, 0)).await;
        assert_eq!(
            fast.recv().await.unwrap().id.to_string(),
            format!("1-{seq}")
        );
    }
    assert!(slow.is_slow());
    assert!(!fast.is_slow());
    assert_eq!(fanout.sockets(), 1);
    slow.slow_signal().cancelled().await;
}

#[tokio::test]
async fn the_byte_budget_drops_a_socket_that_falls_behind() {
    let fanout = fanout(1000, 10_000, 5);
    let mut reader = fanout.subscribe(UserId(1)).unwrap();
    // One event bigger than the budget still goes to a socket with nothing queued.
    assert_eq!(fanout.publish(&event(0, 1, 20_000)).await, 1);
    reader.recv().await.unwrap();
    for seq in 1..4 {
        assert_eq!(fanout.publish(&event(seq, 1, 3_000)).await, 1);
    }
    assert_eq!(
        fanout.publish(&event(4, 1, 3_000)).await,
        0,
        "over 10 000 bytes queued and none taken"
    );
    assert!(reader.is_slow());
}

#[tokio::test]
async fn a_socket_that_keeps_taking_gets_a_burst_far_over_its_budget() {
    // A budget of three events, a burst of sixty, taken one every 10 ms: 600 ms in all, well
    // past the grace period, but a budget's worth every 40 ms, well within it.
    let fanout = fanout_with(1000, 10_000, Duration::from_millis(300), 5);
    let taker = drain(
        fanout.subscribe(UserId(1)).unwrap(),
        60,
        Duration::from_millis(10),
    );
    for seq in 0..60 {
        assert_eq!(
            fanout.publish(&event(seq, 1, 3_000)).await,
            1,
            "event {seq}"
        );
    }
    let (seen, subscription) = taker.await.unwrap();
    assert_eq!(seen.len(), 60);
    assert_eq!(seen[59], "1-59");
    assert!(!subscription.is_slow());
}

#[tokio::test]
async fn a_socket_that_takes_too_little_is_dropped_and_the_others_go_on() {
    // It takes one event of 3 000 bytes every 150 ms: less than its 10 000-byte budget per
    // 100 ms grace period.
    let fanout = fanout_with(1000, 10_000, Duration::from_millis(100), 5);
    let trickle = drain(
        fanout.subscribe(UserId(1)).unwrap(),
        usize::MAX,
        Duration::from_millis(150),
    );
    let mut other = fanout.subscribe(UserId(2)).unwrap();
    let mut delivered = 0;
    for seq in 0..30 {
        delivered += fanout.publish(&event(seq, 1, 3_000)).await;
    }
    assert!(delivered < 30, "all {delivered} events were queued");
    let (_, subscription) = tokio::time::timeout(Duration::from_secs(10), trickle)
        .await
        .expect("the trickling socket was dropped")
        .unwrap();
    assert!(subscription.is_slow());

    assert_eq!(fanout.publish(&event(30, 2, 10)).await, 1);
    assert_eq!(other.recv().await.unwrap().id.to_string(), "1-30");
    assert_eq!(fanout.sockets(), 1);
}

#[tokio::test]
async fn a_user_may_hold_only_so_many_sockets() {
    let fanout = fanout(8, 1 << 20, 2);
    let first = fanout.subscribe(UserId(1)).unwrap();
    let _second = fanout.subscribe(UserId(1)).unwrap();
    assert_eq!(
        fanout.subscribe(UserId(1)).err(),
        Some(TooManyConnections { limit: 2 })
    );
    drop(first);
    let _third = fanout.subscribe(UserId(1)).unwrap();
}

#[tokio::test]
async fn dropping_a_subscription_unregisters_it() {
    let metrics = Metrics::new(&http_edge::Metrics::new("relay"));
    let limits = Limits {
        queue: QueueLimits {
            messages: 8,
            bytes: 1 << 20,
            grace: Duration::from_millis(100),
        },
        per_user: 5,
    };
    let fanout = Arc::new(Fanout::new(limits, metrics.clone()));
    let a = fanout.subscribe(UserId(1)).unwrap();
    let b = fanout.subscribe(UserId(2)).unwrap();
    assert_eq!(metrics.connected_users.get(), 2);
    drop(a);
    drop(b);
    assert_eq!(fanout.sockets(), 0);
    assert_eq!(metrics.connected_users.get(), 0);
}
