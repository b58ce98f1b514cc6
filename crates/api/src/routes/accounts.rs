//! Registration, sign-in (password or guest), token refresh and the caller's account.

use crate::auth::{hash_password, verify_password, Caller};
use crate::domain::account::{DisplayName, Password, Username};
use crate::error::{ApiError, ErrorBody};
use crate::routes::views::{SessionView, UserView};
use crate::state::AppState;
use crate::store;
use actix_web::{web, HttpResponse};
use db::models::{NewUser, User};
use rand::distr::{Alphanumeric, SampleString};
use serde::Deserialize;
use tokens::Role;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 3–32 of `a-z 0-9 . _ -` (case-insensitive; `guest-…` is reserved).
    #[schema(pattern = "^[A-Za-z0-9._-]{3,32}$")]
    pub username: String,
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64, pattern = "\\S")]
    pub display_name: Option<String>,
    /// `student` (default) or `teacher`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuestRequest {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64, pattern = "\\S")]
    pub display_name: Option<String>,
}

fn session(state: &AppState, user: User) -> Result<SessionView, ApiError> {
    let role = match user.role.as_str() {
        "teacher" => Role::Teacher,
        _ => Role::Student,
    };
    let issued = state.tokens.issue(
        contracts::UserId(user.id),
        role,
        &user.display_name,
        user.guest,
    );
    Ok(SessionView {
        token: issued.token,
        expires_at: issued.expires_at,
        user: user.into(),
    })
}

/// Creates an account and signs it in.
#[utoipa::path(post, path = "/api/auth/register", tag = "accounts",
    request_body = RegisterRequest,
    responses((status = 201, body = SessionView), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn register(
    state: web::Data<AppState>,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let username = Username::parse(&body.username)?;
    let password = Password::parse(body.password)?;
    let display_name = DisplayName::parse(body.display_name.as_deref().unwrap_or(&body.username))?;
    let role = body.role.unwrap_or(Role::Student);
    let hash = hash_password(password.into_inner()).await?;
    let mut conn = state.conn().await?;
    let user = store::users::insert(
        &mut conn,
        NewUser {
            username: username.as_str(),
            display_name: display_name.as_str(),
            password_hash: Some(&hash),
            role: role.as_str(),
            guest: false,
        },
    )
    .await?
    .ok_or_else(|| ApiError::Conflict {
        code: "username_taken",
        message: format!("the username `{}` is taken", username.as_str()),
    })?;
    Ok(HttpResponse::Created().json(session(&state, user)?))
}

/// Signs in with a username and password.
#[utoipa::path(post, path = "/api/auth/login", tag = "accounts",
    request_body = LoginRequest,
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody)))]
pub async fn login(
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut conn = state.conn().await?;
    let user = store::users::by_username(&mut conn, &body.username.trim().to_lowercase())
        .await?
        .ok_or(ApiError::InvalidCredentials)?;
    let hash = user
        .password_hash
        .clone()
        .ok_or(ApiError::InvalidCredentials)?;
    if !verify_password(body.password, hash).await? {
        return Err(ApiError::InvalidCredentials);
    }
    Ok(HttpResponse::Ok().json(session(&state, user)?))
}

/// Creates a guest account (a student without a password) and signs it in.
#[utoipa::path(post, path = "/api/auth/guest", tag = "accounts",
    request_body(content = Option<GuestRequest>),
    responses((status = 201, body = SessionView), (status = 422, body = ErrorBody)))]
pub async fn guest(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let body: GuestRequest = if body.iter().all(u8::is_ascii_whitespace) {
        GuestRequest::default()
    } else {
        serde_json::from_slice::<Option<GuestRequest>>(&body)
            .map_err(|e| ApiError::MalformedJson(e.to_string()))?
            .unwrap_or_default()
    };
    let suffix = Alphanumeric
        .sample_string(&mut rand::rng(), 10)
        .to_lowercase();
    let display_name = DisplayName::parse(body.display_name.as_deref().unwrap_or("Guest"))?;
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
    Ok(HttpResponse::Created().json(session(&state, user)?))
}

/// Exchanges a valid token for a fresh one.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "accounts",
    security(("bearer" = [])),
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody)))]
pub async fn refresh(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let mut conn = state.conn().await?;
    let user = store::users::by_id(&mut conn, caller.id().0)
        .await?
        .ok_or(ApiError::InvalidCredentials)?;
    Ok(HttpResponse::Ok().json(session(&state, user)?))
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
