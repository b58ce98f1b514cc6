//! Threads pinned to code and their comments (`code_threads`, `thread_comments`), and who may
//! do what with them: see [`Standing`].

use super::projects::{access, teaches, ProjectRow};
use super::Access;
use crate::error::HubError;
use chrono::{DateTime, Utc};
use contracts::{CommentId, CourseId, FileId, ProjectId, ThreadId, UserId};
use db::schema::{
    code_threads, courses, participants, project_files, projects, thread_comments, users,
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The most open threads the inbox lists.
pub const INBOX_LIMIT: i64 = 200;

/// Who may see a thread besides those who may read the project and its asker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Nobody else: the asker, the project's owner and members, the course's teachers.
    Private,
    /// Everyone taking part in the course too.
    Course,
}

impl Visibility {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "private" => Some(Visibility::Private),
            "course" => Some(Visibility::Course),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Course => "course",
        }
    }
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = code_threads)]
pub struct ThreadRow {
    pub id: i64,
    pub project_id: i64,
    pub file_id: i64,
    pub author_id: i64,
    pub visibility: String,
    pub anchor_start: Vec<u8>,
    pub anchor_end: Vec<u8>,
    pub quote: String,
    pub quote_line: i32,
    pub resolved: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ThreadRow {
    pub fn id(&self) -> ThreadId {
        ThreadId(self.id)
    }

    pub fn file(&self) -> FileId {
        FileId(self.file_id)
    }

    pub fn project(&self) -> ProjectId {
        ProjectId(self.project_id)
    }

    pub fn visibility(&self) -> Visibility {
        Visibility::parse(&self.visibility).unwrap_or(Visibility::Private)
    }
}

/// A thread with what is shown next to it: its file's path and its asker's name.
pub struct ThreadRecord {
    pub row: ThreadRow,
    pub path: String,
    pub author_name: String,
}

/// Someone named in a thread.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Person {
    pub id: UserId,
    pub name: String,
}

/// One comment as everyone who sees its thread sees it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CommentView {
    pub id: CommentId,
    pub thread_id: ThreadId,
    pub author: Person,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// When its author last changed it, if ever.
    pub edited_at: Option<DateTime<Utc>>,
}

/// What a user is to a project: it decides what they may do with its threads.
pub struct Standing {
    pub user: UserId,
    pub project: ProjectRow,
    /// Reading the project (the owner, a member, a teacher of its course).
    pub access: Option<Access>,
    /// Teaching its course (owner of the course or a teacher taking part).
    pub teaches: bool,
    /// Taking part in its course in any role.
    pub takes_part: bool,
}

impl Standing {
    pub async fn of(
        conn: &mut AsyncPgConnection,
        project: ProjectId,
        user: UserId,
    ) -> Result<Self, HubError> {
        let (project, access) = access(conn, project, user).await?;
        let course = CourseId(project.course_id);
        let teaches = teaches(conn, course, user).await?;
        let takes_part = teaches
            || diesel::select(diesel::dsl::exists(
                participants::table
                    .filter(participants::course_id.eq(course.0))
                    .filter(participants::user_id.eq(user.0)),
            ))
            .get_result(conn)
            .await?;
        Ok(Self {
            user,
            project,
            access,
            teaches,
            takes_part,
        })
    }

    /// Whether the project is anything to them: otherwise even its threads do not exist.
    pub fn knows_project(&self) -> bool {
        self.access.is_some() || self.takes_part
    }

    pub fn sees(&self, thread: &ThreadRow) -> bool {
        self.access.is_some()
            || thread.author_id == self.user.0
            || (thread.visibility() == Visibility::Course && self.takes_part)
    }

    /// Resolving, reopening, changing the visibility: the asker, the owner, a teacher.
    pub fn moderates(&self, thread: &ThreadRow) -> bool {
        thread.author_id == self.user.0 || self.project.owner_id == self.user.0 || self.teaches
    }

    /// Removing someone else's comment: a teacher.
    pub fn removes(&self, comment: &CommentView) -> bool {
        comment.author.id == self.user || self.teaches
    }
}

/// A new thread: where, by whom, and its first comment (the question).
pub struct NewThread<'a> {
    pub project: ProjectId,
    pub file: FileId,
    pub author: UserId,
    pub visibility: Visibility,
    pub anchor: (Vec<u8>, Vec<u8>),
    pub quote: &'a str,
    pub quote_line: u32,
    pub question: &'a str,
}

/// Stores a thread and its question in one transaction.
pub async fn create(
    conn: &mut AsyncPgConnection,
    new: NewThread<'_>,
) -> Result<ThreadId, HubError> {
    conn.transaction::<_, HubError, _>(async |conn| {
        let id: i64 = diesel::insert_into(code_threads::table)
            .values((
                code_threads::project_id.eq(new.project.0),
                code_threads::file_id.eq(new.file.0),
                code_threads::author_id.eq(new.author.0),
                code_threads::visibility.eq(new.visibility.as_str()),
                code_threads::anchor_start.eq(&new.anchor.0),
                code_threads::anchor_end.eq(&new.anchor.1),
                code_threads::quote.eq(new.quote),
                code_threads::quote_line.eq(new.quote_line as i32),
            ))
            .returning(code_threads::id)
            .get_result(conn)
            .await?;
        add_comment(conn, ThreadId(id), new.author, new.question).await?;
        Ok(ThreadId(id))
    })
    .await
}

/// Whether `file` is a file (not a directory) of `project`.
pub async fn is_file_of(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    file: FileId,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        project_files::table
            .filter(project_files::id.eq(file.0))
            .filter(project_files::project_id.eq(project.0))
            .filter(project_files::directory.eq(false)),
    ))
    .get_result(conn)
    .await
}

type RecordColumns = (
    diesel::helper_types::AsSelect<ThreadRow, diesel::pg::Pg>,
    project_files::path,
    users::display_name,
);

fn record_columns() -> RecordColumns {
    (
        ThreadRow::as_select(),
        project_files::path,
        users::display_name,
    )
}

fn record((row, path, author_name): (ThreadRow, String, String)) -> ThreadRecord {
    ThreadRecord {
        row,
        path,
        author_name,
    }
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    thread: ThreadId,
) -> Result<ThreadRecord, HubError> {
    code_threads::table
        .inner_join(project_files::table)
        .inner_join(users::table)
        .filter(code_threads::id.eq(thread.0))
        .select(record_columns())
        .first(conn)
        .await
        .optional()?
        .map(record)
        .ok_or(HubError::NotFound("thread"))
}

/// Which threads a listing wants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Wanted {
    Open,
    Resolved,
    #[default]
    All,
}

/// The threads of `project` (of one file if given), oldest first.
pub async fn of_project(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    file: Option<FileId>,
    wanted: Wanted,
) -> QueryResult<Vec<ThreadRecord>> {
    let mut query = code_threads::table
        .inner_join(project_files::table)
        .inner_join(users::table)
        .filter(code_threads::project_id.eq(project.0))
        .into_boxed();
    if let Some(file) = file {
        query = query.filter(code_threads::file_id.eq(file.0));
    }
    query = match wanted {
        Wanted::Open => query.filter(code_threads::resolved.eq(false)),
        Wanted::Resolved => query.filter(code_threads::resolved.eq(true)),
        Wanted::All => query,
    };
    let rows = query
        .order(code_threads::id)
        .select(record_columns())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(record).collect())
}

/// The open threads of every course `teacher` teaches, newest first.
pub async fn inbox(
    conn: &mut AsyncPgConnection,
    teacher: UserId,
) -> QueryResult<Vec<ThreadRecord>> {
    let taught = participants::table
        .filter(participants::user_id.eq(teacher.0))
        .filter(participants::role.eq("teacher"))
        .select(participants::course_id);
    let owned = courses::table
        .filter(courses::owner_id.eq(teacher.0))
        .select(courses::id);
    let of_courses = projects::table
        .filter(
            projects::course_id
                .eq_any(taught)
                .or(projects::course_id.eq_any(owned)),
        )
        .select(projects::id);
    let rows = code_threads::table
        .inner_join(project_files::table)
        .inner_join(users::table)
        .filter(code_threads::resolved.eq(false))
        .filter(code_threads::project_id.eq_any(of_courses))
        .order((code_threads::created_at.desc(), code_threads::id.desc()))
        .limit(INBOX_LIMIT)
        .select(record_columns())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(record).collect())
}

/// What a patch changes of a thread; `None` leaves a column as it is.
#[derive(AsChangeset)]
#[diesel(table_name = code_threads)]
struct ThreadChange {
    resolved: Option<bool>,
    visibility: Option<&'static str>,
    updated_at: DateTime<Utc>,
}

/// Sets what is given of `resolved` and `visibility`.
pub async fn update(
    conn: &mut AsyncPgConnection,
    thread: ThreadId,
    resolved: Option<bool>,
    visibility: Option<Visibility>,
) -> QueryResult<()> {
    let change = ThreadChange {
        resolved,
        visibility: visibility.map(Visibility::as_str),
        updated_at: Utc::now(),
    };
    diesel::update(code_threads::table.find(thread.0))
        .set(change)
        .execute(conn)
        .await
        .map(|_| ())
}

/// The comments of `threads`, each thread's in the order they were written.
pub async fn comments(
    conn: &mut AsyncPgConnection,
    threads: &[ThreadId],
) -> QueryResult<Vec<CommentView>> {
    let ids: Vec<i64> = threads.iter().map(|t| t.0).collect();
    comment_query()
        .filter(thread_comments::thread_id.eq_any(ids))
        .order(thread_comments::id)
        .load::<CommentRow>(conn)
        .await
        .map(|rows| rows.into_iter().map(CommentRow::view).collect())
}

pub async fn comment(
    conn: &mut AsyncPgConnection,
    comment: CommentId,
) -> Result<CommentView, HubError> {
    comment_query()
        .filter(thread_comments::id.eq(comment.0))
        .first::<CommentRow>(conn)
        .await
        .optional()?
        .map(CommentRow::view)
        .ok_or(HubError::NotFound("comment"))
}

pub async fn add_comment(
    conn: &mut AsyncPgConnection,
    thread: ThreadId,
    author: UserId,
    body: &str,
) -> Result<CommentId, HubError> {
    let id = diesel::insert_into(thread_comments::table)
        .values((
            thread_comments::thread_id.eq(thread.0),
            thread_comments::author_id.eq(author.0),
            thread_comments::body.eq(body),
        ))
        .returning(thread_comments::id)
        .get_result(conn)
        .await?;
    touch(conn, thread).await?;
    Ok(CommentId(id))
}

pub async fn edit_comment(
    conn: &mut AsyncPgConnection,
    comment: &CommentView,
    body: &str,
) -> QueryResult<()> {
    diesel::update(thread_comments::table.find(comment.id.0))
        .set((
            thread_comments::body.eq(body),
            thread_comments::edited_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    touch(conn, comment.thread_id).await
}

pub async fn remove_comment(
    conn: &mut AsyncPgConnection,
    comment: &CommentView,
) -> QueryResult<()> {
    diesel::delete(thread_comments::table.find(comment.id.0))
        .execute(conn)
        .await?;
    touch(conn, comment.thread_id).await
}

async fn touch(conn: &mut AsyncPgConnection, thread: ThreadId) -> QueryResult<()> {
    diesel::update(code_threads::table.find(thread.0))
        .set(code_threads::updated_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
        .map(|_| ())
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = thread_comments)]
struct CommentRow {
    id: i64,
    thread_id: i64,
    author_id: i64,
    #[diesel(select_expression = users::display_name)]
    author_name: String,
    body: String,
    created_at: DateTime<Utc>,
    edited_at: Option<DateTime<Utc>>,
}

impl CommentRow {
    fn view(self) -> CommentView {
        CommentView {
            id: CommentId(self.id),
            thread_id: ThreadId(self.thread_id),
            author: Person {
                id: UserId(self.author_id),
                name: self.author_name,
            },
            body: self.body,
            created_at: self.created_at,
            edited_at: self.edited_at,
        }
    }
}

type CommentQuery = diesel::dsl::Select<
    diesel::dsl::InnerJoin<thread_comments::table, users::table>,
    diesel::helper_types::AsSelect<CommentRow, diesel::pg::Pg>,
>;

fn comment_query() -> CommentQuery {
    thread_comments::table
        .inner_join(users::table)
        .select(CommentRow::as_select())
}
