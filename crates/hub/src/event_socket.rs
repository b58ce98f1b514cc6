//! One project events socket (`GET /hub/projects/{project}/events`), for a page that shows a
//! project: every event of that project from the deployment's stream ([`crate::project_events`])
//! as one JSON text frame, in the stream's shape, so that the page follows tree and access
//! changes made through any replica without asking again.
//!
//! The socket first sends `{"v":1,"project_id":…,"event":"ready","access":…}` once it is
//! subscribed: what the page reads after that frame cannot miss a change. It sends `ready` again
//! whenever events may have been missed here (the hub lost the stream for a while, or this socket
//! lagged), with the access looked up again; the page reads the project again then. A revocation
//! of the viewer's access closes the socket with 4005; a lowered access arrives as its
//! `access_changed` event. Authentication, budgets and the other close codes are the document
//! socket's ([`crate::session`]); the client sends nothing but pongs.

use crate::close::Close;
use crate::outbox::Outbox;
use crate::project_events::Notice;
use crate::session::{self, Inbound};
use crate::state::AppState;
use crate::store::Access;
use actix_ws::AggregatedMessageStream;
use contracts::{ProjectChange, ProjectId, UserId};
use serde::Serialize;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::sleep_until;
use tracing::Instrument;

/// The socket's own frame: (re)read the project now, this is the viewer's access.
#[derive(Serialize)]
struct Ready {
    v: u16,
    project_id: ProjectId,
    event: &'static str,
    access: Access,
}

/// Serves one upgraded events socket until it closes.
pub async fn run(
    state: Arc<AppState>,
    outbox: Outbox,
    messages: AggregatedMessageStream,
    project: ProjectId,
    token: Option<String>,
) {
    let span = tracing::info_span!("events", %project, user_id = tracing::field::Empty);
    async move {
        let mut socket = EventSocket {
            state: state.clone(),
            outbox,
            project,
        };
        let close = match socket.serve(messages, token).await {
            Ok(never) => match never {},
            Err(close) => close,
        };
        session::end(&state, &socket.outbox, &close);
    }
    .instrument(span)
    .await
}

struct EventSocket {
    state: Arc<AppState>,
    outbox: Outbox,
    project: ProjectId,
}

impl EventSocket {
    async fn serve(
        &mut self,
        mut messages: AggregatedMessageStream,
        token: Option<String>,
    ) -> Result<Infallible, Close> {
        let state = self.state.clone();
        let session::Admitted {
            mut notices,
            claims,
            access,
            slot: _slot,
        } = session::admit(&state, token, self.project).await?;
        self.ready(access)?;

        let mut heartbeat = session::heartbeat(state.heartbeat_interval);
        let expiry = session::expiry(claims.exp);
        let mut idle_deadline = tokio::time::Instant::now() + state.idle_timeout;
        loop {
            tokio::select! {
                biased;
                () = state.shutdown.cancelled() => return Err(Close::ShuttingDown),
                notice = notices.recv() => self.notice(notice, claims.sub).await?,
                item = messages.recv() => {
                    idle_deadline = tokio::time::Instant::now() + state.idle_timeout;
                    match session::read_frame(item, state.max_message_bytes)? {
                        Inbound::Binary(_) | Inbound::Text => {
                            return Err(Close::BadMessage(
                                "the events socket only sends; it takes no messages".into(),
                            ))
                        }
                        Inbound::Ping(bytes) => {
                            self.outbox.pong(bytes).map_err(session::too_slow)?
                        }
                        Inbound::Pong => {}
                    }
                }
                _ = heartbeat.tick() => self.outbox.ping().map_err(session::too_slow)?,
                () = sleep_until(idle_deadline) => return Err(Close::Idle),
                () = sleep_until(expiry) => return Err(Close::TokenExpired),
            }
        }
    }

    /// Forwards an event of this project; a revocation of `user`'s access closes the socket.
    async fn notice(
        &mut self,
        notice: Result<Notice, RecvError>,
        user: UserId,
    ) -> Result<(), Close> {
        match notice {
            Ok(Notice::Event(event)) if event.project_id == self.project => {
                if let ProjectChange::AccessChanged {
                    user_id,
                    access: None,
                } = event.change
                {
                    if user_id == user {
                        return Err(Close::NoAccess);
                    }
                }
                self.send(&*event)
            }
            Ok(Notice::Event(_)) => Ok(()),
            Ok(Notice::Recheck) | Err(RecvError::Lagged(_)) => {
                match session::recheck_access(&self.state, user, self.project).await? {
                    Some(access) => self.ready(access),
                    None => Ok(()),
                }
            }
            Err(RecvError::Closed) => Err(Close::ShuttingDown),
        }
    }

    fn ready(&self, access: Access) -> Result<(), Close> {
        self.send(&Ready {
            v: contracts::MESSAGE_VERSION,
            project_id: self.project,
            event: "ready",
            access,
        })
    }

    fn send(&self, frame: &impl Serialize) -> Result<(), Close> {
        // Plain structs of ids, strings and enums: serializing them cannot fail.
        let json = serde_json::to_string(frame).expect("project events serialize");
        self.outbox.text(json).map_err(session::too_slow)
    }
}
