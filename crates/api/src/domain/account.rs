//! Account fields. Each type's schema says exactly what its `parse` accepts.

use crate::domain::text::{not_blank_without, string, CONTROL};
use crate::error::ApiError;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// 3–32 characters of `A-Z a-z 0-9 . _ -`, not starting with `guest-` in any case; stored
/// lower-case.
#[derive(Debug)]
pub struct Username(String);

impl Username {
    /// Guest accounts are named `guest-…`; nobody else may be.
    const RESERVED_PREFIX: &'static str = "guest-";

    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
        // Every allowed character is ASCII, so bytes count characters.
        if !(3..=32).contains(&text.len()) || !text.chars().all(allowed) {
            return Err(ApiError::invalid(
                "username",
                "a username has 3 to 32 characters: letters, digits, '.', '_' or '-'",
            ));
        }
        let name = text.to_ascii_lowercase();
        if name.starts_with(Self::RESERVED_PREFIX) {
            return Err(ApiError::invalid(
                "username",
                "usernames starting with 'guest-' are reserved",
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialSchema for Username {
    fn schema() -> RefOr<Schema> {
        string(r"^(?![Gg][Uu][Ee][Ss][Tt]-)[A-Za-z0-9._-]{3,32}$".into())
            .description(Some(
                "3–32 of `A-Z a-z 0-9 . _ -`, stored lower-case; `guest-…` is reserved.",
            ))
            .into()
    }
}

impl ToSchema for Username {}

/// 8–128 characters.
pub struct Password(String);

impl Password {
    const CHARS: std::ops::RangeInclusive<usize> = 8..=128;

    pub fn parse(text: String) -> Result<Self, ApiError> {
        let chars = text.chars().count();
        if !Self::CHARS.contains(&chars) {
            return Err(ApiError::invalid(
                "password",
                "a password has 8 to 128 characters",
            ));
        }
        Ok(Self(text))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl PartialSchema for Password {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(*Self::CHARS.start()))
            .max_length(Some(*Self::CHARS.end()))
            .into()
    }
}

impl ToSchema for Password {}

/// At most 64 characters as sent, no control characters, not blank; stored trimmed.
#[derive(Debug)]
pub struct DisplayName(String);

impl DisplayName {
    const MAX_CHARS: usize = 64;

    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let name = text.trim();
        if name.is_empty()
            || text.chars().count() > Self::MAX_CHARS
            || text.chars().any(char::is_control)
        {
            return Err(ApiError::invalid(
                "display_name",
                "a display name has 1 to 64 printable characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialSchema for DisplayName {
    fn schema() -> RefOr<Schema> {
        string(not_blank_without(CONTROL))
            .max_length(Some(Self::MAX_CHARS))
            .description(Some(
                "At most 64 characters, not all blank, no control characters; stored without \
                 surrounding blanks.",
            ))
            .into()
    }
}

impl ToSchema for DisplayName {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercased_and_checked() {
        assert_eq!(Username::parse("Ada_L").unwrap().as_str(), "ada_l");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("has space").is_err());
        assert!(Username::parse(" ada ").is_err());
        assert!(Username::parse("guest-1234").is_err());
        assert!(Username::parse("GUEST-1234").is_err());
        assert!(Username::parse("guest1234").is_ok());
        // Kelvin sign: `to_lowercase` would have made it an ASCII `k`.
        assert!(Username::parse("\u{212a}ate").is_err());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("long enough".into()).is_ok());
    }

    #[test]
    fn display_names_count_what_was_sent() {
        assert_eq!(DisplayName::parse(" Ada ").unwrap().as_str(), "Ada");
        assert!(DisplayName::parse(&"x".repeat(64)).is_ok());
        assert!(DisplayName::parse(&format!(" {}", "x".repeat(64))).is_err());
        assert!(DisplayName::parse("\u{85}").is_err());
        assert!(DisplayName::parse("a\tb").is_err());
        assert!(DisplayName::parse("\u{3000}").is_err());
    }
}
