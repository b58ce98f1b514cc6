//! The hub's one error type and its one mapping to HTTP ([`HubError::problem`]), in the
//! shared envelope of [`http_edge::error`]. Problems on an open document socket are close
//! codes instead (see [`crate::close::Close`]).

use actix_web::http::StatusCode;
use http_edge::{EdgeError, ErrorCode, Problem};
use tokens::TokenError;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    Edge(#[from] EdgeError),
    #[error("{0}")]
    Forbidden(String),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("no user is called `{0}`")]
    UnknownUser(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("invalid path: {0}")]
    Path(#[from] archive::PathError),
    #[error("{0}")]
    Archive(#[from] archive::ArchiveError),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("cannot read the body: {0}")]
    UnreadableBody(String),
    #[error("{what} is unavailable: {cause}")]
    Unavailable { what: &'static str, cause: String },
    #[error("internal error: {0}")]
    Internal(String),
    #[error("cannot start: {0}")]
    Startup(String),
}

impl HubError {
    /// A 422 for `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        HubError::Invalid {
            field,
            message: message.into(),
        }
    }

    /// What the client is told: status, code and a message with no internal detail.
    pub fn problem(&self) -> Problem {
        let plain = |status, code| Problem::new(status, code, self.to_string());
        match self {
            HubError::Edge(error) => error.problem(),
            HubError::Forbidden(_) => plain(StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            HubError::NotFound(_) => plain(StatusCode::NOT_FOUND, ErrorCode::NotFound),
            HubError::UnknownUser(_) => Problem {
                field: Some("username".into()),
                ..plain(StatusCode::NOT_FOUND, ErrorCode::NotFound)
            },
            HubError::Conflict(_) => plain(StatusCode::CONFLICT, ErrorCode::Conflict),
            HubError::Invalid { field, message } => Problem::invalid(*field, message.clone()),
            HubError::Path(_) => Problem {
                field: Some("path".into()),
                ..plain(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidPath)
            },
            HubError::Archive(error) => {
                let status = if error.is_too_large() {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                let code = ErrorCode::parse(error.code())
                    .expect("every archive error code is in the shared list");
                plain(status, code)
            }
            HubError::PayloadTooLarge(_) => {
                plain(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge)
            }
            HubError::UnreadableBody(_) => plain(StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            HubError::Unavailable { what, .. } => Problem::unavailable(what),
            HubError::Internal(_) | HubError::Startup(_) => Problem::internal(),
        }
    }
}

http_edge::impl_response_error!(HubError);

impl From<TokenError> for HubError {
    fn from(error: TokenError) -> Self {
        HubError::Edge(error.into())
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
        HubError::Unavailable {
            what: "the database",
            cause: error.to_string(),
        }
    }
}

impl From<redis::RedisError> for HubError {
    fn from(error: redis::RedisError) -> Self {
        HubError::Unavailable {
            what: "Redis",
            cause: error.to_string(),
        }
    }
}

impl From<deadpool_redis::PoolError> for HubError {
    fn from(error: deadpool_redis::PoolError) -> Self {
        HubError::Unavailable {
            what: "Redis",
            cause: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_archive_error_has_a_shared_code() {
        for code in archive::ArchiveError::CODES {
            assert!(ErrorCode::parse(code).is_some(), "{code} is not listed");
        }
    }
}
