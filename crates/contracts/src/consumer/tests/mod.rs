//! The consumer against the local Redis (`REDIS_URL`, default `redis://127.0.0.1:6379`): each
//! test on a stream under a key prefix of its own, deleted at the end, with claim idle times
//! short enough to see retries happen.

use super::*;
use crate::messages::DeadLetter;
use deadpool_redis::redis;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use tokio::time::Instant;

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A stream of numbers under a prefix of its own; every key under the prefix is deleted on
/// drop, even after a failed assertion.
struct Scratch {
    streams: Streams,
    stream: TypedStream<u32>,
    prefix: String,
}

impl Scratch {
    fn new() -> Self {
        let prefix = format!("test-{}:", uuid::Uuid::new_v4().simple());
        Self {
            streams: Streams::new(crate::redis_pool(&redis_url(), 8).unwrap(), 1000),
            stream: TypedStream::new(format!("{prefix}numbers")),
            prefix,
        }
    }

    fn options(&self, consumer: &str) -> Options {
        Options {
            max_deliveries: 3,
            claim_idle: Duration::from_millis(400),
            read_block: Duration::from_millis(100),
            backoff: Duration::from_millis(50),
            ..Options::new("workers", consumer)
        }
    }

    fn consumer(&self, options: Options) -> Consumer<u32> {
        Consumer::new(self.streams.clone(), self.stream.clone(), options)
    }

    async fn publish(&self, n: u32) -> String {
        self.streams.publish(&self.stream, &n).await.unwrap()
    }

    async fn publish_raw(&self, payload: &str) -> String {
        let mut conn = self.streams.pool().get().await.unwrap();
        redis::cmd("XADD")
            .arg(self.stream.name())
            .arg("*")
            .arg("payload")
            .arg(payload)
            .query_async(&mut conn)
            .await
            .unwrap()
    }

    async fn dead_letters(&self) -> Vec<DeadLetter> {
        let dead = self.stream.dead_letters();
        let letters = self.streams.range_after(&dead, "0-0", 100).await.unwrap();
        letters.into_iter().map(|d| d.message.unwrap()).collect()
    }

    async fn backlog(&self) -> u64 {
        self.streams.backlog(&self.stream, "workers").await.unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let (url, pattern) = (redis_url(), format!("{}*", self.prefix));
        let _ = std::thread::spawn(move || -> redis::RedisResult<()> {
            let mut conn = redis::Client::open(url)?.get_connection()?;
            let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query(&mut conn)?;
            if !keys.is_empty() {
                redis::cmd("DEL").arg(keys).query::<()>(&mut conn)?;
            }
            Ok(())
        })
        .join();
    }
}

type Rule = dyn Fn(u32, usize) -> Outcome<String> + Send + Sync;

/// A handler that answers what `rule` says for the message and the how-manieth call for it
/// this is, after `delay`, and notes what it saw.
struct Scripted {
    rule: Box<Rule>,
    delay: Duration,
    /// Every call: the message and its attempt.
    seen: Mutex<Vec<(u32, u64)>>,
    /// Every dead-letter announcement: the entry id and the cause.
    buried: Mutex<Vec<(String, String)>>,
    /// Redis failures reported.
    stream_errors: AtomicUsize,
}

impl Scripted {
    fn new(rule: impl Fn(u32, usize) -> Outcome<String> + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self {
            rule: Box::new(rule),
            delay: Duration::ZERO,
            seen: Mutex::new(Vec::new()),
            buried: Mutex::new(Vec::new()),
            stream_errors: AtomicUsize::new(0),
        })
    }

    fn slow(delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            rule: Box::new(|_, _| Outcome::Done),
            delay,
            seen: Mutex::new(Vec::new()),
            buried: Mutex::new(Vec::new()),
            stream_errors: AtomicUsize::new(0),
        })
    }

    fn seen(&self) -> Vec<(u32, u64)> {
        self.seen.lock().unwrap().clone()
    }

    fn attempts_of(&self, n: u32) -> Vec<u64> {
        let seen = self.seen();
        seen.iter()
            .filter(|(m, _)| *m == n)
            .map(|(_, a)| *a)
            .collect()
    }

    fn buried(&self) -> Vec<(String, String)> {
        self.buried.lock().unwrap().clone()
    }
}

impl Handler<u32> for Scripted {
    type Failure = String;

    async fn handle(&self, received: Received<'_, u32>) -> Outcome<String> {
        let n = *received.message;
        let calls = {
            let mut seen = self.seen.lock().unwrap();
            seen.push((n, received.attempt));
            seen.iter().filter(|(m, _)| *m == n).count()
        };
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        (self.rule)(n, calls)
    }

    async fn on_dead_letter(
        &self,
        delivery: &Delivery<u32>,
        cause: &DeadEnd<'_, String>,
    ) -> Result<(), String> {
        let entry = (delivery.id.clone(), cause.to_string());
        self.buried.lock().unwrap().push(entry);
        Ok(())
    }

    fn on_stream_error(&self, _: &StreamError) {
        self.stream_errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Waits up to `within` for `done` to hold.
async fn eventually(within: Duration, what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_message_that_always_fails_is_dead_lettered_after_max_deliveries_and_holds_up_nothing() {
    let scratch = Scratch::new();
    let handler = Scripted::new(|n, _| match n {
        0 => Outcome::Retry(format!("message {n} breaks the handler")),
        _ => Outcome::Done,
    });
    let failing = scratch.publish(0).await;
    // One slot: the messages behind the failing one still get it.
    let consumer = scratch.consumer(scratch.options("one"));
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let (handler, shutdown) = (handler.clone(), shutdown.clone());
        async move { consumer.run(handler, shutdown).await }
    });
    eventually(Duration::from_secs(2), "first attempt", || {
        !handler.attempts_of(0).is_empty()
    })
    .await;
    for n in 1..=5 {
        scratch.publish(n).await;
    }

    eventually(Duration::from_secs(2), "the later messages", || {
        (1..=5).all(|n| handler.attempts_of(n) == [1])
    })
    .await;
    assert!(
        handler.attempts_of(0).len() < 3,
        "handled before the failing one was retried to the end: {:?}",
        handler.seen()
    );
    eventually(Duration::from_secs(5), "the dead letter", || {
        handler.buried().len() == 1
    })
    .await;

    assert_eq!(handler.attempts_of(0), [1, 2, 3]);
    let letters = scratch.dead_letters().await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].original_id, failing);
    assert_eq!(letters[0].payload, "0");
    assert_eq!(letters[0].reason, "message 0 breaks the handler");
    assert_eq!(letters[0].attempts, 3);
    assert_eq!(
        handler.buried(),
        [(failing, "message 0 breaks the handler".to_owned())]
    );
    assert_eq!(scratch.backlog().await, 0, "everything is acknowledged");

    shutdown.cancel();
    let tally = running.await.unwrap();
    assert_eq!(
        tally,
        Tally {
            done: 5,
            retried: 2,
            unavailable: 0,
            dead_lettered: 1
        }
    );
}

#[tokio::test]
async fn a_message_given_up_is_dead_lettered_at_once() {
    let scratch = Scratch::new();
    let handler = Scripted::new(|n, _| match n {
        7 => Outcome::GiveUp("runtime `cobol` is unknown".to_owned()),
        _ => Outcome::Done,
    });
    let hopeless = scratch.publish(7).await;
    scratch.publish(8).await;

    let tally = scratch
        .consumer(scratch.options("one"))
        .drain(handler.clone())
        .await
        .unwrap();

    assert_eq!((tally.done, tally.dead_lettered, tally.retried), (1, 1, 0));
    assert_eq!(handler.attempts_of(7), [1]);
    let letters = scratch.dead_letters().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].original_id, hopeless);
    assert_eq!(letters[0].reason, "runtime `cobol` is unknown");
    assert_eq!(letters[0].attempts, 1);
    assert_eq!(handler.buried().len(), 1);
    assert_eq!(scratch.backlog().await, 0);
}

#[tokio::test]
async fn an_undecodable_entry_is_dead_lettered_without_calling_the_handler() {
    let scratch = Scratch::new();
    let handler = Scripted::new(|_, _| Outcome::Done);
    let garbage = scratch.publish_raw("this is not a number").await;
    scratch.publish(1).await;

    let tally = scratch
        .consumer(scratch.options("one"))
        .drain(handler.clone())
        .await
        .unwrap();

    assert_eq!((tally.done, tally.dead_lettered), (1, 1));
    assert_eq!(handler.seen(), [(1, 1)]);
    let letters = scratch.dead_letters().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].original_id, garbage);
    assert_eq!(letters[0].payload, "this is not a number");
    assert!(
        letters[0].reason.starts_with("undecodable entry: "),
        "{letters:?}"
    );
    let buried = handler.buried();
    assert_eq!(buried.len(), 1);
    assert!(buried[0].1.starts_with("undecodable entry"), "{buried:?}");
    assert_eq!(scratch.backlog().await, 0);
}

#[tokio::test]
async fn an_unavailable_handler_does_not_spend_deliveries() {
    let scratch = Scratch::new();
    // More unavailable calls than deliveries allowed: none of them counts.
    let handler = Scripted::new(|_, calls| match calls {
        1..=4 => Outcome::Unavailable("the database is down".to_owned()),
        _ => Outcome::Done,
    });
    let options = Options {
        max_deliveries: 2,
        claim_idle: Duration::from_millis(150),
        ..scratch.options("one")
    };
    let consumer = scratch.consumer(options);
    let entry = scratch.publish(1).await;
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let (handler, shutdown) = (handler.clone(), shutdown.clone());
        async move { consumer.run(handler, shutdown).await }
    });

    eventually(Duration::from_secs(3), "the first delivery", || {
        !handler.seen().is_empty()
    })
    .await;
    // Between deliveries it is pending with its attempt given back.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let pending = scratch
            .streams
            .delivery_count(&scratch.stream, "workers", &entry)
            .await
            .unwrap();
        if pending == Some(0) {
            break;
        }
        assert!(Instant::now() < deadline, "still counted: {pending:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    eventually(Duration::from_secs(10), "handled at last", || {
        handler.seen().len() == 5
    })
    .await;
    shutdown.cancel();
    let tally = running.await.unwrap();
    assert_eq!(handler.attempts_of(1), [1, 1, 1, 1, 1]);
    assert_eq!((tally.unavailable, tally.done), (4, 1));
    assert!(scratch.dead_letters().await.is_empty());
    assert_eq!(scratch.backlog().await, 0);
}

#[tokio::test]
async fn an_entry_delivered_too_often_is_dead_lettered_unhandled() {
    let scratch = Scratch::new();
    let options = scratch.options("survivor");
    let entry = scratch.publish(3).await;
    // A consumer that crashed on it every time: read, never finished, delivered 3 times.
    let streams = &scratch.streams;
    streams
        .ensure_group(&scratch.stream, "workers", "0")
        .await
        .unwrap();
    let read = streams
        .read_group(&scratch.stream, "workers", "crashed", 1, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(read.len(), 1);
    streams
        .set_delivery_count(&scratch.stream, "workers", "crashed", &entry, 3)
        .await
        .unwrap();
    tokio::time::sleep(options.claim_idle + Duration::from_millis(50)).await;

    let handler = Scripted::new(|_, _| Outcome::Done);
    let tally = scratch
        .consumer(options)
        .drain(handler.clone())
        .await
        .unwrap();

    assert_eq!(tally.dead_lettered, 1);
    assert!(handler.seen().is_empty());
    let letters = scratch.dead_letters().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].original_id, entry);
    assert_eq!(letters[0].attempts, 4);
    assert_eq!(
        letters[0].reason,
        "delivered 4 times without being finished (at most 3 allowed)"
    );
    assert_eq!(scratch.backlog().await, 0);
}

#[tokio::test]
async fn a_message_in_progress_is_kept_from_other_consumers() {
    let scratch = Scratch::new();
    let options = |name| Options {
        claim_idle: Duration::from_millis(200),
        ..scratch.options(name)
    };
    // Far longer than the claim idle time.
    let slow = Scripted::slow(Duration::from_millis(1_200));
    let other = Scripted::new(|_, _| Outcome::Done);
    let entry = scratch.publish(1).await;
    let shutdown = CancellationToken::new();
    let first = tokio::spawn({
        let (consumer, handler) = (scratch.consumer(options("first")), slow.clone());
        let shutdown = shutdown.clone();
        async move { consumer.run(handler, shutdown).await }
    });
    eventually(Duration::from_secs(2), "taken by the first", || {
        !slow.seen().is_empty()
    })
    .await;
    let second = tokio::spawn({
        let (consumer, handler) = (scratch.consumer(options("second")), other.clone());
        let shutdown = shutdown.clone();
        async move { consumer.run(handler, shutdown).await }
    });

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    shutdown.cancel();
    let (first, second) = (first.await.unwrap(), second.await.unwrap());
    assert_eq!(slow.seen(), [(1, 1)]);
    assert!(other.seen().is_empty(), "taken over: {:?}", other.seen());
    assert_eq!((first.done, second.done), (1, 0));
    let pending = scratch
        .streams
        .delivery_count(&scratch.stream, "workers", &entry)
        .await
        .unwrap();
    assert_eq!(pending, None, "acknowledged");
}

#[tokio::test]
async fn a_deleted_stream_gets_its_group_back_and_new_messages_are_handled() {
    let scratch = Scratch::new();
    let handler = Scripted::new(|_, _| Outcome::Done);
    let consumer = scratch.consumer(scratch.options("one"));
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let (handler, shutdown) = (handler.clone(), shutdown.clone());
        async move { consumer.run(handler, shutdown).await }
    });
    scratch.publish(1).await;
    eventually(Duration::from_secs(2), "the first message", || {
        handler.seen().len() == 1
    })
    .await;

    // As after FLUSHALL: the stream, its group and everything pending are gone.
    let mut conn = scratch.streams.pool().get().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(scratch.stream.name())
        .query_async(&mut conn)
        .await
        .unwrap();
    scratch.publish(2).await;
    eventually(Duration::from_secs(5), "a message after the loss", || {
        handler.seen().len() == 2
    })
    .await;

    shutdown.cancel();
    let tally = running.await.unwrap();
    assert_eq!(handler.seen(), [(1, 1), (2, 1)]);
    assert_eq!(tally.done, 2);
    assert_eq!(scratch.backlog().await, 0);
}

#[tokio::test]
async fn drain_returns_once_nothing_is_left() {
    let scratch = Scratch::new();
    let handler = Scripted::new(|_, _| Outcome::Done);
    for n in 0..10 {
        scratch.publish(n).await;
    }
    let consumer = scratch.consumer(Options {
        concurrency: 3,
        ..scratch.options("one")
    });

    let tally = tokio::time::timeout(Duration::from_secs(5), consumer.drain(handler.clone()))
        .await
        .expect("drain returns")
        .unwrap();
    assert_eq!(tally.done, 10);
    let mut handled: Vec<u32> = handler.seen().iter().map(|(n, _)| *n).collect();
    handled.sort_unstable();
    assert_eq!(handled, (0..10).collect::<Vec<_>>());
    assert_eq!(scratch.backlog().await, 0);

    let again = consumer.drain(handler.clone()).await.unwrap();
    assert_eq!(again, Tally::default());
}

#[tokio::test]
async fn an_unreachable_redis_is_retried_until_shutdown_and_ends_a_drain() {
    let nowhere = crate::redis_pool("redis://127.0.0.1:1", 1).unwrap();
    let stream = TypedStream::<u32>::new("test-unreachable:numbers".to_owned());
    let options = Options {
        backoff: Duration::from_millis(20),
        ..Options::new("workers", "one")
    };
    let consumer = Consumer::new(Streams::new(nowhere, 10), stream, options);
    let handler = Scripted::new(|_, _| Outcome::Done);

    assert!(consumer.drain(handler.clone()).await.is_err());

    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let (consumer, handler) = (consumer.clone(), handler.clone());
        let shutdown = shutdown.clone();
        async move { consumer.run(handler, shutdown).await }
    });
    eventually(Duration::from_secs(3), "retried", || {
        handler.stream_errors.load(Ordering::Relaxed) >= 4
    })
    .await;
    assert!(
        !running.is_finished(),
        "the loop goes on while Redis is away"
    );
    shutdown.cancel();
    let tally = tokio::time::timeout(Duration::from_secs(2), running)
        .await
        .expect("stops on shutdown")
        .unwrap();
    assert_eq!(tally, Tally::default());
}

#[tokio::test]
async fn a_closed_gate_leaves_entries_unread_until_it_opens() {
    let scratch = Scratch::new();
    let handler = Scripted::new(|_, _| Outcome::Done);
    let gate = Gate::open_now();
    gate.close("the sandbox is down");
    let options = Options {
        gate: Some(gate.clone()),
        ..scratch.options("gated")
    };
    let consumer = scratch.consumer(options);
    let entry = scratch.publish(1).await;
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let (handler, shutdown) = (handler.clone(), shutdown.clone());
        async move { consumer.run(handler, shutdown).await }
    });

    // Longer than a read, a claim-back period and a claim idle time together.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert!(handler.seen().is_empty(), "{:?}", handler.seen());
    let pending = scratch
        .streams
        .delivery_count(&scratch.stream, "workers", &entry)
        .await
        .unwrap();
    assert_eq!(pending, None, "not even delivered");
    assert_eq!(scratch.backlog().await, 1);

    gate.open();
    eventually(Duration::from_secs(2), "handled once open", || {
        handler.seen() == [(1, 1)]
    })
    .await;
    shutdown.cancel();
    assert_eq!(running.await.unwrap().done, 1);
    assert_eq!(scratch.backlog().await, 0);
}

mod trimming;
