//! The grader's configuration, loaded in layers by the `settings` crate (defaults below < the
//! file named by `GRADER__CONFIG_FILE` < `GRADER__*` environment variables < Docker secrets).
//! The grader holds no database credentials; its only secret is the Redis URL.
//!
//! | setting (env `GRADER__…`) | default | meaning |
//! |---|---|---|
//! | `LISTEN` | `0.0.0.0:8081` | `/healthz`, `/readyz`, `/metrics` |
//! | `REDIS_URL` (secret `redis_url`) | `redis://127.0.0.1:6379` | Redis |
//! | `KEY_PREFIX` | `cp:` | prefix of every Redis key |
//! | `CONSUMER` | `<hostname>-<pid>` | name in the `graders` group |
//! | `CONCURRENCY` | 2 | jobs at once |
//! | `CLAIM_IDLE_MS` | 15000 | a job without keep-alive this long is taken over |
//! | `MAX_ATTEMPTS` | 3 | deliveries before a failing job is dead-lettered |
//! | `STREAM_MAX_LEN` | 100000 | approximate cap of the streams written |
//! | `DOCKER_HOST` | `DOCKER_HOST` or the local socket | Docker endpoint |
//! | `SANDBOX_TAG` | required | tag printed by `deploy/sandbox/build.sh` |
//! | `RUNTIMES_FILE` | built-in catalogue | runtime catalogue (TOML) |
//! | `DEADLINE_ALLOWANCE_MS` / `DEADLINE_MAX_MS` | 5000 / 120000 | container deadline |
//! | `OUTPUT_CAP_BYTES` | 1048576 | stdout kept per container |
//! | `JANITOR_INTERVAL_MS` / `JANITOR_GRACE_MS` | 30000 / 60000 | sweeping orphans |

use secrecy::SecretString;
use serde::Deserialize;
use settings::SettingsError;
use std::path::PathBuf;
use std::time::Duration;

/// Built-in defaults. `sandbox_tag` has none on purpose: it names the image that
/// `deploy/sandbox/build.sh` built, and a grader without it must not start.
pub const DEFAULTS: &str = r#"
listen = "0.0.0.0:8081"
redis_url = "redis://127.0.0.1:6379"
key_prefix = "cp:"
concurrency = 2
claim_idle_ms = 15000
max_attempts = 3
stream_max_len = 100000
deadline_allowance_ms = 5000
deadline_max_ms = 120000
output_cap_bytes = 1048576
janitor_interval_ms = 30000
janitor_grace_ms = 60000
"#;

/// Everything a grader needs to know at start.
#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    /// Address of the `/healthz`, `/readyz` and `/metrics` endpoints.
    pub listen: String,
    /// Redis connection URL (may carry a password, so it is a secret).
    pub redis_url: SecretString,
    /// Prefix of every Redis key (see `contracts::keys`).
    pub key_prefix: String,
    /// Consumer name in the `graders` group; hostname and pid when unset.
    #[serde(default)]
    pub consumer: Option<String>,
    /// Jobs graded at the same time.
    pub concurrency: usize,
    /// A job pending this long without a keep-alive is taken over from its (dead) grader.
    pub claim_idle_ms: u64,
    /// Deliveries after which a failing job is dead-lettered.
    pub max_attempts: u64,
    /// Approximate cap on the length of the streams the grader writes.
    pub stream_max_len: usize,
    /// Docker endpoint (`unix:///var/run/docker.sock`, `tcp://…`); `DOCKER_HOST` or the local
    /// socket when unset.
    #[serde(default)]
    pub docker_host: Option<String>,
    /// Tag of the sandbox images, printed by `deploy/sandbox/build.sh`.
    pub sandbox_tag: String,
    /// A runtime catalogue (TOML) replacing the built-in one.
    #[serde(default)]
    pub runtimes_file: Option<PathBuf>,
    /// Time a container gets on top of its tests for starting up.
    pub deadline_allowance_ms: u64,
    /// Upper bound of any container's wall-clock deadline.
    pub deadline_max_ms: u64,
    /// Bytes of a container's standard output that are kept; beyond that it is stopped.
    pub output_cap_bytes: usize,
    /// How often the janitor looks for abandoned sandbox containers.
    pub janitor_interval_ms: u64,
    /// How long after its deadline an abandoned sandbox container is removed.
    pub janitor_grace_ms: u64,
}

impl Settings {
    /// Loads the settings from every layer and checks them.
    pub fn load() -> Result<Self, SettingsError> {
        let settings: Settings = settings::load("GRADER", DEFAULTS)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Rejects values the grader cannot work with, naming the setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let reject = |key, problem: &str| {
            Err(SettingsError::Rejected {
                key,
                problem: problem.to_owned(),
            })
        };
        if self.concurrency == 0 {
            return reject("concurrency", "must be at least 1");
        }
        if self.max_attempts == 0 {
            return reject("max_attempts", "must be at least 1");
        }
        if self.claim_idle_ms < 500 {
            return reject("claim_idle_ms", "must be at least 500");
        }
        if self.output_cap_bytes < 4096 {
            return reject("output_cap_bytes", "must be at least 4096");
        }
        if self.deadline_max_ms < 1000 {
            return reject("deadline_max_ms", "must be at least 1000");
        }
        let tag_ok = !self.sandbox_tag.is_empty()
            && self.sandbox_tag.len() <= 128
            && self
                .sandbox_tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !tag_ok {
            return reject(
                "sandbox_tag",
                "must be the image tag printed by deploy/sandbox/build.sh",
            );
        }
        Ok(())
    }

    /// The consumer name: the configured one, or `<hostname>-<pid>`.
    pub fn consumer_name(&self) -> String {
        if let Some(name) = self.consumer.as_ref().filter(|n| !n.is_empty()) {
            return name.clone();
        }
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "grader".to_owned());
        format!("{host}-{}", std::process::id())
    }

    pub fn claim_idle(&self) -> Duration {
        Duration::from_millis(self.claim_idle_ms)
    }

    pub fn deadline_allowance(&self) -> Duration {
        Duration::from_millis(self.deadline_allowance_ms)
    }

    pub fn deadline_max(&self) -> Duration {
        Duration::from_millis(self.deadline_max_ms)
    }

    pub fn janitor_interval(&self) -> Duration {
        Duration::from_millis(self.janitor_interval_ms.max(100))
    }

    pub fn janitor_grace(&self) -> Duration {
        Duration::from_millis(self.janitor_grace_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn load(extra: &str) -> Result<Settings, SettingsError> {
        let settings: Settings = settings::load_from(
            "GRADER_SETTINGS_UNIT_TEST",
            &format!("{DEFAULTS}{extra}"),
            None,
            Path::new("/nonexistent-secrets-dir"),
        )?;
        settings.validate()?;
        Ok(settings)
    }

    #[test]
    fn defaults_load_once_the_sandbox_tag_is_given() {
        let settings = load("sandbox_tag = \"abc123\"\n").unwrap();
        assert_eq!(settings.key_prefix, "cp:");
        assert_eq!(settings.concurrency, 2);
        assert!(settings
            .consumer_name()
            .ends_with(&std::process::id().to_string()));
    }

    #[test]
    fn a_missing_sandbox_tag_is_named() {
        let err = load("").unwrap_err().to_string();
        assert!(err.contains("sandbox_tag"), "{err}");
    }

    #[test]
    fn a_sandbox_tag_with_a_colon_is_rejected() {
        let err = load("sandbox_tag = \"code-platform/sandbox:abc\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sandbox_tag"), "{err}");
    }
}
