//! Applies the Flyway migrations to a database: `migrate [DIR]` with `DATABASE_URL` set.
//! Used by the local scripts and the stack's fallback migration job, where Flyway itself is not
//! installed; records them in `flyway_schema_history` as Flyway would.

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("migrate: DATABASE_URL is not set");
        return ExitCode::FAILURE;
    };
    let dir = std::env::args()
        .nth(1)
        .map_or_else(db::migrations_dir, Into::into);
    // The error's own message (which file changed, what to repair), not its Debug form.
    match db::migrations::migrate(&url, &dir).await {
        Ok(applied) => {
            println!("applied {} migration(s): {applied:?}", applied.len());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("migrate: {error}");
            ExitCode::FAILURE
        }
    }
}
