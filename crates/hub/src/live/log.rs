//! The update log of each live document: one Redis stream per document
//! (`contracts::Keys::hub_document`), shared by every hub replica. An entry carries the hub
//! instance that wrote it, its kind and the y-protocols payload, so replicas can replay each
//! other's edits; its fields are spelled by [`contracts::doclog`], this module sends the
//! commands. Acknowledged means appended here: a hub only forwards an edit to other people once
//! this append succeeded.
//!
//! Presence travels on a stream of its own per document (`contracts::Keys::hub_presence`) that
//! keeps only `max_awareness_states` entries and expires `awareness_timeout_ms` after the last:
//! it never enters the log, which is synced to Postgres and replayed to late joiners.

use super::presence::PresenceLimits;
use contracts::doclog;
use contracts::{EntryId, FileId, Keys};
use deadpool_redis::Pool;
use redis::aio::ConnectionLike;
use redis::streams::StreamRangeReply;
use redis::AsyncCommands;
use std::sync::Arc;

pub use contracts::doclog::{Change, Entry};

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

    pub fn presence_key(&self, file: FileId) -> String {
        self.keys.hub_presence(file)
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
                .add_command(doclog::wake(&self.wake_key()))
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
        let id: String = doclog::append(&self.key(file), &self.instance, change)
            .query_async(connection)
            .await?;
        id.parse().map_err(|_| {
            redis::RedisError::from((
                redis::ErrorKind::UnexpectedReturnType,
                "XADD returned a bad id",
            ))
        })
    }

    /// Publishes an awareness update made through this hub on the document's presence stream,
    /// which keeps the latest `max_states` entries and expires once nobody renews anything.
    pub async fn publish_presence<C: ConnectionLike>(
        &self,
        connection: &mut C,
        file: FileId,
        awareness: &[u8],
        limits: &PresenceLimits,
    ) -> redis::RedisResult<()> {
        let key = self.presence_key(file);
        let seconds = limits.timeout.as_secs().max(1) as i64;
        redis::pipe()
            .add_command(doclog::presence(
                &key,
                &self.instance,
                awareness,
                limits.max_states,
            ))
            .ignore()
            .expire(&key, seconds)
            .ignore()
            .query_async(connection)
            .await
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
        Ok(reply.ids.into_iter().filter_map(Entry::decode).collect())
    }

    /// For each `(file, id)`, whether the log of `file` still holds entry `id`; one round trip.
    pub async fn holding(&self, entries: &[(FileId, EntryId)]) -> redis::RedisResult<Vec<bool>> {
        let mut pipe = redis::pipe();
        for (file, id) in entries {
            let id = id.to_string();
            pipe.cmd("XRANGE").arg(self.key(*file)).arg(&id).arg(&id);
        }
        let mut connection = self.pool.get().await.map_err(pool_error)?;
        let replies: Vec<StreamRangeReply> = pipe.query_async(&mut *connection).await?;
        Ok(replies.iter().map(|reply| !reply.ids.is_empty()).collect())
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
