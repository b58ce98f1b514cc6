//! Where the real services are: `REDIS_URL` and `DATABASE_URL` (a role that may create
//! databases), defaulting to what `deploy/local/services.sh` starts.

use std::path::PathBuf;

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The database tests connect to in order to create their own.
pub fn admin_database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://platform@127.0.0.1:5432/platform".into())
}

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
