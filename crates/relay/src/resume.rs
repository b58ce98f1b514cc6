//! Catching a reconnecting socket up: the user's events after the `last_event_id` it saw, read
//! from the stream's history, or the answer that they cannot be replayed.
//!
//! The session subscribes to live events *before* calling [`missed_events`], and afterwards
//! skips live events up to [`Resume::Replay::covered`], so nothing falls between history and
//! live and nothing is sent twice.

use crate::event::RelayedEvent;
use contracts::EntryId;
use contracts::{ResultEvent, StreamError, Streams, TypedStream, UserId};

/// Entries fetched per `XRANGE`.
const PAGE: usize = 500;

/// What a reconnecting socket gets.
#[derive(Debug)]
pub enum Resume {
    /// The user's events after the id, oldest first; `covered` is the last entry looked at,
    /// so live events up to it are already accounted for.
    Replay {
        events: Vec<RelayedEvent>,
        covered: EntryId,
    },
    /// The missed events cannot be replayed; the client refetches from the api.
    Resync(ResyncReason),
}

/// Why a resume becomes a resync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResyncReason {
    /// The stream no longer holds entries that old (it was trimmed, or emptied).
    HistoryTrimmed,
    /// The id is newer than anything on the stream: it did not come from this stream.
    UnknownId,
    /// More than the configured number of entries were added since; the api is cheaper.
    TooFarBehind,
}

impl ResyncReason {
    /// The `reason` sent to the client.
    pub fn as_str(self) -> &'static str {
        match self {
            ResyncReason::HistoryTrimmed => "history trimmed",
            ResyncReason::UnknownId => "unknown event id",
            ResyncReason::TooFarBehind => "too far behind",
        }
    }

    /// The `reason` label of the resync metric.
    pub fn label(self) -> &'static str {
        match self {
            ResyncReason::HistoryTrimmed => "history_trimmed",
            ResyncReason::UnknownId => "unknown_id",
            ResyncReason::TooFarBehind => "too_far_behind",
        }
    }
}

/// The events of `user` after `after`, scanning at most `max_entries` entries of `stream`.
pub async fn missed_events(
    streams: &Streams,
    stream: &TypedStream<ResultEvent>,
    user: UserId,
    after: EntryId,
    max_entries: usize,
) -> Result<Resume, StreamError> {
    if let Some(reason) = unreplayable(streams, stream, after).await? {
        return Ok(Resume::Resync(reason));
    }
    let mut covered = after;
    let mut scanned = 0;
    let mut events = Vec::new();
    loop {
        let page = streams
            .range_after(stream, &covered.to_string(), PAGE)
            .await?;
        let full_page = page.len() == PAGE;
        for delivery in page {
            let Ok(id) = delivery.id.parse::<EntryId>() else {
                continue;
            };
            covered = id;
            scanned += 1;
            // Entries the live reader would skip are skipped here too (it counts them).
            if let Ok(event) = delivery.message {
                if event.user_id == user {
                    if let Ok(event) = RelayedEvent::new(id, &event) {
                        events.push(event);
                    }
                }
            }
        }
        if scanned > max_entries {
            return Ok(Resume::Resync(ResyncReason::TooFarBehind));
        }
        if !full_page {
            break;
        }
    }
    // Trimming only ever moves the start forward: if the entry after `after` is still there
    // now, nothing after it was trimmed before or while it was read.
    if let Some(ResyncReason::HistoryTrimmed) = unreplayable(streams, stream, after).await? {
        return Ok(Resume::Resync(ResyncReason::HistoryTrimmed));
    }
    Ok(Resume::Replay { events, covered })
}

/// Whether history after `after` is incomplete (older than the first entry) or `after` is not
/// an id of this stream (newer than the last entry).
async fn unreplayable(
    streams: &Streams,
    stream: &TypedStream<ResultEvent>,
    after: EntryId,
) -> Result<Option<ResyncReason>, StreamError> {
    let Some(bounds) = streams.bounds(stream).await? else {
        // The client saw an entry, so the stream had one: it has been emptied since.
        return Ok(Some(ResyncReason::HistoryTrimmed));
    };
    let (Ok(first), Ok(last)) = (
        bounds.first.parse::<EntryId>(),
        bounds.last.parse::<EntryId>(),
    ) else {
        return Ok(Some(ResyncReason::HistoryTrimmed));
    };
    Ok(if after > last {
        Some(ResyncReason::UnknownId)
    } else if after < first {
        Some(ResyncReason::HistoryTrimmed)
    } else {
        None
    })
}
