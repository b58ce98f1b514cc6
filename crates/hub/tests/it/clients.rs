//! The hub with Yjs clients that no one here wrote: Debian's y-websocket provider (Node.js)
//! and pycrdt (PyPI), on two hub replicas, through a killed hub, and read-only.

use crate::classroom::{start_hubs, Classroom, Store};
use crate::external::{External, Kind};
use crate::http::Hub;
use crate::process::HubProcess;
use serde_json::json;
use std::time::Duration;
use testkit::{Scratch, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_on_two_replicas_converge_and_pycrdt_joins_in() {
    let (_scratch, store, [first, second], class) = start_hubs(|s| s.sync_quiet_ms = 100).await;
    let (mut ana, mut ben) = ana_and_ben(&class, &first, &second).await;
    let room = class.file.to_string();
    let (typed_a, typed_b) = ("a".repeat(40), "b".repeat(40));
    tokio::join!(
        ana.type_text(&typed_a, 5, WAIT),
        ben.type_text(&typed_b, 5, WAIT)
    );
    let text_a = ana
        .wait_text(json!({"cmd": "wait_length", "at_least": 80}), WAIT)
        .await;
    let text_b = ben
        .wait_text(json!({"cmd": "wait_length", "at_least": 80}), WAIT)
        .await;
    assert_eq!(text_a, text_b, "the two providers diverged");
    assert_eq!(text_a.matches('a').count(), 40);
    assert_eq!(text_a.matches('b').count(), 40);
    store.wait_for_stored_text(class.file, &text_a).await;

    let mut cy = External::start(
        Kind::Pycrdt,
        "cy",
        &[first.docs_url(class.project)],
        &room,
        &class.owner.1,
    );
    cy.synced(WAIT).await;
    assert_eq!(
        cy.wait_text(json!({"cmd": "wait_text", "equals": text_a}), WAIT)
            .await,
        text_a
    );
    cy.insert(0, "# from pycrdt\n").await;
    let expected = format!("# from pycrdt\n{text_a}");
    for client in [&mut ana, &mut ben] {
        let seen = client
            .wait_text(json!({"cmd": "wait_text", "equals": expected}), WAIT)
            .await;
        assert_eq!(seen, expected);
    }
    store.wait_for_stored_text(class.file, &expected).await;
    for client in [ana, ben, cy] {
        client.quit().await;
    }
}

/// Shares the classroom's project for writing; then "ana" (its owner) opens its file with
/// y-websocket on `first` and "ben" (the other student) on `second`, both synced.
pub async fn ana_and_ben(
    class: &Classroom,
    first: &impl Hub,
    second: &impl Hub,
) -> (External, External) {
    class.share(first, "write").await;
    let room = class.file.to_string();
    let mut ana = External::start(
        Kind::YWebsocket,
        "ana",
        &[first.docs_url(class.project)],
        &room,
        &class.owner.1,
    );
    let mut ben = External::start(
        Kind::YWebsocket,
        "ben",
        &[second.docs_url(class.project)],
        &room,
        &class.other.1,
    );
    ana.synced(WAIT).await;
    ben.synced(WAIT).await;
    (ana, ben)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_a_killed_hub_move_to_the_other_replica_and_lose_nothing() {
    let scratch = Scratch::new("hub").await;
    let store = Store::of(&scratch);
    let mut doomed = HubProcess::start(&scratch, |s| s.sync_quiet_ms = 100).await;
    let survivor = HubProcess::start(&scratch, |s| s.sync_quiet_ms = 100).await;
    let class = Classroom::new(&store, &doomed).await;
    class.share(&doomed, "write").await;
    let room = class.file.to_string();
    let (to_doomed, to_survivor) = (
        doomed.docs_url(class.project),
        survivor.docs_url(class.project),
    );

    let mut ana = External::start(
        Kind::YWebsocket,
        "ana",
        &[to_doomed.clone(), to_survivor.clone()],
        &room,
        &class.owner.1,
    );
    let mut ben = External::start(
        Kind::YWebsocket,
        "ben",
        &[to_survivor.clone(), to_doomed.clone()],
        &room,
        &class.other.1,
    );
    ana.synced(WAIT).await;
    ben.synced(WAIT).await;
    ana.type_text("before-", 10, WAIT).await;
    ben.wait_text(json!({"cmd": "wait_text", "contains": "before-"}), WAIT)
        .await;

    // Typing goes on while the hub dies; the provider reconnects to the survivor on its own.
    ana.command(json!({"cmd": "type", "text": "0123456789".repeat(4), "interval_ms": 25}))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    doomed.kill();
    let (mut typed, mut moved) = (false, false);
    while !(typed && moved) {
        let event = ana
            .event(WAIT, |e| e["event"] == "typed" || e["event"] == "status")
            .await;
        typed |= event["event"] == "typed";
        moved |= event["status"] == "connected"
            && event["url"]
                .as_str()
                .is_some_and(|url| url.starts_with(&to_survivor));
    }

    let expected = format!("before-{}", "0123456789".repeat(4));
    let seen = ben
        .wait_text(json!({"cmd": "wait_text", "equals": expected}), WAIT)
        .await;
    assert_eq!(seen, expected);
    store.wait_for_stored_text(class.file, &expected).await;
    let mut late = External::start(
        Kind::Pycrdt,
        "late",
        std::slice::from_ref(&to_survivor),
        &room,
        &class.owner.1,
    );
    late.synced(WAIT).await;
    assert_eq!(
        late.wait_text(json!({"cmd": "wait_text", "equals": expected}), WAIT)
            .await,
        expected
    );
    for client in [ana, ben, late] {
        client.quit().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_provider_is_told_no_and_changes_nothing() {
    let (_scratch, store, [hub], class) = start_hubs(|s| s.sync_quiet_ms = 100).await;
    class.share(&hub, "read").await;
    let room = class.file.to_string();
    let mut owner = External::start(
        Kind::YWebsocket,
        "owner",
        &[hub.docs_url(class.project)],
        &room,
        &class.owner.1,
    );
    let mut reader = External::start(
        Kind::YWebsocket,
        "reader",
        &[hub.docs_url(class.project)],
        &room,
        &class.other.1,
    );
    let mut py_reader = External::start(
        Kind::Pycrdt,
        "py-reader",
        &[hub.docs_url(class.project)],
        &room,
        &class.other.1,
    );
    owner.synced(WAIT).await;
    owner.insert(0, "solution()").await;
    for client in [&mut reader, &mut py_reader] {
        client
            .wait_text(json!({"cmd": "wait_text", "equals": "solution()"}), WAIT)
            .await;
        client.insert(0, "x").await;
        let denied = client
            .event(WAIT, |e| e["event"] == "permission_denied")
            .await;
        assert!(
            denied["reason"].as_str().unwrap().contains("read-only"),
            "{denied}"
        );
    }
    owner.insert(10, ";").await;
    assert_eq!(
        owner
            .wait_text(json!({"cmd": "wait_text", "equals": "solution();"}), WAIT)
            .await,
        "solution();"
    );
    store.wait_for_stored_text(class.file, "solution();").await;
    let stranger = store.user("stranger", tokens::Role::Student).await;
    let mut outsider = External::start(
        Kind::YWebsocket,
        "outsider",
        &[hub.docs_url(class.project)],
        &room,
        &stranger.1,
    );
    let closed = outsider.event(WAIT, |e| e["event"] == "closed").await;
    assert_eq!(closed["code"], 4005, "{closed}");
    for client in [owner, reader, py_reader, outsider] {
        client.quit().await;
    }
}
