//! The services, started in this process on port 0 against a [`Scratch`], with their settings
//! built from each service's own defaults and adjusted by name in a closure:
//! `spawn::api(&scratch, |s| s.cache_enabled = false)`.

use crate::probe;
use crate::scratch::Scratch;
use serde::de::DeserializeOwned;
use std::net::TcpListener;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A service running in this process; stopped when dropped.
pub struct Service {
    pub port: u16,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Service {
    /// `http://127.0.0.1:<port>`
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }

    /// Cancelling it stops the service as SIGTERM would.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops the service and waits (at most a minute) until it has finished.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(60), task)
                .await
                .expect("the service stops within a minute")
                .expect("the service's task did not panic");
        }
    }

    /// The value of a metric series (see [`probe::metric`]).
    pub async fn metric(&self, series: &str) -> f64 {
        probe::metric(&self.http, &self.base(), series).await
    }

    /// `GET path` on the service.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("the service answers")
    }

    async fn started(
        port: u16,
        shutdown: CancellationToken,
        run: impl std::future::Future<Output = Result<(), String>> + Send + 'static,
    ) -> Self {
        let service = Self::alive(port, shutdown, run).await;
        probe::wait_until_ready(&service.http, &service.base()).await;
        service
    }

    /// Started and answering `/healthz`, ready or not.
    async fn alive(
        port: u16,
        shutdown: CancellationToken,
        run: impl std::future::Future<Output = Result<(), String>> + Send + 'static,
    ) -> Self {
        let task = tokio::spawn(async move {
            if let Err(error) = run.await {
                panic!("the service failed: {error}");
            }
        });
        let service = Self {
            port,
            http: reqwest::Client::new(),
            shutdown,
            task: Some(task),
        };
        probe::wait_until_answering(&service.http, &service.base(), "/healthz").await;
        service
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A service's settings: its built-in `defaults` with the keys of `overrides` replaced, as if
/// read from a file (environment variables and secret files are not consulted).
pub fn load_settings<T: DeserializeOwned>(defaults: &str, overrides: &[(&str, &str)]) -> T {
    let mut table: toml::Table = defaults.parse().expect("a service's defaults are TOML");
    for (key, value) in overrides {
        table.insert((*key).to_owned(), toml::Value::String((*value).to_owned()));
    }
    settings::load_from(
        "TESTKIT_UNUSED",
        &table.to_string(),
        None,
        std::path::Path::new("/nonexistent"),
    )
    .expect("the defaults plus the test's values are complete")
}

/// Where a service started from `scratch` finds Redis (and, with `database`, Postgres).
fn connections(scratch: &Scratch, database: bool) -> Vec<(&'static str, String)> {
    let mut values = vec![
        ("redis_url", scratch.redis_url.clone()),
        ("key_prefix", scratch.prefix().to_owned()),
        ("jwt_secret", crate::JWT_SECRET.to_owned()),
    ];
    if database {
        values.push(("database_url", scratch.database().url().to_owned()));
    }
    values
}

fn load_for<T: DeserializeOwned>(defaults: &str, values: &[(&'static str, String)]) -> T {
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    load_settings(defaults, &pairs)
}

fn port_zero() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let port = listener.local_addr().expect("a local address").port();
    (listener, port)
}

/// The api's settings for `scratch`.
pub fn api_settings(scratch: &Scratch) -> api::settings::Settings {
    load_for(api::settings::DEFAULTS, &connections(scratch, true))
}

/// Starts the api; waits until it is ready.
pub async fn api(scratch: &Scratch, adjust: impl FnOnce(&mut api::settings::Settings)) -> Service {
    let mut settings = api_settings(scratch);
    adjust(&mut settings);
    let (listener, port) = port_zero();
    let app = api::run(settings, listener).await.expect("the api starts");
    let shutdown = app.shutdown_token();
    let run = async move { app.run_until_stopped().await.map_err(|e| e.to_string()) };
    Service::started(port, shutdown, run).await
}

/// The relay's settings for `scratch`.
pub fn relay_settings(scratch: &Scratch) -> relay::settings::Settings {
    load_for(relay::settings::DEFAULTS, &connections(scratch, false))
}

/// Starts a relay; waits until it is ready.
pub async fn relay(
    scratch: &Scratch,
    adjust: impl FnOnce(&mut relay::settings::Settings),
) -> Service {
    let mut settings = relay_settings(scratch);
    adjust(&mut settings);
    let (listener, port) = port_zero();
    relay_on(settings, listener, port).await
}

/// Starts a relay on a listener the test already holds (to come back on the same port).
pub async fn relay_on(
    settings: relay::settings::Settings,
    listener: TcpListener,
    port: u16,
) -> Service {
    let app = relay::run(settings, listener)
        .await
        .expect("the relay starts");
    let shutdown = app.shutdown_token();
    let run = async move { app.run_until_stopped().await.map_err(|e| e.to_string()) };
    Service::started(port, shutdown, run).await
}

/// The hub's settings for `scratch`.
pub fn hub_settings(scratch: &Scratch) -> hub::settings::Settings {
    load_for(hub::settings::DEFAULTS, &connections(scratch, true))
}

/// Starts a hub; waits until it is ready.
pub async fn hub(scratch: &Scratch, adjust: impl FnOnce(&mut hub::settings::Settings)) -> Service {
    let mut settings = hub_settings(scratch);
    adjust(&mut settings);
    let (listener, port) = port_zero();
    let app = hub::run(settings, listener).await.expect("the hub starts");
    let shutdown = app.shutdown_token();
    let run = async move { app.run_until_stopped().await.map_err(|e| e.to_string()) };
    Service::started(port, shutdown, run).await
}

/// The grader's settings for `scratch`: the sandbox image of [`crate::sandbox`], a consumer
/// name of its own.
pub fn grader_settings(scratch: &Scratch) -> grader::Settings {
    let mut values = connections(scratch, false);
    values.push(("sandbox_tag", crate::sandbox::tag()));
    let mut settings: grader::Settings = load_for(grader::settings::DEFAULTS, &values);
    settings.consumer = Some(format!("test-grader-{}", uuid::Uuid::new_v4().simple()));
    settings
}

/// Starts a grader; waits until it is ready (Redis, Docker and the sandbox image).
pub async fn grader(scratch: &Scratch, adjust: impl FnOnce(&mut grader::Settings)) -> Service {
    let mut settings = grader_settings(scratch);
    adjust(&mut settings);
    grader_with(settings).await
}

/// Starts a grader with exactly `settings`; waits until it is ready.
pub async fn grader_with(settings: grader::Settings) -> Service {
    let service = grader_alive(settings).await;
    probe::wait_until_ready(&service.http, &service.base()).await;
    service
}

/// Starts a grader with exactly `settings`; waits only until it answers `/healthz` (one
/// without Docker or its image is never ready, yet must be watched at work).
pub async fn grader_alive(settings: grader::Settings) -> Service {
    let (listener, port) = port_zero();
    let shutdown = CancellationToken::new();
    let run = grader::run(settings, listener, shutdown.clone());
    let run = async move { run.await.map_err(|e| e.to_string()) };
    Service::alive(port, shutdown, run).await
}
