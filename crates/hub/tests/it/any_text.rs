//! Documents hold any text a Yjs client can type — U+0000, lone surrogate halves, terminal
//! escape sequences, a 1 MiB line — and it reaches Postgres and reads back the same over the
//! REST API and over Yjs; a sync Postgres refuses is retried with backoff, keeping the log.

use crate::classroom::{start_hubs, Classroom};
use crate::documents::log_exists;
use crate::external::{External, Kind};
use crate::http::Hub;
use crate::yclient::YClient;
use serde_json::json;
use std::time::Duration;
use testkit::{Service, WAIT};

/// What the Node client types, as the JSON line it reads: JavaScript strings are UTF-16, so a
/// lone surrogate half is something a browser can hold and send.
const TYPED: &str = r#"{"cmd":"insert","index":0,"text":"nul:\u0000|high:\ud800|low:\udc00|pair:\ud83d\ude00|esc:\u001b[31mred\u001b[0m\u001b]0;title\u0007|\u001b[2J\r\n"}"#;

/// What every other client, the hub and Postgres see of it: the Yjs wire format is UTF-8, and
/// the client's encoder writes a lone surrogate half as U+FFFD.
const SEEN: &str = "nul:\0|high:\u{FFFD}|low:\u{FFFD}|pair:\u{1F600}|\
                    esc:\x1b[31mred\x1b[0m\x1b]0;title\x07|\x1b[2J\r\n";

const LINE_BYTES: usize = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_text_typed_in_yjs_reaches_postgres_and_reads_back_the_same() {
    let (scratch, store, [first, second], class) = start_hubs(|s| {
        s.sync_quiet_ms = 100;
        // Room for the 1 MiB line in one update.
        s.max_message_bytes = 2 * LINE_BYTES;
        s.unload_after_ms = 300;
        s.trim_after_ms = 0;
    })
    .await;
    let room = class.file.to_string();
    let mut typist = External::start(
        Kind::YWebsocket,
        "typist",
        &[first.docs_url(class.project)],
        &room,
        &class.owner.1,
    );
    typist.synced(WAIT).await;
    typist.command_line(TYPED).await;
    let line = format!("{}\n", "é".repeat(LINE_BYTES / 2));
    typist
        .command(json!({"cmd": "insert", "index": SEEN.encode_utf16().count(), "text": line}))
        .await;
    let expected = format!("{SEEN}{line}");

    store.wait_for_stored_text(class.file, &expected).await;
    assert!(
        store.covered(class.file).await > (0, 0),
        "the row covers the log"
    );
    assert!(first.metric("hub_sync_lag_seconds_count").await >= 1.0);
    assert_eq!(
        first
            .metric("hub_storage_errors_total{operation=\"sync\"}")
            .await,
        0.0
    );
    for hub in [&first, &second] {
        assert_eq!(
            rest_text(hub, &class).await,
            expected,
            "through the REST API"
        );
    }
    typist.quit().await;

    // Once the document has left memory and Redis, a fresh client gets it from Postgres.
    let deadline = tokio::time::Instant::now() + WAIT;
    while first.metric("hub_open_documents").await > 0.0 || log_exists(&scratch, class.file).await {
        assert!(tokio::time::Instant::now() < deadline, "never unloaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut fresh = External::start(
        Kind::YWebsocket,
        "fresh",
        &[second.docs_url(class.project)],
        &room,
        &class.owner.1,
    );
    fresh.synced(WAIT).await;
    let seen = fresh
        .wait_text(json!({"cmd": "wait_length", "at_least": 1}), WAIT)
        .await;
    assert!(seen == expected, "a fresh Yjs client sees something else");
    fresh.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_postgres_refuses_is_retried_with_backoff_and_the_log_kept_until_it_succeeds() {
    let (scratch, store, [hub], class) = start_hubs(|s| {
        s.sync_quiet_ms = 50;
        s.sync_retry_min_ms = 1000;
        s.sync_retry_max_ms = 2000;
        s.unload_after_ms = 300;
        s.trim_after_ms = 0;
    })
    .await;
    // Postgres refuses every write of a document, for a reason that does not go away.
    store
        .execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'refused by the test' USING ERRCODE = '22000'; END $$; \
             CREATE TRIGGER refuse BEFORE UPDATE ON project_files \
             FOR EACH ROW EXECUTE FUNCTION refuse();",
        )
        .await;
    let mut writer =
        YClient::connect(&hub.doc_url(class.project, class.file, &class.owner.1)).await;
    writer.append("kept in the log").await;
    writer
        .pump_until(Duration::from_millis(200), |_| false)
        .await;
    drop(writer);

    let failures = "hub_storage_errors_total{operation=\"sync\"}";
    let deadline = tokio::time::Instant::now() + WAIT;
    while hub.metric(failures).await < 1.0 {
        assert!(tokio::time::Instant::now() < deadline, "no sync was tried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Retried after 1 s and then 2 s: one more try in these 2.5 s; every tick would be 12.
    let tried = hub.metric(failures).await;
    assert!(tried <= 3.0, "{tried} failed syncs in 2.5 s");
    assert_eq!(hub.metric("hub_documents_sync_failing").await, 1.0);
    assert_eq!(hub.metric("hub_open_documents").await, 1.0, "still loaded");
    assert!(
        log_exists(&scratch, class.file).await,
        "the log stays in Redis"
    );

    store.execute("DROP TRIGGER refuse ON project_files").await;
    store
        .wait_for_stored_text(class.file, "kept in the log")
        .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while hub.metric("hub_documents_sync_failing").await > 0.0
        || log_exists(&scratch, class.file).await
    {
        assert!(tokio::time::Instant::now() < deadline, "never recovered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The file's text as `GET /hub/projects/{p}/files/{f}` returns it.
async fn rest_text(hub: &Service, class: &Classroom) -> String {
    let path = format!("/hub/projects/{}/files/{}", class.project, class.file);
    let (status, body) = hub
        .call(reqwest::Method::GET, &path, &class.owner.1, None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["content"].as_str().unwrap().to_owned()
}
