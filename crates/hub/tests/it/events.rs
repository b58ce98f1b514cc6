//! The project events socket a page follows a project with: events made through one replica
//! reach a socket on another, refusals are close codes with a reason, and a revoked viewer's
//! socket closes with 4005 while a lowered one is told its new access.

use crate::classroom::{start_hubs, Account, Classroom};
use crate::http::Hub;
use contracts::ProjectId;
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use testkit::{Service, WAIT};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// One events socket, as a page holds it.
struct Events {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the hub sent next.
#[derive(Debug)]
enum Next {
    Event(Value),
    Closed(u16, String),
}

impl Events {
    /// Opens the events socket of `project` with `query` (`?token=…`, or nothing).
    async fn open(hub: &Service, project: ProjectId, query: &str) -> Self {
        let url = format!(
            "ws://127.0.0.1:{}/hub/projects/{project}/events{query}",
            hub.port()
        );
        let (ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
        Self { ws }
    }

    /// Opens a socket as `account` and waits for its `ready` frame.
    async fn follow(hub: &Service, class: &Classroom, account: &Account) -> Self {
        let query = format!("?token={}", account.1);
        let mut events = Self::open(hub, class.project, &query).await;
        let ready = events.event(WAIT).await;
        assert_eq!(ready["event"], "ready", "{ready}");
        assert_eq!(ready["project_id"], class.project.0, "{ready}");
        events
    }

    /// The next JSON event or the close, within `wait`.
    async fn next(&mut self, wait: Duration) -> Next {
        let deadline = Instant::now() + wait;
        loop {
            let frame = timeout_at(deadline, self.ws.next())
                .await
                .expect("nothing from the hub in time");
            match frame {
                Some(Ok(Frame::Text(text))) => {
                    return Next::Event(serde_json::from_str(&text).expect("JSON events"))
                }
                Some(Ok(Frame::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    return Next::Closed(code, reason);
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Next::Closed(1006, "connection lost".into()),
            }
        }
    }

    async fn event(&mut self, wait: Duration) -> Value {
        match self.next(wait).await {
            Next::Event(event) => event,
            closed => panic!("expected an event, got {closed:?}"),
        }
    }

    async fn closed(&mut self, wait: Duration) -> (u16, String) {
        match self.next(wait).await {
            Next::Closed(code, reason) => (code, reason),
            event => panic!("expected a close, got {event:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tree_changes_made_through_one_replica_reach_a_page_on_another() {
    let (_scratch, _store, [first, second], class) = start_hubs(|_| {}).await;
    class.share(&first, "read").await;
    let mut owner = Events::follow(&second, &class, &class.owner).await;
    let mut reader = Events::follow(&second, &class, &class.other).await;

    let created = first
        .create_file(class.project, &class.owner.1, "lib/util.py")
        .await;
    let (status, body) = first
        .move_file(class.project, &class.owner.1, created, "src/util.py")
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = first
        .call(
            Method::DELETE,
            &format!("/hub/projects/{}/files/{}", class.project, class.file),
            &class.owner.1,
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");

    for page in [&mut owner, &mut reader] {
        let mut seen = Vec::new();
        while seen.len() < 5 {
            let event = page.event(Duration::from_secs(1)).await;
            assert_eq!(event["project_id"], class.project.0, "{event}");
            assert_eq!(event["v"], 1, "{event}");
            seen.push(event);
        }
        let kinds: Vec<_> = seen.iter().map(|e| e["event"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "file_created",
                "file_created",
                "file_created",
                "file_moved",
                "files_deleted"
            ],
            "{seen:?}"
        );
        assert_eq!(seen[0]["file"]["path"], "lib", "the parent first");
        assert_eq!(seen[1]["file"]["id"], created.0);
        assert_eq!(
            seen[2]["file"]["path"], "src",
            "the new parent before the move"
        );
        assert_eq!(seen[3]["file"]["path"], "src/util.py");
        assert_eq!(seen[3]["from"], "lib/util.py");
        assert_eq!(seen[4]["file_ids"], json!([class.file.0]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_without_the_right_token_or_access_is_closed_with_a_code() {
    let (_scratch, _store, [hub], class) = start_hubs(|_| {}).await;
    let forged = {
        let keys = tokens::TokenKeys::new(
            &secrecy::SecretString::from("another secret of at least thirty-two bytes"),
            chrono::Duration::minutes(5),
        );
        keys.issue(class.owner.0, tokens::Role::Student, "owner", false)
            .token
    };
    let cases = [
        (String::new(), 4001),
        ("?token=garbage".to_owned(), 4002),
        (format!("?token={forged}"), 4002),
        (format!("?token={}", class.other.1), 4005),
    ];
    for (query, code) in cases {
        let mut events = Events::open(&hub, class.project, &query).await;
        let (got, reason) = events.closed(WAIT).await;
        assert_eq!(got, code, "{query}: {reason}");
        assert!(!reason.is_empty(), "{query}: a close needs a reason");
    }
    let query = format!("?token={}", class.owner.1);
    let (code, reason) = Events::open(&hub, ProjectId(999_999), &query)
        .await
        .closed(WAIT)
        .await;
    assert_eq!((code, reason.as_str()), (4006, "no such project"));

    // The page only listens: a message from it is a mistake it hears about.
    let mut talker = Events::follow(&hub, &class, &class.owner).await;
    talker.ws.send(Frame::Text("hello".into())).await.unwrap();
    let (code, reason) = talker.closed(WAIT).await;
    assert_eq!(code, 4000, "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lowered_viewer_is_told_and_a_revoked_one_is_closed_with_4005_on_another_replica() {
    let (_scratch, _store, [first, second], class) = start_hubs(|_| {}).await;
    class.share(&first, "write").await;
    let mut member = Events::follow(&second, &class, &class.other).await;
    let mut owner = Events::follow(&second, &class, &class.owner).await;

    class.share(&first, "read").await;
    let lowered = member.event(Duration::from_secs(1)).await;
    assert_eq!(lowered["event"], "access_changed", "{lowered}");
    assert_eq!(lowered["user_id"], class.other.0 .0, "{lowered}");
    assert_eq!(lowered["access"], "read", "{lowered}");

    let revoked_at = Instant::now();
    let (status, body) = first
        .call(
            Method::DELETE,
            &format!("/hub/projects/{}/members/{}", class.project, class.other.0),
            &class.owner.1,
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (code, reason) = member.closed(Duration::from_secs(1)).await;
    assert_eq!(code, 4005, "{reason}");
    assert!(reason.contains("no access"), "{reason}");
    assert!(revoked_at.elapsed() < Duration::from_secs(1));

    // The owner's page sees both changes of the member and stays open.
    for expected in ["read", "revoked"] {
        let event = owner.event(Duration::from_secs(1)).await;
        assert_eq!(event["event"], "access_changed", "{event}");
        let access = event["access"].as_str().unwrap_or("revoked");
        assert_eq!(access, expected, "{event}");
    }
    let again = Events::open(&second, class.project, &format!("?token={}", class.other.1))
        .await
        .closed(WAIT)
        .await;
    assert_eq!(again.0, 4005, "{}", again.1);
}
