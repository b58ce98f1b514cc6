//! One browser socket, from upgrade to close.
//!
//! 1. Wait (at most `auth_timeout`) for `{"type":"auth","token":…,"last_event_id":…}` and
//!    verify the token locally.
//! 2. Subscribe to the user's live events, answer `ready`, then replay what the client missed
//!    after `last_event_id` (or send `resync`), and skip live events the replay covered.
//! 3. Relay events, send `ping` every `heartbeat_interval`, answer pings, and close when the
//!    client is idle, too slow, misbehaves, its token expires or the relay stops.
//!
//! Every send is guarded: a socket whose writes stall is closed as too slow rather than left
//! waiting, and nothing here can hold up another socket.

use crate::close::Close;
use crate::protocol::{ClientMessage, ServerMessage};
use crate::resume::{self, Resume};
use crate::state::AppState;
use actix_web::web::Bytes;
use actix_ws::{AggregatedMessage, AggregatedMessageStream, Closed, ProtocolError};
use bytestring::ByteString;
use contracts::EntryId;
use contracts::UserId;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokens::Claims;
use tokio::time::{sleep_until, timeout, Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How long the close frame may take to get into a congested socket before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// Serves one upgraded socket until it closes.
pub async fn run(
    state: Arc<AppState>,
    session: actix_ws::Session,
    messages: AggregatedMessageStream,
) {
    let span = tracing::info_span!("socket", user_id = tracing::field::Empty);
    async move {
        let _open = OpenSocket::count(&state);
        let idle_deadline = Instant::now() + state.sessions.idle_timeout;
        let mut socket = Socket {
            state,
            session,
            messages,
            slow: CancellationToken::new(),
            idle_deadline,
        };
        let close = match socket.serve().await {
            Ok(never) => match never {},
            Err(close) => close,
        };
        socket.finish(close).await;
    }
    .instrument(span)
    .await
}

/// Keeps `relay_open_sockets` right however the session ends.
struct OpenSocket(Arc<AppState>);

impl OpenSocket {
    fn count(state: &Arc<AppState>) -> Self {
        state.metrics.open_sockets.inc();
        Self(state.clone())
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.metrics.open_sockets.dec();
    }
}

/// A frame from the client that does not end the session.
enum Inbound {
    Message(ClientMessage),
    Ping(Bytes),
    Pong,
}

/// What woke the relay loop.
enum Step {
    Inbound(Option<Result<AggregatedMessage, ProtocolError>>),
    Event(Option<Arc<crate::event::RelayedEvent>>),
    Heartbeat,
}

struct Socket {
    state: Arc<AppState>,
    session: actix_ws::Session,
    messages: AggregatedMessageStream,
    /// Cancelled by the fan-out when this socket falls too far behind (never, before `auth`).
    slow: CancellationToken,
    /// Moved forward by every frame from the client.
    idle_deadline: Instant,
}

impl Socket {
    async fn serve(&mut self) -> Result<Infallible, Close> {
        let (claims, last_event_id) = self.authenticate().await?;
        let user = claims.sub;
        tracing::Span::current().record("user_id", user.0);
        let mut subscription = self
            .state
            .fanout
            .subscribe(user)
            .map_err(|e| Close::TooManyConnections { limit: e.limit })?;
        self.slow = subscription.slow_signal();
        self.send(ServerMessage::Ready { user_id: user }.frame())
            .await?;
        let covered = match last_event_id {
            Some(after) => self.replay(user, after).await?,
            None => None,
        };
        self.relay(&mut subscription, covered, claims.exp).await
    }

    /// Waits for the `auth` message and verifies its token.
    async fn authenticate(&mut self) -> Result<(Claims, Option<EntryId>), Close> {
        let wait = self.state.sessions.auth_timeout;
        let deadline = Instant::now() + wait;
        loop {
            let item = tokio::select! {
                item = self.messages.recv() => item,
                () = sleep_until(deadline) => {
                    return Err(Close::AuthRequired(format!("no auth message within {wait:?}")));
                }
                () = self.state.shutdown.cancelled() => return Err(Close::ShuttingDown),
            };
            match self.inbound(item)? {
                Inbound::Message(ClientMessage::Auth {
                    token,
                    last_event_id,
                }) => {
                    let claims = self.state.tokens.verify(&token).await?;
                    return Ok((claims, last_event_id));
                }
                Inbound::Message(_) => {
                    return Err(Close::AuthRequired(
                        r#"the first message must be {"type":"auth",…}"#.into(),
                    ));
                }
                Inbound::Ping(bytes) => self.pong(bytes).await?,
                Inbound::Pong => {}
            }
        }
    }

    /// Sends the user's events after `after`, or `resync`; returns the last entry covered.
    async fn replay(&mut self, user: UserId, after: EntryId) -> Result<Option<EntryId>, Close> {
        let state = self.state.clone();
        let found = resume::missed_events(
            &state.streams,
            &state.keys.results(),
            user,
            after,
            state.sessions.resume,
        )
        .await;
        let resume = match found {
            Ok(resume) => resume,
            Err(error) => {
                tracing::warn!(%error, "cannot read missed events");
                return Err(Close::TryAgainLater);
            }
        };
        match resume {
            Resume::Replay { events, covered } => {
                let replayed = state
                    .metrics
                    .events_delivered
                    .with_label_values(&["resume"]);
                for event in events {
                    self.send(event.frame.clone()).await?;
                    replayed.inc();
                }
                Ok(Some(covered))
            }
            Resume::Resync(reason) => {
                state
                    .metrics
                    .resyncs
                    .with_label_values(&[reason.label()])
                    .inc();
                self.send(
                    ServerMessage::Resync {
                        reason: reason.as_str(),
                    }
                    .frame(),
                )
                .await?;
                Ok(None)
            }
        }
    }

    /// Relays live events and keeps the heartbeat until something closes the socket.
    async fn relay(
        &mut self,
        subscription: &mut crate::fanout::Subscription,
        mut covered: Option<EntryId>,
        expires_at: i64,
    ) -> Result<Infallible, Close> {
        let state = self.state.clone();
        let period = state.sessions.heartbeat_interval;
        let mut heartbeat = tokio::time::interval_at(Instant::now() + period, period);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let token_left = expires_at - chrono::Utc::now().timestamp();
        let expiry = Instant::now() + Duration::from_secs(token_left.max(0) as u64);
        let delivered = state.metrics.events_delivered.with_label_values(&["live"]);
        loop {
            let step = tokio::select! {
                () = state.shutdown.cancelled() => return Err(Close::ShuttingDown),
                () = self.slow.cancelled() => return Err(Close::TooSlow),
                item = self.messages.recv() => Step::Inbound(item),
                event = subscription.recv() => Step::Event(event),
                _ = heartbeat.tick() => Step::Heartbeat,
                () = sleep_until(self.idle_deadline) => {
                    return Err(Close::Idle { after: state.sessions.idle_timeout });
                }
                () = sleep_until(expiry) => return Err(Close::TokenExpired),
            };
            match step {
                Step::Inbound(item) => match self.inbound(item)? {
                    Inbound::Message(ClientMessage::Auth { .. }) => {
                        return Err(Close::BadMessage("already authenticated".into()));
                    }
                    Inbound::Message(ClientMessage::Ping) => {
                        self.send(ServerMessage::Pong.frame()).await?;
                    }
                    Inbound::Message(ClientMessage::Pong) | Inbound::Pong => {}
                    Inbound::Ping(bytes) => self.pong(bytes).await?,
                },
                // The fan-out drops its end only when the socket is too slow (or at exit).
                Step::Event(None) => return Err(Close::TooSlow),
                Step::Event(Some(event)) => {
                    if subscription.is_slow() {
                        return Err(Close::TooSlow);
                    }
                    if covered.is_some_and(|last| event.id <= last) {
                        continue;
                    }
                    // Live ids only grow: once past the replay, no later event can be covered.
                    covered = None;
                    self.send(event.frame.clone()).await?;
                    delivered.inc();
                    state.metrics.delivery_latency.observe(event.age_seconds());
                }
                Step::Heartbeat => self.send(ServerMessage::Ping.frame()).await?,
            }
        }
    }

    /// Turns one read from the socket into a message, or the reason to close.
    fn inbound(
        &mut self,
        item: Option<Result<AggregatedMessage, ProtocolError>>,
    ) -> Result<Inbound, Close> {
        self.idle_deadline = Instant::now() + self.state.sessions.idle_timeout;
        let limit = self.state.sessions.max_frame_bytes;
        match item {
            None => Err(Close::Gone),
            Some(Ok(AggregatedMessage::Text(text))) => ClientMessage::parse(&text)
                .map(Inbound::Message)
                .map_err(Close::BadMessage),
            Some(Ok(AggregatedMessage::Binary(_))) => Err(Close::Binary),
            Some(Ok(AggregatedMessage::Ping(bytes))) => Ok(Inbound::Ping(bytes)),
            Some(Ok(AggregatedMessage::Pong(_))) => Ok(Inbound::Pong),
            Some(Ok(AggregatedMessage::Close(reason))) => {
                Err(Close::ByClient(reason.map(|r| u16::from(r.code))))
            }
            Some(Err(ProtocolError::Overflow)) => Err(Close::TooBig { limit }),
            Some(Err(ProtocolError::Io(e))) if e.kind() == std::io::ErrorKind::InvalidData => {
                Err(Close::NotUtf8)
            }
            // actix-ws reports an oversized fragmented message as an I/O error with this text.
            Some(Err(ProtocolError::Io(e))) if e.to_string().contains("continuation size") => {
                Err(Close::TooBig { limit })
            }
            Some(Err(ProtocolError::Io(_))) => Err(Close::Gone),
            Some(Err(e)) => Err(Close::Protocol(e.to_string())),
        }
    }

    async fn send(&mut self, frame: ByteString) -> Result<(), Close> {
        let stalled = Instant::now() + self.state.sessions.idle_timeout;
        guarded(
            self.session.text(frame),
            &self.slow,
            &self.state.shutdown,
            stalled,
        )
        .await
    }

    async fn pong(&mut self, bytes: Bytes) -> Result<(), Close> {
        let stalled = Instant::now() + self.state.sessions.idle_timeout;
        guarded(
            self.session.pong(&bytes),
            &self.slow,
            &self.state.shutdown,
            stalled,
        )
        .await
    }

    /// Counts the close, logs it and sends the close frame if the peer can still take it.
    async fn finish(self, close: Close) {
        let metrics = &self.state.metrics;
        metrics
            .sockets_closed
            .with_label_values(&[close.label()])
            .inc();
        if close == Close::TooSlow {
            metrics.slow_consumers_closed.inc();
        }
        match &close {
            Close::ByClient(_) | Close::Gone | Close::ShuttingDown => {
                tracing::debug!(code = close.code(), reason = close.label(), "socket closed")
            }
            _ => tracing::info!(
                code = close.code(),
                reason = %close.reason(),
                "closing socket"
            ),
        }
        if close.can_send() {
            // A stalled peer may never make room for the close frame; do not wait for ever.
            let _ = timeout(CLOSE_GRACE, self.session.close(Some(close.frame()))).await;
        }
    }
}

/// Runs one write to the socket unless the socket is dropped as slow, the relay stops, or the
/// write is still stuck at `stalled` (a peer that reads nothing for the idle timeout is too
/// slow, whatever it sends).
async fn guarded(
    write: impl Future<Output = Result<(), Closed>>,
    slow: &CancellationToken,
    shutdown: &CancellationToken,
    deadline: Instant,
) -> Result<(), Close> {
    tokio::select! {
        written = write => written.map_err(|_| Close::Gone),
        () = slow.cancelled() => Err(Close::TooSlow),
        () = shutdown.cancelled() => Err(Close::ShuttingDown),
        () = sleep_until(deadline) => Err(Close::TooSlow),
    }
}
