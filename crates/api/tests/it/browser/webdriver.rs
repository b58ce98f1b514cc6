//! Headless Chromium driven over WebDriver with plain HTTP calls.

use super::*;

pub(crate) const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Chromium under chromedriver, both killed when this is dropped (whatever happened).
pub(crate) struct Browser {
    /// Prefix of this browser's screenshots.
    pub(crate) name: &'static str,
    pub(crate) driver: String,
    pub(crate) session: String,
    pub(crate) http: reqwest::Client,
    pub(crate) chromedriver: Option<tokio::process::Child>,
    pub(crate) profile: PathBuf,
}

impl Browser {
    pub(crate) async fn start(name: &'static str) -> Result<Self> {
        let paths = run_script("deploy/web/browser.sh")?;
        let path_of = |name: &str| {
            paths
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=")))
                .map(str::to_owned)
                .with_context(|| format!("browser.sh printed no {name}"))
        };
        let chromium = path_of("CHROMIUM")?;
        let chromedriver = path_of("CHROMEDRIVER")?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let shots = screenshot_dir();
        std::fs::create_dir_all(&shots)?;
        let log = std::fs::File::create(shots.join(format!("{name}-chromedriver.log")))?;
        let profile =
            std::env::temp_dir().join(format!("browser-test-{}", uuid::Uuid::new_v4().simple()));
        let child = tokio::process::Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group, so that it and the browsers it starts can be killed
            // together.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .context("start chromedriver")?;
        let mut browser = Self {
            name,
            driver: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            http: reqwest::Client::builder().timeout(STEP).build()?,
            chromedriver: Some(child),
            profile,
        };
        let status = format!("{}/status", browser.driver);
        let http = browser.http.clone();
        until("chromedriver to be ready", STEP, || {
            let http = http.clone();
            let status = status.clone();
            async move {
                let body: Value = http.get(&status).send().await?.json().await?;
                Ok((body["value"]["ready"] == true).then_some(()))
            }
        })
        .await?;
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
            &format!("--user-data-dir={}", browser.profile.display()),
        ];
        let created = browser
            .post(
                "/session",
                json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {"binary": chromium, "args": args},
                    "goog:loggingPrefs": {"browser": "ALL"},
                    "unhandledPromptBehavior": "accept",
                    "timeouts": {"pageLoad": 30_000, "script": 30_000, "implicit": 0},
                }}}),
            )
            .await
            .context("start a Chromium session")?;
        browser.session = created["sessionId"]
            .as_str()
            .context("no session id")?
            .to_owned();
        Ok(browser)
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.driver))
            .json(&body)
            .send()
            .await?;
        Self::value(response).await
    }

    pub(crate) async fn value(response: reqwest::Response) -> Result<Value> {
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() {
            bail!("WebDriver {status}: {}", body["value"]["message"]);
        }
        Ok(body["value"].clone())
    }

    pub(crate) async fn command(&self, path: &str, body: Value) -> Result<Value> {
        self.post(&format!("/session/{}{path}", self.session), body)
            .await
    }

    pub(crate) async fn goto(&self, url: &str) -> Result<()> {
        self.command("/url", json!({ "url": url })).await?;
        Ok(())
    }

    pub(crate) async fn refresh(&self) -> Result<()> {
        self.command("/refresh", json!({})).await?;
        Ok(())
    }

    pub(crate) async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.command("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    pub(crate) async fn find(&self, css: &str) -> Result<String> {
        let found = self
            .command("/element", json!({"using": "css selector", "value": css}))
            .await
            .with_context(|| format!("find {css}"))?;
        Ok(found[ELEMENT_KEY]
            .as_str()
            .context("no element reference")?
            .to_owned())
    }

    pub(crate) async fn click_element(&self, element: &str) -> Result<()> {
        self.command(&format!("/element/{element}/click"), json!({}))
            .await?;
        Ok(())
    }

    pub(crate) async fn click(&self, css: &str) -> Result<()> {
        let element = until(
            css,
            STEP,
            move || async move { self.find(css).await.map(Some) },
        )
        .await?;
        self.click_element(&element)
            .await
            .with_context(|| format!("click {css}"))
    }

    pub(crate) async fn resize(&self, width: u32, height: u32) -> Result<()> {
        self.command("/window/rect", json!({"width": width, "height": height}))
            .await?;
        Ok(())
    }

    /// Types `text` into the field `css`.
    pub(crate) async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let element = self.find(css).await?;
        self.send_keys(&element, text)
            .await
            .with_context(|| format!("type into {css}"))
    }

    pub(crate) async fn send_keys(&self, element: &str, text: &str) -> Result<()> {
        self.command(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        )
        .await?;
        Ok(())
    }

    /// Polls `script` until it returns something truthy, and returns that.
    pub(crate) async fn wait_for(
        &self,
        what: &str,
        within: Duration,
        script: &str,
    ) -> Result<Value> {
        until(what, within, move || async move {
            let value = self.execute(script, vec![]).await?;
            let truthy = !matches!(&value, Value::Null | Value::Bool(false))
                && value != json!(0)
                && value != json!("");
            Ok(truthy.then_some(value))
        })
        .await
    }

    /// Waits for the exercise page titled `title`; returns the assignment id from the URL.
    pub(crate) async fn wait_for_exercise(&self, title: &str) -> Result<i64> {
        let script = format!(
            "const m = /^#\\/courses\\/\\d+\\/assignments\\/(\\d+)$/.exec(location.hash);
             const h = document.getElementById('assignment-title');
             return m && h && h.textContent === {} && document.getElementById('result')
                 ? Number(m[1]) : null",
            json!(title)
        );
        self.wait_for(&format!("the exercise `{title}`"), STEP, &script)
            .await?
            .as_i64()
            .context("assignment id")
    }

    pub(crate) async fn wait_for_live(&self) -> Result<()> {
        self.wait_for(
            "the relay connection",
            STEP,
            "return document.getElementById('connection').dataset.state === 'live'",
        )
        .await?;
        Ok(())
    }

    /// Waits until the result panel shows a submission newer than `after` with `verdict`;
    /// returns its id.
    pub(crate) async fn wait_for_verdict(&self, after: Option<i64>, verdict: &str) -> Result<i64> {
        let script = format!(
            "const r = document.getElementById('result');
             const id = Number(r.dataset.submissionId);
             return id > {} && r.dataset.verdict === {} ? id : null",
            after.unwrap_or(0),
            json!(verdict)
        );
        let found = self
            .wait_for(&format!("verdict {verdict}"), VERDICT, &script)
            .await;
        match found {
            Ok(id) => id.as_i64().context("submission id"),
            Err(e) => {
                let page = self.execute(PAGE_STATE, vec![]).await.unwrap_or_default();
                Err(e.context(format!("the page: {page:#}")))
            }
        }
    }

    /// Replaces the editor's content (typing into CodeMirror would auto-indent and close
    /// brackets).
    pub(crate) async fn set_code(&self, code: &str) -> Result<()> {
        self.execute(
            "document.querySelector('.CodeMirror').CodeMirror.setValue(arguments[0])",
            vec![json!(code)],
        )
        .await?;
        Ok(())
    }

    /// Saves the viewport as `target/screenshots/<browser name>-<name>.png`.
    pub(crate) async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let response = self
            .http
            .get(format!(
                "{}/session/{}/screenshot",
                self.driver, self.session
            ))
            .send()
            .await?;
        let encoded = Self::value(response).await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().context("screenshot is not a string")?)?;
        let path = screenshot_dir().join(format!("{}-{name}.png", self.name));
        std::fs::write(&path, png)?;
        eprintln!("screenshot {}", path.display());
        Ok(path)
    }

    /// Errors the page logged, less the failed requests the scenario causes on purpose (the
    /// 413, the relay being down).
    pub(crate) async fn script_errors(&self) -> Result<Vec<String>> {
        let entries = self.command("/se/log", json!({"type": "browser"})).await?;
        Ok(entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .filter_map(|e| e["message"].as_str())
            .filter(|m| {
                !m.contains("Failed to load resource") && !m.contains("WebSocket connection to")
            })
            .map(str::to_owned)
            .collect())
    }

    /// Prints what the page logged to its console.
    pub(crate) async fn dump_console(&self) {
        if let Ok(entries) = self.command("/se/log", json!({"type": "browser"})).await {
            for entry in entries.as_array().into_iter().flatten() {
                eprintln!("console {}: {}", entry["level"], entry["message"]);
            }
        }
    }

    /// Closes the browser politely, then makes sure nothing of it is left.
    pub(crate) async fn quit(mut self) {
        if !self.session.is_empty() {
            let _ = tokio::time::timeout(
                Duration::from_secs(10),
                self.http
                    .delete(format!("{}/session/{}", self.driver, self.session))
                    .send(),
            )
            .await;
        }
        self.kill();
    }

    pub(crate) fn kill(&mut self) {
        if let Some(child) = self.chromedriver.take() {
            if let Some(pid) = child.id() {
                // The whole group: chromedriver and the Chromium it started.
                unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
            }
            drop(child);
        }
        // Chromium's helpers may have left the group; they all carry our profile directory.
        let marker = format!("--user-data-dir={}", self.profile.display());
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
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.kill();
    }
}
