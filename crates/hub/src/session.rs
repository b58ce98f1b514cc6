//! One document socket, from upgrade to close: authenticate with the token from the URL,
//! check access to the project, join the document, then speak y-protocols — one message per
//! binary frame — until something closes it.

use crate::close::Close;
use crate::live::document::{encode, LiveDocument, Peer, PeerId};
use crate::live::log::Change;
use crate::live::registry::OpenError;
use crate::state::{AppState, Target, WorkerRedis};
use crate::store::{projects, Access};
use actix_web::web::Bytes;
use actix_ws::{AggregatedMessage, AggregatedMessageStream, ProtocolError};
use contracts::UserId;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout, MissedTickBehavior};
use tracing::Instrument;
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;

/// How long the close frame may take to get into a congested socket before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Serves one upgraded socket until it closes.
pub async fn run(
    state: Arc<AppState>,
    redis: Arc<WorkerRedis>,
    session: actix_ws::Session,
    messages: AggregatedMessageStream,
    target: Target,
    token: Option<String>,
) {
    let span = tracing::info_span!(
        "document",
        project = %target.project,
        file = %target.file,
        user_id = tracing::field::Empty
    );
    async move {
        state.metrics.connections.inc();
        let mut socket = Socket {
            idle_deadline: tokio::time::Instant::now() + state.idle_timeout,
            state: state.clone(),
            redis,
            session,
            messages,
            joined: None,
        };
        let close = match socket.serve(target, token).await {
            Ok(never) => match never {},
            Err(close) => close,
        };
        socket.finish(close).await;
        state.metrics.connections.dec();
    }
    .instrument(span)
    .await
}

struct Joined {
    document: Arc<LiveDocument>,
    peer: PeerId,
    access: Access,
    _slot: crate::state::UserSlot,
}

struct Socket {
    state: Arc<AppState>,
    redis: Arc<WorkerRedis>,
    session: actix_ws::Session,
    messages: AggregatedMessageStream,
    joined: Option<Joined>,
    /// Moved forward by every frame from the client.
    idle_deadline: tokio::time::Instant,
}

/// A frame from the client that does not end the session.
enum Inbound {
    Message(Bytes),
    Ping(Bytes),
    Pong,
}

/// What woke the loop.
enum Step {
    Inbound(Option<Result<AggregatedMessage, ProtocolError>>),
    Outbound(Option<Bytes>),
    Control(Option<Close>),
    Heartbeat,
}

impl Socket {
    async fn serve(&mut self, target: Target, token: Option<String>) -> Result<Infallible, Close> {
        let state = self.state.clone();
        let claims = state
            .tokens
            .verify(token.as_deref().ok_or(Close::NoToken)?)
            .await?;
        tracing::Span::current().record("user_id", claims.sub.0);
        let access = self.access(claims.sub, target).await?;
        let slot = state
            .user_slot(claims.sub)
            .ok_or(Close::TooManyConnections(state.max_connections_per_user))?;

        let (outbox, mut outgoing) = mpsc::channel(state.send_buffer_messages);
        let (control, mut controls) = mpsc::unbounded_channel();
        let (document, peer) = state
            .registry
            .join(target.project, target.file, Peer::new(outbox, control))
            .await
            .map_err(|e| match e {
                OpenError::NotFound => Close::NoSuchDocument,
                OpenError::Storage(error) => {
                    tracing::warn!(%error, "cannot open the document");
                    Close::Unavailable
                }
            })?;
        for frame in document.greeting() {
            self.send(frame).await?;
        }
        self.joined = Some(Joined {
            document,
            peer,
            access,
            _slot: slot,
        });

        let period = state.heartbeat_interval;
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let token_left = claims.exp - chrono::Utc::now().timestamp();
        let expiry = tokio::time::Instant::now() + Duration::from_secs(token_left.max(0) as u64);
        loop {
            let step = tokio::select! {
                biased;
                () = state.shutdown.cancelled() => return Err(Close::ShuttingDown),
                close = controls.recv() => Step::Control(close),
                frame = outgoing.recv() => Step::Outbound(frame),
                item = self.messages.recv() => Step::Inbound(item),
                _ = heartbeat.tick() => Step::Heartbeat,
                () = sleep_until(self.idle_deadline) => return Err(Close::Idle),
                () = sleep_until(expiry) => return Err(Close::TokenExpired),
            };
            match step {
                Step::Control(close) => return Err(close.unwrap_or(Close::ShuttingDown)),
                Step::Outbound(Some(frame)) => self.send(frame).await?,
                Step::Outbound(None) => return Err(Close::ShuttingDown),
                Step::Inbound(item) => match self.inbound(item)? {
                    Inbound::Message(message) => self.handle(&message).await?,
                    Inbound::Ping(bytes) => {
                        self.session.pong(&bytes).await.map_err(|_| Close::Gone)?
                    }
                    Inbound::Pong => {}
                },
                Step::Heartbeat => self.session.ping(b"").await.map_err(|_| Close::Gone)?,
            }
        }
    }

    async fn access(&self, user: UserId, target: Target) -> Result<Access, Close> {
        let mut conn = self.state.db.get().await.map_err(|error| {
            tracing::warn!(%error, "no database connection");
            Close::Unavailable
        })?;
        match projects::access(&mut conn, target.project, user).await {
            Ok((_, Some(access))) => Ok(access),
            Ok((_, None)) => Err(Close::NoAccess),
            Err(crate::error::HubError::NotFound(_)) => Err(Close::NoSuchDocument),
            Err(error) => {
                tracing::warn!(%error, "cannot check access");
                Err(Close::Unavailable)
            }
        }
    }

    /// Turns one read from the socket into a y-protocols message, or the reason to close.
    fn inbound(
        &mut self,
        item: Option<Result<AggregatedMessage, ProtocolError>>,
    ) -> Result<Inbound, Close> {
        self.idle_deadline = tokio::time::Instant::now() + self.state.idle_timeout;
        let limit = self.state.max_message_bytes;
        match item {
            None => Err(Close::Gone),
            Some(Ok(AggregatedMessage::Binary(bytes))) => Ok(Inbound::Message(bytes)),
            Some(Ok(AggregatedMessage::Text(_))) => Err(Close::TextFrame),
            Some(Ok(AggregatedMessage::Ping(bytes))) => Ok(Inbound::Ping(bytes)),
            Some(Ok(AggregatedMessage::Pong(_))) => Ok(Inbound::Pong),
            Some(Ok(AggregatedMessage::Close(reason))) => {
                Err(Close::ByClient(reason.map(|r| u16::from(r.code))))
            }
            Some(Err(ProtocolError::Overflow)) => Err(Close::TooBig(limit)),
            // actix-ws reports an oversized fragmented message as an I/O error with this text.
            Some(Err(ProtocolError::Io(e))) if e.to_string().contains("continuation size") => {
                Err(Close::TooBig(limit))
            }
            Some(Err(ProtocolError::Io(_))) => Err(Close::Gone),
            Some(Err(e)) => Err(Close::Protocol(e.to_string())),
        }
    }

    /// Acts on one y-protocols message.
    async fn handle(&mut self, frame: &[u8]) -> Result<(), Close> {
        let received = Instant::now();
        let message = Message::decode_v1(frame)
            .map_err(|e| Close::BadMessage(format!("not a y-protocols message: {e}")))?;
        let joined = self.joined.as_ref().expect("joined before reading");
        let (document, peer, access) = (joined.document.clone(), joined.peer, joined.access);
        match message {
            Message::Sync(SyncMessage::SyncStep1(client_has)) => {
                self.send(document.sync_step2(&client_has)).await
            }
            Message::Sync(SyncMessage::SyncStep2(update) | SyncMessage::Update(update)) => {
                if access == Access::Read {
                    let denied = Message::Auth(Some("read-only access to this project".into()));
                    return self.send(encode(&denied)).await;
                }
                let changed = document
                    .apply_update(&update)
                    .map_err(|e| Close::BadMessage(e.to_string()))?;
                if !changed {
                    return Ok(());
                }
                self.append(&document, Change::Update(update.clone()))
                    .await?;
                document.broadcast(
                    &encode(&Message::Sync(SyncMessage::Update(update))),
                    Some(peer),
                );
                let metrics = &self.state.metrics;
                metrics.updates.with_label_values(&["local"]).inc();
                metrics
                    .fanout_latency
                    .with_label_values(&["local"])
                    .observe(received.elapsed().as_secs_f64());
                Ok(())
            }
            Message::Awareness(update) => {
                let bytes = update.encode_v1();
                document
                    .apply_awareness(update.clone(), Some(peer))
                    .map_err(Close::BadMessage)?;
                self.append(&document, Change::Awareness(bytes)).await?;
                // y-websocket clients expect their own awareness back.
                document.broadcast(&encode(&Message::Awareness(update)), None);
                Ok(())
            }
            Message::AwarenessQuery => match document.awareness_frame() {
                Some(frame) => self.send(frame).await,
                None => Ok(()),
            },
            // Permission messages only flow from server to client.
            Message::Auth(_) => Ok(()),
            Message::Custom(tag, _) => {
                Err(Close::BadMessage(format!("unknown message type {tag}")))
            }
        }
    }

    async fn append(&self, document: &LiveDocument, change: Change) -> Result<(), Close> {
        let appended = async {
            let mut connection = self.redis.connection().await?;
            self.state
                .registry
                .log()
                .append(&mut connection, document.file, &change)
                .await
        };
        appended.await.map(|_| ()).map_err(|error| {
            tracing::warn!(%error, "cannot append to the document log");
            self.state
                .metrics
                .storage_errors
                .with_label_values(&["append"])
                .inc();
            Close::Unavailable
        })
    }

    async fn send(&mut self, frame: Bytes) -> Result<(), Close> {
        let stalled = tokio::time::Instant::now() + self.state.idle_timeout;
        tokio::select! {
            sent = self.session.binary(frame) => sent.map_err(|_| Close::Gone),
            () = sleep_until(stalled) => Err(Close::TooSlow),
        }
    }

    /// Leaves the document (telling the others this socket's presence is gone), counts the
    /// close and sends the close frame if the peer can still take it.
    async fn finish(mut self, close: Close) {
        if let Some(joined) = self.joined.take() {
            if let Some(gone) = joined.document.leave(joined.peer) {
                let bytes = gone.encode_v1();
                joined
                    .document
                    .broadcast(&encode(&Message::Awareness(gone)), None);
                // Best effort: other replicas also drop presence that is not renewed.
                let _ = self
                    .append(&joined.document, Change::Awareness(bytes))
                    .await;
            }
        }
        self.state
            .metrics
            .sockets_closed
            .with_label_values(&[close.label()])
            .inc();
        match &close {
            Close::ByClient(_) | Close::Gone | Close::ShuttingDown => {
                tracing::debug!(code = close.code(), reason = close.label(), "socket closed")
            }
            _ => tracing::info!(code = close.code(), reason = %close.reason(), "closing socket"),
        }
        if close.can_send() {
            let _ = timeout(CLOSE_GRACE, self.session.close(Some(close.frame()))).await;
        }
    }
}
