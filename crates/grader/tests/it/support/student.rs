//! A guest student using the api over HTTP, as the web UI does: finds an assignment of the
//! seeded course, submits code and watches the submission until it has its outcome.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use testkit::Service;

pub struct Student {
    base: String,
    http: reqwest::Client,
    token: String,
    /// The guest's user id.
    pub id: i64,
}

impl Student {
    /// Signs in to `api` as a fresh guest.
    pub async fn sign_in(api: &Service) -> Self {
        let response = api
            .http
            .post(api.url("/api/auth/guest"))
            .send()
            .await
            .expect("POST /api/auth/guest");
        assert!(response.status().is_success(), "{}", response.status());
        let session: Value = response.json().await.expect("a session");
        Self {
            base: api.base(),
            http: api.http.clone(),
            token: session["token"].as_str().expect("a token").to_owned(),
            id: session["user"]["id"].as_i64().expect("a user id"),
        }
    }

    /// `GET path`; panics unless it succeeds.
    pub async fn get(&self, path: &str) -> Value {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(path, request).await
    }

    /// `POST path` with a JSON `body`; panics unless it succeeds.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let request = self.http.post(format!("{}{path}", self.base)).json(&body);
        self.send(path, request).await
    }

    async fn send(&self, path: &str, request: reqwest::RequestBuilder) -> Value {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("the api answers");
        let status = response.status();
        let text = response.text().await.expect("a body");
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).expect("a JSON body")
    }

    /// The id of the seeded assignment titled `title`.
    pub async fn assignment(&self, title: &str) -> i64 {
        let courses = self.get("/api/courses").await;
        let course = courses[0]["id"].as_i64().expect("a seeded course");
        let list = self
            .get(&format!("/api/courses/{course}/assignments"))
            .await;
        list["assignments"]
            .as_array()
            .expect("a list of assignments")
            .iter()
            .find(|a| a["title"] == title)
            .unwrap_or_else(|| panic!("no assignment {title:?} in {list}"))["id"]
            .as_i64()
            .expect("an assignment id")
    }

    /// Submits `code` to `assignment`; returns the submission's id.
    pub async fn submit(&self, assignment: i64, code: &str) -> i64 {
        self.post(
            &format!("/api/assignments/{assignment}/submissions"),
            json!({ "code": code }),
        )
        .await["id"]
            .as_i64()
            .expect("a submission id")
    }

    /// The submission `id` as the api shows it.
    pub async fn submission(&self, id: i64) -> Value {
        self.get(&format!("/api/submissions/{id}")).await
    }

    /// My submissions to `assignment`.
    pub async fn submissions_to(&self, assignment: i64) -> Vec<Value> {
        self.get(&format!("/api/assignments/{assignment}/submissions"))
            .await
            .as_array()
            .expect("a list of submissions")
            .clone()
    }

    /// Polls submission `id` until its status is `status`; panics after `within`.
    pub async fn wait_status(&self, id: i64, status: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let submission = self.submission(id).await;
            if submission["status"] == status {
                return submission;
            }
            assert!(
                Instant::now() < deadline,
                "submission {id} is still {} after {within:?}",
                submission["status"]
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
