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
//! Every change a socket sends is appended to the document's log in Redis
//! (`{p}hub:doc:{file}`, see [`live::log`]) and only then applied in memory and forwarded to
//! the other sockets: an acknowledged edit is one in the log, and what no log holds reaches
//! nobody. A change whose append fails closes its socket with 1013; the client resends it when
//! it reconnects. Every hub follows the logs of the documents it has open
//! ([`live::follower`]), so any number of replicas serve the same document; a log that lost
//! entries (Redis came back without its data) is seeded again from memory. A background
//! sync writes changed documents to Postgres once they have been quiet for `sync_quiet_ms`
//! (at the latest `sync_max_delay_ms` after the first change) and trims log entries Postgres
//! covers once they are `trim_after_ms` old; a sync Postgres refuses is retried with backoff
//! (`sync_retry_min_ms` doubling up to `sync_retry_max_ms`) while the log keeps every edit. The
//! text is stored as its UTF-8 bytes, so any character a client types (U+0000 too) is kept
//! and read back exactly. A document nobody has open on a hub for `unload_after_ms` leaves its
//! memory, and its log leaves Redis once Postgres covers it. Opening a document reads Postgres,
//! then the log after what Postgres covers.
//!
//! Presence (awareness) is not in the log: it travels between replicas on a short stream per
//! document (`{p}hub:presence:{file}`) that keeps the latest entries and expires, so nothing
//! that replays the log (a late joiner, the sync) sees it ([`live::presence`]).
//!
//! # Budgets
//!
//! What one client can make the hub hold is bounded: a message (`max_message_bytes`, 1009), the
//! frames queued for a socket ([`outbox`]: `send_buffer_messages` and `send_buffer_bytes`,
//! 4008), what a socket may send ([`rate`]: `update_bytes_per_second` with a burst of
//! `update_burst_bytes`, 4010), a document's encoded size (`max_document_bytes`: the update
//! over it gets the permission-denied message and is neither applied nor logged), and presence
//! (`max_awareness_states` per document, `max_awareness_bytes` per message, refused with the
//! permission-denied message; swept after `awareness_timeout_ms` without renewal).
//!
//! # Access
//!
//! The token is the api's JWT, in the `token` query parameter (what Yjs providers' `params`
//! produce) or an `Authorization: Bearer` header. The owner of a project writes; the owner
//! grants others `read` or `write`; the course's teachers read every project of the course.
//! A read-only socket receives everything; its sync step 2 and update messages are dropped and
//! answered with the y-protocols auth message "permission denied" and a reason. Its presence is
//! shown like anyone's. Access changes and file-tree changes are published as
//! [`project_events`]; every replica applies access changes to its open sockets at once
//! (read-only, or closed with 4005) and forwards the events to the pages following the project
//! ([`event_socket`]).
//!
//! # Close codes (see [`close::Close`])
//!
//! | code | when |
//! |---|---|
//! | 1001 | the hub is stopping; reconnect to any replica |
//! | 1002 | a frame breaks the WebSocket protocol |
//! | 1003 | a text frame (y-protocols is binary) |
//! | 1009 | a message over `max_message_bytes` |
//! | 1013 | Redis or Postgres failed (an edit could not be logged, access not checked); reconnect later |
//! | 4000 | not a y-protocols message, a malformed update, an unknown message type |
//! | 4001 | no token |
//! | 4002 | invalid token (or its session signed out) |
//! | 4003 | token expired (at connect, or the moment it expires while open) |
//! | 4004 | nothing received for `idle_timeout_ms` (pongs count) |
//! | 4005 | no access to the project (also when revoked while open) |
//! | 4006 | no such project or file, or the file was deleted |
//! | 4008 | the socket's send queue (`send_buffer_messages` or `send_buffer_bytes`) filled |
//! | 4009 | over `max_connections_per_user` sockets on this hub |
//! | 4010 | the client sent more than `update_bytes_per_second` (burst `update_burst_bytes`) |
//! | 4011 | a class presence socket whose tab reconnected on another socket ([`class`]) |
//!
//! The class presence socket uses the same codes; 4006 there means no such course, or one the
//! user takes no part in.
//!
//! One socket is one document, so the documents-per-connection limit is one by construction.
//!
//! # HTTP (errors in the shared envelope of [`http_edge::error`]; OpenAPI at `/hub/openapi.json`)
//!
//! `PUT|GET /hub/courses/{course}/template`, `POST /hub/courses/{course}/project`,
//! `GET /hub/courses/{course}/presence` (WebSocket, [`class`]),
//! `GET /hub/projects`, `GET /hub/projects/{project}`, `POST /hub/projects/{project}/files`,
//! `GET /hub/projects/{project}/events` (WebSocket, [`event_socket`]),
//! `GET|PATCH|DELETE /hub/projects/{project}/files/{file}`,
//! `PUT|DELETE /hub/projects/{project}/members/{user}`; questions pinned to code
//! ([`routes::threads`], placed by [`anchor`]): `GET|POST /hub/projects/{project}/threads`,
//! `GET|PATCH /hub/threads/{thread}`, `POST /hub/threads/{thread}/comments`,
//! `PATCH|DELETE /hub/comments/{comment}`, `GET /hub/inbox`; `/healthz`, `/readyz`, `/metrics`
//! (`hub_open_documents`, `hub_connections`, `hub_updates_total{source}`,
//! `hub_fanout_latency_seconds{source}`, `hub_sync_lag_seconds`, `hub_storage_errors_total`,
//! `hub_sockets_closed_total{reason}`, `hub_budget_exceeded_total{budget}`,
//! `hub_documents_sync_failing`, `hub_log_reseeds_total`).

pub mod anchor;
pub mod class;
pub mod close;
pub mod error;
pub mod event_socket;
pub mod live;
pub mod metrics;
pub mod outbox;
pub mod project_events;
pub mod rate;
pub mod routes;
pub mod session;
pub mod settings;
pub mod state;
pub mod store;
pub mod ydoc;

use crate::error::HubError;
use crate::live::document::Force;
use crate::live::follower::Follower;
use crate::live::log::DocumentLog;
use crate::live::registry::{Registry, Timings};
use crate::metrics::Metrics;
use crate::project_events::ProjectEvents;
use crate::settings::Settings;
use crate::state::{AppState, WorkerRedis};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use contracts::Keys;
use http_edge::{Edge, Readiness, Running, StorageGuard};
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
    let keys = Keys::new(settings.key_prefix.clone());
    let events = Arc::new(ProjectEvents::new(redis.clone(), &keys, metrics.clone()));
    let log = DocumentLog::new(redis.clone(), keys, instance);
    let registry = Arc::new(Registry::new(
        log,
        db.clone(),
        metrics.clone(),
        Timings {
            sync_quiet: Duration::from_millis(settings.sync_quiet_ms),
            sync_max_delay: Duration::from_millis(settings.sync_max_delay_ms),
            trim_after_ms: settings.trim_after_ms,
            unload_after: Duration::from_millis(settings.unload_after_ms),
            sync_retry_min: Duration::from_millis(settings.sync_retry_min_ms),
            sync_retry_max: Duration::from_millis(settings.sync_retry_max_ms),
            presence_timeout: Duration::from_millis(settings.awareness_timeout_ms),
        },
    ));
    let budgets = settings.budgets();
    let shutdown = CancellationToken::new();
    let follower = tokio::spawn(
        Follower {
            registry: registry.clone(),
            pool: redis.clone(),
            metrics: metrics.clone(),
            presence: budgets.presence.clone(),
        }
        .run(shutdown.clone()),
    );
    let sync = tokio::spawn(sync_in_background(registry.clone(), shutdown.clone()));
    let following_events = tokio::spawn(events.clone().follow(shutdown.clone()));
    let class = Arc::new(class::Class::new(
        class::store::Store::new(Keys::new(settings.key_prefix.clone())),
        redis.clone(),
        Duration::from_millis(settings.class_presence_ttl_ms),
    ));
    let client =
        redis::Client::open(settings.redis_url.expose_secret()).map_err(|e| startup(&e))?;
    let class_listener = tokio::spawn(class.clone().listen(client.clone(), shutdown.clone()));
    let class_sweep = tokio::spawn(class.clone().sweep(shutdown.clone()));

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
                .with_schema(db.clone(), db::SCHEMA_VERSION)
                .with_redis(redis.clone()),
        )
        .with_tokens(tokens.clone())
        .with_storage_guard(StorageGuard::new(
            redis.clone(),
            settings.redis_memory_high_water,
        )),
    );
    let state = web::Data::new(AppState {
        registry,
        class,
        events,
        db,
        redis,
        tokens,
        metrics,
        shutdown: shutdown.clone(),
        archive_limits: settings.archive_limits(),
        idle_timeout: settings.idle_timeout(),
        heartbeat_interval: settings.heartbeat_interval(),
        max_message_bytes: settings.max_message_bytes,
        budgets,
        max_connections_per_user: settings.max_connections_per_user,
        sockets_per_user: Default::default(),
    });
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
    let tasks = vec![
        follower,
        sync,
        following_events,
        class_listener,
        class_sweep,
    ];
    Ok(Running::new(server, port, shutdown, tasks))
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
        registry.sync_due(Force::No).await;
        registry.sweep_presence();
        registry.unload_idle().await;
    }
    registry.sync_due(Force::Always).await;
}
