//! The hub's settings: built-in defaults, then `HUB__CONFIG_FILE`, `HUB__*` variables and
//! Docker secrets (`redis_url`, `database_url`, `jwt_secret`).

use serde::Deserialize;
use settings::{SecretString, SettingsError};
use std::time::Duration;

/// Built-in defaults; every other layer overrides them.
pub const DEFAULTS: &str = r#"
listen = "127.0.0.1:8083"
key_prefix = "cp:"
redis_pool_size = 16
database_pool_size = 8
max_message_bytes = 1048576
max_connections_per_user = 32
send_buffer_messages = 4096
heartbeat_interval_ms = 20000
idle_timeout_ms = 60000
sync_quiet_ms = 1000
sync_max_delay_ms = 10000
trim_after_ms = 60000
unload_after_ms = 30000
max_archive_bytes = 10485760
max_archive_entries = 500
max_file_bytes = 1048576
max_template_bytes = 20971520
"#;

/// Everything the hub needs to start.
#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    /// Address the HTTP server binds to (used by `main`; tests pass their own listener).
    pub listen: String,
    pub redis_url: SecretString,
    pub database_url: SecretString,
    /// HS256 key the api signs tokens with; at least 32 bytes.
    pub jwt_secret: SecretString,
    /// Prefix of every Redis key (see `contracts::keys`).
    pub key_prefix: String,
    /// One connection blocks following the document logs, one the project events; the others
    /// append and sync.
    pub redis_pool_size: usize,
    pub database_pool_size: usize,
    /// Largest y-protocols message a client may send, in bytes (1009 beyond).
    pub max_message_bytes: usize,
    /// Open document sockets one user may hold on one hub (4009 beyond).
    pub max_connections_per_user: usize,
    /// Messages queued for one socket before it counts as too slow (4008).
    pub send_buffer_messages: usize,
    /// How often the hub pings a socket at the WebSocket level.
    pub heartbeat_interval_ms: u64,
    /// A socket that sends nothing (not even a pong) for this long is closed (4004).
    pub idle_timeout_ms: u64,
    /// A changed document is written to Postgres once it has had no change for this long…
    pub sync_quiet_ms: u64,
    /// …or at the latest this long after its first unsynced change.
    pub sync_max_delay_ms: u64,
    /// Log entries are trimmed once they are in Postgres and at least this old, so that a hub
    /// loading the document between the two reads still finds them.
    pub trim_after_ms: u64,
    /// A document nobody has open on this hub leaves memory after this long; once it is in
    /// Postgres its log leaves Redis too.
    pub unload_after_ms: u64,
    /// Largest template archive upload, in bytes (413 beyond).
    pub max_archive_bytes: usize,
    pub max_archive_entries: usize,
    /// Largest single file in a template, in bytes, unpacked.
    pub max_file_bytes: usize,
    /// Largest sum of a template's unpacked files, in bytes.
    pub max_template_bytes: usize,
}

impl Settings {
    /// Loads and checks the settings.
    pub fn load() -> Result<Self, SettingsError> {
        let settings: Self = settings::load("HUB", DEFAULTS)?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), SettingsError> {
        settings::require_min_len("jwt_secret", &self.jwt_secret, 32)?;
        settings::require_positive(&[
            ("max_message_bytes", self.max_message_bytes as u64),
            (
                "max_connections_per_user",
                self.max_connections_per_user as u64,
            ),
            ("send_buffer_messages", self.send_buffer_messages as u64),
            ("heartbeat_interval_ms", self.heartbeat_interval_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
            ("sync_quiet_ms", self.sync_quiet_ms),
            ("sync_max_delay_ms", self.sync_max_delay_ms),
            ("unload_after_ms", self.unload_after_ms),
            ("max_archive_bytes", self.max_archive_bytes as u64),
            ("max_archive_entries", self.max_archive_entries as u64),
            ("max_file_bytes", self.max_file_bytes as u64),
            ("max_template_bytes", self.max_template_bytes as u64),
            ("database_pool_size", self.database_pool_size as u64),
        ])?;
        if self.redis_pool_size < 3 {
            return Err(SettingsError::Rejected {
                key: "redis_pool_size",
                problem: "must be at least 3 (the log follower and the project events each \
                          hold one connection)"
                    .into(),
            });
        }
        Ok(())
    }

    pub fn heartbeat_interval(&self) -> Duration {
        Duration::from_millis(self.heartbeat_interval_ms)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    pub fn archive_limits(&self) -> archive::Limits {
        archive::Limits {
            max_archive_bytes: self.max_archive_bytes,
            max_entries: self.max_archive_entries,
            max_file_bytes: self.max_file_bytes,
            max_total_bytes: self.max_template_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults plus the three settings that have none.
    fn defaults() -> Settings {
        let text = format!(
            "{DEFAULTS}\nredis_url = \"redis://h\"\ndatabase_url = \"postgres://h/d\"\n\
             jwt_secret = \"{}\"\n",
            "k".repeat(32)
        );
        settings::load_from("HUB_UNIT_TEST", &text, None, "/nonexistent".as_ref()).unwrap()
    }

    #[test]
    fn the_defaults_pass_the_checks() {
        defaults().check().unwrap();
    }

    #[test]
    fn a_zero_limit_is_rejected_by_name() {
        let mut settings = defaults();
        settings.max_message_bytes = 0;
        let err = settings.check().unwrap_err().to_string();
        assert!(err.contains("max_message_bytes"), "{err}");
    }
}
