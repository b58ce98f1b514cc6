//! The Postgres side shared by the services that own data: the diesel schema (mirroring
//! `flyway/sql`), the row types, the connection pool, and a migration runner that applies the
//! same Flyway SQL files in tests and local runs.

pub mod migrations;
pub mod models;
pub mod schema;

use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::AsyncPgConnection;

pub use diesel_async::pooled_connection::deadpool::PoolError;

/// The newest migration (`flyway/sql/V<n>__…`) this code was written against: the api and the
/// hub are not ready on a database whose `flyway_schema_history` has not reached it. A unit
/// test keeps it equal to the newest file.
pub const SCHEMA_VERSION: i32 = 12;

/// A pool of async Postgres connections.
pub type DbPool = Pool<AsyncPgConnection>;

/// Builds a pool of at most `max_size` connections to `url`. Connections open lazily.
pub fn pool(url: &str, max_size: usize) -> Result<DbPool, String> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(std::time::Duration::from_secs(5)))
        .create_timeout(Some(std::time::Duration::from_secs(5)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| e.to_string())
}

/// The Flyway migrations folder of this repository.
pub fn migrations_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flyway/sql")
}

/// A pooled connection.
pub type Connection = diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>;
