//! One entry of the `results` stream, checked and encoded once, then shared by every socket
//! that gets it (the frame is reference-counted, not copied per socket).

use crate::protocol::ServerMessage;
use bytestring::ByteString;
use chrono::{DateTime, Utc};
use contracts::EntryId;
use contracts::{Delivery, ResultEvent, ResultKind, UserId, MESSAGE_VERSION};

/// An event ready to send.
#[derive(Debug)]
pub struct RelayedEvent {
    pub id: EntryId,
    pub user: UserId,
    /// The `{"type":"event",…}` text frame.
    pub frame: ByteString,
    /// When the grader stamped the step this event reports, for the delivery latency.
    pub stamped_at: DateTime<Utc>,
}

/// Why a stream entry is not relayed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unrelayable {
    #[error("entry id `{0}` is not a stream id")]
    Id(String),
    #[error("payload does not decode: {0}")]
    Undecodable(String),
    #[error("message version {0} is unknown to this relay")]
    Version(u16),
}

impl Unrelayable {
    /// The `reason` label of the skipped-events metric.
    pub fn label(&self) -> &'static str {
        match self {
            Unrelayable::Id(_) => "bad_id",
            Unrelayable::Undecodable(_) => "undecodable",
            Unrelayable::Version(_) => "unknown_version",
        }
    }
}

impl RelayedEvent {
    /// Checks and encodes one delivery from the stream.
    pub fn from_delivery(delivery: Delivery<ResultEvent>) -> Result<Self, Unrelayable> {
        let id: EntryId = delivery
            .id
            .parse()
            .map_err(|_| Unrelayable::Id(delivery.id.clone()))?;
        let event = delivery.message.map_err(Unrelayable::Undecodable)?;
        Self::new(id, &event)
    }

    /// Encodes `event`, stored under `id`.
    pub fn new(id: EntryId, event: &ResultEvent) -> Result<Self, Unrelayable> {
        if event.v != MESSAGE_VERSION {
            return Err(Unrelayable::Version(event.v));
        }
        let stamped_at = match &event.kind {
            ResultKind::Grading { started_at } => *started_at,
            ResultKind::Graded { finished_at, .. } | ResultKind::Error { finished_at, .. } => {
                *finished_at
            }
        };
        Ok(Self {
            id,
            user: event.user_id,
            frame: ServerMessage::Event { id, event }.frame(),
            stamped_at,
        })
    }

    /// Seconds from the grader's stamp to now (0 if the clocks disagree).
    pub fn age_seconds(&self) -> f64 {
        (Utc::now() - self.stamped_at)
            .to_std()
            .map_or(0.0, |age| age.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::{AssignmentId, SubmissionId};

    fn error_event(v: u16) -> ResultEvent {
        ResultEvent {
            v,
            submission_id: SubmissionId(1),
            user_id: UserId(2),
            assignment_id: AssignmentId(3),
            enqueued_at: Utc::now(),
            kind: ResultKind::Error {
                reason: "sandbox unavailable".into(),
                finished_at: Utc::now() - chrono::Duration::seconds(2),
            },
        }
    }

    #[test]
    fn latency_counts_from_the_finish_stamp() {
        let event =
            RelayedEvent::new("1-0".parse().unwrap(), &error_event(MESSAGE_VERSION)).unwrap();
        assert_eq!(event.user, UserId(2));
        assert!((1.9..10.0).contains(&event.age_seconds()));
    }

    #[test]
    fn unknown_versions_and_bad_payloads_are_not_relayed() {
        let err = RelayedEvent::new("1-0".parse().unwrap(), &error_event(99)).unwrap_err();
        assert_eq!(err.label(), "unknown_version");
        let delivery = Delivery {
            id: "1-0".into(),
            payload: "{".into(),
            message: Err("EOF".into()),
        };
        let err = RelayedEvent::from_delivery(delivery).unwrap_err();
        assert_eq!(err.label(), "undecodable");
    }
}
