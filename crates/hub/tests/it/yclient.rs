//! A minimal y-protocols client on yrs, for the protocol's edge cases (close codes, permission
//! messages, garbage frames). The convergence scenarios use the real y-websocket and
//! pycrdt-websocket clients (see `tests/clients`).

use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::sync::awareness::AwarenessUpdateEntry;
use yrs::sync::{AwarenessUpdate, Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ClientID, Doc, GetString, ReadTxn, Text, TextRef, Transact, TransactionMut, Update};

pub struct YClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub doc: Doc,
    /// Reasons of the permission-denied messages received.
    pub denied: Vec<String>,
    /// Awareness messages received.
    pub awareness_messages: usize,
    /// The presence states the hub told of, by client (removed ones are dropped).
    pub presence: HashMap<u64, String>,
    /// Whether the hub answered this client's sync step 1: it has joined the document.
    pub synced: bool,
    /// The close code and reason, once the hub closed the socket.
    pub closed: Option<(u16, String)>,
}

impl YClient {
    /// Connects and sends sync step 1.
    pub async fn connect(url: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut client = Self {
            ws,
            doc: Doc::new(),
            denied: Vec::new(),
            awareness_messages: 0,
            presence: HashMap::new(),
            synced: false,
            closed: None,
        };
        let vector = client.doc.transact().state_vector();
        client
            .send(&Message::Sync(SyncMessage::SyncStep1(vector)))
            .await;
        client
    }

    pub async fn send(&mut self, message: &Message) {
        self.send_raw(Frame::Binary(message.encode_v1().into()))
            .await;
    }

    /// Sends a frame as is (for garbage); a socket the hub already closed is not an error.
    pub async fn send_raw(&mut self, frame: Frame) {
        let _ = self.ws.send(frame).await;
    }

    pub fn text(&self) -> String {
        let text = self.doc.get_or_insert_text("content");
        text.get_string(&self.doc.transact())
    }

    /// Inserts `chunk` at `index` and sends the update.
    pub async fn insert(&mut self, index: u32, chunk: &str) {
        self.edit(|text, txn| text.insert(txn, index, chunk)).await;
    }

    /// Deletes `length` characters from `index` and sends the update.
    pub async fn delete(&mut self, index: u32, length: u32) {
        self.edit(|text, txn| text.remove_range(txn, index, length))
            .await;
    }

    /// Changes the text with `change` and sends the update.
    async fn edit(&mut self, change: impl FnOnce(&TextRef, &mut TransactionMut)) {
        let update = {
            let text = self.doc.get_or_insert_text("content");
            let mut txn = self.doc.transact_mut();
            let before = txn.state_vector();
            change(&text, &mut txn);
            txn.encode_state_as_update_v1(&before)
        };
        self.send(&Message::Sync(SyncMessage::Update(update))).await;
    }

    /// Announces the presence `state` (JSON, or `null` to leave) of awareness client `client`.
    pub async fn announce(&mut self, client: u64, clock: u32, state: &str) {
        let entry = AwarenessUpdateEntry {
            clock,
            json: state.into(),
        };
        let update = AwarenessUpdate {
            clients: HashMap::from([(ClientID::new(client), entry)]),
        };
        self.send(&Message::Awareness(update)).await;
    }

    /// Appends `chunk` at the end of the text and sends the update.
    pub async fn append(&mut self, chunk: &str) {
        let length = self.text().chars().count() as u32;
        self.insert(length, chunk).await;
    }

    /// Handles incoming messages until `done` holds, the socket closes or `wait` passes;
    /// returns whether `done` held.
    pub async fn pump_until(&mut self, wait: Duration, done: impl Fn(&Self) -> bool) -> bool {
        let deadline = Instant::now() + wait;
        while !done(self) {
            if self.closed.is_some() {
                return false;
            }
            match timeout_at(deadline, self.ws.next()).await {
                Err(_) => return false,
                Ok(None) | Ok(Some(Err(_))) => {
                    self.closed.get_or_insert((1006, "connection lost".into()));
                }
                Ok(Some(Ok(frame))) => self.receive(frame).await,
            }
        }
        true
    }

    /// Waits for the hub to close the socket; returns the code and reason.
    pub async fn closed_with(&mut self, wait: Duration) -> (u16, String) {
        self.pump_until(wait, |client| client.closed.is_some())
            .await;
        self.closed
            .clone()
            .expect("the hub did not close the socket in time")
    }

    fn apply(&self, update: &[u8]) {
        let update = Update::decode_v1(update).unwrap();
        self.doc.transact_mut().apply_update(update).unwrap();
    }

    async fn receive(&mut self, frame: Frame) {
        match frame {
            Frame::Binary(bytes) => {
                let message = Message::decode_v1(&bytes).expect("the hub sends y-protocols");
                match message {
                    Message::Sync(SyncMessage::SyncStep1(vector)) => {
                        let missing = self.doc.transact().encode_state_as_update_v1(&vector);
                        self.send(&Message::Sync(SyncMessage::SyncStep2(missing)))
                            .await;
                    }
                    Message::Sync(SyncMessage::SyncStep2(update)) => {
                        self.apply(&update);
                        self.synced = true;
                    }
                    Message::Sync(SyncMessage::Update(update)) => self.apply(&update),
                    Message::Awareness(update) => {
                        self.awareness_messages += 1;
                        for (client, entry) in update.clients {
                            if &*entry.json == "null" {
                                self.presence.remove(&client.get());
                            } else {
                                self.presence.insert(client.get(), entry.json.to_string());
                            }
                        }
                    }
                    Message::Auth(Some(reason)) => self.denied.push(reason),
                    other => panic!("unexpected message from the hub: {other:?}"),
                }
            }
            Frame::Close(frame) => {
                let (code, reason) = frame
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                self.closed = Some((code, reason));
            }
            _ => {}
        }
    }
}
