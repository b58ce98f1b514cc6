//! The grader service: takes submissions off the `submissions` stream (consumer group
//! `graders`), runs each in a fresh, locked-down Docker container, and publishes `grading` and
//! then the verdict on the `results` stream. It owns nothing durable and holds no database
//! credentials; Redis and the Docker socket are all it talks to.
//!
//! - [`queue`]: grading one job, as the handler of the generic Streams consumer of
//!   `contracts` (which reads, takes over stale jobs, acknowledges and dead-letters);
//! - [`sandbox`]: the container lifecycle and the protocol with the runner in the image;
//! - [`verdict`]: what a run means for the student;
//! - [`routes`] and [`metrics`]: `/healthz`, `/readyz`, `/metrics`.
//!
//! [`run`] is the whole service; `main.rs` only adds tracing, settings and signals, so tests
//! start the real grader on port 0.

pub mod error;
pub mod metrics;
pub mod queue;
pub mod routes;
pub mod sandbox;
pub mod settings;
pub mod verdict;

pub use error::GraderError;
pub use settings::Settings;

use contracts::{Keys, RuntimeCatalog, Streams};
use metrics::Metrics;
use sandbox::availability::Availability;
use sandbox::docker::DockerClient;
use sandbox::Sandbox;
use secrecy::ExposeSecret;
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Runs the grader until `shutdown` is cancelled: serves the HTTP endpoints on `listener`,
/// grades jobs, and sweeps abandoned containers. On shutdown it stops taking jobs, finishes the
/// ones in flight, and returns.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), GraderError> {
    settings.validate()?;
    let catalog = load_catalog(&settings)?;
    let consumer_name = settings.consumer_name();
    let pool = contracts::redis_pool(
        settings.redis_url.expose_secret(),
        settings.concurrency * 2 + 4,
    )?;
    let streams = Streams::new(pool, settings.stream_max_len);
    let keys = Keys::new(settings.key_prefix.clone());
    let registry = http_edge::Metrics::new("grader");
    let metrics = Metrics::new(&registry);
    let docker = DockerClient::new(settings.docker_host.clone());
    let sandbox = Sandbox {
        docker: docker.clone(),
        grader: consumer_name.clone(),
        tag: settings.sandbox_tag.clone(),
        allowance: settings.deadline_allowance(),
        max_deadline: settings.deadline_max(),
        output_cap: settings.output_cap_bytes,
        metrics: metrics.clone(),
    };
    let images: Vec<String> = catalog
        .names()
        .filter_map(|name| catalog.get(name))
        .map(|runtime| sandbox.image_for(runtime))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let availability = Availability::new(docker.clone(), images.clone(), metrics.clone());
    let watcher = tokio::spawn(availability.clone().watch(shutdown.clone()));

    let probe = routes::Probe {
        streams: streams.clone(),
        keys: keys.clone(),
        docker: docker.clone(),
        images,
        availability: availability.clone(),
        backlog: metrics.queue_backlog.clone(),
    };
    let server = routes::serve(listener, probe, registry)?;
    let server_handle = server.handle();
    let server_task = tokio::spawn(server);
    let janitor = tokio::spawn(sandbox::janitor::run(
        docker,
        settings.janitor_interval(),
        settings.janitor_grace(),
        metrics.clone(),
        shutdown.clone(),
    ));

    let consumer = queue::consumer(
        streams.clone(),
        &keys,
        &settings,
        consumer_name,
        availability.gate(),
    );
    tracing::info!(consumer = %consumer.options().consumer, slots = settings.concurrency,
        "consuming submissions");
    let tools = queue::Tools {
        streams,
        keys,
        catalog,
        sandbox,
        availability,
        metrics,
    };
    let grader = queue::Grader::new(tools, shutdown.clone());
    let tally = consumer.run(Arc::new(grader), shutdown.clone()).await;
    tracing::info!(?tally, "stopped consuming submissions");

    shutdown.cancel();
    for (task, name) in [(janitor, "janitor"), (watcher, "availability watcher")] {
        if let Err(e) = task.await {
            tracing::error!(error = %e, "{name} failed");
        }
    }
    server_handle.stop(true).await;
    match server_task.await {
        Ok(result) => result?,
        Err(e) => tracing::error!(error = %e, "HTTP server failed"),
    }
    tracing::info!("grader stopped");
    Ok(())
}

/// The configured runtime catalogue, or the built-in one.
fn load_catalog(settings: &Settings) -> Result<RuntimeCatalog, GraderError> {
    let Some(path) = &settings.runtimes_file else {
        return Ok(RuntimeCatalog::builtin());
    };
    let problem = |problem: String| GraderError::Runtimes {
        path: path.clone(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|e| problem(e.to_string()))?;
    RuntimeCatalog::parse(&text).map_err(problem)
}
