//! The grading benchmark: submit-to-verdict latency of the whole pipeline against a bare
//! `docker run --rm` of the same image, and cached against uncached list reads. The services
//! are the test kit's: a grader and two apis (list cache on, list cache off) on one scratch
//! database and key prefix, so both apis read the same rows.

use crate::stats::Summary;
use anyhow::{bail, Context};
use contracts::{Keys, ResultKind, Streams, Verdict};
use futures_util::{stream, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::{spawn, Scratch, Service};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const CORRECT_SOLUTION: &str = "print('Hello, World!')";
const VERDICT_TIMEOUT: Duration = Duration::from_secs(120);

pub struct Options {
    pub submissions: usize,
    pub concurrency: usize,
    pub list_seconds: usize,
}

/// The api, with its list cache on or off; the queue never refuses or holds back the bench's
/// submissions.
async fn start_api(scratch: &Scratch, cache: bool) -> Service {
    spawn::api(scratch, |settings| {
        settings.cache_enabled = cache;
        settings.max_queue_backlog = 1_000_000;
        settings.max_unfinished_per_user = 1_000_000;
        // One guest submits everything: let all of it go to the graders at once, as before
        // dispatch was fair between users.
        settings.dispatch_per_user = 1_000_000;
    })
    .await
}

/// One call to the api; its JSON answer, or an error naming the path and status.
async fn call(
    api: &Service,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let mut request = api.http.request(method, api.url(path));
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
    let image = testkit::sandbox::image();
    let scratch = Scratch::new("bench").await;
    let api = start_api(&scratch, true).await;
    let grader = spawn::grader(&scratch, |settings| {
        settings.concurrency = options.concurrency;
    })
    .await;
    let stop = CancellationToken::new();
    let verdicts = Arc::new(Verdicts::default());
    tokio::spawn(
        verdicts
            .clone()
            .watch(scratch.streams(), scratch.keys(), stop.clone()),
    );

    let token = call(&api, reqwest::Method::POST, "/api/auth/guest", None, None).await?["token"]
        .as_str()
        .context("no token")?
        .to_owned();
    let courses = call(
        &api,
        reqwest::Method::GET,
        "/api/courses",
        Some(&token),
        None,
    )
    .await?;
    let course = courses[0]["id"].as_i64().context("no course")?;
    let list_path = format!("/api/courses/{course}/assignments");
    let list = call(&api, reqwest::Method::GET, &list_path, Some(&token), None).await?;
    let first = list["assignments"][0]["id"]
        .as_i64()
        .context("no assignment")?;
    let submit_path = format!("/api/assignments/{first}/submissions");

    let submit_one = || async {
        let started = Instant::now();
        let created = call(
            &api,
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

    let mine = call(&api, reqwest::Method::GET, &submit_path, Some(&token), None).await?;
    let recorded = mine.as_array().map_or(0, |all| {
        all.iter().filter(|s| s["verdict"] == "accepted").count()
    });

    eprintln!(
        "reading the assignment list for {} s each, cached and uncached…",
        options.list_seconds
    );
    let uncached_api = start_api(&scratch, false).await;
    let readers = options.concurrency * 4;
    let window = Duration::from_secs(options.list_seconds as u64);
    let cached = read_for(&api, &list_path, &token, readers, window).await?;
    let uncached = read_for(&uncached_api, &list_path, &token, readers, window).await?;

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
    uncached_api.stop().await;
    api.stop().await;
    grader.stop().await;
    Ok(())
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
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
    api: &Service,
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
            call(api, reqwest::Method::GET, path, Some(token), None).await?;
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
