//! One document socket, from upgrade to close: authenticate with the token from the URL,
//! check access to the project, join the document, then speak y-protocols — one message per
//! binary frame — until something closes it. What the socket sends goes through its
//! [`Outbox`], bounded in bytes; what it receives is bounded by a rate (a [`TokenBucket`]), the
//! document's size cap and the presence bounds.

use crate::close::Close;
use crate::live::document::{encode, LiveDocument, Peer, PeerId};
use crate::live::log::Change;
use crate::live::presence::Presence;
use crate::live::registry::OpenError;
use crate::outbox::{Outbox, Refused};
use crate::project_events::Notice;
use crate::rate::TokenBucket;
use crate::state::{AppState, Target, UserSlot, WorkerRedis};
use crate::store::{projects, Access};
use actix_web::web::Bytes;
use actix_ws::{AggregatedMessage, AggregatedMessageStream, ProtocolError};
use contracts::{EntryId, ProjectChange, ProjectId, UserId};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, MissedTickBehavior};
use tracing::Instrument;
use yrs::sync::{AwarenessUpdate, Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::Update;

/// Serves one upgraded socket until it closes; its frames go out through `outbox`.
pub async fn run(
    state: Arc<AppState>,
    redis: Arc<WorkerRedis>,
    outbox: Outbox,
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
        let budgets = &state.budgets;
        let mut socket = Socket {
            idle_deadline: tokio::time::Instant::now() + state.idle_timeout,
            rate: TokenBucket::new(
                budgets.update_bytes_per_second,
                budgets.update_burst_bytes,
                Instant::now(),
            ),
            state: state.clone(),
            redis,
            outbox,
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
    _slot: UserSlot,
}

struct Socket {
    state: Arc<AppState>,
    redis: Arc<WorkerRedis>,
    outbox: Outbox,
    messages: AggregatedMessageStream,
    joined: Option<Joined>,
    /// Moved forward by every frame from the client.
    idle_deadline: tokio::time::Instant,
    /// What the client may still send now.
    rate: TokenBucket,
}

/// A frame from the client that does not end the session.
pub(crate) enum Inbound {
    Binary(Bytes),
    Text,
    Ping(Bytes),
    Pong,
}

/// What woke the loop.
enum Step {
    Inbound(Option<Result<AggregatedMessage, ProtocolError>>),
    Control(Option<Close>),
    Heartbeat,
    Notice(Result<Notice, RecvError>),
}

impl Socket {
    async fn serve(&mut self, target: Target, token: Option<String>) -> Result<Infallible, Close> {
        let state = self.state.clone();
        let Admitted {
            mut notices,
            claims,
            access,
            slot,
        } = admit(&state, token, target.project).await?;

        let (control, mut controls) = mpsc::unbounded_channel();
        let (document, peer) = state
            .registry
            .join(
                target.project,
                target.file,
                Peer::new(self.outbox.clone(), control),
            )
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

        let mut heartbeat = heartbeat(state.heartbeat_interval);
        let expiry = expiry(claims.exp);
        loop {
            let step = tokio::select! {
                biased;
                () = state.shutdown.cancelled() => return Err(Close::ShuttingDown),
                close = controls.recv() => Step::Control(close),
                // Before the client's messages: an edit read after a revocation is judged by it.
                notice = notices.recv() => Step::Notice(notice),
                item = self.messages.recv() => Step::Inbound(item),
                _ = heartbeat.tick() => Step::Heartbeat,
                () = sleep_until(self.idle_deadline) => return Err(Close::Idle),
                () = sleep_until(expiry) => return Err(Close::TokenExpired),
            };
            match step {
                Step::Control(close) => return Err(close.unwrap_or(Close::ShuttingDown)),
                Step::Inbound(item) => {
                    self.idle_deadline = tokio::time::Instant::now() + state.idle_timeout;
                    match read_frame(item, state.max_message_bytes)? {
                        Inbound::Binary(message) => {
                            self.throttle(message.len())?;
                            self.handle(&message).await?
                        }
                        Inbound::Text => return Err(Close::TextFrame),
                        Inbound::Ping(bytes) => self.outbox.pong(bytes).map_err(too_slow)?,
                        Inbound::Pong => {}
                    }
                }
                Step::Heartbeat => self.outbox.ping().map_err(too_slow)?,
                Step::Notice(notice) => self.notice(notice, claims.sub, target).await?,
            }
        }
    }

    /// Acts on a project event: a change of this user's access to this project takes effect
    /// now (read-only, or closed with 4005 when none is left). When events may have been
    /// missed, access is looked up again; if Postgres cannot say, the socket keeps what it has
    /// rather than close every socket during an outage.
    async fn notice(
        &mut self,
        notice: Result<Notice, RecvError>,
        user: UserId,
        target: Target,
    ) -> Result<(), Close> {
        let access = match notice {
            Ok(Notice::Event(event)) => match event.change {
                ProjectChange::AccessChanged { user_id, access }
                    if user_id == user && event.project_id == target.project =>
                {
                    access
                }
                _ => return Ok(()),
            },
            Ok(Notice::Recheck) | Err(RecvError::Lagged(_)) => {
                match access_of(&self.state, user, target.project).await {
                    Ok(access) => Some(access),
                    Err(Close::NoAccess) => None,
                    Err(close @ Close::NoSuchProject) => return Err(close),
                    Err(_) => return Ok(()),
                }
            }
            Err(RecvError::Closed) => return Err(Close::ShuttingDown),
        };
        let joined = self.joined.as_mut().expect("joined before reading");
        joined.access = access.ok_or(Close::NoAccess)?;
        tracing::info!(access = joined.access.as_str(), "access changed");
        Ok(())
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
                let cap = self.state.budgets.max_document_bytes;
                if let Err(full) = document.reserve(&update, cap) {
                    return self.refuse("document_size", full.to_string()).await;
                }
                let bad = |e: &dyn std::fmt::Display| Close::BadMessage(e.to_string());
                let decoded = Update::decode_v1(&update).map_err(|e| bad(&e))?;
                if decoded.is_empty() || !document.lacks(&decoded) {
                    return Ok(());
                }
                // Logged first: nothing reaches memory, and so no other socket, unless it is in
                // the log. An update whose append fails is not applied, so the client's resend
                // after reconnecting is new again and gets logged then.
                let id = self
                    .append(&document, Change::Update(update.clone()))
                    .await?;
                // `false` only if the follower applied the logged entry first: it is still
                // this socket's to forward.
                document.apply_appended(decoded, id).map_err(|e| bad(&e))?;
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
                let limits = &self.state.budgets.presence;
                let taken = Presence::check_size(frame.len(), limits)
                    .and_then(|()| document.apply_awareness(update, Some(peer), limits));
                match taken {
                    Ok(Some(taken)) => {
                        self.publish_presence(&document, &taken).await;
                        // y-websocket clients expect their own awareness back.
                        document.broadcast(&encode(&Message::Awareness(taken)), None);
                        Ok(())
                    }
                    Ok(None) => Ok(()),
                    Err(refused) => self.refuse(refused.label(), refused.to_string()).await,
                }
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

    async fn append(&self, document: &LiveDocument, change: Change) -> Result<EntryId, Close> {
        let appended = async {
            let mut connection = self.redis.connection().await?;
            self.state
                .registry
                .log()
                .append(&mut connection, document.file, &change)
                .await
        };
        appended.await.map_err(|error| {
            tracing::warn!(%error, "cannot append to the document log");
            self.state
                .metrics
                .storage_errors
                .with_label_values(&["append"])
                .inc();
            Close::Unavailable
        })
    }

    /// Puts the presence update on the document's presence stream for the other replicas.
    /// Presence is not worth closing a socket over: a failure is counted and logged.
    async fn publish_presence(&self, document: &LiveDocument, update: &AwarenessUpdate) {
        let published = async {
            let mut connection = self.redis.connection().await?;
            self.state
                .registry
                .log()
                .publish_presence(
                    &mut connection,
                    document.file,
                    &update.encode_v1(),
                    &self.state.budgets.presence,
                )
                .await
        };
        if let Err(error) = published.await {
            tracing::warn!(%error, "cannot publish presence");
            self.state
                .metrics
                .storage_errors
                .with_label_values(&["presence"])
                .inc();
        }
    }

    /// Takes `bytes` from the socket's rate, or closes it as too fast.
    fn throttle(&mut self, bytes: usize) -> Result<(), Close> {
        if self.rate.take(bytes, Instant::now()) {
            return Ok(());
        }
        let budgets = &self.state.budgets;
        Err(Close::TooFast {
            per_second: budgets.update_bytes_per_second,
            burst: budgets.update_burst_bytes,
        })
    }

    /// Answers a message over `budget` with the y-protocols permission-denied message; nothing
    /// of it was applied, logged or forwarded.
    async fn refuse(&mut self, budget: &str, reason: String) -> Result<(), Close> {
        tracing::info!(budget, %reason, "message refused");
        self.state
            .metrics
            .budget_exceeded
            .with_label_values(&[budget])
            .inc();
        self.send(encode(&Message::Auth(Some(reason)))).await
    }

    async fn send(&mut self, frame: Bytes) -> Result<(), Close> {
        self.outbox.binary(frame).map_err(too_slow)
    }

    /// Leaves the document (telling the others this socket's presence is gone), counts the
    /// close and sends the close frame if the peer can still take it.
    async fn finish(mut self, close: Close) {
        if let Some(joined) = self.joined.take() {
            if let Some(gone) = joined.document.leave(joined.peer) {
                // Best effort: other replicas also drop presence that is not renewed.
                self.publish_presence(&joined.document, &gone).await;
                joined
                    .document
                    .broadcast(&encode(&Message::Awareness(gone)), None);
            }
        }
        end(&self.state, &self.outbox, &close);
    }
}

/// A socket's user, let in to a project.
pub(crate) struct Admitted {
    /// The project events from before access was looked up, so that no later change goes unseen.
    pub notices: tokio::sync::broadcast::Receiver<Notice>,
    pub claims: tokens::Claims,
    pub access: Access,
    pub slot: UserSlot,
}

/// Checks the token and the user's access to `project` and takes one of the user's sockets.
pub(crate) async fn admit(
    state: &AppState,
    token: Option<String>,
    project: ProjectId,
) -> Result<Admitted, Close> {
    let notices = state.events.subscribe();
    let claims = state
        .tokens
        .verify(token.as_deref().ok_or(Close::NoToken)?)
        .await?;
    tracing::Span::current().record("user_id", claims.sub.0);
    let access = access_of(state, claims.sub, project).await?;
    let slot = state
        .user_slot(claims.sub)
        .ok_or(Close::TooManyConnections(state.max_connections_per_user))?;
    Ok(Admitted {
        notices,
        claims,
        access,
        slot,
    })
}

/// Counts `close`, logs it and sends its close frame if the peer can still take it.
pub(crate) fn end(state: &AppState, outbox: &Outbox, close: &Close) {
    state
        .metrics
        .sockets_closed
        .with_label_values(&[close.label()])
        .inc();
    if let Some(budget) = close.budget() {
        state
            .metrics
            .budget_exceeded
            .with_label_values(&[budget])
            .inc();
    }
    match close {
        Close::ByClient(_) | Close::Gone | Close::ShuttingDown => {
            tracing::debug!(code = close.code(), reason = close.label(), "socket closed")
        }
        _ => tracing::info!(code = close.code(), reason = %close.reason(), "closing socket"),
    }
    if close.can_send() {
        outbox.close(close.frame());
    }
}

/// What `user` may do with `project`, or the close that says why not (or that it cannot tell).
pub(crate) async fn access_of(
    state: &AppState,
    user: UserId,
    project: ProjectId,
) -> Result<Access, Close> {
    let mut conn = state.db.get().await.map_err(|error| {
        tracing::warn!(%error, "no database connection");
        Close::Unavailable
    })?;
    match projects::access(&mut conn, project, user).await {
        Ok((_, Some(access))) => Ok(access),
        Ok((_, None)) => Err(Close::NoAccess),
        Err(crate::error::HubError::NotFound(_)) => Err(Close::NoSuchProject),
        Err(error) => {
            tracing::warn!(%error, "cannot check access");
            Err(Close::Unavailable)
        }
    }
}

/// Access looked up again after events may have been missed: `None` when Postgres cannot say,
/// so that the socket keeps what it has rather than every socket closing during an outage.
pub(crate) async fn recheck_access(
    state: &AppState,
    user: UserId,
    project: ProjectId,
) -> Result<Option<Access>, Close> {
    match access_of(state, user, project).await {
        Ok(access) => Ok(Some(access)),
        Err(close @ (Close::NoAccess | Close::NoSuchProject)) => Err(close),
        Err(_) => Ok(None),
    }
}

/// Pings every `period`, the first one `period` from now.
pub(crate) fn heartbeat(period: Duration) -> tokio::time::Interval {
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    heartbeat
}

/// The instant a token's `exp` (seconds) names, to the millisecond, not up to a second later.
pub(crate) fn expiry(exp: i64) -> tokio::time::Instant {
    let left = exp * 1000 - chrono::Utc::now().timestamp_millis();
    tokio::time::Instant::now() + Duration::from_millis(left.max(0) as u64)
}

/// Turns one read from a socket into a frame to act on, or the reason to close.
pub(crate) fn read_frame(
    item: Option<Result<AggregatedMessage, ProtocolError>>,
    limit: usize,
) -> Result<Inbound, Close> {
    match item {
        None => Err(Close::Gone),
        Some(Ok(AggregatedMessage::Binary(bytes))) => Ok(Inbound::Binary(bytes)),
        Some(Ok(AggregatedMessage::Text(_))) => Ok(Inbound::Text),
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

/// A frame the outbox would not take: the client is not reading, or the socket is gone.
pub(crate) fn too_slow(refused: Refused) -> Close {
    match refused {
        Refused::Full => Close::TooSlow,
        Refused::Closed => Close::Gone,
    }
}
