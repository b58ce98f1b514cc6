//! The HTTP edge every service shares: who is calling ([`Caller`]), the one JSON error
//! envelope and its documented list of codes ([`error`]), the extractor rules that turn bad
//! input into those errors ([`extract`]), a request id and span on every request with its
//! metrics ([`request`]), liveness and readiness probes ([`health`]), one metrics registry
//! ([`metrics`]), signal handling ([`shutdown`]), refusing new work while Redis is nearly full
//! ([`storage`]) and a started server with its background tasks ([`Running`]).
//!
//! A service puts one [`Edge`] in its app data, wraps its `App` in [`request::middleware`]
//! and calls [`configure`]; it adds only its own routes and its own error enum, mapped to a
//! [`Problem`] in one place with [`impl_response_error!`]. Its `run(settings, listener)`
//! returns a [`Running`], and its `main` is [`listen`], `run` and
//! [`Running::until_signalled`].

pub mod caller;
pub mod error;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod request;
pub mod request_id;
pub mod running;
pub mod shutdown;
pub mod storage;

pub use caller::Caller;
pub use error::{EdgeError, ErrorBody, ErrorCode, ErrorDetail, Problem};
pub use health::Readiness;
pub use metrics::Metrics;
pub use request_id::RequestId;
pub use running::{listen, Running};
pub use storage::{HighWater, StorageGuard, StorageRoom};

use actix_web::web;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use tokens::Verifier;

/// Runs just before `/metrics` renders, to sample gauges that are read, not pushed.
pub type ScrapeHook = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// What the edge needs from a service, shared by every worker as `web::Data<Edge>`.
pub struct Edge {
    pub metrics: Metrics,
    pub readiness: Readiness,
    /// What [`Caller`] verifies tokens with (keys and revoked sessions); a service without
    /// users (the grader) has none.
    pub tokens: Option<Verifier>,
    /// Whether Redis has room for new work ([`StorageRoom`]); a service without one never
    /// refuses for it.
    pub storage: Option<Arc<StorageGuard>>,
    before_scrape: Option<ScrapeHook>,
}

impl Edge {
    pub fn new(metrics: Metrics, readiness: Readiness) -> Self {
        Self {
            metrics,
            readiness,
            tokens: None,
            storage: None,
            before_scrape: None,
        }
    }

    /// Verifies callers' tokens with `tokens`.
    pub fn with_tokens(mut self, tokens: Verifier) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Refuses new work with 503 `storage_full` while `guard` finds Redis nearly full.
    pub fn with_storage_guard(mut self, guard: StorageGuard) -> Self {
        self.storage = Some(Arc::new(guard));
        self
    }

    /// Calls `hook` before every scrape of `/metrics`.
    pub fn before_scrape(mut self, hook: ScrapeHook) -> Self {
        self.before_scrape = Some(hook);
        self
    }
}

/// Registers the extractor rules (bodies up to `max_body_bytes`) and `/healthz`, `/readyz`
/// and `/metrics`.
pub fn configure(cfg: &mut web::ServiceConfig, max_body_bytes: usize) {
    extract::configure(cfg, max_body_bytes);
    // Resources (not bare routes), so that another method gets 405 rather than 404.
    cfg.service(web::resource("/healthz").get(health::healthz))
        .service(web::resource("/readyz").get(health::readyz))
        .service(web::resource("/metrics").get(metrics::scrape));
}
