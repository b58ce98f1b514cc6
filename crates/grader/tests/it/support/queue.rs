//! The grader's two streams as a test sees them from outside: jobs go onto `submissions`, the
//! grader's events come back on `results`, and what cannot be handled lands on the `:dead`
//! streams. Every wait is bounded.

use anyhow::bail;
use contracts::keys::{API_GROUP, GRADERS_GROUP};
use contracts::messages::DeadLetter;
use contracts::{
    Keys, ResultEvent, ResultKind, Streams, SubmissionId, SubmissionJob, TypedStream, Verdict,
};
use std::time::{Duration, Instant};
use testkit::Scratch;

/// The streams of one test's key prefix.
pub struct Queue {
    pub streams: Streams,
    pub keys: Keys,
}

impl Queue {
    pub fn of(scratch: &Scratch) -> Self {
        Self {
            streams: scratch.streams(),
            keys: scratch.keys(),
        }
    }

    /// Publishes `job`; returns its entry id.
    pub async fn submit(&self, job: &SubmissionJob) -> String {
        self.streams
            .publish(&self.keys.submissions(), job)
            .await
            .expect("publish job")
    }

    /// Publishes `job` and waits (10 s at most) until a grader has taken it up; returns its
    /// entry id.
    pub async fn submit_until_grading(&self, job: &SubmissionJob) -> String {
        let entry = self.submit(job).await;
        self.wait_for(job.submission_id, Duration::from_secs(10), is_grading)
            .await
            .expect("a grader takes the job up");
        entry
    }

    /// Makes Redis lose everything (`FLUSHALL`): only on a Redis of the test's own
    /// ([`testkit::RedisServer`]), never on the one every test shares.
    pub async fn flush_redis(&self) {
        let mut conn = self.streams.pool().get().await.expect("redis connection");
        redis::cmd("FLUSHALL")
            .query_async::<()>(&mut conn)
            .await
            .expect("FLUSHALL");
    }

    /// Appends an entry with a raw payload, as a broken producer would.
    pub async fn submit_raw(&self, payload: &str) -> String {
        let mut conn = self.streams.pool().get().await.expect("redis connection");
        redis::cmd("XADD")
            .arg(self.keys.submissions().name())
            .arg("*")
            .arg("payload")
            .arg(payload)
            .query_async(&mut conn)
            .await
            .expect("XADD")
    }

    /// Publishes `event` on `results`, as a grader would; returns its entry id.
    pub async fn publish_result(&self, event: &ResultEvent) -> String {
        self.streams
            .publish(&self.keys.results(), event)
            .await
            .expect("publish result event")
    }

    /// Every result event so far.
    pub async fn results(&self) -> Vec<ResultEvent> {
        let mut events = Vec::new();
        let mut after = "0-0".to_owned();
        loop {
            let page = self
                .streams
                .range_after(&self.keys.results(), &after, 500)
                .await
                .expect("read results");
            let Some(last) = page.last() else {
                return events;
            };
            after = last.id.clone();
            events.extend(
                page.into_iter()
                    .map(|d| d.message.expect("valid result event")),
            );
        }
    }

    /// Every result event of `submission` so far.
    pub async fn results_of(&self, submission: SubmissionId) -> Vec<ResultEvent> {
        let mut events = self.results().await;
        events.retain(|e| e.submission_id == submission);
        events
    }

    /// Waits up to `within` for an event of `submission` that `wanted` accepts.
    pub async fn wait_for(
        &self,
        submission: SubmissionId,
        within: Duration,
        wanted: impl Fn(&ResultKind) -> bool,
    ) -> anyhow::Result<ResultEvent> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(event) = self
                .results_of(submission)
                .await
                .into_iter()
                .find(|e| wanted(&e.kind))
            {
                return Ok(event);
            }
            if Instant::now() > deadline {
                bail!(
                    "no matching event for submission {submission} within {within:?}; saw {:?}",
                    self.results_of(submission).await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for the verdict of `submission`.
    pub async fn graded(
        &self,
        submission: SubmissionId,
        within: Duration,
    ) -> anyhow::Result<(Verdict, String, ResultEvent)> {
        let event = self.wait_for(submission, within, is_graded).await?;
        match &event.kind {
            ResultKind::Graded {
                verdict, feedback, ..
            } => Ok((*verdict, feedback.to_string(), event.clone())),
            _ => unreachable!("filtered above"),
        }
    }

    /// Every dead letter of `submissions` so far.
    pub async fn dead_letters(&self) -> Vec<DeadLetter> {
        self.letters(self.keys.submissions().dead_letters()).await
    }

    /// Every dead letter of `results` so far.
    pub async fn dead_results(&self) -> Vec<DeadLetter> {
        self.letters(self.keys.results().dead_letters()).await
    }

    async fn letters(&self, stream: TypedStream<DeadLetter>) -> Vec<DeadLetter> {
        self.streams
            .range_after(&stream, "0-0", 1_000)
            .await
            .expect("read dead letters")
            .into_iter()
            .map(|d| d.message.expect("valid dead letter"))
            .collect()
    }

    /// How often job `id` has been delivered (deliveries given back uncounted do not count);
    /// 0 once it is acknowledged.
    pub async fn deliveries(&self, id: &str) -> u64 {
        self.pending_deliveries(id).await.unwrap_or(0)
    }

    /// Whether job `id` is delivered but not acknowledged.
    pub async fn is_pending(&self, id: &str) -> bool {
        self.pending_deliveries(id).await.is_some()
    }

    async fn pending_deliveries(&self, id: &str) -> Option<u64> {
        self.streams
            .delivery_count(&self.keys.submissions(), GRADERS_GROUP, id)
            .await
            .expect("XPENDING")
    }

    /// Whether result event `id` is delivered to an api but not acknowledged.
    pub async fn is_result_pending(&self, id: &str) -> bool {
        self.streams
            .delivery_count(&self.keys.results(), API_GROUP, id)
            .await
            .expect("XPENDING")
            .is_some()
    }

    /// Waits until job `id` is acknowledged. A consumer acknowledges once its handler (and
    /// dead-letter hook) has returned, a moment after the events they publish.
    pub async fn wait_acknowledged(&self, id: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while self.is_pending(id).await {
            assert!(
                Instant::now() < deadline,
                "job {id} still pending after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until result event `id` is acknowledged by an api.
    pub async fn wait_result_acknowledged(&self, id: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while self.is_result_pending(id).await {
            assert!(
                Instant::now() < deadline,
                "result event {id} still pending after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Entries of the submissions stream no grader has finished.
    pub async fn backlog(&self) -> u64 {
        self.streams
            .backlog(&self.keys.submissions(), GRADERS_GROUP)
            .await
            .expect("backlog")
    }

    /// Waits until no entry of the submissions stream is left unacknowledged (see
    /// [`Queue::wait_acknowledged`]).
    pub async fn drained(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while self.backlog().await > 0 {
            assert!(
                Instant::now() < deadline,
                "jobs still pending after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

pub fn is_grading(kind: &ResultKind) -> bool {
    matches!(kind, ResultKind::Grading { .. })
}

pub fn is_graded(kind: &ResultKind) -> bool {
    matches!(kind, ResultKind::Graded { .. })
}

pub fn is_error(kind: &ResultKind) -> bool {
    matches!(kind, ResultKind::Error { .. })
}

/// The reason of an `error` event; empty for other kinds.
pub fn reason_of(kind: &ResultKind) -> &str {
    match kind {
        ResultKind::Error { reason, .. } => reason.as_str(),
        _ => "",
    }
}
