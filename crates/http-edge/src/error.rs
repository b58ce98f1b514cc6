//! One JSON error envelope for every service,
//! `{"error": {"code": "...", "message": "...", "field": "...", "request_id": "..."}}`,
//! and the one list of its codes ([`ErrorCode`]). A service maps its own error enum to a
//! [`Problem`] in one place and lets [`impl_response_error!`](crate::impl_response_error)
//! turn that into the response.
//!
//! A 5xx body never carries internal text: it says that something failed and gives the
//! request id; the cause is logged with that id by [`crate::request::middleware`].

use crate::request_id::RequestId;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use tokens::TokenError;
use utoipa::ToSchema;

macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:tt,)*) => {
        /// Every error code any service answers with. The list is the documentation: the
        /// README's "Error codes" table is checked against it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
        pub enum ErrorCode {
            $($(#[doc = $doc])* #[serde(rename = $code)] $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order of the list.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it appears in a response body.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The code spelled `code`, if there is one.
            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

error_codes! {
    /// 401: the endpoint needs `Authorization: Bearer <token>`.
    MissingToken = "missing_token",
    /// 401: the token's signature, algorithm or claims are wrong.
    InvalidToken = "invalid_token",
    /// 401: the token has expired; sign in again or refresh.
    ExpiredToken = "expired_token",
    /// 401: the token's session was signed out; sign in again.
    TokenRevoked = "token_revoked",
    /// 401: the session has reached its maximum age and cannot be refreshed; sign in again.
    SessionExpired = "session_expired",
    /// 401: wrong username or password.
    InvalidCredentials = "invalid_credentials",
    /// 403: authenticated, but not allowed to do this.
    Forbidden = "forbidden",
    /// 404: no such resource, route, or id.
    NotFound = "not_found",
    /// 405: the path exists but not with this method (see `Allow`).
    MethodNotAllowed = "method_not_allowed",
    /// 409: the request conflicts with the current state.
    Conflict = "conflict",
    /// 409: the username is already registered.
    UsernameTaken = "username_taken",
    /// 400: the body is not well-formed JSON.
    MalformedJson = "malformed_json",
    /// 400: the request is malformed (a query string, a header).
    BadRequest = "bad_request",
    /// 400: a WebSocket endpoint was called without a WebSocket upgrade.
    NotWebsocket = "not_websocket",
    /// 413: the body is over the endpoint's limit.
    PayloadTooLarge = "payload_too_large",
    /// 415: the body must be JSON (`Content-Type: application/json`).
    UnsupportedMediaType = "unsupported_media_type",
    /// 422: well-formed, but a value is not acceptable; `field` names it.
    ValidationFailed = "validation_failed",
    /// 422: a file path is not acceptable (absolute, `..`, empty segment, too long).
    InvalidPath = "invalid_path",
    /// 413: an uploaded archive is over the size limit.
    ArchiveTooLarge = "archive_too_large",
    /// 422: an upload is neither zip nor tar.gz.
    UnknownFormat = "unknown_format",
    /// 422: an archive cannot be read.
    CorruptArchive = "corrupt_archive",
    /// 422: an archive uses a feature we do not accept (encryption, an odd compression).
    UnsupportedArchive = "unsupported_archive",
    /// 422: an archive entry's path is absolute, has `..` or a drive letter.
    UnsafePath = "unsafe_path",
    /// 422: an archive holds a symbolic or hard link.
    LinkNotAllowed = "link_not_allowed",
    /// 422: an archive holds a device, FIFO or other special file.
    SpecialFileNotAllowed = "special_file_not_allowed",
    /// 422: an archive has more entries than allowed.
    TooManyEntries = "too_many_entries",
    /// 422: one file of an archive is over the per-file limit.
    FileTooLarge = "file_too_large",
    /// 422: an archive unpacks to more than allowed.
    TotalTooLarge = "total_too_large",
    /// 422: an archive holds a file that is not UTF-8 text.
    NotText = "not_text",
    /// 422: an archive holds the same path twice.
    DuplicatePath = "duplicate_path",
    /// 422: an archive holds no file.
    EmptyArchive = "empty_archive",
    /// 429: the caller has as many submissions waiting for a verdict as one may have.
    TooManySubmissions = "too_many_submissions",
    /// 429: too many sign-ins, registrations or guest sessions from this address or for this
    /// account; `Retry-After` says when to try again.
    RateLimited = "rate_limited",
    /// 503: too many passwords are being checked at once; `Retry-After` says when to try again.
    ServerBusy = "server_busy",
    /// 503: the grading queue is full; `Retry-After` says when to try again.
    QueueFull = "queue_full",
    /// 503: a backing service (Postgres, Redis) is unavailable; try again shortly.
    ServiceUnavailable = "service_unavailable",
    /// 503: Redis is nearly full, so no new work is taken until it has room again; `Retry-After` says when to try again.
    StorageFull = "storage_full",
    /// 500: a fault on our side; the body's `request_id` finds it in the logs.
    InternalError = "internal_error",
}

/// The JSON error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code, from the documented list.
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
    /// The request field at fault, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The id to quote when reporting a server error (also the `x-request-id` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// An error as a client sees it: status, code, message and the headers that go with them.
#[derive(Clone, Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    pub retry_after_seconds: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after_seconds: None,
        }
    }

    /// A 500 whose body says nothing about the cause.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalError,
            "something went wrong on our side; it has been logged under this request id",
        )
    }

    /// A 503 naming the unavailable dependency (`"the database"`), never its error text.
    pub fn unavailable(what: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServiceUnavailable,
            format!("{what} is unavailable; try again in a few seconds"),
        )
        .retry_after(5)
    }

    /// A 422 for `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ValidationFailed,
                message,
            )
        }
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_seconds = Some(seconds);
        self
    }

    /// The response: the envelope, `WWW-Authenticate` on 401, `Retry-After` on 503, and the
    /// request id on every 5xx.
    pub fn response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(seconds) = self.retry_after_seconds {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        let request_id = self
            .status
            .is_server_error()
            .then(RequestId::current)
            .flatten()
            .map(|id| id.to_string());
        response.json(ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.clone(),
                field: self.field.clone(),
                request_id,
            },
        })
    }
}

/// Implements `actix_web::ResponseError` for an error type with a `fn problem(&self) ->
/// Problem`, so that the mapping to HTTP lives in that one function.
#[macro_export]
macro_rules! impl_response_error {
    ($error:ty) => {
        impl actix_web::ResponseError for $error {
            fn status_code(&self) -> actix_web::http::StatusCode {
                self.problem().status
            }

            fn error_response(&self) -> actix_web::HttpResponse {
                self.problem().response()
            }
        }
    };
}

/// When a client refused for a full Redis should try again: trimming frees memory within
/// seconds once work finishes.
const STORAGE_FULL_RETRY_SECONDS: u64 = 10;

/// Errors the edge itself answers with: before a service's handler runs, or for what every
/// service shares (tokens, WebSocket upgrades).
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error("this endpoint needs an `Authorization: Bearer <token>` header")]
    MissingToken,
    #[error("{0}")]
    BadToken(#[from] TokenError),
    #[error("the body is {length} bytes; the limit is {limit} bytes")]
    BodyTooLarge { length: usize, limit: usize },
    #[error("the body is over the limit of {limit} bytes")]
    BodyOverLimit { limit: usize },
    #[error("the request body must be JSON (Content-Type: application/json)")]
    NotJson,
    #[error("the request body is not valid JSON for this endpoint: {0}")]
    MalformedJson(String),
    #[error("{0}")]
    InvalidBody(String),
    #[error("no such resource (ids are whole numbers)")]
    UnparsablePath,
    #[error("the query string is not valid here: {0}")]
    BadQuery(String),
    #[error("no endpoint at {0}")]
    NoRoute(String),
    #[error("{0} is not allowed here")]
    MethodNotAllowed(String),
    #[error("`{path}` speaks WebSocket only: {reason}")]
    NotWebSocket { path: String, reason: String },
    #[error(
        "the platform's storage is nearly full, so it takes no new work for now; try again shortly"
    )]
    StorageFull,
}

impl EdgeError {
    pub fn problem(&self) -> Problem {
        let (status, code) = match self {
            EdgeError::MissingToken => (StatusCode::UNAUTHORIZED, ErrorCode::MissingToken),
            EdgeError::BadToken(TokenError::Expired) => {
                (StatusCode::UNAUTHORIZED, ErrorCode::ExpiredToken)
            }
            EdgeError::BadToken(TokenError::Invalid(_)) => {
                (StatusCode::UNAUTHORIZED, ErrorCode::InvalidToken)
            }
            EdgeError::BadToken(TokenError::Revoked) => {
                (StatusCode::UNAUTHORIZED, ErrorCode::TokenRevoked)
            }
            EdgeError::BadToken(TokenError::SessionOver { .. }) => {
                (StatusCode::UNAUTHORIZED, ErrorCode::SessionExpired)
            }
            EdgeError::BadToken(TokenError::Unavailable(_)) => {
                return Problem::unavailable("Redis")
            }
            EdgeError::BodyTooLarge { .. } | EdgeError::BodyOverLimit { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge)
            }
            EdgeError::NotJson => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
            ),
            EdgeError::MalformedJson(_) => (StatusCode::BAD_REQUEST, ErrorCode::MalformedJson),
            EdgeError::InvalidBody(message) => return Problem::invalid("body", message.clone()),
            EdgeError::UnparsablePath | EdgeError::NoRoute(_) => {
                (StatusCode::NOT_FOUND, ErrorCode::NotFound)
            }
            EdgeError::BadQuery(_) => (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            EdgeError::MethodNotAllowed(_) => {
                (StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed)
            }
            EdgeError::NotWebSocket { .. } => (StatusCode::BAD_REQUEST, ErrorCode::NotWebsocket),
            EdgeError::StorageFull => {
                return Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::StorageFull,
                    self.to_string(),
                )
                .retry_after(STORAGE_FULL_RETRY_SECONDS)
            }
        };
        Problem::new(status, code, self.to_string())
    }
}

impl ResponseError for EdgeError {
    fn status_code(&self) -> StatusCode {
        self.problem().status
    }

    fn error_response(&self) -> HttpResponse {
        self.problem().response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_spelling() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::json!(code.as_str())
            );
        }
        assert_eq!(ErrorCode::parse("token_expired"), None);
    }

    #[test]
    fn the_readme_documents_every_code() {
        let readme = include_str!("../../../README.md");
        let missing: Vec<&str> = ErrorCode::ALL
            .iter()
            .map(|code| code.as_str())
            .filter(|code| !readme.contains(&format!("| `{code}` |")))
            .collect();
        assert!(missing.is_empty(), "README lacks codes {missing:?}");
    }

    #[test]
    fn a_full_storage_is_a_503_that_says_when_to_retry() {
        let problem = EdgeError::StorageFull.problem();
        assert_eq!(problem.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(problem.code, ErrorCode::StorageFull);
        let response = problem.response();
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "10");
    }

    #[test]
    fn an_unavailable_dependency_is_named_without_its_error_and_says_when_to_retry() {
        let problem = Problem::unavailable("the database");
        assert_eq!(problem.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            problem.message,
            "the database is unavailable; try again in a few seconds"
        );
        let response = problem.response();
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "5");
    }
}
