//! The consumer loop on the `submissions` stream (group `graders`).
//!
//! A semaphore holds one permit per job slot; the loop reads only as many entries as there are
//! free slots, first taking over entries a dead grader left pending (`XAUTOCLAIM`), then new
//! ones (`XREADGROUP`). Each entry is handled in its own task ([`job`]), which acknowledges
//! it only after its result is on the `results` stream. On shutdown the loop stops reading and
//! waits for the jobs in flight; entries it did not finish stay pending for other graders.

mod dead_letter;
mod job;

use crate::metrics::Metrics;
use crate::sandbox::Sandbox;
use contracts::keys::GRADERS_GROUP;
use contracts::{Delivery, Keys, RuntimeCatalog, Streams, SubmissionJob};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long one `XREADGROUP` blocks; also the longest shutdown waits for the loop itself.
const READ_BLOCK: Duration = Duration::from_secs(1);
/// Pause after Redis failed, before trying again.
const REDIS_BACKOFF: Duration = Duration::from_secs(1);

/// What every job task shares.
pub struct Context {
    pub streams: Streams,
    pub keys: Keys,
    pub consumer: String,
    pub catalog: RuntimeCatalog,
    pub sandbox: Sandbox,
    pub metrics: Metrics,
    pub concurrency: usize,
    pub max_attempts: u64,
    pub claim_idle: Duration,
}

impl Context {
    /// How often a running job's entry is re-claimed: well inside the claim idle time.
    fn keep_claimed_every(&self) -> Duration {
        (self.claim_idle / 4).max(Duration::from_millis(100))
    }

    /// How often the loop looks for stale entries of dead graders.
    fn claim_every(&self) -> Duration {
        (self.claim_idle / 2).max(Duration::from_millis(250))
    }
}

/// Consumes jobs until `shutdown`, then waits for the jobs in flight.
pub async fn consume(ctx: Arc<Context>, shutdown: CancellationToken) {
    if !ensure_group(&ctx, &shutdown).await {
        return;
    }
    tracing::info!(consumer = %ctx.consumer, slots = ctx.concurrency, "consuming submissions");
    let slots = Arc::new(Semaphore::new(ctx.concurrency));
    let mut jobs = JoinSet::new();
    let mut next_claim = Instant::now();
    while !shutdown.is_cancelled() {
        while let Some(done) = jobs.try_join_next() {
            log_panic(done);
        }
        let mut permits = tokio::select! {
            _ = shutdown.cancelled() => break,
            permits = free_slots(&slots) => permits,
        };
        let deliveries = match next_deliveries(&ctx, permits.len(), &mut next_claim).await {
            Ok(deliveries) => deliveries,
            Err(e) => {
                ctx.metrics.failure("redis");
                tracing::error!(error = %e, "cannot read the submissions stream");
                drop(permits);
                sleep_unless(&shutdown, REDIS_BACKOFF).await;
                continue;
            }
        };
        for delivery in deliveries {
            let Some(permit) = permits.pop() else {
                // Never happens: we never ask for more entries than we hold permits.
                tracing::error!(entry = %delivery.id, "read more entries than free slots");
                break;
            };
            jobs.spawn(job::handle(ctx.clone(), delivery, permit, shutdown.clone()));
        }
    }
    tracing::info!(
        in_flight = jobs.len(),
        "stopped reading; finishing jobs in flight"
    );
    while let Some(done) = jobs.join_next().await {
        log_panic(done);
    }
    tracing::info!("all jobs finished");
}

/// Creates the consumer group (from the start of the stream, so nothing enqueued before the
/// first grader started is missed), retrying while Redis is unreachable.
async fn ensure_group(ctx: &Context, shutdown: &CancellationToken) -> bool {
    let stream = ctx.keys.submissions();
    loop {
        match ctx.streams.ensure_group(&stream, GRADERS_GROUP, "0").await {
            Ok(()) => return true,
            Err(e) => {
                ctx.metrics.failure("redis");
                tracing::error!(error = %e, "cannot create the graders group; retrying");
            }
        }
        if !sleep_unless(shutdown, REDIS_BACKOFF).await {
            return false;
        }
    }
}

/// Waits for one free slot, then takes every other free one as well.
async fn free_slots(slots: &Arc<Semaphore>) -> Vec<OwnedSemaphorePermit> {
    let Ok(first) = slots.clone().acquire_owned().await else {
        return Vec::new(); // the semaphore is never closed
    };
    let mut permits = vec![first];
    while let Ok(more) = slots.clone().try_acquire_owned() {
        permits.push(more);
    }
    permits
}

/// Up to `count` entries: stale ones first (every so often), else new ones.
async fn next_deliveries(
    ctx: &Context,
    count: usize,
    next_claim: &mut Instant,
) -> Result<Vec<Delivery<SubmissionJob>>, contracts::StreamError> {
    let stream = ctx.keys.submissions();
    if Instant::now() >= *next_claim {
        *next_claim = Instant::now() + ctx.claim_every();
        let stale = ctx
            .streams
            .claim_stale(&stream, GRADERS_GROUP, &ctx.consumer, ctx.claim_idle, count)
            .await?;
        if !stale.is_empty() {
            tracing::info!(count = stale.len(), "took over stale jobs");
            return Ok(stale);
        }
    }
    ctx.streams
        .read_group(&stream, GRADERS_GROUP, &ctx.consumer, count, READ_BLOCK)
        .await
}

/// Sleeps for `pause` unless shutdown comes first; returns whether to carry on.
async fn sleep_unless(shutdown: &CancellationToken, pause: Duration) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = tokio::time::sleep(pause) => true,
    }
}

fn log_panic(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done {
        tracing::error!(error = %e, "a job task failed");
    }
}
