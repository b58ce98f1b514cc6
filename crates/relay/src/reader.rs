//! The one reader of the `results` stream in this process. Every relay replica reads the whole
//! stream (no consumer group: each replica must see every event, since any of them may hold the
//! user's socket) and hands each event to the [`Fanout`], one at a time and in order: a burst
//! read after falling behind reaches each socket at that socket's pace (the fan-out waits for
//! a full queue while its socket keeps up). No socket has a Redis connection.
//!
//! It starts at the stream's newest entry (sockets that want older events ask for them with
//! `last_event_id`) and then always reads after the last id it saw, so a slow round or a Redis
//! error never skips an entry. Plain `XREAD … $` in a loop would: entries added between two
//! rounds are not "new" for the second one.

use crate::event::RelayedEvent;
use crate::fanout::Fanout;
use crate::metrics::Metrics;
use contracts::EntryId;
use contracts::{ResultEvent, StreamError, Streams, TypedStream};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Entries read per round.
const BATCH: usize = 512;
/// How long one `XREAD` waits for new entries (below the pool's response timeout).
pub const BLOCK: Duration = Duration::from_secs(5);
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// What `/readyz` asks about the reader.
#[derive(Debug, Default)]
pub struct ReaderHealth {
    running: AtomicBool,
    /// Unix milliseconds of the last round that reached Redis.
    last_ok_ms: AtomicI64,
}

impl ReaderHealth {
    /// The reader is running and reached Redis within `within`.
    pub fn is_alive(&self, within: Duration) -> bool {
        let age_ms =
            chrono::Utc::now().timestamp_millis() - self.last_ok_ms.load(Ordering::Relaxed);
        self.running.load(Ordering::Relaxed) && age_ms <= within.as_millis() as i64
    }

    fn reached_redis(&self) {
        self.last_ok_ms
            .store(chrono::Utc::now().timestamp_millis(), Ordering::Relaxed);
    }
}

/// Everything the reader uses.
pub struct Reader {
    pub streams: Streams,
    pub stream: TypedStream<ResultEvent>,
    pub fanout: Arc<Fanout>,
    pub metrics: Metrics,
    pub health: Arc<ReaderHealth>,
}

impl Reader {
    /// Reads and fans out until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        self.health.running.store(true, Ordering::Relaxed);
        let mut after: Option<String> = None;
        while !shutdown.is_cancelled() {
            let round = self.round(&mut after);
            let outcome = tokio::select! {
                outcome = round => outcome,
                () = shutdown.cancelled() => break,
            };
            if let Err(error) = outcome {
                self.metrics.reader_errors.inc();
                tracing::error!(%error, "reading the results stream failed; retrying");
                tokio::select! {
                    () = tokio::time::sleep(RETRY_PAUSE) => {}
                    () = shutdown.cancelled() => break,
                }
            }
        }
        self.health.running.store(false, Ordering::Relaxed);
    }

    /// One read; `after` is the last id seen (`None` until the start position is known).
    async fn round(&self, after: &mut Option<String>) -> Result<(), StreamError> {
        let position = match after {
            Some(id) => id.clone(),
            None => {
                let start = self
                    .streams
                    .bounds(&self.stream)
                    .await?
                    .map_or_else(|| EntryId::ZERO.to_string(), |bounds| bounds.last);
                self.health.reached_redis();
                tracing::info!(stream = self.stream.name(), after = %start, "reading results");
                after.insert(start).clone()
            }
        };
        let deliveries = self
            .streams
            .read_after(&self.stream, &position, BATCH, BLOCK)
            .await?;
        self.health.reached_redis();
        for delivery in deliveries {
            *after = Some(delivery.id.clone());
            self.metrics.events_read.inc();
            match RelayedEvent::from_delivery(delivery) {
                Ok(event) => {
                    self.fanout.publish(&Arc::new(event)).await;
                }
                Err(skip) => {
                    self.metrics
                        .events_skipped
                        .with_label_values(&[skip.label()])
                        .inc();
                    tracing::warn!(error = %skip, "result event not relayed");
                }
            }
        }
        Ok(())
    }
}
