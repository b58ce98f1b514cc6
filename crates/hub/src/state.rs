//! What every request handler and socket of one hub shares.

use crate::live::registry::Registry;
use crate::metrics::Metrics;
use crate::project_events::ProjectEvents;
use crate::settings::Budgets;
use contracts::{FileId, ProjectId, UserId};
use db::DbPool;
use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokens::Verifier;
use tokio_util::sync::CancellationToken;

pub struct AppState {
    pub registry: Arc<Registry>,
    /// The class presence of the courses this hub's sockets watch.
    pub class: Arc<crate::class::Class>,
    /// Membership and file-tree changes: published by the routes, followed for the sockets.
    pub events: Arc<ProjectEvents>,
    pub db: DbPool,
    pub redis: deadpool_redis::Pool,
    pub tokens: Verifier,
    pub metrics: Metrics,
    pub shutdown: CancellationToken,
    pub archive_limits: archive::Limits,
    pub idle_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub max_message_bytes: usize,
    pub budgets: Budgets,
    pub max_connections_per_user: usize,
    /// Open document sockets per user on this hub.
    pub sockets_per_user: Arc<Mutex<HashMap<UserId, usize>>>,
}

/// A Redis connection of one HTTP worker thread, opened on first use from that thread so that
/// its I/O runs there: the sockets of a worker append their edits over it, pipelined, instead
/// of through pooled connections whose I/O may run on another thread.
pub struct WorkerRedis {
    client: redis::Client,
    connection: tokio::sync::OnceCell<ConnectionManager>,
}

impl WorkerRedis {
    pub fn new(client: redis::Client) -> Self {
        Self {
            client,
            connection: tokio::sync::OnceCell::new(),
        }
    }

    /// The worker's connection; it reconnects on its own after Redis comes back.
    pub async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        self.connection
            .get_or_try_init(|| ConnectionManager::new(self.client.clone()))
            .await
            .cloned()
    }
}

/// The document a socket asked for.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub project: ProjectId,
    pub file: FileId,
}

/// One of a user's allowed sockets, given back when dropped.
pub struct UserSlot {
    user: UserId,
    counts: Arc<Mutex<HashMap<UserId, usize>>>,
}

impl AppState {
    /// Takes one of `user`'s sockets, unless they have all they may have.
    pub fn user_slot(&self, user: UserId) -> Option<UserSlot> {
        let mut counts = lock(&self.sockets_per_user);
        let count = counts.entry(user).or_default();
        if *count >= self.max_connections_per_user {
            return None;
        }
        *count += 1;
        Some(UserSlot {
            user,
            counts: self.sockets_per_user.clone(),
        })
    }
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        if let Some(count) = counts.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.user);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
