//! Throw-away databases for tests and benchmarks: each gets a fresh, migrated database of its
//! own on the real server, dropped again when the value is dropped.

use crate::migrations::{migrate, MigrationError};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

/// A migrated database that exists until this value is dropped.
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// Creates `scratch_<random>` next to the database of `admin_url` (whose user needs
    /// CREATEDB) and applies the repository's migrations to it.
    pub async fn create(admin_url: &str) -> Result<Self, MigrationError> {
        let name = format!("scratch_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(admin_url).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        let url = replace_database(admin_url, &name);
        let database = Self {
            admin_url: admin_url.to_owned(),
            name,
            url,
        };
        migrate(&database.url, &crate::migrations_dir()).await?;
        Ok(database)
    }

    /// Connection URL of the scratch database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop cannot be async; a short-lived runtime on its own thread does the work even
        // when the test's runtime is shutting down.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = AsyncPgConnection::establish(&admin_url)
                    .await
                    .map_err(std::io::Error::other)?;
                admin
                    .batch_execute(&statement)
                    .await
                    .map_err(std::io::Error::other)
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            tracing::warn!(database = %self.name, "could not drop scratch database");
        }
    }
}

/// `url` with its database name replaced by `name`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = base.rsplit_once('/').map_or(base, |(head, _)| head);
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn the_database_name_is_replaced_and_options_kept() {
        assert_eq!(
            replace_database("postgres://u@h:5432/platform", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u@h/platform?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
