//! The hub benchmark: rooms of editors typing into shared documents over the Yjs sync
//! protocol (one y-protocols message per binary WebSocket frame, one document per socket),
//! measured first against Debian's reference y-websocket server.
//!
//! Every target gets the same load from this process ([`load`]); [`compare`] prints one
//! target's figures as ratios of the reference's.

pub(crate) mod editor;
mod load;
pub(crate) mod ours;
pub(crate) mod process;

pub use load::{load, Report};
use process::Server;
use std::time::Duration;

/// The reference server from Debian's `node-y-websocket` (y-websocket 1.4.5).
const REFERENCE_SERVER: &str = "/usr/bin/y-websocket-server";
/// Where Debian installs Node modules; Debian's own node searches it, other builds need telling.
const DEBIAN_NODE_MODULES: &str = "/usr/share/nodejs";

pub struct Options {
    pub rooms: usize,
    pub editors: usize,
    pub seconds: u64,
    pub interval_ms: u64,
}

/// A server under load.
pub struct Target {
    /// Short, for headings and ratios.
    pub name: String,
    /// The server process whose memory (VmRSS) and CPU time are read from /proc.
    pub pid: u32,
    /// The WebSocket URL editor `editor` (0-based) of room `room` (0-based) connects to.
    /// Editors of the same room must reach the same document.
    pub url_for: Box<dyn Fn(usize, usize) -> String + Send + Sync>,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let (server, target) = reference().await?;
    let reference = measure(server, &target, &options).await?;
    println!("{reference}");
    if let Some((server, target, _scratch)) = hub(&options).await? {
        let ours = measure(server, &target, &options).await?;
        println!("{ours}");
        compare(&reference, &ours);
    }
    Ok(())
}

/// Debian's y-websocket server on a free loopback port, a document per room name.
async fn reference() -> anyhow::Result<(Server, Target)> {
    let port = process::free_port()?;
    let node_path = match std::env::var("NODE_PATH") {
        Ok(path) if !path.is_empty() => format!("{path}:{DEBIAN_NODE_MODULES}"),
        _ => DEBIAN_NODE_MODULES.to_owned(),
    };
    let mut command = tokio::process::Command::new(REFERENCE_SERVER);
    command
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("NODE_PATH", node_path);
    let server = Server::start(command, port).await?;
    let target = Target {
        name: "y-websocket".to_owned(),
        pid: server.pid()?,
        url_for: Box::new(move |room, _editor| format!("ws://127.0.0.1:{port}/bench-room-{room}")),
    };
    Ok((server, target))
}

/// The hub, measured after the reference with the same options and compared with it.
async fn hub(options: &Options) -> anyhow::Result<Option<(Server, Target, testkit::Scratch)>> {
    ours::start(options.rooms).await.map(Some)
}

/// Loads `target`, then stops its server whether or not the load succeeded.
async fn measure(server: Server, target: &Target, options: &Options) -> anyhow::Result<Report> {
    let report = load(target, options).await;
    server.stop().await;
    report
}

/// Prints `ours` as multiples of `reference`: below 1 is better for latency and memory,
/// above 1 for throughput.
pub fn compare(reference: &Report, ours: &Report) {
    println!(
        "\nratio {}/{}: p50 {:.2}x, p99 {:.2}x, updates/s {:.2}x, deliveries/s {:.2}x, \
         memory per document {:.2}x",
        ours.name,
        reference.name,
        ratio(ours.latency.p50, reference.latency.p50),
        ratio(ours.latency.p99, reference.latency.p99),
        ours.sent_per_second() / reference.sent_per_second(),
        ours.latency.per_second / reference.latency.per_second,
        ours.memory_per_document() / reference.memory_per_document(),
    );
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}
