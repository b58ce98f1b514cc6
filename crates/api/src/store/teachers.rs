//! A course's teachers (`participants` with the role `teacher`, the owner among them) and the
//! invitations to teach it.

use db::models::User;
use db::schema::{course_invitations, participants, users};
use diesel::prelude::*;
use diesel::result::Error;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// Who teaches `course`, in the order they started.
pub async fn of_course(conn: &mut AsyncPgConnection, course: i64) -> Result<Vec<User>, Error> {
    participants::table
        .inner_join(users::table)
        .filter(participants::course_id.eq(course))
        .filter(participants::role.eq("teacher"))
        .order((participants::joined_at, users::id))
        .select(User::as_select())
        .load(conn)
        .await
}

/// Who is invited to teach `course`, in the order they were invited.
pub async fn invited_to(conn: &mut AsyncPgConnection, course: i64) -> Result<Vec<User>, Error> {
    course_invitations::table
        .inner_join(users::table)
        .filter(course_invitations::course_id.eq(course))
        .order((course_invitations::created_at, users::id))
        .select(User::as_select())
        .load(conn)
        .await
}

/// Invites `user` to teach `course`; `false` if they are invited already.
pub async fn invite(conn: &mut AsyncPgConnection, course: i64, user: i64) -> Result<bool, Error> {
    let added = diesel::insert_into(course_invitations::table)
        .values((
            course_invitations::course_id.eq(course),
            course_invitations::user_id.eq(user),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(added == 1)
}

/// Turns `user`'s invitation into teaching `course` (a student of it becomes its teacher);
/// `false` if there was no invitation.
pub async fn accept(conn: &mut AsyncPgConnection, course: i64, user: i64) -> Result<bool, Error> {
    conn.transaction::<_, Error, _>(async |conn| {
        if withdraw(conn, course, user).await? == 0 {
            return Ok(false);
        }
        diesel::insert_into(participants::table)
            .values((
                participants::course_id.eq(course),
                participants::user_id.eq(user),
                participants::role.eq("teacher"),
            ))
            .on_conflict((participants::course_id, participants::user_id))
            .do_update()
            .set(participants::role.eq("teacher"))
            .execute(conn)
            .await?;
        Ok(true)
    })
    .await
}

/// Ends `user`'s teaching of `course` and withdraws any invitation to; `false` if there was
/// neither. Their own submissions stay; submitting again makes them a student of it.
pub async fn remove(conn: &mut AsyncPgConnection, course: i64, user: i64) -> Result<bool, Error> {
    let teaching = diesel::delete(
        participants::table
            .filter(participants::course_id.eq(course))
            .filter(participants::user_id.eq(user))
            .filter(participants::role.eq("teacher")),
    )
    .execute(conn)
    .await?;
    let invitations = withdraw(conn, course, user).await?;
    Ok(teaching + invitations > 0)
}

/// Deletes `user`'s invitation to teach `course`; how many there were (0 or 1).
async fn withdraw(conn: &mut AsyncPgConnection, course: i64, user: i64) -> Result<usize, Error> {
    diesel::delete(
        course_invitations::table
            .filter(course_invitations::course_id.eq(course))
            .filter(course_invitations::user_id.eq(user)),
    )
    .execute(conn)
    .await
}
