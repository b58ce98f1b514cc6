//! The registry of authenticated sockets by user, and the fan-out of each event to the sockets
//! of its user.
//!
//! The stream reader calls [`Fanout::publish`] for every event, in stream order. Each socket
//! has a bounded queue ([`queue`]: a number of events and a byte budget); when a socket's
//! queue is full the reader waits for it to make room, as long as it keeps taking events at a
//! reasonable pace (a queue's worth within the grace period), and otherwise takes it out of
//! the registry and tells it to close as too slow. A burst handed over at once therefore never
//! costs a tab that keeps up its socket, memory per socket stays within its budget, and a slow
//! browser delays the others at most once, by the grace period. The lock is held only to look
//! up or change a user's sockets, never across an `.await`.

mod queue;

pub use queue::QueueLimits;

use crate::event::RelayedEvent;
use crate::metrics::Metrics;
use contracts::UserId;
use queue::Handed;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio_util::sync::CancellationToken;

/// How much one socket may have queued, and how many sockets one user may hold.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub queue: QueueLimits,
    pub per_user: usize,
}

/// Every open subscription, by user.
pub struct Fanout {
    users: Mutex<HashMap<UserId, Vec<Subscriber>>>,
    next_id: AtomicU64,
    limits: Limits,
    metrics: Metrics,
}

/// The fan-out's end of one socket.
#[derive(Clone)]
struct Subscriber {
    id: u64,
    queue: queue::Sender,
}

/// The socket's end: its queue of events. Dropping it leaves the registry.
pub struct Subscription {
    fanout: Arc<Fanout>,
    user: UserId,
    id: u64,
    queue: queue::Receiver,
}

/// The user already holds the maximum number of sockets.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the user already has {limit} sockets open")]
pub struct TooManyConnections {
    pub limit: usize,
}

impl Fanout {
    pub fn new(limits: Limits, metrics: Metrics) -> Self {
        Self {
            users: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            limits,
            metrics,
        }
    }

    /// Registers a socket of `user`; it receives every event of `user` published from now on.
    pub fn subscribe(self: &Arc<Self>, user: UserId) -> Result<Subscription, TooManyConnections> {
        let (sender, receiver) = queue::queue(self.limits.queue);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let subscriber = Subscriber { id, queue: sender };
        match self.lock().entry(user) {
            Entry::Occupied(mut sockets) => {
                if sockets.get().len() >= self.limits.per_user {
                    return Err(TooManyConnections {
                        limit: self.limits.per_user,
                    });
                }
                sockets.get_mut().push(subscriber);
            }
            Entry::Vacant(slot) => {
                slot.insert(vec![subscriber]);
                self.metrics.connected_users.inc();
            }
        }
        Ok(Subscription {
            fanout: self.clone(),
            user,
            id,
            queue: receiver,
        })
    }

    /// Queues `event` for every socket of its user, waiting for a full queue only as long as
    /// its socket keeps up; a socket that does not is dropped and told to close. Returns how
    /// many sockets got it.
    pub async fn publish(&self, event: &Arc<RelayedEvent>) -> usize {
        let sockets = match self.lock().get(&event.user) {
            Some(sockets) => sockets.clone(),
            None => return 0,
        };
        let mut queued = 0;
        for socket in sockets {
            match socket.queue.hand(event, self.limits.queue).await {
                Handed::Queued => queued += 1,
                Handed::TooSlow | Handed::Gone => self.unsubscribe(event.user, socket.id),
            }
        }
        queued
    }

    /// Sockets registered now.
    pub fn sockets(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    fn unsubscribe(&self, user: UserId, id: u64) {
        let mut users = self.lock();
        if let Some(sockets) = users.get_mut(&user) {
            sockets.retain(|socket| socket.id != id);
            if sockets.is_empty() {
                users.remove(&user);
                self.metrics.connected_users.dec();
            }
        }
    }

    /// The registry stays consistent even if a holder panicked: every change is one call.
    fn lock(&self) -> MutexGuard<'_, HashMap<UserId, Vec<Subscriber>>> {
        self.users.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Subscription {
    /// The next queued event; `None` once the fan-out dropped this socket.
    pub async fn recv(&mut self) -> Option<Arc<RelayedEvent>> {
        self.queue.recv().await
    }

    /// Cancelled when the fan-out drops this socket for being too slow.
    pub fn slow_signal(&self) -> CancellationToken {
        self.queue.slow_signal()
    }

    /// Whether the fan-out dropped this socket for being too slow.
    pub fn is_slow(&self) -> bool {
        self.queue.is_slow()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.fanout.unsubscribe(self.user, self.id);
    }
}

#[cfg(test)]
mod tests;
