//! Makes sure a created container is removed whatever happens to the run: normally awaited
//! once the run is over, and from `Drop` (in a background task) if the run was abandoned
//! half-way, for example by a panic. The janitor covers the cases where even that fails.

use super::docker::{is_not_found, API_TIMEOUT};
use bollard::query_parameters::RemoveContainerOptions;
use bollard::Docker;

/// Removes one container, once.
#[derive(Debug)]
pub struct Removal {
    docker: Docker,
    id: String,
    done: bool,
}

impl Removal {
    pub fn new(docker: Docker, id: String) -> Self {
        Self {
            docker,
            id,
            done: false,
        }
    }

    /// Force-removes the container now.
    pub async fn remove(mut self) {
        self.done = true;
        remove(&self.docker, &self.id).await;
    }
}

impl Drop for Removal {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let (docker, id) = (self.docker.clone(), std::mem::take(&mut self.id));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { remove(&docker, &id).await });
        }
    }
}

/// Force-removes container `id` (and its anonymous volumes); logs rather than fails, since the
/// janitor retries what is left.
pub async fn remove(docker: &Docker, id: &str) {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        link: false,
    };
    match tokio::time::timeout(API_TIMEOUT, docker.remove_container(id, Some(options))).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) if is_not_found(&e) => {}
        Ok(Err(e)) => tracing::warn!(container = id, error = %e, "could not remove sandbox"),
        Err(_) => tracing::warn!(container = id, "removing the sandbox timed out"),
    }
}
