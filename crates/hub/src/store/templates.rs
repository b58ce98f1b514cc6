//! A course's project template: the files every participant's project starts with.

use crate::error::HubError;
use archive::Entry;
use contracts::CourseId;
use db::schema::template_entries;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

/// One path of a template, without its content.
#[derive(Clone, Debug, Queryable, Serialize, ToSchema)]
pub struct TemplateEntry {
    pub path: String,
    pub directory: bool,
}

/// Replaces the course's template with `entries`. Existing projects keep their files.
pub async fn replace(
    conn: &mut AsyncPgConnection,
    course: CourseId,
    entries: &[Entry],
) -> Result<(), HubError> {
    let rows: Vec<_> = entries
        .iter()
        .map(|entry| {
            let (path, directory, content) = match entry {
                Entry::Directory(path) => (path.as_str(), true, ""),
                Entry::File { path, text } => (path.as_str(), false, text.as_str()),
            };
            (
                template_entries::course_id.eq(course.0),
                template_entries::path.eq(path),
                template_entries::directory.eq(directory),
                template_entries::content.eq(content),
            )
        })
        .collect();
    conn.transaction::<_, HubError, _>(async |conn| {
        diesel::delete(template_entries::table.filter(template_entries::course_id.eq(course.0)))
            .execute(conn)
            .await?;
        diesel::insert_into(template_entries::table)
            .values(rows)
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
}

/// The template's paths, parents before children.
pub async fn list(
    conn: &mut AsyncPgConnection,
    course: CourseId,
) -> QueryResult<Vec<TemplateEntry>> {
    template_entries::table
        .filter(template_entries::course_id.eq(course.0))
        .order(template_entries::path)
        .select((template_entries::path, template_entries::directory))
        .load(conn)
        .await
}
