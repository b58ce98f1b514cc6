//! Progress announcements: the api says, on a pub/sub channel ([`Keys::course_progress`]), that
//! a student's progress in a course changed (one of their submissions was recorded as being
//! graded, graded, or failed), so that the pages showing it — the teachers' roster, told through
//! the hub's class presence socket — read it again at once. Best effort, like any pub/sub: a
//! page reads the whole progress again whenever its socket (re)connects.

use crate::streams::StreamError;
use crate::{CourseId, Keys, UserId};
use deadpool_redis::{redis, Pool};
use serde::{Deserialize, Serialize};

/// One announcement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressChanged {
    pub course_id: CourseId,
    pub user_id: UserId,
}

impl ProgressChanged {
    /// Publishes the announcement on the deployment's channel.
    pub async fn publish(&self, pool: &Pool, keys: &Keys) -> Result<(), StreamError> {
        let payload = serde_json::to_string(self).expect("an announcement serializes");
        let mut conn = pool.get().await?;
        let _: i64 = redis::cmd("PUBLISH")
            .arg(keys.course_progress())
            .arg(payload)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    /// Reads an announcement; `None` for one that is not.
    pub fn parse(payload: &[u8]) -> Option<Self> {
        serde_json::from_slice(payload).ok()
    }
}
