//! The operator's account commands, run by `platform-admin` (`deploy/admin.sh`) with the api's
//! own settings: nobody can make themselves a teacher through the api, so an operator makes an
//! account one (it may then create courses and invite co-teachers), takes the role back, or
//! lists the teachers. The person registers first; the command never handles passwords.

use crate::domain::account::Username;
use crate::error::ApiError;
use crate::store;
use diesel_async::AsyncPgConnection;
use serde::Deserialize;
use settings::{SecretString, SettingsError};
use tokens::Role;

/// How to call `platform-admin`.
pub const USAGE: &str =
    "usage: platform-admin make-teacher <username>   let the account create courses
       platform-admin make-student <username>   take that back (its courses stay its own)
       platform-admin teachers                  list the accounts that may create courses";

/// One command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    /// Gives the account the role `teacher`.
    MakeTeacher(String),
    /// Gives the account the role `student` back.
    MakeStudent(String),
    /// Lists the accounts with the role `teacher`.
    Teachers,
}

impl Command {
    /// Reads the arguments after the program's name; an error says what is wrong with them.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match args.as_slice() {
            ["make-teacher", username] => Ok(Self::MakeTeacher((*username).to_owned())),
            ["make-student", username] => Ok(Self::MakeStudent((*username).to_owned())),
            ["teachers"] => Ok(Self::Teachers),
            ["help" | "--help" | "-h"] => Ok(Self::Help),
            [] => Err("no command given".into()),
            [command @ ("make-teacher" | "make-student"), ..] => {
                Err(format!("`{command}` takes one username"))
            }
            [command, ..] => Err(format!("unknown command `{command}`")),
        }
    }
}

/// The api's settings as far as the command needs them: the database, read from the same
/// defaults, `API__*` variables and secret files as the api's.
#[derive(Deserialize)]
pub struct AdminSettings {
    pub database_url: SecretString,
}

impl AdminSettings {
    pub fn load() -> Result<Self, SettingsError> {
        settings::load("API", "")
    }
}

/// Runs `command` on the database; returns what to tell the operator.
pub async fn run(conn: &mut AsyncPgConnection, command: Command) -> Result<String, ApiError> {
    match command {
        Command::Help => Ok(USAGE.to_owned()),
        Command::MakeTeacher(username) => set_role(conn, &username, Role::Teacher).await,
        Command::MakeStudent(username) => set_role(conn, &username, Role::Student).await,
        Command::Teachers => {
            let teachers = store::users::with_role(conn, Role::Teacher.as_str()).await?;
            Ok(teachers
                .iter()
                .map(|user| format!("{}\t{}", user.username, user.display_name))
                .collect::<Vec<_>>()
                .join("\n"))
        }
    }
}

async fn set_role(
    conn: &mut AsyncPgConnection,
    username: &str,
    role: Role,
) -> Result<String, ApiError> {
    // Guests' names (`guest-…`) are not usernames: they cannot sign in again once their token
    // is gone, so nobody could use the role.
    let username = Username::parse(username)?;
    let user = store::users::by_username(conn, username.as_str())
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "username",
                format!(
                    "there is no account named `{}`; the person registers first",
                    username.as_str()
                ),
            )
        })?;
    if user.role == role.as_str() {
        return Ok(format!(
            "`{}` is a {} already",
            user.username,
            role.as_str()
        ));
    }
    let user = store::users::set_role(conn, user.id, role.as_str()).await?;
    Ok(format!("`{}` is now a {}", user.username, user.role))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Command, String> {
        let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        Command::parse(&args)
    }

    #[test]
    fn command_lines_are_read_or_refused_with_the_reason() {
        assert_eq!(
            parse("make-teacher ada"),
            Ok(Command::MakeTeacher("ada".into()))
        );
        assert_eq!(
            parse("make-student ada"),
            Ok(Command::MakeStudent("ada".into()))
        );
        assert_eq!(parse("teachers"), Ok(Command::Teachers));
        assert_eq!(parse("--help"), Ok(Command::Help));
        assert_eq!(parse(""), Err("no command given".into()));
        assert_eq!(
            parse("make-teacher"),
            Err("`make-teacher` takes one username".into())
        );
        assert_eq!(
            parse("make-teacher ada grace"),
            Err("`make-teacher` takes one username".into())
        );
        assert_eq!(
            parse("make-admin ada"),
            Err("unknown command `make-admin`".into())
        );
    }
}
