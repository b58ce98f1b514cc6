//! The hub as a benchmark target: its release binary as a child process against the local
//! Redis and a scratch Postgres database (the test kit's [`Scratch`]), with one project per
//! room, each with one file, owned by a user of its own whose token every editor of the room
//! uses.

use super::process::{free_port, Server};
use super::Target;
use anyhow::Context;
use diesel::sql_types::BigInt;
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use std::path::PathBuf;
use std::sync::Arc;
use testkit::Scratch;
use tokens::Role;

#[derive(QueryableByName)]
struct Document {
    #[diesel(sql_type = BigInt)]
    project: i64,
    #[diesel(sql_type = BigInt)]
    file: i64,
    #[diesel(sql_type = BigInt)]
    owner: i64,
}

/// Builds the hub, seeds `rooms` projects and starts it.
pub async fn start(rooms: usize) -> anyhow::Result<(Server, Target, Scratch)> {
    let binary = build_hub()?;
    // What must outlive the load: the database and Redis keys are dropped with it.
    let scratch = Scratch::new("bench-hub").await;
    let documents = seed(scratch.database().url(), rooms).await?;

    let port = free_port()?;
    let server = Server::start(hub_command(&binary, &scratch, port), port).await?;

    let urls: Arc<Vec<String>> = Arc::new(
        documents
            .iter()
            .map(|doc| {
                let token = scratch.token(contracts::UserId(doc.owner), Role::Student);
                format!(
                    "ws://127.0.0.1:{port}/hub/projects/{}/docs/{}?token={token}",
                    doc.project, doc.file
                )
            })
            .collect(),
    );
    let target = Target {
        name: "hub".to_owned(),
        pid: server.pid()?,
        url_for: Box::new(move |room, _editor| urls[room].clone()),
    };
    Ok((server, target, scratch))
}

/// The hub binary on `port` with the scratch's database and key prefix, and nothing else from
/// this process's environment or secrets.
pub(crate) fn hub_command(
    binary: &std::path::Path,
    scratch: &Scratch,
    port: u16,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary);
    command
        .env("HUB__LISTEN", format!("127.0.0.1:{port}"))
        .env("HUB__REDIS_URL", testkit::env::redis_url())
        .env("HUB__DATABASE_URL", scratch.database().url())
        .env("HUB__JWT_SECRET", testkit::JWT_SECRET)
        .env("HUB__KEY_PREFIX", scratch.prefix())
        .env("SECRETS_DIR", "/nonexistent")
        .env("RUST_LOG", "warn");
    command
}

/// `cargo build --release -p hub`; returns the binary.
pub(crate) fn build_hub() -> anyhow::Result<PathBuf> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "-p", "hub"])
        .current_dir(&workspace)
        .status()
        .context("running cargo build for the hub")?;
    anyhow::ensure!(status.success(), "building the hub failed");
    Ok(workspace.join("target/release/hub"))
}

/// One user, project and file per room, in a course owned by the first user.
async fn seed(url: &str, rooms: usize) -> anyhow::Result<Vec<Document>> {
    let mut conn = AsyncPgConnection::establish(url).await?;
    // The migrations seed a course and its teacher; the bench's rows are told apart by RETURNING.
    let documents: Vec<Document> = diesel::sql_query(format!(
        "WITH u AS (INSERT INTO users (username, display_name, role) \
                    SELECT 'bench-' || g, 'bench', 'student' FROM generate_series(1, {rooms}) g \
                    RETURNING id), \
              c AS (INSERT INTO courses (title, owner_id) SELECT 'bench', min(id) FROM u \
                    RETURNING id), \
              p AS (INSERT INTO projects (course_id, owner_id) SELECT c.id, u.id FROM c, u \
                    RETURNING id, owner_id), \
              f AS (INSERT INTO project_files (project_id, path, directory) \
                    SELECT id, 'main.py', false FROM p RETURNING id, project_id) \
         SELECT p.id AS project, f.id AS file, p.owner_id AS owner \
         FROM p JOIN f ON f.project_id = p.id ORDER BY p.id"
    ))
    .load(&mut conn)
    .await?;
    anyhow::ensure!(
        documents.len() == rooms,
        "seeded {} of {rooms} rooms",
        documents.len()
    );
    Ok(documents)
}
