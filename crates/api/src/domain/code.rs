//! Submitted program text.

use crate::domain::text::{not_blank_without, string, NUL};
use crate::error::ApiError;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// A program within the size limit, not blank and free of NUL bytes.
#[derive(Debug)]
pub struct Code(String);

impl Code {
    /// A program over `max_bytes` is too large (413), as a body over the edge's limit is.
    pub fn parse(text: String, max_bytes: usize) -> Result<Self, ApiError> {
        if text.len() > max_bytes {
            return Err(ApiError::PayloadTooLarge(format!(
                "the code is {} bytes; the limit is {max_bytes} bytes",
                text.len()
            )));
        }
        if text.trim().is_empty() {
            return Err(ApiError::invalid("code", "the code is empty"));
        }
        if text.contains('\0') {
            return Err(ApiError::invalid("code", "the code contains a NUL byte"));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The document sets `maxLength` to the api's `max_code_bytes` (see `routes::docs`); JSON
/// Schema counts characters, so code beyond ASCII meets the byte limit sooner.
impl PartialSchema for Code {
    fn schema() -> RefOr<Schema> {
        string(not_blank_without(NUL))
            .description(Some(
                "The program: not blank, no NUL, at most `maxLength` bytes of UTF-8.",
            ))
            .into()
    }
}

impl ToSchema for Code {}

#[cfg(test)]
mod tests {
    use super::*;
    use http_edge::ErrorCode;

    #[test]
    fn code_over_the_limit_is_too_large() {
        let err = Code::parse("x".repeat(11), 10).unwrap_err();
        assert_eq!(err.problem().code, ErrorCode::PayloadTooLarge);
    }

    #[test]
    fn blank_code_is_invalid() {
        assert_eq!(
            Code::parse("  \n\u{85}".into(), 10)
                .unwrap_err()
                .problem()
                .code,
            ErrorCode::ValidationFailed
        );
    }

    #[test]
    fn code_at_the_limit_is_accepted() {
        assert_eq!(Code::parse("x".repeat(10), 10).unwrap().as_str().len(), 10);
    }
}
