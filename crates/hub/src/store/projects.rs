//! Projects and who may open them: the owner writes, members read or write as granted, the
//! course's teachers read every project of the course.

use super::Access;
use crate::error::HubError;
use crate::ydoc::initial_document;
use chrono::{DateTime, Utc};
use contracts::{CourseId, ProjectId, UserId};
use db::schema::{
    courses, participants, project_files, project_members, projects, template_entries, users,
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = projects)]
pub struct ProjectRow {
    pub id: i64,
    pub course_id: i64,
    pub owner_id: i64,
    pub created_at: DateTime<Utc>,
}

/// A project as the caller sees it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProjectView {
    pub id: ProjectId,
    pub course_id: CourseId,
    pub owner_id: UserId,
    /// The owner's display name.
    pub owner_name: String,
    pub created_at: DateTime<Utc>,
    /// What the caller may do.
    pub access: Access,
}

impl ProjectRow {
    pub fn view(&self, access: Access, owner_name: String) -> ProjectView {
        ProjectView {
            id: ProjectId(self.id),
            course_id: CourseId(self.course_id),
            owner_id: UserId(self.owner_id),
            owner_name,
            created_at: self.created_at,
            access,
        }
    }
}

/// The project and what `user` may do with it (`None`: nothing).
pub async fn access(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    user: UserId,
) -> Result<(ProjectRow, Option<Access>), HubError> {
    let row: ProjectRow = projects::table
        .find(project.0)
        .select(ProjectRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(HubError::NotFound("project"))?;
    if row.owner_id == user.0 {
        return Ok((row, Some(Access::Write)));
    }
    let granted: Option<String> = project_members::table
        .find((project.0, user.0))
        .select(project_members::access)
        .first(conn)
        .await
        .optional()?;
    if let Some(access) = granted.as_deref().and_then(Access::parse) {
        return Ok((row, Some(access)));
    }
    let teaches = teaches(conn, CourseId(row.course_id), user).await?;
    Ok((row, teaches.then_some(Access::Read)))
}

pub async fn course_exists(conn: &mut AsyncPgConnection, course: CourseId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(courses::table.find(course.0)))
        .get_result(conn)
        .await
}

/// Whether `user` owns the course or takes part in it as a teacher.
pub async fn teaches(
    conn: &mut AsyncPgConnection,
    course: CourseId,
    user: UserId,
) -> QueryResult<bool> {
    let owner: Option<i64> = courses::table
        .find(course.0)
        .select(courses::owner_id)
        .first(conn)
        .await
        .optional()?;
    if owner == Some(user.0) {
        return Ok(true);
    }
    diesel::select(diesel::dsl::exists(
        participants::table
            .filter(participants::course_id.eq(course.0))
            .filter(participants::user_id.eq(user.0))
            .filter(participants::role.eq("teacher")),
    ))
    .get_result(conn)
    .await
}

/// The caller's project in `course`, created from the course's template on first open.
pub async fn open(
    conn: &mut AsyncPgConnection,
    course: CourseId,
    user: UserId,
) -> Result<ProjectRow, HubError> {
    let existing = projects::table
        .filter(projects::course_id.eq(course.0))
        .filter(projects::owner_id.eq(user.0))
        .select(ProjectRow::as_select())
        .first(conn)
        .await
        .optional()?;
    if let Some(row) = existing {
        return Ok(row);
    }
    if !course_exists(conn, course).await? {
        return Err(HubError::NotFound("course"));
    }
    let takes_part: bool = diesel::select(diesel::dsl::exists(
        participants::table
            .filter(participants::course_id.eq(course.0))
            .filter(participants::user_id.eq(user.0)),
    ))
    .get_result(conn)
    .await?;
    if !takes_part && !teaches(conn, course, user).await? {
        return Err(HubError::Forbidden(
            "only participants of a course have a project in it".into(),
        ));
    }
    create_from_template(conn, course, user).await
}

async fn create_from_template(
    conn: &mut AsyncPgConnection,
    course: CourseId,
    user: UserId,
) -> Result<ProjectRow, HubError> {
    conn.transaction::<_, HubError, _>(async |conn| {
        // Two first opens at once: one creates, the other finds it.
        let created: Option<ProjectRow> = diesel::insert_into(projects::table)
            .values((
                projects::course_id.eq(course.0),
                projects::owner_id.eq(user.0),
            ))
            .on_conflict_do_nothing()
            .returning(ProjectRow::as_returning())
            .get_result(conn)
            .await
            .optional()?;
        let Some(project) = created else {
            return Ok(projects::table
                .filter(projects::course_id.eq(course.0))
                .filter(projects::owner_id.eq(user.0))
                .select(ProjectRow::as_select())
                .first(conn)
                .await?);
        };
        let template: Vec<(String, bool, String)> = template_entries::table
            .filter(template_entries::course_id.eq(course.0))
            .order(template_entries::path)
            .select((
                template_entries::path,
                template_entries::directory,
                template_entries::content,
            ))
            .load(conn)
            .await?;
        let rows: Vec<_> = template
            .into_iter()
            .map(|(path, directory, content)| {
                let document =
                    (!directory && !content.is_empty()).then(|| initial_document(&content));
                (
                    project_files::project_id.eq(project.id),
                    project_files::path.eq(path),
                    project_files::directory.eq(directory),
                    project_files::content.eq(content.into_bytes()),
                    project_files::document.eq(document),
                )
            })
            .collect();
        if !rows.is_empty() {
            diesel::insert_into(project_files::table)
                .values(rows)
                .execute(conn)
                .await?;
        }
        Ok(project)
    })
    .await
}

/// Every project `user` may open: their own, those shared with them, and those of the courses
/// they teach.
pub async fn list(
    conn: &mut AsyncPgConnection,
    user: UserId,
) -> Result<Vec<ProjectView>, HubError> {
    let owned: Vec<ProjectRow> = projects::table
        .filter(projects::owner_id.eq(user.0))
        .select(ProjectRow::as_select())
        .load(conn)
        .await?;
    let shared: Vec<(ProjectRow, String)> = projects::table
        .inner_join(project_members::table)
        .filter(project_members::user_id.eq(user.0))
        .select((ProjectRow::as_select(), project_members::access))
        .load(conn)
        .await?;
    let taught_courses = participants::table
        .filter(participants::user_id.eq(user.0))
        .filter(participants::role.eq("teacher"))
        .select(participants::course_id);
    let owned_courses = courses::table
        .filter(courses::owner_id.eq(user.0))
        .select(courses::id);
    let taught: Vec<ProjectRow> = projects::table
        .filter(
            projects::course_id
                .eq_any(taught_courses)
                .or(projects::course_id.eq_any(owned_courses)),
        )
        .select(ProjectRow::as_select())
        .load(conn)
        .await?;

    let owners: Vec<i64> = (owned.iter().chain(&taught))
        .chain(shared.iter().map(|(row, _)| row))
        .map(|row| row.owner_id)
        .collect();
    let names = display_names(conn, &owners).await?;
    let mut views = std::collections::BTreeMap::new();
    let mut grant = |row: ProjectRow, access: Access| {
        let owner_name = names.get(&row.owner_id).cloned().unwrap_or_default();
        let entry = views
            .entry(row.id)
            .or_insert_with(|| row.view(access, owner_name));
        entry.access = entry.access.max(access);
    };
    taught.into_iter().for_each(|row| grant(row, Access::Read));
    for (row, access) in shared {
        if let Some(access) = Access::parse(&access) {
            grant(row, access);
        }
    }
    owned.into_iter().for_each(|row| grant(row, Access::Write));
    Ok(views.into_values().collect())
}

/// The display names of `users`, by id.
pub async fn display_names(
    conn: &mut AsyncPgConnection,
    users: &[i64],
) -> QueryResult<HashMap<i64, String>> {
    let rows: Vec<(i64, String)> = users::table
        .filter(users::id.eq_any(users))
        .select((users::id, users::display_name))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Someone a project is shared with, by name.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Member {
    pub user_id: UserId,
    pub display_name: String,
    pub access: Access,
}

/// The people `project` is shared with, by display name.
pub async fn members(conn: &mut AsyncPgConnection, project: ProjectId) -> QueryResult<Vec<Member>> {
    let rows: Vec<(i64, String, String)> = project_members::table
        .inner_join(users::table)
        .filter(project_members::project_id.eq(project.0))
        .order((users::display_name, users::id))
        .select((users::id, users::display_name, project_members::access))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, display_name, access)| {
            Some(Member {
                user_id: UserId(id),
                display_name,
                access: Access::parse(&access)?,
            })
        })
        .collect())
}

/// A participant of a course the owner may share a project with.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Classmate {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
}

/// The participants of `course` other than `owner`, by display name.
pub async fn classmates(
    conn: &mut AsyncPgConnection,
    course: CourseId,
    owner: UserId,
) -> QueryResult<Vec<Classmate>> {
    let rows: Vec<(i64, String, String)> = participants::table
        .inner_join(users::table)
        .filter(participants::course_id.eq(course.0))
        .filter(participants::user_id.ne(owner.0))
        .order((users::display_name, users::id))
        .select((users::id, users::username, users::display_name))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, username, display_name)| Classmate {
            user_id: UserId(id),
            username,
            display_name,
        })
        .collect())
}

/// The user called `username`, with their display name.
pub async fn user_named(
    conn: &mut AsyncPgConnection,
    username: &str,
) -> Result<(UserId, String), HubError> {
    users::table
        .filter(users::username.eq(username))
        .select((users::id, users::display_name))
        .first::<(i64, String)>(conn)
        .await
        .optional()?
        .map(|(id, name)| (UserId(id), name))
        .ok_or_else(|| HubError::UnknownUser(username.to_owned()))
}

/// Grants `member` read or write access to `project`, replacing an earlier grant.
pub async fn grant(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    member: UserId,
    access: Access,
) -> Result<(), HubError> {
    diesel::insert_into(project_members::table)
        .values((
            project_members::project_id.eq(project.0),
            project_members::user_id.eq(member.0),
            project_members::access.eq(access.as_str()),
        ))
        .on_conflict((project_members::project_id, project_members::user_id))
        .do_update()
        .set(project_members::access.eq(access.as_str()))
        .execute(conn)
        .await
        .map_err(|error| match error {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _,
            ) => HubError::NotFound("user"),
            other => other.into(),
        })?;
    Ok(())
}

/// Takes back `member`'s access; says whether there was any.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    member: UserId,
) -> QueryResult<bool> {
    let removed = diesel::delete(project_members::table.find((project.0, member.0)))
        .execute(conn)
        .await?;
    Ok(removed > 0)
}
