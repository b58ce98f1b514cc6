//! Starts real hubs (in-process on port 0, or as processes that can be killed) against the
//! local Redis and a scratch Postgres database per test, seeds users and a course, and talks
//! to the hubs over HTTP and WebSocket.

#![allow(dead_code)] // each test binary uses a different part of the helpers

pub mod external;
pub mod yclient;

use contracts::scratch::ScratchPrefix;
use contracts::{CourseId, FileId, ProjectId, UserId};
use db::scratch::ScratchDatabase;
use db::DbPool;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use hub::settings::Settings;
use hub::Application;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokens::{Role, TokenKeys};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

/// Long enough for anything that should happen, short enough to fail fast.
pub const WAIT: Duration = Duration::from_secs(20);

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub fn admin_database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://platform@127.0.0.1:5432/platform".into())
}

/// One test's database, Redis prefix and token keys; hubs started from it share them.
pub struct TestEnv {
    pub prefix: String,
    pub tokens: TokenKeys,
    pub db: DbPool,
    hubs: Vec<CancellationToken>,
    database: ScratchDatabase,
    _redis: ScratchPrefix,
}

impl TestEnv {
    pub async fn new() -> Self {
        let redis = ScratchPrefix::new(&redis_url(), "hubtest");
        let database = ScratchDatabase::create(&admin_database_url())
            .await
            .unwrap();
        Self {
            prefix: redis.prefix().to_owned(),
            tokens: TokenKeys::new(
                &SecretString::from(Settings::TEST_JWT_SECRET),
                chrono::Duration::minutes(30),
            ),
            db: db::pool(database.url(), 4).unwrap(),
            hubs: Vec::new(),
            database,
            _redis: redis,
        }
    }

    pub fn settings(&self) -> Settings {
        Settings::for_tests(&redis_url(), self.database.url(), &self.prefix)
    }

    /// Starts a hub in this process and waits until it is ready.
    pub async fn hub(&mut self) -> TestHub {
        self.hub_with(|_| {}).await
    }

    /// Starts a hub after `adjust` has changed its settings, and waits until it is ready.
    pub async fn hub_with(&mut self, adjust: impl FnOnce(&mut Settings)) -> TestHub {
        let mut settings = self.settings();
        adjust(&mut settings);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let app = Application::build(settings, listener).await.unwrap();
        let shutdown = app.shutdown_token();
        let hub = TestHub::new(app.port(), Some(shutdown.clone()));
        self.hubs.push(shutdown);
        tokio::spawn(app.run_until_stopped());
        hub.wait_until_ready().await;
        hub
    }

    /// Starts the hub binary as a child process (killed when dropped), with `settings`
    /// passed as `HUB__*` variables, and waits until it is ready.
    pub async fn hub_process(&self, extra: &[(&str, &str)]) -> HubProcess {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_hub"));
        command
            .env("HUB__LISTEN", format!("127.0.0.1:{port}"))
            .env("HUB__REDIS_URL", redis_url())
            .env("HUB__DATABASE_URL", self.database.url())
            .env("HUB__JWT_SECRET", Settings::TEST_JWT_SECRET)
            .env("HUB__KEY_PREFIX", &self.prefix)
            .env("SECRETS_DIR", "/nonexistent")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        for (key, value) in extra {
            command.env(format!("HUB__{}", key.to_uppercase()), value);
        }
        let child = command.spawn().expect("the hub binary starts");
        let hub = TestHub::new(port, None);
        hub.wait_until_ready().await;
        HubProcess { child, hub }
    }

    /// A new account and a token for it.
    pub async fn user(&self, name: &str, role: Role) -> (UserId, String) {
        use db::schema::users;
        let mut conn = self.db.get().await.unwrap();
        let id: i64 = diesel::insert_into(users::table)
            .values((
                users::username.eq(format!("{name}-{}", uuid::Uuid::new_v4().simple())),
                users::display_name.eq(name),
                users::role.eq(role.as_str()),
            ))
            .returning(users::id)
            .get_result(&mut conn)
            .await
            .unwrap();
        let token = self.tokens.issue(UserId(id), role, name, false).token;
        (UserId(id), token)
    }

    /// A course owned by `teacher` with `students` enrolled.
    pub async fn course(&self, teacher: UserId, students: &[UserId]) -> CourseId {
        use db::schema::{courses, participants};
        let mut conn = self.db.get().await.unwrap();
        let id: i64 = diesel::insert_into(courses::table)
            .values((
                courses::title.eq("Collaboration"),
                courses::owner_id.eq(teacher.0),
            ))
            .returning(courses::id)
            .get_result(&mut conn)
            .await
            .unwrap();
        for student in students {
            diesel::insert_into(participants::table)
                .values((
                    participants::course_id.eq(id),
                    participants::user_id.eq(student.0),
                    participants::role.eq("student"),
                ))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        CourseId(id)
    }

    /// What Postgres holds as the text of `file`.
    pub async fn stored_text(&self, file: FileId) -> String {
        use db::schema::project_files;
        let mut conn = self.db.get().await.unwrap();
        project_files::table
            .find(file.0)
            .select(project_files::content)
            .first(&mut conn)
            .await
            .unwrap()
    }

    /// Waits until Postgres holds `expected` as the text of `file`.
    pub async fn wait_for_stored_text(&self, file: FileId, expected: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let stored = self.stored_text(file).await;
            if stored == expected {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "Postgres holds {stored:?}, expected {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the document log of `file` exists in Redis.
    pub async fn log_exists(&self, file: FileId) -> bool {
        let client = redis::Client::open(redis_url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let key = contracts::Keys::new(self.prefix.clone()).hub_document(file);
        redis::cmd("EXISTS")
            .arg(key)
            .query_async::<i64>(&mut conn)
            .await
            .unwrap()
            > 0
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        for hub in &self.hubs {
            hub.cancel();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A hub binary running as a child process.
pub struct HubProcess {
    child: Child,
    pub hub: TestHub,
}

impl HubProcess {
    /// SIGKILL: no close frames, no final sync.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A running hub and an HTTP client for it.
#[derive(Clone)]
pub struct TestHub {
    pub port: u16,
    pub http: reqwest::Client,
    shutdown: Option<CancellationToken>,
}

impl TestHub {
    fn new(port: u16, shutdown: Option<CancellationToken>) -> Self {
        Self {
            port,
            http: reqwest::Client::new(),
            shutdown,
        }
    }

    /// Stops an in-process hub gracefully.
    pub fn stop(&self) {
        if let Some(shutdown) = &self.shutdown {
            shutdown.cancel();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The y-websocket `serverUrl` of a project's documents (the room is the file id).
    pub fn docs_url(&self, project: ProjectId) -> String {
        format!("ws://127.0.0.1:{}/hub/projects/{project}/docs", self.port)
    }

    /// The socket URL of one document with a token.
    pub fn doc_url(&self, project: ProjectId, file: FileId, token: &str) -> String {
        format!("{}/{file}?token={token}", self.docs_url(project))
    }

    async fn wait_until_ready(&self) {
        let ready = async {
            loop {
                if let Ok(response) = self.http.get(self.url("/readyz")).send().await {
                    if response.status().is_success() {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        };
        timeout(WAIT, ready).await.expect("hub never became ready");
    }

    /// Sends a request with `token`; returns the status and the JSON body (Null if none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Uploads `archive` as the course's template.
    pub async fn upload_template(
        &self,
        course: CourseId,
        token: &str,
        archive: Vec<u8>,
    ) -> (u16, Value) {
        let response = self
            .http
            .put(self.url(&format!("/hub/courses/{course}/template")))
            .bearer_auth(token)
            .header("content-type", "application/octet-stream")
            .body(archive)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Opens (creating on first call) the caller's project in `course`; returns its id and
    /// its files by path.
    pub async fn open_project(
        &self,
        course: CourseId,
        token: &str,
    ) -> (ProjectId, Vec<(String, FileId)>) {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("/hub/courses/{course}/project"),
                token,
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let project = ProjectId(body["project"]["id"].as_i64().unwrap());
        let files = body["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["directory"] == json!(false))
            .map(|entry| {
                (
                    entry["path"].as_str().unwrap().to_owned(),
                    FileId(entry["id"].as_i64().unwrap()),
                )
            })
            .collect();
        (project, files)
    }

    /// Creates an empty file in the project.
    pub async fn create_file(&self, project: ProjectId, token: &str, path: &str) -> FileId {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("/hub/projects/{project}/files"),
                token,
                Some(json!({ "path": path })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        FileId(body["id"].as_i64().unwrap())
    }

    /// The value of the metric line starting with `series` (name and labels).
    pub async fn metric(&self, series: &str) -> f64 {
        let text = self
            .http
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no series {series} in\n{text}"))
            .parse()
            .unwrap()
    }
}

/// A course with a teacher and two students, one project of the first student with one empty
/// file, and a hub.
pub struct Classroom {
    pub teacher: (UserId, String),
    pub owner: (UserId, String),
    pub other: (UserId, String),
    pub course: CourseId,
    pub project: ProjectId,
    pub file: FileId,
}

impl Classroom {
    pub async fn new(env: &TestEnv, hub: &TestHub) -> Self {
        let teacher = env.user("teacher", Role::Teacher).await;
        let owner = env.user("owner", Role::Student).await;
        let other = env.user("other", Role::Student).await;
        let course = env.course(teacher.0, &[owner.0, other.0]).await;
        let (project, _) = hub.open_project(course, &owner.1).await;
        let file = hub.create_file(project, &owner.1, "main.py").await;
        Self {
            teacher,
            owner,
            other,
            course,
            project,
            file,
        }
    }

    /// Gives the second student `access` ("read" or "write") to the project.
    pub async fn share(&self, hub: &TestHub, access: &str) {
        let (status, body) = hub
            .call(
                reqwest::Method::PUT,
                &format!("/hub/projects/{}/members/{}", self.project, self.other.0),
                &self.owner.1,
                Some(json!({ "access": access })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
}
