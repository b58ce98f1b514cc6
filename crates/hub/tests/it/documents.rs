//! Live documents on real hubs, Redis and Postgres: replicas converge, edits reach Postgres and
//! survive a killed hub, idle documents leave memory and Redis, deleted files close sockets.

use crate::classroom::{start_hubs, Classroom, Store};
use crate::http::Hub;
use crate::process::HubProcess;
use crate::yclient::YClient;
use contracts::FileId;
use std::time::Duration;
use testkit::{Scratch, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_on_two_replicas_converge_and_reach_postgres() {
    let (_scratch, store, [first, second], class) = start_hubs(|s| s.sync_quiet_ms = 100).await;
    class.share(&first, "write").await;

    let mut alice =
        YClient::connect(&first.doc_url(class.project, class.file, &class.owner.1)).await;
    let mut bob =
        YClient::connect(&second.doc_url(class.project, class.file, &class.other.1)).await;
    // Both replicas have the document open before anyone types, so each gets the other's
    // edits from the log as they come (a replica that opens it later reads them at once).
    for client in [&mut alice, &mut bob] {
        assert!(client.pump_until(WAIT, |c| c.synced).await);
    }
    for round in 0..20 {
        alice.append(&format!("a{round};")).await;
        bob.insert(0, &format!("b{round};")).await;
    }
    let both_have_all = |client: &YClient| client.text().matches(';').count() == 40;
    assert!(
        alice.pump_until(WAIT, both_have_all).await,
        "alice has {:?}",
        alice.text()
    );
    assert!(
        bob.pump_until(WAIT, both_have_all).await,
        "bob has {:?}",
        bob.text()
    );
    assert_eq!(alice.text(), bob.text());
    for round in 0..20 {
        assert!(alice.text().contains(&format!("a{round};")));
        assert!(alice.text().contains(&format!("b{round};")));
    }
    store.wait_for_stored_text(class.file, &alice.text()).await;
    assert!(first.metric("hub_updates_total{source=\"remote\"}").await >= 20.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_hub_loses_no_acknowledged_edit() {
    let scratch = Scratch::new("hub").await;
    let store = Store::of(&scratch);
    // Nothing reaches Postgres during the test: what survives comes from the log in Redis.
    let never = |s: &mut hub::settings::Settings| {
        s.sync_quiet_ms = 3_600_000;
        s.sync_max_delay_ms = 3_600_000;
    };
    let mut doomed = HubProcess::start(&scratch, never).await;
    let class = Classroom::new(&store, &doomed).await;
    let url = doomed.doc_url(class.project, class.file, &class.owner.1);
    let mut writer = YClient::connect(&url).await;
    let mut watcher = YClient::connect(&url).await;
    for n in 0..50 {
        writer.append(&format!("{n},")).await;
    }
    let all = |client: &YClient| client.text().matches(',').count() == 50;
    assert!(watcher.pump_until(WAIT, all).await, "{:?}", watcher.text());
    let acknowledged = watcher.text();

    doomed.kill();
    let survivor = HubProcess::start(&scratch, never).await;
    let mut reader =
        YClient::connect(&survivor.doc_url(class.project, class.file, &class.owner.1)).await;
    let same = |client: &YClient| client.text() == acknowledged;
    assert!(
        reader.pump_until(WAIT, same).await,
        "after the kill: {:?}",
        reader.text()
    );
    assert_eq!(
        store.stored_text(class.file).await,
        "",
        "the text came from the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_document_is_written_and_leaves_memory_and_redis() {
    let (scratch, store, [hub], class) = start_hubs(|s| {
        s.sync_quiet_ms = 50;
        s.unload_after_ms = 300;
        s.trim_after_ms = 0;
    })
    .await;
    let url = hub.doc_url(class.project, class.file, &class.owner.1);
    let mut client = YClient::connect(&url).await;
    client.append("print('hello')").await;
    client
        .pump_until(Duration::from_millis(300), |_| false)
        .await;
    assert_eq!(hub.metric("hub_open_documents").await, 1.0);
    drop(client);

    store
        .wait_for_stored_text(class.file, "print('hello')")
        .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while hub.metric("hub_open_documents").await > 0.0 || log_exists(&scratch, class.file).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the document stayed loaded or its log in Redis"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut again = YClient::connect(&url).await;
    let restored = |c: &YClient| c.text() == "print('hello')";
    assert!(again.pump_until(WAIT, restored).await, "{:?}", again.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_open_file_closes_its_sockets_on_every_replica() {
    let (_scratch, _store, [first, second], class) = start_hubs(|_| {}).await;
    let mut here =
        YClient::connect(&first.doc_url(class.project, class.file, &class.owner.1)).await;
    let mut there =
        YClient::connect(&second.doc_url(class.project, class.file, &class.owner.1)).await;
    here.append("x").await;
    assert!(there.pump_until(WAIT, |c| c.text() == "x").await);

    let (status, body) = first
        .call(
            reqwest::Method::DELETE,
            &format!("/hub/projects/{}/files/{}", class.project, class.file),
            &class.owner.1,
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(here.closed_with(WAIT).await.0, 4006);
    assert_eq!(there.closed_with(WAIT).await.0, 4006);
}

/// Whether the document log of `file` exists in Redis.
pub async fn log_exists(scratch: &Scratch, file: FileId) -> bool {
    let mut conn = scratch.streams().pool().get().await.unwrap();
    let exists: i64 = deadpool_redis::redis::cmd("EXISTS")
        .arg(scratch.keys().hub_document(file))
        .query_async(&mut conn)
        .await
        .unwrap();
    exists > 0
}
