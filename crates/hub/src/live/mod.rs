//! Live documents: in memory while someone edits them, replicated through their logs in
//! Redis, written to Postgres in the background.
//!
//! - [`document`]: one document, its awareness and its local sockets.
//! - [`log`]: the per-document Redis stream every replica appends to and reads.
//! - [`registry`]: opens documents (Postgres state + the log after it), unloads idle ones and
//!   syncs changed ones to Postgres.
//! - [`follower`]: one loop per hub that reads every open document's log and presence stream
//!   and applies what other replicas appended.
//! - [`presence`]: who is present in one document (y-protocols awareness), bounded and swept.

pub mod document;
pub mod follower;
pub mod log;
pub mod presence;
pub mod registry;
