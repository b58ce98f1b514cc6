//! Redis stream entry ids (`<milliseconds>-<sequence>`) as an ordered value, so that "after the
//! last event the client saw" is a comparison and not string juggling. The relay's clients
//! deduplicate on it; the hub records how far into a document's log Postgres is.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A stream entry id; ordered like Redis orders entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId {
    millis: u64,
    sequence: u64,
}

impl EntryId {
    /// Before every entry.
    pub const ZERO: EntryId = EntryId {
        millis: 0,
        sequence: 0,
    };

    pub fn new(millis: u64, sequence: u64) -> Self {
        Self { millis, sequence }
    }

    /// Milliseconds since the epoch at which Redis added the entry.
    pub fn millis(self) -> u64 {
        self.millis
    }

    /// Order among the entries added in the same millisecond.
    pub fn sequence(self) -> u64 {
        self.sequence
    }

    /// The smallest id after this one.
    pub fn successor(self) -> Self {
        match self.sequence.checked_add(1) {
            Some(sequence) => Self { sequence, ..self },
            None => Self::new(self.millis + 1, 0),
        }
    }
}

/// A string that is not `<u64>-<u64>`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a stream entry id like `1700000000000-0`")]
pub struct InvalidEntryId(String);

impl FromStr for EntryId {
    type Err = InvalidEntryId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidEntryId(text.chars().take(40).collect());
        let (millis, sequence) = text.split_once('-').ok_or_else(invalid)?;
        let number = |part: &str| {
            // `u64::from_str` accepts a leading `+`, Redis does not.
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            part.parse::<u64>().map_err(|_| invalid())
        };
        Ok(EntryId {
            millis: number(millis)?,
            sequence: number(sequence)?,
        })
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.millis, self.sequence)
    }
}

impl Serialize for EntryId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EntryId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> EntryId {
        text.parse().unwrap()
    }

    #[test]
    fn ids_order_by_time_then_sequence() {
        assert!(id("1-5") < id("2-0"));
        assert!(id("2-1") > id("2-0"));
        assert!(id("10-0") > id("9-99"), "numeric, not lexicographic");
        assert!(EntryId::ZERO < id("0-1"));
    }

    #[test]
    fn ids_round_trip_through_text_and_json() {
        let entry = id("1700000000000-42");
        assert_eq!(entry.to_string(), "1700000000000-42");
        let json = serde_json::to_string(&entry).unwrap();
        assert_eq!(json, "\"1700000000000-42\"");
        assert_eq!(serde_json::from_str::<EntryId>(&json).unwrap(), entry);
    }

    #[test]
    fn the_successor_is_the_next_id_in_stream_order() {
        assert_eq!(id("5-7").successor(), id("5-8"));
        assert_eq!(EntryId::new(5, u64::MAX).successor(), EntryId::new(6, 0));
        assert!(id("5-7") < id("5-7").successor());
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for text in ["", "1", "1-", "-1", "a-1", "1-b", "+1-0", "1-0-0", "$", "*"] {
            assert!(text.parse::<EntryId>().is_err(), "{text:?} was accepted");
        }
        assert!("99999999999999999999-0".parse::<EntryId>().is_err());
    }
}
