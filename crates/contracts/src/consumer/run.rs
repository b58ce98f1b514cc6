//! The loop of one [`Consumer::run`] or [`Consumer::drain`]: create the group, fetch as many
//! entries as there are free slots (stale ones first, every so often), hand each to a task of
//! its own ([`super::delivery`]) and settle what the tasks report, pausing after failures.

use super::{delivery, Consumer, Gate, Handler, Tally};
use crate::streams::{Delivery, StreamError};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// The longest pause after Redis or a handler's backing service failed.
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// How one delivery task ended.
pub(super) enum Settled {
    Done,
    Retried,
    Unavailable,
    DeadLettered,
    /// No longer pending: another consumer finished it meanwhile.
    Gone,
    /// Redis failed; the entry stays pending.
    Failed(StreamError),
}

/// A growing pause.
struct Backoff {
    first: Duration,
    next: Duration,
}

impl Backoff {
    fn new(first: Duration) -> Self {
        Self { first, next: first }
    }

    fn next(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(MAX_PAUSE.max(self.first));
        pause
    }

    fn reset(&mut self) {
        self.next = self.first;
    }
}

/// The state of one `run` or `drain`.
pub(super) struct Run<M, H> {
    consumer: Consumer<M>,
    handler: Arc<H>,
    /// Return once a read finds nothing (`drain`).
    until_empty: bool,
    tasks: JoinSet<Settled>,
    pub(super) tally: Tally,
    group_ready: bool,
    next_claim: Instant,
    paused_until: Option<Instant>,
    redis_backoff: Backoff,
    unavailable_backoff: Backoff,
    /// The Redis failure that ended a `drain`.
    pub(super) failure: Option<StreamError>,
}

impl<M: DeserializeOwned + Send + Sync + 'static, H: Handler<M>> Run<M, H> {
    pub(super) fn new(consumer: Consumer<M>, handler: Arc<H>, until_empty: bool) -> Self {
        let backoff = consumer.inner.options.backoff;
        Self {
            consumer,
            handler,
            until_empty,
            tasks: JoinSet::new(),
            tally: Tally::default(),
            group_ready: false,
            next_claim: Instant::now(),
            paused_until: None,
            redis_backoff: Backoff::new(backoff),
            unavailable_backoff: Backoff::new(backoff),
            failure: None,
        }
    }

    pub(super) async fn consume(&mut self, shutdown: &CancellationToken) {
        let concurrency = self.consumer.inner.options.concurrency;
        loop {
            while let Some(done) = self.tasks.try_join_next() {
                self.settle(done);
            }
            if shutdown.is_cancelled() || self.failure.is_some() {
                break;
            }
            if let Some(until) = self.paused_until.filter(|until| *until > Instant::now()) {
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => break,
                    Some(done) = self.tasks.join_next() => self.settle(done),
                    () = tokio::time::sleep_until(until) => self.paused_until = None,
                }
                continue;
            }
            if !self.group_ready {
                self.create_group().await;
                continue;
            }
            if let Some(gate) = self.closed_gate() {
                tracing::info!(
                    reason = gate.closed_because(),
                    "gate closed: taking no entries"
                );
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => break,
                    Some(done) = self.tasks.join_next() => self.settle(done),
                    () = gate.opened() => {
                        tracing::info!("gate open: taking entries again");
                        // What closed the gate is back: no pause for its earlier failures.
                        self.paused_until = None;
                        self.unavailable_backoff.reset();
                    }
                }
                continue;
            }
            let free = concurrency.saturating_sub(self.tasks.len());
            if free == 0 {
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => break,
                    Some(done) = self.tasks.join_next() => self.settle(done),
                }
                continue;
            }
            match self.fetch(free).await {
                Ok((claimed, deliveries)) => {
                    self.redis_backoff.reset();
                    if deliveries.is_empty() && self.until_empty {
                        match self.tasks.join_next().await {
                            Some(done) => self.settle(done),
                            None => break,
                        }
                    }
                    for delivery in deliveries {
                        self.spawn(delivery, claimed);
                    }
                }
                // A service that is stopping closes connections under a read in flight.
                Err(_) if shutdown.is_cancelled() => break,
                Err(error) => self.redis_failed(error),
            }
        }
        if !self.tasks.is_empty() {
            tracing::info!(
                in_flight = self.tasks.len(),
                "stopped reading; finishing the entries in flight"
            );
        }
        while let Some(done) = self.tasks.join_next().await {
            self.settle(done);
        }
    }

    /// The consumer's gate, when it has one and it is closed.
    fn closed_gate(&self) -> Option<Gate> {
        let gate = self.consumer.inner.options.gate.as_ref()?;
        (!gate.is_open()).then(|| gate.clone())
    }

    async fn create_group(&mut self) {
        let inner = &self.consumer.inner;
        let created = inner
            .streams
            .ensure_group(&inner.stream, &inner.options.group, &inner.options.start_id)
            .await;
        match created {
            Ok(()) => {
                self.group_ready = true;
                tracing::debug!("consumer group ready");
            }
            Err(error) => self.redis_failed(error),
        }
    }

    /// Up to `count` entries, and whether they were taken over: stale ones first (every so
    /// often, and always when draining), else new ones.
    async fn fetch(&mut self, count: usize) -> Result<(bool, Vec<Delivery<M>>), StreamError> {
        let inner = &self.consumer.inner;
        let options = &inner.options;
        if self.until_empty || Instant::now() >= self.next_claim {
            self.next_claim = Instant::now() + options.claim_every();
            let stale = inner
                .streams
                .claim_stale(
                    &inner.stream,
                    &options.group,
                    &options.consumer,
                    options.claim_idle,
                    count,
                )
                .await?;
            if !stale.is_empty() {
                tracing::info!(count = stale.len(), "took over stale entries");
                return Ok((true, stale));
            }
        }
        let block = if self.until_empty {
            Duration::ZERO
        } else {
            options.read_block
        };
        let fresh = inner
            .streams
            .read_group(
                &inner.stream,
                &options.group,
                &options.consumer,
                count,
                block,
            )
            .await?;
        Ok((false, fresh))
    }

    fn spawn(&mut self, delivery: Delivery<M>, claimed: bool) {
        let span = tracing::info_span!("entry", id = %delivery.id);
        let task = delivery::process(
            self.consumer.inner.clone(),
            self.handler.clone(),
            delivery,
            claimed,
        );
        self.tasks.spawn(task.instrument(span));
    }

    fn settle(&mut self, done: Result<Settled, tokio::task::JoinError>) {
        match done {
            Ok(Settled::Done) => {
                self.tally.done += 1;
                self.unavailable_backoff.reset();
            }
            Ok(Settled::Retried) => self.tally.retried += 1,
            Ok(Settled::DeadLettered) => self.tally.dead_lettered += 1,
            Ok(Settled::Gone) => {}
            Ok(Settled::Unavailable) => {
                self.tally.unavailable += 1;
                let until = Instant::now() + self.unavailable_backoff.next();
                self.paused_until = Some(self.paused_until.map_or(until, |at| at.max(until)));
            }
            Ok(Settled::Failed(error)) => {
                self.handler.on_stream_error(&error);
                if error.is_missing_group() {
                    self.group_ready = false;
                }
                tracing::error!(%error, "Redis failed while finishing an entry; it stays pending");
            }
            // The entry stays pending; if its handler panics every time, it is dead-lettered
            // once it has been delivered too often.
            Err(error) => tracing::error!(%error, "a handler task failed"),
        }
    }

    fn redis_failed(&mut self, error: StreamError) {
        if error.is_missing_group() {
            // The stream or the group is gone: create it again, at once.
            tracing::warn!(%error, "the consumer group is gone; creating it again");
            self.group_ready = false;
            return;
        }
        self.handler.on_stream_error(&error);
        if self.until_empty {
            self.failure = Some(error);
            return;
        }
        let pause = self.redis_backoff.next();
        tracing::error!(%error, pause_ms = pause.as_millis() as u64, "cannot read the stream; retrying");
        self.paused_until = Some(Instant::now() + pause);
    }
}
