//! The one Redis Streams consumer every service that reads a stream in a consumer group uses:
//! the grader on `submissions`, the api on `results`. The service writes a [`Handler`] for one
//! message; the consumer does the rest, the same way everywhere:
//!
//! - it creates the group (from [`Options::start_id`], with the stream) and creates it again
//!   whenever Redis answers `NOGROUP` (the key was deleted, or Redis lost its data);
//! - every so often it takes over entries pending longer than [`Options::claim_idle`]
//!   (`XAUTOCLAIM`): those of a consumer that died, and those left for a retry; otherwise it
//!   reads new ones (`XREADGROUP`), never more than it has free slots
//!   ([`Options::concurrency`]);
//! - each entry is handled in a task of its own, and re-claimed every quarter of the claim
//!   idle time while it is (`XCLAIM … JUSTID`), so a long job is not taken over while alive;
//! - the handler's [`Outcome`] decides: acknowledge, leave pending for a retry, dead-letter, or
//!   give the delivery back without counting it because the handler's own backing service is
//!   down (then the consumer pauses reading, with a growing backoff, until one succeeds);
//! - while its [`Gate`] ([`Options::gate`]) is closed, it takes no entry at all: the service
//!   closes it while what its handler needs is down and opens it when that is back;
//! - an entry is delivered at most [`Options::max_deliveries`] times (one read new is on its
//!   first delivery; the count of one taken over is read with `XPENDING` before it is
//!   handled): one that still fails then, one whose handler never finished that often, one
//!   that cannot be decoded, and one a handler gives up on go to the dead-letter
//!   stream `<stream>:dead` ([`TypedStream::dead_letters`]) and are acknowledged. Nothing is
//!   dropped silently, and a failing entry never holds up the ones behind it;
//! - every [`Options::trim_every`] it trims the stream to what some group still needs plus
//!   [`Options::retention`], and the dead-letter stream to its newest
//!   [`Options::dead_letters_kept`] entries ([`trim`]), so finished work does not pile up in a
//!   Redis that never evicts.
//!
//! Delivery is at least once: a handler may see an entry again (after a crash, or when an
//! acknowledgement is lost), so handlers are idempotent. [`Consumer::run`] runs until its
//! shutdown token is cancelled; [`Consumer::drain`] handles what is there and returns, for
//! tests.

mod delivery;
mod gate;
mod run;
#[cfg(test)]
mod tests;
pub mod trim;

pub use trim::{Retention, Trimmed};

use crate::streams::{Delivery, StreamError, Streams, TypedStream};
pub use gate::Gate;
use run::Run;
use serde::de::DeserializeOwned;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How a [`Consumer`] reads its stream.
#[derive(Clone, Debug)]
pub struct Options {
    /// The consumer group.
    pub group: String,
    /// This consumer's name in the group; unique per process.
    pub consumer: String,
    /// Where a new group starts: `0` for the whole stream, `$` for new entries only.
    pub start_id: String,
    /// Entries handled at once.
    pub concurrency: usize,
    /// Deliveries after which a failing entry is dead-lettered.
    pub max_deliveries: u64,
    /// An entry pending this long without a keep-alive is taken over; also the delay before
    /// an entry left for a retry is delivered again.
    pub claim_idle: Duration,
    /// How long one read waits for new entries (and so the longest shutdown waits for it).
    pub read_block: Duration,
    /// The first pause after a failure of Redis or of a handler's backing service; it doubles
    /// with every further failure, up to 30 s.
    pub backoff: Duration,
    /// Acknowledged history the stream keeps for readers outside any group.
    pub retention: Retention,
    /// Entries the dead-letter stream keeps (the newest).
    pub dead_letters_kept: usize,
    /// How often the stream and its dead letters are trimmed.
    pub trim_every: Duration,
    /// While closed, no entry is taken; none means always open.
    pub gate: Option<Gate>,
}

impl Options {
    /// One slot, 5 deliveries, 30 s claim idle time, 1 s reads and pauses, no gate; from the
    /// start of the stream; no history kept, 1000 dead letters, trimmed every second.
    pub fn new(group: impl Into<String>, consumer: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            consumer: consumer.into(),
            start_id: "0".to_owned(),
            concurrency: 1,
            max_deliveries: 5,
            claim_idle: Duration::from_secs(30),
            read_block: Duration::from_secs(1),
            backoff: Duration::from_secs(1),
            retention: Retention::NONE,
            dead_letters_kept: 1000,
            trim_every: Duration::from_secs(1),
            gate: None,
        }
    }

    /// How often stale entries are looked for: well inside the claim idle time.
    fn claim_every(&self) -> Duration {
        (self.claim_idle / 2).max(Duration::from_millis(20))
    }

    /// How often an entry in progress is re-claimed.
    fn keep_alive_every(&self) -> Duration {
        (self.claim_idle / 4).max(Duration::from_millis(10))
    }
}

/// One message, decoded, handed to a [`Handler`].
#[derive(Debug)]
pub struct Received<'a, M> {
    /// Its entry id.
    pub id: &'a str,
    pub message: &'a M,
    /// This is its `attempt`-th delivery that counts, from 1.
    pub attempt: u64,
    /// [`Options::max_deliveries`].
    pub max_attempts: u64,
}

impl<M> Received<'_, M> {
    /// Whether a [`Outcome::Retry`] now dead-letters the message.
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_attempts
    }
}

/// What became of one message, as its handler says.
#[derive(Debug)]
pub enum Outcome<F> {
    /// Handled: it is acknowledged.
    Done,
    /// Failed this time; it stays pending and is delivered again after the claim idle time.
    /// On its last delivery it is dead-lettered for this reason instead.
    Retry(F),
    /// Can never be handled (an unsupported version, an unknown runtime): it is dead-lettered
    /// at once for this reason.
    GiveUp(F),
    /// The handler's own backing service (Docker, Postgres) is down, which is not the
    /// message's fault: the delivery does not count, the message stays pending, and the
    /// consumer pauses reading until a message succeeds again.
    Unavailable(F),
}

/// Why an entry is dead-lettered; its `Display` is the dead letter's `reason`.
#[derive(Debug)]
pub enum DeadEnd<'a, F> {
    /// The payload is not a message of the stream's type (the decoder's complaint).
    Undecodable(&'a str),
    /// Delivered more often than allowed without an outcome: its handler crashed or hung
    /// every time.
    TooManyDeliveries { deliveries: u64, max: u64 },
    /// The handler gave up on it, or it failed on its last delivery.
    Failed(&'a F),
}

impl<F: fmt::Display> fmt::Display for DeadEnd<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeadEnd::Undecodable(problem) => write!(f, "undecodable entry: {problem}"),
            DeadEnd::TooManyDeliveries { deliveries, max } => write!(
                f,
                "delivered {deliveries} times without being finished (at most {max} allowed)"
            ),
            DeadEnd::Failed(failure) => failure.fmt(f),
        }
    }
}

/// What a service does with one message of type `M`. Handlers are shared by the tasks of
/// a consumer, so state they change goes behind a lock or an atomic.
pub trait Handler<M>: Send + Sync + 'static {
    /// Why a message failed; its `Display` becomes a dead letter's reason.
    type Failure: fmt::Display + Send + Sync + 'static;

    /// Handles one message.
    fn handle(
        &self,
        received: Received<'_, M>,
    ) -> impl Future<Output = Outcome<Self::Failure>> + Send;

    /// Called after `delivery` went to the dead-letter stream and before it is acknowledged,
    /// to tell whoever waits for it. On `Err` it is not acknowledged: it stays pending and is
    /// dead-lettered again later (so the hook may run twice for one entry).
    fn on_dead_letter(
        &self,
        delivery: &Delivery<M>,
        cause: &DeadEnd<'_, Self::Failure>,
    ) -> impl Future<Output = Result<(), Self::Failure>> + Send {
        let _ = (delivery, cause);
        async { Ok(()) }
    }

    /// Called whenever the consumer could not talk to Redis (it logs and retries by itself).
    fn on_stream_error(&self, error: &StreamError) {
        let _ = error;
    }
}

/// What a consumer did, for tests and logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Handled and acknowledged.
    pub done: u64,
    /// Left pending, to be delivered again.
    pub retried: u64,
    /// Given back uncounted because the handler's backing service was down.
    pub unavailable: u64,
    /// Moved to the dead-letter stream and acknowledged.
    pub dead_lettered: u64,
}

/// A consumer of the stream of `M` in one group.
pub struct Consumer<M> {
    inner: Arc<Inner<M>>,
}

/// What every delivery task of a consumer shares.
struct Inner<M> {
    streams: Streams,
    stream: TypedStream<M>,
    options: Options,
}

impl<M> Clone for Consumer<M> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<M: DeserializeOwned + Send + Sync + 'static> Consumer<M> {
    /// A consumer of `stream`; at least one slot and one delivery whatever `options` say.
    pub fn new(streams: Streams, stream: TypedStream<M>, mut options: Options) -> Self {
        options.concurrency = options.concurrency.max(1);
        options.max_deliveries = options.max_deliveries.max(1);
        Self {
            inner: Arc::new(Inner {
                streams,
                stream,
                options,
            }),
        }
    }

    /// The stream read.
    pub fn stream(&self) -> &TypedStream<M> {
        &self.inner.stream
    }

    /// The options it runs with.
    pub fn options(&self) -> &Options {
        &self.inner.options
    }

    /// Consumes (and trims) until `shutdown` is cancelled, then stops reading, waits for the
    /// messages in flight and returns. Redis failures are logged and retried, never returned.
    pub async fn run<H: Handler<M>>(&self, handler: Arc<H>, shutdown: CancellationToken) -> Tally {
        let span = self.span();
        let mut run = Run::new(self.clone(), handler, false);
        let consuming = run.consume(&shutdown);
        let trimming = self.keep_trimmed(&shutdown);
        async { tokio::join!(consuming, trimming) }
            .instrument(span)
            .await;
        run.tally
    }

    /// Trims the stream and its dead letters once (see [`trim`]).
    pub async fn trim(&self) -> Result<Trimmed, StreamError> {
        let inner = &self.inner;
        let options = &inner.options;
        trim::trim(
            &inner.streams,
            &inner.stream,
            options.retention,
            options.dead_letters_kept,
        )
        .await
    }

    /// Trims every [`Options::trim_every`] until `shutdown` is cancelled. A failure waits for
    /// the next round: the consumer's own reads report Redis's trouble.
    async fn keep_trimmed(&self, shutdown: &CancellationToken) {
        let every = self.inner.options.trim_every;
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = shutdown.cancelled() => return,
            }
            match self.trim().await {
                Ok(trimmed) if trimmed != Trimmed::default() => {
                    tracing::debug!(?trimmed, "trimmed finished entries");
                }
                Ok(_) => {}
                Err(error) => tracing::debug!(%error, "trimming failed; trying again later"),
            }
        }
    }

    /// Handles everything there is now: new entries, and pending ones whose claim idle time
    /// is over (taken over, like dead consumers' entries); returns once a read finds nothing
    /// and the handlers are done. Entries left for a retry are not waited for. For tests; a
    /// Redis failure ends it.
    pub async fn drain<H: Handler<M>>(&self, handler: Arc<H>) -> Result<Tally, StreamError> {
        let span = self.span();
        let mut run = Run::new(self.clone(), handler, true);
        run.consume(&CancellationToken::new())
            .instrument(span)
            .await;
        match run.failure {
            Some(error) => Err(error),
            None => Ok(run.tally),
        }
    }

    fn span(&self) -> tracing::Span {
        let options = &self.inner.options;
        tracing::info_span!("consumer", stream = %self.inner.stream.name(),
            group = %options.group, consumer = %options.consumer)
    }
}
