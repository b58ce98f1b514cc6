//! Class presence: who of a course is online, where (project and file), whether active, typing
//! or idle, whom they follow, and when the others were last seen — over one WebSocket per page,
//! `/hub/courses/{course}/presence` ([`socket`]).
//!
//! Every socket has one *entry* in Redis ([`store`]): a sorted set of entries by expiry, a hash
//! of their JSON, a hash of last-seen times and a version counter per course, each changed by
//! one Lua script that also announces the change, numbered by the version, on one pub/sub
//! channel. Each hub keeps a [`View`] of the courses its sockets watch, loaded from a snapshot
//! and moved forward by the announcements in version order; a gap (a lost announcement, a
//! dropped subscription) loads the snapshot again. Sockets renew their entry every third of
//! `class_presence_ttl_ms`; every hub sweeps the expired entries of the courses it watches every
//! sixth, so a user whose hub died is offline for the others within the time to live and a
//! sweep. A page's tab names its entry (`tab`), so a tab that reconnects (after sleeping, or
//! through another replica) takes its old entry over instead of leaving a ghost, and the old
//! socket, if still open, closes with 4011. A user with several tabs is one person: the entry
//! that changed last says where they are.

pub mod members;
pub mod socket;
pub mod store;

use crate::class::store::{Snapshot, Store};
use contracts::progress::ProgressChanged;
use contracts::{CourseId, FileId, ProjectId, UserId};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Pause before subscribing again after the subscription failed.
const RETRY: Duration = Duration::from_millis(500);
/// Changes waiting for a socket before it is told it lagged (and gets everything again).
const LOCAL_BACKLOG: usize = 1024;

/// What a person is doing, as their page says.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    /// The page is open and in use.
    Active,
    /// Typed in the last few seconds.
    Typing,
    /// No input for a while, or the page is hidden.
    Idle,
}

/// Where a socket's user is: a project they may read, and a file of it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Location {
    pub project_id: ProjectId,
    pub project_owner: UserId,
    pub file_id: Option<FileId>,
    pub path: Option<String>,
    /// The project's owner and members as of the move: with the course's teachers, who may
    /// see where in it the user is.
    pub readers: Vec<UserId>,
}

/// One socket's presence, as stored in Redis.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub user: UserId,
    pub name: String,
    /// The socket that wrote it: a newer socket of the same tab takes the entry over.
    pub socket: String,
    pub location: Option<Location>,
    pub activity: Activity,
    pub following: Option<UserId>,
    /// When it last changed (Unix ms): of a user's tabs, the latest says where they are.
    pub at: i64,
}

/// An announcement on the channel: entry `conn` of `course` was written (or removed: `None`).
#[derive(Clone, Debug, Deserialize)]
pub struct Event {
    pub course: CourseId,
    pub v: u64,
    pub conn: String,
    pub user: UserId,
    pub seen: i64,
    pub entry: Option<Entry>,
}

/// What a socket is told changed in its course.
#[derive(Clone, Copy, Debug)]
pub enum Change {
    /// This user's presence changed.
    User(UserId),
    /// This user's progress in the course changed (a submission was recorded).
    Progress(UserId),
    /// Everything may have changed (a snapshot was loaded).
    Everything,
}

#[derive(Default)]
struct ViewState {
    /// Whether a snapshot was loaded; until then announcements wait in `pending`.
    loaded: bool,
    version: u64,
    /// Each user's entries by their field (a user's sockets are looked up without the others').
    entries: HashMap<UserId, HashMap<String, Entry>>,
    seen: HashMap<UserId, i64>,
    pending: Vec<Event>,
    /// The version the last sweep read: if the view is still behind it at the next sweep, an
    /// announcement was lost and the snapshot is loaded again.
    swept_version: u64,
}

impl ViewState {
    /// Applies the announcement that follows the version held; false if it does not follow.
    fn advance(&mut self, event: Event) -> bool {
        if event.v != self.version + 1 {
            return false;
        }
        self.version = event.v;
        self.seen.insert(event.user, event.seen);
        let mine = self.entries.entry(event.user).or_default();
        match event.entry {
            Some(entry) => mine.insert(event.conn, entry),
            None => mine.remove(&event.conn),
        };
        if mine.is_empty() {
            self.entries.remove(&event.user);
        }
        true
    }
}

/// One course's presence as this hub knows it.
pub struct View {
    pub course: CourseId,
    state: Mutex<ViewState>,
    changes: broadcast::Sender<Change>,
}

/// A user's presence summed up over their entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub entry: Option<Entry>,
    pub tabs: usize,
    pub last_seen: Option<i64>,
}

impl View {
    fn new(course: CourseId) -> Self {
        Self {
            course,
            state: Mutex::new(ViewState::default()),
            changes: broadcast::channel(LOCAL_BACKLOG).0,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    fn lock(&self) -> MutexGuard<'_, ViewState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `user`'s presence: their latest entry and how many tabs they have open.
    pub fn summary(&self, user: UserId) -> Summary {
        let state = self.lock();
        let mine = state.entries.get(&user);
        Summary {
            entry: mine.and_then(|m| m.values().max_by_key(|e| e.at)).cloned(),
            tabs: mine.map_or(0, HashMap::len),
            last_seen: state.seen.get(&user).copied(),
        }
    }

    /// Everyone with an entry or a last-seen time.
    pub fn known_users(&self) -> Vec<UserId> {
        let state = self.lock();
        let mut users: Vec<UserId> = state
            .entries
            .keys()
            .chain(state.seen.keys())
            .copied()
            .collect();
        users.sort_unstable();
        users.dedup();
        users
    }

    /// Applies an announcement in version order; says whether the snapshot must be loaded
    /// again because announcements were missed.
    fn apply(&self, event: Event) -> bool {
        let mut state = self.lock();
        if !state.loaded {
            state.pending.push(event);
            return false;
        }
        if event.v <= state.version {
            return false;
        }
        let user = event.user;
        if !state.advance(event) {
            return true;
        }
        drop(state);
        let _ = self.changes.send(Change::User(user));
        false
    }

    /// Replaces what the view holds with `snapshot`, then applies the announcements that came
    /// while it loaded.
    fn load(&self, snapshot: Snapshot) {
        let mut state = self.lock();
        state.version = snapshot.version;
        state.entries = HashMap::new();
        for (conn, entry) in snapshot.entries {
            state
                .entries
                .entry(entry.user)
                .or_default()
                .insert(conn, entry);
        }
        state.seen = snapshot.seen;
        state.loaded = true;
        let mut pending = std::mem::take(&mut state.pending);
        pending.sort_by_key(|e| e.v);
        for event in pending {
            if event.v > state.version && !state.advance(event) {
                break;
            }
        }
        drop(state);
        let _ = self.changes.send(Change::Everything);
    }
}

/// The views of the courses this hub's sockets watch, and the loops that keep them current.
pub struct Class {
    pub store: Store,
    pool: deadpool_redis::Pool,
    views: Mutex<HashMap<CourseId, Arc<View>>>,
    /// An entry not renewed for this long is swept.
    pub ttl: Duration,
}

impl Class {
    pub fn new(store: Store, pool: deadpool_redis::Pool, ttl: Duration) -> Self {
        Self {
            store,
            pool,
            views: Mutex::default(),
            ttl,
        }
    }

    fn views(&self) -> MutexGuard<'_, HashMap<CourseId, Arc<View>>> {
        self.views
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The course's view, loaded from Redis when this hub did not watch the course yet.
    pub async fn view(self: &Arc<Self>, course: CourseId) -> redis::RedisResult<Arc<View>> {
        let view = self
            .views()
            .entry(course)
            .or_insert_with(|| Arc::new(View::new(course)))
            .clone();
        if !view.lock().loaded {
            self.reload(&view).await?;
        }
        Ok(view)
    }

    async fn reload(&self, view: &View) -> redis::RedisResult<()> {
        let mut redis = self.pool.get().await.map_err(pool_error)?;
        let snapshot = self
            .store
            .snapshot(&mut redis, view.course, now_ms())
            .await?;
        view.load(snapshot);
        Ok(())
    }

    /// Follows the channel until shutdown, subscribing again whenever the subscription drops
    /// (and then loading every view again: announcements may have been missed meanwhile).
    pub async fn listen(self: Arc<Self>, client: redis::Client, shutdown: CancellationToken) {
        let progress_channel = self.store.progress_channel();
        loop {
            let subscribed = async {
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.subscribe(self.store.channel()).await?;
                pubsub.subscribe(self.store.progress_channel()).await?;
                redis::RedisResult::Ok(pubsub)
            };
            let pubsub = tokio::select! {
                () = shutdown.cancelled() => return,
                subscribed = subscribed => subscribed,
            };
            match pubsub {
                Ok(mut pubsub) => {
                    self.reload_all().await;
                    let mut messages = pubsub.on_message();
                    loop {
                        let message = tokio::select! {
                            () = shutdown.cancelled() => return,
                            message = messages.next() => message,
                        };
                        let Some(message) = message else { break };
                        let payload = message.get_payload_bytes();
                        if message.get_channel_name() == progress_channel {
                            if let Some(progress) = ProgressChanged::parse(payload) {
                                self.deliver_progress(progress);
                            }
                        } else if let Some(event) = store::parse(payload) {
                            self.deliver(event).await;
                        }
                    }
                    tracing::warn!("class presence subscription ended; subscribing again");
                }
                Err(error) => tracing::warn!(%error, "cannot subscribe to class presence"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(RETRY) => {}
            }
        }
    }

    async fn deliver(&self, event: Event) {
        let view = self.views().get(&event.course).cloned();
        if let Some(view) = view {
            if view.apply(event) {
                self.reload_logged(&view).await;
            }
        }
    }

    /// Tells the sockets watching the course, if any here do.
    fn deliver_progress(&self, progress: ProgressChanged) {
        let view = self.views().get(&progress.course_id).cloned();
        if let Some(view) = view {
            let _ = view.changes.send(Change::Progress(progress.user_id));
        }
    }

    async fn reload_logged(&self, view: &View) {
        if let Err(error) = self.reload(view).await {
            tracing::warn!(%error, course = %view.course, "cannot load class presence");
        }
    }

    async fn reload_all(&self) {
        let views: Vec<Arc<View>> = self.views().values().cloned().collect();
        for view in views {
            self.reload_logged(&view).await;
        }
    }

    /// Every sixth of the time to live until shutdown: forgets the views no socket watches,
    /// sweeps the expired entries of the others, and reloads a view that fell behind.
    pub async fn sweep(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(self.ttl / 6);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let views: Vec<Arc<View>> = {
                let mut views = self.views();
                views.retain(|_, view| Arc::strong_count(view) > 1);
                views.values().cloned().collect()
            };
            for view in views {
                self.sweep_one(&view).await;
            }
        }
    }

    async fn sweep_one(&self, view: &View) {
        let swept = async {
            let mut redis = self.pool.get().await.map_err(pool_error)?;
            self.store.sweep(&mut redis, view.course, now_ms()).await
        }
        .await;
        match swept {
            Ok(version) => {
                let behind = {
                    let mut state = view.lock();
                    let behind = state.loaded && state.version < state.swept_version;
                    state.swept_version = version;
                    behind
                };
                if behind {
                    self.reload_logged(view).await;
                }
            }
            Err(error) => {
                tracing::warn!(%error, course = %view.course, "cannot sweep class presence")
            }
        }
    }
}

pub fn pool_error(error: deadpool_redis::PoolError) -> redis::RedisError {
    redis::RedisError::from((
        redis::ErrorKind::Io,
        "no Redis connection",
        error.to_string(),
    ))
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
