//! The Flyway files apply cleanly to a real Postgres, once, and seed the Python course.

use db::scratch::ScratchDatabase;
use diesel::sql_types::BigInt;
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://platform@127.0.0.1:5432/platform".into())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[tokio::test]
async fn migrations_apply_once_and_seed_six_python_exercises() {
    let database = ScratchDatabase::create(&admin_url()).await.unwrap();
    let again = db::migrations::migrate(database.url(), &db::migrations_dir())
        .await
        .unwrap();
    assert!(again.is_empty(), "re-applied {again:?}");

    let mut conn = AsyncPgConnection::establish(database.url()).await.unwrap();
    let seeded: Count = diesel::sql_query(
        "SELECT count(*) AS count FROM assignments a JOIN courses c ON c.id = a.course_id \
         WHERE c.title = 'Python basics' AND a.runtime = 'python3'",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert!(seeded.count >= 6, "only {} exercises", seeded.count);
}
