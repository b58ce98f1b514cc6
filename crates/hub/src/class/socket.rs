//! `GET /hub/courses/{course}/presence?token=<jwt>&tab=<id>`: a course's presence socket, JSON
//! text frames both ways.
//!
//! The hub sends `{"type":"people","you":…,"people":[Person…]}` first (and again whenever it
//! may have missed changes), then `{"type":"person","person":Person}` for each change, and
//! `{"type":"error","message":…}` for a command it refused; to the course's teachers also
//! `{"type":"progress","user_id":U}` when the api recorded a submission of U's (read the
//! roster again). A person is
//! `{user_id, name, teacher, online, tabs, activity, last_seen, project_owner, project_id,
//! file_id, path, following}`; the project, file and path are only there for a viewer who may
//! read the project (its owner and members as of the move, and the course's teachers).
//!
//! The page sends `{"type":"move","project_id":P|null,"file_id":F|null}` (refused unless the
//! user may read the project and the file is in it), `{"type":"activity","activity":"active"|
//! "typing"|"idle"}` and `{"type":"follow","user_id":U|null}`. Its followers are the people
//! whose `following` names it.

use super::members::{self, Member};
use super::store::Renewed;
use super::{now_ms, pool_error, Activity, Change, Class, Entry, Summary, View};
use crate::close::Close;
use crate::error::HubError;
use crate::outbox::Outbox;
use crate::rate::TokenBucket;
use crate::routes::socket::{accept, Handshake, TokenQuery};
use crate::session::too_slow;
use crate::state::{AppState, UserSlot};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, ProtocolError};
use chrono::{DateTime, Utc};
use contracts::{CourseId, FileId, ProjectId, UserId};
use http_edge::{ErrorBody, StorageRoom};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{sleep_until, MissedTickBehavior};
use tracing::Instrument;

/// Commands one socket may send per second, and at once.
const COMMANDS_PER_SECOND: u64 = 10;
const COMMAND_BURST: u64 = 40;
/// The largest command.
const MAX_COMMAND_BYTES: usize = 1024;

#[derive(Debug, Deserialize)]
pub struct PresenceQuery {
    #[serde(flatten)]
    token: TokenQuery,
    tab: Option<String>,
}

/// Upgrades to the presence socket; the token and the caller's place in the course are
/// checked on the socket, whose close codes say why it ends.
#[utoipa::path(get, path = "/hub/courses/{course}/presence", tag = "hub",
    operation_id = "course_presence",
    description = "Who of the course is online, where and doing what, over JSON text frames \
                   (see the hub's documentation). For the course's participants and teachers \
                   only: anyone else's socket closes with 4006 (no such course), as for a \
                   course that does not exist. `tab` names the page's tab: a socket of the \
                   same tab takes its presence over and the older one closes with 4011.",
    params(
        ("course" = i64, Path, minimum = 1, description = "the course's id"),
        ("token" = Option<String>, Query, description = "the api's JWT"),
        ("tab" = Option<String>, Query, pattern = "^[A-Za-z0-9_-]{1,64}$",
            description = "the page tab's id"),
        Handshake,
    ),
    responses(
        (status = 101, description = "switching protocols: the socket is open"),
        (status = 400, body = ErrorBody,
            description = "not a WebSocket handshake (`not_websocket`), or a malformed query \
                           string (`bad_request`)"),
        (status = 404, body = ErrorBody, description = "the id is not a whole number ≥ 1"),
        (status = 422, body = ErrorBody, description = "`tab` is not 1–64 letters, digits, \
                                                         `-` or `_`"),
        (status = 503, body = ErrorBody,
            description = "Redis is nearly full (`storage_full`)"),
    ))]
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<PresenceQuery>,
    _room: StorageRoom,
) -> Result<HttpResponse, HubError> {
    let course = path.into_inner();
    if course < 1 {
        return Err(HubError::NotFound("course"));
    }
    let query = query.into_inner();
    let tab = match query.tab {
        Some(tab) if valid_tab(&tab) => tab,
        Some(_) => {
            return Err(HubError::invalid(
                "tab",
                "a tab id is 1 to 64 letters, digits, '-' or '_'",
            ))
        }
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    let token = query.token.token(&req);
    let (response, outbox, messages) = accept(&req, body, &state)?;
    actix_web::rt::spawn(run(
        state.into_inner(),
        outbox,
        messages,
        CourseId(course),
        tab,
        token,
    ));
    Ok(response)
}

fn valid_tab(tab: &str) -> bool {
    (1..=64).contains(&tab.len())
        && tab
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What a viewer is told about one person.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Person {
    pub user_id: UserId,
    pub name: String,
    pub teacher: bool,
    pub online: bool,
    /// Sockets (page tabs) open.
    pub tabs: usize,
    pub activity: Option<Activity>,
    pub last_seen: Option<DateTime<Utc>>,
    /// Whose project they are in.
    pub project_owner: Option<UserId>,
    pub project_id: Option<ProjectId>,
    pub file_id: Option<FileId>,
    pub path: Option<String>,
    pub following: Option<UserId>,
}

/// A command from the page.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Command {
    Move {
        project_id: Option<ProjectId>,
        #[serde(default)]
        file_id: Option<FileId>,
    },
    Activity {
        activity: Activity,
    },
    Follow {
        user_id: Option<UserId>,
    },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Frame<'a> {
    People {
        you: UserId,
        people: Vec<Person>,
    },
    Person {
        person: Person,
    },
    /// To teachers only: read this student's progress again.
    Progress {
        user_id: UserId,
    },
    Error {
        message: &'a str,
    },
}

async fn run(
    state: Arc<AppState>,
    outbox: Outbox,
    messages: AggregatedMessageStream,
    course: CourseId,
    tab: String,
    token: Option<String>,
) {
    let span = tracing::info_span!("presence", %course, user_id = tracing::field::Empty);
    async move {
        let mut socket = Socket {
            idle_deadline: tokio::time::Instant::now() + state.idle_timeout,
            rate: TokenBucket::new(COMMANDS_PER_SECOND, COMMAND_BURST, Instant::now()),
            class: state.class.clone(),
            state,
            outbox,
            messages,
            course,
            tab,
            joined: None,
        };
        let close = match socket.serve(token).await {
            Ok(never) => match never {},
            Err(close) => close,
        };
        socket.finish(close).await;
    }
    .instrument(span)
    .await
}

struct Joined {
    view: Arc<View>,
    /// The entry's field in Redis: the user and the tab.
    conn: String,
    entry: Entry,
    teacher: bool,
    members: HashMap<UserId, Member>,
    /// Counted with the user's document sockets against `max_connections_per_user`.
    _slot: UserSlot,
}

struct Socket {
    state: Arc<AppState>,
    class: Arc<Class>,
    outbox: Outbox,
    messages: AggregatedMessageStream,
    course: CourseId,
    tab: String,
    joined: Option<Joined>,
    idle_deadline: tokio::time::Instant,
    rate: TokenBucket,
}

#[derive(Clone, Copy)]
enum Save {
    Write,
    Renew,
}

enum Step {
    Inbound(Option<Result<AggregatedMessage, ProtocolError>>),
    Change(Result<Change, RecvError>),
    Heartbeat,
    Renew,
}

impl Socket {
    async fn serve(&mut self, token: Option<String>) -> Result<Infallible, Close> {
        let state = self.state.clone();
        let claims = state
            .tokens
            .verify(token.as_deref().ok_or(Close::NoToken)?)
            .await?;
        tracing::Span::current().record("user_id", claims.sub.0);
        let members = {
            let mut conn = state.db.get().await.map_err(|error| {
                tracing::warn!(%error, "no database connection");
                Close::Unavailable
            })?;
            members::of_course(&mut conn, self.course)
                .await
                .map_err(unavailable)?
                .ok_or(Close::NoSuchCourse)?
        };
        let me = members
            .iter()
            .find(|m| m.user_id == claims.sub)
            .ok_or(Close::NoSuchCourse)?;
        let teacher = me.teacher;
        let slot = state
            .user_slot(claims.sub)
            .ok_or(Close::TooManyConnections(state.max_connections_per_user))?;
        let view = self.class.view(self.course).await.map_err(unavailable)?;
        let mut changes = view.subscribe();
        self.joined = Some(Joined {
            view,
            conn: format!("{}:{}", claims.sub, self.tab),
            entry: Entry {
                user: claims.sub,
                name: claims.name.clone(),
                socket: uuid::Uuid::new_v4().simple().to_string(),
                location: None,
                activity: Activity::Active,
                following: None,
                at: now_ms(),
            },
            teacher,
            members: members.into_iter().map(|m| (m.user_id, m)).collect(),
            _slot: slot,
        });
        self.save(Save::Write).await?;
        self.send_people()?;

        let period = state.heartbeat_interval;
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let renewal = self.class.ttl / 3;
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + renewal, renewal);
        renew.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let token_left = claims.exp * 1000 - now_ms();
        let expiry = tokio::time::Instant::now() + Duration::from_millis(token_left.max(0) as u64);
        loop {
            let step = tokio::select! {
                biased;
                () = state.shutdown.cancelled() => return Err(Close::ShuttingDown),
                change = changes.recv() => Step::Change(change),
                item = self.messages.recv() => Step::Inbound(item),
                _ = heartbeat.tick() => Step::Heartbeat,
                _ = renew.tick() => Step::Renew,
                () = sleep_until(self.idle_deadline) => return Err(Close::Idle),
                () = sleep_until(expiry) => return Err(Close::TokenExpired),
            };
            match step {
                Step::Inbound(item) => self.inbound(item).await?,
                Step::Change(Ok(Change::User(user))) => self.send_person(user)?,
                Step::Change(Ok(Change::Progress(user))) if self.joined().teacher => {
                    self.send(&Frame::Progress { user_id: user })?
                }
                Step::Change(Ok(Change::Progress(_))) => {}
                // A socket that fell behind, or a view loaded again: everything anew.
                Step::Change(Ok(Change::Everything) | Err(RecvError::Lagged(_))) => {
                    self.send_people()?
                }
                Step::Change(Err(RecvError::Closed)) => return Err(Close::ShuttingDown),
                Step::Heartbeat => self.outbox.ping().map_err(too_slow)?,
                Step::Renew => self.save(Save::Renew).await?,
            }
        }
    }

    fn joined(&self) -> &Joined {
        self.joined.as_ref().expect("joined before serving")
    }

    async fn redis(&self) -> Result<deadpool_redis::Connection, Close> {
        self.state
            .redis
            .get()
            .await
            .map_err(|e| unavailable(pool_error(e)))
    }

    /// Writes this socket's entry (taking the tab's entry over) and announces it, or with
    /// [`Save::Renew`] only keeps it alive (writing it again if it was swept meanwhile).
    async fn save(&self, save: Save) -> Result<(), Close> {
        let joined = self.joined();
        let now = now_ms();
        let expires = now + self.class.ttl.as_millis() as i64;
        let (store, course, conn) = (&self.class.store, self.course, &joined.conn);
        let mut redis = self.redis().await?;
        let renewed = match save {
            Save::Write => Renewed::Gone,
            Save::Renew => store
                .renew(&mut redis, course, conn, &joined.entry, now, expires)
                .await
                .map_err(unavailable)?,
        };
        match renewed {
            Renewed::Yes => Ok(()),
            Renewed::TakenOver => Err(Close::Replaced),
            Renewed::Gone => store
                .up(&mut redis, course, conn, &joined.entry, now, expires)
                .await
                .map(drop)
                .map_err(unavailable),
        }
    }

    async fn inbound(
        &mut self,
        item: Option<Result<AggregatedMessage, ProtocolError>>,
    ) -> Result<(), Close> {
        self.idle_deadline = tokio::time::Instant::now() + self.state.idle_timeout;
        let text = match item {
            None => return Err(Close::Gone),
            Some(Ok(AggregatedMessage::Text(text))) => text,
            Some(Ok(AggregatedMessage::Binary(_))) => {
                return Err(Close::BadMessage("send JSON text frames".into()))
            }
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                return self.outbox.pong(bytes).map_err(too_slow)
            }
            Some(Ok(AggregatedMessage::Pong(_))) => return Ok(()),
            Some(Ok(AggregatedMessage::Close(reason))) => {
                return Err(Close::ByClient(reason.map(|r| u16::from(r.code))))
            }
            Some(Err(ProtocolError::Overflow)) => {
                return Err(Close::TooBig(self.state.max_message_bytes))
            }
            Some(Err(ProtocolError::Io(_))) => return Err(Close::Gone),
            Some(Err(e)) => return Err(Close::Protocol(e.to_string())),
        };
        if text.len() > MAX_COMMAND_BYTES {
            return Err(Close::TooBig(MAX_COMMAND_BYTES));
        }
        if !self.rate.take(1, Instant::now()) {
            return Err(Close::TooFast {
                per_second: COMMANDS_PER_SECOND,
                burst: COMMAND_BURST,
            });
        }
        let command: Command = serde_json::from_str(&text)
            .map_err(|e| Close::BadMessage(format!("not a presence command: {e}")))?;
        self.command(command).await
    }

    async fn command(&mut self, command: Command) -> Result<(), Close> {
        let joined = self.joined();
        let mut entry = joined.entry.clone();
        match command {
            Command::Move {
                project_id: None, ..
            } => entry.location = None,
            Command::Move {
                project_id: Some(project),
                file_id,
            } => {
                let mut conn = self.state.db.get().await.map_err(|error| {
                    tracing::warn!(%error, "no database connection");
                    Close::Unavailable
                })?;
                let user = entry.user;
                match members::locate(&mut conn, self.course, user, project, file_id)
                    .await
                    .map_err(unavailable)?
                {
                    Some(location) => entry.location = Some(location),
                    None => {
                        return self.send(&Frame::Error {
                            message: "no such project or file in this course for you",
                        })
                    }
                }
            }
            Command::Activity { activity } => entry.activity = activity,
            Command::Follow { user_id } => {
                if user_id == Some(entry.user) {
                    return self.send(&Frame::Error {
                        message: "you cannot follow yourself",
                    });
                }
                entry.following = user_id;
            }
        }
        if entry == joined.entry {
            return Ok(());
        }
        entry.at = now_ms();
        self.joined.as_mut().expect("joined").entry = entry;
        self.save(Save::Write).await
    }

    fn person(&self, user: UserId, summary: Summary) -> Person {
        let joined = self.joined();
        let member = joined.members.get(&user);
        let name = summary
            .entry
            .as_ref()
            .map(|e| e.name.clone())
            .or_else(|| member.map(|m| m.name.clone()))
            .unwrap_or_default();
        let mut person = Person {
            user_id: user,
            name,
            teacher: member.is_some_and(|m| m.teacher),
            online: summary.entry.is_some(),
            tabs: summary.tabs,
            activity: summary.entry.as_ref().map(|e| e.activity),
            last_seen: summary
                .last_seen
                .and_then(DateTime::<Utc>::from_timestamp_millis),
            project_owner: None,
            project_id: None,
            file_id: None,
            path: None,
            following: summary.entry.as_ref().and_then(|e| e.following),
        };
        if let Some(location) = summary.entry.and_then(|e| e.location) {
            person.project_owner = Some(location.project_owner);
            let me = joined.entry.user;
            if joined.teacher || location.readers.contains(&me) {
                person.project_id = Some(location.project_id);
                person.file_id = location.file_id;
                person.path = location.path;
            }
        }
        person
    }

    fn send_person(&self, user: UserId) -> Result<(), Close> {
        let summary = self.joined().view.summary(user);
        self.send(&Frame::Person {
            person: self.person(user, summary),
        })
    }

    fn send_people(&self) -> Result<(), Close> {
        let joined = self.joined();
        let mut users: Vec<UserId> = joined.members.keys().copied().collect();
        users.extend(joined.view.known_users());
        users.sort_unstable();
        users.dedup();
        let people = users
            .into_iter()
            .map(|user| self.person(user, joined.view.summary(user)))
            .collect();
        self.send(&Frame::People {
            you: joined.entry.user,
            people,
        })
    }

    fn send(&self, frame: &Frame<'_>) -> Result<(), Close> {
        let text = serde_json::to_string(frame).expect("a frame serializes");
        self.outbox.text(text).map_err(too_slow)
    }

    /// Removes the entry (unless a newer socket of the tab took it over), then closes.
    async fn finish(self, close: Close) {
        if let Some(joined) = &self.joined {
            let left = async {
                let mut redis = self.redis().await?;
                self.class
                    .store
                    .leave(
                        &mut redis,
                        self.course,
                        &joined.conn,
                        &joined.entry.socket,
                        now_ms(),
                    )
                    .await
                    .map_err(unavailable)
            };
            // Best effort: an entry left behind expires and is swept.
            if let Err(close) = left.await {
                tracing::warn!(reason = %close.reason(), "cannot remove the presence entry");
            }
        }
        self.state
            .metrics
            .sockets_closed
            .with_label_values(&[close.label()])
            .inc();
        if close.can_send() {
            self.outbox.close(close.frame());
        }
    }
}

fn unavailable(error: impl std::fmt::Display) -> Close {
    tracing::warn!(%error, "class presence storage unavailable");
    Close::Unavailable
}
