//! The server under test as a child process, and what /proc and getrusage say about it and us.

use anyhow::{bail, Context};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A server child process, killed when dropped so an error path cannot leak it.
pub struct Server {
    child: Child,
}

impl Server {
    /// Spawns `command` and waits until something accepts TCP connections on `port`.
    pub async fn start(mut command: Command, port: u16) -> anyhow::Result<Self> {
        command
            .kill_on_drop(true)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let program = format!("{:?}", command.as_std().get_program());
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {program}"))?;
        let deadline = Instant::now() + START_TIMEOUT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Some(status) = child.try_wait()? {
                bail!("{program} exited with {status} before listening on port {port}");
            }
            if Instant::now() > deadline {
                bail!("{program} did not listen on port {port} within {START_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Self { child })
    }

    pub fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().context("the server has exited")
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Bytes that arrived on established TCP connections to `port` but were not read yet, by the
/// server and by its clients: whichever side is falling behind has the backlog.
pub fn unread(port: u16) -> anyhow::Result<Unread> {
    let mut unread = Unread::default();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(table)?.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [_, local, remote, state, queues, ..] = fields[..] else {
                continue;
            };
            const ESTABLISHED: &str = "01";
            let Some((_, receive)) = queues.split_once(':') else {
                continue;
            };
            let receive = u64::from_str_radix(receive, 16)?;
            if state != ESTABLISHED {
                continue;
            } else if hex_port(local) == Some(port) {
                unread.by_server += receive;
            } else if hex_port(remote) == Some(port) {
                unread.by_clients += receive;
            }
        }
    }
    Ok(unread)
}

#[derive(Default)]
pub struct Unread {
    pub by_server: u64,
    pub by_clients: u64,
}

fn hex_port(address: &str) -> Option<u16> {
    u16::from_str_radix(address.rsplit_once(':')?.1, 16).ok()
}

/// The explicit port of a `ws://host:port/...` URL.
pub fn url_port(url: &str) -> Option<u16> {
    let authority = url.split_once("://")?.1.split(['/', '?']).next()?;
    authority.rsplit_once(':')?.1.parse().ok()
}

/// Resident set size of `pid` in bytes.
pub fn rss(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .context("no VmRSS in /proc status")?
        .trim()
        .parse::<u64>()?;
    Ok(kib * 1024)
}

/// User plus system CPU time `pid` has used, all threads included.
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may contain spaces and parentheses; fields are counted after its last ')'.
    let (_, fields) = stat.rsplit_once(')').context("malformed /proc stat")?;
    let fields: Vec<&str> = fields.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5); the split starts at field 3.
    let ticks: u64 = fields.get(11).context("no utime")?.parse::<u64>()?
        + fields.get(12).context("no stime")?.parse::<u64>()?;
    from_ticks(ticks)
}

/// CPU time the whole machine has spent not idle, every process included: what neither the
/// server nor the generator used went to something else competing with them.
pub fn machine_busy() -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().context("empty /proc/stat")?;
    let ticks = line
        .split_whitespace()
        .skip(1)
        .map(str::parse::<u64>)
        .collect::<Result<Vec<_>, _>>()?;
    // user nice system idle iowait irq softirq steal; guests are already inside user and nice.
    let busy = ticks.iter().take(8).sum::<u64>()
        - ticks.get(3).context("no idle")?
        - ticks.get(4).context("no iowait")?;
    from_ticks(busy)
}

fn from_ticks(ticks: u64) -> anyhow::Result<Duration> {
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    anyhow::ensure!(per_second > 0, "sysconf(_SC_CLK_TCK) failed");
    Ok(Duration::from_secs_f64(ticks as f64 / per_second as f64))
}

/// User plus system CPU time this process has used, all threads included.
pub fn own_cpu_time() -> Duration {
    // SAFETY: getrusage only writes the zero-initialised struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
