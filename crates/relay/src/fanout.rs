//! The registry of authenticated sockets by user, and the fan-out of each event to the sockets
//! of its user.
//!
//! The stream reader calls [`Fanout::publish`] for every event and never waits: each socket has
//! a bounded queue (a number of events and a byte budget), and a socket whose queue is full is
//! taken out of the registry and told to close as too slow. One slow browser therefore never
//! delays the others, and memory per socket stays bounded. The lock is held only to look up a
//! user's sockets and `try_send` to them, never across an `.await`.

use crate::event::RelayedEvent;
use crate::metrics::Metrics;
use contracts::UserId;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;

/// How much one socket may have queued, and how many sockets one user may hold.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub messages: usize,
    pub bytes: usize,
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
struct Subscriber {
    id: u64,
    sender: mpsc::Sender<Arc<RelayedEvent>>,
    shared: Arc<Shared>,
}

/// What the fan-out and the socket both see.
struct Shared {
    /// Bytes of frames queued and not yet taken by the socket.
    queued_bytes: AtomicUsize,
    /// Cancelled when the socket was dropped for being too slow.
    slow: CancellationToken,
}

/// The socket's end: its queue of events. Dropping it leaves the registry.
pub struct Subscription {
    fanout: Arc<Fanout>,
    user: UserId,
    id: u64,
    receiver: mpsc::Receiver<Arc<RelayedEvent>>,
    shared: Arc<Shared>,
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
        let (sender, receiver) = mpsc::channel(self.limits.messages);
        let shared = Arc::new(Shared {
            queued_bytes: AtomicUsize::new(0),
            slow: CancellationToken::new(),
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let subscriber = Subscriber {
            id,
            sender,
            shared: shared.clone(),
        };
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
            receiver,
            shared,
        })
    }

    /// Queues `event` for every socket of its user without waiting; a socket whose queue is
    /// full is dropped and told to close. Returns how many sockets got it.
    pub fn publish(&self, event: &Arc<RelayedEvent>) -> usize {
        let mut users = self.lock();
        let Some(sockets) = users.get_mut(&event.user) else {
            return 0;
        };
        let size = event.frame.len();
        let budget = self.limits.bytes;
        let mut queued = 0;
        sockets.retain(|socket| {
            let before = socket
                .shared
                .queued_bytes
                .fetch_add(size, Ordering::Relaxed);
            // An event larger than the whole budget still goes to a socket that is keeping up.
            if before > 0 && before + size > budget {
                socket.shared.slow.cancel();
                return false;
            }
            match socket.sender.try_send(event.clone()) {
                Ok(()) => {
                    queued += 1;
                    true
                }
                Err(TrySendError::Full(_)) => {
                    socket.shared.slow.cancel();
                    false
                }
                Err(TrySendError::Closed(_)) => false,
            }
        });
        if sockets.is_empty() {
            users.remove(&event.user);
            self.metrics.connected_users.dec();
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
        let event = self.receiver.recv().await?;
        self.shared
            .queued_bytes
            .fetch_sub(event.frame.len(), Ordering::Relaxed);
        Some(event)
    }

    /// Cancelled when the fan-out drops this socket for being too slow.
    pub fn slow_signal(&self) -> CancellationToken {
        self.shared.slow.clone()
    }

    /// Whether the fan-out dropped this socket for being too slow.
    pub fn is_slow(&self) -> bool {
        self.shared.slow.is_cancelled()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.fanout.unsubscribe(self.user, self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use contracts::{
        AssignmentId, ResultEvent, ResultKind, SubmissionId, Verdict, MESSAGE_VERSION,
    };

    fn fanout(messages: usize, bytes: usize, per_user: usize) -> Arc<Fanout> {
        let limits = Limits {
            messages,
            bytes,
            per_user,
        };
        Arc::new(Fanout::new(
            limits,
            Metrics::new(&http_edge::Metrics::new("relay")),
        ))
    }

    fn event(seq: u64, user: i64, feedback_bytes: usize) -> Arc<RelayedEvent> {
        let event = ResultEvent {
            v: MESSAGE_VERSION,
            submission_id: SubmissionId(seq as i64),
            user_id: UserId(user),
            assignment_id: AssignmentId(1),
            enqueued_at: Utc::now(),
            kind: ResultKind::Graded {
                verdict: Verdict::WrongAnswer,
                tests: testkit::results::outcomes_of_size(feedback_bytes),
                feedback: "x".into(),
                started_at: Utc::now(),
                finished_at: Utc::now(),
            },
        };
        let id = format!("1-{seq}").parse().unwrap();
        Arc::new(RelayedEvent::new(id, &event).unwrap())
    }

    #[tokio::test]
    async fn events_reach_only_the_sockets_of_their_user() {
        let fanout = fanout(8, 1 << 20, 5);
        let mut ada = fanout.subscribe(UserId(1)).unwrap();
        let mut ada_tab = fanout.subscribe(UserId(1)).unwrap();
        let mut bob = fanout.subscribe(UserId(2)).unwrap();

        assert_eq!(fanout.publish(&event(1, 1, 0)), 2);
        assert_eq!(fanout.publish(&event(2, 2, 0)), 1);
        assert_eq!(fanout.publish(&event(3, 3, 0)), 0);

        assert_eq!(ada.recv().await.unwrap().id.to_string(), "1-1");
        assert_eq!(ada_tab.recv().await.unwrap().id.to_string(), "1-1");
        assert_eq!(bob.recv().await.unwrap().id.to_string(), "1-2");
        assert!(ada.receiver.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_full_queue_drops_only_that_socket() {
        let fanout = fanout(2, 1 << 20, 5);
        let slow = fanout.subscribe(UserId(1)).unwrap();
        let mut fast = fanout.subscribe(UserId(1)).unwrap();
        for seq in 0..5 {
            fanout.publish(&event(seq, 1, 0));
            assert_eq!(
                fast.recv().await.unwrap().id.to_string(),
                format!("1-{seq}")
            );
        }
        assert!(slow.is_slow());
        assert!(!fast.is_slow());
        assert_eq!(fanout.sockets(), 1);
        slow.slow_signal().cancelled().await;
    }

    #[tokio::test]
    async fn the_byte_budget_drops_a_socket_that_falls_behind() {
        let fanout = fanout(1000, 10_000, 5);
        let mut reader = fanout.subscribe(UserId(1)).unwrap();
        // One event bigger than the budget still goes to a socket with nothing queued.
        assert_eq!(fanout.publish(&event(0, 1, 20_000)), 1);
        reader.recv().await.unwrap();
        for seq in 1..4 {
            assert_eq!(fanout.publish(&event(seq, 1, 3_000)), 1);
        }
        assert_eq!(
            fanout.publish(&event(4, 1, 3_000)),
            0,
            "over 10 000 bytes queued"
        );
        assert!(reader.is_slow());
    }

    #[tokio::test]
    async fn a_user_may_hold_only_so_many_sockets() {
        let fanout = fanout(8, 1 << 20, 2);
        let first = fanout.subscribe(UserId(1)).unwrap();
        let _second = fanout.subscribe(UserId(1)).unwrap();
        assert_eq!(
            fanout.subscribe(UserId(1)).err(),
            Some(TooManyConnections { limit: 2 })
        );
        drop(first);
        let _third = fanout.subscribe(UserId(1)).unwrap();
    }

    #[tokio::test]
    async fn dropping_a_subscription_unregisters_it() {
        let metrics = Metrics::new(&http_edge::Metrics::new("relay"));
        let limits = Limits {
            messages: 8,
            bytes: 1 << 20,
            per_user: 5,
        };
        let fanout = Arc::new(Fanout::new(limits, metrics.clone()));
        let a = fanout.subscribe(UserId(1)).unwrap();
        let b = fanout.subscribe(UserId(2)).unwrap();
        assert_eq!(metrics.connected_users.get(), 2);
        drop(a);
        drop(b);
        assert_eq!(fanout.sockets(), 0);
        assert_eq!(metrics.connected_users.get(), 0);
    }
}
