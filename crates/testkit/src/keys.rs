//! Throw-away Redis key prefixes for tests and benchmarks: each gets a prefix of its own, so
//! they can share one Redis, and every key under it is deleted when the value is dropped, even
//! after a failed assertion.

use deadpool_redis::redis;

/// A fresh key prefix whose keys are deleted on drop.
pub struct ScratchPrefix {
    redis_url: String,
    prefix: String,
}

impl ScratchPrefix {
    /// `{label}-{random}:` on the Redis at `redis_url`.
    pub fn new(redis_url: &str, label: &str) -> Self {
        Self {
            redis_url: redis_url.to_owned(),
            prefix: format!("{label}-{}:", uuid::Uuid::new_v4().simple()),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl Drop for ScratchPrefix {
    fn drop(&mut self) {
        let url = self.redis_url.clone();
        let pattern = format!("{}*", self.prefix);
        // A blocking client on its own thread works whether or not a runtime is still running.
        let deleted = std::thread::spawn(move || -> redis::RedisResult<()> {
            let mut conn = redis::Client::open(url)?.get_connection()?;
            let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query(&mut conn)?;
            if !keys.is_empty() {
                redis::cmd("DEL").arg(keys).query::<()>(&mut conn)?;
            }
            Ok(())
        })
        .join();
        if !matches!(deleted, Ok(Ok(()))) {
            tracing::warn!(prefix = %self.prefix, "could not delete scratch keys");
        }
    }
}
