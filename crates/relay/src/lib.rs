//! The relay: pushes each student's grading events (*queued → grading → verdict*) to their
//! browsers over one WebSocket, the moment the grader publishes them on the `results` stream.
//!
//! One reader per process follows the whole stream ([`reader`]) and fans each event out in
//! memory to the open sockets of its user ([`fanout`]); sockets hold no Redis connection. Every
//! replica reads every event, so a browser may connect to any of them. A reconnecting browser
//! names the last event it saw and is sent what it missed from the stream's history
//! ([`resume`]), or told to refetch when that history is gone.
//!
//! # Protocol (`GET /ws`, JSON text frames, see [`protocol`])
//!
//! The token never goes in the URL (it would end up in access logs). Within `auth_timeout_ms`
//! the client sends `{"type":"auth","token":"<jwt>","last_event_id":"<entry id>"|null}`; the
//! relay answers `{"type":"ready","user_id":7}`, then sends
//! `{"type":"event","id":"<results entry id>","event":<contracts::ResultEvent>}` for each event
//! of that user, in stream order (deduplicate on `id`; hand the last one back as
//! `last_event_id` when reconnecting). If the missed events cannot be replayed it sends
//! `{"type":"resync","reason":"history trimmed"}` (or `"unknown event id"`, `"too far
//! behind"` past `resume_max_entries` or `resume_max_bytes`, `"history too slow to read"` past
//! `resume_max_ms`): fetch `GET /api/assignments/{id}/submissions` from the api, live events
//! follow.
//! Every `heartbeat_interval_ms` it sends `{"type":"ping"}`; answer `{"type":"pong"}`. Any
//! client frame counts as a sign of life; `{"type":"ping"}` from the client gets a `pong`, and
//! WebSocket pings are answered too.
//!
//! # Close codes (see [`close::Close`])
//!
//! | code | reason | when |
//! |---|---|---|
//! | 1000 | (echoed) | the client closed |
//! | 1001 | server shutting down; reconnect | the relay is stopping |
//! | 1002 | protocol error: … | a frame breaks the WebSocket protocol |
//! | 1003 | binary frames are not supported | a binary frame |
//! | 1007 | text frame is not valid UTF-8 | |
//! | 1009 | message too big (limit N bytes) | a message over `max_frame_bytes` |
//! | 1013 | missed events unavailable; reconnect later | Redis failed during a resume or a token check |
//! | 4000 | bad message: … | not JSON, unknown `type`, bad field, a second `auth` |
//! | 4001 | authentication required: … | no `auth` in time, or another message first |
//! | 4002 | invalid token | bad signature, algorithm or claims, garbage, its session signed out |
//! | 4003 | token expired | at `auth`, or when it expires on an open socket |
//! | 4004 | no message from the client for … | nothing received for `idle_timeout_ms` |
//! | 4008 | too slow: the send buffer is full | the socket's queue (`send_buffer_messages` or `send_buffer_bytes`) filled and the socket then took less than a queue's worth within `send_buffer_grace_ms`, or a write stalled for `idle_timeout_ms` |
//! | 4009 | too many connections for this user | over `max_connections_per_user` on this relay |
//!
//! Clients should reconnect with backoff after any code but 4001–4003 (get a new token
//! first) and 4000/1003/1007/1009 (a client bug).
//!
//! # Endpoints
//!
//! `/healthz` (alive), `/readyz` (Redis answers and the reader is reading), `/metrics`
//! (`relay_open_sockets`, `relay_connected_users`, `relay_events_read_total`,
//! `relay_events_delivered_total{path}`, `relay_delivery_latency_seconds` from the grader's
//! stamp to the send, `relay_slow_consumers_closed_total`, `relay_sockets_closed_total{reason}`,
//! `relay_resyncs_total{reason}`, `relay_events_skipped_total{reason}`,
//! `relay_reader_errors_total`).
//!
//! [`run`] takes a bound listener, so tests start the real relay on port 0.

pub mod close;
pub mod error;
pub mod event;
pub mod fanout;
pub mod metrics;
pub mod protocol;
pub mod reader;
pub mod resume;
pub mod routes;
pub mod session;
pub mod settings;
pub mod state;

use crate::error::RelayError;
use crate::fanout::{Fanout, Limits};
use crate::metrics::Metrics;
use crate::reader::{Reader, ReaderHealth};
use crate::settings::Settings;
use crate::state::{AppState, SessionConfig};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use contracts::{Keys, Streams};
use http_edge::{Edge, Readiness, Running};
use secrecy::ExposeSecret;
use std::any::Any;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tokens::{TokenKeys, Verifier};
use tokio_util::sync::CancellationToken;

/// How long stopping waits for sockets to finish their close handshake.
const SHUTDOWN_TIMEOUT_SECONDS: u64 = 5;

/// Connects to Redis, starts the stream reader and the HTTP server on `listener`. Cancelling
/// the returned service's shutdown token closes every socket with 1001, stops the reader and
/// the server.
pub async fn run(settings: Settings, listener: TcpListener) -> Result<Running, RelayError> {
    let port = listener
        .local_addr()
        .map_err(|e| RelayError::Startup(e.to_string()))?
        .port();
    let pool = contracts::redis_pool(settings.redis_url.expose_secret(), settings.redis_pool_size)
        .map_err(|e| RelayError::Startup(e.to_string()))?;
    // The relay only reads, so the streams' length cap never applies.
    let streams = Streams::new(pool, usize::MAX);
    let keys = Keys::new(settings.key_prefix.clone());
    let series = http_edge::Metrics::new("relay");
    let metrics = Metrics::new(&series);
    let fanout = Arc::new(Fanout::new(
        Limits {
            queue: settings.queue_limits(),
            per_user: settings.max_connections_per_user,
        },
        metrics.clone(),
    ));
    let health = Arc::new(ReaderHealth::default());
    let shutdown = CancellationToken::new();

    let reader = tokio::spawn(
        Reader {
            streams: streams.clone(),
            stream: keys.results(),
            fanout: fanout.clone(),
            metrics: metrics.clone(),
            health: health.clone(),
        }
        .run(shutdown.clone()),
    );

    // Only verifies: the lifetime applies to tokens this side never issues.
    let tokens = Verifier::new(
        TokenKeys::new(&settings.jwt_secret, chrono::Duration::zero()),
        streams.pool().clone(),
        keys.clone(),
    );
    let reading = health.clone();
    let edge = web::Data::new(Edge::new(
        series,
        Readiness::new()
            .with_redis(streams.pool().clone())
            .with("reader", move || {
                let alive = reading.is_alive(reader::BLOCK * 3);
                async move {
                    alive
                        .then_some(())
                        .ok_or_else(|| "not reading the results stream".to_owned())
                }
            }),
    ));
    let state = web::Data::new(AppState {
        fanout,
        streams,
        keys,
        tokens,
        metrics,
        reader: health,
        shutdown: shutdown.clone(),
        sessions: SessionConfig {
            auth_timeout: settings.auth_timeout(),
            heartbeat_interval: settings.heartbeat_interval(),
            idle_timeout: settings.idle_timeout(),
            max_frame_bytes: settings.max_frame_bytes,
            resume: settings.resume_limits(),
        },
    });
    let stalled_after = settings.idle_timeout();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(edge.clone())
            .wrap(from_fn(http_edge::request::middleware))
            .configure(|cfg| http_edge::configure(cfg, routes::MAX_BODY_BYTES))
            .configure(routes::configure)
    })
    .on_connect(move |connection, _| abort_when_stalled(connection, stalled_after))
    .listen(listener)
    .map_err(|e| RelayError::Startup(e.to_string()))?
    // Stopping is driven by `shutdown`, so sockets get their 1001 before the server stops.
    .disable_signals()
    .shutdown_timeout(SHUTDOWN_TIMEOUT_SECONDS)
    .run();
    Ok(Running::new(server, port, shutdown, vec![reader]))
}

/// Lets the kernel drop a connection whose peer has taken no data for `after`.
///
/// A socket closed as too slow may still have megabytes queued in the kernel for a peer that
/// never reads; actix keeps such a connection (and its memory) for as long as the peer keeps
/// answering zero-window probes. `TCP_USER_TIMEOUT` bounds unacknowledged and untransmittable
/// data, so those connections end on their own.
fn abort_when_stalled(connection: &dyn Any, after: Duration) {
    if let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
        if let Err(error) = socket2::SockRef::from(stream).set_tcp_user_timeout(Some(after)) {
            tracing::warn!(%error, "cannot set TCP_USER_TIMEOUT");
        }
    }
}
