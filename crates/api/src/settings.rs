//! The api's settings: built-in defaults, then `API__CONFIG_FILE`, `API__*` variables and
//! Docker secrets (`database_url`, `redis_url`, `jwt_secret`).

use crate::domain::assignment::Bounds;
use crate::limits::client::TrustedProxies;
use http_edge::HighWater;
use serde::Deserialize;
use settings::{SecretString, SettingsError};

/// Built-in defaults; every other layer overrides them.
pub const DEFAULTS: &str = r#"
listen = "127.0.0.1:8080"
key_prefix = "cp:"
token_lifetime_minutes = 720
max_body_bytes = 262144
max_code_bytes = 65536
cache_enabled = true
cache_ttl_seconds = 300
max_queue_backlog = 2000
max_unfinished_per_user = 10
dispatch_per_user = 2
dispatch_sweep_ms = 5000
lost_grading_after_ms = 300000
stream_max_len = 100000
db_pool_size = 16
redis_pool_size = 32
result_claim_idle_ms = 30000
result_max_deliveries = 5
results_history_ms = 600000
results_history_entries = 10000
redis_memory_high_water = 0.9
web_dir = "web"
max_tests_per_assignment = 50
max_time_limit_ms = 10000
max_memory_limit_mb = 512
max_output_limit_kb = 1024
max_grading_time_ms = 60000
session_max_age_seconds = 86400
trusted_proxies = ""
rate_window_seconds = 60
login_per_address = 60
login_per_account = 10
register_per_address = 20
guests_per_address = 30
hashing_concurrency = 2
hashing_queue = 32
"#;

/// Everything the api needs to start.
#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    /// Address the HTTP server binds to (used by `main`; tests pass their own listener).
    pub listen: String,
    pub database_url: SecretString,
    pub redis_url: SecretString,
    /// HS256 key for tokens, shared with the relay and the hub; at least 32 bytes.
    pub jwt_secret: SecretString,
    /// Prefix of every Redis key (see `contracts::keys`).
    pub key_prefix: String,
    pub token_lifetime_minutes: i64,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest submitted program, in bytes.
    pub max_code_bytes: usize,
    pub cache_enabled: bool,
    pub cache_ttl_seconds: u64,
    /// Above this many unfinished jobs, new submissions get 503 instead of waiting for ages.
    pub max_queue_backlog: u64,
    /// Submissions one user may have queued or grading at once; more get 429.
    pub max_unfinished_per_user: u64,
    /// Jobs of one user on the submissions stream at once; the rest wait in Postgres.
    pub dispatch_per_user: u64,
    /// How often the dispatcher puts waiting jobs on the stream and looks for jobs Redis lost.
    pub dispatch_sweep_ms: u64,
    /// A job being graded whose stream entry is gone is put on the stream again once grading
    /// started this long ago (a grader may still finish it; longer than any grading takes).
    pub lost_grading_after_ms: u64,
    pub stream_max_len: usize,
    pub db_pool_size: usize,
    pub redis_pool_size: usize,
    /// A result entry pending this long at a dead api replica is taken over.
    pub result_claim_idle_ms: u64,
    /// Deliveries after which a result event the database refuses is dead-lettered.
    pub result_max_deliveries: u64,
    /// Recorded result events stay on the stream (for relays resuming a socket) while younger
    /// than this…
    pub results_history_ms: u64,
    /// …and at most this many of them.
    pub results_history_entries: usize,
    /// Above this fraction of Redis's `maxmemory`, new submissions get 503 `storage_full`.
    pub redis_memory_high_water: HighWater,
    /// The web UI's static files, served at `/`; the UI is left out when the folder is missing.
    pub web_dir: String,
    /// The most tests, time limit (per test), memory and output (per test) a teacher may give
    /// an assignment, and the most its tests' time limits may add up to; see [`Bounds`].
    pub max_tests_per_assignment: u64,
    pub max_time_limit_ms: u64,
    pub max_memory_limit_mb: u64,
    pub max_output_limit_kb: u64,
    pub max_grading_time_ms: u64,
    /// WebSocket URL of the relay as browsers reach it; the UI uses `/ws` on its own origin
    /// (the edge proxy's route) when unset.
    #[serde(default)]
    pub relay_url: Option<String>,
    /// URL of the hub as browsers reach it (its WebSocket origin goes into the page's
    /// Content-Security-Policy); the page's own origin when unset.
    #[serde(default)]
    pub hub_url: Option<String>,
    /// A session (a sign-in and its refreshes) ends this long after the sign-in.
    pub session_max_age_seconds: i64,
    /// Peers whose `X-Forwarded-For` names the client (the edge proxy): comma-separated
    /// addresses or CIDR blocks. Nobody's when empty: the peer is the client.
    pub trusted_proxies: TrustedProxies,
    /// The window of the sign-in, registration and guest rate limits.
    pub rate_window_seconds: u64,
    /// Sign-in attempts one client address may make per window.
    pub login_per_address: u64,
    /// Sign-in and registration attempts naming one username per window, from any address.
    pub login_per_account: u64,
    /// Registrations one client address may attempt per window.
    pub register_per_address: u64,
    /// Guest sessions one client address may start per window.
    pub guests_per_address: u64,
    /// Passwords hashed or checked at once (argon2 takes ~19 MiB and a core for each).
    pub hashing_concurrency: usize,
    /// Password checks that may wait for a hashing thread; more get 503 `server_busy`.
    pub hashing_queue: usize,
    /// A runtime catalogue to use instead of the built-in one.
    #[serde(default)]
    pub runtimes_file: Option<String>,
}

impl Settings {
    /// Loads and checks the settings.
    pub fn load() -> Result<Self, SettingsError> {
        let settings: Self = settings::load("API", DEFAULTS)?;
        settings::require_min_len("jwt_secret", &settings.jwt_secret, 32)?;
        settings::require_positive(&[
            ("result_max_deliveries", settings.result_max_deliveries),
            ("max_unfinished_per_user", settings.max_unfinished_per_user),
            ("dispatch_per_user", settings.dispatch_per_user),
            ("dispatch_sweep_ms", settings.dispatch_sweep_ms),
            (
                "session_max_age_seconds",
                settings.session_max_age_seconds.max(0) as u64,
            ),
            ("rate_window_seconds", settings.rate_window_seconds),
            ("login_per_address", settings.login_per_address),
            ("login_per_account", settings.login_per_account),
            ("register_per_address", settings.register_per_address),
            ("guests_per_address", settings.guests_per_address),
            ("hashing_concurrency", settings.hashing_concurrency as u64),
        ])?;
        settings.assignment_bounds()?;
        Ok(settings)
    }

    /// The bounds of teachers' assignments, checked.
    pub fn assignment_bounds(&self) -> Result<Bounds, SettingsError> {
        Bounds::new(
            self.max_tests_per_assignment,
            self.max_time_limit_ms,
            self.max_memory_limit_mb,
            self.max_output_limit_kb,
            self.max_grading_time_ms,
        )
        .map_err(|(key, problem)| SettingsError::Rejected { key, problem })
    }
}
