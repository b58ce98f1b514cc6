//! The grader's side of the `submissions` stream (group `graders`): the generic
//! [`contracts::consumer`] does the reading, taking over of stale jobs, keep-alive,
//! acknowledging and dead-lettering; this module is its handler, which grades one job.
//!
//! - [`job`]: one job, from the cancellation check to the verdict on `results`;
//! - [`dead_letter`]: what the student is told when a job is given up;
//! - [`results`]: the events about a job on the `results` stream.
//!
//! `concurrency` jobs run at once; `max_attempts` deliveries are allowed per job; a job
//! not kept alive for `claim_idle_ms` (its grader died) is taken over by another grader; no
//! job is taken while Docker or a sandbox image is missing.

mod dead_letter;
mod job;
mod results;

pub use job::{Grader, Tools};

use crate::settings::Settings;
use contracts::consumer::{Consumer, Gate, Options};
use contracts::keys::GRADERS_GROUP;
use contracts::{Keys, Streams, SubmissionJob};
use std::time::Duration;

/// How long one read of the stream blocks; also the longest shutdown waits for the loop.
const READ_BLOCK: Duration = Duration::from_secs(1);
/// The first pause after Redis or Docker failed; it grows while they stay down.
const BACKOFF: Duration = Duration::from_secs(1);

/// The consumer named `name` of the submissions stream, as `settings` describe, taking jobs
/// while `gate` is open.
pub fn consumer(
    streams: Streams,
    keys: &Keys,
    settings: &Settings,
    name: String,
    gate: Gate,
) -> Consumer<SubmissionJob> {
    let options = Options {
        // From the start, so nothing enqueued before the first grader started is missed.
        start_id: "0".to_owned(),
        concurrency: settings.concurrency,
        max_deliveries: settings.max_attempts,
        claim_idle: settings.claim_idle(),
        read_block: READ_BLOCK,
        backoff: BACKOFF,
        gate: Some(gate),
        ..Options::new(GRADERS_GROUP, name)
    };
    Consumer::new(streams, keys.submissions(), options)
}
