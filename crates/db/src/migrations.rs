//! Applies Flyway's versioned SQL files (`V<n>__<description>.sql`) in version order, each in
//! its own transaction, and records them in `flyway_schema_history` exactly as Flyway does (same
//! table, columns, checksums and ranks), so Flyway can take over a database migrated here and
//! this runner can take over one migrated by Flyway. Flyway runs the files in the stack; this
//! runner applies them in tests and local runs, where no Flyway is installed. Like Flyway's
//! validate, it refuses to go on when an applied file has changed or a migration failed. A
//! database still carrying this runner's former `schema_history` table is adopted into
//! `flyway_schema_history`. An advisory lock lets several processes start at once.

use diesel::sql_types::{Bool, Integer, Nullable, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use std::path::Path;
use std::time::Instant;

/// Arbitrary key of the advisory lock held while migrating.
const LOCK_KEY: i64 = 0x6370_6d69_6772;

/// Flyway's schema history table as Flyway 9/10 creates it on PostgreSQL (created unqualified,
/// hence in the connection's current schema, which is Flyway's default schema).
const CREATE_HISTORY: &str = r#"
CREATE TABLE "flyway_schema_history" (
    "installed_rank" INT NOT NULL,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL,
    "success" BOOLEAN NOT NULL
);
ALTER TABLE "flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
CREATE INDEX "flyway_schema_history_s_idx" ON "flyway_schema_history" ("success");
"#;

/// One versioned migration file.
#[derive(Clone, Debug)]
pub struct Migration {
    pub version: i32,
    /// The version as written in the file name, which is what Flyway records.
    pub version_text: String,
    pub description: String,
    /// The file name, Flyway's `script` column.
    pub script: String,
    /// Flyway's checksum of the file (see [`checksum`]).
    pub checksum: i32,
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
    #[error(
        "migration V{version} ({script}) was changed after it was applied: checksum {} in \
         flyway_schema_history, {file} of the file; restore the file, or run `flyway repair` \
         if the database already matches it",
        show_checksum(*.applied)
    )]
    ChecksumMismatch {
        version: String,
        script: String,
        applied: Option<i32>,
        file: i32,
    },
    #[error(
        "migration V{version} ({script}) was renamed after it was applied: description \
         `{applied}` in flyway_schema_history, `{file}` from the file name"
    )]
    DescriptionMismatch {
        version: String,
        script: String,
        applied: String,
        file: String,
    },
    #[error(
        "migration {script} (version {}) failed in an earlier run and is recorded with \
         success = false in flyway_schema_history; undo what it left behind, then repair the \
         history (`flyway repair`, or delete that row) before migrating again",
        .version.as_deref().unwrap_or("none")
    )]
    FailedEarlier {
        version: Option<String>,
        script: String,
    },
    #[error("flyway_schema_history has version `{0}`; this runner only reads integer versions")]
    BadVersion(String),
    #[error(
        "schema_history records version {0} but no V{0}__*.sql file exists; cannot adopt it \
         into flyway_schema_history"
    )]
    NotAdoptable(i32),
}

fn show_checksum(checksum: Option<i32>) -> String {
    checksum.map_or_else(|| "none".to_owned(), |c| c.to_string())
}

/// Flyway's checksum of a SQL file: CRC-32 over the UTF-8 bytes of its lines without their
/// terminators (`\n`, `\r\n` or `\r`, as Java's `BufferedReader::readLine` splits them), a BOM
/// removed from the first line, stored as Java's `int`.
pub fn checksum(text: &str) -> i32 {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut crc = crc32fast::Hasher::new();
    // Splitting "\r\n" at both characters yields an extra empty piece, which adds no bytes, so
    // every terminator is dropped and every line fed in turn as Flyway does.
    for line in text.split(['\r', '\n']) {
        crc.update(line.as_bytes());
    }
    java_int(crc.finalize())
}

/// Java's `(int) crc.getValue()`: the same 32 bits read as a signed integer.
fn java_int(value: u32) -> i32 {
    i32::from_be_bytes(value.to_be_bytes())
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
        let (version, version_text, description) =
            parse_name(name).ok_or_else(|| MigrationError::BadName(name.to_owned()))?;
        let sql = std::fs::read_to_string(&path).map_err(io_error)?;
        migrations.push(Migration {
            version,
            version_text,
            description,
            script: name.to_owned(),
            checksum: checksum(&sql),
            sql,
        });
    }
    migrations.sort_by_key(|m| m.version);
    if let Some(pair) = migrations.windows(2).find(|w| w[0].version == w[1].version) {
        return Err(MigrationError::Duplicate(pair[0].version));
    }
    Ok(migrations)
}

/// `V12__add_things.sql` → (12, "12", "add things").
fn parse_name(name: &str) -> Option<(i32, String, String)> {
    let stem = name.strip_prefix('V')?.strip_suffix(".sql")?;
    let (version, description) = stem.split_once("__")?;
    Some((
        version.parse().ok()?,
        version.to_owned(),
        description.replace('_', " "),
    ))
}

#[derive(QueryableByName)]
struct HistoryTables {
    #[diesel(sql_type = Bool)]
    flyway: bool,
    #[diesel(sql_type = Bool)]
    legacy: bool,
}

/// One row of `flyway_schema_history`.
#[derive(QueryableByName)]
struct HistoryRow {
    #[diesel(sql_type = Nullable<Text>)]
    version: Option<String>,
    #[diesel(sql_type = Text)]
    description: String,
    #[diesel(sql_type = Text)]
    r#type: String,
    #[diesel(sql_type = Text)]
    script: String,
    #[diesel(sql_type = Nullable<Integer>)]
    checksum: Option<i32>,
    #[diesel(sql_type = Bool)]
    success: bool,
}

#[derive(QueryableByName)]
struct LegacyVersion {
    #[diesel(sql_type = Integer)]
    version: i32,
}

#[derive(QueryableByName)]
struct Present {
    #[diesel(sql_type = Bool)]
    present: bool,
}

#[derive(QueryableByName)]
struct Newest {
    #[diesel(sql_type = Nullable<Integer>)]
    version: Option<i32>,
}

/// The newest migration `flyway_schema_history` records as applied (a baseline counts, a
/// failed one does not); `None` when nothing is recorded, or there is no such table.
pub async fn applied_version(
    conn: &mut AsyncPgConnection,
) -> Result<Option<i32>, diesel::result::Error> {
    let history: Present =
        diesel::sql_query("SELECT to_regclass('flyway_schema_history') IS NOT NULL AS present")
            .get_result(conn)
            .await?;
    if !history.present {
        return Ok(None);
    }
    let newest: Newest = diesel::sql_query(
        "SELECT MAX(version::INTEGER) AS version FROM flyway_schema_history \
         WHERE success AND version ~ '^[0-9]+$'",
    )
    .get_result(conn)
    .await?;
    Ok(newest.version)
}

/// Applies the migrations in `dir` that `url` has not seen yet; returns their versions.
pub async fn migrate(url: &str, dir: &Path) -> Result<Vec<i32>, MigrationError> {
    let migrations = load(dir)?;
    let mut conn = AsyncPgConnection::establish(url).await?;
    // On an error the connection is dropped, which ends the session and releases the lock.
    conn.batch_execute(&format!("SELECT pg_advisory_lock({LOCK_KEY})"))
        .await?;
    let newly_applied = migrate_locked(&mut conn, &migrations).await?;
    conn.batch_execute(&format!("SELECT pg_advisory_unlock({LOCK_KEY})"))
        .await?;
    Ok(newly_applied)
}

async fn migrate_locked(
    conn: &mut AsyncPgConnection,
    migrations: &[Migration],
) -> Result<Vec<i32>, MigrationError> {
    // Both names are looked up in the current schema only, where unqualified CREATE TABLE puts
    // them and where Flyway looks by default.
    let tables: HistoryTables = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() \
                        AND tablename = 'flyway_schema_history') AS flyway, \
                EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() \
                        AND tablename = 'schema_history') AS legacy",
    )
    .get_result(conn)
    .await?;
    match (tables.flyway, tables.legacy) {
        (false, false) => {
            conn.transaction::<_, diesel::result::Error, _>(async |conn| {
                conn.batch_execute(CREATE_HISTORY).await
            })
            .await?;
        }
        (false, true) => adopt_legacy_history(conn, migrations).await?,
        (true, true) => tracing::warn!(
            "both flyway_schema_history and schema_history exist; only flyway_schema_history \
             counts, schema_history can be dropped"
        ),
        (true, false) => {}
    }

    let history: Vec<HistoryRow> = diesel::sql_query(
        "SELECT version, description, type, script, checksum, success \
         FROM flyway_schema_history ORDER BY installed_rank",
    )
    .load(conn)
    .await?;
    let pending = pending(migrations, &history)?;

    let mut newly_applied = Vec::new();
    for migration in pending {
        apply(conn, migration).await?;
        tracing::info!(version = migration.version, description = %migration.description, "migration applied");
        newly_applied.push(migration.version);
    }
    Ok(newly_applied)
}

/// Checks the history against the files as Flyway's validate does and returns the files still
/// to apply, in version order.
fn pending<'m>(
    migrations: &'m [Migration],
    history: &[HistoryRow],
) -> Result<Vec<&'m Migration>, MigrationError> {
    if let Some(failed) = history.iter().find(|row| !row.success) {
        return Err(MigrationError::FailedEarlier {
            version: failed.version.clone(),
            script: failed.script.clone(),
        });
    }
    let mut applied = Vec::new();
    // Flyway counts every version up to a baseline as applied.
    let mut baseline = None;
    for row in history {
        // Rows without a version (repeatable migrations, Flyway's own markers) do not count.
        let Some(text) = &row.version else { continue };
        let version: i32 = text
            .parse()
            .map_err(|_| MigrationError::BadVersion(text.clone()))?;
        if row.r#type == "BASELINE" {
            baseline = baseline.max(Some(version));
            continue;
        }
        applied.push(version);
        let Some(file) = migrations.iter().find(|m| m.version == version) else {
            tracing::warn!(version = %text, script = %row.script, "applied migration has no file");
            continue;
        };
        if row.r#type == "SQL" && row.checksum != Some(file.checksum) {
            return Err(MigrationError::ChecksumMismatch {
                version: text.clone(),
                script: file.script.clone(),
                applied: row.checksum,
                file: file.checksum,
            });
        }
        if row.description != file.description {
            return Err(MigrationError::DescriptionMismatch {
                version: text.clone(),
                script: file.script.clone(),
                applied: row.description.clone(),
                file: file.description.clone(),
            });
        }
    }
    Ok(migrations
        .iter()
        .filter(|m| !applied.contains(&m.version) && baseline.is_none_or(|b| m.version > b))
        .collect())
}

async fn apply(conn: &mut AsyncPgConnection, migration: &Migration) -> Result<(), MigrationError> {
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        let started = Instant::now();
        conn.batch_execute(&migration.sql).await?;
        let millis = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        diesel::sql_query(
            "INSERT INTO flyway_schema_history (installed_rank, version, description, type, \
                 script, checksum, installed_by, execution_time, success) \
             SELECT COALESCE(MAX(installed_rank), 0) + 1, $1, $2, 'SQL', $3, $4, current_user, \
                 $5, TRUE \
             FROM flyway_schema_history",
        )
        .bind::<Text, _>(&migration.version_text)
        .bind::<Text, _>(&migration.description)
        .bind::<Text, _>(&migration.script)
        .bind::<Integer, _>(migration.checksum)
        .bind::<Integer, _>(millis)
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

/// Replaces the former `schema_history (version, description, installed_on)` with the rows
/// Flyway would have written: ranks in version order, the current files' checksums, the
/// original installation times. One transaction, so a failure leaves the old table in place.
async fn adopt_legacy_history(
    conn: &mut AsyncPgConnection,
    migrations: &[Migration],
) -> Result<(), MigrationError> {
    conn.transaction::<_, MigrationError, _>(async |conn| {
        conn.batch_execute(CREATE_HISTORY).await?;
        let versions: Vec<LegacyVersion> =
            diesel::sql_query("SELECT version FROM schema_history ORDER BY version")
                .load(conn)
                .await?;
        for (rank, LegacyVersion { version }) in (1..).zip(&versions) {
            let file = migrations
                .iter()
                .find(|m| m.version == *version)
                .ok_or(MigrationError::NotAdoptable(*version))?;
            // The execution time was never recorded; Flyway's column is NOT NULL.
            diesel::sql_query(
                "INSERT INTO flyway_schema_history (installed_rank, version, description, type, \
                     script, checksum, installed_by, installed_on, execution_time, success) \
                 SELECT $1, $2, $3, 'SQL', $4, $5, current_user, installed_on::timestamp, 0, TRUE \
                 FROM schema_history WHERE version = $6",
            )
            .bind::<Integer, _>(rank)
            .bind::<Text, _>(&file.version_text)
            .bind::<Text, _>(&file.description)
            .bind::<Text, _>(&file.script)
            .bind::<Integer, _>(file.checksum)
            .bind::<Integer, _>(version)
            .execute(conn)
            .await?;
        }
        conn.batch_execute("DROP TABLE schema_history").await?;
        tracing::info!(
            migrations = versions.len(),
            "adopted schema_history into flyway_schema_history"
        );
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_parsed_like_flyway() {
        assert_eq!(
            parse_name("V12__add_things.sql"),
            Some((12, "12".into(), "add things".into()))
        );
        assert_eq!(
            parse_name("V007__padded.sql"),
            Some((7, "007".into(), "padded".into()))
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
        assert!(migrations.iter().all(|m| m.script.starts_with('V')));
    }

    #[test]
    fn the_schema_version_is_the_newest_migration() {
        let migrations = load(&crate::migrations_dir()).unwrap();
        let newest = migrations.last().map(|m| m.version);
        assert_eq!(
            Some(crate::SCHEMA_VERSION),
            newest,
            "db::SCHEMA_VERSION must name the newest file in flyway/sql"
        );
    }

    #[test]
    fn checksums_ignore_line_endings_and_a_bom() {
        let lf = "-- accounts\nCREATE TABLE t (id INT);\n\nINSERT INTO t VALUES (1);\n";
        let crlf = lf.replace('\n', "\r\n");
        let cr = lf.replace('\n', "\r");
        let bom = format!("\u{feff}{lf}");
        let no_final_newline = lf.trim_end();
        for variant in [crlf.as_str(), cr.as_str(), bom.as_str(), no_final_newline] {
            assert_eq!(checksum(variant), checksum(lf), "{variant:?}");
        }
        assert_ne!(checksum(lf), checksum(&lf.replace("(1)", "(2)")));
        // Only a leading BOM is Flyway's to strip; one inside the text is content.
        assert_ne!(checksum("SELECT 1;\n\u{feff}"), checksum("SELECT 1;\n"));
    }

    #[test]
    fn checksums_match_values_computed_independently() {
        // python3: zlib.crc32(b"SELECT 1;SELECT 2;") == 2629868284, as Java's int -1665099012
        assert_eq!(checksum("SELECT 1;\nSELECT 2;\n"), -1_665_099_012);
        // python3: zlib.crc32("-- hélloSELECT 'ü';".encode()) == 2515126059
        assert_eq!(checksum("-- héllo\r\nSELECT 'ü';\r\n"), -1_779_841_237);
        // python3: zlib.crc32(b"SELECT 1;") == 78787420, below 2^31 so unchanged
        assert_eq!(checksum("SELECT 1;\n"), 78_787_420);
        assert_eq!(checksum(""), 0);
    }

    #[test]
    fn checksums_are_read_as_java_ints() {
        assert_eq!(java_int(0), 0);
        assert_eq!(java_int(0x7fff_ffff), i32::MAX);
        assert_eq!(java_int(0x8000_0000), i32::MIN);
        assert_eq!(java_int(0xffff_ffff), -1);
        assert_eq!(java_int(2_629_868_284), -1_665_099_012);
    }

    fn row(version: &str, kind: &str, checksum: Option<i32>, success: bool) -> HistoryRow {
        HistoryRow {
            version: Some(version.to_owned()),
            description: "things".to_owned(),
            r#type: kind.to_owned(),
            script: format!("V{version}__things.sql"),
            checksum,
            success,
        }
    }

    fn file(version: i32, sql: &str) -> Migration {
        Migration {
            version,
            version_text: version.to_string(),
            description: "things".to_owned(),
            script: format!("V{version}__things.sql"),
            checksum: checksum(sql),
            sql: sql.to_owned(),
        }
    }

    #[test]
    fn a_baseline_counts_as_applied_up_to_its_version() {
        let files = [file(1, "a"), file(2, "b"), file(3, "c")];
        let history = [row("2", "BASELINE", None, true)];
        let pending: Vec<i32> = pending(&files, &history)
            .unwrap()
            .iter()
            .map(|m| m.version)
            .collect();
        assert_eq!(pending, [3]);
    }

    #[test]
    fn a_failed_row_stops_the_run() {
        let files = [file(1, "a")];
        let history = [row("1", "SQL", Some(files[0].checksum), false)];
        let error = pending(&files, &history).err().unwrap().to_string();
        assert!(
            error.contains("V1__things.sql") && error.contains("repair"),
            "{error}"
        );
    }

    #[test]
    fn a_null_checksum_on_a_sql_row_is_a_mismatch() {
        let files = [file(1, "a")];
        let history = [row("1", "SQL", None, true)];
        let error = pending(&files, &history).err().unwrap().to_string();
        assert!(error.contains("checksum none"), "{error}");
    }
}
