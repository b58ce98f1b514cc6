//! The real stack under test: api, grader and relay in-process.

use super::*;
use contracts::scratch::ScratchPrefix;

/// api + grader + relay on one scratch database and one Redis key prefix.
pub(crate) struct Stack {
    pub(crate) api_port: u16,
    pub(crate) relay_port: u16,
    pub(crate) prefix: String,
    pub(crate) relay: Option<(CancellationToken, JoinHandle<std::io::Result<()>>)>,
    pub(crate) grader: Option<(
        CancellationToken,
        JoinHandle<Result<(), grader::GraderError>>,
    )>,
    pub(crate) http: reqwest::Client,
    pub(crate) _keys: ScratchPrefix,
    pub(crate) _database: ScratchDatabase,
}

pub(crate) fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://platform@127.0.0.1:5432/platform".into())
}

pub(crate) fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// `SANDBOX_IMAGE`, or what `deploy/sandbox/build.sh` builds (its last line).
pub(crate) fn sandbox_tag() -> Result<String> {
    let image = match std::env::var("SANDBOX_IMAGE") {
        Ok(image) => image.trim().to_owned(),
        Err(_) => run_script("deploy/sandbox/build.sh")?
            .lines()
            .last()
            .context("build.sh printed nothing")?
            .trim()
            .to_owned(),
    };
    let (_, tag) = image
        .rsplit_once(':')
        .with_context(|| format!("sandbox image `{image}` has no tag"))?;
    Ok(tag.to_owned())
}

impl Stack {
    pub(crate) async fn start() -> Result<Self> {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
        run_script("deploy/web/vendor.sh")?;
        let tag = sandbox_tag()?;
        let database = ScratchDatabase::create(&database_url()).await?;
        let keys = ScratchPrefix::new(&redis_url(), "test");
        let prefix = keys.prefix().to_owned();

        let relay_listener = TcpListener::bind("127.0.0.1:0")?;
        let relay_port = relay_listener.local_addr()?.port();
        let mut stack = Self {
            api_port: 0,
            relay_port,
            prefix: prefix.clone(),
            relay: None,
            grader: None,
            http: reqwest::Client::builder().timeout(STEP).build()?,
            _keys: keys,
            _database: database,
        };
        stack.serve_relay(relay_listener).await?;

        let mut settings =
            api::settings::Settings::for_tests(stack._database.url(), &redis_url(), &prefix);
        settings.web_dir = repo_root().join("web").display().to_string();
        settings.relay_url = Some(format!("ws://127.0.0.1:{relay_port}/ws"));
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let app = api::Application::build(settings, listener).await?;
        stack.api_port = app.port();
        tokio::spawn(app.run_until_stopped());

        let defaults = format!("{}\nsandbox_tag = \"{tag}\"\n", grader::settings::DEFAULTS);
        let mut grader_settings: grader::Settings = settings::load_from(
            "GRADER_BROWSER_TEST",
            &defaults,
            None,
            Path::new("/nonexistent-secrets-dir"),
        )?;
        grader_settings.redis_url = redis_url().into();
        grader_settings.key_prefix = prefix.clone();
        grader_settings.consumer = Some(format!("browser-test-{}", uuid::Uuid::new_v4().simple()));
        grader_settings.listen = "127.0.0.1:0".into();
        let shutdown = CancellationToken::new();
        let grader = tokio::spawn(grader::run(
            grader_settings,
            TcpListener::bind("127.0.0.1:0")?,
            shutdown.clone(),
        ));
        stack.grader = Some((shutdown, grader));

        let ready = format!("{}/readyz", stack.api_base());
        let http = stack.http.clone();
        until("the api to be ready", STEP, || {
            let http = http.clone();
            let ready = ready.clone();
            async move {
                Ok(http
                    .get(&ready)
                    .send()
                    .await?
                    .status()
                    .is_success()
                    .then_some(()))
            }
        })
        .await?;
        Ok(stack)
    }

    pub(crate) fn api_base(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    pub(crate) async fn serve_relay(&mut self, listener: TcpListener) -> Result<()> {
        let settings = relay::settings::Settings::for_tests(&redis_url(), &self.prefix);
        let app = relay::Application::build(settings, listener).await?;
        let shutdown = app.shutdown_token();
        let task = tokio::spawn(app.run_until_stopped());
        self.relay = Some((shutdown, task));
        let ready = format!("http://127.0.0.1:{}/readyz", self.relay_port);
        let http = self.http.clone();
        until("the relay to be ready", STEP, || {
            let http = http.clone();
            let ready = ready.clone();
            async move {
                Ok(http
                    .get(&ready)
                    .send()
                    .await?
                    .status()
                    .is_success()
                    .then_some(()))
            }
        })
        .await
    }

    /// Starts a relay again on the same port (the browser knows only that address).
    pub(crate) async fn start_relay(&mut self) -> Result<()> {
        let port = self.relay_port;
        let listener = until("the relay's port to be free", STEP, move || async move {
            Ok(TcpListener::bind(("127.0.0.1", port)).ok())
        })
        .await?;
        self.serve_relay(listener).await
    }

    pub(crate) async fn stop_relay(&mut self) {
        if let Some((shutdown, task)) = self.relay.take() {
            shutdown.cancel();
            let _ = tokio::time::timeout(STEP, task).await;
        }
    }

    /// Asks the api, with the page's own token, until `submission` has its verdict.
    pub(crate) async fn wait_until_graded(&self, browser: &Browser, submission: i64) -> Result<()> {
        let token = browser
            .execute(
                "return JSON.parse(localStorage.getItem('cp.session')).token",
                vec![],
            )
            .await?
            .as_str()
            .context("the page's token")?
            .to_owned();
        let url = format!("{}/api/submissions/{submission}", self.api_base());
        let (http, url, token) = (&self.http, &url, &token);
        until("the verdict to be recorded", VERDICT, move || async move {
            let view: Value = http
                .get(url)
                .bearer_auth(token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            Ok((view["status"] == "graded").then_some(()))
        })
        .await
    }

    pub(crate) async fn stop(&mut self) {
        self.stop_relay().await;
        if let Some((shutdown, task)) = self.grader.take() {
            shutdown.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(60), task).await;
        }
    }
}
