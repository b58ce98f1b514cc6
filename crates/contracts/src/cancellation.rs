//! The cancellation mark of a submission: the api sets it when a student deletes a submission
//! that is not graded yet, and a grader that takes the job afterwards skips it. The mark
//! expires on its own once no job can still be waiting for it.

use crate::streams::StreamError;
use crate::{Keys, SubmissionId};
use deadpool_redis::{redis, Pool};
use std::time::Duration;

/// How long a mark lives: longer than any job waits in the queue.
pub const MARK_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Marks `submission` as cancelled.
pub async fn mark(pool: &Pool, keys: &Keys, submission: SubmissionId) -> Result<(), StreamError> {
    let mut conn = pool.get().await?;
    let _: () = redis::cmd("SET")
        .arg(keys.cancelled(submission))
        .arg(1)
        .arg("EX")
        .arg(MARK_LIFETIME.as_secs())
        .query_async(&mut conn)
        .await?;
    Ok(())
}

/// Whether `submission` was cancelled (within [`MARK_LIFETIME`]).
pub async fn is_marked(
    pool: &Pool,
    keys: &Keys,
    submission: SubmissionId,
) -> Result<bool, StreamError> {
    let mut conn = pool.get().await?;
    let exists: bool = redis::cmd("EXISTS")
        .arg(keys.cancelled(submission))
        .query_async(&mut conn)
        .await?;
    Ok(exists)
}

#[cfg(test)]
mod tests {
    //! Against the local Redis (`REDIS_URL`), under a key prefix of the test's own.

    use super::*;

    #[tokio::test]
    async fn a_marked_submission_is_seen_as_cancelled_until_the_mark_expires() {
        let url =
            std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let pool = crate::redis_pool(&url, 2).unwrap();
        let keys = Keys::new(format!("test-{}:", uuid::Uuid::new_v4().simple()));
        let (deleted, other) = (SubmissionId(7), SubmissionId(8));

        assert!(!is_marked(&pool, &keys, deleted).await.unwrap());
        mark(&pool, &keys, deleted).await.unwrap();
        assert!(is_marked(&pool, &keys, deleted).await.unwrap());
        assert!(!is_marked(&pool, &keys, other).await.unwrap());

        let mut conn = pool.get().await.unwrap();
        let ttl: i64 = redis::cmd("TTL")
            .arg(keys.cancelled(deleted))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0 && ttl as u64 <= MARK_LIFETIME.as_secs(), "{ttl}");
        let _: () = redis::cmd("DEL")
            .arg(keys.cancelled(deleted))
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}
