//! A project's tree of files and directories. Paths are unique per project; a directory is a
//! row of its own, and moving one moves everything under it.

use crate::error::HubError;
use archive::ProjectPath;
use chrono::{DateTime, Utc};
use contracts::project_events::FileEntry;
use contracts::{FileId, ProjectId};
use db::schema::project_files;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

/// One entry of a project's tree.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = project_files)]
pub struct TreeEntry {
    pub id: i64,
    pub path: String,
    pub directory: bool,
    pub updated_at: DateTime<Utc>,
}

impl TreeEntry {
    /// The entry as a project event names it.
    pub fn event_entry(&self) -> FileEntry {
        FileEntry {
            id: FileId(self.id),
            path: self.path.clone(),
            directory: self.directory,
        }
    }
}

/// The whole tree, parents before children.
pub async fn tree(conn: &mut AsyncPgConnection, project: ProjectId) -> QueryResult<Vec<TreeEntry>> {
    project_files::table
        .filter(project_files::project_id.eq(project.0))
        .order(project_files::path)
        .select(TreeEntry::as_select())
        .load(conn)
        .await
}

/// A file's entry and its text as of the last sync, exactly as it was written (any
/// character, U+0000 included: Postgres keeps the text's UTF-8 bytes).
pub async fn content(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    file: FileId,
) -> Result<(TreeEntry, String), HubError> {
    let (entry, bytes): (TreeEntry, Vec<u8>) = project_files::table
        .filter(project_files::project_id.eq(project.0))
        .filter(project_files::id.eq(file.0))
        .select((TreeEntry::as_select(), project_files::content))
        .first(conn)
        .await
        .optional()?
        .ok_or(HubError::NotFound("file"))?;
    // Only the hub writes it, always from a `String`.
    let text = String::from_utf8(bytes)
        .map_err(|e| HubError::Internal(format!("stored text of file {file}: {e}")))?;
    Ok((entry, text))
}

/// Creates a file or directory, and any missing parent directories; returns what it created,
/// parents first, the new entry last.
pub async fn create(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    path: &ProjectPath,
    directory: bool,
) -> Result<Vec<TreeEntry>, HubError> {
    conn.transaction::<_, HubError, _>(async |conn| {
        let mut created = ensure_parents(conn, project, path).await?;
        created.push(insert(conn, project, path.as_str(), directory).await?);
        Ok(created)
    })
    .await
}

/// Moves (renames) a file or directory to `to`, with everything under a directory; returns the
/// entry at its new path, its old path and the parent directories the move created.
pub async fn relocate(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    file: FileId,
    to: &ProjectPath,
) -> Result<Relocated, HubError> {
    conn.transaction::<_, HubError, _>(async |conn| {
        let (entry, _) = content(conn, project, file).await?;
        let from = ProjectPath::parse(&entry.path)?;
        if entry.directory && to.starts_with_dir(&from) {
            return Err(HubError::invalid(
                "path",
                format!("cannot move directory `{from}` into itself"),
            ));
        }
        if exists(conn, project, to.as_str()).await? {
            return Err(HubError::Conflict(format!("`{to}` already exists")));
        }
        let created = ensure_parents(conn, project, to).await?;
        diesel::sql_query(
            "UPDATE project_files SET path = $1 || substr(path, length($2) + 1), \
             updated_at = now() \
             WHERE project_id = $3 AND (path = $2 OR starts_with(path, $2 || '/'))",
        )
        .bind::<Text, _>(to.as_str())
        .bind::<Text, _>(from.as_str())
        .bind::<BigInt, _>(project.0)
        .execute(conn)
        .await?;
        Ok(Relocated {
            entry: content(conn, project, file).await?.0,
            from: entry.path,
            created,
        })
    })
    .await
}

/// A moved entry.
pub struct Relocated {
    pub entry: TreeEntry,
    /// Its path before.
    pub from: String,
    /// Parent directories created on the way, outermost first.
    pub created: Vec<TreeEntry>,
}

/// Deletes a file, or a directory with everything under it; returns the ids of the files
/// whose documents are gone.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    file: FileId,
) -> Result<Vec<FileId>, HubError> {
    let (entry, _) = content(conn, project, file).await?;
    let deleted: Vec<i64> = diesel::sql_query(
        "DELETE FROM project_files \
         WHERE project_id = $1 AND (path = $2 OR starts_with(path, $2 || '/')) \
         RETURNING id",
    )
    .bind::<BigInt, _>(project.0)
    .bind::<Text, _>(&entry.path)
    .load::<DeletedId>(conn)
    .await?
    .into_iter()
    .map(|row| row.id)
    .collect();
    Ok(deleted.into_iter().map(FileId).collect())
}

#[derive(QueryableByName)]
struct DeletedId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

async fn exists(conn: &mut AsyncPgConnection, project: ProjectId, path: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        project_files::table
            .filter(project_files::project_id.eq(project.0))
            .filter(project_files::path.eq(path)),
    ))
    .get_result(conn)
    .await
}

async fn insert(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    path: &str,
    directory: bool,
) -> Result<TreeEntry, HubError> {
    diesel::insert_into(project_files::table)
        .values((
            project_files::project_id.eq(project.0),
            project_files::path.eq(path),
            project_files::directory.eq(directory),
        ))
        .on_conflict_do_nothing()
        .returning(TreeEntry::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or_else(|| HubError::Conflict(format!("`{path}` already exists")))
}

/// Creates the missing directories above `path`, outermost first, and returns them; a file in
/// the way is a conflict.
async fn ensure_parents(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    path: &ProjectPath,
) -> Result<Vec<TreeEntry>, HubError> {
    let mut created = Vec::new();
    let mut parents = Vec::new();
    let mut next = path.parent();
    while let Some(parent) = next {
        next = parent.parent();
        parents.push(parent);
    }
    for parent in parents.into_iter().rev() {
        let kind: Option<bool> = project_files::table
            .filter(project_files::project_id.eq(project.0))
            .filter(project_files::path.eq(parent.as_str()))
            .select(project_files::directory)
            .first(conn)
            .await
            .optional()?;
        match kind {
            Some(true) => {}
            Some(false) => {
                return Err(HubError::Conflict(format!(
                    "`{parent}` is a file, not a directory"
                )))
            }
            None => created.push(insert(conn, project, parent.as_str(), true).await?),
        }
    }
    Ok(created)
}
