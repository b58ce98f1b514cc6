//! The hub's one error type and its mapping to HTTP: a status and a JSON body
//! `{"error": {"code": "...", "message": "..."}}`, the same shape as the api's. Problems on an
//! open document socket are close codes instead (see [`crate::close::Close`]).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use tokens::TokenError;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("a bearer token is required")]
    MissingToken,
    #[error("{0}")]
    BadToken(#[from] TokenError),
    #[error("{0}")]
    Forbidden(String),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Invalid(String),
    #[error("invalid path: {0}")]
    Path(#[from] archive::PathError),
    #[error("{0}")]
    Archive(#[from] archive::ArchiveError),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    NotWebSocket(String),
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl HubError {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            HubError::MissingToken => "missing_token",
            HubError::BadToken(TokenError::Expired) => "token_expired",
            HubError::BadToken(_) => "invalid_token",
            HubError::Forbidden(_) => "forbidden",
            HubError::NotFound(_) => "not_found",
            HubError::Conflict(_) => "conflict",
            HubError::BadRequest(_) => "bad_request",
            HubError::Invalid(_) => "invalid_input",
            HubError::Path(_) => "invalid_path",
            HubError::Archive(error) => error.code(),
            HubError::PayloadTooLarge(_) => "payload_too_large",
            HubError::NotWebSocket(_) => "not_websocket",
            HubError::Unavailable(_) => "unavailable",
            HubError::Internal(_) => "internal_error",
        }
    }
}

impl ResponseError for HubError {
    fn status_code(&self) -> StatusCode {
        match self {
            HubError::MissingToken | HubError::BadToken(_) => StatusCode::UNAUTHORIZED,
            HubError::Forbidden(_) => StatusCode::FORBIDDEN,
            HubError::NotFound(_) => StatusCode::NOT_FOUND,
            HubError::Conflict(_) => StatusCode::CONFLICT,
            HubError::BadRequest(_) | HubError::NotWebSocket(_) => StatusCode::BAD_REQUEST,
            HubError::Invalid(_) | HubError::Path(_) => StatusCode::UNPROCESSABLE_ENTITY,
            HubError::Archive(error) if error.is_too_large() => StatusCode::PAYLOAD_TOO_LARGE,
            HubError::Archive(_) => StatusCode::UNPROCESSABLE_ENTITY,
            HubError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            HubError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            HubError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if matches!(self, HubError::Internal(_) | HubError::Unavailable(_)) {
            tracing::error!(error = %self, "request failed");
        }
        HttpResponse::build(self.status_code())
            .json(json!({"error": {"code": self.code(), "message": self.to_string()}}))
    }
}

impl From<diesel::result::Error> for HubError {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => HubError::NotFound("record"),
            other => HubError::Internal(format!("database: {other}")),
        }
    }
}

impl From<db::PoolError> for HubError {
    fn from(error: db::PoolError) -> Self {
        HubError::Unavailable(format!("database: {error}"))
    }
}

impl From<redis::RedisError> for HubError {
    fn from(error: redis::RedisError) -> Self {
        HubError::Unavailable(format!("redis: {error}"))
    }
}

impl From<deadpool_redis::PoolError> for HubError {
    fn from(error: deadpool_redis::PoolError) -> Self {
        HubError::Unavailable(format!("redis: {error}"))
    }
}
