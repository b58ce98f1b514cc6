//! Registration, sign-in (password or guest), token refresh, sign-out and the caller's account.
//!
//! Each sign-in starts a session; a refresh renews its token within the session's maximum age,
//! and signing out revokes every token of it ([`tokens::Verifier`]). Sign-ins, registrations
//! and guest sessions are rate-limited ([`crate::limits`]) before any password is hashed.

use crate::auth::Caller;
use crate::domain::account::{DisplayName, Password, Username};
use crate::error::{ApiError, ErrorBody};
use crate::limits::client::ClientAddr;
use crate::limits::Action;
use crate::state::AppState;
use crate::store;
use crate::views::{SessionView, UserView};
use actix_web::{web, HttpResponse};
use db::models::{NewUser, User};
use http_edge::{EdgeError, ErrorCode};
use rand::distr::{Alphanumeric, SampleString};
use serde::Deserialize;
use tokens::Role;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(value_type = Username)]
    pub username: String,
    #[schema(value_type = Password)]
    pub password: String,
    /// The username when omitted.
    #[serde(default)]
    #[schema(value_type = Option<DisplayName>)]
    pub display_name: Option<String>,
    /// `student`, the only role one may register with; only an operator makes teachers.
    #[serde(default)]
    pub role: Option<RequestedRole>,
}

/// The role a registration asks for. Only `student` is accepted; `teacher` is read so that it
/// can be refused by name rather than ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestedRole {
    Student,
    Teacher,
}

impl PartialSchema for RequestedRole {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["student"]))
            .description(Some(
                "Accounts are students; an operator makes teachers (`platform-admin`).",
            ))
            .into()
    }
}

impl ToSchema for RequestedRole {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuestRequest {
    /// `Guest` when omitted.
    #[serde(default)]
    #[schema(value_type = Option<DisplayName>)]
    pub display_name: Option<String>,
}

impl GuestRequest {
    /// Reads the optional body: none, `null` or an object. A body that is JSON but not an
    /// object is answered as the edge answers any JSON of the wrong shape; one that is not
    /// JSON at all (blanks included) as malformed.
    fn from_body(body: &[u8]) -> Result<Self, EdgeError> {
        if body.is_empty() {
            return Ok(Self::default());
        }
        let shape_error = |e: serde_json::Error| {
            if e.is_data() {
                EdgeError::InvalidBody(e.to_string())
            } else {
                EdgeError::MalformedJson(e.to_string())
            }
        };
        // Read as a map first: serde would read a struct from an array too.
        match serde_json::from_slice::<Option<serde_json::Map<String, serde_json::Value>>>(body)
            .map_err(shape_error)?
        {
            None => Ok(Self::default()),
            Some(fields) => {
                serde_json::from_value(serde_json::Value::Object(fields)).map_err(shape_error)
            }
        }
    }
}

fn role_of(user: &User) -> Role {
    match user.role.as_str() {
        "teacher" => Role::Teacher,
        _ => Role::Student,
    }
}

/// Starts a session for `user`.
fn session(state: &AppState, user: User) -> SessionView {
    let issued = state.tokens.issue(
        contracts::UserId(user.id),
        role_of(&user),
        &user.display_name,
        user.guest,
    );
    SessionView::new(issued, user)
}

/// Creates a student account and signs it in.
#[utoipa::path(post, path = "/api/auth/register", tag = "accounts",
    request_body = RegisterRequest,
    responses((status = 201, body = SessionView), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn register(
    state: web::Data<AppState>,
    client: ClientAddr,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let username = Username::parse(&body.username)?;
    let password = Password::parse(body.password)?;
    let display_name = DisplayName::parse(body.display_name.as_deref().unwrap_or(&body.username))?;
    if body.role == Some(RequestedRole::Teacher) {
        return Err(ApiError::invalid(
            "role",
            "accounts are registered as students; an operator makes an account a teacher",
        ));
    }
    state
        .rate_limits
        .attempt(Action::Register, client, Some(&username))
        .await?;
    let hash = state.passwords.hash(password.into_inner()).await?;
    let mut conn = state.conn().await?;
    let user = store::users::insert(
        &mut conn,
        NewUser {
            username: username.as_str(),
            display_name: display_name.as_str(),
            password_hash: Some(&hash),
            role: Role::Student.as_str(),
            guest: false,
        },
    )
    .await?
    .ok_or_else(|| ApiError::Conflict {
        code: ErrorCode::UsernameTaken,
        message: format!("the username `{}` is taken", username.as_str()),
    })?;
    Ok(HttpResponse::Created().json(session(&state, user)))
}

/// Signs in with a username and password.
#[utoipa::path(post, path = "/api/auth/login", tag = "accounts",
    request_body = LoginRequest,
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn login(
    state: web::Data<AppState>,
    client: ClientAddr,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    // A name no account can have (which includes one PostgreSQL cannot store) signs nobody in,
    // but still counts against the address.
    let username = Username::parse(body.username.trim()).ok();
    state
        .rate_limits
        .attempt(Action::Login, client, username.as_ref())
        .await?;
    let username = username.ok_or(ApiError::InvalidCredentials)?;
    // No database connection is held while the password is checked: checks may queue.
    let user = store::users::by_username(&mut *state.conn().await?, username.as_str())
        .await?
        .ok_or(ApiError::InvalidCredentials)?;
    let hash = user
        .password_hash
        .clone()
        .ok_or(ApiError::InvalidCredentials)?;
    if !state.passwords.verify(body.password, hash).await? {
        return Err(ApiError::InvalidCredentials);
    }
    Ok(HttpResponse::Ok().json(session(&state, user)))
}

/// Creates a guest account (a student without a password) and signs it in.
#[utoipa::path(post, path = "/api/auth/guest", tag = "accounts",
    request_body(content = Option<GuestRequest>),
    responses((status = 201, body = SessionView), (status = 422, body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn guest(
    state: web::Data<AppState>,
    client: ClientAddr,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = GuestRequest::from_body(&body)?;
    let suffix = Alphanumeric
        .sample_string(&mut rand::rng(), 10)
        .to_lowercase();
    let display_name = DisplayName::parse(body.display_name.as_deref().unwrap_or("Guest"))?;
    state
        .rate_limits
        .attempt(Action::Guest, client, None)
        .await?;
    let username = format!("guest-{suffix}");
    let mut conn = state.conn().await?;
    let user = store::users::insert(
        &mut conn,
        NewUser {
            username: &username,
            display_name: display_name.as_str(),
            password_hash: None,
            role: Role::Student.as_str(),
            guest: true,
        },
    )
    .await?
    .ok_or_else(|| ApiError::Internal("guest name collision".into()))?;
    Ok(HttpResponse::Created().json(session(&state, user)))
}

/// Exchanges a valid token for a fresh one of the same session, with the account's current
/// role and name; it expires no later than the session (`session_expired` once it is over).
#[utoipa::path(post, path = "/api/auth/refresh", tag = "accounts",
    security(("bearer" = [])),
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody)))]
pub async fn refresh(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let mut conn = state.conn().await?;
    let user = store::users::by_id(&mut conn, caller.id().0)
        .await?
        .ok_or(ApiError::InvalidCredentials)?;
    let issued = state
        .tokens
        .renew(&caller.0, role_of(&user), &user.display_name)?;
    Ok(HttpResponse::Ok().json(SessionView::new(issued, user)))
}

/// Signs out: every token of the caller's session is refused from now on, by every service.
#[utoipa::path(post, path = "/api/auth/logout", tag = "accounts",
    security(("bearer" = [])),
    responses((status = 204, description = "signed out"), (status = 401, body = ErrorBody)))]
pub async fn logout(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    state.sessions.revoke(&caller.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's account.
#[utoipa::path(get, path = "/api/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let mut conn = state.conn().await?;
    let user = store::users::by_id(&mut conn, caller.id().0)
        .await?
        .ok_or(ApiError::NotFound("account"))?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::StatusCode;

    fn answer(body: &str) -> Result<Option<String>, (StatusCode, String)> {
        GuestRequest::from_body(body.as_bytes())
            .map(|request| request.display_name)
            .map_err(|e| {
                let problem = e.problem();
                (problem.status, problem.code.as_str().to_owned())
            })
    }

    #[test]
    fn guest_options_are_absent_null_or_an_object() {
        assert_eq!(answer(""), Ok(None));
        assert_eq!(answer("null"), Ok(None));
        assert_eq!(answer("{}"), Ok(None));
        assert_eq!(answer(r#"{"display_name":"Ada"}"#), Ok(Some("Ada".into())));
    }

    #[test]
    fn guest_options_of_another_shape_are_refused_as_the_edge_would() {
        let invalid = Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed".to_owned(),
        ));
        let malformed = Err((StatusCode::BAD_REQUEST, "malformed_json".to_owned()));
        assert_eq!(answer("[]"), invalid);
        assert_eq!(answer(r#""Ada""#), invalid);
        assert_eq!(answer(r#"{"display_name":5}"#), invalid);
        assert_eq!(answer(r#"{"admin":true}"#), invalid);
        assert_eq!(answer("\n"), malformed);
        assert_eq!(answer("{"), malformed);
    }
}
