//! Account fields.

use crate::error::ApiError;

/// 3–32 characters of `a-z 0-9 . _ -`, stored lower-case.
#[derive(Debug)]
pub struct Username(String);

impl Username {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let name = text.trim().to_lowercase();
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
        if !(3..=32).contains(&name.len()) || !name.chars().all(allowed) {
            return Err(ApiError::invalid(
                "username",
                "a username has 3 to 32 characters: letters, digits, '.', '_' or '-'",
            ));
        }
        if name.starts_with("guest-") {
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

/// 8–128 characters.
pub struct Password(String);

impl Password {
    pub fn parse(text: String) -> Result<Self, ApiError> {
        let chars = text.chars().count();
        if !(8..=128).contains(&chars) {
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

/// 1–64 printable characters.
#[derive(Debug)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let name = text.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercased_and_checked() {
        assert_eq!(Username::parse(" Ada_L ").unwrap().as_str(), "ada_l");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("has space").is_err());
        assert!(Username::parse("guest-1234").is_err());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("long enough".into()).is_ok());
    }
}
