//! Keystroke latency of the web IDE: a keystroke typed in one headless Chromium (WebDriver,
//! one key per call) until CodeMirror in a second Chromium has applied it to its view, for
//! two people in one file through the real api, hub and a one-origin edge; next to the same
//! path between two bare Yjs clients through the hub (Debian's y-websocket under Node, the
//! limit), with the ratio. Goal: p99 ≤ 50 ms on loopback.
//!
//! Both ends are timed in the pages on the machine's clock (`performance.timeOrigin +
//! performance.now()`, the keydown's own time stamp at the typing end), so WebDriver's round
//! trips are not counted; the k-th key pairs with the k-th change the other editor applies.

use crate::stats::Summary;
use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use testkit::browser::{register, run_script, STEP};
use testkit::{Browser, Edge, Scratch};

/// The goal for p99 of the browser path.
const GOAL: Duration = Duration::from_millis(50);

pub struct Options {
    pub keystrokes: usize,
    pub gap_ms: u64,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    run_script("deploy/web/vendor.sh")?;
    testkit::init_tracing();
    let scratch = Scratch::new("bench-ide").await;
    let web = testkit::env::repo_root().join("web");
    let api = testkit::spawn::api(&scratch, |s| s.web_dir = web.display().to_string()).await;
    let hub = testkit::spawn::hub(&scratch, |_| {}).await;
    let edge = Edge::start(api.port, hub.port).await;
    let base = edge.base();

    let http = reqwest::Client::new();
    let writer = register(&http, &base, "writer", "Writer").await?;
    let reader = register(&http, &base, "reader", "Reader").await?;
    let (project, file) = shared_file(&http, &base, &writer, &reader).await?;
    let token = writer["token"].as_str().context("token")?.to_owned();

    let typing = Browser::start("bench-ide-writer").await?;
    let watching = Browser::start("bench-ide-reader").await?;
    let measured = browsers(
        &typing,
        &watching,
        &base,
        [&writer, &reader],
        (project, file),
        &options,
    )
    .await;
    typing.quit().await;
    watching.quit().await;
    let (browser, browser_elapsed) = measured?;

    let started = Instant::now();
    let bare = bare_pair(&edge, project, file, &token, &options)?;
    let bare_elapsed = started.elapsed();
    hub.stop().await;
    api.stop().await;

    let browser = Summary::of(browser, browser_elapsed);
    let bare = Summary::of(bare, bare_elapsed);
    println!(
        "keystroke → rendered in the other editor, {} keystrokes {} ms apart",
        options.keystrokes, options.gap_ms
    );
    println!("{}", Summary::header());
    println!("{}", browser.row("browser → browser (IDE)"));
    println!("{}", bare.row("bare Yjs → Yjs via the hub (limit)"));
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-6);
    println!(
        "ratio IDE / limit: p50 {:.2}×, p99 {:.2}×",
        ratio(browser.p50, bare.p50),
        ratio(browser.p99, bare.p99)
    );
    println!(
        "goal p99 ≤ {} ms: {} ({:.1} ms)",
        GOAL.as_millis(),
        if browser.p99 <= GOAL {
            "met"
        } else {
            "NOT met"
        },
        browser.p99.as_secs_f64() * 1000.0
    );
    Ok(())
}

/// Sends `request` as `person` (a session answer of the api); the JSON answer, or `null` for
/// an empty one.
async fn call(request: reqwest::RequestBuilder, person: &Value) -> anyhow::Result<Value> {
    let token = person["token"].as_str().unwrap_or_default();
    let answer = request
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?;
    let body = answer.bytes().await?;
    Ok(if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)?
    })
}

/// The writer's project in the seeded course with one file, shared with the reader (write).
async fn shared_file(
    http: &reqwest::Client,
    base: &str,
    writer: &Value,
    reader: &Value,
) -> anyhow::Result<(i64, i64)> {
    let courses = call(http.get(format!("{base}/api/courses")), writer).await?;
    let course = courses
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["title"] == "Python basics")
        .and_then(|c| c["id"].as_i64())
        .context("the seeded course")?;
    for person in [writer, reader] {
        call(
            http.post(format!("{base}/api/courses/{course}/enrol")),
            person,
        )
        .await?;
    }
    let detail = call(
        http.post(format!("{base}/hub/courses/{course}/project")),
        writer,
    )
    .await?;
    let project = detail["project"]["id"].as_i64().context("project")?;
    let created = call(
        http.post(format!("{base}/hub/projects/{project}/files"))
            .json(&json!({"path": "bench.py"})),
        writer,
    )
    .await?;
    let reader_id = reader["user"]["id"].as_i64().context("reader id")?;
    call(
        http.put(format!("{base}/hub/projects/{project}/members/{reader_id}"))
            .json(&json!({"access": "write"})),
        writer,
    )
    .await?;
    Ok((project, created["id"].as_i64().context("file")?))
}

/// Types in one browser and times each key until the other browser's editor applied it.
async fn browsers(
    typing: &Browser,
    watching: &Browser,
    base: &str,
    [writer, reader]: [&Value; 2],
    (project, file): (i64, i64),
    options: &Options,
) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let live = format!("const t = window.__ide && window.__ide.tabs.get({file}); return !!t && t.session.state === 'live'");
    for (browser, person) in [(typing, writer), (watching, reader)] {
        browser
            .sign_in(base, person, &format!("#/projects/{project}"))
            .await?;
        browser.wait_for("the file, live", STEP, &live).await?;
    }
    watching
        .execute(
            &format!("const s = window.__ide.tabs.get({file}).session; window.__renders = [];
                      s.cm.on('changes', () => window.__renders.push(performance.timeOrigin + performance.now()));"),
            vec![],
        )
        .await?;
    typing
        .execute(
            &format!("const s = window.__ide.tabs.get({file}).session; window.__keys = []; s.cm.focus();
                      s.cm.getWrapperElement().addEventListener('keydown', (e) => window.__keys.push(performance.timeOrigin + e.timeStamp), true);"),
            vec![],
        )
        .await?;
    let editor = typing
        .find(".editor-panel:not([hidden]) .CodeMirror-code")
        .await?;
    let started = Instant::now();
    for i in 0..options.keystrokes {
        let key = if i % 40 == 39 {
            "\u{E007}".to_owned()
        } else {
            ((b'a' + (i % 26) as u8) as char).to_string()
        };
        editor.send_keys(&key).await?;
        tokio::time::sleep(Duration::from_millis(options.gap_ms)).await;
    }
    let elapsed = started.elapsed();
    let count = options.keystrokes;
    let times = watching
        .wait_for(
            "every key in the other editor",
            STEP,
            &format!("return window.__renders.length >= {count} ? window.__renders : null"),
        )
        .await?;
    let keys = typing.execute("return window.__keys", vec![]).await?;
    let (keys, renders) = (numbers(&keys), numbers(&times));
    if keys.len() != count || renders.len() != count {
        bail!(
            "{} keys and {} changes for {count} keystrokes",
            keys.len(),
            renders.len()
        );
    }
    let samples = keys
        .iter()
        .zip(&renders)
        .map(|(k, r)| Duration::from_secs_f64(((r - k) / 1000.0).max(0.0)))
        .collect();
    Ok((samples, elapsed))
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
        .collect()
}

/// Two bare Yjs clients through the edge and the hub (the node script next to this file).
fn bare_pair(
    edge: &Edge,
    project: i64,
    file: i64,
    token: &str,
    options: &Options,
) -> anyhow::Result<Vec<Duration>> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ide/yjs_pair.js");
    let output =
        std::process::Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()))
            .arg(script)
            .args([
                "--url",
                &format!("ws://127.0.0.1:{}/hub/projects/{project}/docs", edge.port),
            ])
            .args(["--room", &file.to_string(), "--token", token])
            .args([
                "--count",
                &options.keystrokes.to_string(),
                "--gap-ms",
                &options.gap_ms.to_string(),
            ])
            .env(
                "NODE_PATH",
                std::env::var("NODE_PATH").unwrap_or_else(|_| "/usr/share/nodejs".into()),
            )
            .output()
            .context("run the bare Yjs pair")?;
    if !output.status.success() {
        bail!(
            "the bare Yjs pair failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let report: Value = serde_json::from_slice(&output.stdout)?;
    Ok(numbers(&report["latencies_ms"])
        .into_iter()
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .collect())
}
