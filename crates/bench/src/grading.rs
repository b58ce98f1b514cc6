//! The grading benchmark: submit-to-verdict latency of the whole pipeline against a bare
//! `docker run --rm` of the same image, and cached against uncached list reads.

use crate::stats::Summary;
use anyhow::{bail, Context};
use contracts::{Keys, ResultKind, Streams, Verdict};
use db::scratch::ScratchDatabase;
use futures_util::{stream, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const CORRECT_SOLUTION: &str = "print('Hello, World!')";
const VERDICT_TIMEOUT: Duration = Duration::from_secs(120);

pub struct Options {
    pub submissions: usize,
    pub concurrency: usize,
    pub list_seconds: usize,
}

/// The sandbox image: `SANDBOX_IMAGE`, or whatever the build script prints.
fn sandbox_image() -> anyhow::Result<String> {
    if let Ok(image) = std::env::var("SANDBOX_IMAGE") {
        return Ok(image);
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/sandbox/build.sh");
    let output = std::process::Command::new("bash").arg(script).output()?;
    if !output.status.success() {
        bail!(
            "{script} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8(output.stdout)?;
    Ok(stdout
        .lines()
        .last()
        .context("no image printed")?
        .trim()
        .to_owned())
}

struct Platform {
    base: String,
    client: reqwest::Client,
}

impl Platform {
    async fn start(database: &str, redis: &str, prefix: &str, cache: bool) -> anyhow::Result<Self> {
        let mut settings = api::settings::Settings::for_tests(database, redis, prefix);
        settings.cache_enabled = cache;
        settings.max_queue_backlog = 1_000_000;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let app = api::Application::build(settings, listener).await?;
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        Ok(Self {
            base,
            client: reqwest::Client::new(),
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("{path}: {status} {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }
}

/// When each submission's verdict appeared on the results stream.
#[derive(Default)]
struct Verdicts {
    seen: Mutex<HashMap<i64, (Instant, Verdict)>>,
    changed: Notify,
}

impl Verdicts {
    async fn watch(self: Arc<Self>, streams: Streams, keys: Keys, stop: CancellationToken) {
        let results = keys.results();
        let mut after = "0-0".to_owned();
        while !stop.is_cancelled() {
            let Ok(batch) = streams
                .read_after(&results, &after, 256, Duration::from_millis(500))
                .await
            else {
                continue;
            };
            for delivery in batch {
                after = delivery.id.clone();
                if let Ok(event) = delivery.message {
                    if let ResultKind::Graded { verdict, .. } = event.kind {
                        let mut seen = self.seen.lock().expect("not poisoned");
                        seen.insert(event.submission_id.0, (Instant::now(), verdict));
                    }
                }
            }
            self.changed.notify_waiters();
        }
    }

    async fn wait(&self, id: i64) -> anyhow::Result<(Instant, Verdict)> {
        let deadline = Instant::now() + VERDICT_TIMEOUT;
        loop {
            let notified = self.changed.notified();
            if let Some(seen) = self.seen.lock().expect("not poisoned").get(&id) {
                return Ok(*seen);
            }
            if Instant::now() > deadline {
                bail!("no verdict for submission {id}");
            }
            let _ = tokio::time::timeout(Duration::from_millis(200), notified).await;
        }
    }
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let database_url = crate::env_or(
        "DATABASE_URL",
        "postgres://platform@127.0.0.1:5432/platform",
    );
    let redis_url = crate::env_or("REDIS_URL", "redis://127.0.0.1:6379");
    let image = sandbox_image()?;
    let database = ScratchDatabase::create(&database_url).await?;
    let scratch = contracts::scratch::ScratchPrefix::new(&redis_url, "bench");
    let prefix = scratch.prefix().to_owned();
    let keys = Keys::new(prefix.clone());
    let streams = Streams::new(contracts::redis_pool(&redis_url, 8)?, 100_000);

    let platform = Platform::start(database.url(), &redis_url, &prefix, true).await?;
    let stop = CancellationToken::new();
    let grader = start_grader(
        &redis_url,
        &prefix,
        &image,
        options.concurrency,
        stop.clone(),
    )?;
    let verdicts = Arc::new(Verdicts::default());
    tokio::spawn(
        verdicts
            .clone()
            .watch(streams.clone(), keys.clone(), stop.clone()),
    );

    let token = platform
        .call(reqwest::Method::POST, "/api/auth/guest", None, None)
        .await?["token"]
        .as_str()
        .context("no token")?
        .to_owned();
    let courses = platform
        .call(reqwest::Method::GET, "/api/courses", Some(&token), None)
        .await?;
    let course = courses[0]["id"].as_i64().context("no course")?;
    let list_path = format!("/api/courses/{course}/assignments");
    let list = platform
        .call(reqwest::Method::GET, &list_path, Some(&token), None)
        .await?;
    let first = list["assignments"][0]["id"]
        .as_i64()
        .context("no assignment")?;
    let submit_path = format!("/api/assignments/{first}/submissions");

    let submit_one = || async {
        let started = Instant::now();
        let created = platform
            .call(
                reqwest::Method::POST,
                &submit_path,
                Some(&token),
                Some(json!({"code": CORRECT_SOLUTION})),
            )
            .await?;
        let id = created["id"].as_i64().context("no id")?;
        let (at, verdict) = verdicts.wait(id).await?;
        anyhow::ensure!(
            verdict == Verdict::Accepted,
            "submission {id} got {verdict:?}"
        );
        Ok::<_, anyhow::Error>(at - started)
    };
    eprintln!("warming up (one submission)…");
    submit_one().await?;

    eprintln!(
        "grading {} submissions at concurrency {}…",
        options.submissions, options.concurrency
    );
    let started = Instant::now();
    let latencies: Vec<Duration> = stream::iter(0..options.submissions)
        .map(|_| submit_one())
        .buffer_unordered(options.concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let pipeline = Summary::of(latencies, started.elapsed());

    eprintln!(
        "running {} bare `docker run --rm` at concurrency {}…",
        options.submissions, options.concurrency
    );
    let started = Instant::now();
    let runs: Vec<Duration> = stream::iter(0..options.submissions)
        .map(|_| bare_docker_run(&image))
        .buffer_unordered(options.concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let bare = Summary::of(runs, started.elapsed());

    let mine = platform
        .call(reqwest::Method::GET, &submit_path, Some(&token), None)
        .await?;
    let recorded = mine.as_array().map_or(0, |all| {
        all.iter().filter(|s| s["verdict"] == "accepted").count()
    });

    eprintln!(
        "reading the assignment list for {} s each, cached and uncached…",
        options.list_seconds
    );
    let uncached_platform = Platform::start(database.url(), &redis_url, &prefix, false).await?;
    let readers = options.concurrency * 4;
    let window = Duration::from_secs(options.list_seconds as u64);
    let cached = read_for(&platform, &list_path, &token, readers, window).await?;
    let uncached = read_for(&uncached_platform, &list_path, &token, readers, window).await?;

    println!(
        "\n== grading: {} correct submissions, concurrency {}, image {image}",
        options.submissions, options.concurrency
    );
    println!("{}", Summary::header());
    println!("{}", pipeline.row("submit → verdict (api+grader)"));
    println!("{}", bare.row("bare docker run --rm python3 -c pass"));
    println!(
        "ratio pipeline/bare: p50 {:.2}x, p95 {:.2}x, p99 {:.2}x, throughput {:.2}x",
        ratio(pipeline.p50, bare.p50),
        ratio(pipeline.p95, bare.p95),
        ratio(pipeline.p99, bare.p99),
        pipeline.per_second / bare.per_second
    );
    println!("verdicts recorded as accepted in Postgres: {recorded} (last 50 listed)");
    println!(
        "\n== assignment list reads, {readers} concurrent readers, {} s each",
        options.list_seconds
    );
    println!("{}", Summary::header());
    println!("{}", cached.row("cached (Redis cache-aside)"));
    println!("{}", uncached.row("uncached (Postgres every time)"));
    println!(
        "ratio cached/uncached throughput: {:.2}x",
        cached.per_second / uncached.per_second
    );

    stop.cancel();
    grader.await??;
    Ok(())
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn start_grader(
    redis_url: &str,
    prefix: &str,
    image: &str,
    concurrency: usize,
    stop: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<Result<(), grader::GraderError>>> {
    let tag = image.rsplit_once(':').map_or(image, |(_, tag)| tag);
    let text = format!("{}\nsandbox_tag = {tag:?}\n", grader::settings::DEFAULTS);
    let mut settings: grader::Settings = settings::load_from(
        "BENCH_GRADER",
        &text,
        None,
        std::path::Path::new("/nonexistent"),
    )?;
    settings.redis_url = redis_url.to_owned().into();
    settings.key_prefix = prefix.to_owned();
    settings.concurrency = concurrency;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(tokio::spawn(grader::run(settings, listener, stop)))
}

/// One `docker run --rm` of the sandbox image doing nothing, with no network like the grader.
async fn bare_docker_run(image: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let status = tokio::process::Command::new("docker")
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "python3",
            image,
            "-c",
            "pass",
        ])
        .status()
        .await?;
    anyhow::ensure!(status.success(), "docker run failed: {status}");
    Ok(started.elapsed())
}

/// `readers` clients reading `path` in a loop for `window`.
async fn read_for(
    platform: &Platform,
    path: &str,
    token: &str,
    readers: usize,
    window: Duration,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let per_reader = futures_util::future::join_all((0..readers).map(|_| async {
        let mut samples = Vec::new();
        while started.elapsed() < window {
            let begun = Instant::now();
            platform
                .call(reqwest::Method::GET, path, Some(token), None)
                .await?;
            samples.push(begun.elapsed());
        }
        Ok::<_, anyhow::Error>(samples)
    }))
    .await;
    let mut samples = Vec::new();
    for reader in per_reader {
        samples.extend(reader?);
    }
    Ok(Summary::of(samples, started.elapsed()))
}
