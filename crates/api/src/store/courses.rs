//! Courses and their participants.

use db::models::Course;
use db::schema::{courses, participants};
use diesel::prelude::*;
use diesel::result::Error;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

pub async fn all(conn: &mut AsyncPgConnection) -> Result<Vec<Course>, Error> {
    courses::table
        .order(courses::id)
        .select(Course::as_select())
        .load(conn)
        .await
}

pub async fn by_id(conn: &mut AsyncPgConnection, id: i64) -> Result<Option<Course>, Error> {
    courses::table
        .find(id)
        .select(Course::as_select())
        .first(conn)
        .await
        .optional()
}

/// Creates a course owned (and taught) by `owner`.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    title: &str,
    description: &str,
    owner: i64,
) -> Result<Course, Error> {
    let course = diesel::insert_into(courses::table)
        .values((
            courses::title.eq(title),
            courses::description.eq(description),
            courses::owner_id.eq(owner),
        ))
        .returning(Course::as_returning())
        .get_result(conn)
        .await?;
    enrol(conn, course.id, owner, "teacher").await?;
    Ok(course)
}

/// Adds `user` to the course with `role`, keeping an existing membership as it is.
pub async fn enrol(
    conn: &mut AsyncPgConnection,
    course: i64,
    user: i64,
    role: &str,
) -> Result<(), Error> {
    diesel::insert_into(participants::table)
        .values((
            participants::course_id.eq(course),
            participants::user_id.eq(user),
            participants::role.eq(role),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// The caller's role in each course they take part in.
pub async fn roles_of(
    conn: &mut AsyncPgConnection,
    user: i64,
) -> Result<Vec<(i64, String)>, Error> {
    participants::table
        .filter(participants::user_id.eq(user))
        .select((participants::course_id, participants::role))
        .load(conn)
        .await
}

/// Whether `user` teaches `course` (its owner or a participant with the teacher role).
pub async fn is_teacher(
    conn: &mut AsyncPgConnection,
    course: i64,
    user: i64,
) -> Result<bool, Error> {
    let owner = courses::table
        .find(course)
        .select(courses::owner_id)
        .first::<i64>(conn)
        .await
        .optional()?;
    if owner == Some(user) {
        return Ok(true);
    }
    diesel::select(diesel::dsl::exists(
        participants::table
            .filter(participants::course_id.eq(course))
            .filter(participants::user_id.eq(user))
            .filter(participants::role.eq("teacher")),
    ))
    .get_result(conn)
    .await
}
