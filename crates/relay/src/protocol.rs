//! The JSON messages on a relay socket, one per text frame, each tagged by `type`.
//!
//! Client → relay: `auth` (first, once), then `pong` (answering `ping`) or `ping` (answered with
//! `pong`). Relay → client: `ready`, `event`, `resync`, `ping`, `pong`.

use bytestring::ByteString;
use contracts::EntryId;
use contracts::{ResultEvent, UserId};
use serde::{Deserialize, Serialize};

/// A message from the browser.
#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Authenticates the socket; `last_event_id` asks for the events after it.
    Auth {
        token: String,
        #[serde(default)]
        last_event_id: Option<EntryId>,
    },
    /// Answers the relay's `ping`.
    Pong,
    /// Asks the relay for a `pong`.
    Ping,
}

impl ClientMessage {
    /// Parses one text frame; the error is short enough for a close reason.
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| {
            let message = e.to_string();
            // serde_json appends " at line 1 column N"; the reason has no room for it.
            match message.split_once(" at line ") {
                Some((head, _)) => head.to_owned(),
                None => message,
            }
        })
    }
}

/// A message to the browser.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage<'a> {
    /// Authentication succeeded; events follow.
    Ready { user_id: UserId },
    /// One entry of the `results` stream; `id` is its entry id, for deduplication and resume.
    Event { id: EntryId, event: &'a ResultEvent },
    /// The missed events cannot be replayed: fetch the state from the api, then carry on.
    Resync { reason: &'a str },
    /// Heartbeat; answer with `pong`.
    Ping,
    /// Answer to the client's `ping`.
    Pong,
}

impl ServerMessage<'_> {
    /// The text frame.
    pub fn frame(&self) -> ByteString {
        serde_json::to_string(self)
            .expect("server messages are plain data")
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use contracts::{AssignmentId, ResultKind, SubmissionId, MESSAGE_VERSION};
    use serde_json::{json, Value};

    #[test]
    fn auth_parses_with_and_without_a_last_event_id() {
        assert_eq!(
            ClientMessage::parse(r#"{"type":"auth","token":"t","last_event_id":"5-1"}"#),
            Ok(ClientMessage::Auth {
                token: "t".into(),
                last_event_id: Some("5-1".parse().unwrap()),
            })
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"auth","token":"t","last_event_id":null}"#),
            Ok(ClientMessage::Auth {
                token: "t".into(),
                last_event_id: None,
            })
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"pong"}"#),
            Ok(ClientMessage::Pong)
        );
    }

    #[test]
    fn garbage_is_an_error_with_a_short_reason() {
        for text in [
            "hello",
            "{}",
            r#"{"type":"subscribe"}"#,
            r#"{"type":"auth"}"#,
            r#"{"type":"auth","token":"t","last_event_id":"yesterday"}"#,
            "[1,2]",
        ] {
            let error = ClientMessage::parse(text).unwrap_err();
            assert!(!error.contains("line 1"), "{error}");
            assert!(error.len() < 100, "{error}");
        }
    }

    #[test]
    fn an_event_frame_carries_the_id_and_the_contract_json() {
        let event = ResultEvent {
            v: MESSAGE_VERSION,
            submission_id: SubmissionId(9),
            user_id: UserId(4),
            assignment_id: AssignmentId(2),
            enqueued_at: Utc::now(),
            kind: ResultKind::Grading {
                started_at: Utc::now(),
            },
        };
        let frame = ServerMessage::Event {
            id: "17-3".parse().unwrap(),
            event: &event,
        }
        .frame();
        let value: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(value["type"], "event");
        assert_eq!(value["id"], "17-3");
        assert_eq!(value["event"], serde_json::to_value(&event).unwrap());
        assert_eq!(
            serde_json::from_str::<Value>(&ServerMessage::Ready { user_id: UserId(4) }.frame())
                .unwrap(),
            json!({"type": "ready", "user_id": 4})
        );
    }
}
