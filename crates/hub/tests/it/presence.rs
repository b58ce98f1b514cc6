//! Presence (y-protocols awareness): bounded per document in count and size, swept when not
//! renewed, removed when its socket closes, shared between replicas and never in the durable
//! log that Postgres and late joiners replay.

use crate::classroom::start_hubs;
use crate::clients::ana_and_ben;
use crate::http::Hub;
use contracts::doclog::{Change, Entry};
use deadpool_redis::redis::streams::StreamRangeReply;
use std::time::Duration;
use testkit::WAIT;

use crate::yclient::YClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_is_bounded_in_count_and_size_and_swept_when_not_renewed() {
    let (_scratch, _store, [hub], class) = start_hubs(|s| {
        s.max_awareness_states = 2;
        s.max_awareness_bytes = 256;
        s.awareness_timeout_ms = 2000;
    })
    .await;
    let url = hub.doc_url(class.project, class.file, &class.owner.1);
    let mut talker = YClient::connect(&url).await;
    let mut watcher = YClient::connect(&url).await;
    talker.announce(1, 1, r#"{"user":{"name":"one"}}"#).await;
    talker.announce(2, 1, r#"{"user":{"name":"two"}}"#).await;
    assert!(watcher.pump_until(WAIT, |c| c.presence.len() == 2).await);

    talker.announce(3, 1, r#"{"user":{"name":"three"}}"#).await;
    assert!(talker.pump_until(WAIT, |c| !c.denied.is_empty()).await);
    assert!(talker.denied[0].contains("too many"), "{:?}", talker.denied);
    let huge = format!(r#"{{"user":{{"name":"{}"}}}}"#, "x".repeat(300));
    talker.announce(1, 2, &huge).await;
    assert!(talker.pump_until(WAIT, |c| c.denied.len() == 2).await);
    assert!(
        talker.denied[1].contains("too large"),
        "{:?}",
        talker.denied
    );
    assert_eq!(
        hub.metric("hub_budget_exceeded_total{budget=\"awareness_states\"}")
            .await,
        1.0
    );
    assert_eq!(
        hub.metric("hub_budget_exceeded_total{budget=\"awareness_bytes\"}")
            .await,
        1.0
    );

    // Nobody renews: both states are swept and the watcher told, though the talker is still
    // connected.
    assert!(watcher.pump_until(WAIT, |c| c.presence.is_empty()).await);
    let mut late = YClient::connect(&url).await;
    late.pump_until(Duration::from_millis(300), |_| false).await;
    assert_eq!(
        late.awareness_messages, 0,
        "no stale presence in the greeting"
    );
    // And there is room again.
    talker.announce(3, 1, r#"{"user":{"name":"three"}}"#).await;
    assert!(late.pump_until(WAIT, |c| c.presence.len() == 1).await);
    assert_eq!(talker.denied.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_travels_between_replicas_without_entering_the_document_log() {
    let (scratch, _store, [first, second], class) = start_hubs(|_| {}).await;
    let (mut ana, mut ben) = ana_and_ben(&class, &first, &second).await;
    ana.type_text("hello", 5, WAIT).await;
    assert!(
        ben.wait_presence(&["ana", "ben"], WAIT).await,
        "ben never saw ana"
    );
    assert!(
        ana.wait_presence(&["ana", "ben"], WAIT).await,
        "ana never saw ben"
    );

    let mut conn = scratch.streams().pool().get().await.unwrap();
    let log: StreamRangeReply = deadpool_redis::redis::cmd("XRANGE")
        .arg(scratch.keys().hub_document(class.file))
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let changes: Vec<Change> = log
        .ids
        .into_iter()
        .filter_map(Entry::decode)
        .map(|entry| entry.change)
        .collect();
    assert_eq!(changes.len(), 5, "one entry per character typed");
    assert!(
        changes.iter().all(|c| matches!(c, Change::Update(_))),
        "presence in the log: {changes:?}"
    );

    // A client whose socket just closes, without saying it leaves: its presence goes too.
    let url = first.doc_url(class.project, class.file, &class.owner.1);
    let mut cy = YClient::connect(&url).await;
    cy.announce(77, 1, r#"{"user":{"name":"cy"}}"#).await;
    assert!(ben.wait_presence(&["ana", "ben", "cy"], WAIT).await);
    drop(cy);
    assert!(
        ben.wait_presence(&["ana", "ben"], WAIT).await,
        "cy stayed present"
    );

    // Ana leaves: her presence goes from the other replica too.
    ana.quit().await;
    assert!(
        ben.wait_presence(&["ben"], WAIT).await,
        "ana stayed present"
    );
    ben.quit().await;
}
