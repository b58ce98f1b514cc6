//! The api's one error type and its one mapping to HTTP: a status and a JSON body
//! `{"error": {"code": "...", "message": "...", "field": "..."}}` with a stable `code`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use contracts::StreamError;
use serde::Serialize;
use tokens::TokenError;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("this endpoint needs an `Authorization: Bearer <token>` header")]
    MissingToken,
    #[error("{0}")]
    BadToken(#[from] TokenError),
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    Validation {
        field: &'static str,
        message: String,
    },
    #[error("the request body is not valid JSON for this endpoint: {0}")]
    MalformedJson(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("the grading queue is full ({backlog} submissions waiting); try again in a minute")]
    QueueFull { backlog: u64 },
    #[error("a backing service is unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("internal error: {0}")]
    Internal(String),
    #[error("cannot start: {0}")]
    Startup(String),
}

impl ApiError {
    /// A 422 for `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ApiError::Validation {
            field,
            message: message.into(),
        }
    }

    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MissingToken => "missing_token",
            ApiError::BadToken(TokenError::Expired) => "expired_token",
            ApiError::BadToken(TokenError::Invalid(_)) => "invalid_token",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict { code, .. } => code,
            ApiError::Validation { .. } => "validation_failed",
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::QueueFull { .. } => "queue_full",
            ApiError::Unavailable(_) => "service_unavailable",
            ApiError::Database(_) | ApiError::Internal(_) | ApiError::Startup(_) => {
                "internal_error"
            }
        }
    }
}

/// The JSON error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code, e.g. `validation_failed`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request field at fault, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::MissingToken | ApiError::BadToken(_) | ApiError::InvalidCredentials => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::MalformedJson(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::QueueFull { .. } | ApiError::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Database(_) | ApiError::Internal(_) | ApiError::Startup(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
            "something went wrong on our side; it has been logged".to_owned()
        } else {
            self.to_string()
        };
        let field = match self {
            ApiError::Validation { field, .. } => Some((*field).to_owned()),
            _ => None,
        };
        let mut response = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, "30"));
        }
        if matches!(self, ApiError::MissingToken | ApiError::BadToken(_)) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message,
                field,
            },
        })
    }
}

impl From<StreamError> for ApiError {
    fn from(e: StreamError) -> Self {
        ApiError::Unavailable(format!("Redis: {e}"))
    }
}

impl From<db::PoolError> for ApiError {
    fn from(e: db::PoolError) -> Self {
        ApiError::Unavailable(format!("database: {e}"))
    }
}

impl From<deadpool_redis::PoolError> for ApiError {
    fn from(e: deadpool_redis::PoolError) -> Self {
        ApiError::Unavailable(format!("Redis: {e}"))
    }
}

impl From<deadpool_redis::redis::RedisError> for ApiError {
    fn from(e: deadpool_redis::redis::RedisError) -> Self {
        ApiError::Unavailable(format!("Redis: {e}"))
    }
}
