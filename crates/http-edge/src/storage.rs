//! Refusing new work while Redis is nearly full.
//!
//! Redis runs with `noeviction`: at its memory limit every write fails, the ones that finish
//! work already accepted (verdicts, acknowledgements, document edits) as much as new ones. So a
//! service stops taking *new* work a little before, when `used_memory` is above a fraction
//! ([`HighWater`]) of `maxmemory`: a handler that takes the [`StorageRoom`] extractor answers
//! 503 `storage_full` with `Retry-After`, and takes work again by itself once trimming and
//! finished jobs have freed memory. A Redis without a limit never refuses.
//!
//! `INFO memory` is read at most once per [`READING_TTL`]. A failed read keeps the last reading
//! (a slow answer from a busy Redis must not turn "full" into "room"); with none yet it counts
//! as room (the handler's own use of Redis then reports the outage).

use crate::error::EdgeError;
use crate::Edge;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How long one reading of Redis's memory is used.
pub const READING_TTL: Duration = Duration::from_secs(1);
/// How long reading it may take before it counts as failed.
const READ_TIMEOUT: Duration = Duration::from_secs(1);

/// The fraction of Redis's `maxmemory` above which new work is refused: more than 0, at most 1.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(try_from = "f64")]
pub struct HighWater(f64);

impl HighWater {
    /// The fraction, as configured.
    pub fn fraction(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for HighWater {
    type Error = String;

    fn try_from(fraction: f64) -> Result<Self, String> {
        if fraction > 0.0 && fraction <= 1.0 {
            Ok(Self(fraction))
        } else {
            Err(format!(
                "{fraction} is not a fraction of Redis's memory limit (above 0, at most 1)"
            ))
        }
    }
}

/// Redis's memory use, as `INFO memory` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Memory {
    used: u64,
    /// `maxmemory`; 0 means no limit.
    limit: u64,
}

impl Memory {
    /// Reads `used_memory` and `maxmemory` out of the text of `INFO memory`.
    fn parse(info: &str) -> Option<Self> {
        let field = |name: &str| {
            info.lines()
                .find_map(|line| line.trim_end().strip_prefix(name)?.strip_prefix(':'))
                .and_then(|value| value.parse().ok())
        };
        Some(Self {
            used: field("used_memory")?,
            limit: field("maxmemory")?,
        })
    }

    fn is_above(self, high_water: HighWater) -> bool {
        self.limit > 0 && self.used as f64 > self.limit as f64 * high_water.0
    }
}

/// Whether Redis has room for new work, read at most once per [`READING_TTL`].
pub struct StorageGuard {
    pool: deadpool_redis::Pool,
    high_water: HighWater,
    /// When Redis was last asked, and whether it was above the high water then.
    last: Mutex<Option<(Instant, bool)>>,
}

impl StorageGuard {
    pub fn new(pool: deadpool_redis::Pool, high_water: HighWater) -> Self {
        Self {
            pool,
            high_water,
            last: Mutex::new(None),
        }
    }

    /// `Err(StorageFull)` while Redis's memory is above the high water.
    pub async fn check(&self) -> Result<(), EdgeError> {
        // One request asks Redis; the others arriving meanwhile wait for its answer.
        let mut last = self.last.lock().await;
        let full = match *last {
            Some((at, full)) if at.elapsed() < READING_TTL => full,
            previous => {
                let full = self
                    .is_full()
                    .await
                    .unwrap_or(previous.is_some_and(|(_, full)| full));
                *last = Some((Instant::now(), full));
                full
            }
        };
        if full {
            Err(EdgeError::StorageFull)
        } else {
            Ok(())
        }
    }

    /// Whether Redis is above the high water; `None` when it cannot be read.
    async fn is_full(&self) -> Option<bool> {
        let read = async {
            let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
            deadpool_redis::redis::cmd("INFO")
                .arg("memory")
                .query_async::<String>(&mut conn)
                .await
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(READ_TIMEOUT, read).await {
            Ok(Ok(info)) => match Memory::parse(&info) {
                Some(memory) => Some(memory.is_above(self.high_water)),
                None => {
                    tracing::warn!("INFO memory lacks used_memory or maxmemory");
                    Some(false)
                }
            },
            Ok(Err(error)) => {
                tracing::debug!(%error, "cannot read Redis's memory use");
                None
            }
            Err(_) => {
                tracing::debug!("reading Redis's memory use timed out");
                None
            }
        }
    }
}

/// Extracted by a handler that starts new work: fails with 503 `storage_full` while Redis is
/// nearly full. Always passes in a service whose [`Edge`] has no guard.
#[derive(Debug)]
pub struct StorageRoom;

impl FromRequest for StorageRoom {
    type Error = EdgeError;
    type Future = LocalBoxFuture<'static, Result<Self, EdgeError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let guard = req
            .app_data::<web::Data<Edge>>()
            .and_then(|edge| edge.storage.clone());
        Box::pin(async move {
            if let Some(guard) = guard {
                guard.check().await?;
            }
            Ok(StorageRoom)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_read_from_the_info_text() {
        let info = "# Memory\r\nused_memory:1511416\r\nused_memory_human:1.44M\r\n\
                    maxmemory:4194304\r\nmaxmemory_human:4.00M\r\nmaxmemory_policy:noeviction\r\n";
        assert_eq!(
            Memory::parse(info),
            Some(Memory {
                used: 1_511_416,
                limit: 4_194_304
            })
        );
        assert_eq!(Memory::parse("# Memory\r\nused_memory:12\r\n"), None);
    }

    #[test]
    fn only_a_redis_with_a_limit_is_ever_full() {
        let high_water = HighWater::try_from(0.9).unwrap();
        let memory = |used, limit| Memory { used, limit };
        assert!(!memory(899, 1000).is_above(high_water));
        assert!(memory(901, 1000).is_above(high_water));
        assert!(!memory(u64::MAX / 2, 0).is_above(high_water));
    }

    #[test]
    fn a_high_water_outside_zero_to_one_is_refused() {
        for fraction in [0.0, -0.5, 1.5, f64::NAN] {
            assert!(HighWater::try_from(fraction).is_err(), "{fraction}");
        }
        assert!(HighWater::try_from(1.0).is_ok());
    }
}
