//! What the relay's tests need beyond the test kit: a WebSocket client that behaves like a
//! browser tab (a slow one if asked), the results stream the grader publishes to, and result
//! events to put on it.

use chrono::Utc;
use contracts::{
    AssignmentId, ResultEvent, ResultKind, Streams, SubmissionId, TypedStream, UserId, Verdict,
    MESSAGE_VERSION,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use testkit::{Scratch, Service, WAIT};
use tokens::Role;
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// The results stream of a scratch prefix, as the grader writes it.
#[derive(Clone)]
pub struct Results {
    streams: Streams,
    stream: TypedStream<ResultEvent>,
}

impl Results {
    pub fn of(scratch: &Scratch) -> Self {
        Self {
            streams: scratch.streams(),
            stream: scratch.keys().results(),
        }
    }

    /// Adds `event`; returns its entry id.
    pub async fn publish(&self, event: &ResultEvent) -> String {
        self.streams.publish(&self.stream, event).await.unwrap()
    }

    /// Adds `events` in one round trip.
    pub async fn publish_all(&self, events: &[ResultEvent]) {
        let mut pipe = deadpool_redis::redis::pipe();
        for event in events {
            pipe.cmd("XADD")
                .arg(self.stream.name())
                .arg("*")
                .arg("payload")
                .arg(serde_json::to_string(event).unwrap())
                .ignore();
        }
        let mut conn = self.streams.pool().get().await.unwrap();
        let () = pipe.query_async(&mut conn).await.unwrap();
    }

    /// Trims the stream to its newest `keep` entries, exactly.
    pub async fn trim(&self, keep: usize) {
        let mut conn = self.streams.pool().get().await.unwrap();
        let _: u64 = deadpool_redis::redis::cmd("XTRIM")
            .arg(self.stream.name())
            .arg("MAXLEN")
            .arg(keep)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

/// A task publishing alongside the test; aborted if the test fails first, so that it does not
/// write under a key prefix that has already been cleaned up.
pub struct Publisher(JoinHandle<()>);

impl Publisher {
    pub fn spawn(publishing: impl std::future::Future<Output = ()> + Send + 'static) -> Self {
        Self(tokio::spawn(publishing))
    }

    /// Waits until it has published everything.
    pub async fn finish(mut self) {
        (&mut self.0).await.expect("the publisher did not panic");
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A valid student token for `user`.
pub fn token(scratch: &Scratch, user: i64) -> String {
    scratch.token(UserId(user), Role::Student)
}

/// The relay's socket endpoint.
pub fn socket_url(relay: &Service) -> String {
    relay.ws_url("/ws")
}

/// Opens a socket (not yet authenticated).
pub async fn connect(relay: &Service) -> WsClient {
    WsClient::connect(&socket_url(relay), None).await
}

/// Opens a socket, authenticates as `user` and waits for `ready`.
pub async fn connect_as(relay: &Service, scratch: &Scratch, user: i64) -> WsClient {
    let mut client = connect(relay).await;
    client.auth(&token(scratch, user), None).await;
    client
}

/// A WebSocket client as a browser would use it.
pub struct WsClient {
    ws: WebSocketStream<TcpStream>,
}

impl WsClient {
    /// Connects; `receive_buffer` shrinks the socket's kernel receive buffer (a slow reader).
    pub async fn connect(url: &str, receive_buffer: Option<u32>) -> Self {
        let address = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let socket = TcpSocket::new_v4().unwrap();
        if let Some(size) = receive_buffer {
            socket.set_recv_buffer_size(size).unwrap();
        }
        let stream = socket.connect(address).await.unwrap();
        let (ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
        Self { ws }
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.ws.send(Message::text(text.into())).await.unwrap();
    }

    pub async fn send_json(&mut self, value: Value) {
        self.send_text(value.to_string()).await;
    }

    /// Sends a raw frame; the send may fail if the relay already closed.
    pub async fn send_message(&mut self, message: Message) {
        let _ = self.ws.send(message).await;
    }

    /// Sends `auth` and waits for `ready`; returns it.
    pub async fn auth(&mut self, token: &str, last_event_id: Option<&str>) -> Value {
        self.send_json(json!({"type": "auth", "token": token, "last_event_id": last_event_id}))
            .await;
        let ready = self.next_json().await;
        assert_eq!(ready["type"], "ready", "{ready}");
        ready
    }

    /// The next frame of any kind.
    pub async fn next_frame(&mut self) -> Message {
        timeout(WAIT, self.ws.next())
            .await
            .expect("no frame within the wait")
            .expect("the socket ended")
            .expect("the socket failed")
    }

    /// The next JSON message (heartbeat pings included).
    pub async fn next_json(&mut self) -> Value {
        loop {
            match self.next_frame().await {
                Message::Text(text) => return serde_json::from_str(&text).unwrap(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a JSON message, got {other:?}"),
            }
        }
    }

    /// The next message that is not a heartbeat.
    pub async fn next_payload(&mut self) -> Value {
        loop {
            let value = self.next_json().await;
            if value["type"] != "ping" {
                return value;
            }
        }
    }

    /// The next `n` events as (entry id, event).
    pub async fn events(&mut self, n: usize) -> Vec<(String, Value)> {
        let mut events = Vec::with_capacity(n);
        while events.len() < n {
            let value = self.next_payload().await;
            assert_eq!(value["type"], "event", "{value}");
            events.push((
                value["id"].as_str().unwrap().to_owned(),
                value["event"].clone(),
            ));
        }
        events
    }

    /// Asserts that nothing but heartbeats arrives for `period`.
    pub async fn expect_nothing_for(&mut self, period: Duration) {
        let deadline = tokio::time::Instant::now() + period;
        while let Ok(message) = tokio::time::timeout_at(deadline, self.ws.next()).await {
            match message {
                Some(Ok(Message::Text(text))) if text.contains(r#""type":"ping""#) => {}
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected silence, got {other:?}"),
            }
        }
    }

    /// Reads until the relay closes; returns the close code and reason and how many events
    /// came first. Panics if the connection ends without a close frame.
    pub async fn expect_close(&mut self) -> (u16, String, usize) {
        let mut events = 0;
        loop {
            let message = timeout(WAIT, self.ws.next())
                .await
                .expect("the relay did not close within the wait");
            match message {
                Some(Ok(Message::Close(Some(CloseFrame { code, reason })))) => {
                    return (u16::from(code), reason.to_string(), events);
                }
                Some(Ok(Message::Close(None))) => return (1005, String::new(), events),
                Some(Ok(Message::Text(text))) => {
                    if text.contains(r#""type":"event""#) {
                        events += 1;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("the socket failed before a close frame: {e}"),
                None => panic!("the socket ended without a close frame"),
            }
        }
    }

    /// Closes from the client side, as a browser does: close frame, then wait for the relay's.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        let drained = async { while let Some(Ok(_)) = self.ws.next().await {} };
        let _ = timeout(WAIT, drained).await;
    }
}

/// A `grading` event of `submission` by `user`, stamped now.
pub fn grading(user: i64, submission: i64) -> ResultEvent {
    event(
        user,
        submission,
        ResultKind::Grading {
            started_at: Utc::now(),
        },
    )
}

/// A `graded` event with `feedback_bytes` of messages in its tests, stamped now.
pub fn graded(user: i64, submission: i64, feedback_bytes: usize) -> ResultEvent {
    event(
        user,
        submission,
        ResultKind::Graded {
            verdict: Verdict::Accepted,
            tests: testkit::results::outcomes_of_size(feedback_bytes),
            feedback: "f".into(),
            started_at: Utc::now(),
            finished_at: Utc::now(),
        },
    )
}

fn event(user: i64, submission: i64, kind: ResultKind) -> ResultEvent {
    ResultEvent {
        v: MESSAGE_VERSION,
        submission_id: SubmissionId(submission),
        user_id: UserId(user),
        assignment_id: AssignmentId(1),
        enqueued_at: Utc::now(),
        kind,
    }
}

/// The submission ids of `events`, in order.
pub fn submissions(events: &[(String, Value)]) -> Vec<i64> {
    events
        .iter()
        .map(|(_, event)| event["submission_id"].as_i64().unwrap())
        .collect()
}
