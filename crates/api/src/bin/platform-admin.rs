//! `platform-admin`: the operator's account commands ([`api::admin`]), with the api's settings
//! (`API__DATABASE_URL` or the `database_url` secret). Exits 0 when done, 1 when the command
//! failed (the reason on standard error), 2 for a command line it cannot read.

use api::admin::{self, AdminSettings, Command};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::ExposeSecret;
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match Command::parse(&args) {
        Ok(command) => command,
        Err(problem) => {
            eprintln!("platform-admin: {problem}\n{}", admin::USAGE);
            return ExitCode::from(2);
        }
    };
    match run(command).await {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("platform-admin: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<String> {
    if command == Command::Help {
        return Ok(admin::USAGE.to_owned());
    }
    let settings = AdminSettings::load()?;
    let mut conn = AsyncPgConnection::establish(settings.database_url.expose_secret()).await?;
    Ok(admin::run(&mut conn, command).await?)
}
