//! A PostgreSQL cluster of the campaign's own (Debian's `initdb` and `postgres` under
//! `/usr/lib/postgresql/<newest>/bin`, run as the `postgres` user), on a free loopback port with
//! its data in the campaign's work folder, so that restarting it disturbs nobody else. The
//! postmaster is a direct child ([`Supervised`]), stopped with SIGINT (a fast shutdown).

use super::supervise::{run_once, wait_until, Supervised};
use anyhow::Context;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::Command;

const ROLE: &str = "platform";
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Postgres {
    process: Supervised,
    port: u16,
}

impl Postgres {
    /// Creates the cluster in `work/postgres`, starts it and creates the platform's role and
    /// database (no schema yet).
    pub async fn start(work: &Path, logs: &Path) -> anyhow::Result<Self> {
        let (uid, gid) = postgres_user()?;
        let data = work.join("postgres");
        let sockets = work.join("postgres-sockets");
        for dir in [&data, &sockets] {
            std::fs::create_dir_all(dir)?;
            std::os::unix::fs::chown(dir, Some(uid), Some(gid))?;
        }
        let bin = bin_dir()?;
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "--encoding=UTF8"])
            .args(["--locale=C.UTF-8", "--no-sync"])
            .uid(uid)
            .gid(gid);
        run_once(&mut initdb, "initdb").await?;
        let port = super::platform::free_port()?;
        let process = Supervised::start("postgres", logs, move || {
            let mut command = Command::new(bin.join("postgres"));
            command
                .arg("-D")
                .arg(&data)
                .args(["-c", "listen_addresses=127.0.0.1"])
                .args(["-c", &format!("port={port}")])
                .args([
                    "-c",
                    &format!("unix_socket_directories={}", sockets.display()),
                ])
                // Like deploy/local/services.sh: the machine is shared, durability is not
                // what a fast shutdown and restart test.
                .args(["-c", "fsync=off", "-c", "max_connections=200"])
                .uid(uid)
                .gid(gid);
            command
        })?;
        let postgres = Self { process, port };
        postgres.wait_until_accepting().await?;
        let mut admin = AsyncPgConnection::establish(&postgres.admin_url()).await?;
        for statement in [
            format!("CREATE ROLE {ROLE} LOGIN CREATEDB"),
            format!("CREATE DATABASE {ROLE} OWNER {ROLE}"),
        ] {
            diesel::sql_query(statement).execute(&mut admin).await?;
        }
        Ok(postgres)
    }

    /// The platform's database, as its services reach it.
    pub fn url(&self) -> String {
        format!("postgres://{ROLE}@127.0.0.1:{}/{ROLE}", self.port)
    }

    fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    async fn wait_until_accepting(&self) -> anyhow::Result<()> {
        let url = self.admin_url();
        wait_until("PostgreSQL accepting connections", START_TIMEOUT, || {
            let url = url.clone();
            async move { AsyncPgConnection::establish(&url).await.is_ok() }
        })
        .await
    }

    /// A fast shutdown: clients are disconnected, what is committed is kept.
    pub async fn stop(&self) {
        self.process.stop(libc::SIGINT).await;
    }

    /// Starts the cluster again and waits until it accepts connections.
    pub async fn resume(&self) -> anyhow::Result<()> {
        self.process.resume()?;
        self.wait_until_accepting().await
    }

    pub fn supervised(&self) -> &Supervised {
        &self.process
    }
}

/// The `postgres` user's uid and gid.
fn postgres_user() -> anyhow::Result<(u32, u32)> {
    // SAFETY: getpwnam reads a NUL-terminated name; the record it returns is read at once,
    // before anything else could call it again.
    unsafe {
        let entry = libc::getpwnam(c"postgres".as_ptr());
        anyhow::ensure!(
            !entry.is_null(),
            "no `postgres` user: install Debian's postgresql (deploy/local/services.sh)"
        );
        Ok(((*entry).pw_uid, (*entry).pw_gid))
    }
}

/// The newest of Debian's PostgreSQL versions, as deploy/local/services.sh picks it.
fn bin_dir() -> anyhow::Result<PathBuf> {
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .context("no /usr/lib/postgresql: install Debian's postgresql")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .max()
        .context("no PostgreSQL version under /usr/lib/postgresql")?;
    Ok(PathBuf::from(format!("/usr/lib/postgresql/{newest}/bin")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn the_cluster_serves_the_platform_role_and_comes_back_after_a_restart() {
        let work = std::env::temp_dir().join(format!("faults-postgres-{}", std::process::id()));
        std::fs::create_dir_all(&work).unwrap();
        std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o755)).unwrap();
        let postgres = Postgres::start(&work, &work).await.unwrap();
        let mut conn = AsyncPgConnection::establish(&postgres.url()).await.unwrap();
        for statement in ["CREATE TABLE kept (n int)", "INSERT INTO kept VALUES (1)"] {
            diesel::sql_query(statement)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        drop(conn);

        postgres.stop().await;
        assert!(AsyncPgConnection::establish(&postgres.url()).await.is_err());
        postgres.resume().await.unwrap();
        let mut conn = AsyncPgConnection::establish(&postgres.url()).await.unwrap();
        let rows = diesel::sql_query("SELECT n FROM kept")
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(rows, 1);
        drop(conn);
        postgres.stop().await;
        std::fs::remove_dir_all(&work).unwrap();
    }
}
