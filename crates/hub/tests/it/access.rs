//! Who may open a document socket, and what a read-only user can do: every refusal is a close
//! code with a reason, or the y-protocols permission-denied message; while Redis is nearly
//! full, no new socket is opened at all (503 before the upgrade). Access changes and token
//! expiry reach sockets that are already open, on every replica.

use crate::classroom::{start_hubs, Account, Classroom, Store};
use crate::http::Hub;
use crate::yclient::YClient;
use http_edge::storage::READING_TTL;
use std::time::Duration;
use testkit::{spawn, RedisServer, Scratch, Service, WAIT};
use tokio_tungstenite::tungstenite::{self, Message as Frame};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_user_sees_edits_but_cannot_change_anything() {
    let (_scratch, store, [hub], class) = start_hubs(|s| s.sync_quiet_ms = 50).await;
    class.share(&hub, "read").await;
    let mut owner = YClient::connect(&hub.doc_url(class.project, class.file, &class.owner.1)).await;
    let mut reader =
        YClient::connect(&hub.doc_url(class.project, class.file, &class.other.1)).await;
    owner.append("def f(): pass").await;
    assert!(
        reader
            .pump_until(WAIT, |c| c.text() == "def f(): pass")
            .await
    );

    reader.append(" # vandalism").await;
    assert!(reader.pump_until(WAIT, |c| !c.denied.is_empty()).await);
    assert!(
        reader.denied[0].contains("read-only"),
        "{:?}",
        reader.denied
    );
    owner.append("!").await;
    assert!(
        owner
            .pump_until(WAIT, |c| c.text() == "def f(): pass!")
            .await
    );
    store
        .wait_for_stored_text(class.file, "def f(): pass!")
        .await;
    let mut late = YClient::connect(&hub.doc_url(class.project, class.file, &class.owner.1)).await;
    assert!(
        late.pump_until(WAIT, |c| c.text() == "def f(): pass!")
            .await,
        "{:?}",
        late.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_without_the_right_token_or_access_are_closed_with_a_code() {
    let (_scratch, _store, [hub], class) = start_hubs(|_| {}).await;
    let base = format!("{}/{}", hub.docs_url(class.project), class.file);
    let expired = {
        let keys = tokens::TokenKeys::new(
            &secrecy::SecretString::from(testkit::JWT_SECRET),
            chrono::Duration::seconds(-10),
        );
        keys.issue(class.owner.0, tokens::Role::Student, "owner", false)
            .token
    };
    let cases = [
        (base.clone(), 4001),
        (format!("{base}?token=garbage"), 4002),
        (format!("{base}?token={expired}"), 4003),
        (format!("{base}?token={}", class.other.1), 4005),
        (
            format!(
                "{}/999999?token={}",
                hub.docs_url(class.project),
                class.owner.1
            ),
            4006,
        ),
        (
            hub.ws_url(&format!(
                "/hub/projects/999999/docs/1?token={}",
                class.owner.1
            )),
            4006,
        ),
    ];
    for (url, code) in cases {
        let mut client = YClient::connect(&url).await;
        let (got, reason) = client.closed_with(WAIT).await;
        assert_eq!(got, code, "{url}: {reason}");
        assert!(!reason.is_empty(), "{url}: a close needs a reason");
    }
    // The course's teacher reads every project of the course.
    let mut teacher = YClient::connect(&format!("{base}?token={}", class.teacher.1)).await;
    teacher.append("x").await;
    assert!(teacher.pump_until(WAIT, |c| !c.denied.is_empty()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_close_the_socket_with_a_reason_and_the_hub_carries_on() {
    let (_scratch, _store, [hub], class) = start_hubs(|s| s.max_message_bytes = 1024).await;
    let url = hub.doc_url(class.project, class.file, &class.owner.1);
    let garbage: [(Frame, u16); 5] = [
        (Frame::Text("hello".into()), 1003),
        (Frame::Binary(vec![0xff, 0xff, 0xff].into()), 4000),
        (Frame::Binary(vec![0, 2, 5, 1, 2].into()), 4000),
        (Frame::Binary(vec![9, 0].into()), 4000),
        (Frame::Binary(vec![0; 4096].into()), 1009),
    ];
    for (frame, code) in garbage {
        let mut client = YClient::connect(&url).await;
        client.send_raw(frame).await;
        let (got, reason) = client.closed_with(WAIT).await;
        assert_eq!(got, code, "{reason}");
    }
    let mut fine = YClient::connect(&url).await;
    fine.append("still works").await;
    let mut other = YClient::connect(&url).await;
    assert!(other.pump_until(WAIT, |c| c.text() == "still works").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_over_the_socket_limit_is_closed_with_4009() {
    let (_scratch, _store, [hub], class) = start_hubs(|s| s.max_connections_per_user = 2).await;
    let url = hub.doc_url(class.project, class.file, &class.owner.1);
    let mut first = YClient::connect(&url).await;
    let mut second = YClient::connect(&url).await;
    first.append("1").await;
    assert!(second.pump_until(WAIT, |c| c.text() == "1").await);
    let mut third = YClient::connect(&url).await;
    assert_eq!(third.closed_with(WAIT).await.0, 4009);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nearly_full_redis_refuses_new_sockets_before_the_upgrade_until_memory_frees() {
    let redis = RedisServer::start();
    let scratch = Scratch::on_redis("hub", &redis.url()).await;
    let store = Store::of(&scratch);
    let hub = spawn::hub(&scratch, |s| s.sync_quiet_ms = 50).await;
    let class = Classroom::new(&store, &hub).await;
    let url = hub.doc_url(class.project, class.file, &class.owner.1);

    // Above the hub's high water (0.9 of maxmemory), below the limit itself.
    let filler = redis.fill(8 * 1024 * 1024, 0.95);
    tokio::time::sleep(READING_TTL).await;
    match tokio_tungstenite::connect_async(&url).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
            assert!(response.headers().contains_key("retry-after"));
            let body: serde_json::Value =
                serde_json::from_slice(response.body().as_deref().unwrap_or_default()).unwrap();
            assert_eq!(body["error"]["code"], "storage_full", "{body}");
        }
        Err(other) => panic!("expected an HTTP 503, got {other}"),
        Ok(_) => panic!("the socket was upgraded though Redis is nearly full"),
    }

    filler.remove();
    tokio::time::sleep(READING_TTL).await;
    let mut owner = YClient::connect(&url).await;
    owner.append("print(1)").await;
    store.wait_for_stored_text(class.file, "print(1)").await;
}

/// Two replicas, the project shared with the second student for writing, the student's
/// sockets on both and the owner's on the first; the student's "mine;" has reached everyone.
struct Shared {
    _scratch: Scratch,
    store: Store,
    replicas: [Service; 2],
    class: Classroom,
    owner: YClient,
    member: [YClient; 2],
}

impl Shared {
    async fn on_two_replicas() -> Self {
        let (_scratch, store, replicas, class) = start_hubs(|s| s.sync_quiet_ms = 50).await;
        class.share(&replicas[0], "write").await;
        let url =
            |hub: &Service, account: &Account| hub.doc_url(class.project, class.file, &account.1);
        let mut owner = YClient::connect(&url(&replicas[0], &class.owner)).await;
        let mut here = YClient::connect(&url(&replicas[0], &class.other)).await;
        let mut there = YClient::connect(&url(&replicas[1], &class.other)).await;
        there.append("mine;").await;
        for client in [&mut owner, &mut here] {
            assert!(client.pump_until(WAIT, |c| c.text() == "mine;").await);
        }
        Self {
            _scratch,
            store,
            replicas,
            class,
            owner,
            member: [here, there],
        }
    }
}

/// Sends a probe update from `client` every 100 ms until the hub refuses one (permission
/// denied) or closes the socket; panics unless that happens within `within`.
async fn refused_within(client: &mut YClient, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    let mut probe = 0;
    while client.denied.is_empty() && client.closed.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still writing {within:?} after the change"
        );
        client.append(&format!("probe{probe};")).await;
        probe += 1;
        client
            .pump_until(Duration::from_millis(100), |c| !c.denied.is_empty())
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_collaborator_is_closed_with_4005_on_every_replica_at_once() {
    let Shared {
        _scratch,
        store,
        replicas: [first, second],
        class,
        mut owner,
        member: [mut here, mut there],
    } = Shared::on_two_replicas().await;
    let member_url = |hub: &Service| hub.doc_url(class.project, class.file, &class.other.1);

    let path = format!("/hub/projects/{}/members/{}", class.project, class.other.0);
    let (status, body) = first
        .call(reqwest::Method::DELETE, &path, &class.owner.1, None)
        .await;
    assert_eq!(status, 204, "{body}");
    for member in [&mut here, &mut there] {
        let (code, reason) = member.closed_with(Duration::from_secs(1)).await;
        assert_eq!(code, 4005, "{reason}");
        // What it sends now goes nowhere.
        member.append("after;").await;
    }
    let mut again = YClient::connect(&member_url(&second)).await;
    assert_eq!(again.closed_with(WAIT).await.0, 4005);

    owner.append("owner;").await;
    store.wait_for_stored_text(class.file, "mine;owner;").await;
    class.late_joiner_sees(&first, "mine;owner;").await;
    class.late_joiner_sees(&second, "mine;owner;").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lowering_write_to_read_makes_open_sockets_read_only_on_every_replica() {
    let Shared {
        _scratch,
        store,
        replicas: [first, second],
        class,
        mut owner,
        member: [mut here, mut there],
    } = Shared::on_two_replicas().await;

    class.share(&first, "read").await;
    for member in [&mut here, &mut there] {
        refused_within(member, Duration::from_secs(1)).await;
        assert!(member.closed.is_none(), "read-only, not closed");
        assert!(
            member.denied[0].contains("read-only"),
            "{:?}",
            member.denied
        );
    }
    // Probes sent before the change took effect may have been taken; this one is refused.
    let accepted = owner.text();
    let denials = there.denied.len();
    there.append("after;").await;
    assert!(there.pump_until(WAIT, |c| c.denied.len() > denials).await);
    // Still reading: the owner's edits arrive.
    owner.append("owner;").await;
    assert!(
        there
            .pump_until(WAIT, |c| c.text().contains("owner;"))
            .await
    );
    assert!(
        owner
            .pump_until(WAIT, |c| c.text().ends_with("owner;"))
            .await
    );
    let text = owner.text();
    assert!(!text.contains("after;"), "{text:?}");
    assert!(text.starts_with(&accepted), "{text:?}");
    store.wait_for_stored_text(class.file, &text).await;
    class.late_joiner_sees(&first, &text).await;
    class.late_joiner_sees(&second, &text).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_socket_is_closed_with_4003_when_its_token_expires() {
    let (_scratch, _store, [hub], class) = start_hubs(|_| {}).await;
    let keys = tokens::TokenKeys::new(
        &secrecy::SecretString::from(testkit::JWT_SECRET),
        chrono::Duration::seconds(2),
    );
    let short = keys.issue(class.owner.0, tokens::Role::Student, "owner", false);
    let expires_at = chrono::DateTime::from_timestamp(short.expires_at.timestamp(), 0).unwrap();
    let mut client = YClient::connect(&hub.doc_url(class.project, class.file, &short.token)).await;
    let mut watcher =
        YClient::connect(&hub.doc_url(class.project, class.file, &class.owner.1)).await;
    client.append("while valid").await;
    assert!(
        watcher
            .pump_until(WAIT, |c| c.text() == "while valid")
            .await
    );

    let (code, reason) = client.closed_with(WAIT).await;
    let closed_at = chrono::Utc::now();
    assert_eq!(code, 4003, "{reason}");
    let early = expires_at - closed_at;
    assert!(
        early < chrono::Duration::milliseconds(50),
        "closed {early} before the token expired"
    );
    assert!(
        closed_at - expires_at < chrono::Duration::seconds(2),
        "closed {} after the token expired",
        closed_at - expires_at
    );
}
