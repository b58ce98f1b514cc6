//! Opening a course project, listing and reading projects, sharing them.

use crate::error::HubError;
use crate::state::AppState;
use crate::store::files::TreeEntry;
use crate::store::projects::{self, Classmate, Member, ProjectRow, ProjectView};
use crate::store::{files, Access};
use actix_web::{web, HttpResponse};
use contracts::{CourseId, ProjectChange, ProjectId, UserId};
use diesel_async::AsyncPgConnection;
use http_edge::Caller;
use http_edge::ErrorBody;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A project, the caller's access to it, its whole tree (parents before children) and the
/// people it is shared with.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectDetail {
    pub files: Vec<TreeEntry>,
    pub project: ProjectView,
    pub members: Vec<Member>,
    /// For the owner only: the course's other participants, whom the owner may share with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classmates: Option<Vec<Classmate>>,
}

/// Every project the caller may open.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectList {
    pub projects: Vec<ProjectView>,
}

/// The project and the caller's access, if it is at least `needed`.
pub async fn require(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    caller: &Caller,
    needed: Access,
) -> Result<(ProjectRow, Access), HubError> {
    match projects::access(conn, project, caller.id()).await? {
        (row, Some(access)) if access >= needed => Ok((row, access)),
        (_, Some(_)) => Err(HubError::Forbidden(
            "read-only access to this project".into(),
        )),
        (_, None) => Err(HubError::Forbidden("no access to this project".into())),
    }
}

/// `POST /hub/courses/{course}/project`: the caller's project in the course, created from the
/// course's template on first open.
#[utoipa::path(post, path = "/hub/courses/{course}/project", tag = "hub",
    operation_id = "open_project",
    security(("bearer" = [])),
    params(("course" = i64, Path, minimum = 1, description = "the course's id")),
    responses(
        (status = 200, body = ProjectDetail, description = "the caller's project (write access)"),
        (status = 403, body = ErrorBody, description = "the caller takes no part in the course"),
        (status = 404, body = ErrorBody, description = "no such course"),
    ))]
pub async fn open(
    state: web::Data<AppState>,
    course: web::Path<i64>,
    caller: Caller,
) -> Result<HttpResponse, HubError> {
    let mut conn = state.db.get().await?;
    let row = projects::open(&mut conn, CourseId(*course), caller.id()).await?;
    let detail = detail(&mut conn, row, Access::Write, &caller).await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// `GET /hub/projects`: every project the caller may open.
#[utoipa::path(get, path = "/hub/projects", tag = "hub",
    operation_id = "list_projects", security(("bearer" = [])),
    responses(
        (status = 200, body = ProjectList, description = "owned, shared and taught projects"),
    ))]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, HubError> {
    let mut conn = state.db.get().await?;
    let projects = projects::list(&mut conn, caller.id()).await?;
    Ok(HttpResponse::Ok().json(ProjectList { projects }))
}

/// `GET /hub/projects/{project}`: the project, the caller's access and the file tree.
#[utoipa::path(get, path = "/hub/projects/{project}", tag = "hub",
    operation_id = "get_project", security(("bearer" = [])),
    params(("project" = i64, Path, minimum = 1, description = "the project's id")),
    responses(
        (status = 200, body = ProjectDetail, description = "the project as the caller sees it"),
        (status = 403, body = ErrorBody, description = "no access to the project"),
        (status = 404, body = ErrorBody, description = "no such project"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    project: web::Path<i64>,
    caller: Caller,
) -> Result<HttpResponse, HubError> {
    let project = ProjectId(*project);
    let mut conn = state.db.get().await?;
    let (row, access) = require(&mut conn, project, &caller, Access::Read).await?;
    let detail = detail(&mut conn, row, access, &caller).await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// `row` as `caller` with `access` sees it, with its whole tree and its members.
async fn detail(
    conn: &mut AsyncPgConnection,
    row: ProjectRow,
    access: Access,
    caller: &Caller,
) -> Result<ProjectDetail, HubError> {
    let project = ProjectId(row.id);
    let files = files::tree(conn, project).await?;
    let members = projects::members(conn, project).await?;
    let owner = UserId(row.owner_id);
    let classmates = if caller.id() == owner {
        Some(projects::classmates(conn, CourseId(row.course_id), owner).await?)
    } else {
        None
    };
    let mut names = projects::display_names(conn, &[row.owner_id]).await?;
    let owner_name = names.remove(&row.owner_id).unwrap_or_default();
    Ok(ProjectDetail {
        files,
        project: row.view(access, owner_name),
        members,
        classmates,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// `read` or `write`.
    // A string, so that another value is refused with `field: "access"`.
    #[schema(value_type = Access)]
    access: String,
}

/// A grant to the user called `username`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantByName {
    /// The user's sign-in name.
    username: String,
    /// `read` or `write`.
    #[schema(value_type = Access)]
    access: String,
}

/// The access a grant names, or a 422 naming the field.
fn access_named(text: &str) -> Result<Access, HubError> {
    Access::parse(text).ok_or_else(|| {
        HubError::invalid(
            "access",
            format!("access must be `read` or `write`, not `{text}`"),
        )
    })
}

/// `POST /hub/projects/{project}/members`: the owner shares the project with someone by name.
#[utoipa::path(post, path = "/hub/projects/{project}/members", tag = "hub",
    operation_id = "share_project",
    security(("bearer" = [])),
    params(("project" = i64, Path, minimum = 1, description = "the project's id")),
    request_body = GrantByName,
    responses(
        (status = 200, body = Member, description = "the user's access now"),
        (status = 403, body = ErrorBody, description = "the caller does not own the project"),
        (status = 404, body = ErrorBody,
            description = "no such project, or no user has that username (`field: username`)"),
        (status = 409, body = ErrorBody, description = "the user is the owner (`conflict`)"),
        (status = 422, body = ErrorBody, description = "`access` is not `read` or `write`"),
    ))]
pub async fn share(
    state: web::Data<AppState>,
    project: web::Path<i64>,
    caller: Caller,
    body: web::Json<GrantByName>,
) -> Result<HttpResponse, HubError> {
    let access = access_named(&body.access)?;
    let project = ProjectId(*project);
    let mut conn = state.db.get().await?;
    let row = require_owner(&mut conn, project, &caller).await?;
    let (member, display_name) = projects::user_named(&mut conn, &body.username).await?;
    let shared = grant_to(&state, &mut conn, &row, member, access).await?;
    Ok(HttpResponse::Ok().json(Member {
        display_name,
        ..shared
    }))
}

/// `PUT /hub/projects/{project}/members/{user}`: the owner shares the project.
#[utoipa::path(put, path = "/hub/projects/{project}/members/{user}", tag = "hub",
    operation_id = "grant_access",
    security(("bearer" = [])),
    params(MemberRef),
    request_body = Grant,
    responses(
        (status = 200, body = Member, description = "the user's access now"),
        (status = 403, body = ErrorBody, description = "the caller does not own the project"),
        (status = 404, body = ErrorBody, description = "no such project or user"),
        (status = 409, body = ErrorBody, description = "`user` is the owner (`conflict`)"),
        (status = 422, body = ErrorBody, description = "`access` is not `read` or `write`"),
    ))]
pub async fn grant(
    state: web::Data<AppState>,
    path: web::Path<MemberRef>,
    caller: Caller,
    body: web::Json<Grant>,
) -> Result<HttpResponse, HubError> {
    let access = access_named(&body.access)?;
    let (mut conn, row, _, member) = path.as_owner(&state, &caller).await?;
    let mut shared = grant_to(&state, &mut conn, &row, member, access).await?;
    let mut names = projects::display_names(&mut conn, &[member.0]).await?;
    shared.display_name = names.remove(&member.0).unwrap_or_default();
    Ok(HttpResponse::Ok().json(shared))
}

/// Gives `member` `access` to the project of `row` and tells every hub; the display name is
/// left for the caller to fill in.
async fn grant_to(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    row: &ProjectRow,
    member: UserId,
    access: Access,
) -> Result<Member, HubError> {
    // A well-formed request that the project's state refuses: a conflict, not a bad value.
    if member.0 == row.owner_id {
        return Err(HubError::Conflict(
            "the owner always has write access".into(),
        ));
    }
    let project = ProjectId(row.id);
    projects::grant(conn, project, member, access).await?;
    announce_access(state, conn, project, member).await?;
    Ok(Member {
        user_id: member,
        display_name: String::new(),
        access,
    })
}

/// `DELETE /hub/projects/{project}/members/{user}`: the owner stops sharing.
#[utoipa::path(delete, path = "/hub/projects/{project}/members/{user}", tag = "hub",
    operation_id = "revoke_access",
    security(("bearer" = [])),
    params(MemberRef),
    responses(
        (status = 204, description = "the user no longer has access"),
        (status = 403, body = ErrorBody, description = "the caller does not own the project"),
        (status = 404, body = ErrorBody, description = "no such project, or the user is no member"),
    ))]
pub async fn revoke(
    state: web::Data<AppState>,
    path: web::Path<MemberRef>,
    caller: Caller,
) -> Result<HttpResponse, HubError> {
    let (mut conn, _, project, member) = path.as_owner(&state, &caller).await?;
    if !projects::revoke(&mut conn, project, member).await? {
        return Err(HubError::NotFound("member of this project"));
    }
    announce_access(&state, &mut conn, project, member).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Tells every hub what `member` may do with `project` now (a teacher of the course still
/// reads after a revocation), so their open sockets change at once.
async fn announce_access(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    member: UserId,
) -> Result<(), HubError> {
    let (_, access) = projects::access(conn, project, member).await?;
    let user_id = member;
    state
        .events
        .publish(project, ProjectChange::AccessChanged { user_id, access })
        .await
}

/// The path parameters naming one user's membership of a project.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberRef {
    /// the project's id
    #[param(minimum = 1)]
    project: i64,
    /// the user's id
    #[param(minimum = 1)]
    user: i64,
}

impl MemberRef {
    /// A connection, the project's row and the ids the path names, once `caller` is found
    /// to own the project.
    async fn as_owner(
        &self,
        state: &AppState,
        caller: &Caller,
    ) -> Result<(db::Connection, ProjectRow, ProjectId, UserId), HubError> {
        let project = ProjectId(self.project);
        let mut conn = state.db.get().await?;
        let row = require_owner(&mut conn, project, caller).await?;
        Ok((conn, row, project, UserId(self.user)))
    }
}

async fn require_owner(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    caller: &Caller,
) -> Result<ProjectRow, HubError> {
    let (row, _) = require(conn, project, caller, Access::Read).await?;
    if row.owner_id != caller.id().0 {
        return Err(HubError::Forbidden(
            "only the project's owner shares it".into(),
        ));
    }
    Ok(row)
}
