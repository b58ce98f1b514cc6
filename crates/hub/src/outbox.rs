//! The frames on their way to one document socket, bounded in messages and in bytes.
//!
//! The queue is the socket's HTTP response body ([`OutboxBody`]): actix takes a frame from it
//! only when the connection's write buffer has room, so a frame counts against the budget until
//! the connection takes it, and a client that stops reading makes its queue fill, not the hub's
//! memory grow. A push that would put more than `max_bytes` (or `max_messages`) in the queue is
//! refused, and the socket is closed as too slow (4008). One frame larger than the whole budget
//! (a large document's sync step 2) still goes out when nothing else is queued.
//!
//! A close frame overtakes what is queued and ends the body: whatever was queued is dropped at
//! once (a client resyncs when it reconnects).

use actix_web::web::{Bytes, BytesMut};
use actix_ws::{CloseReason, Message, ProtocolError};
use futures_util::task::AtomicWaker;
use futures_util::Stream;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use tokio_util::codec::Encoder;

/// Why a frame was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The queue holds as much as it may: the client is not reading fast enough.
    Full,
    /// The socket is closing or its connection is gone.
    Closed,
}

#[derive(Default)]
struct Queue {
    frames: VecDeque<Message>,
    bytes: usize,
    /// Set by [`Outbox::close`]: the body's last frame.
    closing: Option<CloseReason>,
    ended: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    /// The body's task, woken when there is something for it.
    waker: AtomicWaker,
    /// Live [`Outbox`] handles; the body ends when the last one goes.
    handles: AtomicUsize,
    max_messages: usize,
    max_bytes: usize,
}

/// The sending side; cheap to clone (the socket keeps one, the document another).
pub struct Outbox {
    shared: Arc<Shared>,
}

/// The receiving side: the socket's response body.
pub struct OutboxBody {
    shared: Arc<Shared>,
    codec: actix_http::ws::Codec,
    done: bool,
}

/// A queue of at most `max_messages` frames and `max_bytes` of payload.
pub fn outbox(max_messages: usize, max_bytes: usize) -> (Outbox, OutboxBody) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue::default()),
        waker: AtomicWaker::new(),
        handles: AtomicUsize::new(1),
        max_messages,
        max_bytes,
    });
    let body = OutboxBody {
        shared: shared.clone(),
        codec: actix_http::ws::Codec::new(),
        done: false,
    };
    (Outbox { shared }, body)
}

impl Outbox {
    /// Queues a binary frame.
    pub fn binary(&self, frame: Bytes) -> Result<(), Refused> {
        self.push(Message::Binary(frame))
    }

    /// Queues a text frame (the project events and class presence sockets speak JSON).
    pub fn text(&self, frame: String) -> Result<(), Refused> {
        self.push(Message::Text(frame.into()))
    }

    pub fn ping(&self) -> Result<(), Refused> {
        self.push(Message::Ping(Bytes::new()))
    }

    pub fn pong(&self, payload: Bytes) -> Result<(), Refused> {
        self.push(Message::Pong(payload))
    }

    fn push(&self, message: Message) -> Result<(), Refused> {
        let size = payload_size(&message);
        let shared = &self.shared;
        {
            let mut queue = lock(&shared.queue);
            if queue.closing.is_some() || queue.ended {
                return Err(Refused::Closed);
            }
            let over_bytes = !queue.frames.is_empty() && queue.bytes + size > shared.max_bytes;
            if over_bytes || queue.frames.len() >= shared.max_messages {
                return Err(Refused::Full);
            }
            queue.bytes += size;
            queue.frames.push_back(message);
        }
        shared.waker.wake();
        Ok(())
    }

    /// Sends `reason` as the last frame, ahead of (and instead of) anything still queued.
    pub fn close(&self, reason: CloseReason) {
        let mut queue = lock(&self.shared.queue);
        if queue.closing.is_none() && !queue.ended {
            queue.frames.clear();
            queue.bytes = 0;
            queue.closing = Some(reason);
        }
        drop(queue);
        self.shared.waker.wake();
    }

    /// Bytes waiting for the connection to take them.
    pub fn queued_bytes(&self) -> usize {
        lock(&self.shared.queue).bytes
    }
}

impl Clone for Outbox {
    fn clone(&self) -> Self {
        self.shared.handles.fetch_add(1, Ordering::AcqRel);
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Nobody can close it any more: end the body after what is queued.
            lock(&self.shared.queue).ended = true;
            self.shared.waker.wake();
        }
    }
}

impl Stream for OutboxBody {
    type Item = Result<Bytes, ProtocolError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        this.shared.waker.register(cx.waker());
        let mut queue = lock(&this.shared.queue);
        let message = if let Some(reason) = queue.closing.take() {
            this.done = true;
            queue.ended = true;
            Message::Close(Some(reason))
        } else if let Some(message) = queue.frames.pop_front() {
            queue.bytes -= payload_size(&message);
            message
        } else if queue.ended {
            this.done = true;
            return Poll::Ready(None);
        } else {
            return Poll::Pending;
        };
        drop(queue);
        let mut encoded = BytesMut::new();
        Poll::Ready(Some(
            this.codec
                .encode(message, &mut encoded)
                .map(|()| encoded.freeze()),
        ))
    }
}

impl Drop for OutboxBody {
    /// The connection is gone: nothing queued will be sent, and nothing more is taken.
    fn drop(&mut self) {
        let mut queue = lock(&self.shared.queue);
        queue.ended = true;
        queue.frames.clear();
        queue.bytes = 0;
    }
}

fn payload_size(message: &Message) -> usize {
    match message {
        Message::Binary(bytes) | Message::Ping(bytes) | Message::Pong(bytes) => bytes.len(),
        Message::Text(text) => text.len(),
        _ => 0,
    }
}

fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    queue
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn frame(size: usize) -> Bytes {
        Bytes::from(vec![7u8; size])
    }

    #[tokio::test]
    async fn bytes_over_the_budget_are_refused_until_the_connection_takes_some() {
        let (outbox, mut body) = outbox(100, 10);
        outbox.binary(frame(6)).unwrap();
        outbox.binary(frame(4)).unwrap();
        assert_eq!(outbox.binary(frame(1)), Err(Refused::Full));
        assert_eq!(outbox.queued_bytes(), 10);
        body.next().await.unwrap().unwrap();
        assert_eq!(outbox.queued_bytes(), 4);
        outbox.binary(frame(6)).unwrap();
    }

    #[tokio::test]
    async fn one_frame_larger_than_the_budget_passes_an_empty_queue() {
        let (outbox, mut body) = outbox(100, 10);
        outbox.binary(frame(50)).unwrap();
        assert_eq!(outbox.binary(frame(1)), Err(Refused::Full));
        let encoded = body.next().await.unwrap().unwrap();
        assert!(encoded.len() > 50, "header and payload");
    }

    #[tokio::test]
    async fn the_message_count_is_bounded_too() {
        let (outbox, _body) = outbox(2, 1000);
        outbox.ping().unwrap();
        outbox.ping().unwrap();
        assert_eq!(outbox.ping(), Err(Refused::Full));
    }

    #[tokio::test]
    async fn a_close_overtakes_the_queue_and_ends_the_body() {
        let (outbox, mut body) = outbox(100, 100);
        outbox.binary(frame(10)).unwrap();
        outbox.close(CloseReason {
            code: actix_ws::CloseCode::from(4008),
            description: Some("too slow".into()),
        });
        assert_eq!(outbox.queued_bytes(), 0, "the queue is dropped at once");
        let close = body.next().await.unwrap().unwrap();
        assert_eq!(close[0], 0x88, "FIN + close opcode");
        assert_eq!(&close[2..4], &4008u16.to_be_bytes());
        assert!(body.next().await.is_none());
        assert_eq!(outbox.binary(frame(1)), Err(Refused::Closed));
    }

    #[tokio::test]
    async fn nothing_is_queued_once_the_connection_dropped_the_body() {
        let (outbox, body) = outbox(100, 100);
        outbox.binary(frame(10)).unwrap();
        drop(body);
        assert_eq!(outbox.queued_bytes(), 0);
        assert_eq!(outbox.binary(frame(1)), Err(Refused::Closed));
    }

    #[tokio::test]
    async fn the_body_ends_after_the_queue_when_every_handle_is_gone() {
        let (outbox, mut body) = outbox(100, 100);
        let other = outbox.clone();
        outbox.binary(frame(3)).unwrap();
        drop(outbox);
        other.binary(frame(3)).unwrap();
        drop(other);
        assert!(body.next().await.is_some());
        assert!(body.next().await.is_some());
        assert!(body.next().await.is_none());
    }
}
