//! Who is calling: the `Caller` extractor verifies the bearer token, and password hashing
//! runs off the async runtime (argon2 is deliberately slow).

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{http::header, web, FromRequest, HttpRequest};
use argon2::password_hash::{rand_core::OsRng, SaltString};
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use contracts::UserId;
use std::future::{ready, Ready};
use tokens::{Claims, Role};

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller(pub Claims);

impl Caller {
    pub fn id(&self) -> UserId {
        self.0.sub
    }

    pub fn is_teacher(&self) -> bool {
        self.0.role == Role::Teacher
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::MissingToken)?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::MissingToken)?;
    Ok(Caller(state.tokens.verify(token)?))
}

/// Hashes a password with argon2id and a random salt.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    web::block(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ApiError::Internal(format!("hashing failed: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// Checks `password` against a stored argon2 hash.
pub async fn verify_password(password: String, hash: String) -> Result<bool, ApiError> {
    web::block(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .map_err(|e| ApiError::Internal(format!("stored hash unreadable: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// Fails with 403 unless `caller` teaches `course`.
pub async fn require_teacher(
    conn: &mut diesel_async::AsyncPgConnection,
    course: i64,
    caller: &Caller,
) -> Result<(), ApiError> {
    if caller.is_teacher() && crate::store::courses::is_teacher(conn, course, caller.id().0).await?
    {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only the course's teachers may do this".into(),
        ))
    }
}
