//! The relay's one error type and its mapping to HTTP: a status and a JSON body
//! `{"error": {"code": "...", "message": "..."}}`, the same shape as the api's. Problems on an
//! open socket are not errors but close codes (see [`crate::close::Close`]).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("`/ws` speaks WebSocket only: {0}")]
    NotWebSocket(String),
    #[error("cannot start: {0}")]
    Startup(String),
}

impl RelayError {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            RelayError::NotWebSocket(_) => "not_websocket",
            RelayError::Startup(_) => "internal_error",
        }
    }
}

impl ResponseError for RelayError {
    fn status_code(&self) -> StatusCode {
        match self {
            RelayError::NotWebSocket(_) => StatusCode::BAD_REQUEST,
            RelayError::Startup(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .json(json!({"error": {"code": self.code(), "message": self.to_string()}}))
    }
}
