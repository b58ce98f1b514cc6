//! The grader under test in the forms testkit does not offer: with the short intervals these
//! tests want, and the real binary as a child process, for signals. Plus the sandbox
//! containers a grader left behind.

use anyhow::Context as _;
use grader::Settings;
use std::time::Duration;
use testkit::{spawn, Scratch};

/// Settings of a grader on `scratch`, taking over stale jobs after 2 s and sweeping
/// containers every second.
pub fn settings(scratch: &Scratch) -> Settings {
    let mut settings = spawn::grader_settings(scratch);
    settings.claim_idle_ms = 2_000;
    settings.janitor_interval_ms = 1_000;
    settings
}

/// The grader binary running as a child process, logging to a file; killed when dropped.
pub struct GraderProcess {
    pub child: tokio::process::Child,
    pub consumer: String,
    pub log: std::path::PathBuf,
}

impl GraderProcess {
    /// Starts `target/…/grader` on `scratch`'s Redis and prefix with one slot; `env` adds
    /// settings (`GRADER__…`).
    pub fn spawn(scratch: &Scratch, env: &[(&str, &str)]) -> Self {
        let consumer = format!("test-binary-{}", uuid::Uuid::new_v4().simple());
        let log = std::env::temp_dir().join(format!("{consumer}.log"));
        let log_file = std::fs::File::create(&log).expect("grader log file");
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_grader"));
        // Only these settings count: none from the test's own environment or secrets.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("GRADER__") {
                command.env_remove(key);
            }
        }
        command
            .env("SECRETS_DIR", "/nonexistent-secrets-dir")
            .env("RUST_LOG", "info")
            .env("GRADER__REDIS_URL", &scratch.redis_url)
            .env("GRADER__KEY_PREFIX", scratch.prefix())
            .env("GRADER__SANDBOX_TAG", testkit::sandbox::tag())
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
    /// Also removes the sandbox containers a killed process left for a janitor that may not
    /// come by before the test ends.
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_file(&self.log);
        remove_containers_of(&self.consumer);
    }
}

/// Removes every sandbox container of the grader `consumer`, for a test that leaves some to a
/// janitor that may not come by before it ends. Best effort.
pub fn remove_containers_of(consumer: &str) {
    let label = format!("label=code-platform.grader={consumer}");
    let listed = std::process::Command::new("docker")
        .args(["ps", "-aq", "--filter", &label])
        .output();
    if let Ok(listed) = listed {
        let ids = String::from_utf8_lossy(&listed.stdout);
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let _ = std::process::Command::new("docker")
                .args(["rm", "-f"])
                .args(&ids)
                .stdout(std::process::Stdio::null())
                .status();
        }
    }
}

/// Sandbox containers (running or not) whose grader label is `consumer`.
pub async fn containers_of(consumer: &str) -> usize {
    let output = tokio::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=code-platform.grader={consumer}"),
        ])
        .output()
        .await
        .expect("docker ps");
    String::from_utf8_lossy(&output.stdout).lines().count()
}
