//! What every handler shares: the pools, the streams, token keys, the cache and metrics.

use crate::auth::Passwords;
use crate::cache::Cache;
use crate::domain::assignment::Bounds;
use crate::limits::client::TrustedProxies;
use crate::limits::RateLimits;
use crate::metrics::Metrics;
use crate::settings::Settings;
use contracts::{Keys, RuntimeCatalog, Streams};
use db::DbPool;
use tokens::{TokenKeys, Verifier};

/// Shared, cheaply cloned state of the api.
#[derive(Clone)]
pub struct AppState {
    pub db: DbPool,
    pub streams: Streams,
    pub keys: Keys,
    pub tokens: TokenKeys,
    pub runtimes: RuntimeCatalog,
    pub cache: Cache,
    pub metrics: Metrics,
    pub max_code_bytes: usize,
    pub max_queue_backlog: u64,
    pub max_unfinished_per_user: u64,
    /// What teachers may set in an assignment.
    pub bounds: Bounds,
    /// Jobs of one user on the submissions stream at once.
    pub dispatch_per_user: u64,
    /// How long after its start a job still waiting for its verdict counts as lost.
    pub lost_grading_after: chrono::Duration,
    pub relay_url: Option<String>,
    /// Verifies tokens and revokes sessions (signing out).
    pub sessions: Verifier,
    pub passwords: Passwords,
    pub rate_limits: RateLimits,
    pub trusted_proxies: TrustedProxies,
}

impl AppState {
    /// A database connection from the pool.
    pub async fn conn(&self) -> Result<db::Connection, crate::error::ApiError> {
        Ok(self.db.get().await?)
    }

    pub(crate) fn from_settings(
        settings: &Settings,
        db: DbPool,
        streams: Streams,
        runtimes: RuntimeCatalog,
        metrics: Metrics,
        bounds: Bounds,
    ) -> Result<Self, crate::error::ApiError> {
        let keys = Keys::new(settings.key_prefix.clone());
        let tokens = TokenKeys::new(
            &settings.jwt_secret,
            chrono::Duration::minutes(settings.token_lifetime_minutes),
        )
        .with_max_session(chrono::Duration::seconds(settings.session_max_age_seconds));
        let cache = Cache::new(
            streams.pool().clone(),
            settings.cache_enabled,
            settings.cache_ttl_seconds,
            metrics.clone(),
        );
        Ok(Self {
            sessions: Verifier::new(tokens.clone(), streams.pool().clone(), keys.clone()),
            passwords: Passwords::start(settings.hashing_concurrency, settings.hashing_queue)?,
            rate_limits: RateLimits::new(settings, streams.pool().clone(), keys.clone()),
            trusted_proxies: settings.trusted_proxies.clone(),
            db,
            streams,
            keys,
            tokens,
            runtimes,
            cache,
            metrics,
            max_code_bytes: settings.max_code_bytes,
            max_queue_backlog: settings.max_queue_backlog,
            max_unfinished_per_user: settings.max_unfinished_per_user,
            bounds,
            dispatch_per_user: settings.dispatch_per_user,
            lost_grading_after: i64::try_from(settings.lost_grading_after_ms)
                .ok()
                .and_then(chrono::Duration::try_milliseconds)
                .unwrap_or(chrono::Duration::MAX),
            relay_url: settings.relay_url.clone(),
        })
    }
}
