//! One entry, from delivery to acknowledgement: count its deliveries, dead-letter what cannot
//! or may no longer be handled, hand the rest to the handler while keeping the entry claimed,
//! and carry out the handler's [`Outcome`].

use super::run::Settled;
use super::{DeadEnd, Handler, Inner, Outcome, Received};
use crate::messages::{DeadLetter, MESSAGE_VERSION};
use crate::streams::Delivery;
use chrono::Utc;
use std::convert::Infallible;
use std::sync::Arc;

/// Handles `delivery`; `claimed` when it was taken over rather than read new.
pub(super) async fn process<M, H>(
    inner: Arc<Inner<M>>,
    handler: Arc<H>,
    delivery: Delivery<M>,
    claimed: bool,
) -> Settled
where
    M: Send + Sync + 'static,
    H: Handler<M>,
{
    let options = &inner.options;
    // A new entry is on its first delivery; one taken over has been delivered before.
    let attempt = if claimed {
        let count = inner
            .streams
            .delivery_count(&inner.stream, &options.group, &delivery.id)
            .await;
        match count {
            Ok(Some(count)) => count,
            Ok(None) => {
                tracing::info!("no longer pending: another consumer finished it");
                return Settled::Gone;
            }
            Err(error) => return Settled::Failed(error),
        }
    } else {
        1
    };
    let message = match &delivery.message {
        Ok(message) => message,
        Err(problem) => {
            let cause = DeadEnd::Undecodable(problem);
            return bury(&inner, &*handler, &delivery, attempt, cause).await;
        }
    };
    if attempt > options.max_deliveries {
        let cause = DeadEnd::TooManyDeliveries {
            deliveries: attempt,
            max: options.max_deliveries,
        };
        return bury(&inner, &*handler, &delivery, attempt, cause).await;
    }

    let received = Received {
        id: &delivery.id,
        message,
        attempt,
        max_attempts: options.max_deliveries,
    };
    let outcome = tokio::select! {
        outcome = handler.handle(received) => outcome,
        never = keep_claimed(&inner, &delivery.id) => match never {},
    };
    match outcome {
        Outcome::Done => match inner
            .streams
            .ack(&inner.stream, &options.group, &delivery.id)
            .await
        {
            Ok(()) => Settled::Done,
            Err(error) => Settled::Failed(error),
        },
        Outcome::Retry(failure) if attempt >= options.max_deliveries => {
            let cause = DeadEnd::Failed(&failure);
            bury(&inner, &*handler, &delivery, attempt, cause).await
        }
        Outcome::Retry(failure) => {
            tracing::warn!(%failure, attempt, "failed; it stays pending for a retry");
            Settled::Retried
        }
        Outcome::GiveUp(failure) => {
            let cause = DeadEnd::Failed(&failure);
            bury(&inner, &*handler, &delivery, attempt, cause).await
        }
        Outcome::Unavailable(failure) => {
            tracing::warn!(%failure, "the handler is unavailable; this delivery does not count");
            let given_back = inner
                .streams
                .set_delivery_count(
                    &inner.stream,
                    &options.group,
                    &options.consumer,
                    &delivery.id,
                    attempt - 1,
                )
                .await;
            match given_back {
                Ok(()) => Settled::Unavailable,
                Err(error) => Settled::Failed(error),
            }
        }
    }
}

/// Re-claims the entry every so often, so that nobody takes it over while it is handled.
/// Never returns; dropped when the handler is done.
async fn keep_claimed<M>(inner: &Inner<M>, id: &str) -> Infallible {
    let every = inner.options.keep_alive_every();
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let options = &inner.options;
        let renewed = inner
            .streams
            .keep_claimed(&inner.stream, &options.group, &options.consumer, id)
            .await;
        if let Err(error) = renewed {
            tracing::warn!(%error, "could not renew the claim");
        }
    }
}

/// Copies the entry, raw payload and all, to the dead-letter stream, lets the handler tell
/// whoever waits for it, then acknowledges it.
async fn bury<M, H: Handler<M>>(
    inner: &Inner<M>,
    handler: &H,
    delivery: &Delivery<M>,
    attempts: u64,
    cause: DeadEnd<'_, H::Failure>,
) -> Settled {
    let reason = cause.to_string();
    let letter = DeadLetter {
        v: MESSAGE_VERSION,
        original_id: delivery.id.clone(),
        payload: delivery.payload.clone(),
        reason: reason.clone(),
        attempts,
        dead_at: Utc::now(),
    };
    let dead_letters = inner.stream.dead_letters();
    if let Err(error) = inner.streams.publish(&dead_letters, &letter).await {
        return Settled::Failed(error);
    }
    if let Err(failure) = handler.on_dead_letter(delivery, &cause).await {
        tracing::warn!(%failure, reason, "dead-lettered, but not announced; it stays pending");
        return Settled::Retried;
    }
    let acked = inner
        .streams
        .ack(&inner.stream, &inner.options.group, &delivery.id)
        .await;
    match acked {
        Ok(()) => {
            tracing::warn!(reason, attempts, dead_letters = %dead_letters.name(), "dead-lettered");
            Settled::DeadLettered
        }
        Err(error) => Settled::Failed(error),
    }
}
