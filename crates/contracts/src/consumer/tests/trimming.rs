//! Trimming by acknowledgement, against the local Redis: finished entries leave the stream,
//! pending and unread ones stay, retention keeps a bounded history, dead letters are capped.

use super::*;
use crate::consumer::trim::{self, Retention};

impl Scratch {
    /// The ids the stream holds, oldest first.
    async fn ids(&self) -> Vec<String> {
        let entries = self.streams.range_after(&self.stream, "0-0", 10_000).await;
        entries.unwrap().into_iter().map(|d| d.id).collect()
    }

    /// Adds `n` under the explicit id `id` (older than anything added with `*`).
    async fn publish_at(&self, id: &str, n: u32) -> String {
        let mut conn = self.streams.pool().get().await.unwrap();
        redis::cmd("XADD")
            .arg(self.stream.name())
            .arg(id)
            .arg("payload")
            .arg(n.to_string())
            .query_async(&mut conn)
            .await
            .unwrap()
    }

    /// Waits until the stream holds exactly `expected`.
    async fn until_ids(&self, expected: &[String], what: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let ids = self.ids().await;
            if ids == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: the stream holds {ids:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Finishes every message but `held`, which it works on until `release` is cancelled.
struct Holding {
    held: u32,
    release: CancellationToken,
}

impl Handler<u32> for Holding {
    type Failure = String;

    async fn handle(&self, received: Received<'_, u32>) -> Outcome<String> {
        if *received.message == self.held {
            self.release.cancelled().await;
        }
        Outcome::Done
    }
}

#[tokio::test]
async fn finished_entries_leave_the_stream_while_pending_and_unread_ones_stay() {
    let scratch = Scratch::new();
    let mut ids = Vec::new();
    for n in 0..10 {
        ids.push(scratch.publish(n).await);
    }
    let release = CancellationToken::new();
    let handler = Arc::new(Holding {
        held: 3,
        release: release.clone(),
    });
    // One slot: 0, 1 and 2 are finished, 3 is in progress, 4 to 9 are not read yet.
    let consumer = scratch.consumer(Options {
        trim_every: Duration::from_millis(50),
        ..scratch.options("one")
    });
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let (consumer, shutdown) = (consumer.clone(), shutdown.clone());
        async move { consumer.run(handler, shutdown).await }
    });
    scratch
        .until_ids(&ids[3..], "the finished entries are trimmed")
        .await;
    // Many trims later, the pending entry and the unread ones are all still there.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(scratch.ids().await, ids[3..]);
    assert_eq!(consumer.trim().await.unwrap(), Trimmed::default());
    assert_eq!(
        scratch.backlog().await,
        7,
        "the group still sees its backlog"
    );

    release.cancel();
    scratch.until_ids(&[], "everything is finished").await;
    assert_eq!(scratch.backlog().await, 0);
    shutdown.cancel();
    assert_eq!(running.await.unwrap().done, 10);
}

#[tokio::test]
async fn an_entry_stays_until_every_group_has_finished_it() {
    let scratch = Scratch::new();
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(scratch.publish(n).await);
    }
    // A second group that has read nothing yet.
    let auditors = Options {
        group: "auditors".to_owned(),
        ..scratch.options("auditor")
    };
    scratch
        .streams
        .ensure_group(&scratch.stream, &auditors.group, "0")
        .await
        .unwrap();
    let workers = scratch.consumer(scratch.options("worker"));
    let done = Scripted::new(|_, _| Outcome::Done);
    assert_eq!(workers.drain(done.clone()).await.unwrap().done, 5);

    assert_eq!(workers.trim().await.unwrap().entries, 0);
    assert_eq!(scratch.ids().await, ids);

    let auditors = scratch.consumer(auditors);
    assert_eq!(auditors.drain(done).await.unwrap().done, 5);
    assert_eq!(workers.trim().await.unwrap().entries, 5);
    assert!(scratch.ids().await.is_empty());
}

#[tokio::test]
async fn a_stream_without_groups_is_left_alone() {
    let scratch = Scratch::new();
    for n in 0..3 {
        scratch.publish(n).await;
    }
    let consumer = scratch.consumer(scratch.options("one"));
    assert_eq!(consumer.trim().await.unwrap(), Trimmed::default());
    assert_eq!(scratch.ids().await.len(), 3);
}

#[tokio::test]
async fn retention_keeps_finished_history_by_age_and_by_count() {
    let scratch = Scratch::new();
    // Five entries from 1970, then ten from now.
    for n in 0..5 {
        scratch.publish_at(&format!("1000-{n}"), n).await;
    }
    let mut recent = Vec::new();
    for n in 5..15 {
        recent.push(scratch.publish(n).await);
    }
    let history = Retention {
        max_age: Duration::from_secs(3600),
        max_entries: 1000,
    };
    let consumer = scratch.consumer(Options {
        retention: history,
        ..scratch.options("one")
    });
    let done = Scripted::new(|_, _| Outcome::Done);
    assert_eq!(consumer.drain(done).await.unwrap().done, 15);

    assert_eq!(consumer.trim().await.unwrap().entries, 5, "the old ones");
    assert_eq!(scratch.ids().await, recent);

    let newest_four = Retention {
        max_entries: 4,
        ..history
    };
    let trimmed = trim::trim(&scratch.streams, &scratch.stream, newest_four, 1000).await;
    assert_eq!(trimmed.unwrap().entries, 6);
    assert_eq!(scratch.ids().await, recent[6..]);
}

#[tokio::test]
async fn the_dead_letter_stream_keeps_only_its_newest_entries() {
    let scratch = Scratch::new();
    let mut garbage = Vec::new();
    for n in 0..5 {
        garbage.push(scratch.publish_raw(&format!("garbage {n}")).await);
    }
    let consumer = scratch.consumer(Options {
        dead_letters_kept: 2,
        ..scratch.options("one")
    });
    let handler = Scripted::new(|_, _| Outcome::Done);
    assert_eq!(consumer.drain(handler).await.unwrap().dead_lettered, 5);
    assert_eq!(scratch.dead_letters().await.len(), 5);

    let trimmed = consumer.trim().await.unwrap();
    assert_eq!((trimmed.entries, trimmed.dead_letters), (5, 3));
    let kept: Vec<String> = scratch
        .dead_letters()
        .await
        .into_iter()
        .map(|letter| letter.original_id)
        .collect();
    assert_eq!(kept, garbage[3..]);
}
