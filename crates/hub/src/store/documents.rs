//! The stored state of live documents: read when a hub opens one, written by the sync.

use contracts::{EntryId, FileId, ProjectId};
use db::schema::project_files;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// A file's document as Postgres has it.
pub struct StoredDocument {
    pub project: ProjectId,
    /// `None` for a file that has never had content.
    pub state: Option<Vec<u8>>,
    /// Every log entry up to here is in `state`.
    pub covered: EntryId,
}

/// The stored document of file `file` of `project`; `None` if there is no such file (or it is a
/// directory).
pub async fn load(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    file: FileId,
) -> QueryResult<Option<StoredDocument>> {
    let row: Option<(i64, Option<Vec<u8>>, i64, i64)> = project_files::table
        .filter(project_files::id.eq(file.0))
        .filter(project_files::project_id.eq(project.0))
        .filter(project_files::directory.eq(false))
        .select((
            project_files::project_id,
            project_files::document,
            project_files::synced_entry_ms,
            project_files::synced_entry_seq,
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(
        row.map(|(project, state, millis, sequence)| StoredDocument {
            project: ProjectId(project),
            state,
            covered: EntryId::new(millis as u64, sequence as u64),
        }),
    )
}

/// How a write of a snapshot went.
#[derive(Debug, PartialEq, Eq)]
pub enum Saved {
    /// Postgres now holds the snapshot.
    Written,
    /// Another replica already wrote a state covering more of the log; nothing to do.
    Superseded,
    /// The file is gone.
    Gone,
}

/// A document's state as Postgres keeps it: the encoded Yjs state, its text (as UTF-8 bytes, so
/// that any character is kept), and the last entry of the document's log it covers.
pub struct Stored<'a> {
    pub document: &'a [u8],
    pub text: &'a str,
    pub covered: EntryId,
}

/// Writes `snapshot` unless Postgres already holds a state covering a later log entry.
pub async fn save(
    conn: &mut AsyncPgConnection,
    file: FileId,
    snapshot: Stored<'_>,
) -> QueryResult<Saved> {
    let written = diesel::sql_query(
        "UPDATE project_files SET document = $1, content = $2, synced_entry_ms = $3, \
         synced_entry_seq = $4, updated_at = now() \
         WHERE id = $5 AND (synced_entry_ms, synced_entry_seq) <= ($3, $4)",
    )
    .bind::<Bytea, _>(snapshot.document)
    .bind::<Bytea, _>(snapshot.text.as_bytes())
    .bind::<BigInt, _>(snapshot.covered.millis() as i64)
    .bind::<BigInt, _>(snapshot.covered.sequence() as i64)
    .bind::<BigInt, _>(file.0)
    .execute(conn)
    .await?;
    if written > 0 {
        return Ok(Saved::Written);
    }
    let exists: bool = diesel::select(diesel::dsl::exists(
        project_files::table.filter(project_files::id.eq(file.0)),
    ))
    .get_result(conn)
    .await?;
    Ok(if exists {
        Saved::Superseded
    } else {
        Saved::Gone
    })
}
