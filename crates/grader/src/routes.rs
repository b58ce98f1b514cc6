//! The grader's HTTP endpoints: `/healthz` (the process is up), `/readyz` (Redis, Docker and
//! every sandbox image are there) and `/metrics` (Prometheus text).
//!
//! Actix runs handlers on its own worker runtime; the checks themselves are spawned on the
//! grader's main runtime, where the Redis pool and the Docker client live.

use crate::metrics::Metrics;
use crate::sandbox::docker::DockerClient;
use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
use contracts::keys::GRADERS_GROUP;
use contracts::{Keys, Streams};
use serde_json::{json, Map, Value};
use std::future::Future;
use std::net::TcpListener;
use std::time::Duration;

/// Longest a readiness check or a metrics query may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// What the endpoints look at.
#[derive(Clone)]
pub struct Probe {
    pub streams: Streams,
    pub keys: Keys,
    pub docker: DockerClient,
    /// Every image the runtime catalogue needs, with this grader's tag.
    pub images: Vec<String>,
    pub metrics: Metrics,
    /// The grader's main runtime.
    pub runtime: tokio::runtime::Handle,
}

/// The HTTP server on `listener` (not started until awaited or spawned).
pub fn serve(listener: TcpListener, probe: Probe) -> std::io::Result<Server> {
    let probe = web::Data::new(probe);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(probe.clone())
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(5)
    .listen(listener)?
    .run();
    Ok(server)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn readyz(probe: web::Data<Probe>) -> HttpResponse {
    let checked = probe.clone();
    let report = on_main(&probe, async move { readiness(&checked).await }).await;
    let report = report.unwrap_or_else(|problem| json!({ "ready": false, "error": problem }));
    if report["ready"] == Value::Bool(true) {
        HttpResponse::Ok().json(report)
    } else {
        HttpResponse::ServiceUnavailable().json(report)
    }
}

async fn readiness(probe: &Probe) -> Value {
    let redis = match redis_ping(&probe.streams).await {
        Ok(()) => "ok".to_owned(),
        Err(e) => e,
    };
    let (docker, images) = match probe.docker.ping().await {
        Ok(()) => {
            let mut images = Map::new();
            for image in &probe.images {
                let state = match probe.docker.require_image(image).await {
                    Ok(()) => "ok".to_owned(),
                    Err(e) => e.to_string(),
                };
                images.insert(image.clone(), Value::String(state));
            }
            ("ok".to_owned(), images)
        }
        Err(e) => (e.to_string(), Map::new()),
    };
    let ready = redis == "ok"
        && docker == "ok"
        && !images.is_empty()
        && images.values().all(|state| state == "ok");
    for (image, state) in &images {
        if state != "ok" {
            tracing::error!(image, problem = %state, "not ready");
        }
    }
    json!({ "ready": ready, "redis": redis, "docker": docker, "images": images })
}

async fn redis_ping(streams: &Streams) -> Result<(), String> {
    let mut conn = streams
        .pool()
        .get()
        .await
        .map_err(|e| format!("Redis is unreachable: {e}"))?;
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .map(drop)
        .map_err(|e| format!("Redis: {e}"))
}

async fn metrics(probe: web::Data<Probe>) -> HttpResponse {
    let checked = probe.clone();
    let backlog = on_main(&probe, async move {
        let stream = checked.keys.submissions();
        checked.streams.backlog(&stream, GRADERS_GROUP).await
    })
    .await;
    if let Ok(Ok(backlog)) = backlog {
        probe
            .metrics
            .queue_backlog
            .set(i64::try_from(backlog).unwrap_or(i64::MAX));
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(probe.metrics.render())
}

/// Runs `check` on the main runtime with [`CHECK_TIMEOUT`].
async fn on_main<T: Send + 'static>(
    probe: &Probe,
    check: impl Future<Output = T> + Send + 'static,
) -> Result<T, String> {
    let task = probe
        .runtime
        .spawn(async move { tokio::time::timeout(CHECK_TIMEOUT, check).await });
    match task.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) => Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
        Err(e) => Err(format!("check failed: {e}")),
    }
}
