//! A client of the hub's class presence socket (`/hub/courses/{c}/presence`) that keeps the
//! people it was told of, for tests and the class benchmark.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct PresenceClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The people as last told, by user id.
    pub people: HashMap<i64, Value>,
    /// Refusals (`error` frames) received.
    pub errors: Vec<String>,
    /// The close code and reason, once the hub closed the socket.
    pub closed: Option<(u16, String)>,
    /// The students whose progress the hub said changed (`progress` frames), in order.
    pub progress: Vec<i64>,
}

/// The socket URL of `course` on the hub at `base` (`http://host:port`).
pub fn url(base: &str, course: i64, token: &str, tab: &str) -> String {
    let ws = base.replacen("http", "ws", 1);
    format!("{ws}/hub/courses/{course}/presence?token={token}&tab={tab}")
}

impl PresenceClient {
    pub async fn connect(url: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("the presence socket opens");
        Self {
            ws,
            people: HashMap::new(),
            errors: Vec::new(),
            closed: None,
            progress: Vec::new(),
        }
    }

    /// Sends a command; a socket the hub already closed is not an error.
    pub async fn send(&mut self, command: Value) {
        let _ = self.ws.send(Message::text(command.to_string())).await;
    }

    pub async fn move_to(&mut self, project: i64, file: Option<i64>) {
        self.send(json!({"type": "move", "project_id": project, "file_id": file}))
            .await;
    }

    pub async fn follow(&mut self, user: Option<i64>) {
        self.send(json!({"type": "follow", "user_id": user})).await;
    }

    /// What the client was last told of `user` (Null if nothing).
    pub fn person(&self, user: i64) -> &Value {
        self.people.get(&user).unwrap_or(&Value::Null)
    }

    /// Reads frames until `done` holds, the socket closes or `wait` passes; says whether
    /// `done` held.
    pub async fn until(&mut self, wait: Duration, mut done: impl FnMut(&Self) -> bool) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            if done(self) {
                return true;
            }
            if self.closed.is_some() {
                return false;
            }
            match timeout_at(deadline, self.ws.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_))) => {
                    self.closed.get_or_insert((1006, "connection lost".into()));
                }
                Ok(Some(Ok(frame))) => self.take(frame),
            }
        }
    }

    /// Reads one frame (or waits at most `wait`); returns the person it told of, if any.
    pub async fn next_person(&mut self, wait: Duration) -> Option<Value> {
        let frame = tokio::time::timeout(wait, self.ws.next())
            .await
            .ok()??
            .ok()?;
        let person = match &frame {
            Message::Text(text) => serde_json::from_str::<Value>(text).ok()?["person"].clone(),
            _ => Value::Null,
        };
        self.take(frame);
        (!person.is_null()).then_some(person)
    }

    /// Waits for the hub to close the socket; returns the code and reason.
    pub async fn closed_with(&mut self, wait: Duration) -> (u16, String) {
        self.until(wait, |c| c.closed.is_some()).await;
        self.closed
            .clone()
            .expect("the hub did not close the socket in time")
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }

    fn take(&mut self, frame: Message) {
        match frame {
            Message::Text(text) => {
                let Ok(frame) = serde_json::from_str::<Value>(&text) else {
                    return;
                };
                match frame["type"].as_str() {
                    Some("people") => {
                        self.people = frame["people"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|p| (p["user_id"].as_i64().unwrap_or_default(), p.clone()))
                            .collect();
                    }
                    Some("person") => {
                        let person = frame["person"].clone();
                        let id = person["user_id"].as_i64().unwrap_or_default();
                        self.people.insert(id, person);
                    }
                    Some("progress") => self
                        .progress
                        .push(frame["user_id"].as_i64().unwrap_or_default()),
                    Some("error") => self
                        .errors
                        .push(frame["message"].as_str().unwrap_or_default().into()),
                    _ => {}
                }
            }
            Message::Close(frame) => {
                let (code, reason) = frame.map_or((1005, String::new()), |f: CloseFrame| {
                    (u16::from(f.code), f.reason.to_string())
                });
                self.closed = Some((code, reason));
            }
            _ => {}
        }
    }
}
