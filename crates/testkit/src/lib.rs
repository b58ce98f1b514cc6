//! What every crate's tests (and the benchmarks) share: where the real Redis, Postgres and
//! Docker are ([`env`]), a scratch database cloned from a template migrated once per run
//! ([`database`]) and a scratch key prefix ([`keys`]) per test, the services started
//! in-process on port 0 with named setting overrides ([`spawn`]), readiness and metric helpers
//! ([`probe`]), the sandbox image ([`sandbox`]), a Redis server of a test's own for tests that
//! flush or stop it ([`RedisServer`]), a forwarder a test can cut to take Docker or Postgres
//! away ([`Proxy`]), result events of a chosen size ([`results`]), the whole platform at once
//! ([`Stack`]), a client of the hub's class presence ([`PresenceClient`]), one origin in front of the api and the hub for the web page ([`Edge`]), and
//! headless Chromium over WebDriver ([`Browser`]).
//!
//! A dev-dependency only (and a dependency of the benchmarks): nothing here ships.

pub mod browser;
pub mod database;
pub mod edge;
pub mod env;
pub mod keys;
pub mod presence;
pub mod probe;
pub mod proxy;
pub mod redis_server;
pub mod results;
pub mod sandbox;
pub mod schemathesis;
pub mod scratch;
pub mod spawn;
pub mod stack;

pub use browser::Browser;
pub use database::ScratchDatabase;
pub use edge::Edge;
pub use keys::ScratchPrefix;
pub use presence::PresenceClient;
pub use proxy::Proxy;
pub use redis_server::{Filler, RedisServer};
pub use scratch::Scratch;
pub use spawn::Service;
pub use stack::Stack;

use std::time::Duration;

/// Long enough for anything that should happen, short enough to fail fast.
pub const WAIT: Duration = Duration::from_secs(20);

/// The token key every service started here shares.
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret!";

/// Logs of the code under test go to the test's captured output (`RUST_LOG`, default `warn`).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}
