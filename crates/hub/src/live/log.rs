//! The update log of each live document: one Redis stream per document
//! (`contracts::Keys::hub_document`), shared by every hub replica. An entry carries the hub
//! instance that wrote it, its kind and the y-protocols payload, so replicas can replay each
//! other's edits and presence. Acknowledged means appended here: a hub only forwards an edit
//! to other people once this append succeeded.

use contracts::{EntryId, FileId, Keys};
use deadpool_redis::Pool;
use redis::aio::ConnectionLike;
use redis::streams::{StreamId, StreamRangeReply};
use redis::{AsyncCommands, Value};
use std::sync::Arc;

const ORIGIN: &str = "o";
const KIND: &str = "k";
const BODY: &str = "b";

/// What one log entry says happened to a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A Yjs update (v1 encoding).
    Update(Vec<u8>),
    /// An awareness update (y-protocols encoding).
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
#[derive(Clone, Debug)]
pub struct Entry {
    pub id: EntryId,
    /// The hub instance that appended it.
    pub origin: String,
    pub change: Change,
}

impl Entry {
    /// Reads a stream entry, taking its fields; `None` for one this version does not understand.
    pub fn parse(mut raw: StreamId) -> Option<Entry> {
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

/// Deletes a log only if it holds nothing after the given id: a check and a delete that no
/// append of another replica can slip between.
const DROP_IF_COVERED: &str = r#"
if #redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', 1) == 0 then
    return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// Appends to and reads the document logs.
#[derive(Clone)]
pub struct DocumentLog {
    pool: Pool,
    keys: Keys,
    instance: Arc<str>,
}

impl DocumentLog {
    pub fn new(pool: Pool, keys: Keys, instance: Arc<str>) -> Self {
        Self {
            pool,
            keys,
            instance,
        }
    }

    /// This hub instance's name in the `origin` of the entries it appends.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn key(&self, file: FileId) -> String {
        self.keys.hub_document(file)
    }

    /// The stream this hub's follower reads besides the documents' logs.
    pub fn wake_key(&self) -> String {
        self.keys.hub_wake(&self.instance)
    }

    /// Makes this hub's follower return from its blocking read and re-read the set of open
    /// documents. Best effort: without it the follower notices at its next timeout.
    pub async fn wake_follower(&self) {
        let woken = async {
            let mut connection = self.pool.get().await.map_err(pool_error)?;
            // A hub that dies leaves its wake stream behind; it expires a day later.
            redis::pipe()
                .cmd("XADD")
                .arg(self.wake_key())
                .arg("MAXLEN")
                .arg(1)
                .arg("*")
                .arg(KIND)
                .arg("w")
                .ignore()
                .expire(self.wake_key(), 86_400)
                .ignore()
                .query_async::<()>(&mut *connection)
                .await
        };
        if let Err(error) = woken.await {
            tracing::warn!(%error, "cannot wake the log follower");
        }
    }

    /// Appends a change made through this hub over `connection` and returns its entry id.
    pub async fn append<C: ConnectionLike>(
        &self,
        connection: &mut C,
        file: FileId,
        change: &Change,
    ) -> redis::RedisResult<EntryId> {
        let id: String = redis::cmd("XADD")
            .arg(self.key(file))
            .arg("*")
            .arg(ORIGIN)
            .arg(&*self.instance)
            .arg(KIND)
            .arg(change.kind())
            .arg(BODY)
            .arg(change.body())
            .query_async(connection)
            .await?;
        id.parse().map_err(|_| {
            redis::RedisError::from((
                redis::ErrorKind::UnexpectedReturnType,
                "XADD returned a bad id",
            ))
        })
    }

    /// Announces a deletion and lets the log expire once every replica has had time to see it.
    pub async fn append_deleted(&self, file: FileId, keep_seconds: i64) -> redis::RedisResult<()> {
        let mut connection = self.pool.get().await.map_err(pool_error)?;
        self.append(&mut *connection, file, &Change::Deleted)
            .await?;
        connection
            .expire::<_, ()>(self.key(file), keep_seconds)
            .await
    }

    /// Up to `count` entries after `after`, oldest first.
    pub async fn read_after(
        &self,
        file: FileId,
        after: EntryId,
        count: usize,
    ) -> redis::RedisResult<Vec<Entry>> {
        let mut connection = self.pool.get().await.map_err(pool_error)?;
        let reply: StreamRangeReply = connection
            .xrange_count(self.key(file), format!("({after}"), "+", count)
            .await?;
        Ok(reply.ids.into_iter().filter_map(Entry::parse).collect())
    }

    /// Removes entries before `synced` that are also older than `older_than_ms`.
    pub async fn trim(
        &self,
        file: FileId,
        synced: EntryId,
        older_than_ms: u64,
    ) -> redis::RedisResult<()> {
        let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
        let horizon = EntryId::new(now_ms.saturating_sub(older_than_ms), 0).min(synced);
        let mut connection = self.pool.get().await.map_err(pool_error)?;
        redis::cmd("XTRIM")
            .arg(self.key(file))
            .arg("MINID")
            .arg(horizon.to_string())
            .query_async::<()>(&mut *connection)
            .await
    }

    /// Deletes the log if every entry in it is at or before `covered`; says whether it did.
    pub async fn drop_if_covered(
        &self,
        file: FileId,
        covered: EntryId,
    ) -> redis::RedisResult<bool> {
        let mut connection = self.pool.get().await.map_err(pool_error)?;
        let deleted: i64 = redis::Script::new(DROP_IF_COVERED)
            .key(self.key(file))
            .arg(covered.to_string())
            .invoke_async(&mut *connection)
            .await?;
        Ok(deleted > 0)
    }
}

pub fn pool_error(error: deadpool_redis::PoolError) -> redis::RedisError {
    redis::RedisError::from((
        redis::ErrorKind::Io,
        "no Redis connection",
        error.to_string(),
    ))
}
