//! The campaign's child processes (Postgres, Redis and every service), each of which it can
//! SIGKILL, stop with a signal and start again. A process that exits when nobody asked it to is
//! started again a second later, as an orchestrator would, and the exit is remembered so the
//! phase reports it. Children get SIGKILL if the campaign itself dies (`PR_SET_PDEATHSIG`) and
//! have a process group of their own, so a Ctrl-C reaches only the campaign, which then stops
//! them in order.

use anyhow::Context;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// How often the watcher looks for processes that exited by themselves.
const WATCH_EVERY: Duration = Duration::from_millis(200);
/// Pause before starting a process that exited by itself again.
const RESTART_DELAY: Duration = Duration::from_secs(1);
/// Time a stopping process gets before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

type MakeCommand = Box<dyn Fn() -> Command + Send + Sync>;

/// One supervised child process.
pub struct Supervised {
    inner: Arc<Inner>,
    watcher: JoinHandle<()>,
}

struct Inner {
    name: String,
    make: MakeCommand,
    log: PathBuf,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    child: Option<Child>,
    /// Whether the process should be running (false after a kill or stop until `start`).
    wanted: bool,
    /// Exits nobody asked for, since the last [`Supervised::take_exits`].
    exits: Vec<String>,
}

impl Supervised {
    /// Starts the command `make` builds, its output appended to `logs/<name>.log`.
    pub fn start(
        name: &str,
        logs: &Path,
        make: impl Fn() -> Command + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        let inner = Arc::new(Inner {
            name: name.to_owned(),
            make: Box::new(make),
            log: logs.join(format!("{name}.log")),
            state: Mutex::default(),
        });
        inner.spawn()?;
        let watcher = tokio::spawn(watch(inner.clone()));
        Ok(Self { inner, watcher })
    }

    /// SIGKILL, and no restart until [`Supervised::resume`].
    pub async fn kill(&self) {
        let child = self.inner.take();
        if let Some(mut child) = child {
            let _ = child.kill().await;
        }
    }

    /// Sends `signal`, waits for the exit (SIGKILL after a while); no restart until
    /// [`Supervised::resume`].
    pub async fn stop(&self, signal: libc::c_int) {
        let Some(mut child) = self.inner.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            // SAFETY: kill(2) with a pid of our own child, which has not been reaped yet.
            unsafe { libc::kill(pid as libc::pid_t, signal) };
        }
        if tokio::time::timeout(STOP_TIMEOUT, child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }

    /// Starts the process again after a kill or stop.
    pub fn resume(&self) -> anyhow::Result<()> {
        self.inner.spawn()
    }

    /// The exits nobody asked for since the last call, each described in a few words.
    pub fn take_exits(&self) -> Vec<String> {
        std::mem::take(&mut self.inner.lock().exits)
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        // The child itself is killed when its handle drops (`kill_on_drop`).
        self.watcher.abort();
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("not poisoned")
    }

    fn take(&self) -> Option<Child> {
        let mut state = self.lock();
        state.wanted = false;
        state.child.take()
    }

    fn spawn(&self) -> anyhow::Result<()> {
        let mut state = self.lock();
        state.wanted = true;
        if state.child.is_some() {
            return Ok(());
        }
        let log = self.open_log()?;
        let mut command = (self.make)();
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe and touches only the child being set up.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", self.name))?;
        state.child = Some(child);
        Ok(())
    }

    fn open_log(&self) -> anyhow::Result<File> {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        writeln!(log, "---- faults: starting {}", self.name)?;
        Ok(log)
    }

    /// Whether the process should run but exited; remembers the exit.
    fn exited_unasked(&self) -> bool {
        let mut state = self.lock();
        if !state.wanted {
            return false;
        }
        let status = match state.child.as_mut().map(Child::try_wait) {
            Some(Ok(Some(status))) => status.to_string(),
            Some(Ok(None)) => return false,
            Some(Err(error)) => error.to_string(),
            None => return true,
        };
        state.child = None;
        let exit = format!("{} exited by itself ({status})", self.name);
        eprintln!("[faults] {exit}; starting it again");
        state.exits.push(exit);
        true
    }
}

/// Starts processes again that exited by themselves while they should be running.
async fn watch(inner: Arc<Inner>) {
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        if inner.exited_unasked() {
            tokio::time::sleep(RESTART_DELAY).await;
            if inner.lock().wanted {
                if let Err(error) = inner.spawn() {
                    eprintln!("[faults] {error:#}");
                }
            }
        }
    }
}

/// Runs `command` to its end; an error names `what` and carries its standard error.
pub async fn run_once(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let output = command
        .output()
        .await
        .with_context(|| format!("running {what}"))?;
    anyhow::ensure!(
        output.status.success(),
        "{what} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// Waits until `ready` answers true, up to `limit`; names `what` in the error.
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, mut ready: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !ready().await {
        anyhow::ensure!(Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("faults-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn a_process_that_exits_by_itself_is_started_again_and_reported() {
        let dir = logs("supervise-exit");
        let process = Supervised::start("quitter", &dir, || {
            let mut command = Command::new("sh");
            command.args(["-c", "echo started; exit 3"]);
            command
        })
        .unwrap();
        wait_until("a restart", Duration::from_secs(10), || async {
            std::fs::read_to_string(dir.join("quitter.log"))
                .unwrap()
                .matches("started")
                .count()
                >= 2
        })
        .await
        .unwrap();
        let exits = process.take_exits();
        assert!(!exits.is_empty());
        assert!(exits[0].contains("quitter exited by itself"), "{exits:?}");
        assert!(exits[0].contains("exit status: 3"), "{exits:?}");
        process.kill().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_killed_process_stays_down_until_resumed() {
        let dir = logs("supervise-kill");
        let process = Supervised::start("sleeper", &dir, || {
            let mut command = Command::new("sh");
            command.args(["-c", "echo started; exec sleep 60"]);
            command
        })
        .unwrap();
        process.kill().await;
        tokio::time::sleep(WATCH_EVERY * 2 + RESTART_DELAY).await;
        let log = dir.join("sleeper.log");
        assert_eq!(
            std::fs::read_to_string(&log)
                .unwrap()
                .matches("---- faults: starting")
                .count(),
            1
        );
        assert!(
            process.take_exits().is_empty(),
            "a kill is no exit by itself"
        );

        process.resume().unwrap();
        let starts = std::fs::read_to_string(&log).unwrap();
        assert_eq!(starts.matches("---- faults: starting").count(), 2);
        process.stop(libc::SIGTERM).await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
