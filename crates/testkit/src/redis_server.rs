//! A Redis server of a test's own, for tests that must flush, stop or fill Redis without
//! touching the one every other test shares: Debian's `redis-server` on a free loopback port,
//! killed when dropped. It can be stopped and started again on the same port and data folder,
//! as a Redis that restarts does.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    /// `None` while stopped.
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts `redis-server` (append-only, `noeviction`, as the platform runs it) and waits
    /// until it answers.
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("testkit-redis-{port}"));
        std::fs::create_dir_all(&dir).expect("a data folder");
        let child = spawn(port, &dir);
        let server = Self {
            child: Some(child),
            port,
            dir,
        };
        server.wait_until_answering();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Gives Redis a memory limit `headroom` bytes above what it uses now, then stores filler
    /// until it uses more than `fraction` of that limit (never reaching it, so writes still
    /// work). [`Filler::remove`] frees the memory again.
    pub fn fill(&self, headroom: u64, fraction: f64) -> Filler {
        let mut conn = self.connection();
        let used = used_memory(&mut conn);
        let limit = used + headroom;
        let () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxmemory")
            .arg(limit)
            .query(&mut conn)
            .expect("CONFIG SET maxmemory");
        let chunk = vec![b'f'; 64 * 1024];
        let mut keys = Vec::new();
        while (used_memory(&mut conn) as f64) <= limit as f64 * fraction {
            let key = format!("testkit:filler:{}", keys.len());
            let () = redis::cmd("SET")
                .arg(&key)
                .arg(&chunk)
                .query(&mut conn)
                .expect("room for filler below the limit");
            keys.push(key);
        }
        Filler {
            url: self.url(),
            keys,
        }
    }

    fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|client| client.get_connection())
            .expect("a connection to the test's redis-server")
    }

    /// Stops the server as an orderly restart does (`SHUTDOWN NOSAVE`: the append-only file
    /// keeps what it held); every connection to it breaks.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // Redis drops the connection as it goes, so the answer is an error either way.
        let _ = redis::Client::open(self.url())
            .and_then(|client| client.get_connection())
            .and_then(|mut conn| redis::cmd("SHUTDOWN").arg("NOSAVE").exec(&mut conn));
        let deadline = Instant::now() + crate::WAIT;
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts the stopped server again on the same port and data folder; it answers (after
    /// loading its append-only file) when this returns.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        self.child = Some(spawn(self.port, &self.dir));
        self.wait_until_answering();
    }

    fn wait_until_answering(&self) {
        let deadline = Instant::now() + crate::WAIT;
        loop {
            let answered = redis::Client::open(self.url())
                .and_then(|client| client.get_connection())
                .and_then(|mut conn| redis::cmd("PING").query::<String>(&mut conn));
            if answered.is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "redis-server never answered");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn spawn(port: u16, dir: &Path) -> Child {
    Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--appendonly", "yes", "--maxmemory-policy", "noeviction"])
        .args(["--save", "", "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server runs (deploy/local/services.sh installs it)")
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What [`RedisServer::fill`] stored.
pub struct Filler {
    url: String,
    keys: Vec<String>,
}

impl Filler {
    /// Deletes the filler.
    pub fn remove(self) {
        let mut conn = redis::Client::open(self.url)
            .and_then(|client| client.get_connection())
            .expect("a connection to the test's redis-server");
        let _: u64 = redis::cmd("DEL")
            .arg(&self.keys)
            .query(&mut conn)
            .expect("DEL the filler");
    }
}

/// `used_memory` of `INFO memory`.
fn used_memory(conn: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query(conn)
        .expect("INFO memory");
    info.lines()
        .find_map(|line| line.trim_end().strip_prefix("used_memory:"))
        .and_then(|value| value.parse().ok())
        .expect("INFO memory has used_memory")
}
