//! Relay benchmark: delivery latency, throughput and memory per socket, next to a bare Redis
//! `XREAD BLOCK` reader of the same events.
//!
//! ```sh
//! cargo run --release -p relay --example relay_bench -- \
//!     --sockets 5000 --users 1000 --rate 500 --seconds 10
//! ```
//!
//! One relay runs in this process (its real `Application`, on port 0, against the local Redis
//! under a scratch key prefix). The WebSocket clients run in a child process, so that this
//! process's resident memory grows only by what the relay holds per socket: memory per socket
//! is (RSS with the sockets open − RSS before) / sockets, both sampled here with the relay
//! started and idle. A second child is the bare `XREAD BLOCK` reader. This process publishes
//! `ResultEvent`s at the given rate, each stamped (`finished_at`) just before its `XADD`; each
//! receiver measures stamp → receipt. Every user gets sockets / users sockets, so each event is
//! delivered that many times. Not a test: it prints figures and ratios.

use chrono::{DateTime, Utc};
use contracts::{
    AssignmentId, Keys, ResultEvent, ResultKind, Streams, SubmissionId, UserId, Verdict,
    MESSAGE_VERSION,
};
use futures_util::{SinkExt, StreamExt};
use relay::settings::Settings;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokens::{Role, TokenKeys};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// Sockets being opened at once by the client process.
const CONNECT_CONCURRENCY: usize = 200;

struct Options {
    sockets: usize,
    users: usize,
    rate: u32,
    seconds: u64,
    redis_url: String,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let number = |name: &str, default: u64| -> anyhow::Result<u64> {
        value(name).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| anyhow::anyhow!("{name} needs a number, got {v}"))
        })
    };
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    match value("--role").as_deref() {
        Some("clients") => runtime(true)?.block_on(clients(
            value("--url").expect("--url"),
            number("--sockets", 0)? as usize,
            number("--users", 0)? as usize,
        )),
        Some("bare") => {
            runtime(false)?.block_on(bare(redis_url, value("--prefix").expect("--prefix")))
        }
        Some(other) => anyhow::bail!("unknown role {other}"),
        None => {
            let options = Options {
                sockets: number("--sockets", 5000)? as usize,
                users: number("--users", 1000)? as usize,
                rate: number("--rate", 500)? as u32,
                seconds: number("--seconds", 10)?,
                redis_url,
            };
            anyhow::ensure!(
                options.users > 0 && options.sockets >= options.users && options.rate > 0,
                "need --sockets >= --users > 0 and --rate > 0"
            );
            runtime(false)?.block_on(bench(options))
        }
    }
}

fn runtime(multi_thread: bool) -> std::io::Result<tokio::runtime::Runtime> {
    if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
}

/// The parent: relay, publisher, memory and the report.
async fn bench(options: Options) -> anyhow::Result<()> {
    let files = raise_open_files_limit()?;
    anyhow::ensure!(
        files > options.sockets as u64 + 100,
        "the open-files limit is {files}; {} sockets need more (raise the hard limit)",
        options.sockets
    );
    let prefix = format!("bench-{}:", uuid::Uuid::new_v4().simple());
    let mut settings: Settings = testkit::spawn::load_settings(
        relay::settings::DEFAULTS,
        &[
            ("redis_url", &options.redis_url),
            ("key_prefix", &prefix),
            ("jwt_secret", testkit::JWT_SECRET),
        ],
    );
    settings.max_connections_per_user = options.sockets.div_ceil(options.users) + 1;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let app = relay::run(settings, listener).await?;
    let port = app.port();
    let stop_relay = app.shutdown_token();
    let served = tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();
    wait_until_ready(&http, port).await?;

    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss_kib()?;

    let exe = std::env::current_exe()?;
    let mut bare_child =
        spawn_child(Command::new(&exe).args(["--role", "bare", "--prefix", &prefix]))?;
    let mut bare_out = lines(&mut bare_child);
    expect_line(&mut bare_out, "READY").await?;

    let opened = Instant::now();
    let mut clients_child = spawn_child(Command::new(&exe).args([
        "--role",
        "clients",
        "--url",
        &format!("ws://127.0.0.1:{port}/ws"),
        "--sockets",
        &options.sockets.to_string(),
        "--users",
        &options.users.to_string(),
    ]))?;
    let mut clients_out = lines(&mut clients_child);
    let ready = expect_line(&mut clients_out, "READY").await?;
    let open_time = opened.elapsed();
    let client_memory: Value = serde_json::from_str(&ready)?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = rss_kib()?;
    let open_sockets = metric(&http, port, "relay_open_sockets").await?;

    // Publish for `seconds` at `rate`, users chosen round-robin with a stride.
    let pool = contracts::redis_pool(&options.redis_url, 8)?;
    let streams = Streams::new(pool, 1_000_000);
    let stream = Keys::new(prefix.clone()).results();
    let total = options.rate as u64 * options.seconds;
    let period = Duration::from_secs_f64(1.0 / options.rate as f64);
    let started = tokio::time::Instant::now();
    let mut expected_deliveries = 0u64;
    let sockets_of = |user: usize| {
        (0..options.sockets)
            .filter(|i| i % options.users == user)
            .count() as u64
    };
    let per_user: Vec<u64> = (0..options.users).map(sockets_of).collect();
    let mut in_flight = Vec::new();
    for n in 0..total {
        tokio::time::sleep_until(started + period * n as u32).await;
        let user = (n as usize * 7919) % options.users;
        expected_deliveries += per_user[user];
        let event = graded(user as i64 + 1, n as i64);
        let streams = streams.clone();
        let stream = stream.clone();
        // XADD off the pacing loop, so a slow round trip does not lower the rate.
        in_flight.push(tokio::spawn(async move {
            let mut event = event;
            if let ResultKind::Graded { finished_at, .. } = &mut event.kind {
                *finished_at = Utc::now();
            }
            streams.publish(&stream, &event).await
        }));
    }
    for publish in in_flight {
        publish.await??;
    }
    let publish_time = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Closing their standard input tells the children to report.
    let relay_result = finish(clients_child, clients_out).await?;
    let bare_result = finish(bare_child, bare_out).await?;
    let delivered_metric =
        metric(&http, port, "relay_events_delivered_total{path=\"live\"}").await?;
    let slow_closed = metric(&http, port, "relay_slow_consumers_closed_total").await?;
    stop_relay.cancel();
    let _ = served.await;
    delete_keys(&streams, &prefix).await?;

    let per_socket_kib = (rss_after.saturating_sub(rss_before)) as f64 / options.sockets as f64;
    let received = relay_result["received"].as_u64().unwrap_or(0);
    println!(
        "relay bench: {} sockets for {} users, {} events/s for {} s (release build, {} cores)",
        options.sockets,
        options.users,
        options.rate,
        options.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "sockets: {} open at the relay after {:.1} s",
        open_sockets,
        open_time.as_secs_f64()
    );
    println!(
        "memory: relay process RSS {:.1} MiB idle -> {:.1} MiB with the sockets open = {:.1} KiB per socket",
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        per_socket_kib
    );
    println!(
        "        (clients live in a child process, {:.1} KiB per client socket there; kernel socket buffers are in neither)",
        client_memory["kib_per_socket"].as_f64().unwrap_or(0.0)
    );
    println!(
        "published: {} events in {:.2} s ({:.0}/s)",
        total,
        publish_time.as_secs_f64(),
        total as f64 / publish_time.as_secs_f64()
    );
    println!(
        "delivered: {} of {} expected frames ({:.0} frames/s while events flowed); relay counter {}; slow consumers closed {}",
        received,
        expected_deliveries,
        relay_result["per_second"].as_f64().unwrap_or(0.0),
        delivered_metric,
        slow_closed
    );
    println!(
        "bare XREAD: {} of {} events",
        bare_result["received"].as_u64().unwrap_or(0),
        total
    );
    println!("latency, stream add -> receipt     p50        p99        max");
    for (name, result) in [
        ("relay WebSocket (per frame)", &relay_result),
        ("bare XREAD BLOCK (per event)", &bare_result),
    ] {
        println!(
            "  {name:<30} {:>7.3} ms {:>7.3} ms {:>7.3} ms",
            result["p50_ms"].as_f64().unwrap_or(f64::NAN),
            result["p99_ms"].as_f64().unwrap_or(f64::NAN),
            result["max_ms"].as_f64().unwrap_or(f64::NAN),
        );
    }
    let ratio = |key: &str| {
        relay_result[key].as_f64().unwrap_or(f64::NAN)
            / bare_result[key].as_f64().unwrap_or(f64::NAN)
    };
    println!(
        "  {:<30} {:>7.2} x    {:>7.2} x    {:>7.2} x",
        "ratio relay / bare",
        ratio("p50_ms"),
        ratio("p99_ms"),
        ratio("max_ms")
    );
    Ok(())
}

/// The client process: opens the sockets, reports its memory, then measures every event.
async fn clients(url: String, sockets: usize, users: usize) -> anyhow::Result<()> {
    raise_open_files_limit()?;
    let rss_before = rss_kib()?;
    let keys = TokenKeys::new(
        &SecretString::from(testkit::JWT_SECRET),
        chrono::Duration::hours(1),
    );
    let opened: Vec<_> = futures_util::stream::iter(0..sockets)
        .map(|i| {
            let token = keys
                .issue(
                    UserId((i % users) as i64 + 1),
                    Role::Student,
                    "bench",
                    false,
                )
                .token;
            let url = url.clone();
            async move {
                let (mut ws, _) = tokio_tungstenite::connect_async(&url).await?;
                ws.send(Message::text(
                    json!({"type": "auth", "token": token}).to_string(),
                ))
                .await?;
                match ws.next().await {
                    Some(Ok(Message::Text(text))) if text.contains("\"ready\"") => Ok(ws),
                    other => anyhow::bail!("expected ready, got {other:?}"),
                }
            }
        })
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let sockets_open: Vec<_> = opened.into_iter().collect::<anyhow::Result<_>>()?;
    let rss_after = rss_kib()?;
    println!(
        "READY {}",
        json!({"kib_per_socket": (rss_after.saturating_sub(rss_before)) as f64 / sockets as f64})
    );

    let stop = CancellationToken::new();
    let readers: Vec<_> = sockets_open
        .into_iter()
        .map(|mut ws| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut samples = Samples::default();
                loop {
                    let message = tokio::select! {
                        () = stop.cancelled() => break,
                        message = ws.next() => message,
                    };
                    let Some(Ok(Message::Text(text))) = message else {
                        if matches!(message, None | Some(Err(_)) | Some(Ok(Message::Close(_)))) {
                            break;
                        }
                        continue;
                    };
                    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    match value["type"].as_str() {
                        Some("event") => samples.add(&value["event"]),
                        Some("ping") => {
                            let pong = Message::text(r#"{"type":"pong"}"#);
                            if ws.send(pong).await.is_err() {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                samples
            })
        })
        .collect();
    wait_for_stdin_to_close().await;
    stop.cancel();
    let mut all = Samples::default();
    for reader in readers {
        all.merge(reader.await?);
    }
    println!("RESULT {}", all.report());
    Ok(())
}

/// The bare reader: `XREAD BLOCK` after the last id, as the relay's reader does, no sockets.
async fn bare(redis_url: String, prefix: String) -> anyhow::Result<()> {
    let streams = Streams::new(contracts::redis_pool(&redis_url, 2)?, 1_000_000);
    let stream = Keys::new(prefix).results();
    let mut after = streams
        .bounds(&stream)
        .await?
        .map_or_else(|| "0-0".to_owned(), |b| b.last);
    println!("READY {{}}");
    let stop = CancellationToken::new();
    let stopper = stop.clone();
    tokio::spawn(async move {
        wait_for_stdin_to_close().await;
        stopper.cancel();
    });
    let mut samples = Samples::default();
    loop {
        let read = tokio::select! {
            () = stop.cancelled() => break,
            read = streams.read_after(&stream, &after, 512, Duration::from_secs(1)) => read?,
        };
        for delivery in read {
            after = delivery.id;
            if let Ok(event) = delivery.message {
                samples.add(&serde_json::to_value(&event)?);
            }
        }
    }
    println!("RESULT {}", samples.report());
    Ok(())
}

/// Latencies (stamp → receipt) and the receipt window.
#[derive(Default)]
struct Samples {
    millis: Vec<f64>,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
}

impl Samples {
    fn add(&mut self, event: &Value) {
        let now = Utc::now();
        let Ok(stamp) = serde_json::from_value::<DateTime<Utc>>(event["finished_at"].clone())
        else {
            return;
        };
        self.millis
            .push((now - stamp).num_microseconds().unwrap_or(0) as f64 / 1000.0);
        self.first = Some(self.first.map_or(now, |f| f.min(now)));
        self.last = Some(self.last.map_or(now, |l| l.max(now)));
    }

    fn merge(&mut self, other: Samples) {
        self.millis.extend(other.millis);
        self.first = match (self.first, other.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last = match (self.last, other.last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    fn report(mut self) -> Value {
        self.millis.sort_by(f64::total_cmp);
        let at = |q: f64| {
            if self.millis.is_empty() {
                f64::NAN
            } else {
                self.millis[((self.millis.len() - 1) as f64 * q).round() as usize]
            }
        };
        let window = match (self.first, self.last) {
            (Some(first), Some(last)) => (last - first).num_milliseconds() as f64 / 1000.0,
            _ => 0.0,
        };
        json!({
            "received": self.millis.len(),
            "p50_ms": at(0.5),
            "p99_ms": at(0.99),
            "max_ms": at(1.0),
            "per_second": if window > 0.0 { self.millis.len() as f64 / window } else { 0.0 },
        })
    }
}

fn graded(user: i64, submission: i64) -> ResultEvent {
    let now = Utc::now();
    ResultEvent {
        v: MESSAGE_VERSION,
        submission_id: SubmissionId(submission),
        user_id: UserId(user),
        assignment_id: AssignmentId(1),
        enqueued_at: now,
        kind: ResultKind::Graded {
            verdict: Verdict::WrongAnswer,
            tests: Vec::new(),
            feedback: "add(2, 3): expected 5, got 6".into(),
            started_at: now,
            finished_at: now,
        },
    }
}

fn spawn_child(command: &mut Command) -> std::io::Result<Child> {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
}

fn lines(child: &mut Child) -> tokio::io::Lines<BufReader<ChildStdout>> {
    BufReader::new(child.stdout.take().expect("piped stdout")).lines()
}

/// The rest of the first line starting with `tag`.
async fn expect_line(
    out: &mut tokio::io::Lines<BufReader<ChildStdout>>,
    tag: &str,
) -> anyhow::Result<String> {
    let wait = tokio::time::timeout(Duration::from_secs(300), async {
        while let Some(line) = out.next_line().await? {
            if let Some(rest) = line.strip_prefix(tag) {
                return Ok(rest.trim().to_owned());
            }
        }
        anyhow::bail!("the child ended before printing {tag}")
    });
    wait.await
        .map_err(|_| anyhow::anyhow!("no {tag} from the child"))?
}

/// Closes the child's standard input and reads its report.
async fn finish(
    mut child: Child,
    mut out: tokio::io::Lines<BufReader<ChildStdout>>,
) -> anyhow::Result<Value> {
    if let Some(mut stdin) = child.stdin.take() {
        stdin.shutdown().await?;
    }
    let result = expect_line(&mut out, "RESULT").await?;
    child.wait().await?;
    Ok(serde_json::from_str(&result)?)
}

async fn wait_for_stdin_to_close() {
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
}

async fn wait_until_ready(http: &reqwest::Client, port: u16) -> anyhow::Result<()> {
    for _ in 0..500 {
        if let Ok(response) = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if response.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    anyhow::bail!("the relay never became ready")
}

async fn metric(http: &reqwest::Client, port: u16, series: &str) -> anyhow::Result<f64> {
    let text = http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .ok_or_else(|| anyhow::anyhow!("no {series} in /metrics"))?
        .parse()
        .map_err(Into::into)
}

async fn delete_keys(streams: &Streams, prefix: &str) -> anyhow::Result<()> {
    let mut conn = streams.pool().get().await?;
    let keys: Vec<String> = deadpool_redis::redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await?;
    if !keys.is_empty() {
        deadpool_redis::redis::cmd("DEL")
            .arg(keys)
            .query_async::<()>(&mut conn)
            .await?;
    }
    Ok(())
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS in /proc/self/status"))
}

/// Raises the soft open-files limit to the hard one; returns the new soft limit.
fn raise_open_files_limit() -> anyhow::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        limit.rlim_cur = limit.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
    }
    Ok(limit.rlim_cur)
}
