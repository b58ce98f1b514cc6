//! Whether the platform works, and since when: a fresh submission by the prober until its
//! verdict reaches the prober's relay socket, and at the same time a fresh edit typed on the
//! first hub replica until a reader on the second replica has it (new sockets for every try).
//! Run before each fault (the platform must be healthy to begin with) and after healing it
//! (the time it takes is the phase's recovery).

use super::http::{id, Answer, Http};
use super::peer::{Peer, Received};
use super::relay::RelayWatch;
use super::setup::{Session, ACCEPTED_CODE};
use super::students::submit;
use reqwest::Method;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// A recovery slower than this counts as none.
pub const LIMIT: Duration = Duration::from_secs(60);
const RETRY: Duration = Duration::from_millis(500);
/// Time one edit try has to reach the other replica.
const EDIT_TRY: Duration = Duration::from_secs(5);

pub struct Prober {
    pub api: Http,
    pub relay: Arc<RelayWatch>,
    pub session: Session,
    pub assignment: i64,
    /// The probe document's URL on the first and on the second replica.
    pub document: [String; 2],
    pub tries: AtomicU64,
}

/// How long each half took, `None` for a half that did not succeed within [`LIMIT`].
#[derive(Clone, Copy, Debug)]
pub struct Recovery {
    pub submission: Option<Duration>,
    pub edit: Option<Duration>,
}

impl Recovery {
    /// The time until both worked.
    pub fn total(&self) -> Option<Duration> {
        Some(self.submission?.max(self.edit?))
    }

    /// What did not come back, in words.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.submission.is_none() {
            missing.push("no fresh submission graded (verdict on the relay)");
        }
        if self.edit.is_none() {
            missing.push("no fresh edit reached the other hub replica");
        }
        missing
    }
}

impl Prober {
    pub async fn recover(&self) -> Recovery {
        let start = Instant::now();
        let deadline = start + LIMIT;
        let (submission, edit) = tokio::join!(
            self.graded_submission(deadline),
            self.crossing_edit(deadline)
        );
        Recovery {
            submission: submission.map(|at| at - start),
            edit: edit.map(|at| at - start),
        }
    }

    /// When a submission made from now on got its verdict to the prober.
    async fn graded_submission(&self, deadline: Instant) -> Option<Instant> {
        let id = loop {
            let answer = submit(&self.api, self.assignment, &self.session, ACCEPTED_CODE).await;
            if let Ok(Answer::Ok(json)) = answer {
                break id(&json, "id").ok()?;
            }
            if Instant::now() + RETRY > deadline {
                return None;
            }
            tokio::time::sleep(RETRY).await;
        };
        loop {
            let soon = (Instant::now() + RETRY).min(deadline);
            if let Some(at) = self.relay.graded_at(id, soon).await {
                return Some(at);
            }
            // After a resync the relay will not replay the event; the page asks the api.
            if self.relay.resynced() && self.graded_per_api(id).await {
                return Some(Instant::now());
            }
            if Instant::now() >= deadline {
                return None;
            }
        }
    }

    async fn graded_per_api(&self, id: i64) -> bool {
        let path = format!("/api/submissions/{id}");
        let answer = self
            .api
            .call(Method::GET, &path, Some(&self.session.token), None)
            .await;
        matches!(answer, Ok(Answer::Ok(json)) if json["status"] == "graded")
    }

    /// When an edit typed on the first replica from now on reached a reader on the second.
    async fn crossing_edit(&self, deadline: Instant) -> Option<Instant> {
        while Instant::now() < deadline {
            let n = self.tries.fetch_add(1, Ordering::Relaxed);
            let token = format!("<probe.{n}>");
            let limit = EDIT_TRY.min(deadline - Instant::now());
            if let Ok(Some(at)) = tokio::time::timeout(limit, self.edit_once(&token)).await {
                return Some(at);
            }
            tokio::time::sleep(RETRY.min(deadline.saturating_duration_since(Instant::now()))).await;
        }
        None
    }

    async fn edit_once(&self, token: &str) -> Option<Instant> {
        let mut reader = Peer::pinned(self.document[1].clone());
        let mut writer = Peer::pinned(self.document[0].clone());
        reader.connect().await.ok()?;
        while reader.next().await.ok()? != Received::Synced {}
        writer.connect().await.ok()?;
        writer.type_at_end(token).await;
        let seen = loop {
            tokio::select! {
                received = reader.next() => {
                    received.ok()?;
                    if reader.text().contains(token) {
                        break Instant::now();
                    }
                }
                // The writer must answer the hub's handshake and may be told to go away.
                received = writer.next() => { received.ok()?; }
            }
        };
        reader.close().await;
        writer.close().await;
        Some(seen)
    }
}
