//! Signed, short-lived access tokens (JWT, HS256). The api issues them; every service verifies
//! them locally with the shared secret, so no service asks another who a caller is.

use chrono::{DateTime, Duration, Utc};
use contracts::UserId;
use jsonwebtoken::{decode, encode, errors::ErrorKind, Algorithm, DecodingKey, EncodingKey};
use jsonwebtoken::{Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// What an account may do across the platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Student,
    Teacher,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Student => "student",
            Role::Teacher => "teacher",
        }
    }
}

/// The verified contents of a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The account.
    pub sub: UserId,
    pub role: Role,
    /// Display name.
    pub name: String,
    /// A guest account has no password and cannot sign in again once its token is gone.
    pub guest: bool,
    pub iat: i64,
    pub exp: i64,
}

/// A freshly issued token.
#[derive(Clone, Debug, Serialize)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Why a token was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid: {0}")]
    Invalid(String),
}

/// Issues and verifies tokens with one secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    lifetime: Duration,
}

impl TokenKeys {
    pub fn new(secret: &SecretString, lifetime: Duration) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            lifetime,
        }
    }

    /// Signs a token for `user` valid for the configured lifetime.
    pub fn issue(&self, user: UserId, role: Role, name: &str, guest: bool) -> IssuedToken {
        let now = Utc::now();
        let expires_at = now + self.lifetime;
        let claims = Claims {
            sub: user,
            role,
            name: name.to_owned(),
            guest,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail");
        IssuedToken { token, expires_at }
    }

    /// Checks the signature, the algorithm and the expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid(e.to_string()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str, lifetime: Duration) -> TokenKeys {
        TokenKeys::new(&SecretString::from(secret), lifetime)
    }

    #[test]
    fn an_issued_token_verifies_to_its_claims() {
        let keys = keys("a-test-secret-that-is-long-enough", Duration::minutes(5));
        let issued = keys.issue(UserId(42), Role::Teacher, "Ada", false);
        let claims = keys.verify(&issued.token).unwrap();
        assert_eq!(claims.sub, UserId(42));
        assert_eq!(claims.role, Role::Teacher);
        assert_eq!(claims.name, "Ada");
    }

    #[test]
    fn a_token_signed_with_another_secret_is_invalid() {
        let issued = keys("one-secret-one-secret-one-secret", Duration::minutes(5)).issue(
            UserId(1),
            Role::Student,
            "x",
            true,
        );
        let err = keys("another-secret-another-secret-xx", Duration::minutes(5))
            .verify(&issued.token)
            .unwrap_err();
        assert!(matches!(err, TokenError::Invalid(_)), "{err:?}");
    }

    #[test]
    fn an_expired_token_is_reported_as_expired() {
        let keys = keys("a-test-secret-that-is-long-enough", Duration::seconds(-10));
        let issued = keys.issue(UserId(1), Role::Student, "x", true);
        assert_eq!(keys.verify(&issued.token).unwrap_err(), TokenError::Expired);
    }

    #[test]
    fn garbage_is_invalid() {
        let keys = keys("a-test-secret-that-is-long-enough", Duration::minutes(5));
        assert!(matches!(
            keys.verify("not.a.token"),
            Err(TokenError::Invalid(_))
        ));
    }
}
