//! The steady load of editors on one phase's document: writers type a token every few hundred
//! milliseconds, half of them starting on each hub replica, and two observers (one per replica)
//! only read. An edit is acknowledged once an observer has it: the hub accepted it and passed
//! it on, so it must survive whatever happens next. Every peer moves to the other replica when
//! it loses its socket and keeps typing meanwhile; its next handshake sends what it typed.
//! An edit typed while the platform was broken need not be acknowledged at once, but once the
//! typing stops the writers stay until everything they typed has been received: what never is
//! was dropped by the platform while its writer was still there to send it again.

use super::peer::{tokens, Peer, Received};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// Pause before a peer that lost its socket tries again.
const RETRY: Duration = Duration::from_millis(300);
/// Time the writers stay connected after the last edit, for what they typed to get through.
pub const SETTLE: Duration = Duration::from_secs(10);

type Tokens = Arc<Mutex<HashSet<String>>>;

/// What the phase's editors did.
#[derive(Debug, Default)]
pub struct Edits {
    /// Every token a writer typed.
    pub typed: HashSet<String>,
    /// The tokens an observer received.
    pub acknowledged: HashSet<String>,
    /// Peers (writers and observers) that had no socket when they were stopped.
    pub offline_at_end: usize,
}

impl Edits {
    /// Typed, and never received by anyone although its writer stayed on the platform: the
    /// hub dropped it without telling the writer to send it again.
    pub fn never_acknowledged(&self) -> Vec<&str> {
        let mut never: Vec<&str> = self
            .typed
            .difference(&self.acknowledged)
            .map(String::as_str)
            .collect();
        never.sort_unstable();
        never
    }
}

pub struct Editing {
    typed: Tokens,
    acknowledged: Tokens,
    stop_typing: CancellationToken,
    stop: CancellationToken,
    peers: Vec<JoinHandle<bool>>,
}

impl Editing {
    /// Starts `writers` writers and two observers; `urls(i)` are peer `i`'s document URLs on
    /// the two replicas. Cancelling `stop` stops them all at once (an error's way out);
    /// [`Editing::finish`] stops them in order.
    pub fn start(
        urls: impl Fn(usize) -> [String; 2],
        writers: usize,
        interval: Duration,
        stop: &CancellationToken,
    ) -> Self {
        let mut editing = Self {
            typed: Tokens::default(),
            acknowledged: Tokens::default(),
            stop_typing: CancellationToken::new(),
            stop: stop.child_token(),
            peers: Vec::new(),
        };
        for i in 0..2 {
            let peer = Peer::new(urls(i), i);
            let seen = Some(editing.acknowledged.clone());
            let stop = editing.stop.clone();
            editing
                .peers
                .push(tokio::spawn(run(peer, None, seen, stop)));
        }
        for i in 0..writers {
            let first = Instant::now() + interval * i as u32 / writers as u32;
            let mut ticks = tokio::time::interval_at(first, interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
            let typing = Typing {
                name: format!("w{i}"),
                count: 0,
                ticks,
                typed: editing.typed.clone(),
                stop: editing.stop_typing.clone(),
            };
            let peer = Peer::new(urls(i), i % 2);
            let stop = editing.stop.clone();
            editing
                .peers
                .push(tokio::spawn(run(peer, Some(typing), None, stop)));
        }
        editing
    }

    /// Stops the typing, lets the peers stay until everything typed has been received (or
    /// for [`SETTLE`]), then stops them.
    pub async fn finish(self) -> Edits {
        self.stop_typing.cancel();
        let deadline = Instant::now() + SETTLE;
        while Instant::now() < deadline && !self.everything_received() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.stop.cancel();
        let mut offline_at_end = 0;
        for peer in self.peers {
            if !peer.await.unwrap_or(false) {
                offline_at_end += 1;
            }
        }
        let take = |tokens: &Tokens| std::mem::take(&mut *tokens.lock().expect("not poisoned"));
        Edits {
            typed: take(&self.typed),
            acknowledged: take(&self.acknowledged),
            offline_at_end,
        }
    }

    fn everything_received(&self) -> bool {
        let typed = self.typed.lock().expect("not poisoned");
        let acknowledged = self.acknowledged.lock().expect("not poisoned");
        typed.is_subset(&acknowledged)
    }
}

/// A writer's typing: a token `<name.count>` every tick until `stop`.
struct Typing {
    name: String,
    count: u64,
    ticks: Interval,
    typed: Tokens,
    stop: CancellationToken,
}

impl Typing {
    /// The next token, when it is time to type it (never, once typing has stopped).
    async fn next(&mut self) -> String {
        tokio::select! {
            _ = self.ticks.tick() => {}
            () = self.stop.cancelled() => std::future::pending().await,
        }
        self.count += 1;
        let token = format!("<{}.{}>", self.name, self.count);
        self.typed
            .lock()
            .expect("not poisoned")
            .insert(token.clone());
        token
    }
}

/// Keeps `peer` connected (to the other replica after losing one) until `stop`, typing if it
/// is a writer and adding what it receives to `seen` if it is an observer; whether it was
/// connected at the end.
async fn run(
    mut peer: Peer,
    mut typing: Option<Typing>,
    seen: Option<Tokens>,
    stop: CancellationToken,
) -> bool {
    let mut retry_at = Instant::now();
    loop {
        tokio::select! {
            received = peer.next() => match received {
                Ok(Received::Synced | Received::Update) => {
                    if let Some(seen) = &seen {
                        let text = peer.text();
                        let mut seen = seen.lock().expect("not poisoned");
                        for token in tokens(&text) {
                            if !seen.contains(token) {
                                seen.insert(token.to_owned());
                            }
                        }
                    }
                }
                Ok(Received::Other) => {}
                Err(_) => retry_at = Instant::now() + RETRY,
            },
            token = async {
                match typing.as_mut() {
                    Some(typing) => typing.next().await,
                    None => std::future::pending().await,
                }
            } => peer.type_at_end(&token).await,
            () = tokio::time::sleep_until(retry_at), if !peer.is_connected() => {
                if peer.connect().await.is_err() {
                    retry_at = Instant::now() + RETRY;
                }
            }
            () = stop.cancelled() => break,
        }
    }
    let connected = peer.is_connected();
    peer.close().await;
    connected
}
