//! Passwords (hashed off the async runtime: argon2 is deliberately slow); who is calling is
//! [`http_edge::Caller`], and what they may do in a course is [`crate::access`]'s.

use crate::error::ApiError;
use actix_web::web;
use argon2::password_hash::{rand_core::OsRng, SaltString};
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

pub use http_edge::Caller;

/// Hashes a password with argon2id and a random salt.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    web::block(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ApiError::Internal(format!("hashing failed: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// Checks `password` against a stored argon2 hash.
pub async fn verify_password(password: String, hash: String) -> Result<bool, ApiError> {
    web::block(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .map_err(|e| ApiError::Internal(format!("stored hash unreadable: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}
