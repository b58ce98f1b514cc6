//! Catching a reconnecting socket up: the user's events after the `last_event_id` it saw, read
//! from the stream's history, or the answer that they cannot be replayed.
//!
//! The session subscribes to live events *before* calling [`missed_events`], and afterwards
//! skips live events up to [`Resume::Replay::covered`], so nothing falls between history and
//! live and nothing is sent twice.
//!
//! A scan is bounded three ways ([`ScanLimits`]): in entries, in bytes read from Redis and in
//! time. Each bound keeps one reconnect from costing the relay and Redis more than a refetch
//! from the api would; past any of them the client gets `resync` and refetches.

use crate::event::RelayedEvent;
use contracts::EntryId;
use contracts::{ResultEvent, StreamError, Streams, TypedStream, UserId};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Entries fetched per `XRANGE`: small, so that one page of large events stays small too.
const PAGE: usize = 100;

/// How much history one resume may scan.
#[derive(Clone, Copy, Debug)]
pub struct ScanLimits {
    /// Stream entries looked at.
    pub entries: usize,
    /// Payload bytes of the entries looked at.
    pub bytes: usize,
    /// Time from the first read to the last.
    pub time: Duration,
}

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
    /// More entries, or more bytes, were added since than a resume may scan; the api is
    /// cheaper.
    TooFarBehind,
    /// Reading the history took longer than a resume may take (Redis is busy or slow).
    TooSlow,
}

impl ResyncReason {
    /// The `reason` sent to the client.
    pub fn as_str(self) -> &'static str {
        match self {
            ResyncReason::HistoryTrimmed => "history trimmed",
            ResyncReason::UnknownId => "unknown event id",
            ResyncReason::TooFarBehind => "too far behind",
            ResyncReason::TooSlow => "history too slow to read",
        }
    }

    /// The `reason` label of the resync metric.
    pub fn label(self) -> &'static str {
        match self {
            ResyncReason::HistoryTrimmed => "history_trimmed",
            ResyncReason::UnknownId => "unknown_id",
            ResyncReason::TooFarBehind => "too_far_behind",
            ResyncReason::TooSlow => "too_slow",
        }
    }
}

/// The events of `user` after `after`, scanning no more of `stream` than `limits` allow.
pub async fn missed_events(
    streams: &Streams,
    stream: &TypedStream<ResultEvent>,
    user: UserId,
    after: EntryId,
    limits: ScanLimits,
) -> Result<Resume, StreamError> {
    let deadline = Instant::now() + limits.time;
    match scan(streams, stream, user, after, limits, deadline).await {
        Ok(resume) => Ok(resume),
        Err(Stopped::TooSlow) => Ok(Resume::Resync(ResyncReason::TooSlow)),
        Err(Stopped::Redis(error)) => Err(error),
    }
}

/// Why a scan stopped before its answer.
enum Stopped {
    /// It ran past its deadline.
    TooSlow,
    Redis(StreamError),
}

/// Runs one read of the scan unless the deadline passes before it answers.
async fn by<T>(
    deadline: Instant,
    read: impl Future<Output = Result<T, StreamError>>,
) -> Result<T, Stopped> {
    match tokio::time::timeout_at(deadline, read).await {
        Ok(answer) => answer.map_err(Stopped::Redis),
        Err(_) => Err(Stopped::TooSlow),
    }
}

async fn scan(
    streams: &Streams,
    stream: &TypedStream<ResultEvent>,
    user: UserId,
    after: EntryId,
    limits: ScanLimits,
    deadline: Instant,
) -> Result<Resume, Stopped> {
    if let Some(reason) = by(deadline, unreplayable(streams, stream, after)).await? {
        return Ok(Resume::Resync(reason));
    }
    let mut covered = after;
    let (mut entries, mut bytes) = (0, 0);
    let mut events = Vec::new();
    loop {
        let page = by(
            deadline,
            streams.range_after(stream, &covered.to_string(), PAGE),
        )
        .await?;
        let full_page = page.len() == PAGE;
        for delivery in page {
            let Ok(id) = delivery.id.parse::<EntryId>() else {
                continue;
            };
            covered = id;
            entries += 1;
            bytes += delivery.payload.len();
            // Entries the live reader would skip are skipped here too (it counts them).
            if let Ok(event) = delivery.message {
                if event.user_id == user {
                    if let Ok(event) = RelayedEvent::new(id, &event) {
                        events.push(event);
                    }
                }
            }
        }
        if entries > limits.entries || bytes > limits.bytes {
            return Ok(Resume::Resync(ResyncReason::TooFarBehind));
        }
        if !full_page {
            break;
        }
    }
    // Trimming only ever moves the start forward: if the entry after `after` is still there
    // now, nothing after it was trimmed before or while it was read.
    let trimmed = by(deadline, unreplayable(streams, stream, after)).await?;
    Ok(match trimmed {
        Some(ResyncReason::HistoryTrimmed) => Resume::Resync(ResyncReason::HistoryTrimmed),
        _ => Resume::Replay { events, covered },
    })
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
