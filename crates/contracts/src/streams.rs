//! A small typed client for the Redis Streams the services talk through: publish, consumer
//! groups (read, claim back, acknowledge) and plain reads for fan-out readers.

use crate::messages::DeadLetter;
use deadpool_redis::redis::{self, AsyncConnectionConfig, Value};
use deadpool_redis::{Manager, Pool, PoolError};
use redis::streams::{
    StreamAutoClaimReply, StreamId, StreamInfoGroupsReply, StreamPendingCountReply,
    StreamRangeReply, StreamReadReply,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use std::time::Duration;

/// The field every stream entry keeps its JSON message in.
const PAYLOAD_FIELD: &str = "payload";

/// Longer than the longest `BLOCK` we use, so a blocking read is not cut off by the client.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(15);

/// A stream that carries messages of type `M` only.
#[derive(Debug)]
pub struct TypedStream<M> {
    name: String,
    message: PhantomData<fn() -> M>,
}

impl<M> Clone for TypedStream<M> {
    fn clone(&self) -> Self {
        Self::new(self.name.clone())
    }
}

impl<M> TypedStream<M> {
    pub(crate) fn new(name: String) -> Self {
        Self {
            name,
            message: PhantomData,
        }
    }

    /// The Redis key of the stream.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The stream `<name>:dead` that keeps the entries a consumer of this stream gave up on.
    pub fn dead_letters(&self) -> TypedStream<DeadLetter> {
        TypedStream::new(format!("{}:dead", self.name))
    }
}

/// One entry read from a stream. `message` is an error when the payload could not be decoded;
/// the raw payload is kept so the entry can be dead-lettered rather than lost.
#[derive(Debug)]
pub struct Delivery<M> {
    pub id: String,
    pub payload: String,
    pub message: Result<M, String>,
}

/// The ids of the oldest and the newest entry a stream holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamBounds {
    pub first: String,
    pub last: String,
}

/// Errors talking to Redis.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("no Redis connection: {0}")]
    Pool(#[from] PoolError),
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("could not encode message: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("invalid Redis URL: {0}")]
    Url(String),
    #[error("Redis returned an unexpected entry id: {0}")]
    EntryId(#[from] crate::InvalidEntryId),
}

impl StreamError {
    /// Whether Redis answered that the stream or its consumer group is gone (`NOGROUP`, or
    /// `UNBLOCKED` for a read blocked when its key was deleted): the key was deleted, or Redis
    /// lost its data, so the group has to be created again.
    pub fn is_missing_group(&self) -> bool {
        matches!(self, StreamError::Redis(e) if matches!(e.code(), Some("NOGROUP" | "UNBLOCKED")))
    }
}

/// A connection pool whose connections tolerate blocking stream reads.
pub fn redis_pool(url: &str, max_size: usize) -> Result<Pool, StreamError> {
    let config = AsyncConnectionConfig::new()
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_connection_timeout(Some(Duration::from_secs(5)));
    let manager =
        Manager::new_with_config(url, config).map_err(|e| StreamError::Url(e.to_string()))?;
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(5)))
        .runtime(deadpool_redis::Runtime::Tokio1)
        .build()
        .map_err(|e| StreamError::Url(e.to_string()))
}

/// Streams over a pool; every stream is capped at about `max_len` entries (the database is the
/// record, the streams are the transport).
#[derive(Clone)]
pub struct Streams {
    pool: Pool,
    max_len: usize,
}

impl Streams {
    pub fn new(pool: Pool, max_len: usize) -> Self {
        Self { pool, max_len }
    }

    /// The pool, for callers that need other Redis commands.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Sends `command` over a connection from the pool and reads its answer.
    async fn query<T: redis::FromRedisValue>(
        &self,
        command: &redis::Cmd,
    ) -> Result<T, StreamError> {
        let mut conn = self.pool.get().await?;
        Ok(command.query_async(&mut conn).await?)
    }

    /// Appends `message`; returns its entry id.
    pub async fn publish<M: Serialize>(
        &self,
        stream: &TypedStream<M>,
        message: &M,
    ) -> Result<String, StreamError> {
        let payload = serde_json::to_string(message)?;
        let mut append = redis::cmd("XADD");
        append
            .arg(stream.name())
            .arg("MAXLEN")
            .arg("~")
            .arg(self.max_len)
            .arg("*")
            .arg(PAYLOAD_FIELD)
            .arg(payload);
        self.query(&append).await
    }

    /// Creates `group` on `stream` (and the stream) unless it exists. `start` is `0` to read
    /// the whole history or `$` for new entries only.
    pub async fn ensure_group<M>(
        &self,
        stream: &TypedStream<M>,
        group: &str,
        start: &str,
    ) -> Result<(), StreamError> {
        let mut create = redis::cmd("XGROUP");
        create
            .arg("CREATE")
            .arg(stream.name())
            .arg(group)
            .arg(start)
            .arg("MKSTREAM");
        match self.query(&create).await {
            Err(StreamError::Redis(e)) if e.code() == Some("BUSYGROUP") => Ok(()),
            other => other,
        }
    }

    /// Reads up to `count` new entries for `consumer`, waiting up to `block` (not at all when
    /// `block` is zero; Redis's own `BLOCK 0` would wait for ever).
    pub async fn read_group<M: DeserializeOwned>(
        &self,
        stream: &TypedStream<M>,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Delivery<M>>, StreamError> {
        let mut read = redis::cmd("XREADGROUP");
        read.arg("GROUP")
            .arg(group)
            .arg(consumer)
            .arg("COUNT")
            .arg(count);
        if !block.is_zero() {
            read.arg("BLOCK").arg(block.as_millis().max(1) as u64);
        }
        read.arg("STREAMS").arg(stream.name()).arg(">");
        Ok(flatten(self.query(&read).await?))
    }

    /// Reads up to `count` entries after `after` (an entry id, or `$`), waiting up to `block`.
    /// For readers that see every entry, outside any group.
    pub async fn read_after<M: DeserializeOwned>(
        &self,
        stream: &TypedStream<M>,
        after: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Delivery<M>>, StreamError> {
        let mut read = redis::cmd("XREAD");
        read.arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(block.as_millis() as u64)
            .arg("STREAMS")
            .arg(stream.name())
            .arg(after);
        Ok(flatten(self.query(&read).await?))
    }

    /// Up to `count` entries after `after` (exclusive; an entry id, `0-0` for the start),
    /// oldest first, without blocking: one page of history for a reader catching up.
    pub async fn range_after<M: DeserializeOwned>(
        &self,
        stream: &TypedStream<M>,
        after: &str,
        count: usize,
    ) -> Result<Vec<Delivery<M>>, StreamError> {
        let mut range = redis::cmd("XRANGE");
        range
            .arg(stream.name())
            .arg(format!("({after}"))
            .arg("+")
            .arg("COUNT")
            .arg(count);
        let reply: StreamRangeReply = self.query(&range).await?;
        Ok(reply.ids.into_iter().map(decode).collect())
    }

    /// For each of `ids`, whether `stream` still holds that entry (one round trip). An id that
    /// is not an entry id is not held.
    pub async fn holds<M>(
        &self,
        stream: &TypedStream<M>,
        ids: &[String],
    ) -> Result<Vec<bool>, StreamError> {
        let valid: Vec<&String> = ids
            .iter()
            .filter(|id| id.parse::<crate::EntryId>().is_ok())
            .collect();
        let mut pipe = redis::pipe();
        for id in &valid {
            pipe.cmd("XRANGE")
                .arg(stream.name())
                .arg(id.as_str())
                .arg(id.as_str())
                .arg("COUNT")
                .arg(1);
        }
        let found: Vec<StreamRangeReply> = if valid.is_empty() {
            Vec::new()
        } else {
            let mut conn = self.pool.get().await?;
            pipe.query_async(&mut conn).await?
        };
        let held: std::collections::HashSet<&str> = valid
            .iter()
            .zip(&found)
            .filter(|(_, reply)| !reply.ids.is_empty())
            .map(|(id, _)| id.as_str())
            .collect();
        Ok(ids.iter().map(|id| held.contains(id.as_str())).collect())
    }

    /// The oldest and newest entry ids `stream` holds, read at one instant; `None` when the
    /// stream is empty or absent. Trimming moves `first` forward, so history older than it is
    /// gone.
    pub async fn bounds<M>(
        &self,
        stream: &TypedStream<M>,
    ) -> Result<Option<StreamBounds>, StreamError> {
        let mut conn = self.pool.get().await?;
        let (oldest, newest): (StreamRangeReply, StreamRangeReply) = redis::pipe()
            .atomic()
            .cmd("XRANGE")
            .arg(stream.name())
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .cmd("XREVRANGE")
            .arg(stream.name())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut conn)
            .await?;
        Ok(oldest
            .ids
            .into_iter()
            .next()
            .zip(newest.ids.into_iter().next())
            .map(|(first, last)| StreamBounds {
                first: first.id,
                last: last.id,
            }))
    }

    /// Takes over up to `count` entries that have been pending for longer than `min_idle`
    /// (their consumer died, or gave up on them).
    pub async fn claim_stale<M: DeserializeOwned>(
        &self,
        stream: &TypedStream<M>,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<Delivery<M>>, StreamError> {
        let mut claim = redis::cmd("XAUTOCLAIM");
        claim
            .arg(stream.name())
            .arg(group)
            .arg(consumer)
            .arg(min_idle.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(count);
        let reply: StreamAutoClaimReply = self.query(&claim).await?;
        Ok(reply.claimed.into_iter().map(decode).collect())
    }

    /// Resets the idle time of an entry this consumer is still working on, so that nobody
    /// claims it while it is in progress. Does not count as a delivery.
    pub async fn keep_claimed<M>(
        &self,
        stream: &TypedStream<M>,
        group: &str,
        consumer: &str,
        id: &str,
    ) -> Result<(), StreamError> {
        self.reclaim(stream, group, consumer, id, None).await
    }

    /// Sets how many times the pending entry `id` counts as delivered, without delivering it
    /// (`XCLAIM … RETRYCOUNT`): a delivery that failed for reasons of the consumer's own is
    /// given back. The entry's idle time starts again from zero.
    pub async fn set_delivery_count<M>(
        &self,
        stream: &TypedStream<M>,
        group: &str,
        consumer: &str,
        id: &str,
        deliveries: u64,
    ) -> Result<(), StreamError> {
        self.reclaim(stream, group, consumer, id, Some(deliveries))
            .await
    }

    /// `XCLAIM … JUSTID` of the pending entry `id` for `consumer` at any idle time, which
    /// restarts its idle time; with `retry_count`, also sets its delivery count.
    async fn reclaim<M>(
        &self,
        stream: &TypedStream<M>,
        group: &str,
        consumer: &str,
        id: &str,
        retry_count: Option<u64>,
    ) -> Result<(), StreamError> {
        let mut claim = redis::cmd("XCLAIM");
        claim
            .arg(stream.name())
            .arg(group)
            .arg(consumer)
            .arg(0)
            .arg(id);
        if let Some(deliveries) = retry_count {
            claim.arg("RETRYCOUNT").arg(deliveries);
        }
        let _: Value = self.query(claim.arg("JUSTID")).await?;
        Ok(())
    }

    /// How many times the entry `id` has been delivered; `None` when it is not pending (it was
    /// acknowledged, or never read).
    pub async fn delivery_count<M>(
        &self,
        stream: &TypedStream<M>,
        group: &str,
        id: &str,
    ) -> Result<Option<u64>, StreamError> {
        let mut pending = redis::cmd("XPENDING");
        pending.arg(stream.name()).arg(group).arg(id).arg(id).arg(1);
        let reply: StreamPendingCountReply = self.query(&pending).await?;
        Ok(reply
            .ids
            .first()
            .map(|pending| pending.times_delivered as u64))
    }

    /// Acknowledges a processed entry.
    pub async fn ack<M>(
        &self,
        stream: &TypedStream<M>,
        group: &str,
        id: &str,
    ) -> Result<(), StreamError> {
        let mut ack = redis::cmd("XACK");
        ack.arg(stream.name()).arg(group).arg(id);
        let _: u64 = self.query(&ack).await?;
        Ok(())
    }

    /// Entries `group` has not finished: not yet delivered plus delivered but unacknowledged.
    /// Before the group exists, every entry of the stream counts.
    pub async fn backlog<M>(
        &self,
        stream: &TypedStream<M>,
        group: &str,
    ) -> Result<u64, StreamError> {
        let mut conn = self.pool.get().await?;
        let length: u64 = redis::cmd("XLEN")
            .arg(stream.name())
            .query_async(&mut conn)
            .await?;
        if length == 0 {
            return Ok(0);
        }
        let reply: StreamInfoGroupsReply = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(stream.name())
            .query_async(&mut conn)
            .await?;
        Ok(reply
            .groups
            .iter()
            .find(|g| g.name == group)
            .map_or(length, |g| (g.lag.unwrap_or(0) + g.pending) as u64))
    }
}

fn flatten<M: DeserializeOwned>(reply: Option<StreamReadReply>) -> Vec<Delivery<M>> {
    reply
        .into_iter()
        .flat_map(|r| r.keys)
        .flat_map(|k| k.ids)
        .map(decode)
        .collect()
}

fn decode<M: DeserializeOwned>(entry: StreamId) -> Delivery<M> {
    let payload = match entry.map.get(PAYLOAD_FIELD) {
        Some(Value::BulkString(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
        Some(Value::SimpleString(text)) => text.clone(),
        _ => String::new(),
    };
    let message = if payload.is_empty() {
        Err(format!("entry has no `{PAYLOAD_FIELD}` field"))
    } else {
        serde_json::from_str(&payload).map_err(|e| e.to_string())
    };
    Delivery {
        id: entry.id,
        payload,
        message,
    }
}

#[cfg(test)]
mod tests {
    //! Against the local Redis (`REDIS_URL`, default `redis://127.0.0.1:6379`), each test under
    //! its own key.

    use super::*;

    fn streams() -> Streams {
        let url =
            std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        Streams::new(redis_pool(&url, 2).unwrap(), 1000)
    }

    fn scratch_stream() -> TypedStream<u32> {
        TypedStream::new(format!("test-{}:numbers", uuid::Uuid::new_v4().simple()))
    }

    async fn delete(streams: &Streams, stream: &TypedStream<u32>) {
        let mut conn = streams.pool().get().await.unwrap();
        let _: u64 = redis::cmd("DEL")
            .arg(stream.name())
            .query_async(&mut conn)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn range_after_pages_through_later_entries_in_order() {
        let streams = streams();
        let stream = scratch_stream();
        let mut ids = Vec::new();
        for n in 0..5u32 {
            ids.push(streams.publish(&stream, &n).await.unwrap());
        }

        let page = streams.range_after(&stream, &ids[0], 2).await.unwrap();
        let numbers: Vec<u32> = page.iter().map(|d| *d.message.as_ref().unwrap()).collect();
        assert_eq!(numbers, [1, 2]);
        assert_eq!(page[1].id, ids[2]);

        let rest = streams.range_after(&stream, &page[1].id, 10).await.unwrap();
        let numbers: Vec<u32> = rest.iter().map(|d| *d.message.as_ref().unwrap()).collect();
        assert_eq!(numbers, [3, 4]);

        assert!(streams
            .range_after(&stream, &ids[4], 10)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            streams.range_after(&stream, "0-0", 10).await.unwrap().len(),
            5
        );
        delete(&streams, &stream).await;
    }

    #[tokio::test]
    async fn holds_says_which_entries_are_still_there() {
        let streams = streams();
        let stream = scratch_stream();
        let kept = streams.publish(&stream, &1).await.unwrap();
        let deleted = streams.publish(&stream, &2).await.unwrap();
        let mut conn = streams.pool().get().await.unwrap();
        let _: u64 = redis::cmd("XDEL")
            .arg(stream.name())
            .arg(&deleted)
            .query_async(&mut conn)
            .await
            .unwrap();
        let ids = [kept, deleted, "not-an-id".to_owned(), "1-0".to_owned()];
        assert_eq!(
            streams.holds(&stream, &ids).await.unwrap(),
            [true, false, false, false]
        );
        assert!(streams.holds(&stream, &[]).await.unwrap().is_empty());
        delete(&streams, &stream).await;
    }

    #[tokio::test]
    async fn bounds_follow_appends_and_trimming() {
        let streams = streams();
        let stream = scratch_stream();
        assert_eq!(streams.bounds(&stream).await.unwrap(), None);

        let mut ids = Vec::new();
        for n in 0..4u32 {
            ids.push(streams.publish(&stream, &n).await.unwrap());
        }
        let bounds = streams.bounds(&stream).await.unwrap().unwrap();
        assert_eq!(
            (bounds.first.as_str(), bounds.last.as_str()),
            (&*ids[0], &*ids[3])
        );

        let mut conn = streams.pool().get().await.unwrap();
        let _: u64 = redis::cmd("XTRIM")
            .arg(stream.name())
            .arg("MAXLEN")
            .arg(2)
            .query_async(&mut conn)
            .await
            .unwrap();
        let bounds = streams.bounds(&stream).await.unwrap().unwrap();
        assert_eq!(
            (bounds.first.as_str(), bounds.last.as_str()),
            (&*ids[2], &*ids[3])
        );
        delete(&streams, &stream).await;
    }
}
