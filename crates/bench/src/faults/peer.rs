//! A y-protocols client that outlives its hub, as a browser tab does: one yrs document for its
//! whole life, a socket to one of two hub replicas, and on losing it a new socket to the other
//! replica, where the sync handshake sends the hub whatever the tab typed meanwhile.
//!
//! What the campaign types are tokens `<name.n>` appended at the end of the text, one insert
//! each, so no insert ever lands inside another's token and a token is in a text exactly when
//! its edit is ([`tokens`]).

use crate::hub::editor::decode;
use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashSet;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, ReadTxn, Text, TextRef, Transact, Update};

/// A hub that takes longer to accept a socket counts as unreachable for this attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a handled message did.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// The hub's answer to our state vector: we have what it had.
    Synced,
    /// An update from someone else.
    Update,
    /// Nothing that changed the text (the hub's own state vector, awareness, a ping).
    Other,
}

pub struct Peer {
    /// The document socket's URL on each replica (token included).
    urls: [String; 2],
    /// The replica the current or next socket goes to.
    replica: usize,
    doc: Doc,
    text: TextRef,
    socket: Option<Socket>,
}

impl Peer {
    /// A peer that starts on replica `replica` and moves to the other when it loses it.
    pub fn new(urls: [String; 2], replica: usize) -> Self {
        let doc = Doc::new();
        Self {
            urls,
            replica,
            text: doc.get_or_insert_text("content"),
            doc,
            socket: None,
        }
    }

    /// A peer that only ever connects to `url`.
    pub fn pinned(url: String) -> Self {
        Self::new([url.clone(), url], 0)
    }

    pub fn is_connected(&self) -> bool {
        self.socket.is_some()
    }

    /// Opens a socket to the current replica and sends our state vector; on failure the next
    /// attempt goes to the other replica.
    pub async fn connect(&mut self) -> anyhow::Result<()> {
        let url = &self.urls[self.replica];
        let opened = tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(url))
            .await
            .context("connect timed out")
            .and_then(|opened| opened.context("connect failed"));
        match opened {
            Ok((socket, _)) => {
                self.socket = Some(socket);
                let state = self.doc.transact().state_vector();
                self.send(Message::Sync(SyncMessage::SyncStep1(state)))
                    .await
            }
            Err(error) => {
                self.lose_socket();
                Err(error)
            }
        }
    }

    /// Handles the next message; waits for ever while disconnected. An error means the socket
    /// is gone (closed by the hub, reset, or a message we cannot read).
    pub async fn next(&mut self) -> anyhow::Result<Received> {
        let Some(socket) = self.socket.as_mut() else {
            return std::future::pending().await;
        };
        let frame = socket.next().await;
        let handled = match decode(frame) {
            Ok(Some(message)) => self.handle(message).await,
            Ok(None) => Ok(Received::Other),
            Err(error) => Err(error),
        };
        if handled.is_err() {
            self.lose_socket();
        }
        handled
    }

    async fn handle(&mut self, message: Message) -> anyhow::Result<Received> {
        match message {
            Message::Sync(SyncMessage::SyncStep1(state)) => {
                let missing = self.doc.transact().encode_state_as_update_v1(&state);
                self.send(Message::Sync(SyncMessage::SyncStep2(missing)))
                    .await?;
                Ok(Received::Other)
            }
            Message::Sync(SyncMessage::SyncStep2(update)) => {
                self.apply(&update)?;
                Ok(Received::Synced)
            }
            Message::Sync(SyncMessage::Update(update)) => {
                self.apply(&update)?;
                Ok(Received::Update)
            }
            Message::Auth(Some(reason)) => anyhow::bail!("permission denied: {reason}"),
            _ => Ok(Received::Other),
        }
    }

    fn apply(&mut self, update: &[u8]) -> anyhow::Result<()> {
        let update = Update::decode_v1(update).context("decoding an update")?;
        self.doc
            .transact_mut()
            .apply_update(update)
            .context("applying an update")
    }

    /// Appends `token` to the text and sends the update if connected; offline, the next
    /// handshake carries it.
    pub async fn type_at_end(&mut self, token: &str) {
        let update = {
            let mut txn = self.doc.transact_mut();
            let end = self.text.len(&txn);
            self.text.insert(&mut txn, end, token);
            txn.encode_update_v1()
        };
        if self.socket.is_some() {
            // A failed send loses the socket; the handshake on the next one resends the edit.
            let _ = self.send(Message::Sync(SyncMessage::Update(update))).await;
        }
    }

    pub fn text(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }

    async fn send(&mut self, message: Message) -> anyhow::Result<()> {
        let socket = self.socket.as_mut().context("not connected")?;
        let sent = socket.send(Frame::binary(message.encode_v1())).await;
        if sent.is_err() {
            self.lose_socket();
        }
        sent.context("sending")
    }

    fn lose_socket(&mut self) {
        self.socket = None;
        self.replica = 1 - self.replica;
    }

    /// Closes the socket politely, if there is one.
    pub async fn close(&mut self) {
        if let Some(mut socket) = self.socket.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
        }
    }
}

/// Connects to `url`, completes the handshake and returns the text: what a late joiner sees.
pub async fn late_join(url: String, limit: Duration) -> anyhow::Result<String> {
    let mut peer = Peer::pinned(url);
    let joined = tokio::time::timeout(limit, async {
        peer.connect().await?;
        while peer.next().await? != Received::Synced {}
        anyhow::Ok(peer.text())
    })
    .await
    .context("no sync step 2 in time");
    peer.close().await;
    joined?
}

/// Every token `<…>` in `text`.
pub fn tokens(text: &str) -> HashSet<&str> {
    let mut found = HashSet::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let Some(length) = rest[start..].find('>') else {
            break;
        };
        found.insert(&rest[start..=start + length]);
        rest = &rest[start + length + 1..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_whole_and_only_whole() {
        let found = tokens("<w0.1><w1.1>x<w0.12><w0.2");
        let expected: HashSet<&str> = ["<w0.1>", "<w1.1>", "<w0.12>"].into();
        assert_eq!(found, expected);
    }

    /// Everything `from` has that `to` lacks, applied to `to`: a sync step 2.
    fn sync(from: &Peer, to: &Peer) {
        let missing = from
            .doc
            .transact()
            .encode_state_as_update_v1(&to.doc.transact().state_vector());
        to.doc
            .transact_mut()
            .apply_update(Update::decode_v1(&missing).unwrap())
            .unwrap();
    }

    #[tokio::test]
    async fn concurrent_appends_keep_every_token_whole() {
        let (mut a, mut b) = (Peer::pinned("ws://a".into()), Peer::pinned("ws://b".into()));
        for n in 1..=3 {
            // Offline, both type at what each thinks is the end, then they sync.
            a.type_at_end(&format!("<a.{n}>")).await;
            b.type_at_end(&format!("<b.{n}>")).await;
            a.type_at_end(&format!("<a.{n}x>")).await;
            sync(&a, &b);
            sync(&b, &a);
        }
        assert_eq!(a.text(), b.text());
        let text = a.text();
        assert_eq!(tokens(&text).len(), 9, "{text}");
        assert_eq!(
            text.len(),
            tokens(&text).iter().map(|t| t.len()).sum::<usize>()
        );
    }
}
