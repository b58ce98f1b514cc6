//! The extractor rules: malformed, oversized or mistyped input to `web::Json`, `web::Path`,
//! `web::Query` and raw bodies becomes an [`EdgeError`] in the envelope, never actix's
//! plain-text answers.

use crate::error::EdgeError;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest};

/// Registers the rules; bodies are limited to `max_body_bytes`.
pub fn configure(cfg: &mut web::ServiceConfig, max_body_bytes: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(max_body_bytes)
            .error_handler(json_error),
    )
    .app_data(web::PayloadConfig::new(max_body_bytes))
    .app_data(web::PathConfig::default().error_handler(path_error))
    .app_data(web::QueryConfig::default().error_handler(query_error));
}

fn json_error(err: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    match err {
        JsonPayloadError::OverflowKnownLength { length, limit } => {
            EdgeError::BodyTooLarge { length, limit }
        }
        JsonPayloadError::Overflow { limit } => EdgeError::BodyOverLimit { limit },
        JsonPayloadError::ContentType => EdgeError::NotJson,
        JsonPayloadError::Deserialize(e) if e.is_data() => EdgeError::InvalidBody(e.to_string()),
        other => EdgeError::MalformedJson(other.to_string()),
    }
    .into()
}

fn path_error(err: PathError, _: &HttpRequest) -> actix_web::Error {
    // A path id that is not a number names nothing that exists.
    tracing::debug!(%err, "unparsable path");
    EdgeError::UnparsablePath.into()
}

fn query_error(err: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    EdgeError::BadQuery(err.to_string()).into()
}
