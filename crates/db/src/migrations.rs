//! Applies Flyway's versioned SQL files (`V<n>__<description>.sql`) in version order, each in
//! its own transaction, and records them in `schema_history`. Flyway itself runs them in the
//! stack; this runner applies the very same files in tests and local runs, where no Flyway is
//! installed. An advisory lock lets several processes start at once.

use diesel::sql_types::Integer;
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use std::path::Path;

/// Arbitrary key of the advisory lock held while migrating.
const LOCK_KEY: i64 = 0x6370_6d69_6772;

/// One versioned migration file.
#[derive(Clone, Debug)]
pub struct Migration {
    pub version: i32,
    pub description: String,
    pub sql: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("cannot read migrations in {0}: {1}")]
    Io(String, std::io::Error),
    #[error("`{0}` is not named V<version>__<description>.sql")]
    BadName(String),
    #[error("two migrations have version {0}")]
    Duplicate(i32),
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("migration V{version} failed: {source}")]
    Failed {
        version: i32,
        source: diesel::result::Error,
    },
}

/// Reads and orders the migrations in `dir`.
pub fn load(dir: &Path) -> Result<Vec<Migration>, MigrationError> {
    let io_error = |e| MigrationError::Io(dir.display().to_string(), e);
    let mut migrations = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !name.ends_with(".sql") {
            continue;
        }
        let (version, description) =
            parse_name(name).ok_or_else(|| MigrationError::BadName(name.to_owned()))?;
        let sql = std::fs::read_to_string(&path).map_err(io_error)?;
        migrations.push(Migration {
            version,
            description,
            sql,
        });
    }
    migrations.sort_by_key(|m| m.version);
    if let Some(pair) = migrations.windows(2).find(|w| w[0].version == w[1].version) {
        return Err(MigrationError::Duplicate(pair[0].version));
    }
    Ok(migrations)
}

fn parse_name(name: &str) -> Option<(i32, String)> {
    let stem = name.strip_prefix('V')?.strip_suffix(".sql")?;
    let (version, description) = stem.split_once("__")?;
    Some((version.parse().ok()?, description.replace('_', " ")))
}

#[derive(QueryableByName)]
struct AppliedVersion {
    #[diesel(sql_type = Integer)]
    version: i32,
}

/// Applies the migrations in `dir` that `url` has not seen yet; returns their versions.
pub async fn migrate(url: &str, dir: &Path) -> Result<Vec<i32>, MigrationError> {
    let migrations = load(dir)?;
    let mut conn = AsyncPgConnection::establish(url).await?;
    conn.batch_execute(&format!(
        "SELECT pg_advisory_lock({LOCK_KEY});
         CREATE TABLE IF NOT EXISTS schema_history (
             version INTEGER PRIMARY KEY,
             description TEXT NOT NULL,
             installed_on TIMESTAMPTZ NOT NULL DEFAULT now());"
    ))
    .await?;
    let applied: Vec<i32> = diesel::sql_query("SELECT version FROM schema_history")
        .load::<AppliedVersion>(&mut conn)
        .await?
        .into_iter()
        .map(|row| row.version)
        .collect();
    let mut newly_applied = Vec::new();
    for migration in migrations.iter().filter(|m| !applied.contains(&m.version)) {
        apply(&mut conn, migration).await?;
        tracing::info!(version = migration.version, description = %migration.description, "migration applied");
        newly_applied.push(migration.version);
    }
    conn.batch_execute(&format!("SELECT pg_advisory_unlock({LOCK_KEY})"))
        .await?;
    Ok(newly_applied)
}

async fn apply(conn: &mut AsyncPgConnection, migration: &Migration) -> Result<(), MigrationError> {
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        conn.batch_execute(&migration.sql).await?;
        diesel::sql_query("INSERT INTO schema_history (version, description) VALUES ($1, $2)")
            .bind::<Integer, _>(migration.version)
            .bind::<diesel::sql_types::Text, _>(&migration.description)
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
    .map_err(|source| MigrationError::Failed {
        version: migration.version,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_parsed_like_flyway() {
        assert_eq!(
            parse_name("V12__add_things.sql"),
            Some((12, "add things".into()))
        );
        assert_eq!(parse_name("V1_single_underscore.sql"), None);
        assert_eq!(parse_name("R__repeatable.sql"), None);
    }

    #[test]
    fn the_repository_migrations_load_in_order() {
        let migrations = load(&crate::migrations_dir()).unwrap();
        let versions: Vec<i32> = migrations.iter().map(|m| m.version).collect();
        let mut sorted = versions.clone();
        sorted.sort();
        assert_eq!(versions, sorted);
        assert!(versions.len() >= 3);
    }
}
