//! Assignments.

use db::models::{Assignment, AssignmentFields};
use db::schema::assignments;
use diesel::prelude::*;
use diesel::result::Error;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

pub async fn by_id(conn: &mut AsyncPgConnection, id: i64) -> Result<Option<Assignment>, Error> {
    assignments::table
        .find(id)
        .select(Assignment::as_select())
        .first(conn)
        .await
        .optional()
}

/// The course's assignments in teaching order.
pub async fn of_course(
    conn: &mut AsyncPgConnection,
    course: i64,
) -> Result<Vec<Assignment>, Error> {
    assignments::table
        .filter(assignments::course_id.eq(course))
        .order((assignments::position, assignments::id))
        .select(Assignment::as_select())
        .load(conn)
        .await
}

/// The position after the course's last assignment.
pub async fn next_position(conn: &mut AsyncPgConnection, course: i64) -> Result<i32, Error> {
    let last: Option<i32> = assignments::table
        .filter(assignments::course_id.eq(course))
        .select(diesel::dsl::max(assignments::position))
        .first(conn)
        .await?;
    Ok(last.unwrap_or(0) + 1)
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    course: i64,
    fields: &AssignmentFields,
) -> Result<Assignment, Error> {
    diesel::insert_into(assignments::table)
        .values((assignments::course_id.eq(course), fields))
        .returning(Assignment::as_returning())
        .get_result(conn)
        .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: i64,
    fields: &AssignmentFields,
) -> Result<Assignment, Error> {
    diesel::update(assignments::table.find(id))
        .set((fields, assignments::updated_at.eq(diesel::dsl::now)))
        .returning(Assignment::as_returning())
        .get_result(conn)
        .await
}

/// Deletes the assignment and, by cascade, its submissions, and moves the course's later
/// assignments up one place, so that positions 1, 2, … stay without a gap (pages number the
/// exercises by them). Returns the ids of those that moved.
pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> Result<Vec<i64>, Error> {
    conn.transaction::<_, Error, _>(async |conn| {
        let Some((course, position)) = diesel::delete(assignments::table.find(id))
            .returning((assignments::course_id, assignments::position))
            .get_result::<(i64, i32)>(conn)
            .await
            .optional()?
        else {
            return Ok(Vec::new());
        };
        diesel::update(
            assignments::table
                .filter(assignments::course_id.eq(course))
                .filter(assignments::position.gt(position)),
        )
        .set(assignments::position.eq(assignments::position - 1))
        .returning(assignments::id)
        .get_results(conn)
        .await
    })
    .await
}

/// Puts the course's assignments in the order of `ids` (positions 1, 2, …) and returns them
/// so; `None`, changing nothing, unless `ids` names each of them exactly once. The course's
/// assignments are locked meanwhile, so an assignment created concurrently is either among
/// them or makes the order incomplete.
pub async fn reorder(
    conn: &mut AsyncPgConnection,
    course: i64,
    ids: &[i64],
) -> Result<Option<Vec<Assignment>>, Error> {
    conn.transaction::<_, Error, _>(async |conn| {
        let mut current: Vec<i64> = assignments::table
            .filter(assignments::course_id.eq(course))
            .select(assignments::id)
            .for_update()
            .load(conn)
            .await?;
        let mut given = ids.to_vec();
        current.sort_unstable();
        given.sort_unstable();
        if current != given {
            return Ok(None);
        }
        for (position, id) in (1..).zip(ids) {
            diesel::update(assignments::table.find(id))
                .set(assignments::position.eq(position))
                .execute(conn)
                .await?;
        }
        of_course(conn, course).await.map(Some)
    })
    .await
}
