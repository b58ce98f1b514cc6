//! Which entry of a submission's job is run (a contract between grader replicas). The api can put one submission on the stream
//! twice: when Postgres fails after the job was added but before the api recorded it, the
//! record rolls back and the sweep dispatches the submission again. The first entry a grader
//! takes claims the submission; any other entry of it is acknowledged without running, so a
//! student is graded once. The claiming entry delivered again (a retry, or taken over from a
//! grader that died) keeps its claim.

use crate::streams::StreamError;
use crate::{Keys, SubmissionJob};
use deadpool_redis::{redis, Pool};
use std::time::Duration;

/// Whether the entry at hand is the one to run.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    Ours,
    /// Another entry, `first`, claimed the submission before.
    Duplicate {
        first: String,
    },
}

/// How long a claim lives. A second entry is dispatched once Postgres is back, so the claim
/// must outlast a Postgres outage and a queue's wait; a longer outage can have a submission
/// graded twice (and recorded once). Claims cost about 120 bytes each in Redis.
pub const CLAIM_LIFETIME: Duration = Duration::from_secs(3600);

/// Claims the submission of `job` for `entry`, unless another entry holds it, for
/// [`CLAIM_LIFETIME`].
pub async fn claim(
    pool: &Pool,
    keys: &Keys,
    job: &SubmissionJob,
    entry: &str,
) -> Result<Claim, StreamError> {
    let mut conn = pool.get().await?;
    let holder: Option<String> = redis::cmd("SET")
        .arg(keys.claimed(job.submission_id, job.enqueued_at))
        .arg(entry)
        .arg("NX")
        .arg("GET")
        .arg("EX")
        .arg(CLAIM_LIFETIME.as_secs())
        .query_async(&mut conn)
        .await?;
    Ok(match holder {
        Some(first) if first != entry => Claim::Duplicate { first },
        _ => Claim::Ours,
    })
}

#[cfg(test)]
mod tests {
    //! Against the local Redis (`REDIS_URL`), under a key prefix of the test's own.

    use super::*;
    use crate::{AssignmentId, Limits, SubmissionId, UserId, MESSAGE_VERSION};
    use chrono::{TimeDelta, Utc};

    fn job(submission: i64, enqueued_at: chrono::DateTime<Utc>) -> SubmissionJob {
        SubmissionJob {
            v: MESSAGE_VERSION,
            submission_id: SubmissionId(submission),
            user_id: UserId(1),
            assignment_id: AssignmentId(1),
            runtime: "python3".into(),
            code: String::new(),
            tests: Vec::new(),
            limits: Limits {
                time_ms: 1_000,
                memory_mb: 64,
                output_kb: 64,
            },
            enqueued_at,
        }
    }

    #[tokio::test]
    async fn the_first_entry_claims_a_submission_and_keeps_it_on_redelivery() {
        let url =
            std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let pool = crate::redis_pool(&url, 2).unwrap();
        let keys = Keys::new(format!("test-{}:", uuid::Uuid::new_v4().simple()));
        let now = Utc::now();
        let submission = job(7, now);
        // Another submission, and one of the same id in a database that was reset since.
        let others = [job(8, now), job(7, now + TimeDelta::seconds(1))];

        assert_eq!(
            claim(&pool, &keys, &submission, "1-0").await.unwrap(),
            Claim::Ours
        );
        assert_eq!(
            claim(&pool, &keys, &submission, "1-0").await.unwrap(),
            Claim::Ours
        );
        assert_eq!(
            claim(&pool, &keys, &submission, "2-0").await.unwrap(),
            Claim::Duplicate {
                first: "1-0".to_owned()
            }
        );
        for other in &others {
            assert_eq!(
                claim(&pool, &keys, other, "2-0").await.unwrap(),
                Claim::Ours
            );
        }

        let mut conn = pool.get().await.unwrap();
        let claimed = |job: &SubmissionJob| keys.claimed(job.submission_id, job.enqueued_at);
        let ttl: i64 = redis::cmd("TTL")
            .arg(claimed(&submission))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0 && ttl as u64 <= CLAIM_LIFETIME.as_secs(), "{ttl}");
        let _: () = redis::cmd("DEL")
            .arg(claimed(&submission))
            .arg(others.iter().map(claimed).collect::<Vec<_>>())
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}
