//! The Flyway files apply cleanly to a real Postgres, once, recorded in `flyway_schema_history`
//! as Flyway records them; changed files and failed runs stop the runner; a database of the
//! former `schema_history` runner is adopted. Each test makes its own throw-away database.

use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use std::path::PathBuf;

fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://platform@127.0.0.1:5432/platform".into())
}

/// An empty database `scratch_<random>` next to the admin database, dropped with this value.
struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    async fn create() -> Self {
        let admin_url = admin_url();
        let name = format!("scratch_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(&admin_url).await.unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let (base, query) = match admin_url.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (admin_url.as_str(), String::new()),
        };
        let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
        let url = format!("{server}/{name}{query}");
        Self {
            admin_url,
            name,
            url,
        }
    }

    async fn connect(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.url).await.unwrap()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop cannot be async, and the test's runtime may be shutting down: a runtime of its
        // own on another thread does the work.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    let mut admin = AsyncPgConnection::establish(&admin_url).await.ok()?;
                    admin.batch_execute(&statement).await.ok()
                })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// A copy of the repository's migrations in a temporary folder, removed with this value.
struct MigrationsCopy(PathBuf);

impl MigrationsCopy {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("db-migrations-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir).unwrap();
        for entry in std::fs::read_dir(db::migrations_dir()).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
        Self(dir)
    }

    fn file(&self, version: i32) -> PathBuf {
        let prefix = format!("V{version}__");
        std::fs::read_dir(&self.0)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .find(|path| {
                path.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .starts_with(&prefix)
            })
            .unwrap()
    }
}

impl Drop for MigrationsCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The repository's migration files: (version, file name, contents), in version order.
fn repository_files() -> Vec<(i32, String, String)> {
    let mut files: Vec<(i32, String, String)> = std::fs::read_dir(db::migrations_dir())
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            let version = name[1..name.find("__").unwrap()].parse().unwrap();
            (version, name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort_by_key(|(version, ..)| *version);
    files
}

/// Flyway's checksum worked out another way than the runner's: CRC-32 of the file's bytes with
/// every line terminator byte and a leading BOM removed, as Java's signed int.
fn flyway_checksum(text: &str) -> i32 {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bytes: Vec<u8> = text
        .bytes()
        .filter(|b| *b != b'\r' && *b != b'\n')
        .collect();
    i32::from_ne_bytes(crc32fast::hash(&bytes).to_ne_bytes())
}

#[derive(QueryableByName, Debug)]
struct HistoryRow {
    #[diesel(sql_type = Integer)]
    installed_rank: i32,
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
    by_current_user: bool,
    #[diesel(sql_type = Integer)]
    execution_time: i32,
    #[diesel(sql_type = Bool)]
    success: bool,
}

async fn history(conn: &mut AsyncPgConnection) -> Vec<HistoryRow> {
    diesel::sql_query(
        "SELECT installed_rank, version, description, type, script, checksum, \
                installed_by = current_user AS by_current_user, execution_time, success \
         FROM flyway_schema_history ORDER BY installed_rank",
    )
    .load(conn)
    .await
    .unwrap()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

async fn count(conn: &mut AsyncPgConnection, query: &str) -> i64 {
    diesel::sql_query(query)
        .get_result::<Count>(conn)
        .await
        .unwrap()
        .count
}

/// Asserts that `rows` are exactly the repository's files recorded as Flyway records them.
fn assert_history_matches_files(rows: &[HistoryRow]) {
    let files = repository_files();
    assert_eq!(rows.len(), files.len(), "{rows:#?}");
    for ((rank, row), (version, name, text)) in (1..).zip(rows).zip(&files) {
        let description = name[name.find("__").unwrap() + 2..name.len() - 4].replace('_', " ");
        assert_eq!(row.installed_rank, rank, "{row:?}");
        assert_eq!(row.version.as_deref(), Some(version.to_string().as_str()));
        assert_eq!(row.description, description);
        assert_eq!(row.r#type, "SQL");
        assert_eq!(&row.script, name);
        assert_eq!(row.checksum, Some(flyway_checksum(text)), "{name}");
        assert!(row.by_current_user, "{row:?}");
        assert!(row.execution_time >= 0);
        assert!(row.success);
    }
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Nullable<Integer>)]
    length: Option<i32>,
    #[diesel(sql_type = Bool)]
    nullable: bool,
    #[diesel(sql_type = Nullable<Text>)]
    default: Option<String>,
}

#[tokio::test]
async fn a_fresh_database_gets_flyway_history_rows() {
    let database = TestDatabase::create().await;
    let applied = db::migrations::migrate(&database.url, &db::migrations_dir())
        .await
        .unwrap();
    let versions: Vec<i32> = repository_files().iter().map(|(v, ..)| *v).collect();
    assert_eq!(applied, versions);

    let mut conn = database.connect().await;
    assert_history_matches_files(&history(&mut conn).await);

    // The table Flyway 9/10 creates on PostgreSQL, in the current schema.
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT column_name::text AS name, data_type::text AS data_type, \
                character_maximum_length::int AS length, is_nullable = 'YES' AS nullable, \
                column_default::text AS default \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = 'flyway_schema_history' \
         ORDER BY ordinal_position",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let column = |name: &str, data_type: &str, length, nullable, default: Option<&str>| Column {
        name: name.into(),
        data_type: data_type.into(),
        length,
        nullable,
        default: default.map(Into::into),
    };
    assert_eq!(
        columns,
        [
            column("installed_rank", "integer", None, false, None),
            column("version", "character varying", Some(50), true, None),
            column("description", "character varying", Some(200), false, None),
            column("type", "character varying", Some(20), false, None),
            column("script", "character varying", Some(1000), false, None),
            column("checksum", "integer", None, true, None),
            column("installed_by", "character varying", Some(100), false, None),
            column(
                "installed_on",
                "timestamp without time zone",
                None,
                false,
                Some("now()")
            ),
            column("execution_time", "integer", None, false, None),
            column("success", "boolean", None, false, None),
        ]
    );
    let indexes = count(
        &mut conn,
        "SELECT count(*) AS count FROM pg_indexes \
         WHERE schemaname = current_schema() AND tablename = 'flyway_schema_history' \
           AND (indexname, indexdef) IN ( \
             ('flyway_schema_history_pk', 'CREATE UNIQUE INDEX flyway_schema_history_pk ON ' \
                || current_schema() || '.flyway_schema_history USING btree (installed_rank)'), \
             ('flyway_schema_history_s_idx', 'CREATE INDEX flyway_schema_history_s_idx ON ' \
                || current_schema() || '.flyway_schema_history USING btree (success)'))",
    )
    .await;
    assert_eq!(indexes, 2, "primary key or success index missing");
    let primary_keys = count(
        &mut conn,
        "SELECT count(*) AS count FROM pg_constraint \
         WHERE conname = 'flyway_schema_history_pk' AND contype = 'p'",
    )
    .await;
    assert_eq!(primary_keys, 1);
    let legacy = count(
        &mut conn,
        "SELECT count(*) AS count FROM pg_tables WHERE tablename = 'schema_history'",
    )
    .await;
    assert_eq!(legacy, 0, "the former schema_history table was created");
}

#[tokio::test]
async fn migrations_apply_once_and_seed_six_python_exercises() {
    let database = TestDatabase::create().await;
    db::migrations::migrate(&database.url, &db::migrations_dir())
        .await
        .unwrap();
    let again = db::migrations::migrate(&database.url, &db::migrations_dir())
        .await
        .unwrap();
    assert!(again.is_empty(), "re-applied {again:?}");

    let mut conn = database.connect().await;
    assert_history_matches_files(&history(&mut conn).await);
    let seeded = count(
        &mut conn,
        "SELECT count(*) AS count FROM assignments a JOIN courses c ON c.id = a.course_id \
         WHERE c.title = 'Python basics' AND a.runtime = 'python3'",
    )
    .await;
    assert!(seeded >= 6, "only {seeded} exercises");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_starting_at_once_apply_each_migration_once() {
    let database = TestDatabase::create().await;
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let url = database.url.clone();
            tokio::spawn(async move {
                db::migrations::migrate(&url, &db::migrations_dir())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut applied = Vec::new();
    for run in runs {
        applied.extend(run.await.unwrap());
    }
    applied.sort();
    let versions: Vec<i32> = repository_files().iter().map(|(v, ..)| *v).collect();
    assert_eq!(applied, versions);
    assert_history_matches_files(&history(&mut database.connect().await).await);
}

#[tokio::test]
async fn other_line_endings_and_a_bom_are_not_a_change() {
    let database = TestDatabase::create().await;
    let copy = MigrationsCopy::new();
    db::migrations::migrate(&database.url, &copy.0)
        .await
        .unwrap();

    let first = copy.file(1);
    let text = std::fs::read_to_string(&first).unwrap();
    std::fs::write(&first, format!("\u{feff}{}", text.replace('\n', "\r\n"))).unwrap();
    let again = db::migrations::migrate(&database.url, &copy.0)
        .await
        .unwrap();
    assert!(again.is_empty(), "re-applied {again:?}");
}

#[tokio::test]
async fn an_edited_applied_file_stops_the_runner_and_is_named() {
    let database = TestDatabase::create().await;
    let copy = MigrationsCopy::new();
    db::migrations::migrate(&database.url, &copy.0)
        .await
        .unwrap();

    let second = copy.file(2);
    let name = second.file_name().unwrap().to_str().unwrap().to_owned();
    let original = std::fs::read_to_string(&second).unwrap();
    let edited = format!("{original}\n-- an afterthought\n");
    std::fs::write(&second, &edited).unwrap();
    let error = db::migrations::migrate(&database.url, &copy.0)
        .await
        .unwrap_err()
        .to_string();
    for expected in [
        "V2".to_owned(),
        name,
        flyway_checksum(&original).to_string(),
        flyway_checksum(&edited).to_string(),
    ] {
        assert!(error.contains(&expected), "`{expected}` not in: {error}");
    }
}

#[tokio::test]
async fn a_failed_migration_row_stops_the_runner_until_repaired() {
    let database = TestDatabase::create().await;
    db::migrations::migrate(&database.url, &db::migrations_dir())
        .await
        .unwrap();
    let mut conn = database.connect().await;
    conn.batch_execute(
        "UPDATE flyway_schema_history SET success = FALSE \
         WHERE installed_rank = (SELECT max(installed_rank) FROM flyway_schema_history)",
    )
    .await
    .unwrap();
    let last = repository_files().pop().unwrap().1;

    let error = db::migrations::migrate(&database.url, &db::migrations_dir())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains(&last) && error.contains("repair"), "{error}");
}

/// Applies `files` the way the former runner did, recording them in `schema_history`.
async fn migrate_the_old_way(conn: &mut AsyncPgConnection, files: &[(i32, String, String)]) {
    conn.batch_execute(
        "CREATE TABLE schema_history (
             version INTEGER PRIMARY KEY,
             description TEXT NOT NULL,
             installed_on TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .unwrap();
    for (_, _, text) in files {
        conn.batch_execute(text).await.unwrap();
    }
    // Rows written out of version order, so the ranks must come from the versions.
    for (version, name, _) in files.iter().rev() {
        let description = name[name.find("__").unwrap() + 2..name.len() - 4].replace('_', " ");
        diesel::sql_query(
            "INSERT INTO schema_history (version, description, installed_on) \
             VALUES ($1, $2, '2024-03-01 12:00:00+00'::timestamptz + $1 * interval '1 hour')",
        )
        .bind::<Integer, _>(version)
        .bind::<Text, _>(description)
        .execute(conn)
        .await
        .unwrap();
    }
}

#[derive(QueryableByName)]
struct InstalledOn {
    #[diesel(sql_type = Bool)]
    kept: bool,
}

#[tokio::test]
async fn a_schema_history_database_is_adopted() {
    let database = TestDatabase::create().await;
    let files = repository_files();
    let mut conn = database.connect().await;
    // The old runner applied the first two files; the rest are new.
    migrate_the_old_way(&mut conn, &files[..2]).await;

    let applied = db::migrations::migrate(&database.url, &db::migrations_dir())
        .await
        .unwrap();
    let rest: Vec<i32> = files.iter().skip(2).map(|(v, ..)| *v).collect();
    assert_eq!(applied, rest);

    let rows = history(&mut conn).await;
    assert_history_matches_files(&rows);
    assert!(rows[..2].iter().all(|row| row.execution_time == 0));
    let kept: InstalledOn = diesel::sql_query(
        "SELECT bool_and(installed_on = ('2024-03-01 12:00:00+00'::timestamptz \
                 + version::int * interval '1 hour')::timestamp) AS kept \
         FROM flyway_schema_history WHERE installed_rank <= 2",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert!(kept.kept, "installation times were not carried over");
    let legacy = count(
        &mut conn,
        "SELECT count(*) AS count FROM pg_tables WHERE tablename = 'schema_history'",
    )
    .await;
    assert_eq!(legacy, 0, "schema_history was not dropped");

    let again = db::migrations::migrate(&database.url, &db::migrations_dir())
        .await
        .unwrap();
    assert!(again.is_empty(), "re-applied {again:?}");
}
