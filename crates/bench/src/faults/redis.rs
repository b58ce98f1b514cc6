//! A Redis server of the campaign's own: Debian's `redis-server` on a free loopback port, with
//! append-only persistence and `noeviction` as the platform runs it, and a memory limit the
//! "fill" fault can reach. It is stopped with SIGTERM (which writes the append-only file out)
//! and started again on the same port and folder, so it comes back with its data.

use super::supervise::{wait_until, Supervised};
use redis::aio::MultiplexedConnection;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::process::Command;

/// Far above what the campaign's load keeps in Redis (a few MiB), so only the fill reaches it.
pub const MAX_MEMORY: &str = "64mb";
/// Where the fill keeps its ballast; nothing of the platform's has this prefix.
const FILL_PREFIX: &str = "faults:fill:";
/// Ballast sizes, largest first: the fill stops when even the smallest is refused. Redis checks
/// its limit before each command, counting the command's own arguments, so once a 64-byte
/// write is refused any write the size of a job or an edit is too. No larger pieces: the
/// server keeps a connection's input buffer as large as its largest command, and frees it
/// when the connection idles or closes, which would make room again.
const FILL_SIZES: [usize; 3] = [64 << 10, 1 << 10, 64];
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Redis {
    process: Supervised,
    port: u16,
    /// Ballast keys written so far (`faults:fill:0` … `faults:fill:<n-1>`).
    filled: AtomicU64,
    /// The fill's connection, kept open while Redis is full: closing it frees its buffers.
    filler: tokio::sync::Mutex<Option<MultiplexedConnection>>,
}

impl Redis {
    pub async fn start(work: &Path, logs: &Path) -> anyhow::Result<Self> {
        let dir = work.join("redis");
        std::fs::create_dir_all(&dir)?;
        let port = super::platform::free_port()?;
        let process = Supervised::start("redis", logs, move || {
            let mut command = Command::new("redis-server");
            command
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--appendonly", "yes", "--maxmemory-policy", "noeviction"])
                .args(["--maxmemory", MAX_MEMORY, "--save", ""])
                .arg("--dir")
                .arg(&dir);
            command
        })?;
        let redis = Self {
            process,
            port,
            filled: AtomicU64::new(0),
            filler: tokio::sync::Mutex::default(),
        };
        redis.wait_until_answering().await?;
        Ok(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub async fn connect(&self) -> redis::RedisResult<MultiplexedConnection> {
        redis::Client::open(self.url())?
            .get_multiplexed_async_connection()
            .await
    }

    async fn wait_until_answering(&self) -> anyhow::Result<()> {
        wait_until("Redis answering PING", START_TIMEOUT, || async {
            match self.connect().await {
                Ok(mut conn) => redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok(),
                Err(_) => false,
            }
        })
        .await
    }

    /// SIGTERM: Redis writes its append-only file out and exits.
    pub async fn stop(&self) {
        self.process.stop(libc::SIGTERM).await;
    }

    /// Starts Redis again on the same port and folder; it loads its append-only file.
    pub async fn resume(&self) -> anyhow::Result<()> {
        self.process.resume()?;
        self.wait_until_answering().await
    }

    /// Writes ballast until Redis refuses even a small write for want of memory; returns the
    /// server's `used_memory` then. Called again, it tops up what the server freed meanwhile.
    pub async fn fill(&self) -> anyhow::Result<u64> {
        let mut filler = self.filler.lock().await;
        let conn = match filler.as_mut() {
            Some(conn) => conn,
            None => filler.insert(self.connect().await?),
        };
        for size in FILL_SIZES {
            let ballast = vec![b'x'; size];
            loop {
                let n = self.filled.load(Ordering::Relaxed);
                let written: redis::RedisResult<()> = redis::cmd("SET")
                    .arg(format!("{FILL_PREFIX}{n}"))
                    .arg(&ballast)
                    .query_async(conn)
                    .await;
                match written {
                    Ok(()) => self.filled.fetch_add(1, Ordering::Relaxed),
                    Err(error) if error.to_string().contains("OOM") => break,
                    Err(error) => return Err(error.into()),
                };
            }
        }
        let info: String = redis::cmd("INFO").arg("memory").query_async(conn).await?;
        info.lines()
            .find_map(|line| line.strip_prefix("used_memory:"))
            .and_then(|value| value.trim().parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no used_memory in INFO memory"))
    }

    /// Deletes the ballast (deletes are allowed at the limit).
    pub async fn empty(&self) -> anyhow::Result<()> {
        self.filler.lock().await.take();
        let mut conn = self.connect().await?;
        let n = self.filled.swap(0, Ordering::Relaxed);
        let keys: Vec<String> = (0..n).map(|i| format!("{FILL_PREFIX}{i}")).collect();
        for chunk in keys.chunks(500) {
            redis::cmd("UNLINK")
                .arg(chunk)
                .query_async::<()>(&mut conn)
                .await?;
        }
        Ok(())
    }

    pub fn supervised(&self) -> &Supervised {
        &self.process
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_filled_redis_refuses_writes_until_emptied_and_a_restart_keeps_the_data() {
        let work = std::env::temp_dir().join(format!("faults-redis-{}", std::process::id()));
        std::fs::create_dir_all(&work).unwrap();
        let redis = Redis::start(&work, &work).await.unwrap();
        let mut conn = redis.connect().await.unwrap();
        // A value the size of a submission job.
        let value = "v".repeat(4096);
        let set = |conn: &mut MultiplexedConnection, key: &'static str| {
            let (mut conn, value) = (conn.clone(), value.clone());
            async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .query_async::<()>(&mut conn)
                    .await
            }
        };
        set(&mut conn, "kept").await.unwrap();

        let used = redis.fill().await.unwrap();
        assert!(used > 60 << 20, "filled to {used} bytes");
        let refused = set(&mut conn, "refused").await.unwrap_err();
        assert!(refused.to_string().contains("OOM"), "{refused}");
        redis.empty().await.unwrap();
        set(&mut conn, "accepted").await.unwrap();

        redis.stop().await;
        assert!(redis.connect().await.is_err(), "stopped");
        redis.resume().await.unwrap();
        let mut conn = redis.connect().await.unwrap();
        let kept: Option<String> = redis::cmd("GET")
            .arg("kept")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(kept, Some(value));
        redis.stop().await;
        std::fs::remove_dir_all(&work).unwrap();
    }
}
