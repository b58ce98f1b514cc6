//! One origin for the web page, as the stack's nginx edge gives it: `/hub…` goes to the hub,
//! everything else to the api (which serves `web/`), WebSocket upgrades included. The page
//! then calls the hub's REST routes and opens its document sockets on its own origin.
//!
//! Each client connection carries one request (the request is sent upstream with
//! `Connection: close`), so routing looks only at a connection's first request line; an
//! upgraded connection is then spliced both ways. A test can cut the hub sockets whose
//! request matches a pattern (a user's token, say) and refuse new ones for a while: to the
//! browser that is a lost network, not a close frame.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

/// The largest request head the edge reads (the hub's tokens ride in the query string).
const MAX_HEAD_BYTES: usize = 64 * 1024;

#[derive(Default)]
struct Cuts {
    /// Open upgraded hub connections: their request head and the task splicing them.
    sockets: Vec<(String, AbortHandle)>,
    /// Request heads containing the pattern are refused until the instant.
    refused: Vec<(String, Instant)>,
}

/// The edge, listening on `127.0.0.1:<port>`; stops when dropped.
pub struct Edge {
    pub port: u16,
    cuts: Arc<Mutex<Cuts>>,
    task: JoinHandle<()>,
}

impl Edge {
    /// Routes `/hub` to `hub_port` and the rest to `api_port`, both on 127.0.0.1.
    pub async fn start(api_port: u16, hub_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let port = listener.local_addr().expect("an address").port();
        let cuts = Arc::new(Mutex::new(Cuts::default()));
        let shared = cuts.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let cuts = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(client, api_port, hub_port, cuts).await;
                });
            }
        });
        Self { port, cuts, task }
    }

    /// `http://127.0.0.1:<port>`
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Drops every open hub socket whose request contains `pattern`, and refuses new ones
    /// for `refuse_for`. Returns how many were cut.
    pub fn cut(&self, pattern: &str, refuse_for: Duration) -> usize {
        let mut cuts = self.cuts.lock().expect("the edge's lock");
        cuts.refused
            .push((pattern.to_owned(), Instant::now() + refuse_for));
        cuts.sockets.retain(|(_, task)| !task.is_finished());
        let before = cuts.sockets.len();
        cuts.sockets.retain(|(head, task)| {
            let hit = head.contains(pattern);
            if hit {
                task.abort();
            }
            !hit
        });
        before - cuts.sockets.len()
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        self.task.abort();
        for (_, task) in self.cuts.lock().expect("the edge's lock").sockets.drain(..) {
            task.abort();
        }
    }
}

async fn serve(
    mut client: TcpStream,
    api_port: u16,
    hub_port: u16,
    cuts: Arc<Mutex<Cuts>>,
) -> std::io::Result<()> {
    client.set_nodelay(true)?;
    let (head, rest) = read_head(&mut client).await?;
    let request_line = head.lines().next().unwrap_or_default().to_owned();
    let path = request_line.split(' ').nth(1).unwrap_or("/");
    let to_hub = path == "/hub" || path.starts_with("/hub/") || path.starts_with("/hub?");
    let upgrade = head.to_ascii_lowercase().contains("\r\nupgrade: websocket");
    if to_hub && upgrade {
        let refused = {
            let mut cuts = cuts.lock().expect("the edge's lock");
            let now = Instant::now();
            cuts.refused.retain(|(_, until)| *until > now);
            cuts.refused
                .iter()
                .any(|(pattern, _)| head.contains(pattern))
        };
        if refused {
            // As a dead network looks: the connection goes without an answer.
            return Ok(());
        }
    }
    let mut upstream =
        TcpStream::connect(("127.0.0.1", if to_hub { hub_port } else { api_port })).await?;
    upstream.set_nodelay(true)?;
    let head = if upgrade { head } else { one_request(&head) };
    upstream.write_all(head.as_bytes()).await?;
    upstream.write_all(&rest).await?;
    if to_hub && upgrade {
        let splice = tokio::spawn(async move {
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        });
        cuts.lock()
            .expect("the edge's lock")
            .sockets
            .push((request_line, splice.abort_handle()));
        let _ = splice.await;
    } else {
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    }
    Ok(())
}

/// Reads up to the end of the request head; returns it and whatever came after it.
async fn read_head(client: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buffer.split_off(end + 4);
            return Ok((String::from_utf8_lossy(&buffer).into_owned(), rest));
        }
        if buffer.len() > MAX_HEAD_BYTES {
            return Err(std::io::Error::other("request head too large"));
        }
        let read = client.read(&mut chunk).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

/// The head with `Connection: close`, so the upstream ends the connection after one answer.
fn one_request(head: &str) -> String {
    let mut lines: Vec<&str> = head
        .trim_end_matches("\r\n")
        .split("\r\n")
        .filter(|line| {
            let name = line.split(':').next().unwrap_or_default().trim();
            !name.eq_ignore_ascii_case("connection") && !name.eq_ignore_ascii_case("keep-alive")
        })
        .collect();
    lines.push("Connection: close");
    format!("{}\r\n\r\n", lines.join("\r\n"))
}
