//! Trimming a stream to what is still needed, so that a Redis that never evicts (`noeviction`)
//! never fills with finished work: an entry goes once every consumer group has acknowledged
//! it and it is outside the stream's [`Retention`]; the dead-letter stream keeps its newest
//! entries only.
//!
//! What a group still needs starts at the older of its oldest pending entry (delivered, not
//! acknowledged) and the entry after its last delivered one (nothing later has been read).
//! Both only move forward, so reading them, then trimming, never removes an entry that became
//! needed in between. A stream without groups is left alone: nobody has said what it needs.

use crate::entry_id::EntryId;
use crate::streams::{StreamError, Streams, TypedStream};
use deadpool_redis::redis::{self, streams::StreamInfoGroupsReply, streams::StreamPendingReply};
use std::time::Duration;

/// Entries read at most per trim to find where a count bound starts; a larger excess is
/// trimmed over several rounds.
const COUNT_PAGE: usize = 1000;

/// How much acknowledged history a stream keeps for readers outside any group (the relay
/// resumes from `results`): entries younger than `max_age`, at most `max_entries` of them.
/// Entries a group still needs are kept whatever their age and number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    pub max_age: Duration,
    pub max_entries: usize,
}

impl Retention {
    /// No history: an entry goes as soon as every group has acknowledged it.
    pub const NONE: Retention = Retention {
        max_age: Duration::ZERO,
        max_entries: 0,
    };
}

/// What one trim removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Trimmed {
    pub entries: u64,
    pub dead_letters: u64,
}

/// Removes the entries of `stream` no group needs and `retention` does not keep, and all but
/// the newest `dead_letters_kept` entries of its dead-letter stream.
pub async fn trim<M>(
    streams: &Streams,
    stream: &TypedStream<M>,
    retention: Retention,
    dead_letters_kept: usize,
) -> Result<Trimmed, StreamError> {
    let mut conn = streams.pool().get().await?;
    let dead_letters: u64 = redis::cmd("XTRIM")
        .arg(stream.dead_letters().name())
        .arg("MAXLEN")
        .arg("=")
        .arg(dead_letters_kept)
        .query_async(&mut conn)
        .await?;
    let trimmed = |entries| Trimmed {
        entries,
        dead_letters,
    };
    let (length, (seconds, micros)): (u64, (u64, u64)) = redis::pipe()
        .cmd("XLEN")
        .arg(stream.name())
        .cmd("TIME")
        .query_async(&mut conn)
        .await?;
    if length == 0 {
        return Ok(trimmed(0));
    }
    let Some(needed) = oldest_needed(&mut conn, stream.name()).await? else {
        return Ok(trimmed(0));
    };
    // Redis's clock, the one entry ids come from.
    let now_ms = seconds * 1000 + micros / 1000;
    let too_old = EntryId::new(
        now_ms.saturating_sub(retention.max_age.as_millis() as u64),
        0,
    );
    let mut removed = trim_before(&mut conn, stream.name(), needed.min(too_old)).await?;
    let left = length.saturating_sub(removed);
    let excess = left.saturating_sub(retention.max_entries as u64);
    if too_old < needed && excess > 0 {
        removed += trim_excess(&mut conn, stream.name(), needed, excess).await?;
    }
    Ok(trimmed(removed))
}

/// The oldest entry any group still needs; `None` when the stream has no group.
async fn oldest_needed(
    conn: &mut deadpool_redis::Connection,
    stream: &str,
) -> Result<Option<EntryId>, StreamError> {
    let groups: StreamInfoGroupsReply = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(stream)
        .query_async(conn)
        .await?;
    let mut oldest: Option<EntryId> = None;
    for group in groups.groups {
        let mut needed = parse(&group.last_delivered_id)?.successor();
        if group.pending > 0 {
            let pending: StreamPendingReply = redis::cmd("XPENDING")
                .arg(stream)
                .arg(&group.name)
                .query_async(conn)
                .await?;
            if let StreamPendingReply::Data(pending) = pending {
                needed = needed.min(parse(&pending.start_id)?);
            }
        }
        oldest = Some(oldest.map_or(needed, |oldest| oldest.min(needed)));
    }
    Ok(oldest)
}

/// Removes up to `excess` of the oldest entries, none at or after `needed`.
async fn trim_excess(
    conn: &mut deadpool_redis::Connection,
    stream: &str,
    needed: EntryId,
    excess: u64,
) -> Result<u64, StreamError> {
    let count = excess.min(COUNT_PAGE as u64);
    let oldest: Vec<(String, redis::Value)> = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg(format!("({needed}"))
        .arg("COUNT")
        .arg(count)
        .query_async(conn)
        .await?;
    let before = match oldest.last() {
        // All of them are older than what the groups need.
        Some((last, _)) if oldest.len() as u64 == count => parse(last)?.successor(),
        _ => needed,
    };
    trim_before(conn, stream, before).await
}

/// `XTRIM MINID`: removes every entry older than `id`.
async fn trim_before(
    conn: &mut deadpool_redis::Connection,
    stream: &str,
    id: EntryId,
) -> Result<u64, StreamError> {
    Ok(redis::cmd("XTRIM")
        .arg(stream)
        .arg("MINID")
        .arg("=")
        .arg(id.to_string())
        .query_async(conn)
        .await?)
}

fn parse(id: &str) -> Result<EntryId, StreamError> {
    Ok(id.parse()?)
}
