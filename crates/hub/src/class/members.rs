//! Who belongs to a course (for class presence), and where in it a user may say they are.

use super::Location;
use crate::error::HubError;
use crate::store::projects;
use contracts::{CourseId, FileId, ProjectId, UserId};
use db::schema::{courses, participants, project_files, project_members, users};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

/// A participant of a course, or its owner.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub name: String,
    pub teacher: bool,
}

/// The course's owner and participants (teachers first, then by name); `None` when there is no
/// such course.
pub async fn of_course(
    conn: &mut AsyncPgConnection,
    course: CourseId,
) -> Result<Option<Vec<Member>>, HubError> {
    let owner: Option<(i64, String)> = courses::table
        .inner_join(users::table)
        .filter(courses::id.eq(course.0))
        .select((users::id, users::display_name))
        .first(conn)
        .await
        .optional()?;
    let Some((owner, owner_name)) = owner else {
        return Ok(None);
    };
    let rows: Vec<(i64, String, String)> = participants::table
        .inner_join(users::table)
        .filter(participants::course_id.eq(course.0))
        .filter(participants::user_id.ne(owner))
        .select((users::id, users::display_name, participants::role))
        .load(conn)
        .await?;
    let mut members: Vec<Member> = std::iter::once(Member {
        user_id: UserId(owner),
        name: owner_name,
        teacher: true,
    })
    .chain(rows.into_iter().map(|(id, name, role)| Member {
        user_id: UserId(id),
        name,
        teacher: role == "teacher",
    }))
    .collect();
    members.sort_by(|a, b| b.teacher.cmp(&a.teacher).then_with(|| a.name.cmp(&b.name)));
    Ok(Some(members))
}

/// Where `user` says they are, if they may read the project and it belongs to `course`: the
/// project's owner and members (who, with the teachers, may see it) and the file's path.
/// `None` when the project or file does not exist or is not theirs to read.
pub async fn locate(
    conn: &mut AsyncPgConnection,
    course: CourseId,
    user: UserId,
    project: ProjectId,
    file: Option<FileId>,
) -> Result<Option<Location>, HubError> {
    let (row, access) = match projects::access(conn, project, user).await {
        Ok(found) => found,
        Err(HubError::NotFound(_)) => return Ok(None),
        Err(error) => return Err(error),
    };
    if access.is_none() || row.course_id != course.0 {
        return Ok(None);
    }
    let path = match file {
        Some(file) => {
            let path: Option<String> = project_files::table
                .filter(project_files::id.eq(file.0))
                .filter(project_files::project_id.eq(project.0))
                .filter(project_files::directory.eq(false))
                .select(project_files::path)
                .first(conn)
                .await
                .optional()?;
            match path {
                Some(path) => Some(path),
                None => return Ok(None),
            }
        }
        None => None,
    };
    let mut readers: Vec<UserId> = project_members::table
        .filter(project_members::project_id.eq(project.0))
        .select(project_members::user_id)
        .load::<i64>(conn)
        .await?
        .into_iter()
        .map(UserId)
        .collect();
    readers.push(UserId(row.owner_id));
    Ok(Some(Location {
        project_id: project,
        project_owner: UserId(row.owner_id),
        file_id: file,
        path,
        readers,
    }))
}
