//! Project events on the hub's side: the HTTP handlers that change a membership or a file tree
//! append one to the deployment's stream (`contracts::project_events`), and one loop per hub
//! follows the stream and hands every event to the document sockets open here, which act on
//! the access changes of their own user within the moment it takes to read it back.
//!
//! The stream lets a replica that could not reach Redis read on from where it was; when Redis
//! may have lost events (it restarted without its data), the loop tells every socket to look
//! its access up again instead ([`Notice::Recheck`]).

use crate::error::HubError;
use crate::metrics::Metrics;
use contracts::{Keys, ProjectChange, ProjectEvent, ProjectId, Streams, TypedStream};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// About how many events the stream keeps for readers that come back to it.
const KEPT_EVENTS: usize = 10_000;
/// Events read at once.
const PAGE: usize = 256;
/// How long one read blocks.
const BLOCK: Duration = Duration::from_secs(2);
/// Pause after a failed read.
const RETRY: Duration = Duration::from_millis(500);
/// Notices waiting for the slowest socket before it is told it lagged (and rechecks).
const LOCAL_BACKLOG: usize = 1024;

/// What the loop hands to the sockets of this hub.
#[derive(Clone, Debug)]
pub enum Notice {
    /// An event of some project, in stream order.
    Event(Arc<ProjectEvent>),
    /// Events may have been missed: look access up in Postgres again.
    Recheck,
}

pub struct ProjectEvents {
    streams: Streams,
    stream: TypedStream<ProjectEvent>,
    local: broadcast::Sender<Notice>,
    metrics: Metrics,
}

impl ProjectEvents {
    pub fn new(pool: deadpool_redis::Pool, keys: &Keys, metrics: Metrics) -> Self {
        Self {
            streams: Streams::new(pool, KEPT_EVENTS),
            stream: keys.hub_project_events(),
            local: broadcast::channel(LOCAL_BACKLOG).0,
            metrics,
        }
    }

    /// Appends `change` of `project` to the stream. An error means the change (already in
    /// Postgres) may not reach open sockets until their hub reads the stream again.
    pub async fn publish(&self, project: ProjectId, change: ProjectChange) -> Result<(), HubError> {
        let event = ProjectEvent {
            v: contracts::MESSAGE_VERSION,
            project_id: project,
            change,
        };
        self.streams
            .publish(&self.stream, &event)
            .await
            .map(|_| ())
            .map_err(|error| {
                self.failed("publish", &error);
                HubError::Unavailable {
                    what: "Redis",
                    cause: format!("the change is saved but could not be announced: {error}"),
                }
            })
    }

    /// The notices from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.local.subscribe()
    }

    /// Reads the stream until shutdown and hands each event to the local sockets.
    pub async fn follow(self: Arc<Self>, shutdown: CancellationToken) {
        // Where reading goes on from; `None` until the stream's end has been found.
        let mut after: Option<String> = None;
        let mut missed = false;
        loop {
            let read = tokio::select! {
                () = shutdown.cancelled() => return,
                read = self.read(&mut after, &mut missed) => read,
            };
            if let Err(error) = read {
                self.failed("events", &error);
                missed = true;
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(RETRY) => {}
                }
            }
        }
    }

    async fn read(
        &self,
        after: &mut Option<String>,
        missed: &mut bool,
    ) -> Result<(), contracts::StreamError> {
        if after.is_none() || *missed {
            let end = self.streams.bounds(&self.stream).await?;
            let last = end.map_or_else(|| "0-0".to_owned(), |bounds| bounds.last);
            // A stream that ends before what was read lost entries: read on from its end.
            let behind = after.as_deref().is_some_and(|seen| precedes(&last, seen));
            if after.is_none() || behind {
                *after = Some(last);
            }
            if *missed {
                let _ = self.local.send(Notice::Recheck);
                *missed = false;
            }
        }
        let from = after.as_deref().unwrap_or("0-0");
        let deliveries = self
            .streams
            .read_after(&self.stream, from, PAGE, BLOCK)
            .await?;
        for delivery in deliveries {
            match delivery.message {
                Ok(event) if event.v == contracts::MESSAGE_VERSION => {
                    // Nobody listening is fine: no socket is open here.
                    let _ = self.local.send(Notice::Event(Arc::new(event)));
                }
                Ok(event) => {
                    tracing::warn!(id = %delivery.id, v = event.v, "unknown event version")
                }
                Err(error) => tracing::warn!(id = %delivery.id, %error, "unreadable project event"),
            }
            *after = Some(delivery.id);
        }
        Ok(())
    }

    fn failed(&self, operation: &str, error: &dyn std::fmt::Display) {
        self.metrics
            .storage_errors
            .with_label_values(&[operation])
            .inc();
        tracing::warn!(%error, operation, "project events unavailable");
    }
}

/// Whether stream id `a` comes before `b` (ids that do not parse never do).
fn precedes(a: &str, b: &str) -> bool {
    match (
        a.parse::<contracts::EntryId>(),
        b.parse::<contracts::EntryId>(),
    ) {
        (Ok(a), Ok(b)) => a < b,
        _ => false,
    }
}
