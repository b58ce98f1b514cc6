//! Throw-away databases: each test gets a fresh database of its own on the real server,
//! cloned from a template that is migrated once (per set of migration files) and dropped
//! again when the value is dropped.
//!
//! Cloning a template (`CREATE DATABASE … TEMPLATE`) copies files; it is much faster than
//! running every migration for every test.

use crate::env::admin_database_url;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Serialises template creation across processes (test binaries run in parallel).
const TEMPLATE_LOCK: i64 = 0x6370_7465_6d70;

/// A migrated database that exists until this value is dropped.
pub struct ScratchDatabase {
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// `scratch_<random>`, a copy of the migrated template, next to `DATABASE_URL`'s database
    /// (whose role needs CREATEDB).
    pub async fn create() -> anyhow::Result<Self> {
        let admin_url = admin_database_url();
        let template = template(&admin_url).await?;
        let name = format!("scratch_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(&admin_url).await?;
        // Another clone of the same template may hold it for a moment.
        let mut attempt = 0;
        loop {
            let created = admin
                .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
                .await;
            match created {
                Ok(()) => break,
                Err(error) if attempt < 50 && error.to_string().contains("being accessed") => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                // Dropped by another checkout's tests (an older test kit dropped every
                // template but its own): made again.
                Err(error) if attempt < 50 && error.to_string().contains("does not exist") => {
                    attempt += 1;
                    build_template(&admin_url, &template).await?;
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(Self {
            url: replace_database(&admin_url, &name),
            name,
        })
    }

    /// Connection URL of the scratch database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A small pool on the scratch database.
    pub fn pool(&self) -> db::DbPool {
        db::pool(&self.url, 4).expect("a valid database URL")
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if run_detached(statement).is_err() {
            tracing::warn!(database = %self.name, "could not drop scratch database");
        }
    }
}

/// The name of the migrated template for the repository's current migration files, created
/// on first use (by whichever process gets there first).
async fn template(admin_url: &str) -> anyhow::Result<String> {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_try_init(|| async {
            let fingerprint = db::migrations::load(&db::migrations_dir())?
                .iter()
                .fold(0u32, |acc, m| acc.rotate_left(5) ^ m.checksum as u32);
            let name = format!("scratch_template_{fingerprint:08x}");
            build_template(admin_url, &name).await?;
            Ok(name)
        })
        .await
        .cloned()
}

/// Makes the template `name` unless it exists, one process at a time.
async fn build_template(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut admin = AsyncPgConnection::establish(admin_url).await?;
    admin
        .batch_execute(&format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"))
        .await?;
    let made = make_template(&mut admin, admin_url, name, &db::migrations_dir()).await;
    admin
        .batch_execute(&format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"))
        .await?;
    made
}

async fn make_template(
    admin: &mut AsyncPgConnection,
    admin_url: &str,
    name: &str,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Database {
        #[diesel(sql_type = Text)]
        datname: String,
    }
    let templates: Vec<Database> = diesel::sql_query(
        "SELECT datname FROM pg_database WHERE datname LIKE 'scratch\\_template\\_%'",
    )
    .load(admin)
    .await?;
    if templates.iter().any(|t| t.datname == name) {
        return Ok(());
    }
    // Templates of other migration files stay: another checkout's tests on this server (a
    // branch with a migration more or less) may be cloning them right now.
    // Built under another name and renamed, so a half-migrated template is never cloned.
    let building = format!("{name}_building");
    // Two statements: neither may run inside the implicit transaction of a batch.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
        .await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {building}"))
        .await?;
    db::migrations::migrate(&replace_database(admin_url, &building), dir).await?;
    admin
        .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}"))
        .await?;
    Ok(())
}

/// Runs `statement` on the admin database from a thread of its own: `Drop` cannot be async,
/// and the test's runtime may be shutting down.
fn run_detached(statement: String) -> std::io::Result<()> {
    let admin_url = admin_database_url();
    std::thread::spawn(move || {
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
    .join()
    .map_err(|_| std::io::Error::other("the dropping thread panicked"))?
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
