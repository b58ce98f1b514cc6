//! Accounts.

use db::models::{NewUser, User};
use db::schema::users;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// Inserts an account; `None` when the username is taken.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    user: NewUser<'_>,
) -> Result<Option<User>, Error> {
    match diesel::insert_into(users::table)
        .values(&user)
        .returning(User::as_returning())
        .get_result(conn)
        .await
    {
        Ok(user) => Ok(Some(user)),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn by_username(
    conn: &mut AsyncPgConnection,
    username: &str,
) -> Result<Option<User>, Error> {
    users::table
        .filter(users::username.eq(username))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn by_id(conn: &mut AsyncPgConnection, id: i64) -> Result<Option<User>, Error> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// Gives the account `id` the account role `role` (`student` or `teacher`).
pub async fn set_role(conn: &mut AsyncPgConnection, id: i64, role: &str) -> Result<User, Error> {
    diesel::update(users::table.find(id))
        .set(users::role.eq(role))
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// Every account with the role `role`, by username.
pub async fn with_role(conn: &mut AsyncPgConnection, role: &str) -> Result<Vec<User>, Error> {
    users::table
        .filter(users::role.eq(role))
        .order(users::username)
        .select(User::as_select())
        .load(conn)
        .await
}
