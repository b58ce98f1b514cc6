//! Opening a course project, listing and reading projects, sharing them.

use super::caller::Caller;
use crate::error::HubError;
use crate::state::AppState;
use crate::store::projects::{self, ProjectRow};
use crate::store::{files, Access};
use actix_web::{web, HttpResponse};
use contracts::{CourseId, ProjectId, UserId};
use diesel_async::AsyncPgConnection;
use serde::Deserialize;
use serde_json::json;

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
pub async fn open(
    state: web::Data<AppState>,
    course: web::Path<i64>,
    caller: Caller,
) -> Result<HttpResponse, HubError> {
    let mut conn = state.db.get().await?;
    let row = projects::open(&mut conn, CourseId(*course), caller.id()).await?;
    let tree = files::tree(&mut conn, ProjectId(row.id)).await?;
    Ok(HttpResponse::Ok().json(json!({"project": row.view(Access::Write), "files": tree})))
}

/// `GET /hub/projects`: every project the caller may open.
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, HubError> {
    let mut conn = state.db.get().await?;
    let projects = projects::list(&mut conn, caller.id()).await?;
    Ok(HttpResponse::Ok().json(json!({ "projects": projects })))
}

/// `GET /hub/projects/{project}`: the project, the caller's access and the file tree.
pub async fn get(
    state: web::Data<AppState>,
    project: web::Path<i64>,
    caller: Caller,
) -> Result<HttpResponse, HubError> {
    let project = ProjectId(*project);
    let mut conn = state.db.get().await?;
    let (row, access) = require(&mut conn, project, &caller, Access::Read).await?;
    let tree = files::tree(&mut conn, project).await?;
    Ok(HttpResponse::Ok().json(json!({"project": row.view(access), "files": tree})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// `read` or `write`.
    access: String,
}

/// `PUT /hub/projects/{project}/members/{user}`: the owner shares the project.
pub async fn grant(
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    caller: Caller,
    body: web::Json<Grant>,
) -> Result<HttpResponse, HubError> {
    let (project, member) = (ProjectId(path.0), UserId(path.1));
    let access = Access::parse(&body.access).ok_or_else(|| {
        HubError::Invalid(format!(
            "access must be `read` or `write`, not `{}`",
            body.access
        ))
    })?;
    let mut conn = state.db.get().await?;
    let row = require_owner(&mut conn, project, &caller).await?;
    if member.0 == row.owner_id {
        return Err(HubError::Invalid(
            "the owner always has write access".into(),
        ));
    }
    projects::grant(&mut conn, project, member, access).await?;
    Ok(HttpResponse::Ok().json(json!({"user_id": member, "access": access})))
}

/// `DELETE /hub/projects/{project}/members/{user}`: the owner stops sharing.
pub async fn revoke(
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    caller: Caller,
) -> Result<HttpResponse, HubError> {
    let (project, member) = (ProjectId(path.0), UserId(path.1));
    let mut conn = state.db.get().await?;
    require_owner(&mut conn, project, &caller).await?;
    if projects::revoke(&mut conn, project, member).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(HubError::NotFound("member of this project"))
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
