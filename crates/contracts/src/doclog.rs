//! The entries of a live document's log (`Keys::hub_document`), the Redis stream every hub
//! replica appends a document's edits to and follows for the others', and of its presence
//! stream (`Keys::hub_presence`), which carries who is there between replicas and keeps only
//! its latest entries: presence is never durable, so a replay of the log (for a late joiner or
//! for Postgres) never holds it. An entry carries the hub instance that wrote it, its kind and
//! the y-protocols payload, as raw bytes (not JSON): the log is on the path of every keystroke.
//!
//! Only the commands are built here; the hub sends them over its own connections, pipelined.

use crate::EntryId;
use deadpool_redis::redis::{self, streams::StreamId, Value};

/// The hub instance that appended the entry.
const ORIGIN: &str = "o";
/// What kind of change it is: [`Change::kind`].
const KIND: &str = "k";
/// The change's payload.
const BODY: &str = "b";
/// The kind of the entries on a hub's wake stream, which nobody reads.
const WAKE: &str = "w";

/// What one log entry says happened to a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A Yjs update (v1 encoding).
    Update(Vec<u8>),
    /// An awareness update (y-protocols encoding), on the presence stream (hubs before it
    /// existed put them in the log).
    Awareness(Vec<u8>),
    /// The file was deleted: everyone editing it is disconnected.
    Deleted,
}

impl Change {
    fn kind(&self) -> &'static str {
        match self {
            Change::Update(_) => "u",
            Change::Awareness(_) => "a",
            Change::Deleted => "d",
        }
    }

    fn body(&self) -> &[u8] {
        match self {
            Change::Update(bytes) | Change::Awareness(bytes) => bytes,
            Change::Deleted => &[],
        }
    }
}

/// One entry read back from a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub id: EntryId,
    /// The hub instance that appended it.
    pub origin: String,
    pub change: Change,
}

impl Entry {
    /// Decodes a stream entry, taking its fields; `None` for one this version does not
    /// understand.
    pub fn decode(mut raw: StreamId) -> Option<Entry> {
        let id = raw.id.parse().ok()?;
        let mut bytes = |field: &str| match raw.map.remove(field) {
            Some(Value::BulkString(bytes)) => Some(bytes),
            _ => None,
        };
        let origin = String::from_utf8(bytes(ORIGIN)?).ok()?;
        let change = match bytes(KIND)?.as_slice() {
            b"u" => Change::Update(bytes(BODY)?),
            b"a" => Change::Awareness(bytes(BODY)?),
            b"d" => Change::Deleted,
            _ => return None,
        };
        Some(Entry { id, origin, change })
    }
}

/// The `XADD` that appends `change`, made through hub instance `origin`, to the log `key`; it
/// answers with the new entry's id.
pub fn append(key: &str, origin: &str, change: &Change) -> redis::Cmd {
    let mut command = redis::cmd("XADD");
    command
        .arg(key)
        .arg("*")
        .arg(ORIGIN)
        .arg(origin)
        .arg(KIND)
        .arg(change.kind())
        .arg(BODY)
        .arg(change.body());
    command
}

/// The `XADD` that publishes an awareness update made through hub instance `origin` on the
/// presence stream `key`, which keeps only its latest `keep` entries.
pub fn presence(key: &str, origin: &str, awareness: &[u8], keep: usize) -> redis::Cmd {
    let mut command = redis::cmd("XADD");
    command
        .arg(key)
        .arg("MAXLEN")
        .arg(keep)
        .arg("*")
        .arg(ORIGIN)
        .arg(origin)
        .arg(KIND)
        .arg(Change::Awareness(Vec::new()).kind())
        .arg(BODY)
        .arg(awareness);
    command
}

/// The `XADD` of an entry to the wake stream `key` (`Keys::hub_wake`), which only ever keeps
/// the latest: appending is the signal, the entry says nothing.
pub fn wake(key: &str) -> redis::Cmd {
    let mut command = redis::cmd("XADD");
    command
        .arg(key)
        .arg("MAXLEN")
        .arg(1)
        .arg("*")
        .arg(KIND)
        .arg(WAKE);
    command
}

#[cfg(test)]
mod tests {
    //! Against the local Redis (`REDIS_URL`), each test under a key of its own.

    use super::*;
    use redis::streams::StreamRangeReply;

    async fn connection() -> deadpool_redis::Connection {
        let url =
            std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        crate::redis_pool(&url, 1).unwrap().get().await.unwrap()
    }

    fn scratch_key() -> String {
        format!("test-{}:hub:doc:1", uuid::Uuid::new_v4().simple())
    }

    async fn whole_log(conn: &mut deadpool_redis::Connection, key: &str) -> StreamRangeReply {
        redis::cmd("XRANGE")
            .arg(key)
            .arg("-")
            .arg("+")
            .query_async(conn)
            .await
            .unwrap()
    }

    async fn remove(conn: &mut deadpool_redis::Connection, key: &str) {
        let _: () = redis::cmd("DEL").arg(key).query_async(conn).await.unwrap();
    }

    #[tokio::test]
    async fn every_change_round_trips_through_a_log() {
        let mut conn = connection().await;
        let key = scratch_key();
        let changes = [
            Change::Update(vec![1, 0, 255, b'\n']),
            Change::Awareness(b"{\"cursor\":3}".to_vec()),
            Change::Update(Vec::new()),
            Change::Deleted,
        ];
        let mut ids = Vec::new();
        for change in &changes {
            let id: String = append(&key, "hub-a", change)
                .query_async(&mut conn)
                .await
                .unwrap();
            ids.push(id.parse::<EntryId>().unwrap());
        }

        let reply = whole_log(&mut conn, &key).await;
        let entries: Vec<Entry> = reply.ids.into_iter().filter_map(Entry::decode).collect();
        let expected: Vec<Entry> = ids
            .into_iter()
            .zip(changes)
            .map(|(id, change)| Entry {
                id,
                origin: "hub-a".to_owned(),
                change,
            })
            .collect();
        assert_eq!(entries, expected);
        remove(&mut conn, &key).await;
    }

    #[tokio::test]
    async fn entries_of_an_unknown_kind_or_without_fields_are_skipped() {
        let mut conn = connection().await;
        let key = scratch_key();
        let _: String = redis::cmd("XADD")
            .arg(&key)
            .arg("*")
            .arg(ORIGIN)
            .arg("hub-b")
            .arg(KIND)
            .arg("z")
            .query_async(&mut conn)
            .await
            .unwrap();
        let _: String = redis::cmd("XADD")
            .arg(&key)
            .arg("*")
            .arg(KIND)
            .arg("u")
            .query_async(&mut conn)
            .await
            .unwrap();
        let reply = whole_log(&mut conn, &key).await;
        assert_eq!(reply.ids.len(), 2);
        assert_eq!(reply.ids.into_iter().filter_map(Entry::decode).count(), 0);
        remove(&mut conn, &key).await;
    }

    #[tokio::test]
    async fn a_presence_stream_keeps_only_its_latest_entries_and_reads_as_awareness() {
        let mut conn = connection().await;
        let key = scratch_key();
        for n in 0..5u8 {
            let _: String = presence(&key, "hub-a", &[n], 3)
                .query_async(&mut conn)
                .await
                .unwrap();
        }
        let reply = whole_log(&mut conn, &key).await;
        let changes: Vec<Change> = reply
            .ids
            .into_iter()
            .filter_map(Entry::decode)
            .map(|entry| entry.change)
            .collect();
        let expected: Vec<Change> = (2..5u8).map(|n| Change::Awareness(vec![n])).collect();
        assert_eq!(changes, expected);
        remove(&mut conn, &key).await;
    }

    #[tokio::test]
    async fn a_wake_stream_keeps_only_its_latest_entry() {
        let mut conn = connection().await;
        let key = scratch_key();
        for _ in 0..3 {
            let _: String = wake(&key).query_async(&mut conn).await.unwrap();
        }
        let length: u64 = redis::cmd("XLEN")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(length, 1);
        remove(&mut conn, &key).await;
    }
}
