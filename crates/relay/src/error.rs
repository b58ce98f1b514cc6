//! The relay's one error type. Its HTTP answers are the edge's (an upgrade that is not a
//! WebSocket is [`http_edge::EdgeError::NotWebSocket`]); problems on an open socket are not
//! errors but close codes (see [`crate::close::Close`]).

/// Why the relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("cannot start: {0}")]
    Startup(String),
}
