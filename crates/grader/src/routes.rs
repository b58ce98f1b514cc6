//! The grader's HTTP endpoints, all from the shared edge: `/healthz`, `/readyz` (Redis, Docker
//! and every sandbox image are there, and `grading`: jobs are being taken, or why not) and
//! `/metrics`.
//!
//! Actix runs handlers on its own worker runtime; the probes themselves are spawned on the
//! grader's main runtime, where the Redis pool and the Docker client live.

use crate::sandbox::availability::Availability;
use crate::sandbox::docker::DockerClient;
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use contracts::keys::GRADERS_GROUP;
use contracts::{Keys, Streams};
use http_edge::{health, Edge, Readiness};
use prometheus::IntGauge;
use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use tokio::runtime::Handle;

/// Largest HTTP body the grader reads: it takes none.
const MAX_BODY_BYTES: usize = 1024;

/// What the endpoints look at.
pub struct Probe {
    pub streams: Streams,
    pub keys: Keys,
    pub docker: DockerClient,
    /// Every image the runtime catalogue needs, with this grader's tag.
    pub images: Vec<String>,
    /// Whether jobs are taken.
    pub availability: Availability,
    /// `grader_queue_backlog_jobs`, sampled at scrape time.
    pub backlog: IntGauge,
}

/// The HTTP server on `listener` (not started until awaited or spawned).
pub fn serve(
    listener: TcpListener,
    probe: Probe,
    registry: http_edge::Metrics,
) -> std::io::Result<Server> {
    let main = Handle::current();
    let probe = Arc::new(probe);
    let edge = web::Data::new(
        Edge::new(registry, readiness(&probe, &main)).before_scrape(sample_backlog(probe, main)),
    );
    let server = HttpServer::new(move || {
        App::new()
            .app_data(edge.clone())
            .wrap(from_fn(http_edge::request::middleware))
            .configure(|cfg| http_edge::configure(cfg, MAX_BODY_BYTES))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(5)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Runs `check` on the main runtime.
fn on_main<T, F>(main: &Handle, check: F) -> impl Future<Output = Result<T, String>> + Send
where
    T: Send + 'static,
    F: Future<Output = Result<T, String>> + Send + 'static,
{
    let task = main.spawn(check);
    async move { task.await.map_err(|e| format!("check failed: {e}"))? }
}

fn readiness(probe: &Arc<Probe>, main: &Handle) -> Readiness {
    let (redis, docker, images, grading) =
        (probe.clone(), probe.clone(), probe.clone(), probe.clone());
    let (main_redis, main_docker, main_images) = (main.clone(), main.clone(), main.clone());
    Readiness::new()
        .with("redis", move || {
            let pool = redis.streams.pool().clone();
            on_main(&main_redis, health::ping_redis(pool))
        })
        .with("docker", move || {
            let docker = docker.docker.clone();
            on_main(&main_docker, async move {
                docker.ping().await.map_err(|e| e.to_string())
            })
        })
        .with("images", move || {
            let probe = images.clone();
            on_main(&main_images, async move { missing_images(&probe).await })
        })
        .with("grading", move || {
            let paused = grading.availability.paused_because();
            async move { paused.map_or(Ok(()), |reason| Err(format!("paused: {reason}"))) }
        })
}

/// Every sandbox image is present; else which are not, and why.
async fn missing_images(probe: &Probe) -> Result<(), String> {
    let mut problems = Vec::new();
    for image in &probe.images {
        if let Err(error) = probe.docker.require_image(image).await {
            tracing::error!(image, %error, "not ready");
            problems.push(format!("{image}: {error}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn sample_backlog(probe: Arc<Probe>, main: Handle) -> http_edge::ScrapeHook {
    Arc::new(move || {
        let probe = probe.clone();
        let sampled = on_main(&main, async move {
            let stream = probe.keys.submissions();
            let jobs = probe
                .streams
                .backlog(&stream, GRADERS_GROUP)
                .await
                .map_err(|e| e.to_string())?;
            probe.backlog.set(i64::try_from(jobs).unwrap_or(i64::MAX));
            Ok(())
        });
        Box::pin(async move {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(3), sampled).await;
        })
    })
}
