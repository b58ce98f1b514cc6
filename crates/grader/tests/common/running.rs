//! The grader under test, in this process or as the real binary in a child process.

use super::{redis_url, TestRedis};
use anyhow::Context as _;
use grader::Settings;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A grader running in this process.
pub struct RunningGrader {
    pub addr: SocketAddr,
    pub consumer: String,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), grader::GraderError>>,
}

impl RunningGrader {
    pub fn start(settings: Settings) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info".into()),
            )
            .with_test_writer()
            .try_init();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let addr = listener.local_addr().expect("local address");
        let consumer = settings.consumer_name();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(grader::run(settings, listener, shutdown.clone()));
        Self {
            addr,
            consumer,
            shutdown,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Shuts the grader down and waits (bounded) for it to finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(60), self.task)
            .await
            .context("grader did not stop within 60 s")??
            .context("grader failed")
    }
}

/// The grader binary running as a child process, logging to a file.
pub struct GraderProcess {
    pub child: tokio::process::Child,
    pub consumer: String,
    pub log: std::path::PathBuf,
}

impl GraderProcess {
    /// Starts `target/…/grader` on `redis`'s prefix with one slot; `env` adds settings.
    pub fn spawn(redis: &TestRedis, sandbox_tag: &str, env: &[(&str, &str)]) -> Self {
        let consumer = format!("test-binary-{}", uuid::Uuid::new_v4().simple());
        let log = std::env::temp_dir().join(format!("{consumer}.log"));
        let log_file = std::fs::File::create(&log).expect("grader log file");
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_grader"));
        command
            .env_remove("GRADER__CONFIG_FILE")
            .env("SECRETS_DIR", "/nonexistent-secrets-dir")
            .env("RUST_LOG", "info")
            .env("GRADER__REDIS_URL", redis_url())
            .env("GRADER__KEY_PREFIX", redis.prefix())
            .env("GRADER__SANDBOX_TAG", sandbox_tag)
            .env("GRADER__CONSUMER", &consumer)
            .env("GRADER__LISTEN", "127.0.0.1:0")
            .env("GRADER__CONCURRENCY", "1")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file)
            .kill_on_drop(true);
        let child = command.spawn().expect("spawn the grader binary");
        Self {
            child,
            consumer,
            log,
        }
    }

    /// The process's log so far, for failure messages.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal` (`TERM`, `KILL`) to the process.
    pub async fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("the grader is running");
        let status = tokio::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .await
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// Waits (bounded) for the process to exit.
    pub async fn exit_status(
        &mut self,
        within: Duration,
    ) -> anyhow::Result<std::process::ExitStatus> {
        tokio::time::timeout(within, self.child.wait())
            .await
            .with_context(|| {
                format!(
                    "grader did not exit within {within:?}:\n{}",
                    self.log_text()
                )
            })?
            .context("wait for the grader")
    }
}

impl Drop for GraderProcess {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.log);
    }
}
