//! Signed, short-lived access tokens (JWT, HS256) that belong to sessions. The api issues them;
//! every service verifies them locally with the shared secret, so no service asks another who a
//! caller is.
//!
//! A sign-in starts a session (its id `sid` and start `auth_time` are in every token of it);
//! refreshing issues another token of the same session, never one that outlives the session's
//! maximum age. Signing out revokes the session: [`Verifier`] checks the revocation record in
//! Redis wherever a token is verified (the api's and the hub's `Caller`, the relay's and the
//! hub's sockets), so a revoked token is refused everywhere at once.

mod revocation;

pub use revocation::Verifier;

use chrono::{DateTime, Duration, TimeZone, Utc};
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

/// The id of one session: random, shared by every token a sign-in leads to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(String);

impl SessionId {
    fn random() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
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
    /// The session: every refresh of a sign-in's token keeps it; signing out revokes it.
    pub sid: SessionId,
    /// When the session started (the sign-in), in Unix seconds.
    pub auth_time: i64,
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
    #[error("the token's session was signed out")]
    Revoked,
    #[error("the session has reached its maximum age ({}); sign in again", age(*max_seconds))]
    SessionOver { max_seconds: i64 },
    /// Whether the session was revoked cannot be known right now (Redis is unreachable).
    #[error("cannot check the token's session: {0}")]
    Unavailable(String),
}

/// `seconds` for people: whole hours when it is some, else seconds.
fn age(seconds: i64) -> String {
    if seconds >= 3600 && seconds % 3600 == 0 {
        format!("{} h", seconds / 3600)
    } else {
        format!("{seconds} s")
    }
}

/// Issues and verifies tokens with one secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    lifetime: Duration,
    /// How long a session may last whatever its refreshes; unbounded when `None`.
    max_session: Option<Duration>,
}

impl TokenKeys {
    /// Keys whose tokens live `lifetime`, in sessions of unbounded age (see
    /// [`with_max_session`](Self::with_max_session)).
    pub fn new(secret: &SecretString, lifetime: Duration) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            lifetime,
            max_session: None,
        }
    }

    /// Ends every session `max` after its sign-in: no token of it expires later, and it
    /// cannot be renewed after that.
    pub fn with_max_session(mut self, max: Duration) -> Self {
        self.max_session = Some(max);
        self
    }

    /// Starts a session for `user` and signs its first token.
    pub fn issue(&self, user: UserId, role: Role, name: &str, guest: bool) -> IssuedToken {
        let now = Utc::now();
        self.issue_at(
            now,
            Claims {
                sub: user,
                role,
                name: name.to_owned(),
                guest,
                iat: 0,
                exp: 0,
                sid: SessionId::random(),
                auth_time: now.timestamp(),
            },
        )
    }

    /// Signs another token of `session`'s session with the account's current `role` and
    /// `name`; refused once the session is over.
    pub fn renew(
        &self,
        session: &Claims,
        role: Role,
        name: &str,
    ) -> Result<IssuedToken, TokenError> {
        let now = Utc::now();
        if let Some(max) = self.max_session {
            if now.timestamp() >= session.auth_time + max.num_seconds() {
                return Err(TokenError::SessionOver {
                    max_seconds: max.num_seconds(),
                });
            }
        }
        Ok(self.issue_at(
            now,
            Claims {
                role,
                name: name.to_owned(),
                ..session.clone()
            },
        ))
    }

    /// Signs `claims` with `iat` = now and `exp` = the lifetime later, but no later than the
    /// session's end.
    fn issue_at(&self, now: DateTime<Utc>, mut claims: Claims) -> IssuedToken {
        let mut expires_at = now + self.lifetime;
        if let Some(max) = self.max_session {
            let end = Utc
                .timestamp_opt(claims.auth_time, 0)
                .single()
                .map_or(now, |start| start + max);
            expires_at = expires_at.min(end);
        }
        claims.iat = now.timestamp();
        claims.exp = expires_at.timestamp();
        IssuedToken {
            token: self.sign(&claims),
            expires_at,
        }
    }

    /// Signs `claims` as they are (tests use it to make tokens no sign-in would give).
    pub fn sign(&self, claims: &Claims) -> String {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Checks the signature, the algorithm and the expiry (not whether the session was
    /// revoked: that is [`Verifier::verify`]).
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

    /// The Unix time after which no token of `claims`' session is valid.
    pub fn session_end(&self, claims: &Claims) -> i64 {
        let bounded = self
            .max_session
            .map_or(i64::MIN, |max| claims.auth_time + max.num_seconds());
        claims.exp.max(bounded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-test-secret-that-is-long-enough";

    fn keys(secret: &str, lifetime: Duration) -> TokenKeys {
        TokenKeys::new(&SecretString::from(secret), lifetime)
    }

    #[test]
    fn an_issued_token_verifies_to_its_claims() {
        let keys = keys(SECRET, Duration::minutes(5));
        let issued = keys.issue(UserId(42), Role::Teacher, "Ada", false);
        let claims = keys.verify(&issued.token).unwrap();
        assert_eq!(claims.sub, UserId(42));
        assert_eq!(claims.role, Role::Teacher);
        assert_eq!(claims.name, "Ada");
        assert_eq!(claims.auth_time, claims.iat);
        assert_eq!(claims.sid.as_str().len(), 32);
    }

    #[test]
    fn every_sign_in_starts_another_session() {
        let keys = keys(SECRET, Duration::minutes(5));
        let sid = |keys: &TokenKeys| {
            let token = keys.issue(UserId(1), Role::Student, "x", false).token;
            keys.verify(&token).unwrap().sid
        };
        assert_ne!(sid(&keys), sid(&keys));
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
        let keys = keys(SECRET, Duration::seconds(-10));
        let issued = keys.issue(UserId(1), Role::Student, "x", true);
        assert_eq!(keys.verify(&issued.token).unwrap_err(), TokenError::Expired);
    }

    #[test]
    fn garbage_is_invalid() {
        let keys = keys(SECRET, Duration::minutes(5));
        assert!(matches!(
            keys.verify("not.a.token"),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn a_renewed_token_keeps_the_session_and_takes_the_new_role_and_name() {
        let keys = keys(SECRET, Duration::minutes(5)).with_max_session(Duration::hours(1));
        let first = keys.issue(UserId(7), Role::Student, "Ada", false);
        let session = keys.verify(&first.token).unwrap();
        let renewed = keys.renew(&session, Role::Teacher, "Ada L.").unwrap();
        let claims = keys.verify(&renewed.token).unwrap();
        assert_eq!(
            (&claims.sid, claims.auth_time),
            (&session.sid, session.auth_time)
        );
        assert_eq!(
            (claims.role, claims.name.as_str()),
            (Role::Teacher, "Ada L.")
        );
    }

    #[test]
    fn no_token_outlives_its_session() {
        let keys = keys(SECRET, Duration::hours(12)).with_max_session(Duration::hours(1));
        let first = keys.issue(UserId(7), Role::Student, "Ada", false);
        let session = keys.verify(&first.token).unwrap();
        assert_eq!(first.expires_at.timestamp(), session.auth_time + 3600);
        let renewed = keys.renew(&session, Role::Student, "Ada").unwrap();
        assert_eq!(renewed.expires_at, first.expires_at, "not extended");
        assert_eq!(keys.session_end(&session), session.auth_time + 3600);
    }

    #[test]
    fn a_session_past_its_maximum_age_is_not_renewed() {
        let keys = keys(SECRET, Duration::minutes(5)).with_max_session(Duration::hours(2));
        let now = Utc::now().timestamp();
        let old = Claims {
            sub: UserId(7),
            role: Role::Student,
            name: "Ada".into(),
            guest: false,
            iat: now,
            exp: now + 300,
            sid: SessionId::random(),
            auth_time: now - 2 * 3600,
        };
        assert_eq!(
            keys.renew(&old, Role::Student, "Ada").unwrap_err(),
            TokenError::SessionOver { max_seconds: 7200 }
        );
        assert_eq!(
            TokenError::SessionOver { max_seconds: 7200 }.to_string(),
            "the session has reached its maximum age (2 h); sign in again"
        );
        let younger = Claims {
            auth_time: now - 2 * 3600 + 60,
            ..old
        };
        assert!(keys.renew(&younger, Role::Student, "Ada").is_ok());
    }
}
