//! Starts real relays on port 0 against the local Redis, under a key prefix per test that is
//! deleted afterwards, and talks to them with a real WebSocket client.

#![allow(dead_code)] // each test binary uses a different part of the helpers

use chrono::Utc;
use contracts::scratch::ScratchPrefix;
use contracts::{
    AssignmentId, Keys, ResultEvent, ResultKind, Streams, SubmissionId, UserId, Verdict,
    MESSAGE_VERSION,
};
use futures_util::{SinkExt, StreamExt};
use relay::settings::Settings;
use relay::Application;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::time::Duration;
use tokens::{Role, TokenKeys};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

/// Long enough for anything that should happen, short enough to fail fast.
pub const WAIT: Duration = Duration::from_secs(10);

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// One test's Redis prefix, publisher and token keys; relays started from it share them.
pub struct TestEnv {
    pub prefix: String,
    pub streams: Streams,
    pub keys: Keys,
    pub tokens: TokenKeys,
    relays: Vec<CancellationToken>,
    _cleanup: ScratchPrefix,
}

impl TestEnv {
    pub fn new() -> Self {
        let cleanup = ScratchPrefix::new(&redis_url(), "test");
        let prefix = cleanup.prefix().to_owned();
        let pool = contracts::redis_pool(&redis_url(), 4).unwrap();
        Self {
            streams: Streams::new(pool, 100_000),
            keys: Keys::new(prefix.clone()),
            tokens: TokenKeys::new(
                &SecretString::from(Settings::TEST_JWT_SECRET),
                chrono::Duration::minutes(10),
            ),
            relays: Vec::new(),
            _cleanup: cleanup,
            prefix,
        }
    }

    /// Starts a relay with the test settings and waits until it is ready.
    pub async fn relay(&mut self) -> TestRelay {
        self.relay_with(|_| {}).await
    }

    /// Starts a relay after `adjust` has changed its settings, and waits until it is ready.
    pub async fn relay_with(&mut self, adjust: impl FnOnce(&mut Settings)) -> TestRelay {
        let mut settings = Settings::for_tests(&redis_url(), &self.prefix);
        adjust(&mut settings);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let app = Application::build(settings, listener).await.unwrap();
        let relay = TestRelay {
            port: app.port(),
            http: reqwest::Client::new(),
            shutdown: app.shutdown_token(),
        };
        self.relays.push(relay.shutdown.clone());
        tokio::spawn(app.run_until_stopped());
        relay.wait_until_ready().await;
        relay
    }

    /// A valid token for `user`.
    pub fn token(&self, user: i64) -> String {
        self.tokens
            .issue(UserId(user), Role::Student, "student", false)
            .token
    }

    /// Adds `event` to the results stream; returns its entry id.
    pub async fn publish(&self, event: &ResultEvent) -> String {
        self.streams
            .publish(&self.keys.results(), event)
            .await
            .unwrap()
    }

    /// Trims the results stream to its newest `keep` entries, exactly.
    pub async fn trim_results(&self, keep: usize) {
        let mut conn = self.streams.pool().get().await.unwrap();
        let _: u64 = deadpool_redis::redis::cmd("XTRIM")
            .arg(self.keys.results().name())
            .arg("MAXLEN")
            .arg(keep)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        for relay in &self.relays {
            relay.cancel();
        }
    }
}

/// A running relay.
pub struct TestRelay {
    pub port: u16,
    pub http: reqwest::Client,
    pub shutdown: CancellationToken,
}

impl TestRelay {
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn wait_until_ready(&self) {
        let ready = async {
            loop {
                if let Ok(response) = self.http.get(self.http_url("/readyz")).send().await {
                    if response.status().is_success() {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        timeout(WAIT, ready)
            .await
            .expect("relay never became ready");
    }

    /// Opens a socket (not yet authenticated).
    pub async fn connect(&self) -> WsClient {
        WsClient::connect(&self.ws_url(), None).await
    }

    /// Opens a socket, authenticates as `user` and waits for `ready`.
    pub async fn connect_as(&self, env: &TestEnv, user: i64) -> WsClient {
        let mut client = self.connect().await;
        client.auth(&env.token(user), None).await;
        client
    }

    /// The value of the metric line starting with `series` (name and labels).
    pub async fn metric(&self, series: &str) -> f64 {
        let text = self
            .http
            .get(self.http_url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no series {series} in\n{text}"))
            .parse()
            .unwrap()
    }
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
            let message = timeout(WAIT, self.ws.next())
                .await
                .expect("no message within the wait")
                .expect("the socket ended")
                .expect("the socket failed");
            match message {
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

/// A `graded` event with `feedback_bytes` of feedback, stamped now.
pub fn graded(user: i64, submission: i64, feedback_bytes: usize) -> ResultEvent {
    event(
        user,
        submission,
        ResultKind::Graded {
            verdict: Verdict::Accepted,
            tests: Vec::new(),
            feedback: "f".repeat(feedback_bytes),
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
