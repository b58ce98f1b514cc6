//! Why the relay closes a socket: one variant per reason, each with its WebSocket close code and
//! a reason a person can read. The table is in the crate documentation.

use actix_ws::{CloseCode, CloseReason};
use std::time::Duration;
use tokens::TokenError;

/// The longest close reason WebSocket allows (a control frame holds 125 bytes, 2 are the code).
const MAX_REASON_BYTES: usize = 123;

/// The reason a socket ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Close {
    /// The relay is stopping; reconnect (to another replica).
    ShuttingDown,
    /// The client sent a close frame; it is answered with the same code.
    ByClient(Option<u16>),
    /// The connection dropped without a close frame; nothing can be sent.
    Gone,
    /// A binary frame (the protocol is JSON text).
    Binary,
    /// A text frame that is not UTF-8.
    NotUtf8,
    /// A frame that breaks the WebSocket protocol.
    Protocol(String),
    /// A message larger than `max_frame_bytes`.
    TooBig { limit: usize },
    /// Redis could not be asked for the missed events; reconnect with the same id.
    TryAgainLater,
    /// Not JSON, an unknown `type`, a malformed field, or `auth` sent twice.
    BadMessage(String),
    /// No `auth` message in time, or another message first.
    AuthRequired(String),
    /// The token's signature, algorithm or claims are wrong.
    InvalidToken,
    /// The token has expired (at `auth`, or later while the socket is open).
    TokenExpired,
    /// The client sent nothing (not even a pong) for the idle timeout.
    Idle { after: Duration },
    /// The client did not keep up and its buffer filled.
    TooSlow,
    /// The user already has `max_connections_per_user` sockets open here.
    TooManyConnections { limit: usize },
}

impl Close {
    /// The WebSocket close code.
    pub fn code(&self) -> u16 {
        match self {
            Close::ByClient(code) => code.filter(|c| sendable(*c)).unwrap_or(1000),
            Close::Gone => 1006,
            Close::ShuttingDown => 1001,
            Close::Protocol(_) => 1002,
            Close::Binary => 1003,
            Close::NotUtf8 => 1007,
            Close::TooBig { .. } => 1009,
            Close::TryAgainLater => 1013,
            Close::BadMessage(_) => 4000,
            Close::AuthRequired(_) => 4001,
            Close::InvalidToken => 4002,
            Close::TokenExpired => 4003,
            Close::Idle { .. } => 4004,
            Close::TooSlow => 4008,
            Close::TooManyConnections { .. } => 4009,
        }
    }

    /// A short, stable name for logs and the `reason` label of the metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Close::ShuttingDown => "shutting_down",
            Close::ByClient(_) => "client_closed",
            Close::Gone => "gone",
            Close::Binary => "binary",
            Close::NotUtf8 => "not_utf8",
            Close::Protocol(_) => "protocol_error",
            Close::TooBig { .. } => "too_big",
            Close::TryAgainLater => "try_again_later",
            Close::BadMessage(_) => "bad_message",
            Close::AuthRequired(_) => "auth_required",
            Close::InvalidToken => "invalid_token",
            Close::TokenExpired => "token_expired",
            Close::Idle { .. } => "idle",
            Close::TooSlow => "too_slow",
            Close::TooManyConnections { .. } => "too_many_connections",
        }
    }

    /// The human-readable reason sent in the close frame.
    pub fn reason(&self) -> String {
        let text = match self {
            Close::ShuttingDown => "server shutting down; reconnect".to_owned(),
            Close::ByClient(_) | Close::Gone => String::new(),
            Close::Binary => "binary frames are not supported; send JSON text".to_owned(),
            Close::NotUtf8 => "text frame is not valid UTF-8".to_owned(),
            Close::Protocol(detail) => format!("protocol error: {detail}"),
            Close::TooBig { limit } => format!("message too big (limit {limit} bytes)"),
            Close::TryAgainLater => "missed events unavailable; reconnect later".to_owned(),
            Close::BadMessage(detail) => format!("bad message: {detail}"),
            Close::AuthRequired(detail) => format!("authentication required: {detail}"),
            Close::InvalidToken => "invalid token".to_owned(),
            Close::TokenExpired => "token expired".to_owned(),
            Close::Idle { after } => format!("no message from the client for {after:?}"),
            Close::TooSlow => "too slow: the send buffer is full".to_owned(),
            Close::TooManyConnections { limit } => {
                format!("too many connections for this user (limit {limit})")
            }
        };
        truncate(text, MAX_REASON_BYTES)
    }

    /// Whether a close frame can still be sent.
    pub fn can_send(&self) -> bool {
        !matches!(self, Close::Gone)
    }

    /// The close frame.
    pub fn frame(&self) -> CloseReason {
        let reason = self.reason();
        CloseReason {
            code: CloseCode::from(self.code()),
            description: (!reason.is_empty()).then_some(reason),
        }
    }
}

impl From<TokenError> for Close {
    /// A revoked session's token is an invalid one; Redis unreachable means "come back".
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Expired | TokenError::SessionOver { .. } => Close::TokenExpired,
            TokenError::Invalid(_) | TokenError::Revoked => Close::InvalidToken,
            TokenError::Unavailable(_) => Close::TryAgainLater,
        }
    }
}

/// Codes an endpoint may put in a close frame (RFC 6455 §7.4; 1004–1006 and 1015 are not).
fn sendable(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Cuts `text` to at most `max` bytes on a character boundary.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_fit_a_control_frame_even_with_long_details() {
        let close = Close::BadMessage("é".repeat(200));
        let reason = close.reason();
        assert!(reason.len() <= MAX_REASON_BYTES);
        assert!(reason.starts_with("bad message: é"));
    }

    #[test]
    fn application_codes_are_distinct() {
        let closes = [
            Close::BadMessage(String::new()),
            Close::AuthRequired(String::new()),
            Close::InvalidToken,
            Close::TokenExpired,
            Close::Idle {
                after: Duration::from_secs(1),
            },
            Close::TooSlow,
            Close::TooManyConnections { limit: 1 },
        ];
        let mut codes: Vec<u16> = closes.iter().map(Close::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), closes.len());
        assert!(codes.iter().all(|c| (4000..5000).contains(c)));
    }

    #[test]
    fn a_client_close_is_echoed() {
        assert_eq!(Close::ByClient(Some(4100)).code(), 4100);
        assert_eq!(Close::ByClient(None).code(), 1000);
        assert_eq!(Close::ByClient(Some(1005)).code(), 1000, "not sendable");
        assert_eq!(Close::ByClient(None).frame().description, None);
    }
}
