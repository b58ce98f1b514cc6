//! The grading pipeline end to end, through the api's HTTP surface: api → `submissions` →
//! grader in Docker → `results` → api → Postgres. Real Redis, Postgres and Docker.

mod common;

use common::{GraderProcess, RunningGrader, TestRedis};
use contracts::{ResultKind, SubmissionId};
use db::scratch::ScratchDatabase;
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The api, started in-process on `redis`'s prefix with a scratch database.
struct Api {
    base: String,
    client: Client,
    token: String,
    _database: ScratchDatabase,
}

impl Api {
    async fn start(redis: &TestRedis) -> Self {
        let url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://platform@127.0.0.1:5432/platform".into());
        let database = ScratchDatabase::create(&url).await.unwrap();
        let settings = api::settings::Settings::for_tests(
            database.url(),
            &common::redis_url(),
            redis.prefix(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let app = api::Application::build(settings, listener).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let client = Client::new();
        let session: Value = client
            .post(format!("{base}/api/auth/guest"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Self {
            base,
            client,
            token: session["token"].as_str().unwrap().to_owned(),
            _database: database,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// The id of the seeded assignment titled `title`.
    async fn assignment(&self, title: &str) -> i64 {
        let courses = self.call(Method::GET, "/api/courses", None).await;
        let course = courses[0]["id"].as_i64().unwrap();
        let list = self
            .call(
                Method::GET,
                &format!("/api/courses/{course}/assignments"),
                None,
            )
            .await;
        list["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["title"] == title)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    }

    async fn submit(&self, assignment: i64, code: &str) -> i64 {
        self.call(
            Method::POST,
            &format!("/api/assignments/{assignment}/submissions"),
            Some(json!({ "code": code })),
        )
        .await["id"]
            .as_i64()
            .unwrap()
    }

    /// Polls the submission until its status is `status` (bounded).
    async fn wait_status(&self, id: i64, status: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let submission = self
                .call(Method::GET, &format!("/api/submissions/{id}"), None)
                .await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_then_right_solutions_get_their_verdicts_recorded() {
    let redis = TestRedis::new();
    let grader = RunningGrader::start(redis.settings(&common::sandbox_tag()));
    let api = Api::start(&redis).await;
    let even_or_odd = api.assignment("Even or odd").await;

    let wrong = api
        .submit(even_or_odd, "def is_even(n):\n    return n % 2 == 1\n")
        .await;
    let graded = api
        .wait_status(wrong, "graded", Duration::from_secs(60))
        .await;
    assert_eq!(graded["verdict"], "wrong_answer", "{graded}");
    assert_eq!(graded["tests"][0]["status"], "failed");
    assert!(
        graded["feedback"].as_str().unwrap().contains("4 is even"),
        "the feedback names the failing test: {graded}"
    );

    let right = api
        .submit(even_or_odd, "def is_even(n):\n    return n % 2 == 0\n")
        .await;
    let graded = api
        .wait_status(right, "graded", Duration::from_secs(60))
        .await;
    assert_eq!(graded["verdict"], "accepted", "{graded}");
    assert!(graded["tests"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["status"] == "passed"));
    assert!(graded["started_at"].is_string() && graded["finished_at"].is_string());

    let mine = api
        .call(
            Method::GET,
            &format!("/api/assignments/{even_or_odd}/submissions"),
            None,
        )
        .await;
    assert_eq!(mine.as_array().unwrap().len(), 2);

    grader.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grader_killed_mid_job_leaves_exactly_one_recorded_verdict() {
    let redis = TestRedis::new();
    let tag = common::sandbox_tag();
    let mut first = GraderProcess::spawn(&redis, &tag, &[("GRADER__CLAIM_IDLE_MS", "1000")]);
    let api = Api::start(&redis).await;
    let hello = api.assignment("Hello, World!").await;
    let id = api
        .submit(
            hello,
            "import time\ntime.sleep(1)\nprint('Hello, World!')\n",
        )
        .await;
    api.wait_status(id, "grading", Duration::from_secs(60))
        .await;
    first.signal("KILL").await;
    first.exit_status(Duration::from_secs(10)).await.unwrap();

    let mut settings = redis.settings(&tag);
    settings.claim_idle_ms = 1_000;
    settings.janitor_grace_ms = 0;
    let second = RunningGrader::start(settings);
    let graded = api.wait_status(id, "graded", Duration::from_secs(60)).await;
    assert_eq!(graded["verdict"], "accepted", "{graded}");

    let graded_events = redis
        .results_of(SubmissionId(id))
        .await
        .into_iter()
        .filter(|e| matches!(e.kind, ResultKind::Graded { .. }))
        .count();
    assert_eq!(graded_events, 1, "one verdict was published");
    let mine = api
        .call(
            Method::GET,
            &format!("/api/assignments/{hello}/submissions"),
            None,
        )
        .await;
    assert_eq!(
        mine.as_array().unwrap().len(),
        1,
        "one submission, one verdict"
    );

    second.stop().await.unwrap();
}
