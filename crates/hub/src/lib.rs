//! The hub: multi-file projects edited together live over the Yjs protocol.
//!
//! Teachers upload a template archive per course; a participant's project is created from it
//! on first open. Each file is a Yjs document whose shared text is the `Y.Text` named
//! `content`, edited over one WebSocket per document that speaks y-protocols (sync step 1/2,
//! update, awareness, query awareness; one message per binary frame), so the y-websocket
//! provider, pycrdt-websocket and editor bindings work unchanged.
//!
//! # Replicas and durability
//!
//! Every change a socket sends is applied in memory, appended to the document's log in Redis
//! (`{p}hub:doc:{file}`, see [`live::log`]) and only then forwarded to the other sockets:
//! an acknowledged edit is one in the log. Every hub follows the logs of the documents it has
//! open ([`live::follower`]), so any number of replicas serve the same document. A background
//! sync writes changed documents to Postgres once they have been quiet for `sync_quiet_ms`
//! (at the latest `sync_max_delay_ms` after the first change) and trims log entries Postgres
//! covers once they are `trim_after_ms` old. A document nobody has open on a hub for
//! `unload_after_ms` leaves its memory, and its log leaves Redis once Postgres covers it.
//! Opening a document reads Postgres, then the log after what Postgres covers.
//!
//! # Access
//!
//! The token is the api's JWT, in the `token` query parameter (what Yjs providers' `params`
//! produce) or an `Authorization: Bearer` header. The owner of a project writes; the owner
//! grants others `read` or `write`; the course's teachers read every project of the course.
//! A read-only socket receives everything; its sync step 2 and update messages are dropped and
//! answered with the y-protocols auth message "permission denied" and a reason.
//!
//! # Close codes (see [`close::Close`])
//!
//! | code | when |
//! |---|---|
//! | 1001 | the hub is stopping; reconnect to any replica |
//! | 1002 | a frame breaks the WebSocket protocol |
//! | 1003 | a text frame (y-protocols is binary) |
//! | 1009 | a message over `max_message_bytes` |
//! | 1011 | Redis or Postgres failed; reconnect later |
//! | 4000 | not a y-protocols message, a malformed update, an unknown message type |
//! | 4001 | no token |
//! | 4002 | invalid token (or its session signed out) |
//! | 4003 | token expired (at connect or while open) |
//! | 4004 | nothing received for `idle_timeout_ms` (pongs count) |
//! | 4005 | no access to the project |
//! | 4006 | no such project or file, or the file was deleted |
//! | 4008 | the socket's send queue (`send_buffer_messages`) filled |
//! | 4009 | over `max_connections_per_user` sockets on this hub |
//!
//! One socket is one document, so the documents-per-connection limit is one by construction.
//!
//! # HTTP (errors in the shared envelope of [`http_edge::error`]; OpenAPI at `/hub/openapi.json`)
//!
//! `PUT|GET /hub/courses/{course}/template`, `POST /hub/courses/{course}/project`,
//! `GET /hub/projects`, `GET /hub/projects/{project}`, `POST /hub/projects/{project}/files`,
//! `GET|PATCH|DELETE /hub/projects/{project}/files/{file}`,
//! `PUT|DELETE /hub/projects/{project}/members/{user}`; `/healthz`, `/readyz`, `/metrics`
//! (`hub_open_documents`, `hub_connections`, `hub_updates_total{source}`,
//! `hub_fanout_latency_seconds{source}`, `hub_sync_lag_seconds`, `hub_storage_errors_total`,
//! `hub_sockets_closed_total{reason}`).

pub mod close;
pub mod error;
pub mod live;
pub mod metrics;
pub mod routes;
pub mod session;
pub mod settings;
pub mod state;
pub mod store;
pub mod ydoc;

use crate::error::HubError;
use crate::live::follower::Follower;
use crate::live::log::DocumentLog;
use crate::live::registry::{Registry, Timings};
use crate::metrics::Metrics;
use crate::settings::Settings;
use crate::state::{AppState, WorkerRedis};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use contracts::Keys;
use http_edge::{Edge, Readiness, Running};
use secrecy::ExposeSecret;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tokens::{TokenKeys, Verifier};
use tokio_util::sync::CancellationToken;

/// How long stopping waits for sockets to finish their close handshake.
const SHUTDOWN_TIMEOUT_SECONDS: u64 = 5;
/// How often the background sync looks for due documents.
const SYNC_TICK: Duration = Duration::from_millis(200);

/// Connects the pools, starts the log follower and the sync, and the HTTP server on
/// `listener`. Cancelling the returned service's shutdown token closes every socket with
/// 1001, writes changed documents to Postgres and stops the server.
pub async fn run(settings: Settings, listener: TcpListener) -> Result<Running, HubError> {
    let startup = |e: &dyn std::fmt::Display| HubError::Startup(e.to_string());
    let port = listener.local_addr().map_err(|e| startup(&e))?.port();
    let redis = contracts::redis_pool(settings.redis_url.expose_secret(), settings.redis_pool_size)
        .map_err(|e| startup(&e))?;
    let db = db::pool(
        settings.database_url.expose_secret(),
        settings.database_pool_size,
    )
    .map_err(|e| startup(&e))?;
    let series = http_edge::Metrics::new("hub");
    let metrics = Metrics::new(&series);
    let instance: Arc<str> = uuid::Uuid::new_v4().simple().to_string().into();
    let log = DocumentLog::new(
        redis.clone(),
        Keys::new(settings.key_prefix.clone()),
        instance,
    );
    let registry = Arc::new(Registry::new(
        log,
        db.clone(),
        metrics.clone(),
        Timings {
            sync_quiet: Duration::from_millis(settings.sync_quiet_ms),
            sync_max_delay: Duration::from_millis(settings.sync_max_delay_ms),
            trim_after_ms: settings.trim_after_ms,
            unload_after: Duration::from_millis(settings.unload_after_ms),
        },
    ));
    let shutdown = CancellationToken::new();
    let follower = tokio::spawn(
        Follower {
            registry: registry.clone(),
            pool: redis.clone(),
            metrics: metrics.clone(),
        }
        .run(shutdown.clone()),
    );
    let sync = tokio::spawn(sync_in_background(registry.clone(), shutdown.clone()));

    // Only verifies: the lifetime applies to tokens this side never issues.
    let tokens = Verifier::new(
        TokenKeys::new(&settings.jwt_secret, chrono::Duration::zero()),
        redis.clone(),
        Keys::new(settings.key_prefix.clone()),
    );
    let edge = web::Data::new(
        Edge::new(
            series,
            Readiness::new()
                .with_postgres(db.clone())
                .with_redis(redis.clone()),
        )
        .with_tokens(tokens.clone()),
    );
    let state = web::Data::new(AppState {
        registry,
        db,
        redis,
        tokens,
        metrics,
        shutdown: shutdown.clone(),
        archive_limits: settings.archive_limits(),
        idle_timeout: settings.idle_timeout(),
        heartbeat_interval: settings.heartbeat_interval(),
        max_message_bytes: settings.max_message_bytes,
        send_buffer_messages: settings.send_buffer_messages,
        max_connections_per_user: settings.max_connections_per_user,
        sockets_per_user: Default::default(),
    });
    let client =
        redis::Client::open(settings.redis_url.expose_secret()).map_err(|e| startup(&e))?;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(edge.clone())
            .app_data(web::Data::new(WorkerRedis::new(client.clone())))
            .wrap(from_fn(http_edge::request::middleware))
            .configure(|cfg| http_edge::configure(cfg, routes::MAX_JSON_BYTES))
            .configure(routes::configure)
    })
    // A keystroke is a frame of a few dozen bytes: it must not wait for Nagle's algorithm.
    .tcp_nodelay(true)
    .listen(listener)
    .map_err(|e| startup(&e))?
    // Stopping is driven by `shutdown`, so sockets get their 1001 before the server stops.
    .disable_signals()
    .shutdown_timeout(SHUTDOWN_TIMEOUT_SECONDS)
    .run();
    Ok(Running::new(server, port, shutdown, vec![follower, sync]))
}

/// Writes due documents and unloads idle ones until shutdown, then writes everything changed.
async fn sync_in_background(registry: Arc<Registry>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(SYNC_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        registry.sync_due(false).await;
        registry.unload_idle().await;
    }
    registry.sync_due(true).await;
}
