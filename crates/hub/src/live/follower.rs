//! One loop per hub that follows the logs and presence streams of all documents open here, in
//! a single blocking `XREAD` over them and the hub's wake stream, and applies what other
//! replicas appended: their updates and presence reach the local sockets, their deletions close
//! them. Its own log entries it applies quietly (their sockets forwarded them). About once a
//! second it checks that the logs still hold what it read, and seeds a log that lost it again
//! from memory (presence needs no seed: clients renew it, and it expires anyway).

use super::document::{encode, LiveDocument};
use super::log::{Change, Entry};
use super::presence::PresenceLimits;
use super::registry::Registry;
use crate::metrics::Metrics;
use contracts::EntryId;
use redis::streams::StreamReadReply;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use yrs::sync::{AwarenessUpdate, Message, SyncMessage};
use yrs::updates::decoder::Decode;

/// How long one read blocks; the follower also re-reads the set of documents this often.
pub const BLOCK: Duration = Duration::from_secs(2);
/// Entries taken per stream per read.
const COUNT: usize = 512;
/// Pause after a failed read.
const RETRY: Duration = Duration::from_millis(500);
/// How often the follower checks that the logs it reads still hold what it read from them.
const LOG_CHECK: Duration = Duration::from_secs(1);

pub struct Follower {
    pub registry: Arc<Registry>,
    pub pool: deadpool_redis::Pool,
    pub metrics: Metrics,
    pub presence: PresenceLimits,
}

/// Which of a document's streams a key is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stream {
    Log,
    Presence,
}

impl Follower {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut wake_seen = EntryId::ZERO;
        let mut checked = Instant::now();
        loop {
            let read = tokio::select! {
                () = shutdown.cancelled() => return,
                read = self.read_once(&mut wake_seen) => read,
            };
            match read {
                Ok(()) if checked.elapsed() >= LOG_CHECK => {
                    checked = Instant::now();
                    self.reseed_lost_logs().await;
                }
                Ok(()) => {}
                Err(error) => {
                    self.failed("follow", &error);
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(RETRY) => {}
                    }
                }
            }
        }
    }

    async fn read_once(&self, wake_seen: &mut EntryId) -> redis::RedisResult<()> {
        let log = self.registry.log();
        let mut streams: HashMap<String, (Arc<LiveDocument>, Stream)> = HashMap::new();
        for document in self.registry.loaded() {
            let presence = log.presence_key(document.file);
            streams.insert(presence, (document.clone(), Stream::Presence));
            streams.insert(log.key(document.file), (document, Stream::Log));
        }
        let wake_key = log.wake_key();
        let mut read = redis::cmd("XREAD");
        read.arg("COUNT")
            .arg(COUNT)
            .arg("BLOCK")
            .arg(BLOCK.as_millis() as u64)
            .arg("STREAMS");
        for key in streams.keys() {
            read.arg(key);
        }
        read.arg(&wake_key);
        for (document, stream) in streams.values() {
            let after = match stream {
                Stream::Log => document.applied(),
                Stream::Presence => document.presence_followed(),
            };
            read.arg(after.to_string());
        }
        read.arg(wake_seen.to_string());

        let mut connection = self.pool.get().await.map_err(super::log::pool_error)?;
        let reply: Option<StreamReadReply> = read.query_async(&mut *connection).await?;
        drop(connection);
        for stream in reply.map(|reply| reply.keys).unwrap_or_default() {
            if stream.key == wake_key {
                if let Some(last) = stream.ids.last().and_then(|id| id.id.parse().ok()) {
                    *wake_seen = last;
                }
                continue;
            }
            let Some((document, kind)) = streams.get(&stream.key) else {
                continue;
            };
            for raw in stream.ids {
                let id = raw.id.clone();
                let entry = Entry::decode(raw);
                if entry.is_none() {
                    tracing::warn!(stream = %stream.key, %id, "unreadable entry");
                }
                match kind {
                    Stream::Log => match entry {
                        Some(entry) => self.apply(document, entry).await,
                        None => {
                            if let Ok(id) = id.parse() {
                                document.advance(id);
                            }
                        }
                    },
                    Stream::Presence => {
                        let local = self.registry.log().instance();
                        if let Some(Entry {
                            id,
                            origin,
                            change: Change::Awareness(bytes),
                        }) = entry
                        {
                            if origin != local {
                                self.present(document, id, &bytes);
                            }
                        }
                        if let Ok(id) = id.parse() {
                            document.follow_presence(id);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Appends the whole state of every open document whose log lost entries this hub knew of
    /// (Redis came back without its data): what only this hub's memory still holds
    /// reaches the other replicas, late joiners and Postgres again.
    async fn reseed_lost_logs(&self) {
        let (documents, entries): (Vec<_>, Vec<_>) = self
            .registry
            .loaded()
            .into_iter()
            .filter_map(|document| {
                let entry = (document.file, document.last_known_entry()?);
                Some((document, entry))
            })
            .unzip();
        if documents.is_empty() {
            return;
        }
        let log = self.registry.log();
        let held = match log.holding(&entries).await {
            Ok(held) => held,
            Err(error) => return self.failed("check", &error),
        };
        for (document, held) in documents.iter().zip(held) {
            if held {
                continue;
            }
            tracing::warn!(file = %document.file, "the document's log lost entries; re-seeding it");
            let seed = Change::Update(document.full_state());
            let appended = match self.pool.get().await {
                Ok(mut connection) => log.append(&mut *connection, document.file, &seed).await,
                Err(error) => Err(super::log::pool_error(error)),
            };
            match appended {
                // Read back like any entry of this hub's, which moves `applied` past it.
                Ok(_) => self.metrics.reseeds.inc(),
                Err(error) => return self.failed("reseed", &error),
            }
        }
    }

    fn failed(&self, operation: &str, error: &redis::RedisError) {
        self.metrics
            .storage_errors
            .with_label_values(&[operation])
            .inc();
        tracing::warn!(%error, operation, "cannot read the document logs; retrying");
    }

    async fn apply(&self, document: &LiveDocument, entry: Entry) {
        let local = entry.origin == self.registry.log().instance();
        match entry.change {
            Change::Deleted => {
                self.registry.evict(document.file).await;
                return;
            }
            // Sent to the local sockets by the socket that logged it, which applies it after
            // the append; applied here too, so that `applied` never passes an entry the
            // document lacks (a sync then covers what it holds).
            Change::Update(update) if local => {
                if let Err(error) = document.apply_update(&update) {
                    tracing::warn!(file = %document.file, id = %entry.id, %error, "skipping bad update")
                }
            }
            _ if local => {}
            Change::Update(update) => match document.apply_logged(&update) {
                Ok(true) => {
                    let frame = encode(&Message::Sync(SyncMessage::Update(update)));
                    document.broadcast(&frame, None);
                    self.metrics.updates.with_label_values(&["remote"]).inc();
                    self.observe_latency(entry.id);
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(file = %document.file, id = %entry.id, %error, "skipping bad update")
                }
            },
            // Written by hubs from before the presence stream, during a rolling update.
            Change::Awareness(bytes) => self.present(document, entry.id, &bytes),
        }
        document.advance(entry.id);
    }

    /// Applies another replica's presence update and hands what was new to the local sockets.
    fn present(&self, document: &LiveDocument, id: EntryId, bytes: &[u8]) {
        match AwarenessUpdate::decode_v1(bytes) {
            Ok(update) => match document.apply_awareness(update, None, &self.presence) {
                Ok(Some(taken)) => {
                    document.broadcast(&encode(&Message::Awareness(taken)), None);
                }
                Ok(None) => {}
                // The other replica's view differed; this one keeps to its bounds.
                Err(refused) => {
                    tracing::debug!(file = %document.file, %refused, "presence not taken")
                }
            },
            Err(error) => {
                tracing::warn!(file = %document.file, %id, %error, "skipping bad awareness")
            }
        }
    }

    /// From the other replica's append (the entry id's clock) to the hand-over here.
    fn observe_latency(&self, id: EntryId) {
        let now_ms = chrono::Utc::now().timestamp_millis() as f64;
        let age = (now_ms - id.millis() as f64).max(0.0) / 1000.0;
        self.metrics
            .fanout_latency
            .with_label_values(&["remote"])
            .observe(age);
    }
}
