//! Why the hub closes a document socket: one place for the codes and reasons clients see.

use actix_ws::{CloseCode, CloseReason};
use tokens::TokenError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Close {
    /// The client closed with this code; the hub answers in kind.
    ByClient(Option<u16>),
    /// The connection is gone; nothing can be sent.
    Gone,
    /// A frame broke the WebSocket protocol.
    Protocol(String),
    /// The hub is stopping; reconnect (to any replica).
    ShuttingDown,
    /// A text frame: y-protocols messages are binary.
    TextFrame,
    /// A message over the size limit.
    TooBig(usize),
    /// Not a y-protocols message, or one a client may not send.
    BadMessage(String),
    /// No token in the `token` query parameter or `Authorization` header.
    NoToken,
    /// The token's signature, algorithm or claims are wrong.
    InvalidToken,
    /// The token has expired.
    TokenExpired,
    /// The user may not open this project.
    NoAccess,
    /// The project does not exist.
    NoSuchProject,
    /// The document (file) does not exist, or was deleted while open.
    NoSuchDocument,
    /// Nothing received (not even a pong) for the idle timeout.
    Idle,
    /// The socket's send queue filled up (messages or bytes): the client does not read.
    TooSlow,
    /// The client sent more than its rate (bytes per second) allows.
    TooFast { per_second: u64, burst: u64 },
    /// The user has too many sockets open on this hub.
    TooManyConnections(usize),
    /// Redis or Postgres failed; reconnect later (1013, try again later).
    Unavailable,
    /// No such course, or the user takes no part in it (the same to them).
    NoSuchCourse,
    /// A newer socket of the same page tab took this one's class presence over.
    Replaced,
}

impl From<TokenError> for Close {
    /// A revoked session's token is an invalid one; Redis unreachable means "come back".
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Expired | TokenError::SessionOver { .. } => Close::TokenExpired,
            TokenError::Invalid(_) | TokenError::Revoked => Close::InvalidToken,
            TokenError::Unavailable(_) => Close::Unavailable,
        }
    }
}

impl Close {
    pub fn code(&self) -> u16 {
        match self {
            Close::ByClient(_) | Close::Gone => 1000,
            Close::Protocol(_) => 1002,
            Close::ShuttingDown => 1001,
            Close::TextFrame => 1003,
            Close::TooBig(_) => 1009,
            Close::Unavailable => 1013,
            Close::BadMessage(_) => 4000,
            Close::NoToken => 4001,
            Close::InvalidToken => 4002,
            Close::TokenExpired => 4003,
            Close::Idle => 4004,
            Close::NoAccess => 4005,
            Close::NoSuchProject | Close::NoSuchDocument => 4006,
            Close::TooSlow => 4008,
            Close::TooFast { .. } => 4010,
            Close::TooManyConnections(_) => 4009,
            Close::NoSuchCourse => 4006,
            Close::Replaced => 4011,
        }
    }

    pub fn reason(&self) -> String {
        match self {
            Close::ByClient(_) | Close::Gone => String::new(),
            Close::Protocol(problem) => format!("protocol error: {problem}"),
            Close::ShuttingDown => "server shutting down; reconnect".into(),
            Close::TextFrame => "text frames are not supported; send y-protocols binary".into(),
            Close::TooBig(limit) => format!("message too big (limit {limit} bytes)"),
            Close::Unavailable => "storage unavailable; reconnect later".into(),
            Close::BadMessage(problem) => format!("bad message: {problem}"),
            Close::NoToken => "authentication required: pass ?token=<jwt>".into(),
            Close::InvalidToken => "invalid token".into(),
            Close::TokenExpired => "token expired".into(),
            Close::Idle => "no message from the client in time".into(),
            Close::NoAccess => "no access to this project".into(),
            Close::NoSuchProject => "no such project".into(),
            Close::NoSuchDocument => "no such document in this project".into(),
            Close::TooSlow => "too slow: the send buffer is full".into(),
            Close::TooFast { per_second, burst } => {
                format!("too fast: over {per_second} bytes/s (burst {burst} bytes); reconnect")
            }
            Close::TooManyConnections(limit) => {
                format!("too many connections for this user (limit {limit})")
            }
            Close::NoSuchCourse => "no such course".into(),
            Close::Replaced => "replaced by a newer connection of this tab".into(),
        }
    }

    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Close::ByClient(_) => "by_client",
            Close::Gone => "gone",
            Close::Protocol(_) => "protocol_error",
            Close::ShuttingDown => "shutdown",
            Close::TextFrame => "text_frame",
            Close::TooBig(_) => "too_big",
            Close::Unavailable => "unavailable",
            Close::BadMessage(_) => "bad_message",
            Close::NoToken => "no_token",
            Close::InvalidToken => "invalid_token",
            Close::TokenExpired => "token_expired",
            Close::Idle => "idle",
            Close::NoAccess => "no_access",
            Close::NoSuchProject => "no_such_project",
            Close::NoSuchDocument => "no_such_document",
            Close::TooSlow => "too_slow",
            Close::TooFast { .. } => "too_fast",
            Close::TooManyConnections(_) => "too_many_connections",
            Close::NoSuchCourse => "no_such_course",
            Close::Replaced => "replaced",
        }
    }

    /// The budget this close enforces, as counted in `hub_budget_exceeded_total`.
    pub fn budget(&self) -> Option<&'static str> {
        match self {
            Close::TooSlow => Some("send_buffer"),
            Close::TooFast { .. } => Some("update_rate"),
            _ => None,
        }
    }

    /// Whether a close frame can still reach the peer.
    pub fn can_send(&self) -> bool {
        !matches!(self, Close::Gone)
    }

    pub fn frame(&self) -> CloseReason {
        if let Close::ByClient(Some(code)) = self {
            return CloseReason {
                code: CloseCode::from(*code),
                description: None,
            };
        }
        let mut reason = self.reason();
        // A close frame's payload is at most 125 bytes, two of them the code.
        while reason.len() > 123 {
            reason.pop();
        }
        CloseReason {
            code: CloseCode::from(self.code()),
            description: (!reason.is_empty()).then_some(reason),
        }
    }
}
