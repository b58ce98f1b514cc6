//! The hub's HTTP API as the tests call it, the same for a hub running in this process
//! ([`testkit::Service`]) and one running as a child process ([`HubProcess`]).

use crate::process::HubProcess;
use contracts::{CourseId, FileId, ProjectId};
use reqwest::Method;
use serde_json::{json, Value};
use testkit::Service;

/// A running hub, wherever it runs.
pub trait Hub {
    /// Its port on 127.0.0.1.
    fn port(&self) -> u16;

    fn http(&self) -> &reqwest::Client;

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port())
    }

    /// The y-websocket `serverUrl` of a project's documents (the room is the file id).
    fn docs_url(&self, project: ProjectId) -> String {
        format!("ws://127.0.0.1:{}/hub/projects/{project}/docs", self.port())
    }

    /// The socket URL of one document with a token.
    fn doc_url(&self, project: ProjectId, file: FileId, token: &str) -> String {
        format!("{}/{file}?token={token}", self.docs_url(project))
    }

    /// Sends a request with `token`; returns the status and the JSON body (Null if none).
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http()
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Uploads `archive` as the course's template.
    async fn upload_template(
        &self,
        course: CourseId,
        token: &str,
        archive: Vec<u8>,
    ) -> (u16, Value) {
        let response = self
            .http()
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
    async fn open_project(
        &self,
        course: CourseId,
        token: &str,
    ) -> (ProjectId, Vec<(String, FileId)>) {
        let (status, body) = self
            .call(
                Method::POST,
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
    async fn create_file(&self, project: ProjectId, token: &str, path: &str) -> FileId {
        let (status, body) = self
            .call(
                Method::POST,
                &format!("/hub/projects/{project}/files"),
                token,
                Some(json!({ "path": path })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        FileId(body["id"].as_i64().unwrap())
    }

    /// Moves `file` of the project to `path`; returns the status and the JSON body.
    async fn move_file(
        &self,
        project: ProjectId,
        token: &str,
        file: FileId,
        path: &str,
    ) -> (u16, Value) {
        self.call(
            Method::PATCH,
            &format!("/hub/projects/{project}/files/{file}"),
            token,
            Some(json!({ "path": path })),
        )
        .await
    }
}

impl Hub for Service {
    fn port(&self) -> u16 {
        self.port
    }

    fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

impl Hub for HubProcess {
    fn port(&self) -> u16 {
        self.port
    }

    fn http(&self) -> &reqwest::Client {
        &self.http
    }
}
