//! The hub's settings: built-in defaults, then `HUB__CONFIG_FILE`, `HUB__*` variables and
//! Docker secrets (`redis_url`, `database_url`, `jwt_secret`).

use crate::live::presence::PresenceLimits;
use http_edge::HighWater;
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
send_buffer_bytes = 8388608
max_document_bytes = 4194304
update_bytes_per_second = 1048576
update_burst_bytes = 4194304
max_awareness_states = 256
max_awareness_bytes = 4096
awareness_timeout_ms = 30000
heartbeat_interval_ms = 20000
idle_timeout_ms = 60000
sync_quiet_ms = 1000
sync_max_delay_ms = 10000
trim_after_ms = 60000
unload_after_ms = 30000
sync_retry_min_ms = 1000
sync_retry_max_ms = 30000
max_archive_bytes = 10485760
max_archive_entries = 500
max_file_bytes = 1048576
max_template_bytes = 20971520
redis_memory_high_water = 0.9
class_presence_ttl_ms = 30000
"#;

/// The bounds on what one socket and one document may make the hub hold (see the settings of
/// the same names).
#[derive(Clone, Debug)]
pub struct Budgets {
    pub send_buffer_messages: usize,
    pub send_buffer_bytes: usize,
    pub max_document_bytes: usize,
    pub update_bytes_per_second: u64,
    pub update_burst_bytes: u64,
    pub presence: PresenceLimits,
}

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
    /// Bytes queued for one socket before it counts as too slow (4008); one frame larger than
    /// this still goes out when nothing else is queued.
    pub send_buffer_bytes: usize,
    /// Largest encoded state of a document; an update that would grow it further is refused
    /// with the y-protocols permission-denied message.
    pub max_document_bytes: usize,
    /// What one socket may send on average, in bytes per second (4010 beyond)…
    pub update_bytes_per_second: u64,
    /// …and at once: the token bucket's size. At least `max_message_bytes`.
    pub update_burst_bytes: u64,
    /// Presence (awareness) states one document holds at most; more are refused.
    pub max_awareness_states: usize,
    /// Largest awareness message a client may send (and so each presence state).
    pub max_awareness_bytes: usize,
    /// A presence state not renewed for this long is removed, as y-protocols does.
    pub awareness_timeout_ms: u64,
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
    /// A sync Postgres refused is retried after this long, then after twice as long each time…
    pub sync_retry_min_ms: u64,
    /// …but never less often than this; the document's log stays in Redis meanwhile.
    pub sync_retry_max_ms: u64,
    /// Largest template archive upload, in bytes (413 beyond).
    pub max_archive_bytes: usize,
    pub max_archive_entries: usize,
    /// Largest single file in a template, in bytes, unpacked.
    pub max_file_bytes: usize,
    /// Largest sum of a template's unpacked files, in bytes.
    pub max_template_bytes: usize,
    /// Above this fraction of Redis's `maxmemory`, new document sockets get 503
    /// `storage_full` before the upgrade.
    pub redis_memory_high_water: HighWater,
    /// A class presence entry not renewed this long (its hub died) is swept: the user is
    /// offline for the others within this and a sixth of it.
    pub class_presence_ttl_ms: u64,
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
            ("send_buffer_bytes", self.send_buffer_bytes as u64),
            ("max_document_bytes", self.max_document_bytes as u64),
            ("update_bytes_per_second", self.update_bytes_per_second),
            ("max_awareness_states", self.max_awareness_states as u64),
            ("max_awareness_bytes", self.max_awareness_bytes as u64),
            ("awareness_timeout_ms", self.awareness_timeout_ms),
            ("sync_retry_min_ms", self.sync_retry_min_ms),
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
            ("class_presence_ttl_ms", self.class_presence_ttl_ms),
        ])?;
        if self.update_burst_bytes < self.max_message_bytes as u64 {
            return Err(SettingsError::Rejected {
                key: "update_burst_bytes",
                problem: "must be at least max_message_bytes, or the largest message never passes"
                    .into(),
            });
        }
        if self.sync_retry_max_ms < self.sync_retry_min_ms {
            return Err(SettingsError::Rejected {
                key: "sync_retry_max_ms",
                problem: "must be at least sync_retry_min_ms".into(),
            });
        }
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

    /// What one socket and one document may take.
    pub fn budgets(&self) -> Budgets {
        Budgets {
            send_buffer_messages: self.send_buffer_messages,
            send_buffer_bytes: self.send_buffer_bytes,
            max_document_bytes: self.max_document_bytes,
            update_bytes_per_second: self.update_bytes_per_second,
            update_burst_bytes: self.update_burst_bytes,
            presence: PresenceLimits {
                max_states: self.max_awareness_states,
                max_message_bytes: self.max_awareness_bytes,
                timeout: Duration::from_millis(self.awareness_timeout_ms),
            },
        }
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
    fn a_burst_smaller_than_the_largest_message_is_rejected() {
        let mut settings = defaults();
        settings.update_burst_bytes = settings.max_message_bytes as u64 - 1;
        let err = settings.check().unwrap_err().to_string();
        assert!(err.contains("update_burst_bytes"), "{err}");
    }

    #[test]
    fn a_zero_limit_is_rejected_by_name() {
        let mut settings = defaults();
        settings.max_message_bytes = 0;
        let err = settings.check().unwrap_err().to_string();
        assert!(err.contains("max_message_bytes"), "{err}");
    }
}
