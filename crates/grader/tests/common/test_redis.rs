//! A Redis key prefix of the test's own, with the stream reads and bounded waits tests need.

use super::redis_url;
use anyhow::bail;
use contracts::keys::GRADERS_GROUP;
use contracts::messages::DeadLetter;
use contracts::scratch::ScratchPrefix;
use contracts::{Keys, ResultEvent, ResultKind, Streams, SubmissionId, SubmissionJob, Verdict};
use grader::Settings;
use std::path::Path;
use std::time::{Duration, Instant};

/// One test's Redis: its own prefix, whose keys are deleted when this is dropped.
pub struct TestRedis {
    pub streams: Streams,
    pub keys: Keys,
    _scratch: ScratchPrefix,
}

impl TestRedis {
    pub fn new() -> Self {
        let pool = contracts::redis_pool(&redis_url(), 8).expect("redis pool");
        let scratch = ScratchPrefix::new(&redis_url(), "test");
        Self {
            streams: Streams::new(pool, 10_000),
            keys: Keys::new(scratch.prefix()),
            _scratch: scratch,
        }
    }

    pub fn prefix(&self) -> &str {
        self.keys.prefix()
    }

    /// Settings of a grader on this prefix, with short intervals for tests.
    pub fn settings(&self, sandbox_tag: &str) -> Settings {
        let defaults = format!(
            "{}\nsandbox_tag = \"{sandbox_tag}\"\n",
            grader::settings::DEFAULTS
        );
        let mut settings: Settings = settings::load_from(
            "GRADER_INTEGRATION_TESTS",
            &defaults,
            None,
            Path::new("/nonexistent-secrets-dir"),
        )
        .expect("test settings");
        settings.redis_url = redis_url().into();
        settings.key_prefix = self.prefix().to_owned();
        settings.consumer = Some(format!("test-grader-{}", uuid::Uuid::new_v4().simple()));
        settings.listen = "127.0.0.1:0".to_owned();
        settings.claim_idle_ms = 2_000;
        settings.janitor_interval_ms = 1_000;
        settings
    }

    /// Publishes `job`; returns its entry id.
    pub async fn submit(&self, job: &SubmissionJob) -> String {
        self.streams
            .publish(&self.keys.submissions(), job)
            .await
            .expect("publish job")
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

    /// Every result event so far.
    pub async fn results(&self) -> Vec<ResultEvent> {
        let mut events = Vec::new();
        let mut after = "0-0".to_owned();
        loop {
            let batch = self
                .streams
                .read_after(&self.keys.results(), &after, 500, Duration::from_millis(1))
                .await
                .expect("read results");
            let Some(last) = batch.last() else {
                return events;
            };
            after = last.id.clone();
            events.extend(
                batch
                    .into_iter()
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
        let event = self
            .wait_for(submission, within, |k| {
                matches!(k, ResultKind::Graded { .. })
            })
            .await?;
        match &event.kind {
            ResultKind::Graded {
                verdict, feedback, ..
            } => Ok((*verdict, feedback.clone(), event.clone())),
            _ => unreachable!("filtered above"),
        }
    }

    /// Every dead letter so far.
    pub async fn dead_letters(&self) -> Vec<DeadLetter> {
        self.streams
            .read_after(
                &self.keys.dead_letters(),
                "0-0",
                1_000,
                Duration::from_millis(1),
            )
            .await
            .expect("read dead letters")
            .into_iter()
            .map(|d| d.message.expect("valid dead letter"))
            .collect()
    }

    /// How often entry `id` has been delivered; 0 once it is acknowledged.
    pub async fn deliveries(&self, id: &str) -> u64 {
        self.streams
            .delivery_count(&self.keys.submissions(), GRADERS_GROUP, id)
            .await
            .expect("XPENDING")
    }

    /// Entries of the submissions stream no grader has finished.
    pub async fn backlog(&self) -> u64 {
        self.streams
            .backlog(&self.keys.submissions(), GRADERS_GROUP)
            .await
            .expect("backlog")
    }
}
