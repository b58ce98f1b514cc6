//! Signing out: one revocation record per session in Redis
//! ([`Keys::revoked_session`]), kept until the session's last token would have expired anyway,
//! and the one check every service makes when it verifies a token ([`Verifier::verify`]).
//!
//! Redis being unreachable refuses the token as [`TokenError::Unavailable`] (a 503, or a socket
//! closed with "try again"): a signed-out token must not work again because Redis blinked.

use crate::{Claims, TokenError, TokenKeys};
use chrono::Utc;
use contracts::Keys;
use deadpool_redis::redis::AsyncCommands;
use deadpool_redis::Pool;

/// Verifies tokens and refuses those of revoked sessions.
#[derive(Clone)]
pub struct Verifier {
    keys: TokenKeys,
    redis: Pool,
    names: Keys,
}

impl Verifier {
    /// Checks tokens with `keys` and the revocation records under `names`' prefix in `redis`.
    pub fn new(keys: TokenKeys, redis: Pool, names: Keys) -> Self {
        Self { keys, redis, names }
    }

    /// Checks the signature, the algorithm, the expiry, then that the session is not revoked.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let claims = self.keys.verify(token)?;
        let mut redis = self.redis.get().await.map_err(unavailable)?;
        let revoked: bool = redis
            .exists(self.names.revoked_session(claims.sid.as_str()))
            .await
            .map_err(unavailable)?;
        if revoked {
            return Err(TokenError::Revoked);
        }
        Ok(claims)
    }

    /// Revokes `claims`' session, on every service, until its last token expires.
    pub async fn revoke(&self, claims: &Claims) -> Result<(), TokenError> {
        // One second more, so that the record outlives a token expiring in this second.
        let left = self.keys.session_end(claims) - Utc::now().timestamp() + 1;
        let mut redis = self.redis.get().await.map_err(unavailable)?;
        redis
            .set_ex::<_, _, ()>(
                self.names.revoked_session(claims.sid.as_str()),
                1,
                left.max(1) as u64,
            )
            .await
            .map_err(unavailable)
    }
}

fn unavailable(e: impl std::fmt::Display) -> TokenError {
    TokenError::Unavailable(e.to_string())
}
