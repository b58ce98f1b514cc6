//! Starts the real api on port 0 against the local Postgres (a scratch database per test) and
//! Redis (a key prefix per test), and removes both afterwards.

#![allow(dead_code)] // each test binary uses a different part of the helpers

use api::settings::Settings;
use api::Application;
use contracts::scratch::ScratchPrefix;
use db::scratch::ScratchDatabase;
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{json, Value};

pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://platform@127.0.0.1:5432/platform".into())
}

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub settings: Settings,
    pub redis: deadpool_redis::Pool,
    _database: ScratchDatabase,
    _keys: ScratchPrefix,
}

impl TestApp {
    /// Starts an api with default settings.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts an api after `adjust` has changed its settings.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        let database = ScratchDatabase::create(&database_url()).await.unwrap();
        let keys = ScratchPrefix::new(&redis_url(), "test");
        let mut settings = Settings::for_tests(database.url(), &redis_url(), keys.prefix());
        adjust(&mut settings);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let app = Application::build(settings.clone(), listener)
            .await
            .unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let redis = contracts::redis_pool(&redis_url(), 4).unwrap();
        Self {
            base,
            client: Client::new(),
            settings,
            redis,
            _database: database,
            _keys: keys,
        }
    }

    pub fn keys(&self) -> contracts::Keys {
        contracts::Keys::new(self.settings.key_prefix.clone())
    }

    pub fn streams(&self) -> contracts::Streams {
        contracts::Streams::new(self.redis.clone(), 1000)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// Sends and expects `status`; returns the JSON body (Null when empty).
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        status: StatusCode,
    ) -> Value {
        let response = self.send(method.clone(), path, token, body).await;
        let actual = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(actual, status, "{method} {path}: {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    /// Signs in as a fresh guest; returns (token, user id).
    pub async fn guest(&self) -> (String, i64) {
        let session = self
            .expect(
                Method::POST,
                "/api/auth/guest",
                None,
                None,
                StatusCode::CREATED,
            )
            .await;
        (
            session["token"].as_str().unwrap().to_owned(),
            session["user"]["id"].as_i64().unwrap(),
        )
    }

    /// Registers an account with `role`; returns its token.
    pub async fn register(&self, username: &str, role: &str) -> String {
        let session = self
            .expect(
                Method::POST,
                "/api/auth/register",
                None,
                Some(json!({"username": username, "password": "correct horse", "role": role})),
                StatusCode::CREATED,
            )
            .await;
        session["token"].as_str().unwrap().to_owned()
    }

    /// The seeded "Python basics" course id and its assignment ids in order.
    pub async fn seeded_course(&self, token: &str) -> (i64, Vec<i64>) {
        let courses = self
            .expect(
                Method::GET,
                "/api/courses",
                Some(token),
                None,
                StatusCode::OK,
            )
            .await;
        let course = courses
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["title"] == "Python basics")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        let list = self
            .expect(
                Method::GET,
                &format!("/api/courses/{course}/assignments"),
                Some(token),
                None,
                StatusCode::OK,
            )
            .await;
        let ids = list["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_i64().unwrap())
            .collect();
        (course, ids)
    }
}
