//! The hub binary as a child process, for what only a process can show: a hub killed with
//! SIGKILL (no close frames, no final sync). Its settings are built like an in-process hub's
//! ([`testkit::spawn::hub_settings`]) and handed over as `HUB__*` variables.

use hub::settings::Settings;
use secrecy::ExposeSecret;
use std::process::{Child, Command, Stdio};
use testkit::{probe, spawn, Scratch};

/// A hub binary running as a child process; killed when dropped.
pub struct HubProcess {
    child: Child,
    pub port: u16,
    pub http: reqwest::Client,
}

impl HubProcess {
    /// Starts the binary on the scratch's database and key prefix after `adjust` has changed
    /// its settings, and waits until it is ready.
    pub async fn start(scratch: &Scratch, adjust: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = spawn::hub_settings(scratch);
        adjust(&mut settings);
        let port = free_port();
        settings.listen = format!("127.0.0.1:{port}");
        let mut command = Command::new(env!("CARGO_BIN_EXE_hub"));
        // Only these settings count: none from the test's own environment or secrets.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("HUB__") {
                command.env_remove(key);
            }
        }
        let child = command
            .envs(environment(&settings))
            .env("SECRETS_DIR", "/nonexistent")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("the hub binary starts");
        let process = Self {
            child,
            port,
            http: reqwest::Client::new(),
        };
        probe::wait_until_ready(&process.http, &format!("http://127.0.0.1:{port}")).await;
        process
    }

    /// The process id, to read its memory from `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no close frames, no final sync.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Every setting as a `HUB__*` variable. The destructuring names every field, so a new
/// setting does not compile until it is passed on here too.
fn environment(settings: &Settings) -> Vec<(String, String)> {
    let Settings {
        listen,
        redis_url,
        database_url,
        jwt_secret,
        key_prefix,
        redis_pool_size,
        database_pool_size,
        max_message_bytes,
        max_connections_per_user,
        send_buffer_messages,
        send_buffer_bytes,
        max_document_bytes,
        update_bytes_per_second,
        update_burst_bytes,
        max_awareness_states,
        max_awareness_bytes,
        awareness_timeout_ms,
        heartbeat_interval_ms,
        idle_timeout_ms,
        sync_quiet_ms,
        sync_max_delay_ms,
        trim_after_ms,
        unload_after_ms,
        sync_retry_min_ms,
        sync_retry_max_ms,
        max_archive_bytes,
        max_archive_entries,
        max_file_bytes,
        max_template_bytes,
        redis_memory_high_water,
        class_presence_ttl_ms,
    } = settings;
    [
        ("listen", listen.clone()),
        ("redis_url", redis_url.expose_secret().to_owned()),
        ("database_url", database_url.expose_secret().to_owned()),
        ("jwt_secret", jwt_secret.expose_secret().to_owned()),
        ("key_prefix", key_prefix.clone()),
        ("redis_pool_size", redis_pool_size.to_string()),
        ("database_pool_size", database_pool_size.to_string()),
        ("max_message_bytes", max_message_bytes.to_string()),
        (
            "max_connections_per_user",
            max_connections_per_user.to_string(),
        ),
        ("send_buffer_messages", send_buffer_messages.to_string()),
        ("send_buffer_bytes", send_buffer_bytes.to_string()),
        ("max_document_bytes", max_document_bytes.to_string()),
        (
            "update_bytes_per_second",
            update_bytes_per_second.to_string(),
        ),
        ("update_burst_bytes", update_burst_bytes.to_string()),
        ("max_awareness_states", max_awareness_states.to_string()),
        ("max_awareness_bytes", max_awareness_bytes.to_string()),
        ("awareness_timeout_ms", awareness_timeout_ms.to_string()),
        ("heartbeat_interval_ms", heartbeat_interval_ms.to_string()),
        ("idle_timeout_ms", idle_timeout_ms.to_string()),
        ("sync_quiet_ms", sync_quiet_ms.to_string()),
        ("sync_max_delay_ms", sync_max_delay_ms.to_string()),
        ("trim_after_ms", trim_after_ms.to_string()),
        ("unload_after_ms", unload_after_ms.to_string()),
        ("sync_retry_min_ms", sync_retry_min_ms.to_string()),
        ("sync_retry_max_ms", sync_retry_max_ms.to_string()),
        ("max_archive_bytes", max_archive_bytes.to_string()),
        ("max_archive_entries", max_archive_entries.to_string()),
        ("max_file_bytes", max_file_bytes.to_string()),
        ("max_template_bytes", max_template_bytes.to_string()),
        (
            "redis_memory_high_water",
            redis_memory_high_water.fraction().to_string(),
        ),
        ("class_presence_ttl_ms", class_presence_ttl_ms.to_string()),
    ]
    .into_iter()
    .map(|(key, value)| (format!("HUB__{}", key.to_uppercase()), value))
    .collect()
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
