//! One simulated editor: a y-protocols client on its own WebSocket with its own yrs document.
//!
//! Each editor types `CHUNK` characters at a time into the Y.Text "content", right after the
//! last ones it typed, like a person writing their own paragraph. It inserts nothing else, so
//! its yrs clock is exactly `CHUNK` × its edit count: servers may merge or re-encode updates,
//! so receivers recognise edits by that clock in their state vector after applying whatever
//! arrives, not by matching bytes. (A Y.Map counter set in the same transaction would break
//! each editor's run of characters into one block per edit, and typing at one shared spot
//! makes every receiver resolve conflicts against all edits the server has not delivered
//! yet: both made the generator's CPU grow with the document or with the server's lag.)

use anyhow::{bail, Context};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use yrs::sync::awareness::AwarenessUpdateEntry;
use yrs::sync::{AwarenessUpdate, Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Assoc, ClientID, Doc, GetString, IndexScope, ReadTxn, StickyIndex, Text, TextRef, Transact,
    Update, ID,
};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
const READ_BUFFER: usize = 4096;
const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
/// Characters per edit, all ASCII so each advances the editor's clock by one.
const CHUNK: u32 = 3;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Shared by the editors of one room: who they are and when each of them sent each edit.
pub struct Room {
    /// `clients[e]` is editor `e`'s yrs client id, known once it has connected.
    clients: Vec<OnceLock<ClientID>>,
    /// `sent[e][n]` is when editor `e` sent its edit number `n + 1`.
    sent: Vec<Mutex<Vec<Instant>>>,
}

impl Room {
    pub fn new(editors: usize) -> Self {
        Self {
            clients: (0..editors).map(|_| OnceLock::new()).collect(),
            sent: (0..editors).map(|_| Mutex::default()).collect(),
        }
    }
}

/// Run-wide counters, read by the driver to end the grace period early.
#[derive(Default)]
pub struct Tally {
    pub sent: AtomicU64,
    pub delivered: AtomicU64,
}

/// When to edit and when to stop.
pub struct Schedule {
    pub start: Instant,
    pub interval: Duration,
    pub edit_until: Instant,
    pub finish: CancellationToken,
}

/// What one editor saw.
pub struct Outcome {
    pub room: usize,
    /// Send-to-apply latency of every other editor's edit this one received.
    pub latencies: Vec<Duration>,
    /// Deliveries applied before the edit window closed.
    pub in_window: u64,
    pub text: String,
    pub failure: Option<anyhow::Error>,
}

pub struct Editor {
    room_index: usize,
    index: usize,
    room: Arc<Room>,
    tally: Arc<Tally>,
    socket: Socket,
    doc: Doc,
    text: TextRef,
    /// The room's client ids, filled in when editing starts and everyone has connected.
    peers: Vec<Option<ClientID>>,
    /// Highest sequence number applied so far from each editor of the room.
    seen: Vec<u64>,
    sequence: u64,
    latencies: Vec<Duration>,
    in_window: u64,
    edit_until: Instant,
}

impl Editor {
    /// Opens the socket and completes the sync handshake; returns how long that took.
    pub async fn connect(
        url: &str,
        room_index: usize,
        index: usize,
        room: Arc<Room>,
        tally: Arc<Tally>,
    ) -> anyhow::Result<(Self, Duration)> {
        let started = Instant::now();
        // Frames are small: the default 128 KiB read buffer is zeroed on every read, which
        // costs more CPU than everything else here. Nagle's algorithm would hold small frames
        // back behind delayed acks.
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
        let (socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
            .await
            .with_context(|| format!("connecting to {url}"))?;
        let doc = Doc::new();
        let editors = room.sent.len();
        let _ = room.clients[index].set(doc.client_id());
        let mut editor = Self {
            room_index,
            index,
            room,
            tally,
            socket,
            text: doc.get_or_insert_text("content"),
            doc,
            peers: vec![None; editors],
            seen: vec![0; editors],
            sequence: 0,
            latencies: Vec::new(),
            in_window: 0,
            edit_until: started,
        };
        let state = editor.doc.transact().state_vector();
        editor
            .send(Message::Sync(SyncMessage::SyncStep1(state)))
            .await?;
        tokio::time::timeout(HANDSHAKE_TIMEOUT, editor.until_synced())
            .await
            .context("no sync step 2 from the server")??;
        editor.send(editor.presence()).await?;
        Ok((editor, started.elapsed()))
    }

    /// Handles messages until the server's step 2 (its answer to our step 1) has been applied.
    async fn until_synced(&mut self) -> anyhow::Result<()> {
        loop {
            let frame = self.socket.next().await;
            let Some(message) = decode(frame)? else {
                continue;
            };
            let synced = matches!(message, Message::Sync(SyncMessage::SyncStep2(_)));
            self.handle(message).await?;
            if synced {
                return Ok(());
            }
        }
    }

    /// Edits every interval from `start + phase` and applies what arrives until told to finish.
    pub async fn run(mut self, schedule: Arc<Schedule>, phase: Duration) -> Outcome {
        self.edit_until = schedule.edit_until;
        self.peers = self.room.clients.iter().map(|c| c.get().copied()).collect();
        let first_edit = schedule.start + phase;
        let mut ticks = tokio::time::interval_at(first_edit.into(), schedule.interval);
        // Skipping keeps each editor on its staggered phase if the process falls behind.
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut editing = true;
        let failure = loop {
            tokio::select! {
                frame = self.socket.next() => {
                    let handled = match decode(frame) {
                        Ok(Some(message)) => self.handle(message).await,
                        Ok(None) => Ok(()),
                        Err(error) => Err(error),
                    };
                    if let Err(error) = handled {
                        break Some(error);
                    }
                }
                _ = ticks.tick(), if editing => {
                    if Instant::now() >= schedule.edit_until {
                        editing = false;
                    } else if let Err(error) = self.edit().await {
                        break Some(error);
                    }
                }
                () = schedule.finish.cancelled() => break None,
            }
        };
        let text = self.text.get_string(&self.doc.transact());
        let _ = tokio::time::timeout(Duration::from_secs(1), self.socket.close(None)).await;
        Outcome {
            room: self.room_index,
            latencies: self.latencies,
            in_window: self.in_window,
            text,
            failure: failure
                .map(|e| e.context(format!("editor {} of room {}", self.index, self.room_index))),
        }
    }

    async fn handle(&mut self, message: Message) -> anyhow::Result<()> {
        match message {
            Message::Sync(SyncMessage::SyncStep1(state)) => {
                let missing = self.doc.transact().encode_state_as_update_v1(&state);
                self.send(Message::Sync(SyncMessage::SyncStep2(missing)))
                    .await
            }
            Message::Sync(SyncMessage::SyncStep2(update) | SyncMessage::Update(update)) => {
                self.apply(&update)
            }
            Message::Auth(Some(reason)) => bail!("permission denied: {reason}"),
            _ => Ok(()),
        }
    }

    fn apply(&mut self, update: &[u8]) -> anyhow::Result<()> {
        let update = Update::decode_v1(update).context("decoding an update")?;
        let mut txn = self.doc.transact_mut();
        txn.apply_update(update).context("applying an update")?;
        let now = Instant::now();
        let state = txn.state_vector();
        let mut delivered = 0;
        for other in (0..self.seen.len()).filter(|&e| e != self.index) {
            let Some(client) = self.peers[other] else {
                continue;
            };
            let latest = u64::from(state.get(&client) / CHUNK);
            let known = self.seen[other];
            if latest <= known {
                continue;
            }
            let sent = self.room.sent[other].lock().expect("not poisoned");
            let Some(new) = sent.get(known as usize..latest as usize) else {
                bail!("editor {other} never sent edit {latest}");
            };
            self.latencies.extend(new.iter().map(|&at| now - at));
            drop(sent);
            delivered += latest - known;
            self.seen[other] = latest;
        }
        if delivered > 0 {
            self.tally.delivered.fetch_add(delivered, Ordering::Relaxed);
            if now <= self.edit_until {
                self.in_window += delivered;
            }
        }
        Ok(())
    }

    async fn edit(&mut self) -> anyhow::Result<()> {
        // Letters that differ per editor and per edit, so the texts show who typed what.
        let start = self.index + (CHUNK as usize) * self.sequence as usize;
        let chunk: String = (start..start + CHUNK as usize)
            .map(|i| LETTERS[i % LETTERS.len()] as char)
            .collect();
        let update = {
            let mut txn = self.doc.transact_mut();
            let at = self.cursor(&txn);
            self.text.insert(&mut txn, at, &chunk);
            txn.encode_update_v1()
        };
        // Recorded before sending: a fast server can deliver before `send` returns.
        self.room.sent[self.index]
            .lock()
            .expect("not poisoned")
            .push(Instant::now());
        self.tally.sent.fetch_add(1, Ordering::Relaxed);
        self.sequence += 1;
        self.send(Message::Sync(SyncMessage::Update(update))).await
    }

    /// Just after this editor's last character, wherever others' typing has moved it; the
    /// start of the text before its first edit.
    fn cursor(&self, txn: &impl ReadTxn) -> u32 {
        let Some(last) = (CHUNK as u64 * self.sequence).checked_sub(1) else {
            return 0;
        };
        let last = ID::new(self.doc.client_id(), last as u32);
        StickyIndex::new(IndexScope::Relative(last), Assoc::Before)
            .get_offset(txn)
            .map_or(0, |offset| offset.index)
    }

    /// The awareness state a browser announces on joining, so servers track one per editor.
    fn presence(&self) -> Message {
        let json = format!(
            r#"{{"user":{{"name":"editor {} of room {}"}}}}"#,
            self.index, self.room_index
        );
        let entry = AwarenessUpdateEntry {
            clock: 1,
            json: json.into(),
        };
        Message::Awareness(AwarenessUpdate {
            clients: HashMap::from([(self.doc.client_id(), entry)]),
        })
    }

    async fn send(&mut self, message: Message) -> anyhow::Result<()> {
        self.socket
            .send(Frame::binary(message.encode_v1()))
            .await
            .context("sending")
    }
}

/// The y-protocols message in a frame; `None` for frames that carry none (pings, pongs).
pub(crate) fn decode(
    frame: Option<Result<Frame, tokio_tungstenite::tungstenite::Error>>,
) -> anyhow::Result<Option<Message>> {
    match frame.context("the server closed the connection")?? {
        Frame::Binary(bytes) => Ok(Some(
            Message::decode_v1(&bytes).context("decoding a message")?,
        )),
        Frame::Close(close) => bail!("the server closed the socket: {close:?}"),
        _ => Ok(None),
    }
}
