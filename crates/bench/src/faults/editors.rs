//! The steady load of editors on one phase's document: writers type a token every few hundred
//! milliseconds, half of them starting on each hub replica, and two observers (one per replica)
//! only read. An edit is acknowledged once an observer has it: the hub accepted it and passed
//! it on, so it must survive whatever happens next. Every peer moves to the other replica when
//! it loses its socket and keeps typing meanwhile.

use super::peer::{tokens, Peer, Received};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// Pause before a peer that lost its socket tries again.
const RETRY: Duration = Duration::from_millis(300);
/// Time the observers get after the last edit to see the ones still in flight.
const GRACE: Duration = Duration::from_secs(3);

/// What the phase's editors did.
#[derive(Debug, Default)]
pub struct Edits {
    pub typed: u64,
    pub acknowledged: HashSet<String>,
}

pub struct Editing {
    typed: Arc<AtomicU64>,
    acknowledged: Arc<Mutex<HashSet<String>>>,
    stop_writers: CancellationToken,
    stop_observers: CancellationToken,
    writers: Vec<JoinHandle<()>>,
    observers: Vec<JoinHandle<()>>,
}

impl Editing {
    /// Starts `writers` writers and two observers; `urls(i)` are peer `i`'s document URLs on
    /// the two replicas. Cancelling `stop` stops them all at once (an error's way out);
    /// [`Editing::finish`] stops them in order.
    pub fn start(
        urls: impl Fn(usize) -> [String; 2],
        writers: usize,
        interval: Duration,
        stop: &CancellationToken,
    ) -> Self {
        let editing = Self {
            typed: Arc::default(),
            acknowledged: Arc::default(),
            stop_writers: stop.child_token(),
            stop_observers: stop.child_token(),
            writers: Vec::new(),
            observers: Vec::new(),
        };
        let observers = (0..2)
            .map(|i| {
                let peer = Peer::new(urls(i), i);
                let seen = editing.acknowledged.clone();
                tokio::spawn(observe(peer, seen, editing.stop_observers.clone()))
            })
            .collect();
        let writers = (0..writers)
            .map(|i| {
                let peer = Peer::new(urls(i), i % 2);
                let (typed, stop) = (editing.typed.clone(), editing.stop_writers.clone());
                let first = interval * i as u32 / writers as u32;
                tokio::spawn(write(peer, format!("w{i}"), first, interval, typed, stop))
            })
            .collect();
        Self {
            writers,
            observers,
            ..editing
        }
    }

    /// Stops the writers, gives the observers a moment for edits in flight, stops them.
    pub async fn finish(self) -> Edits {
        self.stop_writers.cancel();
        for writer in self.writers {
            let _ = writer.await;
        }
        tokio::time::sleep(GRACE).await;
        self.stop_observers.cancel();
        for observer in self.observers {
            let _ = observer.await;
        }
        let acknowledged = std::mem::take(&mut *self.acknowledged.lock().expect("not poisoned"));
        Edits {
            typed: self.typed.load(Ordering::Relaxed),
            acknowledged,
        }
    }
}

async fn write(
    mut peer: Peer,
    name: String,
    first: Duration,
    interval: Duration,
    typed: Arc<AtomicU64>,
    stop: CancellationToken,
) {
    let mut ticks = tokio::time::interval_at(Instant::now() + first, interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut retry_at = Instant::now();
    let mut n = 0;
    loop {
        tokio::select! {
            received = peer.next() => if received.is_err() {
                retry_at = Instant::now() + RETRY;
            },
            _ = ticks.tick() => {
                n += 1;
                peer.type_at_end(&format!("<{name}.{n}>")).await;
                typed.fetch_add(1, Ordering::Relaxed);
            }
            () = tokio::time::sleep_until(retry_at), if !peer.is_connected() => {
                if peer.connect().await.is_err() {
                    retry_at = Instant::now() + RETRY;
                }
            }
            () = stop.cancelled() => break,
        }
    }
    peer.close().await;
}

async fn observe(mut peer: Peer, seen: Arc<Mutex<HashSet<String>>>, stop: CancellationToken) {
    let mut retry_at = Instant::now();
    loop {
        tokio::select! {
            received = peer.next() => match received {
                Ok(Received::Other) => {}
                Ok(Received::Synced | Received::Update) => {
                    let text = peer.text();
                    let mut seen = seen.lock().expect("not poisoned");
                    for token in tokens(&text) {
                        if !seen.contains(token) {
                            seen.insert(token.to_owned());
                        }
                    }
                }
                Err(_) => retry_at = Instant::now() + RETRY,
            },
            () = tokio::time::sleep_until(retry_at), if !peer.is_connected() => {
                if peer.connect().await.is_err() {
                    retry_at = Instant::now() + RETRY;
                }
            }
            () = stop.cancelled() => break,
        }
    }
    peer.close().await;
}
