//! Who may open a document socket, and what a read-only user can do: every refusal is a close
//! code with a reason, or the y-protocols permission-denied message; while Redis is nearly
//! full, no new socket is opened at all (503 before the upgrade).

use crate::classroom::{start_hubs, Classroom, Store};
use crate::http::Hub;
use crate::yclient::YClient;
use http_edge::storage::READING_TTL;
use testkit::{spawn, RedisServer, Scratch, WAIT};
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
