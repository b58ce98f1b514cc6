//! The api's one error type and its one mapping to HTTP ([`ApiError::problem`]), in the
//! shared envelope of [`http_edge::error`].

use crate::limits::Scope;
use actix_web::http::StatusCode;
use contracts::StreamError;
use http_edge::{EdgeError, ErrorCode, Problem};
use tokens::TokenError;

pub use http_edge::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Edge(#[from] EdgeError),
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    #[error("{message}")]
    Validation {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error(
        "you have {unfinished} submissions waiting for a verdict, the most one may have; \
         submit again once one is graded"
    )]
    TooManyUnfinished { unfinished: u64 },
    #[error(
        "you have {unfinished} trials waiting for a verdict, the most one may have; try again \
         once one is graded"
    )]
    TooManyTrials { unfinished: u64 },
    #[error(
        "too many {attempts} {}: at most {limit} in {window_seconds} s; try again in {retry_after} s",
        match scope { Scope::Address => "from your address", Scope::Account => "for this account" }
    )]
    RateLimited {
        attempts: &'static str,
        scope: Scope,
        limit: u64,
        window_seconds: u64,
        retry_after: u64,
    },
    #[error("too many passwords are being checked right now; try again in a second")]
    HashingBusy,
    #[error("the grading queue is full ({backlog} submissions waiting); try again in a minute")]
    QueueFull { backlog: u64 },
    #[error("{what} is unavailable: {cause}")]
    Unavailable { what: &'static str, cause: String },
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

    /// What the client is told: status, code and a message with no internal detail.
    pub fn problem(&self) -> Problem {
        let plain = |status, code| Problem::new(status, code, self.to_string());
        match self {
            ApiError::Edge(error) => error.problem(),
            ApiError::InvalidCredentials => {
                plain(StatusCode::UNAUTHORIZED, ErrorCode::InvalidCredentials)
            }
            ApiError::Forbidden(_) => plain(StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            ApiError::NotFound(_) => plain(StatusCode::NOT_FOUND, ErrorCode::NotFound),
            ApiError::Conflict { code, .. } => plain(StatusCode::CONFLICT, *code),
            ApiError::Validation { field, message } => Problem::invalid(*field, message.clone()),
            ApiError::PayloadTooLarge(_) => {
                plain(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge)
            }
            ApiError::TooManyUnfinished { .. } | ApiError::TooManyTrials { .. } => {
                plain(StatusCode::TOO_MANY_REQUESTS, ErrorCode::TooManySubmissions).retry_after(5)
            }
            ApiError::RateLimited { retry_after, .. } => {
                plain(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited)
                    .retry_after(*retry_after)
            }
            ApiError::HashingBusy => {
                plain(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::ServerBusy).retry_after(1)
            }
            ApiError::QueueFull { .. } => {
                plain(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::QueueFull).retry_after(30)
            }
            ApiError::Unavailable { what, .. } => Problem::unavailable(what),
            ApiError::Database(_) | ApiError::Internal(_) | ApiError::Startup(_) => {
                Problem::internal()
            }
        }
    }
}

http_edge::impl_response_error!(ApiError);

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        ApiError::Edge(e.into())
    }
}

impl From<StreamError> for ApiError {
    fn from(e: StreamError) -> Self {
        ApiError::Unavailable {
            what: "Redis",
            cause: e.to_string(),
        }
    }
}

impl From<db::PoolError> for ApiError {
    fn from(e: db::PoolError) -> Self {
        ApiError::Unavailable {
            what: "the database",
            cause: e.to_string(),
        }
    }
}

impl From<deadpool_redis::PoolError> for ApiError {
    fn from(e: deadpool_redis::PoolError) -> Self {
        StreamError::from(e).into()
    }
}

impl From<deadpool_redis::redis::RedisError> for ApiError {
    fn from(e: deadpool_redis::redis::RedisError) -> Self {
        StreamError::from(e).into()
    }
}
