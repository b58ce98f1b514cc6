//! Courses, their participants, and what one person is in one course.

use db::models::Course;
use db::schema::{course_invitations, courses, participants};
use diesel::prelude::*;
use diesel::result::Error;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// The courses `user` may see, with what they are in each: the published ones and those
/// they own, take part in or are invited to teach.
pub async fn catalogue(conn: &mut AsyncPgConnection, user: i64) -> Result<Vec<Standing>, Error> {
    standings(conn, user, None).await
}

/// `user`'s standing in `course`, whether or not they may see it; `None` when there is no
/// such course.
pub async fn standing(
    conn: &mut AsyncPgConnection,
    course: i64,
    user: i64,
) -> Result<Option<Standing>, Error> {
    Ok(standings(conn, user, Some(course)).await?.pop())
}

/// A course and what one person is in it, as the database holds it.
#[derive(Debug)]
pub struct Standing {
    pub course: Course,
    /// Their `participants` role, if they take part.
    pub participant: Option<String>,
    pub invited: bool,
}

/// One query for both of the above: the course `only`, or every course `user` may see.
async fn standings(
    conn: &mut AsyncPgConnection,
    user: i64,
    only: Option<i64>,
) -> Result<Vec<Standing>, Error> {
    let query = courses::table
        .left_join(
            participants::table.on(participants::course_id
                .eq(courses::id)
                .and(participants::user_id.eq(user))),
        )
        .left_join(
            course_invitations::table.on(course_invitations::course_id
                .eq(courses::id)
                .and(course_invitations::user_id.eq(user))),
        )
        .select((
            Course::as_select(),
            participants::role.nullable(),
            course_invitations::user_id.nullable(),
        ))
        .order(courses::id)
        .into_boxed();
    let query = match only {
        Some(course) => query.filter(courses::id.eq(course)),
        None => query.filter(
            courses::published
                .eq(true)
                .or(courses::owner_id.eq(user))
                .or(participants::user_id.is_not_null())
                .or(course_invitations::user_id.is_not_null()),
        ),
    };
    let rows: Vec<(Course, Option<String>, Option<i64>)> = query.load(conn).await?;
    Ok(rows
        .into_iter()
        .map(|(course, participant, invited)| Standing {
            course,
            participant,
            invited: invited.is_some(),
        })
        .collect())
}

pub async fn by_id(conn: &mut AsyncPgConnection, id: i64) -> Result<Option<Course>, Error> {
    courses::table
        .find(id)
        .select(Course::as_select())
        .first(conn)
        .await
        .optional()
}

/// Creates an unpublished course owned (and taught) by `owner`.
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

/// Puts the course in the catalogue (or takes it out).
pub async fn set_published(
    conn: &mut AsyncPgConnection,
    id: i64,
    published: bool,
) -> Result<Course, Error> {
    diesel::update(courses::table.find(id))
        .set(courses::published.eq(published))
        .returning(Course::as_returning())
        .get_result(conn)
        .await
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
