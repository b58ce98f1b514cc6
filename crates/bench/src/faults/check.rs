//! What a phase did to the work it was given, read from the record once the load has stopped.
//!
//! Submissions: every row the phase created (ids above the highest one before it), by
//! whomever the api answered or not, must reach `graded` with the verdict its code deserves
//! (a wrong verdict, `error`, or still `queued`/`grading` after the drain counts as lost); and
//! the results stream must hold exactly one `graded` event for it: a second one means a grader
//! ran it again to the end and the student was told twice.
//!
//! Edits: every acknowledged token must be in the document's text in Postgres (once the hubs
//! have synced) and at a late joiner on each replica.

use super::peer::{late_join, tokens};
use super::setup::expected_verdict;
use contracts::{Keys, ResultKind, Streams};
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;
use tokio::time::Instant;

/// Time the grader gets after the load stopped to finish what is queued; a job held by a
/// killed grader is taken over after `claim_idle_ms` (15 s), and a few retries fit too.
const DRAIN: Duration = Duration::from_secs(90);
/// Time the hubs get to write acknowledged edits to Postgres (`sync_max_delay_ms` is 10 s).
const SYNC: Duration = Duration::from_secs(30);
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(500);

#[derive(QueryableByName)]
struct Highest {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Text>)]
    verdict: Option<String>,
    #[diesel(sql_type = Text)]
    code: String,
}

#[derive(QueryableByName)]
struct Content {
    #[diesel(sql_type = Text)]
    content: String,
}

/// The submissions of one phase.
#[derive(Debug, Default)]
pub struct SubmissionCount {
    pub sent: u64,
    pub graded: u64,
    pub twice: u64,
    /// How the lost ones ended (`queued`, `error`, `graded internal_error`, …) and how many.
    pub lost_as: BTreeMap<String, u64>,
}

impl SubmissionCount {
    pub fn lost(&self) -> u64 {
        self.sent - self.graded
    }
}

/// The highest submission id so far (0 for none).
pub async fn highest_submission(database_url: &str) -> anyhow::Result<i64> {
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    let highest: Highest = diesel::sql_query("SELECT coalesce(max(id), 0) AS id FROM submissions")
        .get_result(&mut conn)
        .await?;
    Ok(highest.id)
}

/// Waits until the submissions with ids in `after..=upto` are finished (or the drain is
/// over), then counts them.
pub async fn submissions(
    database_url: &str,
    redis_url: &str,
    after: i64,
    upto: i64,
) -> anyhow::Result<SubmissionCount> {
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    let deadline = Instant::now() + DRAIN;
    let rows = loop {
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT status, verdict, code FROM submissions WHERE id > $1 AND id <= $2",
        )
        .bind::<BigInt, _>(after)
        .bind::<BigInt, _>(upto)
        .load(&mut conn)
        .await?;
        let unfinished = rows
            .iter()
            .any(|row| matches!(row.status.as_str(), "queued" | "grading"));
        if !unfinished || Instant::now() >= deadline {
            break rows;
        }
        tokio::time::sleep(POLL).await;
    };
    let graded_events = graded_events(redis_url, after, upto).await?;
    let mut count = SubmissionCount {
        sent: rows.len() as u64,
        twice: graded_events.values().filter(|&&n| n > 1).count() as u64,
        ..SubmissionCount::default()
    };
    for row in rows {
        let expected = expected_verdict(&row.code);
        match (row.status.as_str(), row.verdict.as_deref()) {
            ("graded", Some(verdict)) if verdict == expected => count.graded += 1,
            (status, verdict) => {
                let how = match verdict {
                    Some(verdict) => format!("{status} {verdict} (expected {expected})"),
                    None => status.to_owned(),
                };
                *count.lost_as.entry(how).or_default() += 1;
            }
        }
    }
    Ok(count)
}

/// `graded` events on the results stream per submission with an id in `after..=upto`.
async fn graded_events(
    redis_url: &str,
    after: i64,
    upto: i64,
) -> anyhow::Result<HashMap<i64, u64>> {
    let streams = Streams::new(contracts::redis_pool(redis_url, 1)?, 100_000);
    let results = Keys::new("cp:").results();
    let mut counts = HashMap::new();
    let mut cursor = "0-0".to_owned();
    loop {
        let page = streams.range_after(&results, &cursor, 1000).await?;
        let Some(last) = page.last() else {
            return Ok(counts);
        };
        cursor = last.id.clone();
        for delivery in page {
            let Ok(event) = delivery.message else {
                continue;
            };
            let id = event.submission_id.0;
            if matches!(event.kind, ResultKind::Graded { .. }) && id > after && id <= upto {
                *counts.entry(id).or_default() += 1;
            }
        }
    }
}

/// The acknowledged tokens missing from Postgres or from a late joiner on either replica,
/// and a note for each place that misses some.
pub async fn lost_edits(
    database_url: &str,
    file: i64,
    acknowledged: &HashSet<String>,
    joiners: [String; 2],
) -> anyhow::Result<(HashSet<String>, Vec<String>)> {
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    let deadline = Instant::now() + SYNC;
    let stored = loop {
        let content: Content = diesel::sql_query("SELECT content FROM project_files WHERE id = $1")
            .bind::<BigInt, _>(file)
            .get_result(&mut conn)
            .await?;
        let complete = acknowledged
            .iter()
            .all(|token| content.content.contains(token.as_str()));
        if complete || Instant::now() >= deadline {
            break content.content;
        }
        tokio::time::sleep(POLL).await;
    };
    let mut texts = vec![("from Postgres".to_owned(), Ok(stored))];
    for (replica, url) in joiners.into_iter().enumerate() {
        let place = format!("at a late joiner on hub-{replica}");
        texts.push((place, late_join(url, JOIN_TIMEOUT).await));
    }
    let mut lost = HashSet::new();
    let mut notes = Vec::new();
    for (place, text) in texts {
        let text = match text {
            Ok(text) => text,
            Err(error) => {
                notes.push(format!("no text {place}: {error:#}"));
                lost.extend(acknowledged.iter().cloned());
                continue;
            }
        };
        let present = tokens(&text);
        let missing: Vec<&String> = acknowledged
            .iter()
            .filter(|token| !present.contains(token.as_str()))
            .collect();
        if !missing.is_empty() {
            notes.push(format!(
                "{} acknowledged edits missing {place}",
                missing.len()
            ));
            lost.extend(missing.into_iter().cloned());
        }
    }
    Ok((lost, notes))
}
