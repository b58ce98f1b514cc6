//! The whole platform in one process: api (serving the web UI), grader, relay and hub on one
//! scratch database and key prefix, as the browser tests, the pipeline tests and the grading
//! benchmark use it.

use crate::env::repo_root;
use crate::scratch::Scratch;
use crate::spawn::{self, Service};
use std::net::TcpListener;
use std::time::Duration;

pub struct Stack {
    pub scratch: Scratch,
    pub api: Service,
    pub grader: Service,
    /// `None` while a test has it stopped.
    pub relay: Option<Service>,
    pub hub: Service,
    relay_port: u16,
}

impl Stack {
    /// Starts everything with the test defaults.
    pub async fn start() -> Self {
        Self::start_with(|_| {}, |_| {}).await
    }

    /// Starts everything after `api` and `grader` adjusted their services' settings.
    pub async fn start_with(
        api: impl FnOnce(&mut api::settings::Settings),
        grader: impl FnOnce(&mut grader::Settings),
    ) -> Self {
        Self::start_on(Scratch::new("stack").await, api, grader).await
    }

    /// Starts everything on `scratch` (for example one on a [`crate::RedisServer`]).
    pub async fn start_on(
        scratch: Scratch,
        api: impl FnOnce(&mut api::settings::Settings),
        grader: impl FnOnce(&mut grader::Settings),
    ) -> Self {
        crate::init_tracing();
        // The relay's port is fixed first: the api tells browsers where it is.
        let relay_listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let relay_port = relay_listener.local_addr().expect("an address").port();
        let relay =
            spawn::relay_on(spawn::relay_settings(&scratch), relay_listener, relay_port).await;
        let web = repo_root().join("web");
        let api = spawn::api(&scratch, |settings| {
            settings.web_dir = web.display().to_string();
            settings.relay_url = Some(format!("ws://127.0.0.1:{relay_port}/ws"));
            api(settings);
        })
        .await;
        let grader = spawn::grader(&scratch, grader).await;
        let hub = spawn::hub(&scratch, |_| {}).await;
        Self {
            scratch,
            api,
            grader,
            relay: Some(relay),
            hub,
            relay_port,
        }
    }

    /// Stops the relay (browsers see their socket close).
    pub async fn stop_relay(&mut self) {
        if let Some(relay) = self.relay.take() {
            relay.stop().await;
        }
    }

    /// Starts the relay again on its old port, the only address browsers know.
    pub async fn start_relay(&mut self) {
        let port = self.relay_port;
        let listener = tokio::time::timeout(crate::WAIT, async move {
            loop {
                if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
                    return listener;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("the relay's port frees up");
        let settings = spawn::relay_settings(&self.scratch);
        self.relay = Some(spawn::relay_on(settings, listener, port).await);
    }

    /// Stops every service, the grader last, so that it finishes the jobs it holds.
    pub async fn stop(mut self) {
        self.stop_relay().await;
        self.hub.stop().await;
        self.api.stop().await;
        self.grader.stop().await;
    }
}
