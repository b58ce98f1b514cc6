//! Applies the Flyway migrations to a database: `migrate [DIR]` with `DATABASE_URL` set.
//! Used by the local scripts, where Flyway itself is not installed.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is not set")?;
    let dir = std::env::args()
        .nth(1)
        .map_or_else(db::migrations_dir, Into::into);
    let applied = db::migrations::migrate(&url, &dir).await?;
    println!("applied {} migration(s): {applied:?}", applied.len());
    Ok(())
}
