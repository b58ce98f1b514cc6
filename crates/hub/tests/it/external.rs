//! Drives the Yjs clients no one here wrote — Debian's y-websocket provider under Node.js and
//! pycrdt from PyPI — through the line protocol of `tests/clients/*` (JSON commands on stdin,
//! JSON events on stdout). `deploy/hub/clients.sh` installs them and names them in the
//! environment (`NODE`, `NODE_PATH`, `YJS_NODE_CLIENT`, `YJS_PYTHON`, `YJS_PY_CLIENT`);
//! `deploy/test.sh` exports them.

use serde_json::{json, Value};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::time::{timeout_at, Instant};

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// yjs + y-websocket's WebsocketProvider under Node.js.
    YWebsocket,
    /// pycrdt's Provider (pycrdt-websocket's client side).
    Pycrdt,
}

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the suite with deploy/test.sh, or eval \"$(bash deploy/hub/clients.sh)\" and export its variables")
    })
}

pub struct External {
    pub name: String,
    child: Child,
    stdin: ChildStdin,
    events: mpsc::UnboundedReceiver<Value>,
}

impl External {
    /// Starts a client on `room` that connects to the first of `urls` and moves to the next
    /// one whenever its socket closes.
    pub fn start(kind: Kind, name: &str, urls: &[String], room: &str, token: &str) -> Self {
        let mut command = match kind {
            Kind::YWebsocket => {
                let mut command = Command::new(required("NODE"));
                command
                    .env("NODE_PATH", required("NODE_PATH"))
                    .arg(required("YJS_NODE_CLIENT"));
                command
            }
            Kind::Pycrdt => {
                let mut command = Command::new(required("YJS_PYTHON"));
                command.arg(required("YJS_PY_CLIENT"));
                command
            }
        };
        for url in urls {
            command.arg("--url").arg(url);
        }
        command
            .args(["--room", room, "--token", token, "--name", name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("the client starts");
        let stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (sender, events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(event) = serde_json::from_str(&line) {
                    if sender.send(event).is_err() {
                        break;
                    }
                }
            }
        });
        Self {
            name: name.to_owned(),
            child,
            stdin,
            events,
        }
    }

    pub async fn command(&mut self, command: Value) {
        self.command_line(&command.to_string()).await;
    }

    /// Sends one command line as it is: for text no Rust string can hold (lone surrogates,
    /// written as JSON escapes).
    pub async fn command_line(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.write_all(b"\n").await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// Waits until the names in the client's presence are `names` (sorted); returns whether
    /// they were within `wait`.
    pub async fn wait_presence(&mut self, names: &[&str], wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            self.command(json!({"cmd": "awareness"})).await;
            let seen = self.event(wait, |e| e["event"] == "awareness").await;
            if seen["names"] == json!(names) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// The next event for which `matches` holds; earlier ones are dropped.
    pub async fn event(&mut self, wait: Duration, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + wait;
        loop {
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) if matches(&event) => return event,
                Ok(Some(_)) => {}
                Ok(None) => panic!("{}: the client exited", self.name),
                Err(_) => panic!("{}: no matching event within {wait:?}", self.name),
            }
        }
    }

    pub async fn synced(&mut self, wait: Duration) {
        self.event(wait, |e| e["event"] == "synced").await;
    }

    /// Types `text` at the end, one character per update, `interval_ms` apart; returns when
    /// done.
    pub async fn type_text(&mut self, text: &str, interval_ms: u64, wait: Duration) {
        self.command(json!({"cmd": "type", "text": text, "interval_ms": interval_ms}))
            .await;
        self.event(wait, |e| e["event"] == "typed").await;
    }

    pub async fn insert(&mut self, index: usize, text: &str) {
        self.command(json!({"cmd": "insert", "index": index, "text": text}))
            .await;
    }

    /// Waits until the text satisfies `condition` (a `wait_text`/`wait_length` command body);
    /// returns the text, or panics with it on timeout.
    pub async fn wait_text(&mut self, mut condition: Value, wait: Duration) -> String {
        condition["timeout_ms"] = json!(wait.as_millis() as u64);
        self.command(condition).await;
        let event = self
            .event(wait + Duration::from_secs(5), |e| {
                e["event"] == "text" || e["event"] == "timeout"
            })
            .await;
        let text = event["text"].as_str().unwrap().to_owned();
        assert_eq!(
            event["event"], "text",
            "{}: gave up with {text:?}",
            self.name
        );
        text
    }

    pub async fn quit(mut self) {
        self.command(json!({"cmd": "quit"})).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}
