//! Submitted program text.

use crate::error::ApiError;

/// A program within the size limit, not blank and free of NUL bytes.
#[derive(Debug)]
pub struct Code(String);

impl Code {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_over_the_limit_is_too_large() {
        let err = Code::parse("x".repeat(11), 10).unwrap_err();
        assert_eq!(err.code(), "payload_too_large");
    }

    #[test]
    fn blank_code_is_invalid() {
        assert_eq!(
            Code::parse("  \n".into(), 10).unwrap_err().code(),
            "validation_failed"
        );
    }

    #[test]
    fn code_at_the_limit_is_accepted() {
        assert_eq!(Code::parse("x".repeat(10), 10).unwrap().as_str().len(), 10);
    }
}
