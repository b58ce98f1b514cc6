//! The relay's settings: built-in defaults, then `RELAY__CONFIG_FILE`, `RELAY__*` variables and
//! Docker secrets (`redis_url`, `jwt_secret`).

use crate::fanout::QueueLimits;
use crate::resume::ScanLimits;
use serde::Deserialize;
use settings::{SecretString, SettingsError};
use std::time::Duration;

/// Built-in defaults; every other layer overrides them.
pub const DEFAULTS: &str = r#"
listen = "127.0.0.1:8082"
key_prefix = "cp:"
redis_pool_size = 8
auth_timeout_ms = 5000
heartbeat_interval_ms = 25000
idle_timeout_ms = 60000
send_buffer_messages = 1024
send_buffer_bytes = 1048576
send_buffer_grace_ms = 500
max_frame_bytes = 4096
max_connections_per_user = 20
resume_max_entries = 10000
resume_max_bytes = 8388608
resume_max_ms = 2000
"#;

/// Everything the relay needs to start.
#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    /// Address the HTTP server binds to (used by `main`; tests pass their own listener).
    pub listen: String,
    pub redis_url: SecretString,
    /// HS256 key the api signs tokens with; at least 32 bytes.
    pub jwt_secret: SecretString,
    /// Prefix of every Redis key (see `contracts::keys`).
    pub key_prefix: String,
    /// One connection blocks on the `results` stream; the others serve resumes and `/readyz`.
    pub redis_pool_size: usize,
    /// A socket that has not sent its `auth` message this long after opening is closed (4001).
    pub auth_timeout_ms: u64,
    /// How often the relay sends `{"type":"ping"}`.
    pub heartbeat_interval_ms: u64,
    /// A socket that sends nothing for this long is closed (4004).
    pub idle_timeout_ms: u64,
    /// Events queued for one socket before it counts as too slow (4008).
    pub send_buffer_messages: usize,
    /// Bytes of events queued for one socket before it counts as too slow (4008).
    pub send_buffer_bytes: usize,
    /// Once a socket's queue is full, the reader waits for room as long as the socket takes a
    /// queue's worth (or empties it) within this many milliseconds; otherwise it closes (4008).
    pub send_buffer_grace_ms: u64,
    /// Largest client message, in bytes (1009 beyond).
    pub max_frame_bytes: usize,
    /// Open sockets one user may hold on one relay (4009 beyond).
    pub max_connections_per_user: usize,
    /// A resume that would scan more stream entries than this gets `resync` instead.
    pub resume_max_entries: usize,
    /// A resume that would read more payload bytes than this gets `resync` instead.
    pub resume_max_bytes: usize,
    /// A resume whose reads take longer than this gets `resync` instead.
    pub resume_max_ms: u64,
}

impl Settings {
    /// Loads and checks the settings.
    pub fn load() -> Result<Self, SettingsError> {
        let settings: Self = settings::load("RELAY", DEFAULTS)?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), SettingsError> {
        settings::require_min_len("jwt_secret", &self.jwt_secret, 32)?;
        settings::require_positive(&[
            ("auth_timeout_ms", self.auth_timeout_ms),
            ("heartbeat_interval_ms", self.heartbeat_interval_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
            ("send_buffer_messages", self.send_buffer_messages as u64),
            ("send_buffer_bytes", self.send_buffer_bytes as u64),
            ("send_buffer_grace_ms", self.send_buffer_grace_ms),
            ("max_frame_bytes", self.max_frame_bytes as u64),
            ("resume_max_ms", self.resume_max_ms),
            (
                "max_connections_per_user",
                self.max_connections_per_user as u64,
            ),
        ])?;
        if self.redis_pool_size < 2 {
            return Err(SettingsError::Rejected {
                key: "redis_pool_size",
                problem: "must be at least 2 (the stream reader holds one connection)".into(),
            });
        }
        Ok(())
    }

    pub fn auth_timeout(&self) -> Duration {
        Duration::from_millis(self.auth_timeout_ms)
    }

    pub fn heartbeat_interval(&self) -> Duration {
        Duration::from_millis(self.heartbeat_interval_ms)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    /// How much one socket may have queued, and how long the reader waits for room.
    pub fn queue_limits(&self) -> QueueLimits {
        QueueLimits {
            messages: self.send_buffer_messages,
            bytes: self.send_buffer_bytes,
            grace: Duration::from_millis(self.send_buffer_grace_ms),
        }
    }

    /// How much history one resume may scan.
    pub fn resume_limits(&self) -> ScanLimits {
        ScanLimits {
            entries: self.resume_max_entries,
            bytes: self.resume_max_bytes,
            time: Duration::from_millis(self.resume_max_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults plus the two settings that have none.
    fn defaults() -> Settings {
        let text = format!(
            "{DEFAULTS}\nredis_url = \"redis://h\"\njwt_secret = \"{}\"\n",
            "k".repeat(32)
        );
        settings::load_from("RELAY_UNIT_TEST", &text, None, "/nonexistent".as_ref()).unwrap()
    }

    #[test]
    fn the_defaults_pass_the_checks() {
        defaults().check().unwrap();
    }

    #[test]
    fn a_zero_timeout_is_rejected_by_name() {
        let mut settings = defaults();
        settings.idle_timeout_ms = 0;
        let err = settings.check().unwrap_err().to_string();
        assert!(err.contains("idle_timeout_ms"), "{err}");
    }
}
