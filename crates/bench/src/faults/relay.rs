//! The prober's browser tab on the relay: one socket at a time for the whole campaign, which
//! reconnects with the last event id it saw (as the web UI does) and notes when each of the
//! prober's submissions was reported `graded`. A verdict counts for recovery only once it has
//! reached the student this way.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_util::sync::CancellationToken;

const RETRY: Duration = Duration::from_millis(300);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct RelayWatch {
    /// When each submission's `graded` event arrived.
    graded: Mutex<HashMap<i64, Instant>>,
    /// Whether the relay ever answered `resync` (events it could not replay).
    resynced: AtomicBool,
    changed: Notify,
}

impl RelayWatch {
    /// Keeps a socket to `url` open as the user of `token` until `stop`.
    pub async fn run(&self, url: String, token: String, stop: CancellationToken) {
        let mut last_event: Option<String> = None;
        while !stop.is_cancelled() {
            tokio::select! {
                () = self.session(&url, &token, &mut last_event) => {}
                () = stop.cancelled() => return,
            }
            tokio::time::sleep(RETRY).await;
        }
    }

    /// One socket, until it fails.
    async fn session(&self, url: &str, token: &str, last_event: &mut Option<String>) {
        let Ok(Ok((mut socket, _))) =
            tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(url)).await
        else {
            return;
        };
        let auth = json!({"type": "auth", "token": token, "last_event_id": last_event});
        if socket.send(Frame::text(auth.to_string())).await.is_err() {
            return;
        }
        while let Some(Ok(frame)) = socket.next().await {
            let Frame::Text(text) = frame else {
                continue;
            };
            let Ok(message) = serde_json::from_str::<Value>(&text) else {
                return;
            };
            match message["type"].as_str() {
                Some("event") => {
                    *last_event = message["id"].as_str().map(str::to_owned);
                    let event = &message["event"];
                    if let (Some("graded"), Some(id)) =
                        (event["status"].as_str(), event["submission_id"].as_i64())
                    {
                        self.graded
                            .lock()
                            .expect("not poisoned")
                            .entry(id)
                            .or_insert_with(Instant::now);
                        self.changed.notify_waiters();
                    }
                }
                Some("ping") => {
                    let pong = json!({"type": "pong"}).to_string();
                    if socket.send(Frame::text(pong)).await.is_err() {
                        return;
                    }
                }
                Some("resync") => {
                    self.resynced.store(true, Ordering::Relaxed);
                    self.changed.notify_waiters();
                }
                _ => {}
            }
        }
    }

    /// When the relay reported submission `id` graded, waiting until `deadline`.
    pub async fn graded_at(&self, id: i64, deadline: Instant) -> Option<Instant> {
        loop {
            let changed = self.changed.notified();
            if let Some(at) = self.graded.lock().expect("not poisoned").get(&id) {
                return Some(*at);
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return None;
            }
        }
    }

    /// Whether the relay ever said it could not replay what the prober missed.
    pub fn resynced(&self) -> bool {
        self.resynced.load(Ordering::Relaxed)
    }
}
