//! What a course's roster reads: its students, their projects, and their submissions to its
//! assignments summed up per student and assignment.

use chrono::{DateTime, Utc};
use db::schema::{participants, projects, submissions, users};
use diesel::dsl::{count_star, max};
use diesel::prelude::*;
use diesel::result::Error;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// A student of the course and their project in it, if they opened one.
pub struct Student {
    pub id: i64,
    pub display_name: String,
    pub project: Option<i64>,
}

/// A row of the count: user, assignment, submissions, the latest's id and time.
type Counted = (i64, i64, i64, Option<i64>, Option<DateTime<Utc>>);

/// One student's submissions to one assignment.
pub struct Tally {
    pub user: i64,
    pub assignment: i64,
    pub attempts: i64,
    pub last_id: i64,
    pub last_at: DateTime<Utc>,
    /// Their latest accepted submission.
    pub solved_id: Option<i64>,
}

/// The course's students by name.
pub async fn students(conn: &mut AsyncPgConnection, course: i64) -> Result<Vec<Student>, Error> {
    let rows: Vec<(i64, String, Option<i64>)> = participants::table
        .inner_join(users::table)
        .left_join(
            projects::table.on(projects::course_id
                .eq(participants::course_id)
                .and(projects::owner_id.eq(participants::user_id))),
        )
        .filter(participants::course_id.eq(course))
        .filter(participants::role.eq("student"))
        .order((users::display_name.asc(), users::id.asc()))
        .select((users::id, users::display_name, projects::id.nullable()))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, display_name, project)| Student {
            id,
            display_name,
            project,
        })
        .collect())
}

/// Every student's submissions to `assignments`, per student and assignment that has any.
pub async fn tallies(
    conn: &mut AsyncPgConnection,
    assignments: &[i64],
) -> Result<Vec<Tally>, Error> {
    let of_course =
        || submissions::table.filter(submissions::assignment_id.eq_any(assignments.to_vec()));
    let counted: Vec<Counted> = of_course()
        .group_by((submissions::user_id, submissions::assignment_id))
        .select((
            submissions::user_id,
            submissions::assignment_id,
            count_star(),
            max(submissions::id),
            max(submissions::created_at),
        ))
        .load(conn)
        .await?;
    let solved: Vec<(i64, i64, Option<i64>)> = of_course()
        .filter(submissions::verdict.eq("accepted"))
        .group_by((submissions::user_id, submissions::assignment_id))
        .select((
            submissions::user_id,
            submissions::assignment_id,
            max(submissions::id),
        ))
        .load(conn)
        .await?;
    let solved: std::collections::HashMap<(i64, i64), i64> = solved
        .into_iter()
        .filter_map(|(user, assignment, id)| Some(((user, assignment), id?)))
        .collect();
    Ok(counted
        .into_iter()
        .filter_map(|(user, assignment, attempts, last_id, last_at)| {
            Some(Tally {
                user,
                assignment,
                attempts,
                last_id: last_id?,
                last_at: last_at?,
                solved_id: solved.get(&(user, assignment)).copied(),
            })
        })
        .collect())
}
