//! Reconnecting: a socket that names the last event it saw gets exactly what it missed, then
//! live events, with no gap and no duplicate; when history is gone it is told to resync.

use crate::support::{
    connect, connect_as, graded, grading, submissions, token, Publisher, Results,
};
use serde_json::json;
use std::time::Duration;
use testkit::{spawn, Scratch};

#[tokio::test]
async fn a_reconnect_gets_exactly_the_missed_events_in_order() {
    let scratch = Scratch::redis_only("relay");
    let results = Results::of(&scratch);
    let relay = spawn::relay(&scratch, |_| {}).await;
    let mut client = connect_as(&relay, &scratch, 1).await;
    for submission in 1..=3 {
        results.publish(&grading(1, submission)).await;
    }
    let seen = client.events(3).await;
    client.close().await;

    for submission in 4..=6 {
        results.publish(&grading(1, submission)).await;
        results.publish(&grading(2, 100 + submission)).await;
    }

    let mut client = connect(&relay).await;
    client.auth(&token(&scratch, 1), Some(&seen[2].0)).await;
    let missed = client.events(3).await;
    assert_eq!(submissions(&missed), [4, 5, 6]);

    results.publish(&grading(1, 7)).await;
    assert_eq!(submissions(&client.events(1).await), [7]);
    client.expect_nothing_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn events_published_while_reconnecting_are_neither_lost_nor_doubled() {
    let scratch = Scratch::redis_only("relay");
    let results = Results::of(&scratch);
    let relay = spawn::relay(&scratch, |_| {}).await;
    let first = results.publish(&grading(1, 0)).await;
    for submission in 1..=20 {
        results.publish(&grading(1, submission)).await;
    }

    // Publish the next 30 while the socket authenticates, replays and goes live.
    let publisher = {
        let results = results.clone();
        Publisher::spawn(async move {
            for submission in 21..=50 {
                results.publish(&grading(1, submission)).await;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let mut client = connect(&relay).await;
    client.auth(&token(&scratch, 1), Some(&first)).await;
    let received = client.events(50).await;
    publisher.finish().await;
    assert_eq!(submissions(&received), (1..=50).collect::<Vec<_>>());
    client.expect_nothing_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn an_id_older_than_the_trimmed_stream_gets_resync_then_live_events() {
    let scratch = Scratch::redis_only("relay");
    let results = Results::of(&scratch);
    let relay = spawn::relay(&scratch, |_| {}).await;
    let mut ids = Vec::new();
    for submission in 1..=10 {
        ids.push(results.publish(&grading(1, submission)).await);
    }
    results.trim(3).await;

    let mut client = connect(&relay).await;
    client.auth(&token(&scratch, 1), Some(&ids[1])).await;
    assert_eq!(
        client.next_payload().await,
        json!({"type": "resync", "reason": "history trimmed"})
    );
    results.publish(&grading(1, 11)).await;
    assert_eq!(submissions(&client.events(1).await), [11]);
}

#[tokio::test]
async fn an_id_the_stream_never_had_gets_resync() {
    let scratch = Scratch::redis_only("relay");
    let results = Results::of(&scratch);
    let relay = spawn::relay(&scratch, |_| {}).await;
    results.publish(&grading(1, 1)).await;
    let mut client = connect(&relay).await;
    client
        .auth(&token(&scratch, 1), Some("99999999999999-0"))
        .await;
    assert_eq!(
        client.next_payload().await,
        json!({"type": "resync", "reason": "unknown event id"})
    );
    // Live events still arrive: a bogus id must not hide them.
    results.publish(&grading(1, 2)).await;
    assert_eq!(submissions(&client.events(1).await), [2]);
}

#[tokio::test]
async fn a_resume_too_far_behind_gets_resync() {
    let scratch = Scratch::redis_only("relay");
    let results = Results::of(&scratch);
    let relay = spawn::relay(&scratch, |s| s.resume_max_entries = 5).await;
    let first = results.publish(&grading(1, 0)).await;
    for submission in 1..=10 {
        results.publish(&grading(2, submission)).await;
    }
    let mut client = connect(&relay).await;
    client.auth(&token(&scratch, 1), Some(&first)).await;
    assert_eq!(
        client.next_payload().await,
        json!({"type": "resync", "reason": "too far behind"})
    );
}

#[tokio::test]
async fn a_resume_that_would_read_too_many_bytes_gets_resync() {
    let scratch = Scratch::redis_only("relay");
    let results = Results::of(&scratch);
    // Few entries, but large ones: the entry bound alone would let this scan run.
    let relay = spawn::relay(&scratch, |s| s.resume_max_bytes = 16 * 1024).await;
    let first = results.publish(&grading(1, 0)).await;
    for submission in 1..=5 {
        results.publish(&graded(2, submission, 8 * 1024)).await;
    }
    results.publish(&grading(1, 6)).await;
    let mut client = connect(&relay).await;
    client.auth(&token(&scratch, 1), Some(&first)).await;
    assert_eq!(
        client.next_payload().await,
        json!({"type": "resync", "reason": "too far behind"})
    );

    // Under the budget, the same history replays.
    let roomy = spawn::relay(&scratch, |s| s.resume_max_bytes = 1024 * 1024).await;
    let mut client = connect(&roomy).await;
    client.auth(&token(&scratch, 1), Some(&first)).await;
    assert_eq!(submissions(&client.events(1).await), [6]);
}

#[tokio::test]
async fn a_resume_that_takes_too_long_gets_resync_then_live_events() {
    let scratch = Scratch::redis_only("relay");
    let results = Results::of(&scratch);
    // Thousands of entries take many reads; none may take the scan past a millisecond.
    let relay = spawn::relay(&scratch, |s| s.resume_max_ms = 1).await;
    let first = results.publish(&grading(1, 0)).await;
    let others: Vec<_> = (1..=3000).map(|n| grading(2, n)).collect();
    results.publish_all(&others).await;
    let mut client = connect(&relay).await;
    client.auth(&token(&scratch, 1), Some(&first)).await;
    assert_eq!(
        client.next_payload().await,
        json!({"type": "resync", "reason": "history too slow to read"})
    );
    assert_eq!(
        relay
            .metric(r#"relay_resyncs_total{reason="too_slow"}"#)
            .await,
        1.0
    );
    results.publish(&grading(1, 3001)).await;
    assert_eq!(submissions(&client.events(1).await), [3001]);
}

#[tokio::test]
async fn a_malformed_last_event_id_closes_with_4000() {
    let scratch = Scratch::redis_only("relay");
    let relay = spawn::relay(&scratch, |_| {}).await;
    let mut client = connect(&relay).await;
    client
        .send_json(
            json!({"type": "auth", "token": token(&scratch, 1), "last_event_id": "yesterday"}),
        )
        .await;
    let (code, reason, _) = client.expect_close().await;
    assert_eq!(code, 4000);
    assert!(reason.contains("yesterday"), "{reason}");
}
