//! The steady load of submissions: each student submits every few seconds whatever happens to
//! the platform, right and wrong answers in turn, and every answer is remembered (the id the
//! api gave, or the refusal, or that no answer came). What became of the submissions is read
//! from Postgres and the results stream afterwards ([`super::check`]).

use super::http::{id, Answer, Http};
use super::setup::{Session, ACCEPTED_CODE, WRONG_CODE};
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// What the students' requests got.
#[derive(Debug, Default)]
pub struct Attempts {
    /// Ids of the submissions the api accepted.
    pub accepted: Vec<i64>,
    /// Refusals by status (429, 503, …).
    pub refused: BTreeMap<u16, u64>,
    /// Requests that got no answer at all.
    pub unanswered: u64,
}

impl fmt::Display for Attempts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "students' requests: {} accepted", self.accepted.len())?;
        for (status, n) in &self.refused {
            write!(f, ", {n} refused with {status}")?;
        }
        write!(f, ", {} unanswered", self.unanswered)
    }
}

/// Submits as every student, each every `interval` (staggered), until `stop`.
pub async fn submit_steadily(
    api: Http,
    assignment: i64,
    students: Vec<Session>,
    interval: Duration,
    stop: CancellationToken,
) -> Attempts {
    let attempts = Arc::new(Mutex::new(Attempts::default()));
    let count = students.len() as u32;
    let tasks: Vec<_> = students
        .into_iter()
        .enumerate()
        .map(|(i, student)| {
            let phase = interval * i as u32 / count;
            let (api, attempts, stop) = (api.clone(), attempts.clone(), stop.clone());
            tokio::spawn(async move {
                let start = tokio::time::Instant::now() + phase;
                let mut ticks = tokio::time::interval_at(start, interval);
                ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
                for n in 0.. {
                    tokio::select! {
                        _ = ticks.tick() => {}
                        () = stop.cancelled() => return,
                    }
                    let code = if (n + i) % 2 == 0 {
                        ACCEPTED_CODE
                    } else {
                        WRONG_CODE
                    };
                    let answer = submit(&api, assignment, &student, code).await;
                    record(&attempts, answer);
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    let attempts = std::mem::take(&mut *attempts.lock().expect("not poisoned"));
    attempts
}

/// One submission; its id if the api accepted it.
pub async fn submit(
    api: &Http,
    assignment: i64,
    student: &Session,
    code: &str,
) -> anyhow::Result<Answer> {
    api.call(
        Method::POST,
        &format!("/api/assignments/{assignment}/submissions"),
        Some(&student.token),
        Some(&json!({"code": code})),
    )
    .await
}

fn record(attempts: &Mutex<Attempts>, answer: anyhow::Result<Answer>) {
    let mut attempts = attempts.lock().expect("not poisoned");
    match answer {
        Ok(Answer::Ok(json)) => match id(&json, "id") {
            Ok(id) => attempts.accepted.push(id),
            Err(_) => attempts.unanswered += 1,
        },
        Ok(Answer::Refused { status, .. }) => *attempts.refused.entry(status).or_default() += 1,
        Err(_) => attempts.unanswered += 1,
    }
}
