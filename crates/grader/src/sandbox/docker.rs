//! The connection to the Docker Engine. It is made lazily and kept once the API version has
//! been negotiated (the engine may be older than bollard's default API version), so a grader
//! starts, and reports itself unready, while Docker is down. Every call has a timeout.

use crate::error::GraderError;
use bollard::errors::Error as BollardError;
use bollard::Docker;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// Longest any single Engine API call may take.
pub const API_TIMEOUT: Duration = Duration::from_secs(30);

/// Seconds bollard waits for a response's headers (our own timeouts are tighter).
const CLIENT_TIMEOUT_SECS: u64 = 60;

/// A shared, lazily connected Docker client.
#[derive(Clone)]
pub struct DockerClient {
    host: Option<String>,
    client: Arc<Mutex<Option<Docker>>>,
}

impl DockerClient {
    /// A client for `host` (`unix://…`, `tcp://…`), or `DOCKER_HOST`/the local socket.
    pub fn new(host: Option<String>) -> Self {
        Self {
            host,
            client: Arc::new(Mutex::new(None)),
        }
    }

    /// A connected client, connecting first if needed.
    pub async fn get(&self) -> Result<Docker, GraderError> {
        let mut cached = self.client.lock().await;
        if let Some(docker) = cached.as_ref() {
            return Ok(docker.clone());
        }
        let docker = self.connect().map_err(unavailable)?;
        let docker = within("negotiate the API version", docker.negotiate_version()).await?;
        *cached = Some(docker.clone());
        Ok(docker)
    }

    fn connect(&self) -> Result<Docker, BollardError> {
        let host = self
            .host
            .clone()
            .or_else(|| std::env::var("DOCKER_HOST").ok());
        match host {
            Some(host) if host.starts_with("unix://") || host.starts_with('/') => {
                Docker::connect_with_unix(&host, CLIENT_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
            }
            Some(host) => {
                Docker::connect_with_http(&host, CLIENT_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
            }
            None => Docker::connect_with_unix(
                "unix:///var/run/docker.sock",
                CLIENT_TIMEOUT_SECS,
                bollard::API_DEFAULT_VERSION,
            ),
        }
    }

    /// Checks that the engine answers.
    pub async fn ping(&self) -> Result<(), GraderError> {
        let docker = self.get().await?;
        within("answer a ping", docker.ping()).await.map(drop)
    }

    /// Checks that `image` exists locally (no registry is ever asked).
    pub async fn require_image(&self, image: &str) -> Result<(), GraderError> {
        let docker = self.get().await?;
        match tokio::time::timeout(API_TIMEOUT, docker.inspect_image(image)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            })) => Err(GraderError::ImageMissing {
                image: image.to_owned(),
            }),
            Ok(Err(e)) => Err(classify("inspect the sandbox image", e)),
            Err(_) => Err(timed_out("inspect the sandbox image")),
        }
    }
}

/// Runs one Engine API call with [`API_TIMEOUT`], classifying its error.
pub async fn within<T>(
    action: &'static str,
    call: impl Future<Output = Result<T, BollardError>>,
) -> Result<T, GraderError> {
    match tokio::time::timeout(API_TIMEOUT, call).await {
        Ok(result) => result.map_err(|e| classify(action, e)),
        Err(_) => Err(timed_out(action)),
    }
}

/// An error answered by the engine is a refusal; anything else means it is unreachable.
pub fn classify(action: &'static str, error: BollardError) -> GraderError {
    match error {
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => GraderError::Docker {
            action,
            message: format!("{status_code} {message}"),
        },
        other => unavailable(other),
    }
}

fn unavailable(error: BollardError) -> GraderError {
    GraderError::DockerUnavailable(error.to_string())
}

pub fn timed_out(action: &'static str) -> GraderError {
    GraderError::DockerUnavailable(format!(
        "no answer within {} s when asked to {action}",
        API_TIMEOUT.as_secs()
    ))
}

/// Whether `error` is the engine saying the container is already gone.
pub fn is_not_found(error: &BollardError) -> bool {
    matches!(
        error,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}
