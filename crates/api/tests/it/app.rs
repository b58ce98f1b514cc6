//! The api under test, started by the test kit on a scratch database and key prefix of its own
//! (both removed afterwards), and the HTTP calls the tests make to it.

use api::settings::Settings;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use testkit::{spawn, Scratch, Service};

pub struct TestApp {
    /// Declared first so that it stops before its database and keys are removed.
    pub api: Service,
    pub scratch: Scratch,
    streams: contracts::Streams,
}

impl TestApp {
    /// Starts an api with the test defaults.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts an api after `adjust` has changed its settings.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        testkit::init_tracing();
        Self::started(Scratch::new("api").await, adjust).await
    }

    /// Starts an api with the test defaults on the Redis at `redis_url` (a test's own
    /// `testkit::RedisServer`).
    pub async fn on_redis(redis_url: &str) -> Self {
        testkit::init_tracing();
        Self::started(Scratch::on_redis("api", redis_url).await, |_| {}).await
    }

    async fn started(scratch: Scratch, adjust: impl FnOnce(&mut Settings)) -> Self {
        let api = spawn::api(&scratch, adjust).await;
        Self::around(api, scratch)
    }

    /// The test app of an api the test started itself on `scratch`.
    pub fn around(api: Service, scratch: Scratch) -> Self {
        Self {
            api,
            streams: scratch.streams(),
            scratch,
        }
    }

    pub fn keys(&self) -> contracts::Keys {
        self.scratch.keys()
    }

    pub fn streams(&self) -> &contracts::Streams {
        &self.streams
    }

    /// A connection to the test's Redis.
    pub async fn redis(&self) -> deadpool_redis::Connection {
        self.streams.pool().get().await.unwrap()
    }

    /// Every job on the submissions stream, oldest first.
    pub async fn jobs(&self) -> Vec<contracts::SubmissionJob> {
        self.streams
            .range_after(&self.keys().submissions(), "0-0", 1_000)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.message.unwrap())
            .collect()
    }

    /// Publishes the course as its owner `teacher`.
    pub async fn publish(&self, teacher: &str, course: i64) {
        self.expect(
            Method::PATCH,
            &format!("/api/courses/{course}"),
            Some(teacher),
            Some(json!({"published": true})),
            StatusCode::OK,
        )
        .await;
    }

    pub fn url(&self, path: &str) -> String {
        self.api.url(path)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.api.http
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self.http().request(method, self.url(path));
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

    /// `GET path` as `token`, expecting 200; returns the JSON body.
    pub async fn get(&self, path: &str, token: &str) -> Value {
        self.expect(Method::GET, path, Some(token), None, StatusCode::OK)
            .await
    }

    /// Signs in as a fresh guest; returns the session (`token`, `expires_at`, `user`).
    pub async fn guest_session(&self) -> Value {
        self.expect(
            Method::POST,
            "/api/auth/guest",
            None,
            None,
            StatusCode::CREATED,
        )
        .await
    }

    /// Signs in as a fresh guest; returns (token, user id).
    pub async fn guest(&self) -> (String, i64) {
        let session = self.guest_session().await;
        (
            session["token"].as_str().unwrap().to_owned(),
            session["user"]["id"].as_i64().unwrap(),
        )
    }

    /// Registers an account (a student); returns its token and user id.
    pub async fn register(&self, username: &str) -> (String, i64) {
        let session = self
            .expect(
                Method::POST,
                "/api/auth/register",
                None,
                Some(json!({"username": username, "password": "correct horse"})),
                StatusCode::CREATED,
            )
            .await;
        (
            session["token"].as_str().unwrap().to_owned(),
            session["user"]["id"].as_i64().unwrap(),
        )
    }

    /// Registers an account and makes it a teacher as an operator does; returns its token.
    pub async fn teacher(&self, username: &str) -> String {
        let (token, _) = self.register(username).await;
        self.scratch.make_teacher(username).await;
        token
    }

    /// Creates a course as `teacher`; returns its id.
    pub async fn course(&self, teacher: &str, title: &str) -> i64 {
        self.expect(
            Method::POST,
            "/api/courses",
            Some(teacher),
            Some(json!({ "title": title })),
            StatusCode::CREATED,
        )
        .await["id"]
            .as_i64()
            .unwrap()
    }

    /// The seeded "Python basics" course id and its assignment ids in order.
    pub async fn seeded_course(&self, token: &str) -> (i64, Vec<i64>) {
        let courses = self.get("/api/courses", token).await;
        let course = courses
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["title"] == "Python basics")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        let list = self
            .get(&format!("/api/courses/{course}/assignments"), token)
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
