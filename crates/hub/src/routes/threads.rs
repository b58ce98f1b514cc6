//! Questions pinned to code: threads anchored to a range of a file, their comments, resolving
//! them, and a teacher's inbox. A thread's lines are found in the document as it is now
//! ([`crate::anchor`]); every change is announced on the project's events
//! (`thread_changed`), so the pages showing the file fetch it again on every replica.
//!
//! Who sees a thread: whoever may read the project (its owner, members, the course's
//! teachers), its asker, and for a thread of `course` visibility everyone taking part in the
//! course. To anyone else it does not exist (404).

use crate::anchor::{Anchor, Lines, Quote};
use crate::error::HubError;
use crate::live::document::LiveDocument;
use crate::live::registry::OpenError;
use crate::state::AppState;
use crate::store::threads::{
    self, CommentView, NewThread, Person, Standing, ThreadRecord, Visibility, Wanted,
};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use contracts::{CommentId, FileId, ProjectChange, ProjectId, ThreadId};
use http_edge::{Caller, ErrorBody};
use serde::{Deserialize, Serialize};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};

/// Longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 10_000;
/// How often, and how long apart, a new anchor is looked for before it is refused: the
/// asker's last keystrokes may still be on their way to this replica.
const ANCHOR_TRIES: u32 = 10;
const ANCHOR_RETRY: Duration = Duration::from_millis(100);

/// The two ends of a range, as `Y.encodeRelativePosition` encodes them, in base64.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnchorBody {
    // 684 characters are the base64 of the 512 bytes `anchor` takes at most.
    /// Associated with the range's first character
    /// (`Y.createRelativePositionFromTypeIndex(text, from)`).
    #[schema(min_length = 4, max_length = 684, pattern = "^[A-Za-z0-9+/]+={0,2}$")]
    pub start: String,
    /// Associated with its last character (`Y.createRelativePositionFromTypeIndex(text, to, -1)`).
    #[schema(min_length = 4, max_length = 684, pattern = "^[A-Za-z0-9+/]+={0,2}$")]
    pub end: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewThreadBody {
    /// The file the range is in.
    #[schema(minimum = 1)]
    file_id: i64,
    anchor: AnchorBody,
    /// The question: the thread's first comment.
    #[schema(min_length = 1, max_length = 10000)]
    body: String,
    /// `private` (the default) or `course`.
    #[serde(default)]
    #[schema(value_type = Option<Visibility>)]
    visibility: Option<String>,
}

/// What to change; what is missing (or null) stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreadPatch {
    resolved: Option<bool>,
    #[schema(value_type = Option<Visibility>)]
    visibility: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    #[schema(min_length = 1, max_length = 10000)]
    body: String,
}

/// Where a thread's quote was when it was asked.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteView {
    /// The line it started on then.
    pub line: u32,
    /// The whole lines the range covered then.
    pub text: String,
}

/// A thread as one who may see it sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadView {
    pub id: ThreadId,
    pub project_id: ProjectId,
    pub file_id: FileId,
    /// The file's path now.
    pub path: String,
    pub author: Person,
    pub visibility: Visibility,
    pub resolved: bool,
    /// Its anchored text is gone: `lines` is null and `quote` shows what it was.
    pub outdated: bool,
    /// The lines the range covers in the document now, found by the hub.
    pub lines: Option<Lines>,
    /// The ends, for the page to follow them as it edits.
    pub anchor: AnchorBody,
    pub quote: QuoteView,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// In the order they were written; the first is the question.
    pub comments: Vec<CommentView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadList {
    pub threads: Vec<ThreadView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ThreadFilter {
    /// Only the threads of this file (an id no file has lists none).
    file: Option<i64>,
    /// `open`, `resolved` or `all` (the default).
    #[param(inline)]
    state: Option<Wanted>,
}

/// Registers the thread routes (inside the `/hub` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/projects/{project}/threads")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/threads/{thread}")
            .route(web::get().to(get))
            .route(web::patch().to(update)),
    )
    .service(web::resource("/threads/{thread}/comments").post(comment))
    .service(
        web::resource("/comments/{comment}")
            .route(web::patch().to(edit))
            .route(web::delete().to(delete)),
    )
    .service(web::resource("/inbox").get(inbox));
}

/// `GET /hub/projects/{project}/threads`: the threads of a project the caller may see,
/// oldest first.
#[utoipa::path(get, path = "/hub/projects/{project}/threads", tag = "hub",
    operation_id = "list_threads", security(("bearer" = [])),
    params(("project" = i64, Path, minimum = 1, description = "the project's id"), ThreadFilter),
    responses(
        (status = 200, body = ThreadList, description = "the threads the caller may see"),
        (status = 400, body = ErrorBody,
            description = "`state` is not `open`, `resolved` or `all`, `file` not an id"),
        (status = 404, body = ErrorBody,
            description = "no such project, or one the caller has nothing to do with"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    project: web::Path<i64>,
    caller: Caller,
    filter: web::Query<ThreadFilter>,
) -> Result<HttpResponse, HubError> {
    let project = ProjectId(*project);
    let mut conn = state.db.get().await?;
    let standing = Standing::of(&mut conn, project, caller.id()).await?;
    if !standing.knows_project() {
        return Err(HubError::NotFound("project"));
    }
    let file = filter.file.map(FileId);
    let wanted = filter.state.unwrap_or_default();
    let records = threads::of_project(&mut conn, project, file, wanted).await?;
    let seen = records.into_iter().filter(|r| standing.sees(&r.row));
    let threads = views(&state, &mut conn, seen.collect()).await?;
    Ok(HttpResponse::Ok().json(ThreadList { threads }))
}

/// `POST /hub/projects/{project}/threads`: asks about a range of a file.
#[utoipa::path(post, path = "/hub/projects/{project}/threads", tag = "hub",
    operation_id = "create_thread", security(("bearer" = [])),
    params(("project" = i64, Path, minimum = 1, description = "the project's id")),
    request_body = NewThreadBody,
    responses(
        (status = 201, body = ThreadView, description = "the new thread"),
        (status = 403, body = ErrorBody,
            description = "a classmate without access to the project"),
        (status = 404, body = ErrorBody,
            description = "no such project or file, or a project outside the caller's courses"),
        (status = 422, body = ErrorBody,
            description = "an anchor that is not a relative position or covers no text of \
                           the file, an empty or too long body, an unknown visibility"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    project: web::Path<i64>,
    caller: Caller,
    body: web::Json<NewThreadBody>,
) -> Result<HttpResponse, HubError> {
    let project = ProjectId(*project);
    let visibility = visibility(body.visibility.as_deref().unwrap_or("private"))?;
    let question = comment_text(&body.body)?;
    let anchor = Anchor::from_base64(&body.anchor.start, &body.anchor.end)
        .map_err(|bad| HubError::invalid(bad.field, bad.message))?;
    let file = FileId(body.file_id);
    {
        let mut conn = state.db.get().await?;
        let standing = Standing::of(&mut conn, project, caller.id()).await?;
        // Someone outside the course does not learn that the project exists.
        if !standing.knows_project() {
            return Err(HubError::NotFound("project"));
        }
        if standing.access.is_none() {
            return Err(HubError::Forbidden("no access to this project".into()));
        }
        if !threads::is_file_of(&mut conn, project, file).await? {
            return Err(HubError::NotFound("file"));
        }
    }
    let quote = anchored_text(&state, project, file, &anchor).await?;
    let mut conn = state.db.get().await?;
    let thread = threads::create(
        &mut conn,
        NewThread {
            project,
            file,
            author: caller.id(),
            visibility,
            anchor: anchor.encoded(),
            quote: &quote.text,
            quote_line: quote.lines.start,
            question,
        },
    )
    .await?;
    announce(&state, project, thread, file).await?;
    let record = threads::find(&mut conn, thread).await?;
    let view = one_view(&state, &mut conn, record).await?;
    Ok(HttpResponse::Created().json(view))
}

/// `GET /hub/threads/{thread}`
#[utoipa::path(get, path = "/hub/threads/{thread}", tag = "hub",
    operation_id = "get_thread", security(("bearer" = [])),
    params(("thread" = i64, Path, minimum = 1, description = "the thread's id")),
    responses(
        (status = 200, body = ThreadView, description = "the thread with its comments"),
        (status = 404, body = ErrorBody, description = "no such thread the caller may see"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    thread: web::Path<i64>,
    caller: Caller,
) -> Result<HttpResponse, HubError> {
    let mut conn = state.db.get().await?;
    let (record, _) = visible(&mut conn, ThreadId(*thread), &caller).await?;
    let view = one_view(&state, &mut conn, record).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `PATCH /hub/threads/{thread}`: resolves or reopens it, or changes its visibility.
#[utoipa::path(patch, path = "/hub/threads/{thread}", tag = "hub",
    operation_id = "update_thread", security(("bearer" = [])),
    params(("thread" = i64, Path, minimum = 1, description = "the thread's id")),
    request_body = ThreadPatch,
    responses(
        (status = 200, body = ThreadView, description = "the thread now"),
        (status = 403, body = ErrorBody,
            description = "not its asker, the project's owner or a teacher of the course"),
        (status = 404, body = ErrorBody, description = "no such thread the caller may see"),
        (status = 422, body = ErrorBody, description = "an unknown visibility"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    thread: web::Path<i64>,
    caller: Caller,
    body: web::Json<ThreadPatch>,
) -> Result<HttpResponse, HubError> {
    let changed_visibility = body.visibility.as_deref().map(visibility).transpose()?;
    let mut conn = state.db.get().await?;
    let (record, standing) = visible(&mut conn, ThreadId(*thread), &caller).await?;
    if !standing.moderates(&record.row) {
        return Err(HubError::Forbidden(
            "only the asker, the project's owner or a teacher resolves a thread".into(),
        ));
    }
    let id = record.row.id();
    // A patch that names nothing changes nothing, and nobody needs to hear of it.
    if body.resolved.is_some() || changed_visibility.is_some() {
        threads::update(&mut conn, id, body.resolved, changed_visibility).await?;
        announce(&state, record.row.project(), id, record.row.file()).await?;
    }
    let record = threads::find(&mut conn, id).await?;
    let view = one_view(&state, &mut conn, record).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `POST /hub/threads/{thread}/comments`: replies.
#[utoipa::path(post, path = "/hub/threads/{thread}/comments", tag = "hub",
    operation_id = "add_comment", security(("bearer" = [])),
    params(("thread" = i64, Path, minimum = 1, description = "the thread's id")),
    request_body = CommentBody,
    responses(
        (status = 201, body = CommentView, description = "the new comment"),
        (status = 404, body = ErrorBody, description = "no such thread the caller may see"),
        (status = 422, body = ErrorBody, description = "an empty or too long body"),
    ))]
pub async fn comment(
    state: web::Data<AppState>,
    thread: web::Path<i64>,
    caller: Caller,
    body: web::Json<CommentBody>,
) -> Result<HttpResponse, HubError> {
    let text = comment_text(&body.body)?;
    let mut conn = state.db.get().await?;
    let (record, _) = visible(&mut conn, ThreadId(*thread), &caller).await?;
    let row = &record.row;
    let id = threads::add_comment(&mut conn, row.id(), caller.id(), text).await?;
    announce(&state, row.project(), row.id(), row.file()).await?;
    let view = threads::comment(&mut conn, id).await?;
    Ok(HttpResponse::Created().json(view))
}

/// `PATCH /hub/comments/{comment}`: its author changes it.
#[utoipa::path(patch, path = "/hub/comments/{comment}", tag = "hub",
    operation_id = "edit_comment", security(("bearer" = [])),
    params(("comment" = i64, Path, minimum = 1, description = "the comment's id")),
    request_body = CommentBody,
    responses(
        (status = 200, body = CommentView, description = "the comment now"),
        (status = 403, body = ErrorBody, description = "not the comment's author"),
        (status = 404, body = ErrorBody, description = "no such comment the caller may see"),
        (status = 422, body = ErrorBody, description = "an empty or too long body"),
    ))]
pub async fn edit(
    state: web::Data<AppState>,
    comment: web::Path<i64>,
    caller: Caller,
    body: web::Json<CommentBody>,
) -> Result<HttpResponse, HubError> {
    let text = comment_text(&body.body)?;
    let mut conn = state.db.get().await?;
    let (comment, record, _) = visible_comment(&mut conn, CommentId(*comment), &caller).await?;
    if comment.author.id != caller.id() {
        return Err(HubError::Forbidden(
            "only its author changes a comment".into(),
        ));
    }
    threads::edit_comment(&mut conn, &comment, text).await?;
    announce(
        &state,
        record.row.project(),
        comment.thread_id,
        record.row.file(),
    )
    .await?;
    let view = threads::comment(&mut conn, comment.id).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `DELETE /hub/comments/{comment}`: its author deletes it, or a teacher removes it.
#[utoipa::path(delete, path = "/hub/comments/{comment}", tag = "hub",
    operation_id = "delete_comment", security(("bearer" = [])),
    params(("comment" = i64, Path, minimum = 1, description = "the comment's id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 403, body = ErrorBody,
            description = "neither the comment's author nor a teacher of the course"),
        (status = 404, body = ErrorBody, description = "no such comment the caller may see"),
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    comment: web::Path<i64>,
    caller: Caller,
) -> Result<HttpResponse, HubError> {
    let mut conn = state.db.get().await?;
    let (comment, record, standing) =
        visible_comment(&mut conn, CommentId(*comment), &caller).await?;
    if !standing.removes(&comment) {
        return Err(HubError::Forbidden(
            "only its author or a teacher removes a comment".into(),
        ));
    }
    threads::remove_comment(&mut conn, &comment).await?;
    announce(
        &state,
        record.row.project(),
        comment.thread_id,
        record.row.file(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /hub/inbox`: the open threads of the courses the caller teaches, newest first.
#[utoipa::path(get, path = "/hub/inbox", tag = "hub",
    operation_id = "teacher_inbox", security(("bearer" = [])),
    responses(
        (status = 200, body = ThreadList,
            description = "open threads, newest first (at most 200); empty for a non-teacher"),
    ))]
pub async fn inbox(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, HubError> {
    let mut conn = state.db.get().await?;
    let records = threads::inbox(&mut conn, caller.id()).await?;
    let threads = views(&state, &mut conn, records).await?;
    Ok(HttpResponse::Ok().json(ThreadList { threads }))
}

/// The thread and the caller's standing, if they may see it.
async fn visible(
    conn: &mut db::Connection,
    thread: ThreadId,
    caller: &Caller,
) -> Result<(ThreadRecord, Standing), HubError> {
    let record = threads::find(conn, thread).await?;
    let standing = Standing::of(conn, record.row.project(), caller.id()).await?;
    if !standing.sees(&record.row) {
        return Err(HubError::NotFound("thread"));
    }
    Ok((record, standing))
}

async fn visible_comment(
    conn: &mut db::Connection,
    comment: CommentId,
    caller: &Caller,
) -> Result<(CommentView, ThreadRecord, Standing), HubError> {
    let comment = threads::comment(conn, comment).await?;
    let (record, standing) = visible(conn, comment.thread_id, caller)
        .await
        .map_err(|error| match error {
            HubError::NotFound(_) => HubError::NotFound("comment"),
            other => other,
        })?;
    Ok((comment, record, standing))
}

async fn announce(
    state: &AppState,
    project: ProjectId,
    thread_id: ThreadId,
    file_id: FileId,
) -> Result<(), HubError> {
    state
        .events
        .publish(project, ProjectChange::ThreadChanged { thread_id, file_id })
        .await
}

fn visibility(text: &str) -> Result<Visibility, HubError> {
    Visibility::parse(text).ok_or_else(|| {
        HubError::invalid(
            "visibility",
            format!("visibility must be `private` or `course`, not `{text}`"),
        )
    })
}

fn comment_text(body: &str) -> Result<&str, HubError> {
    let text = body.trim();
    if text.is_empty() {
        return Err(HubError::invalid("body", "a comment cannot be empty"));
    }
    if text.chars().count() > MAX_COMMENT_CHARS {
        return Err(HubError::invalid(
            "body",
            format!("a comment has at most {MAX_COMMENT_CHARS} characters"),
        ));
    }
    Ok(text)
}

/// The text a new anchor covers now, waiting a moment for edits still on their way here.
async fn anchored_text(
    state: &AppState,
    project: ProjectId,
    file: FileId,
    anchor: &Anchor,
) -> Result<Quote, HubError> {
    for attempt in 1..=ANCHOR_TRIES {
        if let Some(quote) = locate(state, project, file, anchor).await? {
            return Ok(quote);
        }
        if attempt < ANCHOR_TRIES {
            tokio::time::sleep(ANCHOR_RETRY).await;
        }
    }
    Err(HubError::invalid(
        "anchor",
        "the anchor covers no text of this file",
    ))
}

/// Where `anchor` is in the file now; `None` when its text is gone (or the file is).
async fn locate(
    state: &AppState,
    project: ProjectId,
    file: FileId,
    anchor: &Anchor,
) -> Result<Option<Quote>, HubError> {
    let document = document(state, project, file).await?;
    Ok(document.and_then(|document| document.read(|doc| anchor.locate(doc))))
}

/// The file's document as it is now; `None` if the file is gone.
async fn document(
    state: &AppState,
    project: ProjectId,
    file: FileId,
) -> Result<Option<Arc<LiveDocument>>, HubError> {
    match state.registry.current(project, file).await {
        Ok(document) => Ok(Some(document)),
        Err(OpenError::NotFound) => Ok(None),
        Err(OpenError::Storage(cause)) => Err(HubError::Unavailable {
            what: "the document",
            cause,
        }),
    }
}

async fn one_view(
    state: &AppState,
    conn: &mut db::Connection,
    record: ThreadRecord,
) -> Result<ThreadView, HubError> {
    let mut views = views(state, conn, vec![record]).await?;
    Ok(views.remove(0))
}

/// The threads as shown: their lines now, each file's document read once, and comments.
async fn views(
    state: &AppState,
    conn: &mut db::Connection,
    records: Vec<ThreadRecord>,
) -> Result<Vec<ThreadView>, HubError> {
    let ids: Vec<ThreadId> = records.iter().map(|r| r.row.id()).collect();
    let mut comments: HashMap<ThreadId, Vec<CommentView>> = HashMap::new();
    for comment in threads::comments(conn, &ids).await? {
        comments.entry(comment.thread_id).or_default().push(comment);
    }
    let mut documents = HashMap::new();
    let mut views = Vec::with_capacity(records.len());
    for ThreadRecord {
        row,
        path,
        author_name,
    } in records
    {
        let anchor = Anchor::from_stored(&row.anchor_start, &row.anchor_end)
            .map_err(|bad| HubError::Internal(format!("thread {}: {bad}", row.id)))?;
        let loaded = match documents.entry(row.file_id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(slot) => slot.insert(document(state, row.project(), row.file()).await?),
        };
        let lines = loaded
            .as_ref()
            .and_then(|document| document.read(|doc| anchor.locate(doc)))
            .map(|quote| quote.lines);
        let (start, end) = anchor.base64();
        let comments = comments.remove(&row.id()).unwrap_or_default();
        views.push(ThreadView {
            id: row.id(),
            project_id: row.project(),
            file_id: row.file(),
            path,
            author: Person {
                id: contracts::UserId(row.author_id),
                name: author_name,
            },
            visibility: row.visibility(),
            resolved: row.resolved,
            outdated: lines.is_none(),
            lines,
            anchor: AnchorBody { start, end },
            quote: QuoteView {
                line: row.quote_line as u32,
                text: row.quote,
            },
            created_at: row.created_at,
            updated_at: row.updated_at,
            comments,
        });
    }
    Ok(views)
}
