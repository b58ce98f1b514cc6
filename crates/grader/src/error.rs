//! The grader's one error type. Every failure is either the grader's infrastructure, never
//! blamed on the student, or a job that cannot be graded at all, which is dead-lettered at
//! once. Infrastructure that is down or missing (Redis, the Docker daemon, a sandbox image)
//! costs the job no attempt; Docker refusing a request with the daemon up is retried until
//! the job's deliveries run out.

use contracts::{ShownText, StreamError};
use std::path::PathBuf;

/// Everything that can go wrong in the grader.
#[derive(Debug, thiserror::Error)]
pub enum GraderError {
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    #[error("runtime catalogue {path}: {problem}")]
    Runtimes { path: PathBuf, problem: String },
    #[error("cannot serve HTTP: {0}")]
    Http(#[from] std::io::Error),
    #[error(transparent)]
    Redis(#[from] StreamError),
    #[error("Docker is unreachable: {0}")]
    DockerUnavailable(String),
    #[error("sandbox image {image} is missing: run deploy/sandbox/build.sh")]
    ImageMissing { image: String },
    #[error("Docker refused to {action}: {message}")]
    Docker {
        action: &'static str,
        message: String,
    },
    #[error("cannot encode the sandbox input: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("the runtime `{0}` is not in this grader's catalogue")]
    UnknownRuntime(String),
    #[error("message version {0} is not supported")]
    UnsupportedVersion(u16),
}

impl GraderError {
    /// Whether trying the same job again later can help. Job-level problems (an unknown
    /// runtime, a message from the future) are dead-lettered at once instead.
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            GraderError::UnknownRuntime(_) | GraderError::UnsupportedVersion(_)
        )
    }

    /// Whether the grader's own backing services are down or missing (Redis, the Docker
    /// daemon, a sandbox image): the job is not to blame and the attempt does not count.
    pub fn is_unavailable(&self) -> bool {
        self.stops_sandboxes() || matches!(self, GraderError::Redis(_))
    }

    /// Whether no sandbox can run until an operator or Docker itself fixes this: the grader
    /// stops taking jobs meanwhile.
    pub fn stops_sandboxes(&self) -> bool {
        matches!(
            self,
            GraderError::DockerUnavailable(_) | GraderError::ImageMissing { .. }
        )
    }

    /// A short label for the `grader_failures_total` metric.
    pub fn kind(&self) -> &'static str {
        match self {
            GraderError::Settings(_) | GraderError::Runtimes { .. } => "settings",
            GraderError::Http(_) => "http",
            GraderError::Redis(_) => "redis",
            GraderError::DockerUnavailable(_) => "docker_unavailable",
            GraderError::ImageMissing { .. } => "image_missing",
            GraderError::Docker { .. } => "docker",
            GraderError::Encode(_) => "encode",
            GraderError::UnknownRuntime(_) => "unknown_runtime",
            GraderError::UnsupportedVersion(_) => "unsupported_version",
        }
    }

    /// What the student is told when the job is given up because of this error. It says
    /// what happened without internals (no host names, no image tags).
    pub fn student_reason(&self) -> ShownText {
        let reason = match self {
            GraderError::UnknownRuntime(runtime) => {
                format!("The language `{runtime}` cannot be graded here.")
            }
            GraderError::UnsupportedVersion(_) => {
                "The submission was sent in a format the grader does not understand.".to_owned()
            }
            GraderError::ImageMissing { .. }
            | GraderError::DockerUnavailable(_)
            | GraderError::Docker { .. } => "The grading sandbox is unavailable, so your code \
                could not be run. Please submit again later."
                .to_owned(),
            _ => "The grader failed while handling your submission. Please submit again later."
                .to_owned(),
        };
        reason.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_image_says_how_to_build_it() {
        let err = GraderError::ImageMissing {
            image: "code-platform/sandbox:xyz".into(),
        };
        assert_eq!(
            err.to_string(),
            "sandbox image code-platform/sandbox:xyz is missing: run deploy/sandbox/build.sh"
        );
        assert!(err.is_retryable());
        assert!(
            err.is_unavailable() && err.stops_sandboxes(),
            "a missing image pauses grading, it does not use up the job's attempts"
        );
        assert!(!err.student_reason().contains("xyz"));
    }
}
