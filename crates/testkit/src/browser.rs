//! Headless Chromium driven over WebDriver by fantoccini, for the web UI's tests and the IDE
//! benchmark. Chromium and its driver come from Debian's packages (`deploy/web/browser.sh`);
//! each [`Browser`] runs its own chromedriver in its own process group with its own profile, so
//! several sessions run at once and nothing of them outlives the value.
//!
//! Screenshots go to `target/screenshots/<browser name>-<name>.png`.

use crate::env::repo_root;
use anyhow::{bail, Context as _, Result};
use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How long one step (a page change, an element to appear) may take.
pub const STEP: Duration = Duration::from_secs(30);

/// Chromium under chromedriver, both killed when this is dropped (whatever happened).
pub struct Browser {
    /// Prefix of this browser's screenshots.
    pub name: String,
    pub client: Client,
    chromedriver: Option<tokio::process::Child>,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session of 1280×1100 CSS pixels.
    pub async fn start(name: &str) -> Result<Self> {
        let paths = run_script("deploy/web/browser.sh")?;
        let path_of = |key: &str| {
            paths
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .map(str::to_owned)
                .with_context(|| format!("browser.sh printed no {key}"))
        };
        let chromium = path_of("CHROMIUM")?;
        let chromedriver = path_of("CHROMEDRIVER")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let shots = screenshot_dir();
        std::fs::create_dir_all(&shots)?;
        let log = std::fs::File::create(shots.join(format!("{name}-chromedriver.log")))?;
        let profile =
            std::env::temp_dir().join(format!("browser-{}", uuid::Uuid::new_v4().simple()));
        let child = tokio::process::Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group, so that it and the browsers it starts die together.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .context("start chromedriver")?;
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--window-size=1280,1100",
            "--lang=en-US",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
            "unhandledPromptBehavior": "accept",
            "timeouts": {"pageLoad": 30_000, "script": 30_000, "implicit": 0},
        });
        let driver = format!("http://127.0.0.1:{port}");
        let mut guard = Guard {
            chromedriver: Some(child),
            profile: Some(profile.clone()),
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = until("chromedriver to take a session", STEP, || {
            let mut builder = ClientBuilder::new(connector.clone());
            let capabilities = capabilities.as_object().cloned().unwrap_or_default();
            let driver = driver.clone();
            async move {
                // Refused until chromedriver listens: try again.
                Ok(builder
                    .capabilities(capabilities)
                    .connect(&driver)
                    .await
                    .ok())
            }
        })
        .await?;
        // From here on the browser's own Drop cleans up.
        guard.profile = None;
        Ok(Self {
            name: name.to_owned(),
            client,
            chromedriver: guard.chromedriver.take(),
            profile,
        })
    }

    /// Puts `session` (the api's sign-in answer) where the web UI keeps it and opens `hash`
    /// of the UI at `base`.
    pub async fn sign_in(&self, base: &str, session: &Value, hash: &str) -> Result<()> {
        self.goto(&format!("{base}/")).await?;
        self.execute(
            "localStorage.setItem('cp.session', arguments[0])",
            vec![json!(session.to_string())],
        )
        .await?;
        self.goto(&format!("{base}/{hash}")).await?;
        self.refresh().await
    }

    pub async fn goto(&self, url: &str) -> Result<()> {
        Ok(self.client.goto(url).await?)
    }

    pub async fn refresh(&self) -> Result<()> {
        Ok(self.client.refresh().await?)
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) and returns its result.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        Ok(self.client.execute(script, args).await?)
    }

    pub async fn find(&self, css: &str) -> Result<Element> {
        self.client
            .find(Locator::Css(css))
            .await
            .with_context(|| format!("find {css}"))
    }

    /// Clicks `css` once it is there.
    pub async fn click(&self, css: &str) -> Result<()> {
        let element = until(css, STEP, || async { Ok(self.find(css).await.ok()) }).await?;
        element
            .click()
            .await
            .with_context(|| format!("click {css}"))
    }

    /// Types `text` into the field `css` (WebDriver key codes such as `\u{E007}` included).
    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let element = self.find(css).await?;
        element
            .send_keys(text)
            .await
            .with_context(|| format!("type into {css}"))
    }

    pub async fn resize(&self, width: u32, height: u32) -> Result<()> {
        Ok(self.client.set_window_size(width, height).await?)
    }

    /// Polls `script` until it returns something truthy, and returns that.
    pub async fn wait_for(&self, what: &str, within: Duration, script: &str) -> Result<Value> {
        until(what, within, || async {
            let value = self.execute(script, vec![]).await?;
            let truthy = !matches!(&value, Value::Null | Value::Bool(false))
                && value != json!(0)
                && value != json!("");
            Ok(truthy.then_some(value))
        })
        .await
    }

    /// Saves the viewport as `target/screenshots/<browser name>-<name>.png`.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let png = self.client.screenshot().await?;
        let path = screenshot_dir().join(format!("{}-{name}.png", self.name));
        std::fs::write(&path, png)?;
        eprintln!("screenshot {}", path.display());
        Ok(path)
    }

    /// What the page logged to its console since the last call: (level, message).
    pub async fn console(&self) -> Result<Vec<(String, String)>> {
        let entries = self.client.issue_cmd(BrowserLog).await?;
        Ok(entries
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let text = |key: &str| e[key].as_str().unwrap_or_default().to_owned();
                (text("level"), text("message"))
            })
            .collect())
    }

    /// Errors the page logged, less failed requests and sockets, which tests cause on purpose.
    pub async fn script_errors(&self) -> Result<Vec<String>> {
        Ok(self
            .console()
            .await?
            .into_iter()
            .filter(|(level, message)| {
                level == "SEVERE"
                    && !message.contains("Failed to load resource")
                    && !message.contains("WebSocket connection to")
            })
            .map(|(_, message)| message)
            .collect())
    }

    /// Prints what the page logged to its console.
    pub async fn dump_console(&self) {
        for (level, message) in self.console().await.unwrap_or_default() {
            eprintln!("console {level}: {message}");
        }
    }

    /// Closes the session politely, then makes sure nothing of the browser is left.
    pub async fn quit(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.clone().close()).await;
        kill(self.chromedriver.take(), &self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill(self.chromedriver.take(), &self.profile);
    }
}

/// Kills chromedriver (and the Chromium it started) if starting the session fails.
struct Guard {
    chromedriver: Option<tokio::process::Child>,
    profile: Option<PathBuf>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(profile) = self.profile.take() {
            kill(self.chromedriver.take(), &profile);
        }
    }
}

fn kill(chromedriver: Option<tokio::process::Child>, profile: &PathBuf) {
    if let Some(child) = chromedriver {
        if let Some(pid) = child.id() {
            // The whole group: chromedriver and the Chromium it started.
            unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
        }
    }
    // Chromium's helpers may have left the group; they all carry the profile directory.
    let marker = format!("--user-data-dir={}", profile.display());
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|p| p.parse::<i32>().ok())
            else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&marker) {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
    let _ = std::fs::remove_dir_all(profile);
}

/// chromedriver's console log (a vendor command fantoccini does not name).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

/// Registers `username` (password "a long password") at the api behind `base`; returns the
/// api's session answer (`{token, expires_at, user}`), what [`Browser::sign_in`] takes.
pub async fn register(
    http: &reqwest::Client,
    base: &str,
    username: &str,
    display_name: &str,
) -> Result<Value> {
    let body =
        json!({"username": username, "password": "a long password", "display_name": display_name});
    Ok(http
        .post(format!("{base}/api/auth/register"))
        .json(&body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// `target/screenshots/` (or under `CARGO_TARGET_DIR`).
pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
        .join("screenshots")
}

/// Runs a repository script; returns its standard output.
pub fn run_script(script: &str) -> Result<String> {
    let output = std::process::Command::new("bash")
        .arg(repo_root().join(script))
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("run {script}"))?;
    if !output.status.success() {
        bail!("{script} failed: {}", output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Polls `probe` every 100 ms until it gives a value; fails after `within` with the last
/// error it returned, if any.
pub async fn until<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + within;
    let mut last_error = None;
    loop {
        match probe().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if Instant::now() > deadline {
            match last_error {
                Some(e) => bail!("waited {within:?} for {what}; last error: {e:#}"),
                None => bail!("waited {within:?} for {what}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
