//! One socket's queue between the reader and the socket's task, bounded in events and in bytes,
//! and the reader's side of it: [`Sender::hand`] queues an event when there is room and
//! otherwise waits for the socket to make some, as long as the socket keeps making progress.
//!
//! A socket is too slow when, after the reader first found its queue full, it takes less than
//! one queue's worth (the byte budget or the event limit) within the grace period and does not
//! empty its queue either. A tab that keeps up therefore never loses its socket because the
//! reader handed it a long burst at once (after falling behind on a busy machine): the reader
//! waits for it instead, at its pace. One that does not keep up costs the reader at most the
//! grace period before it is dropped.

use crate::event::RelayedEvent;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How much one socket may have queued, and how long the reader waits for it to make room.
#[derive(Clone, Copy, Debug)]
pub struct QueueLimits {
    pub messages: usize,
    pub bytes: usize,
    pub grace: Duration,
}

/// What the reader and the socket both see.
struct Shared {
    /// Bytes of frames queued and not yet taken by the socket.
    queued_bytes: AtomicUsize,
    /// Bytes and events the socket has taken from its queue so far: its progress.
    taken_bytes: AtomicU64,
    taken_events: AtomicU64,
    /// How often the socket has emptied its queue.
    emptied: AtomicU64,
    /// Woken whenever the socket takes an event.
    taken: Notify,
    /// Cancelled when the socket was dropped for being too slow.
    slow: CancellationToken,
    /// The reader's note of when it found the queue full, and the socket's progress then.
    full_since: Mutex<Option<Mark>>,
}

/// The socket's progress at one instant.
#[derive(Clone, Copy)]
struct Mark {
    at: Instant,
    bytes: u64,
    events: u64,
    emptied: u64,
}

/// What became of one hand-over.
#[derive(Debug, PartialEq, Eq)]
pub enum Handed {
    Queued,
    /// No room came within the grace period; the socket has been told it is too slow.
    TooSlow,
    /// The socket is gone.
    Gone,
}

/// The reader's end of one socket's queue.
#[derive(Clone)]
pub struct Sender {
    sender: mpsc::Sender<Arc<RelayedEvent>>,
    shared: Arc<Shared>,
}

/// The socket's end of its queue.
pub struct Receiver {
    receiver: mpsc::Receiver<Arc<RelayedEvent>>,
    shared: Arc<Shared>,
}

/// A new, empty queue.
pub fn queue(limits: QueueLimits) -> (Sender, Receiver) {
    let (sender, receiver) = mpsc::channel(limits.messages);
    let shared = Arc::new(Shared {
        queued_bytes: AtomicUsize::new(0),
        taken_bytes: AtomicU64::new(0),
        taken_events: AtomicU64::new(0),
        emptied: AtomicU64::new(0),
        taken: Notify::new(),
        slow: CancellationToken::new(),
        full_since: Mutex::new(None),
    });
    let producer = Sender {
        sender,
        shared: shared.clone(),
    };
    (producer, Receiver { receiver, shared })
}

impl Sender {
    /// Queues `event`, waiting while the queue is full and the socket keeps taking from it;
    /// a socket that stops doing so is told it is too slow.
    pub async fn hand(&self, event: &Arc<RelayedEvent>, limits: QueueLimits) -> Handed {
        let size = event.frame.len();
        loop {
            // Registered before looking, so a take between the look and the wait wakes it.
            let taken = self.shared.taken.notified();
            tokio::pin!(taken);
            taken.as_mut().enable();
            let queued = self.shared.queued_bytes.load(Ordering::Acquire);
            // An event larger than the whole budget still goes to a socket with nothing queued.
            let room = queued == 0 || queued + size <= limits.bytes;
            if room && self.sender.capacity() > 0 {
                // Counted before the socket can take it, so the count never goes below zero.
                self.shared.queued_bytes.fetch_add(size, Ordering::AcqRel);
                match self.sender.try_send(event.clone()) {
                    Ok(()) => return Handed::Queued,
                    Err(TrySendError::Full(_)) => {
                        self.shared.queued_bytes.fetch_sub(size, Ordering::AcqRel);
                    }
                    Err(TrySendError::Closed(_)) => return Handed::Gone,
                }
            }
            let deadline = self.full_deadline(limits);
            if Instant::now() >= deadline {
                self.shared.slow.cancel();
                return Handed::TooSlow;
            }
            tokio::select! {
                () = &mut taken => {}
                () = tokio::time::sleep_until(deadline) => {}
                () = self.sender.closed() => return Handed::Gone,
            }
        }
    }

    /// Until when the reader waits for room: the grace period from when it found the queue
    /// full, started again whenever the socket has since taken a whole queue's worth or
    /// emptied its queue.
    fn full_deadline(&self, limits: QueueLimits) -> Instant {
        let shared = &self.shared;
        let now = Mark {
            at: Instant::now(),
            bytes: shared.taken_bytes.load(Ordering::Acquire),
            events: shared.taken_events.load(Ordering::Acquire),
            emptied: shared.emptied.load(Ordering::Acquire),
        };
        let mut full_since = shared
            .full_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mark = match *full_since {
            Some(mark)
                if now.emptied == mark.emptied
                    && now.bytes - mark.bytes < limits.bytes as u64
                    && now.events - mark.events < limits.messages as u64 =>
            {
                mark
            }
            _ => *full_since.insert(now),
        };
        mark.at + limits.grace
    }
}

impl Receiver {
    /// The next queued event; `None` once the reader's end is gone.
    pub async fn recv(&mut self) -> Option<Arc<RelayedEvent>> {
        let event = self.receiver.recv().await?;
        let size = event.frame.len();
        let shared = &self.shared;
        shared.taken_bytes.fetch_add(size as u64, Ordering::AcqRel);
        shared.taken_events.fetch_add(1, Ordering::AcqRel);
        if shared.queued_bytes.fetch_sub(size, Ordering::AcqRel) == size {
            shared.emptied.fetch_add(1, Ordering::AcqRel);
        }
        shared.taken.notify_waiters();
        Some(event)
    }

    /// Cancelled when the reader drops this socket for being too slow.
    pub fn slow_signal(&self) -> CancellationToken {
        self.shared.slow.clone()
    }

    /// Whether the reader dropped this socket for being too slow.
    pub fn is_slow(&self) -> bool {
        self.shared.slow.is_cancelled()
    }
}
