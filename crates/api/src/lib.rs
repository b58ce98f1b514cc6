//! The api service: accounts, courses, assignments and submissions over HTTP (actix-web) with
//! Postgres (diesel-async) as the record and Redis as read cache and queue. Submissions wait in
//! Postgres and go out on the `submissions` stream a few per user at a time ([`dispatch`]);
//! the graders' events come back on `results` and are recorded here by a background consumer.
//!
//! [`run`] takes a bound listener, so tests start the real service on port 0.

pub mod access;
pub mod admin;
pub mod auth;
pub mod cache;
pub mod dispatch;
pub mod domain;
pub mod error;
pub mod limits;
pub mod markdown;
pub mod metrics;
pub mod results;
pub mod routes;
pub mod settings;
pub mod state;
pub mod store;
pub mod ui;
pub mod views;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::settings::Settings;
use crate::state::AppState;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use contracts::keys::GRADERS_GROUP;
use contracts::{RuntimeCatalog, Streams};
use http_edge::{Edge, Readiness, Running, StorageGuard};
use secrecy::ExposeSecret;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long stopping waits for requests in flight.
const SHUTDOWN_TIMEOUT_SECONDS: u64 = 10;

/// Connects the pools, loads the runtimes, starts the results recorder and the HTTP server on
/// `listener`. Cancelling the returned service's shutdown token stops the server (requests
/// in flight finish) and the recorder (its event in flight finishes).
pub async fn run(settings: Settings, listener: TcpListener) -> Result<Running, ApiError> {
    let port = listener
        .local_addr()
        .map_err(|e| ApiError::Startup(e.to_string()))?
        .port();
    let db = db::pool(settings.database_url.expose_secret(), settings.db_pool_size)
        .map_err(ApiError::Startup)?;
    let redis = contracts::redis_pool(settings.redis_url.expose_secret(), settings.redis_pool_size)
        .map_err(|e| ApiError::Startup(e.to_string()))?;
    let runtimes = match &settings.runtimes_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| RuntimeCatalog::parse(&text))
            .map_err(|e| ApiError::Startup(format!("runtimes_file {path}: {e}")))?,
        None => RuntimeCatalog::builtin(),
    };
    let bounds = settings
        .assignment_bounds()
        .map_err(|e| ApiError::Startup(e.to_string()))?;
    let streams = Streams::new(redis, settings.stream_max_len);
    let registry = http_edge::Metrics::new("api");
    let metrics = Metrics::new(&registry);
    let state = AppState::from_settings(&settings, db, streams, runtimes, metrics, bounds)?;
    let edge = web::Data::new(
        Edge::new(
            registry,
            Readiness::new()
                .with_postgres(state.db.clone())
                .with_schema(state.db.clone(), db::SCHEMA_VERSION)
                .with_redis(state.streams.pool().clone()),
        )
        .with_tokens(state.sessions.clone())
        .with_storage_guard(StorageGuard::new(
            state.streams.pool().clone(),
            settings.redis_memory_high_water,
        ))
        .before_scrape(sample_backlog(&state)),
    );

    let shutdown = CancellationToken::new();
    let consumer = format!("api-{}-{}", hostname(), std::process::id());
    let results = tokio::spawn(results::consume(
        state.clone(),
        results::options(&settings, consumer),
        shutdown.clone(),
    ));
    let dispatcher = tokio::spawn(dispatch::run(
        state.clone(),
        Duration::from_millis(settings.dispatch_sweep_ms),
        Duration::from_millis(settings.lost_grading_after_ms),
        shutdown.clone(),
    ));

    let max_body = settings.max_body_bytes;
    let web_ui = ui::find(&settings.web_dir);
    let security = web::Data::new(ui::PageSecurity::new(
        &settings,
        web_ui.as_ref().map(|(_, index)| index.as_str()),
    )?);
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(edge.clone())
            .app_data(security.clone())
            .wrap(from_fn(http_edge::request::middleware))
            .wrap(from_fn(ui::headers))
            .configure(|cfg| http_edge::configure(cfg, max_body))
            .configure(routes::configure)
            .configure(|cfg| {
                if let Some((web_dir, _)) = &web_ui {
                    ui::configure(cfg, web_dir);
                }
            })
    })
    .listen(listener)
    .map_err(|e| ApiError::Startup(e.to_string()))?
    .disable_signals()
    .shutdown_timeout(SHUTDOWN_TIMEOUT_SECONDS)
    .run();
    Ok(Running::new(
        server,
        port,
        shutdown,
        vec![results, dispatcher],
    ))
}

/// Samples the graders' backlog for `api_queue_backlog_jobs` before each scrape.
fn sample_backlog(state: &AppState) -> http_edge::ScrapeHook {
    let (streams, keys, gauge) = (
        state.streams.clone(),
        state.keys.clone(),
        state.metrics.queue_backlog.clone(),
    );
    Arc::new(move || {
        let (streams, stream, gauge) = (streams.clone(), keys.submissions(), gauge.clone());
        Box::pin(async move {
            let sampled = streams.backlog(&stream, GRADERS_GROUP);
            if let Ok(Ok(backlog)) = tokio::time::timeout(Duration::from_secs(2), sampled).await {
                gauge.set(backlog as i64);
            }
        })
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "api".into())
}
