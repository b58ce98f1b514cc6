//! Byte budgets: what one socket or one document can make the hub hold is bounded. A socket
//! that never reads is closed (4008) once its queue holds the byte budget, with the hub's
//! memory bounded; an update that would make a document larger than its cap is refused and
//! never logged (deleting still works); a socket sending faster than its rate is closed (4010) before the message over
//! it is applied or logged.

use crate::classroom::{start_hubs, Classroom, Store};
use crate::http::Hub;
use crate::process::HubProcess;
use crate::yclient::YClient;
use futures_util::StreamExt;
use std::time::Duration;
use testkit::{probe, RedisServer, Scratch, WAIT};
use tokio_tungstenite::tungstenite::Message as Frame;
use yrs::sync::{Message, SyncMessage};

const MIB: usize = 1 << 20;

/// What the hub's peak memory may grow by while 600 updates of 1 MiB pass through it to a socket
/// that never reads. Without a byte budget the hub queues them for that socket until the
/// kernel's buffers and the writer's pace stop it (it grew by 371 MiB here so). With the
/// default budget it holds 8 MiB for the socket plus the copies each 1 MiB update makes on its
/// way (the frame read, the decoded update, the Redis command and the follower's read of it,
/// the document and its snapshot for Postgres), a few at a time, and the allocator's slack (it
/// grew by 20 MiB). The bound leaves room for another allocator and more threads, and stays far
/// below what an unbounded queue takes.
const RSS_GROWTH_BOUND_BYTES: u64 = 128 * MIB as u64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_never_reads_is_closed_with_4008_after_the_byte_budget() {
    // 600 MiB pass through Redis: a Redis of this test's own.
    let redis = RedisServer::start();
    let scratch = Scratch::on_redis("hub", &redis.url()).await;
    let store = Store::of(&scratch);
    let hub = HubProcess::start(&scratch, |s| {
        s.max_message_bytes = 2 * MIB;
        s.update_bytes_per_second = 1 << 40;
        s.update_burst_bytes = 1 << 40;
        s.max_document_bytes = 64 * MIB;
        // Written to Postgres and trimmed from Redis as it goes.
        s.sync_quiet_ms = 100;
        s.sync_max_delay_ms = 500;
        s.trim_after_ms = 0;
    })
    .await;
    let class = Classroom::new(&store, &hub).await;
    let url = hub.doc_url(class.project, class.file, &class.owner.1);
    let (mut sleeper, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let mut writer = YClient::connect(&url).await;
    writer
        .pump_until(Duration::from_millis(300), |_| false)
        .await;
    let baseline = memory(hub.pid(), "VmRSS");

    let chunk = "x".repeat(MIB);
    for n in 0..600u64 {
        let update = inserted_and_deleted(n * MIB as u64, &chunk);
        writer
            .send(&Message::Sync(SyncMessage::Update(update)))
            .await;
    }
    let peak = memory(hub.pid(), "VmHWM");
    let growth = peak.saturating_sub(baseline);
    assert!(
        growth < RSS_GROWTH_BOUND_BYTES,
        "the hub grew by {} MiB (from {} MiB)",
        growth / MIB as u64,
        baseline / MIB as u64
    );
    let too_slow = "hub_sockets_closed_total{reason=\"too_slow\"}";
    assert_eq!(
        metric(&hub, too_slow).await,
        1.0,
        "closed while the writer wrote"
    );
    assert_eq!(
        metric(&hub, "hub_budget_exceeded_total{budget=\"send_buffer\"}").await,
        1.0
    );

    // The sleeper wakes up: what was in flight, then the close frame.
    let close = tokio::time::timeout(WAIT, async {
        while let Some(frame) = sleeper.next().await {
            if let Ok(Frame::Close(close)) = frame {
                return close;
            }
        }
        None
    })
    .await
    .expect("the close frame arrives");
    let close = close.expect("a close frame with a code");
    assert_eq!(u16::from(close.code), 4008, "{close:?}");
    // The writer's socket was not punished for the sleeper's.
    writer.append("!").await;
    let mut watcher = YClient::connect(&url).await;
    assert!(watcher.pump_until(WAIT, |c| c.text() == "!").await);
}

/// A Yjs update (v1) from client [`FLOODER`] at `clock` that inserts `text` (ASCII) at the
/// start of the document's text and deletes it again: 1 MiB on the wire, in the log and to
/// every reader, while the document stays small. Written by hand because building it with a
/// debug build of yrs takes half a second.
fn inserted_and_deleted(clock: u64, text: &str) -> Vec<u8> {
    use yrs::encoding::write::Write;
    let mut update = Vec::with_capacity(text.len() + 32);
    update.write_var(1u32); // clients with structs
    update.write_var(1u32); // structs of this client
    update.write_var(FLOODER);
    update.write_var(clock);
    update.write_u8(4); // a string, without origins: its parent follows
    update.write_var(1u32); // the parent is a root type, by name
    update.write_string("content");
    update.write_string(text);
    update.write_var(1u32); // delete set: clients
    update.write_var(FLOODER);
    update.write_var(1u32); // ranges
    update.write_var(clock);
    update.write_var(text.len() as u64);
    update
}

/// The Yjs client id of [`inserted_and_deleted`]'s updates.
const FLOODER: u64 = 0x5eed;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_over_the_document_cap_is_refused_and_never_logged() {
    let (scratch, store, [hub], class) = start_hubs(|s| {
        s.max_document_bytes = 64 * 1024;
        s.sync_quiet_ms = 50;
    })
    .await;
    let url = hub.doc_url(class.project, class.file, &class.owner.1);
    let mut writer = YClient::connect(&url).await;
    let mut watcher = YClient::connect(&url).await;
    // The handshake first, so that the refused text comes back in no sync step 2 of the writer.
    writer
        .pump_until(Duration::from_millis(300), |_| false)
        .await;
    let fits = "a".repeat(40 * 1024);
    writer.append(&fits).await;
    assert!(watcher.pump_until(WAIT, |c| c.text() == fits).await);

    writer.append(&"b".repeat(40 * 1024)).await;
    assert!(writer.pump_until(WAIT, |c| !c.denied.is_empty()).await);
    assert!(
        writer.denied[0].contains("too large"),
        "{:?}",
        writer.denied
    );
    watcher
        .pump_until(Duration::from_millis(300), |_| false)
        .await;
    assert_eq!(watcher.text(), fits, "not forwarded");
    assert_eq!(
        log_length(&scratch, &class).await,
        1,
        "only the first update is logged"
    );
    store.wait_for_stored_text(class.file, &fits).await;
    let mut late = YClient::connect(&url).await;
    assert!(late.pump_until(WAIT, |c| c.text() == fits).await);
    assert_eq!(
        hub.metric("hub_budget_exceeded_total{budget=\"document_size\"}")
            .await,
        1.0
    );
    // A full document still gets smaller.
    writer.delete(0, 10 * 1024).await;
    let shorter = "a".repeat(30 * 1024);
    assert!(watcher.pump_until(WAIT, |c| c.text() == shorter).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_sending_faster_than_its_rate_is_closed_with_4010() {
    let (scratch, _store, [hub], class) = start_hubs(|s| {
        s.update_bytes_per_second = 16 * 1024;
        s.update_burst_bytes = 64 * 1024;
        s.max_message_bytes = 16 * 1024;
    })
    .await;
    let url = hub.doc_url(class.project, class.file, &class.owner.1);
    let mut flooder = YClient::connect(&url).await;
    let mut watcher = YClient::connect(&url).await;
    // The handshake first: the flooder's sync step 2 is then empty, not all it typed.
    flooder
        .pump_until(Duration::from_millis(300), |_| false)
        .await;
    // 200 KiB at once: even a slow machine does not spread them over the 8 s the rate needs.
    let chunk = |n: usize| format!("{n}{}|", "x".repeat(10 * 1024));
    for n in 0..20 {
        flooder.append(&chunk(n)).await;
    }
    let (code, reason) = flooder.closed_with(WAIT).await;
    assert_eq!(code, 4010, "{reason}");
    assert!(reason.contains("too fast"), "{reason}");

    // The watcher has whole chunks, as many as are logged: the one over the rate is neither.
    watcher
        .pump_until(Duration::from_millis(500), |_| false)
        .await;
    let pieces = watcher.text().matches('|').count();
    assert!(pieces > 0 && pieces < 20, "{pieces} chunks got through");
    assert_eq!(watcher.text(), (0..pieces).map(chunk).collect::<String>());
    assert_eq!(log_length(&scratch, &class).await, pieces);
    assert_eq!(
        hub.metric("hub_budget_exceeded_total{budget=\"update_rate\"}")
            .await,
        1.0
    );
}

/// Entries in the document's log in Redis.
async fn log_length(scratch: &Scratch, class: &Classroom) -> usize {
    let mut conn = scratch.streams().pool().get().await.unwrap();
    deadpool_redis::redis::cmd("XLEN")
        .arg(scratch.keys().hub_document(class.file))
        .query_async(&mut conn)
        .await
        .unwrap()
}

async fn metric(hub: &HubProcess, series: &str) -> f64 {
    probe::metric(hub.http(), &hub.url(""), series).await
}

/// A `/proc/{pid}/status` figure (`VmRSS`, `VmHWM`) in bytes.
fn memory(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    let kib: u64 = line.trim().trim_end_matches("kB").trim().parse().unwrap();
    kib * 1024
}
