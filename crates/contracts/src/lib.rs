//! The contracts between the services: the messages on the Redis Streams, the names of every
//! Redis key, the runtime catalogue, the small Streams client every service uses and the one
//! consumer ([`consumer`]) every service that reads a stream in a group runs.
//!
//! Nothing outside this crate spells a stream name, a key or a message field, so a change to
//! the wire format is a change here, checked by the round-trip tests below.

pub mod cancellation;
pub mod claim;
pub mod consumer;
pub mod doclog;
pub mod entry_id;
pub mod ids;
pub mod keys;
pub mod messages;
pub mod progress;
pub mod project_events;
pub mod runtimes;
pub mod streams;
pub mod text;

pub use consumer::{Consumer, DeadEnd, Gate, Handler, Outcome, Received};
pub use entry_id::{EntryId, InvalidEntryId};
pub use ids::{
    AssignmentId, CommentId, CourseId, FileId, ProjectId, SubmissionId, ThreadId, UserId,
};
pub use keys::Keys;
pub use messages::{
    Limits, ResultEvent, ResultKind, SubmissionJob, TestCase, TestOutcome, TestStatus, Verdict,
    MESSAGE_VERSION,
};
pub use project_events::{Access, ProjectChange, ProjectEvent};
pub use runtimes::{Runtime, RuntimeCatalog, RuntimeName};
pub use streams::{redis_pool, Delivery, StreamError, Streams, TypedStream};
pub use text::ShownText;
