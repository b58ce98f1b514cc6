//! The api service: accounts, courses, assignments and submissions over HTTP (actix-web) with
//! Postgres (diesel-async) as the record and Redis as read cache and queue. Submissions go out
//! on the `submissions` stream; the graders' events come back on `results` and are recorded
//! here by a background consumer.
//!
//! [`Application::build`] takes a bound listener, so tests start the real service on port 0.

pub mod auth;
pub mod cache;
pub mod domain;
pub mod error;
pub mod markdown;
pub mod metrics;
pub mod results;
pub mod routes;
pub mod settings;
pub mod state;
pub mod store;

use crate::error::{ApiError, ErrorBody, ErrorDetail};
use crate::metrics::Metrics;
use crate::settings::Settings;
use crate::state::AppState;
use actix_files::Files;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, ErrorHandlerResponse, ErrorHandlers, Next};
use actix_web::{web, App, HttpResponse, HttpServer};
use contracts::{RuntimeCatalog, Streams};
use secrecy::ExposeSecret;
use std::net::TcpListener;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A configured api, bound to its listener, not yet serving.
pub struct Application {
    server: Server,
    port: u16,
    results: JoinHandle<()>,
    shutdown: CancellationToken,
}

impl Application {
    /// Connects the pools, loads the runtimes and binds the HTTP server to `listener`.
    pub async fn build(settings: Settings, listener: TcpListener) -> Result<Self, ApiError> {
        let port = listener
            .local_addr()
            .map_err(|e| ApiError::Startup(e.to_string()))?
            .port();
        let db = db::pool(settings.database_url.expose_secret(), settings.db_pool_size)
            .map_err(ApiError::Startup)?;
        let redis =
            contracts::redis_pool(settings.redis_url.expose_secret(), settings.redis_pool_size)
                .map_err(|e| ApiError::Startup(e.to_string()))?;
        let runtimes = match &settings.runtimes_file {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|text| RuntimeCatalog::parse(&text))
                .map_err(|e| ApiError::Startup(format!("runtimes_file {path}: {e}")))?,
            None => RuntimeCatalog::builtin(),
        };
        let streams = Streams::new(redis, settings.stream_max_len);
        let state = AppState::from_settings(&settings, db, streams, runtimes, Metrics::new());

        let shutdown = CancellationToken::new();
        let consumer = format!("api-{}-{}", hostname(), std::process::id());
        let results = tokio::spawn(results::consume(
            state.clone(),
            consumer,
            Duration::from_millis(settings.result_claim_idle_ms),
            shutdown.clone(),
        ));

        let max_body = settings.max_body_bytes;
        let web_dir = std::path::PathBuf::from(&settings.web_dir);
        let serve_ui = web_dir.join("index.html").is_file();
        if !serve_ui {
            tracing::warn!(web_dir = %web_dir.display(), "no web UI there; serving the api only");
        }
        let data = web::Data::new(state);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .wrap(
                    ErrorHandlers::new()
                        .handler(StatusCode::METHOD_NOT_ALLOWED, method_not_allowed),
                )
                .wrap(from_fn(record_request))
                .configure(|cfg| routes::configure(cfg, max_body))
                .configure(|cfg| {
                    if serve_ui {
                        cfg.service(Files::new("/", &web_dir).index_file("index.html"));
                    }
                })
        })
        .listen(listener)
        .map_err(|e| ApiError::Startup(e.to_string()))?
        .shutdown_timeout(10)
        .run();
        Ok(Self {
            server,
            port,
            results,
            shutdown,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the server is stopped (SIGINT/SIGTERM), then stops the results consumer.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.shutdown.cancel();
        let _ = self.results.await;
        served
    }
}

/// Counts and times every request under its route pattern (not the raw path, which would
/// make one series per id).
async fn record_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.metrics.clone());
    let method = req.method().to_string();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        let status = response.status().as_u16().to_string();
        metrics
            .http_requests
            .with_label_values(&[&method, &route, &status])
            .inc();
        metrics
            .http_duration
            .with_label_values(&[&method, &route])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}

/// actix answers a known path with an unknown method by itself; give it the JSON body too.
fn method_not_allowed<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let body = ErrorBody {
        error: ErrorDetail {
            code: "method_not_allowed".into(),
            message: format!("{} is not allowed here", res.request().method()),
            field: None,
        },
    };
    let mut response = HttpResponse::MethodNotAllowed();
    if let Some(allow) = res.headers().get(actix_web::http::header::ALLOW) {
        response.insert_header((actix_web::http::header::ALLOW, allow.clone()));
    }
    let response = response.json(body);
    Ok(ErrorHandlerResponse::Response(
        res.into_response(response).map_into_right_body(),
    ))
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "api".into())
}
