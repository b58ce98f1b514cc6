//! The documents open on this hub. Opening reads Postgres and then the log after the state
//! Postgres holds; syncing writes changed documents back (debounced) and trims the log;
//! documents nobody has had open for a while are synced, dropped from memory and, once
//! Postgres covers their whole log, from Redis. A sync Postgres refuses is retried with
//! backoff (`sync_retry_min_ms` doubling up to `sync_retry_max_ms`), never every tick, and
//! until it succeeds the document stays loaded and its log stays in Redis, so no edit is lost
//! whatever the cause turns out to be. Presence nobody renewed is swept here too.

use super::document::{encode, Force, LiveDocument, Peer, PeerId};
use super::log::{Change, DocumentLog};
use crate::close::Close;
use crate::metrics::Metrics;
use crate::store::documents::{self, Saved};
use contracts::{FileId, ProjectId};
use db::DbPool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// How many log entries one read fetches while catching up.
const CATCH_UP_PAGE: usize = 1000;

/// Timings of the background work.
#[derive(Clone, Debug)]
pub struct Timings {
    pub sync_quiet: Duration,
    pub sync_max_delay: Duration,
    pub trim_after_ms: u64,
    pub unload_after: Duration,
    pub sync_retry_min: Duration,
    pub sync_retry_max: Duration,
    /// Presence not renewed for this long is removed.
    pub presence_timeout: Duration,
}

/// Why a document could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("no such document")]
    NotFound,
    #[error("storage unavailable: {0}")]
    Storage(String),
}

type Slot = Arc<OnceCell<Arc<LiveDocument>>>;

pub struct Registry {
    slots: Mutex<HashMap<FileId, Slot>>,
    log: DocumentLog,
    db: DbPool,
    metrics: Metrics,
    timings: Timings,
}

impl Registry {
    pub fn new(log: DocumentLog, db: DbPool, metrics: Metrics, timings: Timings) -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            log,
            db,
            metrics,
            timings,
        }
    }

    pub fn log(&self) -> &DocumentLog {
        &self.log
    }

    /// Opens file `file` of `project` (loading it if this hub does not have it) and adds `peer`.
    pub async fn join(
        &self,
        project: ProjectId,
        file: FileId,
        peer: Peer,
    ) -> Result<(Arc<LiveDocument>, PeerId), OpenError> {
        loop {
            let slot = self
                .lock()
                .entry(file)
                .or_insert_with(|| Arc::new(OnceCell::new()))
                .clone();
            let mut loaded_here = false;
            let loaded = slot
                .get_or_try_init(|| {
                    loaded_here = true;
                    self.load(project, file)
                })
                .await;
            let document = match loaded {
                Ok(document) => {
                    if loaded_here {
                        self.metrics.open_documents.inc();
                        // Only now does `loaded()` list it for the follower.
                        self.log.wake_follower().await;
                    }
                    document.clone()
                }
                Err(error) => {
                    self.forget_if(file, &slot);
                    return Err(error);
                }
            };
            if document.project != project {
                return Err(OpenError::NotFound);
            }
            // Joining under the lock that unloading takes: a document is never unloaded
            // between being found and being joined.
            let slots = self.lock();
            if slots
                .get(&file)
                .is_some_and(|held| Arc::ptr_eq(held, &slot))
            {
                let id = document.join(peer);
                return Ok((document, id));
            }
        }
    }

    async fn load(&self, project: ProjectId, file: FileId) -> Result<Arc<LiveDocument>, OpenError> {
        let mut conn = self
            .db
            .get()
            .await
            .map_err(|e| OpenError::Storage(e.to_string()))?;
        let stored = documents::load(&mut conn, project, file)
            .await
            .map_err(|e| OpenError::Storage(e.to_string()))?
            .ok_or(OpenError::NotFound)?;
        drop(conn);
        let document = LiveDocument::restore(
            file,
            stored.project,
            stored.state.as_deref(),
            stored.covered,
        )
        .map_err(|e| OpenError::Storage(format!("stored document unreadable: {e}")))?;
        loop {
            let entries = self
                .log
                .read_after(file, document.applied(), CATCH_UP_PAGE)
                .await
                .map_err(|e| OpenError::Storage(e.to_string()))?;
            let Some(last) = entries.last().map(|entry| entry.id) else {
                break;
            };
            for entry in &entries {
                match &entry.change {
                    Change::Update(update) => {
                        if let Err(error) = document.apply_logged(update) {
                            tracing::warn!(%file, id = %entry.id, %error, "skipping bad log entry");
                        }
                    }
                    // Presence is not in the log (older hubs put it there); it is stale anyway.
                    Change::Awareness(_) => {}
                    Change::Deleted => return Err(OpenError::NotFound),
                }
            }
            document.advance(last);
        }
        Ok(Arc::new(document))
    }

    /// File `file` of `project` as it is now, to read: the document loaded here, or else one
    /// restored from Postgres and the log for this one read (and not kept).
    pub async fn current(
        &self,
        project: ProjectId,
        file: FileId,
    ) -> Result<Arc<LiveDocument>, OpenError> {
        match self.get(file) {
            Some(document) if document.project == project => Ok(document),
            Some(_) => Err(OpenError::NotFound),
            None => self.load(project, file).await,
        }
    }

    /// The documents loaded now.
    pub fn loaded(&self) -> Vec<Arc<LiveDocument>> {
        self.lock()
            .values()
            .filter_map(|slot| slot.get().cloned())
            .collect()
    }

    pub fn get(&self, file: FileId) -> Option<Arc<LiveDocument>> {
        self.lock().get(&file).and_then(|slot| slot.get().cloned())
    }

    /// The file is gone: its sockets are closed and the document dropped.
    pub async fn evict(&self, file: FileId) {
        let removed = self.lock().remove(&file);
        if let Some(document) = removed.and_then(|slot| slot.get().cloned()) {
            document.close_all(Close::NoSuchDocument);
            self.metrics.open_documents.dec();
            self.log.wake_follower().await;
        }
    }

    /// Writes every document whose changes are due (all changed ones with `force`).
    pub async fn sync_due(&self, force: Force) {
        let loaded = self.loaded();
        for document in &loaded {
            self.sync(document, force).await;
        }
        let failing = loaded.iter().filter(|d| d.sync_failing()).count();
        self.metrics.documents_sync_failing.set(failing as i64);
    }

    /// Removes presence nobody renewed and tells the local sockets.
    pub fn sweep_presence(&self) {
        for document in self.loaded() {
            if let Some(gone) = document.sweep_presence(self.timings.presence_timeout) {
                document.broadcast(&encode(&yrs::sync::Message::Awareness(gone)), None);
            }
        }
    }

    /// Syncs, then drops documents nobody on this hub has had open for the unload delay.
    pub async fn unload_idle(&self) {
        let now = Instant::now();
        let idle = self.loaded().into_iter().filter(|document| {
            document
                .idle_since()
                .is_some_and(|since| now.duration_since(since) >= self.timings.unload_after)
        });
        for document in idle.collect::<Vec<_>>() {
            self.sync(&document, Force::UnlessRetrying).await;
            if document.has_unsynced_changes() {
                continue;
            }
            let removed = {
                let mut slots = self.lock();
                let still_idle = document.connections() == 0;
                still_idle && slots.remove(&document.file).is_some()
            };
            if !removed {
                continue;
            }
            self.metrics.open_documents.dec();
            self.log.wake_follower().await;
            // Another replica may still append; the script then keeps the log.
            if let Err(error) = self
                .log
                .drop_if_covered(document.file, document.applied())
                .await
            {
                tracing::warn!(file = %document.file, %error, "cannot drop the log");
            }
        }
    }

    async fn sync(&self, document: &LiveDocument, force: Force) {
        let timings = &self.timings;
        let Some(snapshot) = document.snapshot_if_due(
            Instant::now(),
            timings.sync_quiet,
            timings.sync_max_delay,
            force,
        ) else {
            return;
        };
        let saved = match self.db.get().await {
            Ok(mut conn) => documents::save(&mut conn, document.file, snapshot.stored())
                .await
                .map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        match saved {
            Ok(Saved::Written) => {
                self.metrics
                    .sync_lag
                    .observe(snapshot.changed_since.elapsed().as_secs_f64());
                document.synced(&snapshot);
                if let Err(error) = self
                    .log
                    .trim(document.file, snapshot.covered, timings.trim_after_ms)
                    .await
                {
                    tracing::warn!(file = %document.file, %error, "cannot trim the log");
                }
            }
            Ok(Saved::Superseded) => document.synced(&snapshot),
            Ok(Saved::Gone) => {
                document.synced(&snapshot);
                self.evict(document.file).await;
            }
            Err(error) => {
                self.metrics
                    .storage_errors
                    .with_label_values(&["sync"])
                    .inc();
                let (failures, wait) = document.sync_failed(
                    Instant::now(),
                    timings.sync_retry_min,
                    timings.sync_retry_max,
                );
                tracing::warn!(
                    file = %document.file,
                    %error,
                    failures,
                    retry_in_ms = wait.as_millis() as u64,
                    "cannot sync to Postgres; the log keeps every edit until a retry succeeds"
                );
            }
        }
    }

    fn forget_if(&self, file: FileId, slot: &Slot) {
        let mut slots = self.lock();
        if slots.get(&file).is_some_and(|held| Arc::ptr_eq(held, slot)) && slot.get().is_none() {
            slots.remove(&file);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<FileId, Slot>> {
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
